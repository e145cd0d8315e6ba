//===- FuseWeightOnlyMatMul.cpp - matmul(x, dequantize(w)) fusion ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

bool isConstant(Value v) { return v && v.getDefiningOp<ConstantOp>(); }

/// matmul(x, dequantize(w_q, s, z)) with a constant [K, N] integer weight
/// whose parameters are per tensor, per output channel (axis 1) or grouped
/// along K (axis 0, block_size = group).
struct FuseWeightOnly : public OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto dq = op.getRhs().getDefiningOp<DequantizeOp>();
    if (!dq || !dq.getScale() || !isConstant(dq.getInput()) ||
        !isConstant(dq.getScale()) ||
        (dq.getZeroPoint() && !isConstant(dq.getZeroPoint())))
      return rewriter.notifyMatchFailure(op, "rhs is not a dequantized "
                                             "constant weight");
    // Activations quantized too: that is W8A8, handled by the integer
    // matmul patterns.
    if (op.getLhs().getDefiningOp<DequantizeOp>())
      return rewriter.notifyMatchFailure(op, "quantized activations");
    auto weightType = dyn_cast<RankedTensorType>(dq.getInput().getType());
    if (!weightType || weightType.getRank() != 2 ||
        !isa<IntegerType>(weightType.getElementType()) ||
        weightType.getElementType().getIntOrFloatBitWidth() > 8)
      return rewriter.notifyMatchFailure(op, "weight is not 2-D int8/int4");
    auto scaleType = cast<ShapedType>(dq.getScale().getType());
    if (!scaleType.getElementType().isF32() ||
        !cast<ShapedType>(op.getLhs().getType()).getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "only f32 activations/scales");
    int64_t group = 0;
    bool perTensor = scaleType.hasStaticShape() &&
                     scaleType.getNumElements() == 1 && dq.getBlockSize() == 0;
    int64_t axis =
        normalizeAxis(static_cast<int64_t>(dq.getAxis()), 2).value_or(-1);
    if (!perTensor) {
      if (dq.getBlockSize() == 0 && axis == 1)
        group = 0;
      else if (dq.getBlockSize() > 0 && axis == 0)
        group = dq.getBlockSize();
      else
        return rewriter.notifyMatchFailure(op, "scales are not per output "
                                               "channel or per group of K");
    }
    auto fused = WeightOnlyMatMulOp::create(
        rewriter, op.getLoc(), TypeRange{op.getType()}, op.getLhs(),
        dq.getInput(), dq.getScale(), dq.getZeroPoint(), Value(),
        rewriter.getI64IntegerAttr(group));
    rewriter.replaceOp(op, fused);
    return success();
  }
};

/// add(weight_only_matmul(...), bias[N]) folds the bias into the op.
struct FuseWeightOnlyBias : public OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [mmValue, biasValue] : {std::pair(op.getLhs(), op.getRhs()),
                                      std::pair(op.getRhs(), op.getLhs())}) {
      auto mm = mmValue.getDefiningOp<WeightOnlyMatMulOp>();
      if (!mm || mm.getBias() || !mm->hasOneUse() || !isConstant(biasValue))
        continue;
      auto biasType = cast<ShapedType>(biasValue.getType());
      auto weightType = cast<ShapedType>(mm.getWeight().getType());
      if (!biasType.hasStaticShape() || biasType.getRank() != 1 ||
          biasType.getDimSize(0) != weightType.getDimSize(1) ||
          op.getType() != mm.getType())
        continue;
      auto fused = WeightOnlyMatMulOp::create(
          rewriter, mm.getLoc(), TypeRange{mm.getType()}, mm.getInput(),
          mm.getWeight(), mm.getScales(), mm.getZeroPoints(), biasValue,
          mm.getGroupSizeAttr());
      rewriter.replaceOp(op, fused);
      rewriter.eraseOp(mm);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not a per-channel bias add");
  }
};

} // namespace

void qnn::populateFuseWeightOnlyMatMulPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseWeightOnly, FuseWeightOnlyBias>(patterns.getContext());
}
