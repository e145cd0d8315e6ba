//===- Pipelines.h - Named QuantOpt pass pipelines ----------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_PIPELINES_PIPELINES_H
#define QUANTOPT_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Transforms/QuantScheme.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace quantopt {

/// Textual form of the normalization pipeline run on every imported graph.
/// It round-trips through --dump-pass-pipeline.
extern const char *const kNormalizePipeline;

/// Adds the normalization pipeline to a module-level pass manager.
mlir::LogicalResult buildNormalizePipeline(mlir::OpPassManager &pm);

/// Options of the `qnn-quantize-pipeline` named pipeline (the spellings
/// users know: scheme, group-size, symmetric, exclude-nodes, ...).
struct QuantizePipelineOptions
    : public mlir::PassPipelineOptions<QuantizePipelineOptions> {
  Option<qnn::QuantScheme> scheme{
      *this, "scheme", llvm::cl::desc("Quantization scheme"),
      llvm::cl::init(qnn::QuantScheme::W4A16), QUANTOPT_QUANT_SCHEME_VALUES};
  Option<qnn::WeightGranularity> weightGranularity{
      *this, "weight-granularity", llvm::cl::desc("Weight scale granularity"),
      llvm::cl::init(qnn::WeightGranularity::Default),
      QUANTOPT_WEIGHT_GRANULARITY_VALUES};
  Option<int64_t> groupSize{*this, "group-size",
                            llvm::cl::desc("Rows of K per scale (per-group)"),
                            llvm::cl::init(128)};
  Option<bool> symmetric{*this, "symmetric",
                         llvm::cl::desc("Symmetric weights (zero point 0)"),
                         llvm::cl::init(true)};
  Option<qnn::ActivationMode> activationMode{
      *this, "activation-mode", llvm::cl::desc("static or dynamic"),
      llvm::cl::init(qnn::ActivationMode::Static),
      QUANTOPT_ACTIVATION_MODE_VALUES};
  Option<qnn::ActivationGranularity> activationGranularity{
      *this, "activation-granularity",
      llvm::cl::desc("per-tensor, or per-token (dynamic only)"),
      llvm::cl::init(qnn::ActivationGranularity::PerTensor),
      QUANTOPT_ACTIVATION_GRANULARITY_VALUES};
  ListOption<std::string> excludeNodes{
      *this, "exclude-nodes",
      llvm::cl::desc("Regexes of node names to keep in float")};
  ListOption<std::string> excludeOpTypes{
      *this, "exclude-op-types", llvm::cl::desc("Op names to keep in float")};
  Option<std::string> calibrationTable{
      *this, "calibration-table",
      llvm::cl::desc("Calibration table (JSON) for static activations; "
                     "without it static activations stay !quant.calibrated")};
};

/// normalize, insert Q/DQ for the scheme, quantize weights (RTN), propagate
/// and fuse into quantized matmuls, clean up, and lint for float weights.
void buildQuantizePipeline(mlir::OpPassManager &pm,
                           const QuantizePipelineOptions &options);

/// The qnn-insert-qdq options of a quantization pipeline's options.
qnn::QNNInsertQDQPassOptions
getInsertQDQOptions(const QuantizePipelineOptions &options);

/// The tail of the quantize pipeline that recognizes quantized layers:
/// qnn-propagate-qdq, qnn-fuse-quantized-matmul,
/// qnn-fold-quantized-matmul-params, canonicalize, cse (on functions).
/// `quant-compile --scheme=float` runs it alone, so that a model quantized
/// elsewhere (QDQ, QLinearMatMul, MatMulNBits) still gets integer kernels.
void buildFuseQuantizedPipeline(mlir::OpPassManager &pm);
/// The same passes added to a pass manager nested on func.func.
void addFuseQuantizedPasses(mlir::OpPassManager &funcPm);

/// qnn-insert-qdq for `options`, then qnn-instrument-calibration: the graph
/// the calibrator runs on a normalized module.
void buildCalibrationPipeline(mlir::OpPassManager &pm,
                              const QuantizePipelineOptions &options);

/// Registers every QuantOpt pass and named pipeline with the global
/// registry (for quant-opt and other mlir-opt style drivers).
void registerAllPasses();

/// Registers every dialect QuantOpt reads or produces.
void registerAllDialects(mlir::DialectRegistry &registry);

} // namespace quantopt

#endif // QUANTOPT_PIPELINES_PIPELINES_H
