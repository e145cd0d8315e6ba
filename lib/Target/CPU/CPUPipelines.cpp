//===- CPUPipelines.cpp - The CPU target's pass pipelines -----------------===//
//
// Part of the QuantOpt project.
//
// The pipelines compileForCPU runs, as builders and as registered textual
// pipelines (quant-opt --pass-pipeline='builtin.module(qnn-cpu-pipeline)'),
// so that the compiler and the tests run the same list of passes.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Target/CPU/CPUTarget.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToFuncs/MathToFuncs.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void quantopt::buildCPUConvertPipeline(OpPassManager &pm) {
  pm.nest<func::FuncOp>().addPass(qnn::createQNNEvaluateDequantizePass());
  pm.addPass(createConvertQNNToCPUPass());
  pm.nest<func::FuncOp>().addPass(createCanonicalizerPass());
  pm.nest<func::FuncOp>().addPass(createCSEPass());
}

void quantopt::buildElementwiseFusionPipeline(OpPassManager &pm) {
  OpPassManager &f = pm.nest<func::FuncOp>();
  f.addPass(createCanonicalizerPass());
  f.addPass(createCSEPass());
  f.addPass(createQNNFuseElementwiseBoundedPass());
  f.addPass(createCanonicalizerPass());
}

void quantopt::buildBufferizePipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.unknownTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Kernel calls on buffers -> func.call with pointers (none on the GPU).
  pm.addPass(createQNNLowerKernelCallsPass());
  pm.addPass(createCanonicalizerPass());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  // Clones of returned buffers the caller owns: alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
}

void quantopt::buildHostLowerToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void quantopt::buildCPULowerToLLVMPipeline(OpPassManager &pm) {
  buildElementwiseFusionPipeline(pm);
  buildBufferizePipeline(pm);
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.nest<func::FuncOp>().addPass(createQNNApproximateMathPass());
  buildHostLowerToLLVMPipeline(pm);
}

void quantopt::buildCPUPipeline(OpPassManager &pm) {
  buildCPUConvertPipeline(pm);
  buildCPULowerToLLVMPipeline(pm);
}

void quantopt::registerCPUTargetPipelines() {
  // The upstream passes the pipelines run, so that the printed form of any
  // of them (--dump-pass-pipeline) parses again in quant-opt.
  bufferization::registerBufferizationPasses();
  memref::registerMemRefPasses();
  registerConvertLinalgToLoopsPass();
  registerConvertBufferizationToMemRefPass();
  registerLowerAffinePass();
  registerSCFToControlFlowPass();
  registerConvertMathToFuncs();
  registerConvertMathToLLVMPass();
  registerConvertMathToLibmPass();
  registerFinalizeMemRefToLLVMConversionPass();
  registerArithToLLVMConversionPass();
  registerConvertIndexToLLVMPass();
  registerConvertFuncToLLVMPass();
  registerConvertControlFlowToLLVMPass();
  registerReconcileUnrealizedCastsPass();

  static PassPipelineRegistration<> convert(
      "qnn-cpu-convert",
      "Quantized qnn to tensor-level upstream IR and kernel calls "
      "(qnn-evaluate-dequantize, convert-qnn-to-cpu, canonicalize, cse)",
      buildCPUConvertPipeline);
  static PassPipelineRegistration<> bufferize(
      "qnn-cpu-bufferize",
      "One-shot bufferization with identity layouts, qnn-lower-kernel-calls, "
      "ownership-based deallocation, bufferization to memref",
      buildBufferizePipeline);
  static PassPipelineRegistration<> lower(
      "qnn-cpu-lower-to-llvm",
      "Tensor-level IR after convert-qnn-to-cpu to the LLVM dialect "
      "(elementwise fusion, bufferization, kernel calls, deallocation, "
      "loops, LLVM)",
      buildCPULowerToLLVMPipeline);
  static PassPipelineRegistration<> all(
      "qnn-cpu-pipeline",
      "Quantized qnn to the LLVM dialect: qnn-cpu-convert, then "
      "qnn-cpu-lower-to-llvm (compileForCPU externalizes weights between "
      "them)",
      buildCPUPipeline);
}
