//===- Reductions.cpp - More qnn reductions to linalg ---------------------===//
//
// Part of the QuantOpt project.
//
// reduce_min/prod/l1/l2/log_sum/log_sum_exp/sum_square (an elementwise
// prologue, a linalg reduction and an elementwise epilogue), argmax/argmin
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

enum class Kind { Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

struct ReductionLowering : OpLowering {
  using OpLowering::OpLowering;

  template <typename OpT> LogicalResult lowerReduce(OpT r);
  LogicalResult reduceImpl(Kind kind, ArrayRef<int64_t> axes, bool keepdims,
                           bool noop);
  template <typename OpT> LogicalResult lowerArg(OpT a);
  LogicalResult lowerLogSoftmax(LogSoftmaxOp s);
  LogicalResult lowerHardmax(HardmaxOp h);
};

template <typename OpT> constexpr Kind kindOf() {
  if constexpr (std::is_same_v<OpT, ReduceMinOp>)
    return Kind::Min;
  else if constexpr (std::is_same_v<OpT, ReduceProdOp>)
    return Kind::Prod;
  else if constexpr (std::is_same_v<OpT, ReduceL1Op>)
    return Kind::L1;
  else if constexpr (std::is_same_v<OpT, ReduceL2Op>)
    return Kind::L2;
  else if constexpr (std::is_same_v<OpT, ReduceLogSumOp>)
    return Kind::LogSum;
  else if constexpr (std::is_same_v<OpT, ReduceLogSumExpOp>)
    return Kind::LogSumExp;
  else
    return Kind::SumSquare;
}

template <typename OpT> LogicalResult ReductionLowering::lowerReduce(OpT r) {
  return reduceImpl(kindOf<OpT>(), r.getAxes(), r.getKeepdims(),
                    r.getNoopWithEmptyAxes());
}

} // namespace

/// The largest (or, with `lowest`, the smallest) value of `t`: +-inf for
/// floats.
static Value extreme(OpBuilder &b, Location l, Type t, bool lowest,
                     bool isUnsigned) {
  if (auto ft = dyn_cast<FloatType>(t))
    return arith::ConstantOp::create(
        b, l,
        b.getFloatAttr(t, APFloat::getInf(ft.getFloatSemantics(), lowest)));
  unsigned w = t.getIntOrFloatBitWidth();
  APInt v = isUnsigned
                ? (lowest ? APInt::getMinValue(w) : APInt::getMaxValue(w))
                : (lowest ? APInt::getSignedMinValue(w)
                          : APInt::getSignedMaxValue(w));
  return arith::ConstantOp::create(b, l, b.getIntegerAttr(t, v));
}

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

LogicalResult ReductionLowering::reduceImpl(Kind kind, ArrayRef<int64_t> attr,
                                            bool keepdims, bool noop) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  auto type = resultType();
  Type et = type.getElementType();
  int64_t rank = inType.getRank();
  bool isFloat = isa<FloatType>(et);
  bool isUnsigned =
      isUnsignedElement(elementTypeOf(op->getOperand(0))) || et.isInteger(1);
  if (!isFloat &&
      (kind == Kind::L2 || kind == Kind::LogSum || kind == Kind::LogSumExp))
    return fail("needs a floating-point input on the CPU");
  SmallVector<int64_t> axes;
  if (attr.empty()) {
    if (noop)
      return done(ValueRange{x});
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  for (int64_t a : attr)
    axes.push_back(*normalizeAxis(a, rank));
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());

  Value r;
  switch (kind) {
  case Kind::Min:
    r = reduce(b, loc, x, axes, extreme(b, loc, et, false, isUnsigned),
               [&](OpBuilder &nb, Location l, Value acc, Value v) {
                 return minV(nb, l, acc, v, isUnsigned);
               });
    break;
  case Kind::Prod:
    r = reduce(b, loc, x, axes, scalarConstant(b, loc, et, 1.0),
               [](OpBuilder &nb, Location l, Value acc, Value v) {
                 return mulV(nb, l, acc, v);
               });
    break;
  case Kind::L1:
    r = reduce(b, loc, mapElements(b, loc, x, absV), axes,
               scalarConstant(b, loc, et, 0.0), addFn);
    break;
  case Kind::L2:
  case Kind::SumSquare:
    r = reduce(b, loc,
               mapElements(b, loc, x,
                           [](OpBuilder &nb, Location l, Value v) {
                             return mulV(nb, l, v, v);
                           }),
               axes, scalarConstant(b, loc, et, 0.0), addFn);
    if (kind == Kind::L2)
      r = mapElements(b, loc, r, [](OpBuilder &nb, Location l, Value v) {
        return (Value)math::SqrtOp::create(nb, l, v);
      });
    break;
  case Kind::LogSum:
    r = reduce(b, loc, x, axes, scalarConstant(b, loc, et, 0.0), addFn);
    r = mapElements(b, loc, r, [](OpBuilder &nb, Location l, Value v) {
      return (Value)math::LogOp::create(nb, l, v);
    });
    break;
  case Kind::LogSumExp: {
    // m + log(sum(exp(x - m))) with m the maximum (0 where it is -inf, so
    // that an all -inf or empty slice gives log(0) = -inf, not NaN).
    Value m = reduce(b, loc, x, axes, extreme(b, loc, et, true, false),
                     [](OpBuilder &nb, Location l, Value acc, Value v) {
                       return (Value)arith::MaximumFOp::create(nb, l, acc, v);
                     });
    Value negInf = extreme(b, loc, et, true, false);
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
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x), out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!llvm::is_contained(axes, i))
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(b.getIndexAttr(1));
  }
  return done(ValueRange{reshapeTo(b, loc, r, type, out)});
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
  Value bestInit = extreme(b, loc, et, isMax, isUnsigned);
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
  Value m = reduce(b, loc, x, {axis}, extreme(b, loc, et, true, false),
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
  patterns.add<
      LowerOpPattern<ReduceMinOp, L, &L::lowerReduce<ReduceMinOp>>,
      LowerOpPattern<ReduceProdOp, L, &L::lowerReduce<ReduceProdOp>>,
      LowerOpPattern<ReduceL1Op, L, &L::lowerReduce<ReduceL1Op>>,
      LowerOpPattern<ReduceL2Op, L, &L::lowerReduce<ReduceL2Op>>,
      LowerOpPattern<ReduceLogSumOp, L, &L::lowerReduce<ReduceLogSumOp>>,
      LowerOpPattern<ReduceLogSumExpOp, L, &L::lowerReduce<ReduceLogSumExpOp>>,
      LowerOpPattern<ReduceSumSquareOp, L, &L::lowerReduce<ReduceSumSquareOp>>,
      LowerOpPattern<ArgMaxOp, L, &L::lowerArg<ArgMaxOp>>,
      LowerOpPattern<ArgMinOp, L, &L::lowerArg<ArgMinOp>>,
      LowerOpPattern<LogSoftmaxOp, L, &L::lowerLogSoftmax>,
      LowerOpPattern<HardmaxOp, L, &L::lowerHardmax>>(converter,
                                                      patterns.getContext());
}
} // namespace quantopt
