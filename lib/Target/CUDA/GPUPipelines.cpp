//===- GPUPipelines.cpp - The GPU target's pass pipelines -----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The pass pipelines of docs/GPUBackend.md, built by the same functions for
// compileForCUDA()/emitCUDAPTX() and for the registered textual pipelines
// (qnn-gpu-lower-pipeline, qnn-gpu-kernel-pipeline, qnn-gpu-device-pipeline)
// that quant-opt runs and prints with --dump-pass-pipeline; and
// qnn-attach-nvvm-target (docs/Rationale.md: why not upstream
// nvvm-attach-target).
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CUDA/CUDATarget.h"
#include "quantopt/Target/CUDA/Passes.h"

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Conversion/QNNToGPU/Passes.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNATTACHNVVMTARGETPASS
#include "quantopt/Target/CUDA/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;

namespace {

struct AttachNVVMTargetPass
    : quantopt::impl::QNNAttachNVVMTargetPassBase<AttachNVVMTargetPass> {
  using QNNAttachNVVMTargetPassBase::QNNAttachNVVMTargetPassBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    const GPUTargetInfo &info = getGPUTargetInfo(chip);
    auto target = [&](StringRef name) {
      return NVVM::NVVMTargetAttr::get(ctx, optLevel, "nvptx64-nvidia-cuda",
                                       name, info.ptxFeatures);
    };
    auto plain = target(info.name);
    getOperation().walk([&](gpu::GPUModuleOp m) {
      // Warpgroup MMA exists only on the arch-specific target (sm_90a).
      bool wgmma = info.wgmma && m.walk([](NVVM::WgmmaMmaAsyncOp) {
                                    return WalkResult::interrupt();
                                  }).wasInterrupted();
      m.setTargetsAttr(ArrayAttr::get(
          ctx, {wgmma ? target(info.archSpecificName()) : plain}));
    });
  }
};

} // namespace

void quantopt::setGPUPipelineOptions(GPUPipelineOptions &pipeline,
                                     const CUDACompileOptions &options) {
  if (const GPUTargetInfo *info = lookupGPUTarget(options.chip))
    pipeline.chip = info->chip;
  if (std::optional<GPUKernel> kernel = parseGPUKernel(options.kernel))
    pipeline.kernel = *kernel;
  pipeline.w4a8MinM = options.w4a8MinM;
  pipeline.optLevel = options.optLevel;
}

void quantopt::buildGPULowerPipeline(OpPassManager &pm,
                                     const GPUPipelineOptions &options) {
  // Quantized matmuls and dynamic quantization: QuantOpt's kernels
  // (lib/Conversion/QNNToGPU). Before the dequantize of constants is
  // evaluated: the fp8 kernel takes the e4m3 weights behind them.
  ConvertQNNToGPUPassOptions gpuOptions;
  gpuOptions.chip = options.chip;
  gpuOptions.kernel = options.kernel;
  gpuOptions.w4a8MinM = options.w4a8MinM;
  pm.addPass(createConvertQNNToGPUPass(gpuOptions));
  pm.nest<func::FuncOp>().addPass(qnn::createQNNEvaluateDequantizePass());
  // Everything else: the CPU lowering with every matmul a linalg
  // contraction.
  ConvertQNNToCPUPassOptions lowerOptions;
  lowerOptions.kernelLibrary = false;
  pm.addPass(createConvertQNNToCPUPass(lowerOptions));
  pm.nest<func::FuncOp>().addPass(createCanonicalizerPass());
  pm.nest<func::FuncOp>().addPass(createCSEPass());
  buildElementwiseFusionPipeline(pm);
  pm.nest<func::FuncOp>().addPass(createQNNMaterializeGPUConstantsPass());
}

void quantopt::buildGPUKernelPipeline(OpPassManager &pm) {
  buildBufferizePipeline(pm);
  // Launch calls of the hand-written kernels (QNNToGPU) -> gpu.launch_func.
  pm.addPass(createQNNMaterializeGPULaunchesPass());
  {
    OpPassManager &f = pm.nest<func::FuncOp>();
    f.addPass(createQNNPrepareGPULoopsPass());
    f.addPass(createConvertLinalgToParallelLoopsPass());
    f.addPass(createCanonicalizerPass());
    f.addPass(createQNNTileGPUParallelLoopsPass());
    f.addPass(createGpuMapParallelLoopsPass());
    f.addPass(createConvertParallelLoopToGpuPass());
    f.addPass(createCanonicalizerPass());
    f.addPass(createQNNConvertGPUHostMemoryPass());
  }
  pm.addPass(createGpuKernelOutliningPass());
  pm.nest<func::FuncOp>().addPass(createQNNCheckGPUHostDataAccessPass());
  pm.nest<func::FuncOp>().addPass(createGpuAsyncRegionPass());
  pm.nest<func::FuncOp>().addPass(createCanonicalizerPass());
}

void quantopt::buildGPUDeviceLoweringPipeline(
    OpPassManager &pm, const GPUPipelineOptions &options) {
  QNNAttachNVVMTargetPassOptions target;
  target.chip = options.chip;
  target.optLevel = options.optLevel;
  pm.addPass(createQNNAttachNVVMTargetPass(target));
  OpPassManager &g = pm.nest<gpu::GPUModuleOp>();
  g.addPass(createQNNApproximateMathPass());
  g.addPass(createLowerAffinePass());
  g.addPass(memref::createExpandStridedMetadataPass());
  g.addPass(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = false;
  g.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  // NVVM ops that are PTX strings (wgmma of the sm_90a kernel) to inline
  // assembly.
  g.addPass(createConvertNVVMToLLVMPass());
  g.addPass(createCanonicalizerPass());
  g.addPass(createCSEPass());
  g.addPass(createReconcileUnrealizedCastsPass());
}

void quantopt::registerCUDATargetPasses() {
  registerQuantOptCUDATargetPasses();
  registerQuantOptQNNToGPUPasses();
  // The upstream passes of the pipelines below, so that their
  // --dump-pass-pipeline text parses back.
  registerGPUPasses();
  bufferization::registerBufferizationPasses();
  registerConvertBufferizationToMemRefPass();
  registerConvertGpuOpsToNVVMOps();
  registerConvertNVVMToLLVMPass();
  registerConvertParallelLoopToGpuPass();
  registerGpuToLLVMConversionPass();
  registerLowerAffinePass();
  registerReconcileUnrealizedCastsPass();
  registerSCFToControlFlowPass();
  memref::registerMemRefPasses();
  registerConvertLinalgToParallelLoopsPass();
  static PassPipelineRegistration<GPUPipelineOptions> lower(
      "qnn-gpu-lower-pipeline",
      "GPU target, step 1: qnn -> QuantOpt's kernel launches and "
      "tensor-level linalg, fused, splat constants as fills",
      buildGPULowerPipeline);
  static PassPipelineRegistration<> kernels(
      "qnn-gpu-kernel-pipeline",
      "GPU target, steps 3-5 (after the weights are externalized): "
      "bufferization, loops -> kernels, host memory ops -> GPU runtime ops, "
      "kernel outlining",
      buildGPUKernelPipeline);
  static PassPipelineRegistration<GPUPipelineOptions> device(
      "qnn-gpu-device-pipeline",
      "GPU target, step 6 (device half): NVVM target attached, kernels "
      "lowered to the NVVM and LLVM dialects",
      buildGPUDeviceLoweringPipeline);
}
