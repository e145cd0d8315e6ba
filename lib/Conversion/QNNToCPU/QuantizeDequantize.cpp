//===- QuantizeDequantize.cpp - qnn quantization ops to linalg.generic ----===//
//
// Part of the QuantOpt project.
//
// Quantize (integer and float8 E4M3FN), dequantize, dynamic quantization
// and requantize: linalg.generics with the scale and zero point read per
// tensor, per axis or per block.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

#include <cmath>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct QDQLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lowerQuantize(QuantizeOp q);
  LogicalResult lowerQuantizeE4M3(QuantizeOp q);
  LogicalResult lowerDequantize(DequantizeOp d);
  LogicalResult lowerDynamicQuantize(DynamicQuantizeOp d);
  LogicalResult lowerRequantize(RequantizeOp r);

  /// Scale and zero point of a Q/DQ op as tensors (explicit operands, or
  /// constants built from a !quant type), with the layout they have.
  struct QParams {
    Value scale, zeroPoint; // lowered tensors; zeroPoint may be null
    QuantLayout layout;
  };
  FailureOr<QParams> quantParams(Value scaleOperand, Value zpOperand,
                                 Type quantElement, int64_t axis,
                                 int64_t blockSize, int64_t rank);
  AffineMap paramMap(const QuantLayout &layout, RankedTensorType paramType,
                     int64_t rank);
  /// The inputs and indexing maps of a Q/DQ generic: x, scale, zero point.
  void qdqOperands(Value x, const QParams &p, int64_t rank,
                   SmallVectorImpl<Value> &inputs,
                   SmallVectorImpl<AffineMap> &maps);
  /// The inputs of a Q/DQ generic over the result's rank (x, scale and,
  /// when there is one, the zero point) with their indexing maps.
  struct QDQInputs {
    SmallVector<Value> values;
    SmallVector<AffineMap> maps;
    bool hasZp;
  };
  /// QDQInputs of a qnn.quantize / qnn.dequantize `op` (lowered operands:
  /// x, then its optional scale and zero point) whose parameters have the
  /// type `quantElement`, or failure for an unsupported quantized type.
  template <typename OpT>
  FailureOr<QDQInputs> qdqInputs(OpT op, Type quantElement) {
    int64_t rank = resultType().getRank();
    unsigned next = 1;
    Value scale = op.getScale() ? operands[next++] : Value();
    Value zp = op.getZeroPoint() ? operands[next++] : Value();
    FailureOr<QParams> p = quantParams(scale, zp, quantElement, op.getAxis(),
                                       op.getBlockSize(), rank);
    if (failed(p))
      return failure();
    QDQInputs in;
    qdqOperands(operands[0], *p, rank, in.values, in.maps);
    in.hasZp = (bool)p->zeroPoint;
    return in;
  }
};

template <typename OpT, auto Method>
using QDQPattern = LowerOpPattern<OpT, QDQLowering, Method>;

/// The storage type of a quantized element type, or the type itself.
Type storageTypeOf(Type elt) {
  if (auto qt = dyn_cast<quant::QuantizedType>(elt))
    return qt.getStorageType();
  return elt;
}

} // namespace

FailureOr<QDQLowering::QParams>
QDQLowering::quantParams(Value scaleOperand, Value zpOperand, Type quantElement,
                         int64_t axis, int64_t blockSize, int64_t rank) {
  QParams p;
  if (scaleOperand) {
    p.scale = scaleOperand;
    p.zeroPoint = zpOperand;
    p.layout = QuantLayout::get(cast<ShapedType>(scaleOperand.getType()), axis,
                                blockSize, rank);
    return p;
  }
  SmallVector<double> scales;
  SmallVector<int64_t> zps;
  if (auto u = dyn_cast<quant::UniformQuantizedType>(quantElement)) {
    scales.push_back(u.getScale());
    zps.push_back(u.getZeroPoint());
    p.layout.perTensor = true;
  } else if (auto a =
                 dyn_cast<quant::UniformQuantizedPerAxisType>(quantElement)) {
    scales.assign(a.getScales().begin(), a.getScales().end());
    zps.assign(a.getZeroPoints().begin(), a.getZeroPoints().end());
    p.layout.perTensor = false;
    p.layout.axis = a.getQuantizedDimension();
  } else {
    return failure();
  }
  SmallVector<float> fs(scales.begin(), scales.end());
  auto st = RankedTensorType::get(p.layout.perTensor
                                      ? ArrayRef<int64_t>{}
                                      : ArrayRef<int64_t>{(int64_t)fs.size()},
                                  b.getF32Type());
  p.scale = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(st, ArrayRef<float>(fs)));
  auto storage = lowerElementType(quantElement);
  SmallVector<APInt> zi;
  for (int64_t z : zps)
    zi.push_back(APInt(storage.getIntOrFloatBitWidth(), z, true));
  p.zeroPoint = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(st.clone(storage), zi));
  return p;
}

AffineMap QDQLowering::paramMap(const QuantLayout &layout,
                                RankedTensorType paramType, int64_t rank) {
  SmallVector<AffineExpr> exprs;
  if (layout.perTensor) {
    exprs.assign(paramType.getRank(), b.getAffineConstantExpr(0));
  } else if (layout.blockSize == 0) {
    exprs.push_back(b.getAffineDimExpr(layout.axis));
  } else {
    for (int64_t i = 0; i < rank; ++i)
      exprs.push_back(i == layout.axis
                          ? b.getAffineDimExpr(i).floorDiv(layout.blockSize)
                          : b.getAffineDimExpr(i));
  }
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

void QDQLowering::qdqOperands(Value x, const QParams &p, int64_t rank,
                              SmallVectorImpl<Value> &inputs,
                              SmallVectorImpl<AffineMap> &maps) {
  inputs.assign({x, p.scale});
  maps.assign(
      {b.getMultiDimIdentityMap(rank),
       paramMap(p.layout, cast<RankedTensorType>(p.scale.getType()), rank)});
  if (p.zeroPoint) {
    inputs.push_back(p.zeroPoint);
    // Its own type: a per-tensor scale [1] may come with a rank-0 zp.
    maps.push_back(paramMap(
        p.layout, cast<RankedTensorType>(p.zeroPoint.getType()), rank));
  }
}

LogicalResult QDQLowering::lowerQuantize(QuantizeOp q) {
  auto type = resultType();
  Type origElt = elementTypeOf(q.getOutput());
  if (isa<quant::CalibratedQuantizedType>(origElt))
    return fail("activation range is not calibrated: give calibration data "
                "(quant-compile --calib-data) or use activation-mode=dynamic");
  Type storageOrig = storageTypeOf(origElt);
  if (isa<Float8E4M3FNType>(storageOrig))
    return lowerQuantizeE4M3(q);
  if (isa<FloatType>(storageOrig))
    return fail("float8 E5M2 quantization is not supported by the CPU "
                "backend (E4M3FN is)");
  FailureOr<QDQInputs> in = qdqInputs(q, origElt);
  if (failed(in))
    return fail("unsupported quantized type");
  auto storage = cast<IntegerType>(storageOrig);
  bool isUnsigned = isUnsignedElement(origElt);
  int64_t qmin, qmax;
  if (auto qt = dyn_cast<quant::QuantizedType>(origElt)) {
    qmin = qt.getStorageTypeMin();
    qmax = qt.getStorageTypeMax();
  } else {
    std::tie(qmin, qmax) = storageRange(storage);
  }
  if (!q.getSaturate())
    return fail("saturate=false is only defined for float8");
  bool hasZp = in->hasZp;
  Type elt = type.getElementType();
  return done(ValueRange{
      generic(b, loc, mixedSizes(b, loc, operands[0]), elt, in->values,
              in->maps, [&](OpBuilder &nb, Location l, ValueRange a) {
                Value zpf = hasZp ? convertScalar(nb, l, a[2], nb.getF32Type(),
                                                  isUnsigned, false)
                                  : scalarConstant(nb, l, nb.getF32Type(), 0);
                return quantizeScalar(nb, l, a[0], a[1], zpf, qmin, qmax, elt);
              })});
}

LogicalResult QDQLowering::lowerQuantizeE4M3(QuantizeOp q) {
  FailureOr<QDQInputs> in = qdqInputs(q, elementTypeOf(q.getOutput()));
  if (failed(in))
    return fail("unsupported quantized type");
  bool hasZp = in->hasZp;
  bool saturate = q.getSaturate();
  // ONNX QuantizeLinear to float8: convert(x / scale + zero point), the
  // conversion rounding to nearest even and saturating (or, with
  // saturate=false, overflowing to NaN).
  return done(ValueRange{generic(
      b, loc, mixedSizes(b, loc, operands[0]), b.getI8Type(), in->values,
      in->maps, [&](OpBuilder &nb, Location l, ValueRange a) {
        Type f32 = nb.getF32Type();
        Value x = convertScalar(nb, l, a[0], f32, false, false);
        Value s = convertScalar(nb, l, a[1], f32, false, false);
        Value v = arith::DivFOp::create(nb, l, x, s);
        if (hasZp)
          v = arith::AddFOp::create(nb, l, v, decodeE4M3(nb, l, a[2]));
        return encodeE4M3(nb, l, v, saturate);
      })});
}

LogicalResult QDQLowering::lowerDequantize(DequantizeOp d) {
  auto type = resultType();
  Type origElt = elementTypeOf(d.getInput());
  Type storageOrig = storageTypeOf(origElt);
  bool e4m3 = isa<Float8E4M3FNType>(storageOrig);
  if (isa<FloatType>(storageOrig) && !e4m3)
    return fail("float8 E5M2 dequantization is not supported by the CPU "
                "backend (E4M3FN is)");
  FailureOr<QDQInputs> in = qdqInputs(d, origElt);
  if (failed(in))
    return fail("unsupported quantized type");
  bool isUnsigned = isUnsignedElement(origElt);
  bool hasZp = in->hasZp;
  Type elt = type.getElementType();
  return done(ValueRange{generic(
      b, loc, mixedSizes(b, loc, operands[0]), elt, in->values, in->maps,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Type i32 = nb.getI32Type();
        Value f;
        if (e4m3) {
          // (x - zero point) * scale in f32, as ONNX for float8.
          f = decodeE4M3(nb, l, a[0]);
          if (hasZp)
            f = arith::SubFOp::create(nb, l, f, decodeE4M3(nb, l, a[2]));
        } else {
          Value x = convertScalar(nb, l, a[0], i32, isUnsigned, false);
          if (hasZp)
            x = arith::SubIOp::create(
                nb, l, x, convertScalar(nb, l, a[2], i32, isUnsigned, false));
          f = arith::SIToFPOp::create(nb, l, nb.getF32Type(), x);
        }
        Value s = convertScalar(nb, l, a[1], nb.getF32Type(), false, false);
        return convertScalar(nb, l, arith::MulFOp::create(nb, l, f, s), elt,
                             false, false);
      })});
}

LogicalResult QDQLowering::lowerDynamicQuantize(DynamicQuantizeOp d) {
  Value x = operands[0];
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t rank = xt.getRank();
  Type f32 = b.getF32Type(), i8 = b.getI8Type();
  SmallVector<int64_t> dims;
  if (d.getPerToken())
    dims.push_back(rank - 1);
  else
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(i);
  // The scale and zero point keep the input's rank (per token) or are
  // scalars.
  SmallVector<OpFoldResult> keep = mixedSizes(b, loc, x);
  for (int64_t dim : dims)
    keep[dim] = b.getIndexAttr(1);
  if (!d.getPerToken())
    keep.clear();
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = droppedMap(b, rank, dims);
  if (d.getE4m3()) {
    // Symmetric e4m3: scale = max|x| / 448, 1 where that is 0 (an all-zero
    // or all-tiny range), zero point 0, q = e4m3(x / scale) saturating. NaN
    // propagates through maximumf into the scale, as in the GPU kernel.
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value amax = reduce(b, loc, x, dims, zero,
                        [](OpBuilder &nb, Location l, Value acc, Value v) {
                          return (Value)arith::MaximumFOp::create(
                              nb, l, acc, math::AbsFOp::create(nb, l, v));
                        });
    SmallVector<OpFoldResult> rs = mixedSizes(b, loc, amax);
    AffineMap rid = b.getMultiDimIdentityMap(rs.size());
    Value scale = generic(
        b, loc, rs, f32, ValueRange{amax}, {rid},
        [](OpBuilder &nb, Location l, ValueRange a) {
          Type f = nb.getF32Type();
          Value s =
              arith::DivFOp::create(nb, l, a[0], scalarConstant(nb, l, f, 448));
          Value isZero = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                               s, scalarConstant(nb, l, f, 0));
          return (Value)arith::SelectOp::create(nb, l, isZero,
                                                scalarConstant(nb, l, f, 1), s);
        });
    Value zp = generic(b, loc, rs, i8, ValueRange{amax}, {rid},
                       [](OpBuilder &nb, Location l, ValueRange) {
                         return scalarConstant(nb, l, nb.getI8Type(), 0);
                       });
    // NaN as the canonical 0x7F whatever its sign, as the GPU's
    // cvt.rn.satfinite (x86 makes inf / inf a negative NaN).
    Value q =
        generic(b, loc, mixedSizes(b, loc, x), i8, ValueRange{x, scale},
                {id, red}, [](OpBuilder &nb, Location l, ValueRange a) {
                  Value v = arith::DivFOp::create(nb, l, a[0], a[1]);
                  Value isNaN = arith::CmpFOp::create(
                      nb, l, arith::CmpFPredicate::UNO, v, v);
                  return (Value)arith::SelectOp::create(
                      nb, l, isNaN, scalarConstant(nb, l, nb.getI8Type(), 0x7F),
                      encodeE4M3(nb, l, v, /*saturate=*/true));
                });
    return done(ValueRange{q, reshapeTo(b, loc, scale, resultType(1), keep),
                           reshapeTo(b, loc, zp, resultType(2), keep)});
  }
  Value inf = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(INFINITY));
  Value ninf = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-INFINITY));
  Value mn = reduce(b, loc, x, dims, inf,
                    [](OpBuilder &nb, Location l, Value acc, Value v) {
                      return (Value)arith::MinimumFOp::create(nb, l, acc, v);
                    });
  Value mx = reduce(b, loc, x, dims, ninf,
                    [](OpBuilder &nb, Location l, Value acc, Value v) {
                      return (Value)arith::MaximumFOp::create(nb, l, acc, v);
                    });
  SmallVector<OpFoldResult> rs = mixedSizes(b, loc, mn);
  AffineMap rid = b.getMultiDimIdentityMap(rs.size());
  // scale = (max(0, max) - min(0, min)) / 255;
  // zp = round_half_even(saturate(0 - min(0, min) / scale)).
  Value scale = generic(b, loc, rs, f32, ValueRange{mn, mx}, {rid, rid},
                        [](OpBuilder &nb, Location l, ValueRange a) {
                          Value z = scalarConstant(nb, l, nb.getF32Type(), 0);
                          Value hi = arith::MaximumFOp::create(nb, l, a[1], z);
                          Value lo = arith::MinimumFOp::create(nb, l, a[0], z);
                          return (Value)arith::DivFOp::create(
                              nb, l, arith::SubFOp::create(nb, l, hi, lo),
                              scalarConstant(nb, l, nb.getF32Type(), 255));
                        });
  Value zp = generic(
      b, loc, rs, i8, ValueRange{mn, scale}, {rid, rid},
      [](OpBuilder &nb, Location l, ValueRange a) {
        Type f = nb.getF32Type();
        Value z = scalarConstant(nb, l, f, 0);
        Value lo = arith::MinimumFOp::create(nb, l, a[0], z);
        Value v = arith::SubFOp::create(nb, l, z,
                                        arith::DivFOp::create(nb, l, lo, a[1]));
        v = arith::MaximumFOp::create(nb, l, v, z);
        v = arith::MinimumFOp::create(nb, l, v, scalarConstant(nb, l, f, 255));
        v = math::RoundEvenOp::create(nb, l, v);
        Value i = arith::FPToSIOp::create(nb, l, nb.getI32Type(), v);
        return (Value)arith::TruncIOp::create(nb, l, nb.getI8Type(), i);
      });
  Value q = generic(
      b, loc, mixedSizes(b, loc, x), i8, ValueRange{x, scale, zp},
      {id, red, red}, [](OpBuilder &nb, Location l, ValueRange a) {
        Value zpf = convertScalar(nb, l, a[2], nb.getF32Type(), true, false);
        return quantizeScalar(nb, l, a[0], a[1], zpf, 0, 255, nb.getI8Type());
      });
  return done(ValueRange{q, reshapeTo(b, loc, scale, resultType(1), keep),
                         reshapeTo(b, loc, zp, resultType(2), keep)});
}

LogicalResult QDQLowering::lowerRequantize(RequantizeOp r) {
  auto type = resultType();
  Type inOrig = elementTypeOf(r.getInput()),
       outOrig = elementTypeOf(r.getOutput());
  bool inU = isUnsignedElement(inOrig), outU = isUnsignedElement(outOrig);
  auto [qmin, qmax] = storageRange(cast<IntegerType>(outOrig));
  int64_t rank = type.getRank();
  SmallVector<Value> inputs(operands.begin(), operands.end());
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
  for (size_t i = 1; i < inputs.size(); ++i)
    maps.push_back(broadcastMap(b, cast<RankedTensorType>(inputs[i].getType()),
                                type.getShape()));
  Type elt = type.getElementType();
  int64_t lo = qmin, hi = qmax;
  return done(ValueRange{
      generic(b, loc, mixedSizes(b, loc, operands[0]), elt, inputs, maps,
              [&](OpBuilder &nb, Location l, ValueRange a) {
                Type i32 = nb.getI32Type(), f32 = nb.getF32Type();
                Value x = arith::SubIOp::create(
                    nb, l, convertScalar(nb, l, a[0], i32, inU, false),
                    convertScalar(nb, l, a[2], i32, inU, false));
                Value f = arith::MulFOp::create(
                    nb, l, arith::SIToFPOp::create(nb, l, f32, x), a[1]);
                Value zpf = convertScalar(nb, l, a[4], f32, outU, false);
                return quantizeScalar(nb, l, f, a[3], zpf, lo, hi, elt);
              })});
}

void quantopt::populateQNNToCPUQuantizePatterns(const TypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns
      .add<QDQPattern<QuantizeOp, &QDQLowering::lowerQuantize>,
           QDQPattern<DequantizeOp, &QDQLowering::lowerDequantize>,
           QDQPattern<DynamicQuantizeOp, &QDQLowering::lowerDynamicQuantize>,
           QDQPattern<RequantizeOp, &QDQLowering::lowerRequantize>>(
          converter, patterns.getContext());
}
