//===- DecomposeGemm.cpp - qnn.gemm to matmul + add -----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNDECOMPOSEGEMMPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

/// Builds `value * factor` with `factor` as a rank-0 constant of the value's
/// element type; returns `value` when factor is 1.
static Value scaleBy(PatternRewriter &rewriter, Location loc, Value value,
                     float factor) {
  if (factor == 1.0f)
    return value;
  auto elementType = cast<ShapedType>(value.getType()).getElementType();
  auto scalarType = RankedTensorType::get({}, elementType);
  Attribute scalar;
  if (auto ft = dyn_cast<FloatType>(elementType))
    scalar = FloatAttr::get(ft, factor);
  else
    scalar = IntegerAttr::get(elementType, static_cast<int64_t>(factor));
  Value constant = ConstantOp::create(
      rewriter, loc, DenseElementsAttr::get(scalarType, scalar));
  return MulOp::create(rewriter, loc, value, constant);
}

static Value transpose2D(PatternRewriter &rewriter, Location loc, Value v) {
  return TransposeOp::create(rewriter, loc, v,
                             rewriter.getDenseI64ArrayAttr({1, 0}));
}

/// gemm(A, B, C) -> add(mul(matmul(A', B'), alpha), mul(C, beta)).
struct DecomposeGemm : public OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    if (!isa<RankedTensorType>(op.getA().getType()) ||
        !isa<RankedTensorType>(op.getB().getType()))
      return rewriter.notifyMatchFailure(op, "needs ranked operands");
    Location loc = op.getLoc();
    Value a =
        op.getTransA() ? transpose2D(rewriter, loc, op.getA()) : op.getA();
    Value b =
        op.getTransB() ? transpose2D(rewriter, loc, op.getB()) : op.getB();
    Value result = MatMulOp::create(rewriter, loc, a, b);
    result = scaleBy(rewriter, loc, result, op.getAlpha().convertToFloat());
    if (op.getC() && op.getBeta().convertToFloat() != 0.0f) {
      Value c =
          scaleBy(rewriter, loc, op.getC(), op.getBeta().convertToFloat());
      result = AddOp::create(rewriter, loc, result, c);
    }
    // Keep the (possibly more static) declared type of the gemm result.
    if (result.getType() != op.getType()) {
      Type refined = refineTensorType(op.getType(), result.getType());
      if (!refined)
        return rewriter.notifyMatchFailure(op, "incompatible result types");
      result.setType(refined);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct QNNDecomposeGemmPass
    : public qnn::impl::QNNDecomposeGemmPassBase<QNNDecomposeGemmPass> {
  using Base::Base;
  void runOnOperation() override {
    int64_t before = 0;
    getOperation().walk([&](GemmOp) { ++before; });
    RewritePatternSet patterns(&getContext());
    populateDecomposeGemmPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    int64_t after = 0;
    getOperation().walk([&](GemmOp) { ++after; });
    numDecomposed += before - after;
  }
};

} // namespace

void qnn::populateDecomposeGemmPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeGemm>(patterns.getContext());
}
