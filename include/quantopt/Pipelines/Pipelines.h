//===- Pipelines.h - Named QuantOpt pass pipelines ----------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_PIPELINES_PIPELINES_H
#define QUANTOPT_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace quantopt {

/// Textual form of the normalization pipeline run on every imported graph.
/// It round-trips through --dump-pass-pipeline.
extern const char *const kNormalizePipeline;

/// Adds the normalization pipeline to a module-level pass manager.
mlir::LogicalResult buildNormalizePipeline(mlir::OpPassManager &pm);

/// Registers every QuantOpt pass and named pipeline with the global
/// registry (for quant-opt and other mlir-opt style drivers).
void registerAllPasses();

/// Registers every dialect QuantOpt reads or produces.
void registerAllDialects(mlir::DialectRegistry &registry);

} // namespace quantopt

#endif // QUANTOPT_PIPELINES_PIPELINES_H
