//===- fuzz_onnx_import.cpp - libFuzzer target: the ONNX importer ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Imports the fuzz input as an .onnx file with quantopt::importONNXFile.
// Rejecting it with a diagnostic is the expected outcome for most inputs;
// only crashes, sanitizer reports and hangs are findings. A module that is
// returned must also verify: the importer promises valid IR or an error.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "quantopt/Import/ONNX/ONNXImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

/// Imported constants are uniqued in the context and never freed, so a
/// context is only reused for this many inputs (a fresh one per input would
/// spend most of the time loading dialects).
constexpr int kInputsPerContext = 500;

mlir::DialectRegistry &registry() {
  static mlir::DialectRegistry *r = [] {
    auto *reg = new mlir::DialectRegistry();
    quantopt::registerONNXImportDialects(*reg);
    return reg;
  }();
  return *r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static quantopt::fuzz::InputFile file("model.onnx");
  static std::unique_ptr<mlir::MLIRContext> context;
  static int uses = 0;
  if (!context || ++uses >= kInputsPerContext) {
    context = std::make_unique<mlir::MLIRContext>(registry());
    context->loadAllAvailableDialects();
    uses = 0;
  }
  const std::string &path = file.write(data, size);

  // Errors are expected; printing them would only slow the fuzzer down.
  mlir::ScopedDiagnosticHandler swallow(
      context.get(), [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      quantopt::importONNXFile(path, context.get());
  if (!module)
    return 0;
  // The finding is the verifier's message: print it (the newest handler
  // takes the diagnostics).
  mlir::ScopedDiagnosticHandler print(
      context.get(), [](mlir::Diagnostic &diag) {
        std::fprintf(stderr, "%s\n", diag.str().c_str());
        return mlir::success();
      });
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "importONNXFile returned a module that does not "
                         "verify\n");
    std::abort();
  }
  return 0;
}
