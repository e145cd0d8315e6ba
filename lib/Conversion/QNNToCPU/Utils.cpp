//===- Utils.cpp - Shared helpers of the qnn to CPU patterns --------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"
#include "quantopt/Runtime/Kernels.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

namespace quantopt::cpu {

using namespace quantopt::qnn;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

/// The element type a value has after lowering: quantized types become their
/// storage, integers become signless and at least 8 bits wide.
Type lowerElementType(Type type) {
  // A calibration placeholder has no storage type; the ops that use it
  // report it.
  if (isa<quant::CalibratedQuantizedType>(type))
    return type;
  if (auto q = dyn_cast<quant::QuantizedType>(type))
    type = q.getStorageType();
  // float8 E4M3FN values are carried as their bytes (LLVM has no f8 type);
  // quantize, dequantize and the fp8 matmuls encode and decode them.
  if (isa<Float8E4M3FNType>(type))
    return IntegerType::get(type.getContext(), 8);
  if (auto it = dyn_cast<IntegerType>(type)) {
    if (it.getWidth() == 1)
      return it.isSignless() ? it : IntegerType::get(type.getContext(), 1);
    return IntegerType::get(type.getContext(),
                            std::max<unsigned>(8, it.getWidth()));
  }
  return type;
}

/// Whether the (pre-lowering) element type holds unsigned integers.
bool isUnsignedElement(Type type) {
  if (auto q = dyn_cast<quant::QuantizedType>(type))
    return !q.isSigned();
  if (auto it = dyn_cast<IntegerType>(type))
    return it.isUnsigned();
  return false;
}

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

/// The constant elements behind `v`, looking through qnn.constant and
/// arith.constant.
ElementsAttr getConstantElements(Value v) {
  if (!v)
    return {};
  if (auto c = v.getDefiningOp<ConstantOp>())
    return c.getValue();
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    return dyn_cast<ElementsAttr>(c.getValue());
  return {};
}

SmallVector<OpFoldResult> mixedSizes(OpBuilder &b, Location loc, Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

Value indexValue(OpBuilder &b, Location loc, OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

/// Reshapes `src` to `type` whose sizes are `sizes` (tensor.reshape, or
/// collapse/expand for rank 0).
Value reshapeTo(OpBuilder &b, Location loc, Value src, RankedTensorType type,
                ArrayRef<OpFoldResult> sizes) {
  auto srcType = cast<RankedTensorType>(src.getType());
  if (srcType == type)
    return src;
  // One element: extract it and rebuild (rank 0 on either side).
  if ((type.getRank() == 0 || srcType.getRank() == 0) &&
      type.hasStaticShape() && srcType.hasStaticShape()) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    SmallVector<Value> idx(srcType.getRank(), zero);
    Value e = tensor::ExtractOp::create(b, loc, src, idx);
    return tensor::FromElementsOp::create(b, loc, type, ValueRange{e});
  }
  Value shape =
      tensor::FromElementsOp::create(b, loc, indexValues(b, loc, sizes));
  return tensor::ReshapeOp::create(b, loc, type, src, shape);
}

/// Static sizes of `sizes` where known, dynamic elsewhere.
RankedTensorType tensorTypeOf(ArrayRef<OpFoldResult> sizes, Type elementType) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c ? *c : ShapedType::kDynamic);
  }
  return RankedTensorType::get(shape, elementType);
}

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic with all-parallel iterators over `sizes`, reading
/// `inputs` through `maps` and writing one result of `elementType`.
Value generic(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type elementType, ValueRange inputs, ArrayRef<AffineMap> maps,
              BodyFn body) {
  Value init = emptyTensor(b, loc, sizes, elementType);
  SmallVector<AffineMap> allMaps(maps);
  allMaps.push_back(b.getMultiDimIdentityMap(sizes.size()));
  SmallVector<utils::IteratorType> iters(sizes.size(),
                                         utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, allMaps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return op.getResult(0);
}

/// The ONNX (numpy) broadcast map from a result of rank `rank` with
/// `resultShape` to an operand of `type`.
AffineMap broadcastMap(OpBuilder &b, RankedTensorType type,
                       ArrayRef<int64_t> resultShape) {
  int64_t rank = resultShape.size();
  int64_t offset = rank - type.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    int64_t r = i + offset;
    if (type.getDimSize(i) == 1 && resultShape[r] != 1)
      exprs.push_back(b.getAffineConstantExpr(0));
    else
      exprs.push_back(b.getAffineDimExpr(r));
  }
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

/// Sizes of a broadcast result of `resultType`: static where the type says,
/// otherwise the size of an operand that is not broadcast along that dim.
FailureOr<SmallVector<OpFoldResult>> broadcastSizes(OpBuilder &b, Location loc,
                                                    RankedTensorType resultType,
                                                    ValueRange inputs) {
  SmallVector<OpFoldResult> sizes;
  int64_t rank = resultType.getRank();
  for (int64_t r = 0; r < rank; ++r) {
    if (!resultType.isDynamicDim(r)) {
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(r)));
      continue;
    }
    OpFoldResult found;
    for (Value in : inputs) {
      auto t = cast<RankedTensorType>(in.getType());
      int64_t i = r - (rank - t.getRank());
      if (i < 0 || t.getDimSize(i) == 1)
        continue;
      found = tensor::getMixedSize(b, loc, in, i);
      break;
    }
    if (!found)
      return failure();
    sizes.push_back(found);
  }
  return sizes;
}

/// Elementwise `body` over `inputs` broadcast to `resultType`.
FailureOr<Value> elementwise(OpBuilder &b, Location loc,
                             RankedTensorType resultType, ValueRange inputs,
                             BodyFn body) {
  FailureOr<SmallVector<OpFoldResult>> sizes =
      broadcastSizes(b, loc, resultType, inputs);
  if (failed(sizes))
    return failure();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(b, cast<RankedTensorType>(in.getType()),
                                resultType.getShape()));
  return generic(b, loc, *sizes, resultType.getElementType(), inputs, maps,
                 body);
}

/// Reduces `input` over `dims` (sorted) with `combine`, starting from `init`;
/// the result drops the reduced dims.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> dims,
             Value init,
             function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> all = mixedSizes(b, loc, input);
  SmallVector<OpFoldResult> kept;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (llvm::is_contained(dims, i)) {
      iters.push_back(utils::IteratorType::reduction);
      continue;
    }
    iters.push_back(utils::IteratorType::parallel);
    kept.push_back(all[i]);
    outExprs.push_back(b.getAffineDimExpr(i));
  }
  Value empty = emptyTensor(b, loc, kept, init.getType());
  Value filled =
      linalg::FillOp::create(b, loc, ValueRange{init}, ValueRange{empty})
          .getResult(0);
  AffineMap inMap = b.getMultiDimIdentityMap(type.getRank());
  AffineMap outMap =
      AffineMap::get(type.getRank(), 0, outExprs, b.getContext());
  auto op = linalg::GenericOp::create(
      b, loc, filled.getType(), ValueRange{input}, ValueRange{filled},
      ArrayRef<AffineMap>{inMap, outMap}, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args[1], args[0]));
      });
  return op.getResult(0);
}

/// The map from the full iteration space of rank `rank` to a tensor that
/// dropped `dims`.
AffineMap droppedMap(OpBuilder &b, int64_t rank, ArrayRef<int64_t> dims) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(dims, i))
      exprs.push_back(b.getAffineDimExpr(i));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

/// Number of elements over `dims` as an f32 value.
Value countAsFloat(OpBuilder &b, Location loc, Value input,
                   ArrayRef<int64_t> dims, Type floatType) {
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d : dims)
    n = arith::MulIOp::create(
        b, loc, n, indexValue(b, loc, tensor::getMixedSize(b, loc, input, d)));
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  return arith::SIToFPOp::create(b, loc, floatType, i64);
}

FailureOr<SmallVector<int64_t>> reductionDims(ArrayRef<int64_t> axes,
                                              int64_t rank) {
  SmallVector<int64_t> dims;
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(i);
  for (int64_t a : axes) {
    std::optional<int64_t> d = normalizeAxis(a, rank);
    if (!d)
      return failure();
    dims.push_back(*d);
  }
  llvm::sort(dims);
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  return dims;
}

SmallVector<OpFoldResult> reducedSizes(OpBuilder &b, Location loc, Value input,
                                       ArrayRef<int64_t> dims, bool keepdims) {
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, input), out;
  for (int64_t i = 0, e = in.size(); i < e; ++i) {
    if (!llvm::is_contained(dims, i))
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(b.getIndexAttr(1));
  }
  return out;
}

Value extremeValue(OpBuilder &b, Location l, Type t, bool lowest,
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

SmallVector<Value> indexValues(OpBuilder &b, Location loc,
                               ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> values;
  for (OpFoldResult s : sizes)
    values.push_back(indexValue(b, loc, s));
  return values;
}

Value zeroConstant(OpBuilder &b, Location l, Type t) {
  return arith::ConstantOp::create(b, l, cast<TypedAttr>(b.getZeroAttr(t)));
}

//===----------------------------------------------------------------------===//
// Scalar arithmetic used in bodies
//===----------------------------------------------------------------------===//

Value addV(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::AddFOp::create(b, l, x, y)
                                     : (Value)arith::AddIOp::create(b, l, x, y);
}
Value subV(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::SubFOp::create(b, l, x, y)
                                     : (Value)arith::SubIOp::create(b, l, x, y);
}
Value mulV(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::MulFOp::create(b, l, x, y)
                                     : (Value)arith::MulIOp::create(b, l, x, y);
}
Value maxV(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, l, x, y);
  if (isUnsigned)
    return arith::MaxUIOp::create(b, l, x, y);
  return arith::MaxSIOp::create(b, l, x, y);
}
Value minV(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, l, x, y);
  if (isUnsigned)
    return arith::MinUIOp::create(b, l, x, y);
  return arith::MinSIOp::create(b, l, x, y);
}

Value sigmoidV(OpBuilder &b, Location l, Value x) {
  Value one = scalarConstant(b, l, x.getType(), 1.0);
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
}

Value geluV(OpBuilder &b, Location l, Value x, bool tanhForm) {
  Type t = x.getType();
  Value half = scalarConstant(b, l, t, 0.5);
  Value one = scalarConstant(b, l, t, 1.0);
  Value inner;
  if (tanhForm) {
    Value c = scalarConstant(b, l, t, std::sqrt(2.0 / M_PI));
    Value k = scalarConstant(b, l, t, 0.044715);
    Value x3 =
        arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
    Value poly =
        arith::AddFOp::create(b, l, x, arith::MulFOp::create(b, l, k, x3));
    inner = math::TanhOp::create(b, l, arith::MulFOp::create(b, l, c, poly));
  } else {
    Value rsqrt2 = scalarConstant(b, l, t, M_SQRT1_2);
    inner = math::ErfOp::create(b, l, arith::MulFOp::create(b, l, x, rsqrt2));
  }
  return arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, half, x),
                               arith::AddFOp::create(b, l, one, inner));
}

/// Converts a scalar between lowered element types; `srcUnsigned` tells how
/// integers extend, `dstUnsigned` how floats convert to integers.
Value convertScalar(OpBuilder &b, Location l, Value v, Type dst,
                    bool srcUnsigned, bool dstUnsigned) {
  Type src = v.getType();
  if (src == dst)
    return v;
  if (dst.isInteger(1)) {
    Value zero = scalarConstant(b, l, src, 0);
    if (isa<FloatType>(src))
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, v, zero);
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, v, zero);
  }
  if (src.isInteger(1))
    srcUnsigned = true;
  auto sf = dyn_cast<FloatType>(src);
  auto df = dyn_cast<FloatType>(dst);
  if (sf && df)
    return sf.getWidth() < df.getWidth()
               ? (Value)arith::ExtFOp::create(b, l, dst, v)
               : (Value)arith::TruncFOp::create(b, l, dst, v);
  if (sf)
    return dstUnsigned ? (Value)arith::FPToUIOp::create(b, l, dst, v)
                       : (Value)arith::FPToSIOp::create(b, l, dst, v);
  if (df)
    return srcUnsigned ? (Value)arith::UIToFPOp::create(b, l, dst, v)
                       : (Value)arith::SIToFPOp::create(b, l, dst, v);
  unsigned sw = src.getIntOrFloatBitWidth(), dw = dst.getIntOrFloatBitWidth();
  if (sw > dw)
    return arith::TruncIOp::create(b, l, dst, v);
  return srcUnsigned ? (Value)arith::ExtUIOp::create(b, l, dst, v)
                     : (Value)arith::ExtSIOp::create(b, l, dst, v);
}

/// ONNX QuantizeLinear on a scalar: saturate(round_half_even(x / s) + zp),
/// computed in f32 (exact for every integer storage range).
Value quantizeScalar(OpBuilder &b, Location l, Value x, Value scale,
                     Value zpFloat, int64_t qmin, int64_t qmax, Type storage) {
  Type f32 = b.getF32Type();
  x = convertScalar(b, l, x, f32, false, false);
  Value r =
      math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, x, scale));
  r = arith::AddFOp::create(b, l, r, zpFloat);
  r = arith::MaximumFOp::create(b, l, r, scalarConstant(b, l, f32, qmin));
  r = arith::MinimumFOp::create(b, l, r, scalarConstant(b, l, f32, qmax));
  // Widen through i32 so that an unsigned storage value converts exactly.
  Value i = arith::FPToSIOp::create(b, l, b.getI32Type(), r);
  return convertScalar(b, l, i, storage, false, false);
}

/// The f32 value of a float8 E4M3FN byte (i8): sign, 4 exponent bits
/// (bias 7), 3 mantissa bits, subnormals, S.1111.111 NaN, no infinities.
Value decodeE4M3(OpBuilder &b, Location l, Value byte) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return scalarConstant(b, l, i32, v); };
  Value u = arith::ExtUIOp::create(b, l, i32, byte);
  Value sign = arith::ShLIOp::create(
      b, l, arith::AndIOp::create(b, l, u, c(0x80)), c(24));
  Value mag = arith::AndIOp::create(b, l, u, c(0x7F));
  Value exp = arith::ShRUIOp::create(b, l, mag, c(3));
  Value man = arith::AndIOp::create(b, l, mag, c(7));
  // Normal: f32 exponent e - 7 + 127, mantissa in the top 3 bits.
  Value normal = arith::OrIOp::create(
      b, l,
      arith::ShLIOp::create(b, l, arith::AddIOp::create(b, l, exp, c(120)),
                            c(23)),
      arith::ShLIOp::create(b, l, man, c(20)));
  // Subnormal: m * 2^-9, exact in f32.
  Value sub = arith::BitcastOp::create(
      b, l, i32,
      arith::MulFOp::create(b, l, arith::SIToFPOp::create(b, l, f32, man),
                            scalarConstant(b, l, f32, 1.0 / 512)));
  Value isSub =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, exp, c(0));
  Value bits = arith::SelectOp::create(b, l, isSub, sub, normal);
  Value isNaN =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, mag, c(0x7F));
  bits = arith::SelectOp::create(b, l, isNaN, c(0x7FC00000), bits);
  return arith::BitcastOp::create(b, l, f32,
                                  arith::OrIOp::create(b, l, bits, sign));
}

/// The float8 E4M3FN byte (i8) of an f32, rounded to nearest even. NaN
/// stays NaN; magnitudes past the largest finite value (448) become +-448
/// with `saturate`, else NaN (E4M3FN has no infinity), as ONNX specifies.
Value encodeE4M3(OpBuilder &b, Location l, Value x, bool saturate) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return scalarConstant(b, l, i32, v); };
  Value bits = arith::BitcastOp::create(b, l, i32, x);
  Value sign = arith::AndIOp::create(
      b, l, arith::ShRUIOp::create(b, l, bits, c(24)), c(0x80));
  Value absBits = arith::AndIOp::create(b, l, bits, c(0x7FFFFFFF));
  Value isNaN = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ugt, absBits,
                                      c(0x7F800000));
  Value a = arith::BitcastOp::create(b, l, f32, absBits);
  if (saturate)
    a = arith::MinimumFOp::create(b, l, a, scalarConstant(b, l, f32, 448.0));
  Value ab = arith::BitcastOp::create(b, l, i32, a);
  // Normal range (|x| >= 2^-6): round the f32 mantissa to 3 bits (ties to
  // even), then rebias the exponent.
  Value lsb = arith::AndIOp::create(
      b, l, arith::ShRUIOp::create(b, l, ab, c(20)), c(1));
  Value rounded = arith::AddIOp::create(
      b, l, ab, arith::AddIOp::create(b, l, c(0x7FFFF), lsb));
  Value normal = arith::SubIOp::create(
      b, l, arith::ShRUIOp::create(b, l, rounded, c(20)), c(120 << 3));
  // Subnormal range: round(|x| * 2^9) (8 is the smallest normal, 0x08).
  Value scaled =
      arith::MulFOp::create(b, l, a, scalarConstant(b, l, f32, 512.0));
  Value sub = arith::FPToSIOp::create(b, l, i32,
                                      math::RoundEvenOp::create(b, l, scaled));
  Value isSub = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a,
                                      scalarConstant(b, l, f32, 1.0 / 64));
  Value q = arith::SelectOp::create(b, l, isSub, sub, normal);
  // Past 448 (only without saturation): NaN.
  Value over =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, q, c(0x7E));
  q = arith::SelectOp::create(b, l, arith::OrIOp::create(b, l, over, isNaN),
                              c(0x7F), q);
  q = arith::OrIOp::create(b, l, q, sign);
  return arith::TruncIOp::create(b, l, b.getI8Type(), q);
}

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//

/// Declares (once) an external kernel function.
func::FuncOp declareKernel(ModuleOp module, StringRef name, TypeRange args) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b(module.getBodyRegion());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(args, {}));
  f.setPrivate();
  return f;
}

Value pointerOfBuffer(OpBuilder &b, Location loc, Value memref) {
  Value idx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), idx);
  return LLVM::IntToPtrOp::create(b, loc, ptrType(b.getContext()), i64);
}

Value nullPointer(OpBuilder &b, Location loc) {
  return LLVM::ZeroOp::create(b, loc, ptrType(b.getContext()));
}

Value i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}

/// Flattens all but the last dim of `v` into rows: returns [M, K] and M.
std::pair<Value, OpFoldResult> flattenRows(OpBuilder &b, Location loc,
                                           Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, v);
  OpFoldResult m = b.getIndexAttr(1);
  AffineExpr s0, s1;
  bindSymbols(b.getContext(), s0, s1);
  for (int64_t i = 0; i + 1 < t.getRank(); ++i)
    m = affine::makeComposedFoldedAffineApply(b, loc, s0 * s1, {m, sizes[i]});
  OpFoldResult k = t.getRank() ? sizes.back() : b.getIndexAttr(1);
  SmallVector<OpFoldResult> flat{m, k};
  return {reshapeTo(b, loc, v, tensorTypeOf(flat, t.getElementType()), flat),
          m};
}

/// A linalg.generic writing `init` whose body computes each element from
/// its indices (copies, gathers, slices, concatenation).
Value indexGeneric(
    OpBuilder &b, Location loc, Value init,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> body) {
  int64_t rank = cast<RankedTensorType>(init.getType()).getRank();
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{}, ValueRange{init},
             ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange) {
               SmallVector<Value> idx;
               for (int64_t i = 0; i < rank; ++i)
                 idx.push_back(linalg::IndexOp::create(nb, l, i));
               linalg::YieldOp::create(nb, l, body(nb, l, idx));
             })
      .getResult(0);
}

/// Copies `src` into `init` (same sizes) by a linalg.generic that reads
/// `src` with tensor.extract at its own indices. Unlike an identity
/// generic or linalg.copy it survives canonicalization, so the result has a
/// buffer of its own; it bufferizes in place into `init`.
Value copyInto(OpBuilder &b, Location loc, Value src, Value init) {
  return indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        return (Value)tensor::ExtractOp::create(nb, l, src, idx);
      });
}

Value createKernelCall(OpBuilder &b, Location loc, StringRef name,
                       ValueRange args, ArrayRef<OpFoldResult> outSizes,
                       Type outElementType, unsigned outPosition) {
  Value init = emptyTensor(b, loc, outSizes, outElementType);
  auto call = qnn_cpu::KernelCallOp::create(
      b, loc, TypeRange{init.getType()}, b.getStringAttr(name), args,
      ValueRange{init}, b.getI64IntegerAttr(outPosition));
  return call.getResult(0);
}

FailureOr<WeightOnlyConstants>
getWeightOnlyConstants(OpLowering &l, qnn::WeightOnlyMatMulOp w) {
  if (!l.resultType().getElementType().isF32())
    return l.fail("needs f32 activations on the CPU backend");
  WeightOnlyConstants c;
  c.weight = getConstantElements(w.getWeight());
  ElementsAttr scales = getConstantElements(w.getScales());
  c.zeroPoints = getConstantElements(w.getZeroPoints());
  c.bias = getConstantElements(w.getBias());
  if (!c.weight || !scales || (w.getZeroPoints() && !c.zeroPoints) ||
      (w.getBias() && !c.bias))
    return l.fail("needs constant weights, scales, zero points and bias");
  auto wType = cast<ShapedType>(c.weight.getType());
  c.k = wType.getDimSize(0);
  c.n = wType.getDimSize(1);
  auto bytes = qnn::getWeightBytes(c.weight);
  auto scaleValues = qnn::getF32Values(scales);
  if (!bytes || !scaleValues)
    return l.fail("weight data is not available (elided?)");
  c.bytes = std::move(*bytes);
  c.scaleValues = std::move(*scaleValues);
  return c;
}

QuantizedMatMulOperands getQuantizedMatMulOperands(qnn::QuantizedMatMulOp q,
                                                   ArrayRef<Value> operands) {
  // lhs, rhs, lhs_scale, lhs_zp, rhs_scale, [rhs_zp], [bias],
  // [out_scale, out_zp].
  QuantizedMatMulOperands o;
  unsigned idx = 2;
  o.lhsScale = operands[idx++];
  o.lhsZeroPoint = operands[idx++];
  o.rhsScale = operands[idx++];
  if (q.getRhsZeroPoint())
    o.rhsZeroPoint = operands[idx++];
  if (q.getBias())
    o.bias = operands[idx++];
  if (q.getOutputScale()) {
    o.outScale = operands[idx++];
    o.outZeroPoint = operands[idx++];
  }
  return o;
}

//===----------------------------------------------------------------------===//
// Run-time indices
//===----------------------------------------------------------------------===//

std::pair<Value, Value> normalizeIndex(OpBuilder &b, Location l, Value raw,
                                       Value dim) {
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, raw, zero);
  Value i = arith::SelectOp::create(b, l, neg,
                                    arith::AddIOp::create(b, l, raw, dim), raw);
  // Unsigned: also false for an index still negative after adding dim.
  Value ok = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, i, dim);
  return {i, ok};
}

/// A constant NUL-terminated string global, named uniquely from `prefix`.
static LLVM::GlobalOp stringGlobal(ModuleOp module, StringRef prefix,
                                   StringRef text) {
  std::string name = prefix.str();
  for (unsigned n = 1; module.lookupSymbol(name); ++n)
    name = (prefix + "_" + Twine(n)).str();
  OpBuilder mb(module.getBodyRegion());
  mb.setInsertionPointToStart(module.getBody());
  auto type = LLVM::LLVMArrayType::get(mb.getI8Type(), text.size() + 1);
  return LLVM::GlobalOp::create(mb, module.getLoc(), type, /*isConstant=*/true,
                                LLVM::Linkage::Internal, name,
                                mb.getStringAttr(text.str() + '\0'));
}

IndexErrorReport IndexErrorReport::create(OpLowering &lowering,
                                          StringRef globalPrefix,
                                          StringRef opName) {
  OpBuilder &b = lowering.b;
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  IndexErrorReport report;
  report.fn = declareKernel(lowering.module(), "qk_report_error",
                            {i32, i64, i64, ptrType(b.getContext())});
  std::string node = lowering.blobName("");
  node.pop_back(); // blobName's "." separator
  report.what = stringGlobal(lowering.module(), globalPrefix,
                             ("node '" + node + "': " + opName).str());
  return report;
}

void IndexErrorReport::emit(OpBuilder &b, Location l, Value raw,
                            Value dim) const {
  if (!fn)
    return;
  Type i64 = b.getI64Type();
  func::CallOp::create(b, l, fn,
                       ValueRange{i32Const(b, l, QK_ERROR_INDEX_OUT_OF_RANGE),
                                  arith::IndexCastOp::create(b, l, i64, raw),
                                  arith::IndexCastOp::create(b, l, i64, dim),
                                  LLVM::AddressOfOp::create(b, l, what)});
}

Value guardedRead(OpBuilder &b, Location l, const IndexErrorReport &report,
                  Value data, ArrayRef<Value> coords, Value ok, Value raw,
                  Value dim, Type elementType) {
  auto ifOp = scf::IfOp::create(
      b, l, ok,
      [&](OpBuilder &tb, Location tl) {
        scf::YieldOp::create(
            tb, tl,
            ValueRange{tensor::ExtractOp::create(tb, tl, data, coords)});
      },
      [&](OpBuilder &eb, Location el) {
        report.emit(eb, el, raw, dim);
        scf::YieldOp::create(eb, el,
                             ValueRange{zeroConstant(eb, el, elementType)});
      });
  return ifOp.getResult(0);
}

} // namespace quantopt::cpu
