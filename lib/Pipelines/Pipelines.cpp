//===- Pipelines.cpp - Named QuantOpt pass pipelines ----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Pipelines/Pipelines.h"

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Target/CPU/CPUTarget.h"
#include "quantopt/Target/CUDA/CUDATarget.h"
#include "quantopt/Target/CUDA/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

// Shape inference runs twice: once so that qnn.shape of now-static values
// folds, and once more to propagate the folded reshape/expand targets.
const char *const quantopt::kNormalizePipeline =
    "func.func(qnn-decompose-gemm,canonicalize),qnn-infer-shapes,"
    "func.func(canonicalize),qnn-infer-shapes,func.func(cse)";

LogicalResult quantopt::buildNormalizePipeline(OpPassManager &pm) {
  return parsePassPipeline(kNormalizePipeline, pm);
}

quantopt::qnn::QNNInsertQDQPassOptions
quantopt::getInsertQDQOptions(const QuantizePipelineOptions &options) {
  qnn::QNNInsertQDQPassOptions insert;
  insert.scheme = options.scheme;
  insert.weightGranularity = options.weightGranularity;
  insert.groupSize = options.groupSize;
  insert.symmetric = options.symmetric;
  insert.activationMode = options.activationMode;
  insert.activationGranularity = options.activationGranularity;
  insert.excludeNodes.assign(options.excludeNodes.begin(),
                             options.excludeNodes.end());
  insert.excludeOpTypes.assign(options.excludeOpTypes.begin(),
                               options.excludeOpTypes.end());
  return insert;
}

void quantopt::addFuseQuantizedPasses(OpPassManager &func) {
  func.addPass(qnn::createQNNPropagateQDQPass());
  func.addPass(qnn::createQNNFuseQuantizedMatMulPass());
  func.addPass(qnn::createQNNFoldQuantizedMatMulParamsPass());
  func.addPass(createCanonicalizerPass());
  func.addPass(createCSEPass());
}

void quantopt::buildFuseQuantizedPipeline(OpPassManager &pm) {
  addFuseQuantizedPasses(pm.nest<func::FuncOp>());
}

void quantopt::buildCalibrationPipeline(
    OpPassManager &pm, const QuantizePipelineOptions &options) {
  pm.nest<func::FuncOp>().addPass(
      qnn::createQNNInsertQDQPass(getInsertQDQOptions(options)));
  pm.addPass(qnn::createQNNInstrumentCalibrationPass());
}

void quantopt::buildQuantizePipeline(OpPassManager &pm,
                                     const QuantizePipelineOptions &options) {
  if (failed(buildNormalizePipeline(pm)))
    llvm::report_fatal_error("invalid built-in normalize pipeline");
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(qnn::createQNNInsertQDQPass(getInsertQDQOptions(options)));
  if (!options.calibrationTable.empty()) {
    qnn::QNNFoldCalibrationPassOptions fold;
    fold.tablePath = options.calibrationTable;
    func.addPass(qnn::createQNNFoldCalibrationPass(fold));
  }
  func.addPass(qnn::createQNNQuantizeWeightsPass());
  addFuseQuantizedPasses(func);
  func.addPass(qnn::createQNNLintFloatWeightsPass());
}

void quantopt::registerAllPasses() {
  qnn::registerQNNPasses();
  registerQuantOptConversionPasses();
  registerCPUTargetPipelines();
  registerCUDATargetPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  mlir::registerSCCPPass();
  mlir::registerPrintIRPass();
  static PassPipelineRegistration<> normalize(
      "qnn-normalize",
      "Normalize an imported graph: gemm -> matmul + add, fold shape "
      "arithmetic, infer static shapes",
      [](OpPassManager &pm) {
        if (failed(buildNormalizePipeline(pm)))
          llvm::report_fatal_error("invalid built-in normalize pipeline");
      });
  static PassPipelineRegistration<QuantizePipelineOptions> quantize(
      "qnn-quantize-pipeline",
      "Quantize a graph for a scheme: normalize, insert Q/DQ, quantize "
      "weights (RTN), fuse into quantized matmuls, lint",
      buildQuantizePipeline);
  static PassPipelineRegistration<> fuseQuantized(
      "qnn-fuse-quantized-pipeline",
      "Turn Q/DQ around matmuls into quantized matmul ops: propagate Q/DQ, "
      "fuse, fold constant terms, canonicalize, cse (what an already "
      "quantized model gets without --scheme)",
      buildFuseQuantizedPipeline);
  static PassPipelineRegistration<QuantizePipelineOptions> calibration(
      "qnn-calibration-pipeline",
      "Instrument a normalized graph for calibration: insert Q/DQ for a "
      "scheme, then expose every tensor to calibrate as a result",
      buildCalibrationPipeline);
}

void quantopt::registerAllDialects(DialectRegistry &registry) {
  registry
      .insert<qnn::QNNDialect, func::FuncDialect, quant::QuantDialect,
              arith::ArithDialect, math::MathDialect, tensor::TensorDialect>();
  registerCUDATargetDialects(registry);
}
