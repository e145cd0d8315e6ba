//===- FuseElementwiseBounded.cpp - qnn-fuse-elementwise-bounded ----------===//
//
// Part of the QuantOpt project.
//
// Upstream's linalg elementwise fusion with a bound on the fused body size
// (Passes.td says why).
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNFUSEELEMENTWISEBOUNDEDPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;

namespace {

struct QNNFuseElementwiseBoundedPass
    : quantopt::impl::QNNFuseElementwiseBoundedPassBase<
          QNNFuseElementwiseBoundedPass> {
  using QNNFuseElementwiseBoundedPassBase::QNNFuseElementwiseBoundedPassBase;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    size_t bound = maxBodyOps;
    linalg::ControlFusionFn control = [bound](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      if (!producer || !producer->hasOneUse())
        return false;
      auto bodySize = [](Operation *op) -> size_t {
        auto generic = dyn_cast<linalg::GenericOp>(op);
        return generic ? generic.getBody()->getOperations().size() : 0;
      };
      return bodySize(producer) + bodySize(fused->getOwner()) <= bound;
    };
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    // As upstream: a fixpoint not reached in the driver's iterations leaves
    // valid, partly fused IR, which is not an error.
    (void)applyPatternsGreedily(
        getOperation(), std::move(patterns),
        GreedyRewriteConfig().setUseTopDownTraversal(true));
  }
};

} // namespace
