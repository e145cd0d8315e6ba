//===- QNNToGPU.cpp - qnn to QuantOpt's GPU kernels -----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// convert-qnn-to-gpu: quantized matmuls and dynamic quantization become
// launches of QuantOpt's hand-written GPU kernels, at the tensor level, on
// weights packed at compile time (docs/GPUBackend.md). One pattern set per
// kernel family (FP8.cpp, W4A16.cpp, MMA8.cpp, DynamicQuantize.cpp), applied
// in that order; the kernels they launch are then instantiated from their
// sources (KernelTemplates.cpp). The rest of the model is left to
// convert-qnn-to-cpu{kernel-library=false} and the GPU target's loop mapping.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Conversion/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt {
#define GEN_PASS_DEF_CONVERTQNNTOGPUPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

namespace {

/// Applies `patterns` once to every `OpTy` of `module`, in IR order, without
/// folding (the rewrites of one phase create ops of later phases).
template <typename OpTy>
void applyPhase(ModuleOp module, GPULoweringState &state,
                RewritePatternSet &&patterns) {
  if (state.failed)
    return;
  // The kernel choice of ops that have none (qnn-select-gpu-kernels).
  if (failed(selectGPUKernels<OpTy>(module, state.target, state.kernel,
                                    state.w4a8MinM))) {
    state.failed = true;
    return;
  }
  SmallVector<Operation *> ops;
  module.walk([&](OpTy op) { ops.push_back(op); });
  // The driver's worklist is last in, first out.
  std::reverse(ops.begin(), ops.end());
  (void)applyOpPatternsGreedily(
      ops, std::move(patterns),
      GreedyRewriteConfig()
          .setStrictness(GreedyRewriteStrictness::ExistingOps)
          .enableFolding(false)
          .enableConstantCSE(false));
}

struct ConvertQNNToGPUPass
    : quantopt::impl::ConvertQNNToGPUPassBase<ConvertQNNToGPUPass> {
  using ConvertQNNToGPUPassBase::ConvertQNNToGPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    const GPUTargetInfo &target = getGPUTargetInfo(chip);
    if (stages < 2 || stages > 12) {
      module.emitError("convert-qnn-to-gpu: stages must be in [2, 12]");
      return signalPassFailure();
    }
    if (w4a8MinM < 0 || (w4a8MinM > 0 && kernel != GPUKernel::Auto)) {
      module.emitError("convert-qnn-to-gpu: w4a8-min-m must be 0 (off) or a "
                       "positive row count with kernel=auto, got ")
          << static_cast<int64_t>(w4a8MinM)
          << " with kernel=" << stringifyGPUKernel(kernel);
      return signalPassFailure();
    }
    if (kernel == GPUKernel::W8A8WGMMA && !target.wgmma) {
      module.emitError("convert-qnn-to-gpu: kernel=w8a8-wgmma needs chip "
                       "sm_90 (warpgroup MMA is sm_90a only), got ")
          << target.name;
      return signalPassFailure();
    }
    GPULoweringState state(target, stages, kernel, w4a8MinM);
    MLIRContext *ctx = &getContext();
    // fp8 layers, then weight-only matmuls (W4A8 creates 8-bit matmuls and
    // dynamic quantizations), then 8-bit matmuls, then dynamic
    // quantization.
    RewritePatternSet fp8(ctx), w4a16(ctx), mma8(ctx), dynq(ctx);
    populateFP8Patterns(fp8, state);
    populateW4A16Patterns(w4a16, state);
    populateMMA8Patterns(mma8, state);
    populateDynamicQuantizePatterns(dynq, state);
    applyPhase<MatMulOp>(module, state, std::move(fp8));
    applyPhase<WeightOnlyMatMulOp>(module, state, std::move(w4a16));
    applyPhase<QuantizedMatMulOp>(module, state, std::move(mma8));
    if (!state.failed && !state.fallbacks.empty())
      module->setAttr("qnn.gpu_fallbacks",
                      ArrayAttr::get(ctx, state.fallbacks));
    applyPhase<DynamicQuantizeOp>(module, state, std::move(dynq));
    numW4A16 += state.numW4A16;
    numMMA8 += state.numMMA8;
    numDynamicQuantize += state.numDynamicQuantize;
    if (state.failed || failed(instantiateKernels(module, state)))
      return signalPassFailure();
  }
};

} // namespace
