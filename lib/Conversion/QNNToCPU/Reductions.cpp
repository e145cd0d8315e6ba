//===- Reductions.cpp - qnn reductions to linalg --------------------------===//
//
// Part of the QuantOpt project.
//
// The ONNX reductions, lowerReduction: reduce_min/max/sum/mean/prod/l1/l2/
// log_sum/log_sum_exp/sum_square (an elementwise prologue, a linalg
// reduction and an elementwise epilogue; mean, sum and max are registered
// with the normalizations, Normalization.cpp), argmax/argmin
// (one reduction carrying the best value and its index), log_softmax and
// hardmax.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct ReductionLowering : OpLowering {
  using OpLowering::OpLowering;

  template <typename OpT> LogicalResult lowerArg(OpT a);
  LogicalResult lowerLogSoftmax(LogSoftmaxOp s);
  LogicalResult lowerHardmax(HardmaxOp h);
};

} // namespace

/// `f` applied to every element of `v`.
static Value mapElements(OpBuilder &b, Location loc, Value v,
                         function_ref<Value(OpBuilder &, Location, Value)> f) {
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, v);
  return generic(
      b, loc, sizes, cast<RankedTensorType>(v.getType()).getElementType(),
      ValueRange{v}, {b.getMultiDimIdentityMap(sizes.size())},
      [&](OpBuilder &nb, Location l, ValueRange a) { return f(nb, l, a[0]); });
}

static Value absV(OpBuilder &b, Location l, Value x) {
  if (isa<FloatType>(x.getType()))
    return math::AbsFOp::create(b, l, x);
  return math::AbsIOp::create(b, l, x);
}

static Value addFn(OpBuilder &b, Location l, Value acc, Value v) {
  return addV(b, l, acc, v);
}

LogicalResult cpu::lowerReduction(OpLowering &lw, ReduceKind kind,
                                  ArrayRef<int64_t> attr, bool keepdims,
                                  bool noop) {
  OpBuilder &b = lw.b;
  Location loc = lw.loc;
  Value x = lw.operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  auto type = lw.resultType();
  Type et = type.getElementType();
  int64_t rank = inType.getRank();
  bool isFloat = isa<FloatType>(et);
  bool isUnsigned =
      isUnsignedElement(elementTypeOf(lw.op->getOperand(0))) || et.isInteger(1);
  if (!isFloat && (kind == ReduceKind::L2 || kind == ReduceKind::LogSum ||
                   kind == ReduceKind::LogSumExp))
    return lw.fail("needs a floating-point input on the CPU");
  if (attr.empty() && noop)
    return lw.done(ValueRange{x});
  if (!isFloat && kind == ReduceKind::Mean)
    return lw.fail("integer reduce_mean is not supported");
  FailureOr<SmallVector<int64_t>> dims = reductionDims(attr, rank);
  if (failed(dims))
    return lw.fail("axis out of range");
  SmallVector<int64_t> axes = *dims;

  Value r;
  switch (kind) {
  case ReduceKind::Min:
  case ReduceKind::Max: {
    // Start from the other end of the range: -inf (or the minimum) for max.
    bool isMax = kind == ReduceKind::Max;
    r = reduce(b, loc, x, axes, extremeValue(b, loc, et, isMax, isUnsigned),
               [&](OpBuilder &nb, Location l, Value acc, Value v) {
                 return isMax ? maxV(nb, l, acc, v, isUnsigned)
                              : minV(nb, l, acc, v, isUnsigned);
               });
    break;
  }
  case ReduceKind::Sum:
  case ReduceKind::Mean:
    r = reduce(b, loc, x, axes, scalarConstant(b, loc, et, 0.0), addFn);
    if (kind == ReduceKind::Mean) {
      Value count = countAsFloat(b, loc, x, axes, et);
      r = mapElements(b, loc, r, [&](OpBuilder &nb, Location l, Value v) {
        return (Value)arith::DivFOp::create(nb, l, v, count);
      });
    }
    break;
  case ReduceKind::Prod:
    r = reduce(b, loc, x, axes, scalarConstant(b, loc, et, 1.0),
               [](OpBuilder &nb, Location l, Value acc, Value v) {
                 return mulV(nb, l, acc, v);
               });
    break;
  case ReduceKind::L1:
    r = reduce(b, loc, mapElements(b, loc, x, absV), axes,
               scalarConstant(b, loc, et, 0.0), addFn);
    break;
  case ReduceKind::L2:
  case ReduceKind::SumSquare:
    r = reduce(b, loc,
               mapElements(b, loc, x,
                           [](OpBuilder &nb, Location l, Value v) {
                             return mulV(nb, l, v, v);
                           }),
               axes, scalarConstant(b, loc, et, 0.0), addFn);
    if (kind == ReduceKind::L2)
      r = mapElements(b, loc, r, [](OpBuilder &nb, Location l, Value v) {
        return (Value)math::SqrtOp::create(nb, l, v);
      });
    break;
  case ReduceKind::LogSum:
    r = reduce(b, loc, x, axes, scalarConstant(b, loc, et, 0.0), addFn);
    r = mapElements(b, loc, r, [](OpBuilder &nb, Location l, Value v) {
      return (Value)math::LogOp::create(nb, l, v);
    });
    break;
  case ReduceKind::LogSumExp: {
    // m + log(sum(exp(x - m))) with m the maximum (0 where it is -inf, so
    // that an all -inf or empty slice gives log(0) = -inf, not NaN).
    Value m = reduce(b, loc, x, axes, extremeValue(b, loc, et, true, false),
                     [](OpBuilder &nb, Location l, Value acc, Value v) {
                       return (Value)arith::MaximumFOp::create(nb, l, acc, v);
                     });
    Value negInf = extremeValue(b, loc, et, true, false);
    m = mapElements(b, loc, m, [&](OpBuilder &nb, Location l, Value v) {
      Value isInf =
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, v, negInf);
      return (Value)arith::SelectOp::create(nb, l, isInf,
                                            scalarConstant(nb, l, et, 0.0), v);
    });
    SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
    Value e =
        generic(b, loc, sizes, et, ValueRange{x, m},
                {b.getMultiDimIdentityMap(rank), droppedMap(b, rank, axes)},
                [](OpBuilder &nb, Location l, ValueRange a) {
                  return (Value)math::ExpOp::create(
                      nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                });
    Value s = reduce(b, loc, e, axes, scalarConstant(b, loc, et, 0.0), addFn);
    SmallVector<OpFoldResult> rs = mixedSizes(b, loc, s);
    AffineMap id = b.getMultiDimIdentityMap(rs.size());
    r = generic(b, loc, rs, et, ValueRange{s, m}, {id, id},
                [](OpBuilder &nb, Location l, ValueRange a) {
                  return (Value)arith::AddFOp::create(
                      nb, l, math::LogOp::create(nb, l, a[0]), a[1]);
                });
    break;
  }
  }
  return lw.done(ValueRange{
      reshapeTo(b, loc, r, type, reducedSizes(b, loc, x, axes, keepdims))});
}

/// The i64 index of the maximum (or minimum) of `x` along `axis` (dropped
/// from the result): first of equal values, or the last with `last`.
static Value argReduce(OpBuilder &b, Location loc, Value x, int64_t axis,
                       bool isMax, bool last, bool isUnsigned) {
  auto type = cast<RankedTensorType>(x.getType());
  Type et = type.getElementType();
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> all = mixedSizes(b, loc, x), kept;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    iters.push_back(i == axis ? utils::IteratorType::reduction
                              : utils::IteratorType::parallel);
    if (i != axis)
      kept.push_back(all[i]);
  }
  Value bestInit = extremeValue(b, loc, et, isMax, isUnsigned);
  Value best = linalg::FillOp::create(b, loc, ValueRange{bestInit},
                                      ValueRange{emptyTensor(b, loc, kept, et)})
                   .getResult(0);
  Value zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
  Value index = linalg::FillOp::create(
                    b, loc, ValueRange{zero},
                    ValueRange{emptyTensor(b, loc, kept, b.getI64Type())})
                    .getResult(0);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = droppedMap(b, rank, {axis});
  auto gen = linalg::GenericOp::create(
      b, loc, TypeRange{best.getType(), index.getType()}, ValueRange{x},
      ValueRange{best, index}, ArrayRef<AffineMap>{id, red, red}, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = a[0], acc = a[1], accI = a[2];
        Value i = arith::IndexCastOp::create(
            nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, axis));
        Value better;
        if (isa<FloatType>(et)) {
          using P = arith::CmpFPredicate;
          P p = isMax ? (last ? P::OGE : P::OGT) : (last ? P::OLE : P::OLT);
          better = arith::CmpFOp::create(nb, l, p, v, acc);
        } else {
          using P = arith::CmpIPredicate;
          P p = isMax ? (last ? (isUnsigned ? P::uge : P::sge)
                              : (isUnsigned ? P::ugt : P::sgt))
                      : (last ? (isUnsigned ? P::ule : P::sle)
                              : (isUnsigned ? P::ult : P::slt));
          better = arith::CmpIOp::create(nb, l, p, v, acc);
        }
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, better, v, acc),
                       arith::SelectOp::create(nb, l, better, i, accI)});
      });
  return gen.getResult(1);
}

template <typename OpT> LogicalResult ReductionLowering::lowerArg(OpT a) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  int64_t axis = *normalizeAxis(a.getAxis(), inType.getRank());
  bool isUnsigned = isUnsignedElement(elementTypeOf(op->getOperand(0))) ||
                    inType.getElementType().isInteger(1);
  Value r = argReduce(b, loc, x, axis, std::is_same_v<OpT, ArgMaxOp>,
                      a.getSelectLastIndex(), isUnsigned);
  SmallVector<OpFoldResult> out = mixedSizes(b, loc, x);
  if (a.getKeepdims())
    out[axis] = b.getIndexAttr(1);
  else
    out.erase(out.begin() + axis);
  return done(ValueRange{reshapeTo(b, loc, r, resultType(), out)});
}

LogicalResult ReductionLowering::lowerLogSoftmax(LogSoftmaxOp s) {
  Value x = operands[0];
  auto type = resultType();
  int64_t rank = type.getRank();
  int64_t axis = *normalizeAxis(s.getAxis(), rank);
  Type et = type.getElementType();
  Value m = reduce(b, loc, x, {axis}, extremeValue(b, loc, et, true, false),
                   [](OpBuilder &nb, Location l, Value acc, Value v) {
                     return (Value)arith::MaximumFOp::create(nb, l, acc, v);
                   });
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = droppedMap(b, rank, {axis});
  Value shifted =
      generic(b, loc, sizes, et, ValueRange{x, m}, {id, red},
              [](OpBuilder &nb, Location l, ValueRange a) {
                return (Value)arith::SubFOp::create(nb, l, a[0], a[1]);
              });
  Value sum = reduce(b, loc,
                     mapElements(b, loc, shifted,
                                 [](OpBuilder &nb, Location l, Value v) {
                                   return (Value)math::ExpOp::create(nb, l, v);
                                 }),
                     {axis}, scalarConstant(b, loc, et, 0.0), addFn);
  return done(
      ValueRange{generic(b, loc, sizes, et, ValueRange{shifted, sum}, {id, red},
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           return (Value)arith::SubFOp::create(
                               nb, l, a[0], math::LogOp::create(nb, l, a[1]));
                         })});
}

LogicalResult ReductionLowering::lowerHardmax(HardmaxOp h) {
  Value x = operands[0];
  auto type = resultType();
  int64_t rank = type.getRank();
  int64_t axis = *normalizeAxis(h.getAxis(), rank);
  Type et = type.getElementType();
  Value best = argReduce(b, loc, x, axis, true, false, false);
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
  Value init = emptyTensor(b, loc, sizes, et);
  return done(ValueRange{indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> idx(at);
        idx.erase(idx.begin() + axis);
        Value bi = tensor::ExtractOp::create(nb, l, best, idx);
        Value i = arith::IndexCastOp::create(nb, l, nb.getI64Type(), at[axis]);
        Value hit =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, i, bi);
        return (Value)arith::SelectOp::create(nb, l, hit,
                                              scalarConstant(nb, l, et, 1.0),
                                              scalarConstant(nb, l, et, 0.0));
      })});
}

namespace quantopt {
void populateQNNToCPUReductionPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns) {
  using L = ReductionLowering;
  using K = ReduceKind;
  patterns.add<ReductionPattern<ReduceMinOp, K::Min>,
               ReductionPattern<ReduceProdOp, K::Prod>,
               ReductionPattern<ReduceL1Op, K::L1>,
               ReductionPattern<ReduceL2Op, K::L2>,
               ReductionPattern<ReduceLogSumOp, K::LogSum>,
               ReductionPattern<ReduceLogSumExpOp, K::LogSumExp>,
               ReductionPattern<ReduceSumSquareOp, K::SumSquare>,
               LowerOpPattern<ArgMaxOp, L, &L::lowerArg<ArgMaxOp>>,
               LowerOpPattern<ArgMinOp, L, &L::lowerArg<ArgMinOp>>,
               LowerOpPattern<LogSoftmaxOp, L, &L::lowerLogSoftmax>,
               LowerOpPattern<HardmaxOp, L, &L::lowerHardmax>>(
      converter, patterns.getContext());
}
} // namespace quantopt
