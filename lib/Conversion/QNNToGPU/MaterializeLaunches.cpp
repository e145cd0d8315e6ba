//===- MaterializeLaunches.cpp - Launch calls to gpu.launch_func ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qnn-materialize-gpu-launches: after bufferization, the calls that stand
// for launches of QuantOpt's kernels (convert-qnn-to-gpu) become
// gpu.launch_func.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNMATERIALIZEGPULAUNCHESPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;

namespace {

/// The kernel a launch declaration stands for, or null.
SymbolRefAttr launchedKernel(func::FuncOp decl) {
  return decl ? decl->getAttrOfType<SymbolRefAttr>("qgpu.kernel") : nullptr;
}

/// call @quantopt_launch_K(grid x, y, z, block x, y, z, smem, args...) ->
/// gpu.launch_func @quantopt_kernels::@K (keeping its qnn.kernel).
struct MaterializeLaunch : OpRewritePattern<func::CallOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(func::CallOp call,
                                PatternRewriter &rewriter) const override {
    auto decl = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    SymbolRefAttr kernel = launchedKernel(decl);
    if (!kernel || call.getNumOperands() < 7)
      return failure();
    ValueRange o = call.getOperands();
    Attribute description = call->getAttr("qnn.kernel");
    auto launch = rewriter.replaceOpWithNewOp<gpu::LaunchFuncOp>(
        call, kernel, gpu::KernelDim3{o[0], o[1], o[2]},
        gpu::KernelDim3{o[3], o[4], o[5]}, o[6], o.drop_front(7), Type(),
        ValueRange{});
    if (description)
      launch->setAttr("qnn.kernel", description);
    return success();
  }
};

struct QNNMaterializeGPULaunchesPass
    : quantopt::impl::QNNMaterializeGPULaunchesPassBase<
          QNNMaterializeGPULaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> decls;
    SmallVector<Operation *> calls;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (!launchedKernel(f))
        continue;
      decls.push_back(f);
      // Named: a range-for over `*f.getSymbolUses(module)` would iterate a
      // destroyed temporary.
      std::optional<SymbolTable::UseRange> uses = f.getSymbolUses(module);
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call || call.getNumOperands() < 7) {
          use.getUser()->emitOpError("unexpected use of a launch declaration");
          return signalPassFailure();
        }
        calls.push_back(call);
      }
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<MaterializeLaunch>(&getContext());
    if (failed(applyOpPatternsGreedily(
            calls, std::move(patterns),
            GreedyRewriteConfig()
                .setStrictness(GreedyRewriteStrictness::ExistingOps)
                .enableFolding(false)
                .enableConstantCSE(false))))
      return signalPassFailure();
    for (func::FuncOp decl : decls)
      decl.erase();
  }
};

} // namespace
