//===- Normalization.cpp - qnn normalizations and reductions to linalg ----===//
//
// Part of the QuantOpt project.
//
// Softmax, layer and RMS normalization: reduction and elementwise
// linalg.generics. The reductions registered here (mean, sum, max) are
// lowered by Reductions.cpp with the others.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct NormLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lowerSoftmax(SoftmaxOp s);
  LogicalResult lowerLayerNorm(LayerNormOp n);
  LogicalResult lowerRMSNorm(RMSNormOp n);
};

} // namespace

LogicalResult NormLowering::lowerSoftmax(SoftmaxOp s) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(s.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  Value x = operands[0];
  Type elt = type.getElementType();
  int64_t rank = type.getRank();
  Value negInf = extremeValue(b, loc, elt, /*lowest=*/true, false);
  Value mx = reduce(b, loc, x, {*axis}, negInf,
                    [](OpBuilder &nb, Location l, Value acc, Value v) {
                      return (Value)arith::MaximumFOp::create(nb, l, acc, v);
                    });
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = droppedMap(b, rank, {*axis});
  Value e = generic(b, loc, sizes, elt, ValueRange{x, mx}, {id, red},
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      return (Value)math::ExpOp::create(
                          nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                    });
  Value sum = reduce(b, loc, e, {*axis}, scalarConstant(b, loc, elt, 0.0),
                     [](OpBuilder &nb, Location l, Value acc, Value v) {
                       return (Value)arith::AddFOp::create(nb, l, acc, v);
                     });
  return done(ValueRange{
      generic(b, loc, sizes, elt, ValueRange{e, sum}, {id, red},
              [](OpBuilder &nb, Location l, ValueRange a) {
                return (Value)arith::DivFOp::create(nb, l, a[0], a[1]);
              })});
}

/// Normalization over dims [axis, rank): y = (x - mean) * rsqrt(var + eps)
/// * scale (+ bias); RMS norm has no mean.
static Value normalize(OpBuilder &b, Location loc, Value x, Value scale,
                       Value bias, int64_t axis, float epsilon, bool rms,
                       Value *meanOut, Value *invStdOut) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type elt = type.getElementType();
  SmallVector<int64_t> dims;
  for (int64_t i = axis; i < rank; ++i)
    dims.push_back(i);
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = droppedMap(b, rank, dims);
  Value count = countAsFloat(b, loc, x, dims, elt);
  Value zero = scalarConstant(b, loc, elt, 0.0);
  auto sumOf = [&](Value v) {
    return reduce(b, loc, v, dims, zero,
                  [](OpBuilder &nb, Location l, Value acc, Value e) {
                    return (Value)arith::AddFOp::create(nb, l, acc, e);
                  });
  };
  SmallVector<OpFoldResult> redSizes(sizes.begin(), sizes.begin() + axis);
  auto perRow = [&](Value v, BodyFn body) {
    return generic(b, loc, redSizes, elt, ValueRange{v},
                   {b.getMultiDimIdentityMap(axis)}, body);
  };
  Value centered = x, mean;
  if (!rms) {
    mean = perRow(sumOf(x), [&](OpBuilder &nb, Location l, ValueRange a) {
      return (Value)arith::DivFOp::create(nb, l, a[0], count);
    });
    centered = generic(b, loc, sizes, elt, ValueRange{x, mean}, {id, red},
                       [](OpBuilder &nb, Location l, ValueRange a) {
                         return (Value)arith::SubFOp::create(nb, l, a[0], a[1]);
                       });
  }
  Value sq = generic(b, loc, sizes, elt, ValueRange{centered}, {id},
                     [](OpBuilder &nb, Location l, ValueRange a) {
                       return (Value)arith::MulFOp::create(nb, l, a[0], a[0]);
                     });
  Value eps = scalarConstant(b, loc, elt, epsilon);
  Value invStd =
      perRow(sumOf(sq), [&](OpBuilder &nb, Location l, ValueRange a) {
        Value var = arith::DivFOp::create(nb, l, a[0], count);
        return (Value)math::RsqrtOp::create(
            nb, l, arith::AddFOp::create(nb, l, var, eps));
      });
  SmallVector<Value> inputs{centered, invStd};
  SmallVector<AffineMap> maps{id, red};
  for (Value p : {scale, bias}) {
    if (!p)
      continue;
    inputs.push_back(p);
    maps.push_back(
        broadcastMap(b, cast<RankedTensorType>(p.getType()), type.getShape()));
  }
  bool hasBias = (bool)bias;
  Value y = generic(b, loc, sizes, elt, inputs, maps,
                    [&](OpBuilder &nb, Location l, ValueRange a) {
                      Value r = arith::MulFOp::create(nb, l, a[0], a[1]);
                      r = arith::MulFOp::create(nb, l, r, a[2]);
                      if (hasBias)
                        r = arith::AddFOp::create(nb, l, r, a[3]);
                      return r;
                    });
  if (meanOut)
    *meanOut = mean;
  if (invStdOut)
    *invStdOut = invStd;
  return y;
}

LogicalResult NormLowering::lowerLayerNorm(LayerNormOp n) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(n.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  Value mean, invStd;
  Value y = normalize(b, loc, operands[0], operands[1],
                      n.getBias() ? operands[2] : Value(), *axis,
                      n.getEpsilon().convertToFloat(), false, &mean, &invStd);
  SmallVector<Value> results{y};
  SmallVector<OpFoldResult> keep = mixedSizes(b, loc, operands[0]);
  for (int64_t i = *axis; i < type.getRank(); ++i)
    keep[i] = b.getIndexAttr(1);
  SmallVector<Value> stats{mean, invStd};
  for (auto [i, v] : llvm::enumerate(stats)) {
    auto t = resultType(i + 1);
    results.push_back(reshapeTo(b, loc, v, t, keep));
  }
  return done(results);
}

LogicalResult NormLowering::lowerRMSNorm(RMSNormOp n) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(n.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  return done(ValueRange{normalize(b, loc, operands[0], operands[1], Value(),
                                   *axis, n.getEpsilon().convertToFloat(), true,
                                   nullptr, nullptr)});
}

void quantopt::populateQNNToCPUNormalizationPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<
      LowerOpPattern<SoftmaxOp, NormLowering, &NormLowering::lowerSoftmax>,
      LowerOpPattern<LayerNormOp, NormLowering, &NormLowering::lowerLayerNorm>,
      LowerOpPattern<RMSNormOp, NormLowering, &NormLowering::lowerRMSNorm>,
      ReductionPattern<ReduceMeanOp, ReduceKind::Mean>,
      ReductionPattern<ReduceSumOp, ReduceKind::Sum>,
      ReductionPattern<ReduceMaxOp, ReduceKind::Max>>(converter,
                                                      patterns.getContext());
}
