//===- quant-opt.cpp - QuantOpt pass driver -------------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt for QuantOpt: every mlir-opt flag (--pass-pipeline,
// -split-input-file, -verify-diagnostics, --mlir-print-ir-after-all,
// --mlir-timing, crash reproducers) comes from MlirOptMain.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  quantopt::registerAllPasses();
  mlir::DialectRegistry registry;
  quantopt::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "QuantOpt optimizer driver\n", registry));
}
