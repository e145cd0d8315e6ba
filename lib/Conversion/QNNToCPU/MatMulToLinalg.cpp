//===- MatMulToLinalg.cpp - qnn matmuls to linalg contractions ------------===//
//
// Part of the QuantOpt project.
//
// Every matmul as a linalg.generic contraction with ONNX batch
// broadcasting: the matmuls no kernel takes (integer, non-f32, broadcast
// batch dims) and, on targets without the kernel library (the GPU), all of
// them (weight-only weights dequantized at compile time).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct LinalgMatMulLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lowerMatMul(MatMulOp mm);
  LogicalResult lowerMatMulInteger(MatMulIntegerOp mm);
  LogicalResult lowerWeightOnly(WeightOnlyMatMulOp w);
  LogicalResult lowerQuantizedMatMul(QuantizedMatMulOp q);
  Value buildGenericMatMul(Value lhs, Value rhs, RankedTensorType result,
                           bool lhsUnsigned, bool rhsUnsigned, Value lhsZp,
                           Value rhsZp);
};

template <typename OpT, auto Method>
using LinalgPattern = LowerOpPattern<OpT, LinalgMatMulLowering, Method>;

} // namespace

/// A contraction over the last dims with ONNX batch broadcasting, for
/// matmuls that no kernel takes (integer, non-f32, broadcast batch dims).
Value LinalgMatMulLowering::buildGenericMatMul(Value lhs, Value rhs,
                                               RankedTensorType result,
                                               bool lhsUnsigned,
                                               bool rhsUnsigned, Value lhsZp,
                                               Value rhsZp) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  Type acc = result.getElementType();
  // Rank-1 operands take a unit dim that the result drops.
  bool lhsVec = lt.getRank() == 1, rhsVec = rt.getRank() == 1;
  if (lhsVec) {
    SmallVector<OpFoldResult> s{b.getIndexAttr(1),
                                tensor::getMixedSize(b, loc, lhs, 0)};
    lhs = reshapeTo(b, loc, lhs, tensorTypeOf(s, lt.getElementType()), s);
    lt = cast<RankedTensorType>(lhs.getType());
  }
  if (rhsVec) {
    SmallVector<OpFoldResult> s{tensor::getMixedSize(b, loc, rhs, 0),
                                b.getIndexAttr(1)};
    rhs = reshapeTo(b, loc, rhs, tensorTypeOf(s, rt.getElementType()), s);
    rt = cast<RankedTensorType>(rhs.getType());
  }
  int64_t batch = std::max(lt.getRank(), rt.getRank()) - 2;
  int64_t rank = batch + 3; // batch..., m, n, k
  // Batch sizes: broadcast of both operands' batch dims.
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < batch; ++i) {
    OpFoldResult s = b.getIndexAttr(1);
    for (Value v : {lhs, rhs}) {
      auto t = cast<RankedTensorType>(v.getType());
      int64_t j = i - (batch - (t.getRank() - 2));
      if (j >= 0 && t.getDimSize(j) != 1) {
        s = tensor::getMixedSize(b, loc, v, j);
        break;
      }
    }
    sizes.push_back(s);
  }
  OpFoldResult m = tensor::getMixedSize(b, loc, lhs, lt.getRank() - 2);
  OpFoldResult n = tensor::getMixedSize(b, loc, rhs, rt.getRank() - 1);
  auto operandMap = [&](RankedTensorType t, AffineExpr r0, AffineExpr r1) {
    SmallVector<AffineExpr> e;
    int64_t tb = t.getRank() - 2;
    for (int64_t j = 0; j < tb; ++j) {
      int64_t i = j + (batch - tb);
      bool bcast = t.getDimSize(j) == 1 &&
                   getConstantIntValue(sizes[i]) != std::optional<int64_t>(1);
      e.push_back(bcast ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(i));
    }
    e.push_back(r0);
    e.push_back(r1);
    return AffineMap::get(rank, 0, e, b.getContext());
  };
  AffineExpr dm = b.getAffineDimExpr(batch), dn = b.getAffineDimExpr(batch + 1),
             dk = b.getAffineDimExpr(batch + 2);
  SmallVector<AffineMap> maps{operandMap(lt, dm, dk), operandMap(rt, dk, dn)};
  SmallVector<Value> inputs{lhs, rhs};
  // Zero points: scalars, per row of lhs ([M]) or per column of rhs ([N]).
  auto zpMap = [&](Value zp, AffineExpr d) {
    auto t = cast<RankedTensorType>(zp.getType());
    if (t.getNumElements() == 1)
      return AffineMap::get(
          rank, 0,
          SmallVector<AffineExpr>(t.getRank(), b.getAffineConstantExpr(0)),
          b.getContext());
    SmallVector<AffineExpr> e(t.getRank() - 1, b.getAffineConstantExpr(0));
    e.push_back(d);
    return AffineMap::get(rank, 0, e, b.getContext());
  };
  if (lhsZp) {
    inputs.push_back(lhsZp);
    maps.push_back(zpMap(lhsZp, dm));
  }
  if (rhsZp) {
    inputs.push_back(rhsZp);
    maps.push_back(zpMap(rhsZp, dn));
  }
  SmallVector<OpFoldResult> outSizes(sizes);
  outSizes.push_back(m);
  outSizes.push_back(n);
  Value init = emptyTensor(b, loc, outSizes, acc);
  init =
      linalg::FillOp::create(b, loc, ValueRange{scalarConstant(b, loc, acc, 0)},
                             ValueRange{init})
          .getResult(0);
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < batch + 2; ++i)
    outExprs.push_back(b.getAffineDimExpr(i));
  maps.push_back(AffineMap::get(rank, 0, outExprs, b.getContext()));
  SmallVector<utils::IteratorType> iters(rank - 1,
                                         utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  bool hasLZp = (bool)lhsZp, hasRZp = (bool)rhsZp;
  auto g = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value x = convertScalar(nb, l, a[0], acc, lhsUnsigned, false);
        Value y = convertScalar(nb, l, a[1], acc, rhsUnsigned, false);
        unsigned next = 2;
        if (hasLZp)
          x = subV(nb, l, x,
                   convertScalar(nb, l, a[next++], acc, lhsUnsigned, false));
        if (hasRZp)
          y = subV(nb, l, y,
                   convertScalar(nb, l, a[next++], acc, rhsUnsigned, false));
        linalg::YieldOp::create(nb, l,
                                addV(nb, l, a.back(), mulV(nb, l, x, y)));
      });
  Value r = g.getResult(0);
  if (lhsVec || rhsVec) {
    SmallVector<OpFoldResult> s(sizes);
    if (!lhsVec)
      s.push_back(m);
    if (!rhsVec)
      s.push_back(n);
    r = reshapeTo(b, loc, r, result, s);
  }
  return r;
}

LogicalResult LinalgMatMulLowering::lowerMatMul(MatMulOp mm) {
  return done(ValueRange{buildGenericMatMul(
      operands[0], operands[1], resultType(),
      isUnsignedElement(elementTypeOf(mm.getLhs())),
      isUnsignedElement(elementTypeOf(mm.getRhs())), {}, {})});
}

LogicalResult LinalgMatMulLowering::lowerMatMulInteger(MatMulIntegerOp mm) {
  auto zp = [&](Value orig, unsigned idx) -> Value {
    return orig ? operands[idx] : Value();
  };
  unsigned next = 2;
  Value lzp = mm.getLhsZeroPoint() ? zp(mm.getLhsZeroPoint(), next++) : Value();
  Value rzp = mm.getRhsZeroPoint() ? zp(mm.getRhsZeroPoint(), next++) : Value();
  return done(ValueRange{buildGenericMatMul(
      operands[0], operands[1], resultType(),
      isUnsignedElement(elementTypeOf(mm.getLhs())),
      isUnsignedElement(elementTypeOf(mm.getRhs())), lzp, rzp)});
}

/// Without the kernel library: the weight dequantized at compile time (the
/// same float values the kernel forms in registers) and a linalg
/// contraction, plus the bias.
LogicalResult LinalgMatMulLowering::lowerWeightOnly(WeightOnlyMatMulOp w) {
  FailureOr<WeightOnlyConstants> c = getWeightOnlyConstants(*this, w);
  if (failed(c))
    return failure();
  ArrayRef<int8_t> weight = c->bytes;
  ArrayRef<float> scales = c->scaleValues;
  ElementsAttr zeroPoints = c->zeroPoints, bias = c->bias;
  auto result = resultType();
  auto wType = cast<ShapedType>(w.getWeight().getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  int64_t g = w.getGroupSize();
  std::optional<SmallVector<int64_t>> z;
  if (zeroPoints && !(z = getIntValues(zeroPoints)))
    return fail("zero point data is not available");
  bool perTensor = scales.size() == 1;
  std::vector<float> deq(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int64_t p = perTensor ? 0 : (g ? (k / g) * N + n : n);
      float zp = z ? (float)(*z)[z->size() == 1 ? 0 : p] : 0.0f;
      deq[k * N + n] = ((float)weight[k * N + n] - zp) * scales[p];
    }
  auto dt = RankedTensorType::get({K, N}, b.getF32Type());
  Value wConst = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(dt, ArrayRef<float>(deq)));
  Value r =
      buildGenericMatMul(operands[0], wConst, result, false, false, {}, {});
  if (bias) {
    auto bv = getF32Values(bias);
    if (!bv)
      return fail("bias data is not available");
    auto bt = RankedTensorType::get({N}, b.getF32Type());
    Value bc = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(bt, ArrayRef<float>(*bv)));
    int64_t rank = result.getRank();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    AffineMap last =
        AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1), b.getContext());
    r = generic(b, loc, mixedSizes(b, loc, r), b.getF32Type(), {r, bc},
                {id, last}, [](OpBuilder &nb, Location nl, ValueRange a) {
                  return addV(nb, nl, a[0], a[1]);
                });
  }
  return done(ValueRange{r});
}

/// qnn.quantized_matmul of two activations (attention): an i32
/// contraction, then the epilogue of the op's semantics elementwise.
LogicalResult LinalgMatMulLowering::lowerQuantizedMatMul(QuantizedMatMulOp q) {
  auto result = resultType();
  QuantizedMatMulOperands o = getQuantizedMatMulOperands(q, operands);
  Value lScale = o.lhsScale, lZp = o.lhsZeroPoint, rScale = o.rhsScale;
  Value rZp = o.rhsZeroPoint, bias = o.bias, oScale = o.outScale,
        oZp = o.outZeroPoint;
  auto isScalar = [](Value v) {
    return !v || cast<RankedTensorType>(v.getType()).getNumElements() == 1;
  };
  // A per-column right zero point ([N]) is read along N by the
  // contraction; a per-row left one would need its [M] layout checked.
  auto isColumnVector = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getRank() == 1;
  };
  if (!isScalar(lZp) || (!isScalar(rZp) && !isColumnVector(rZp)))
    return fail("per-row zero points of the left operand need a constant "
                "right operand");
  // A one-element parameter as a 0-d tensor: a collapse (a view), not an
  // element extracted and stored again, which on the GPU target would be
  // host code touching device data.
  auto scalarOf = [&](Value v) -> Value {
    if (!v || !isScalar(v))
      return v;
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() == 0)
      return v;
    return tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({}, t.getElementType()), v,
        ArrayRef<ReassociationIndices>{});
  };
  bool lU = isUnsignedElement(elementTypeOf(q.getLhs()));
  bool rU = isUnsignedElement(elementTypeOf(q.getRhs()));
  Type i32 = b.getI32Type();
  Value acc = buildGenericMatMul(operands[0], operands[1], result.clone(i32),
                                 lU, rU, scalarOf(lZp), scalarOf(rZp));
  SmallVector<Value> inputs{acc, lScale, rScale};
  if (bias)
    inputs.push_back(bias);
  if (oScale) {
    inputs.push_back(oScale);
    inputs.push_back(oZp);
  }
  bool hasBias = (bool)bias, hasOut = (bool)oScale;
  bool outU =
      hasOut && isUnsignedElement(elementTypeOf(q.getOutputZeroPoint()));
  int64_t qmin = 0, qmax = 0;
  if (hasOut)
    std::tie(qmin, qmax) =
        storageRange(cast<IntegerType>(elementTypeOf(q.getOutputZeroPoint())));
  StringRef act = q.getActivation();
  Type elt = result.getElementType();
  return done(elementwise(
      b, loc, result, inputs,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Type f32 = nb.getF32Type();
        unsigned i = 3;
        Value v = a[0];
        if (hasBias)
          v = arith::AddIOp::create(nb, l, v, a[i++]);
        Value r = arith::MulFOp::create(
            nb, l, arith::SIToFPOp::create(nb, l, f32, v), a[1]);
        r = arith::MulFOp::create(nb, l, r, a[2]);
        if (act == "relu")
          r = arith::MaximumFOp::create(nb, l, r,
                                        scalarConstant(nb, l, f32, 0));
        else if (act == "gelu")
          r = geluV(nb, l, r, false);
        else if (act == "silu")
          r = arith::MulFOp::create(nb, l, r, sigmoidV(nb, l, r));
        if (!hasOut)
          return r;
        Value zpf = convertScalar(nb, l, a[i + 1], f32, outU, false);
        return quantizeScalar(nb, l, r, a[i], zpf, qmin, qmax, elt);
      }));
}

void quantopt::populateQNNMatMulToLinalgPatterns(const TypeConverter &converter,
                                                 RewritePatternSet &patterns) {
  patterns.add<
      LinalgPattern<MatMulOp, &LinalgMatMulLowering::lowerMatMul>,
      LinalgPattern<MatMulIntegerOp, &LinalgMatMulLowering::lowerMatMulInteger>,
      LinalgPattern<WeightOnlyMatMulOp, &LinalgMatMulLowering::lowerWeightOnly>,
      LinalgPattern<QuantizedMatMulOp,
                    &LinalgMatMulLowering::lowerQuantizedMatMul>>(
      converter, patterns.getContext());
}
