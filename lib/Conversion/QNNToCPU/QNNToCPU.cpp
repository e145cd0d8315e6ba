//===- QNNToCPU.cpp - Lower qnn to linalg and CPU kernel calls ------------===//
//
// Part of the QuantOpt project.
//
// One conversion pattern matches every qnn op and dispatches on its kind.
// Elementwise work becomes linalg.generic with ONNX (right-aligned)
// broadcasting; matmuls with constant weights become calls into the kernel
// library with the weights packed here, at compile time, by the same library
// that reads them at run time (docs/CPUBackend.md).
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Conversion/Passes.h"

#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"
#include "quantopt/Runtime/Kernels.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>

namespace quantopt {
#define GEN_PASS_DEF_QNNLOWERTOCPUPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

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

class CPUTypeConverter : public TypeConverter {
public:
  CPUTypeConverter() {
    addConversion([](Type type) { return type; });
    addConversion([](RankedTensorType type) -> Type {
      return type.clone(lowerElementType(type.getElementType()));
    });
    auto materialize = [](OpBuilder &b, Type type, ValueRange inputs,
                          Location loc) -> Value {
      return UnrealizedConversionCastOp::create(b, loc, type, inputs)
          .getResult(0);
    };
    addSourceMaterialization(materialize);
    addTargetMaterialization(materialize);
  }
};

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
  SmallVector<Value> dims;
  for (OpFoldResult s : sizes)
    dims.push_back(indexValue(b, loc, s));
  Value shape = tensor::FromElementsOp::create(b, loc, dims);
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

Type ptrType(MLIRContext *ctx) { return LLVM::LLVMPointerType::get(ctx); }

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

/// A read-only pointer to the data of a tensor (identity layout, so the
/// aligned pointer is the first element).
Value pointerOf(OpBuilder &b, Location loc, Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  auto m = MemRefType::get(t.getShape(), t.getElementType());
  Value buf = bufferization::ToBufferOp::create(b, loc, m, tensor, true);
  return pointerOfBuffer(b, loc, buf);
}

Value nullPointer(OpBuilder &b, Location loc) {
  return LLVM::ZeroOp::create(b, loc, ptrType(b.getContext()));
}

Value i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}

/// A fresh 64-byte aligned output buffer for a kernel, and its tensor.
std::pair<Value, Value> kernelOutput(OpBuilder &b, Location loc,
                                     ArrayRef<OpFoldResult> sizes,
                                     Type elementType) {
  RankedTensorType t = tensorTypeOf(sizes, elementType);
  auto m = MemRefType::get(t.getShape(), elementType);
  SmallVector<Value> dyn;
  for (OpFoldResult s : sizes)
    if (!getConstantIntValue(s))
      dyn.push_back(indexValue(b, loc, s));
  Value buf = memref::AllocOp::create(b, loc, m, dyn, b.getI64IntegerAttr(64));
  Value tensor = bufferization::ToTensorOp::create(b, loc, t, buf,
                                                   /*restrict=*/true,
                                                   /*writable=*/true);
  return {buf, tensor};
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

//===----------------------------------------------------------------------===//
// The lowering of each op
//===----------------------------------------------------------------------===//

struct Lowerer {
  ConversionPatternRewriter &b;
  Operation *op;
  ArrayRef<Value> operands; // converted
  const TypeConverter &converter;
  int64_t &numKernelCalls;
  /// False: every matmul becomes a linalg contraction (no qk_* calls), for
  /// targets that run the generated code elsewhere (the GPU).
  bool useKernels = true;
  Location loc = op->getLoc();

  RankedTensorType resultType(unsigned i = 0) {
    return cast<RankedTensorType>(
        converter.convertType(op->getResult(i).getType()));
  }
  LogicalResult fail(const Twine &msg) { return op->emitOpError() << msg; }
  LogicalResult done(ValueRange values) {
    b.replaceOp(op, values);
    return success();
  }
  LogicalResult done(FailureOr<Value> v, StringRef what = "dynamic dims") {
    if (failed(v))
      return fail("cannot determine the result's " + what);
    return done(ValueRange{*v});
  }
  ModuleOp module() { return op->getParentOfType<ModuleOp>(); }
  std::string blobName(StringRef suffix) { return getBlobName(loc, suffix); }

  LogicalResult lower();

  LogicalResult lowerConstant(ConstantOp c);
  LogicalResult lowerUnary();
  LogicalResult lowerBinary();
  LogicalResult lowerWhere();
  LogicalResult lowerCast();
  LogicalResult lowerShape(ShapeOp s);
  LogicalResult lowerMatMul(MatMulOp m);
  Value buildGenericMatMul(Value lhs, Value rhs, RankedTensorType result,
                           bool lhsUnsigned, bool rhsUnsigned, Value lhsZp,
                           Value rhsZp);
  LogicalResult lowerGenericMatMul(Value lhs, Value rhs,
                                   RankedTensorType result, bool lhsUnsigned,
                                   bool rhsUnsigned, Value lhsZp, Value rhsZp) {
    return done(ValueRange{buildGenericMatMul(lhs, rhs, result, lhsUnsigned,
                                              rhsUnsigned, lhsZp, rhsZp)});
  }
  LogicalResult lowerQuantizedMatMulGeneric(QuantizedMatMulOp q);
  LogicalResult lowerSoftmax(SoftmaxOp s);
  LogicalResult lowerLayerNorm(LayerNormOp n);
  LogicalResult lowerRMSNorm(RMSNormOp n);
  LogicalResult lowerReduce(StringRef kind, ArrayRef<int64_t> axes,
                            bool keepdims, bool noopWithEmpty);
  LogicalResult lowerReshapeLike(ArrayRef<int64_t> target, bool allowzero,
                                 Value shape = Value());
  LogicalResult lowerTranspose(TransposeOp t);
  LogicalResult lowerConcat(ConcatOp c);
  LogicalResult lowerSplit(SplitOp s);
  LogicalResult lowerSlice(SliceOp s);
  LogicalResult lowerGather(GatherOp g);
  LogicalResult lowerExpand(ExpandOp e);
  LogicalResult lowerQuantize(QuantizeOp q);
  LogicalResult lowerDequantize(DequantizeOp d);
  LogicalResult lowerDynamicQuantize(DynamicQuantizeOp d);
  LogicalResult lowerQuantizeE4M3(QuantizeOp q);
  LogicalResult lowerRequantize(RequantizeOp r);
  LogicalResult lowerMatMulInteger(MatMulIntegerOp m);
  LogicalResult lowerWeightOnly(WeightOnlyMatMulOp w);
  LogicalResult lowerWeightOnlyGeneric(WeightOnlyMatMulOp w,
                                       ArrayRef<int8_t> weight,
                                       ArrayRef<float> scales,
                                       ElementsAttr zeroPoints,
                                       ElementsAttr bias);
  LogicalResult lowerQuantizedMatMul(QuantizedMatMulOp q);

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
  /// qdqOperands of a qnn.quantize / qnn.dequantize `op` (lowered operands:
  /// x, then its optional scale and zero point) whose parameters have the
  /// type `quantElement`: whether a zero point is among the inputs, or
  /// failure for an unsupported quantized type.
  template <typename OpT>
  FailureOr<bool> qdqInputs(OpT op, Type quantElement, int64_t rank,
                            SmallVectorImpl<Value> &inputs,
                            SmallVectorImpl<AffineMap> &maps) {
    unsigned next = 1;
    Value scale = op.getScale() ? operands[next++] : Value();
    Value zp = op.getZeroPoint() ? operands[next++] : Value();
    FailureOr<QParams> p = quantParams(scale, zp, quantElement, op.getAxis(),
                                       op.getBlockSize(), rank);
    if (failed(p))
      return failure();
    qdqOperands(operands[0], *p, rank, inputs, maps);
    return (bool)p->zeroPoint;
  }
};

LogicalResult Lowerer::lowerConstant(ConstantOp c) {
  auto type = resultType();
  ElementsAttr value = c.getValue();
  // A weight read only by weight-only matmuls is packed from its attribute
  // by their lowering; materializing it as well would copy the whole weight
  // for nothing (and keep the copy: attributes live as long as the context).
  if (!c->use_empty() && llvm::all_of(c->getUses(), [](OpOperand &use) {
        auto wo = dyn_cast<WeightOnlyMatMulOp>(use.getOwner());
        return wo && use.get() == wo.getWeight() &&
               use.getOperandNumber() ==
                   wo.getWeightMutable().getOperandNumber();
      }))
    return done(ValueRange{tensor::EmptyOp::create(b, loc, type.getShape(),
                                                   type.getElementType())});
  auto origElt = cast<ShapedType>(value.getType()).getElementType();
  if (isa<Float8E4M3FNType>(origElt)) {
    // The bytes, as i8.
    if (auto res = dyn_cast<DenseResourceElementsAttr>(value))
      return done(ValueRange{arith::ConstantOp::create(
          b, loc, DenseResourceElementsAttr::get(type, res.getRawHandle()))});
    auto bytes = getWeightBytes(value);
    if (!bytes)
      return fail("constant data is not available (elided?)");
    SmallVector<APInt> vals;
    for (int8_t v : *bytes)
      vals.push_back(APInt(8, static_cast<uint8_t>(v)));
    return done(ValueRange{
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, vals))});
  }
  if (isa<FloatType>(origElt) && origElt.getIntOrFloatBitWidth() == 8)
    return fail("float8 E5M2 tensors are not supported by the CPU backend "
                "(E4M3FN is)");
  if (value.getType() == type)
    return done(
        ValueRange{arith::ConstantOp::create(b, loc, cast<TypedAttr>(value))});
  // Integer re-typing: ui8 -> i8 keeps the bytes; i4/ui4 widen to i8.
  auto intElt = dyn_cast<IntegerType>(origElt);
  if (auto dense = dyn_cast<DenseIntElementsAttr>(value)) {
    if (intElt && intElt.getWidth() >= 8)
      return done(ValueRange{arith::ConstantOp::create(
          b, loc, dense.bitcast(type.getElementType()))});
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value);
      res && intElt && intElt.getWidth() >= 8)
    return done(ValueRange{arith::ConstantOp::create(
        b, loc, DenseResourceElementsAttr::get(type, res.getRawHandle()))});
  // A large i4/ui4 weight widens to one i8 byte per value in a resource
  // blob: through APInts and a uniqued attribute it would cost 24 bytes per
  // value and stay in the context for good (a 1.6 GB float weight's int4
  // constant took 10 GB this way).
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value);
      res && intElt && intElt.getWidth() == 4 &&
      type.getElementType().isInteger(8)) {
    std::optional<std::vector<int8_t>> bytes = getWeightBytes(value);
    if (!bytes)
      return fail("constant data is not available (elided?)");
    auto *owned = new std::vector<int8_t>(std::move(*bytes));
    ArrayRef<char> data(reinterpret_cast<const char *>(owned->data()),
                        owned->size());
    AsmResourceBlob blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        data, alignof(int8_t),
        [owned](void *, size_t, size_t) { delete owned; });
    return done(ValueRange{arith::ConstantOp::create(
        b, loc,
        DenseResourceElementsAttr::get(
            type, (res.getRawHandle().getKey() + "_i8").str(),
            std::move(blob)))});
  }
  std::optional<SmallVector<int64_t>> ints = getIntValues(value);
  if (!ints)
    return fail("constant data is not available (elided?)");
  SmallVector<APInt> vals;
  unsigned w = type.getElementType().getIntOrFloatBitWidth();
  for (int64_t v : *ints)
    vals.push_back(APInt(w, v, /*isSigned=*/true));
  return done(ValueRange{
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, vals))});
}

LogicalResult Lowerer::lowerUnary() {
  auto type = resultType();
  Type elt = type.getElementType();
  bool isFloat = isa<FloatType>(elt);
  StringRef name = op->getName().stripDialect();
  bool tanhGelu = false;
  if (auto g = dyn_cast<GeluOp>(op))
    tanhGelu = g.getApproximate() == "tanh";
  if (!isFloat && name != "abs" && name != "neg" && name != "relu")
    return fail("expects a float operand on the CPU backend");
  return done(elementwise(
      b, loc, type, operands[0],
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0];
        if (name == "sqrt")
          return math::SqrtOp::create(nb, l, x);
        if (name == "reciprocal")
          return arith::DivFOp::create(nb, l, scalarConstant(nb, l, elt, 1.0),
                                       x);
        if (name == "neg")
          return isFloat ? (Value)arith::NegFOp::create(nb, l, x)
                         : subV(nb, l, scalarConstant(nb, l, elt, 0), x);
        if (name == "exp")
          return math::ExpOp::create(nb, l, x);
        if (name == "log")
          return math::LogOp::create(nb, l, x);
        if (name == "abs")
          return isFloat ? (Value)math::AbsFOp::create(nb, l, x)
                         : (Value)math::AbsIOp::create(nb, l, x);
        if (name == "erf")
          return math::ErfOp::create(nb, l, x);
        if (name == "tanh")
          return math::TanhOp::create(nb, l, x);
        if (name == "sigmoid")
          return sigmoidV(nb, l, x);
        if (name == "relu")
          return maxV(nb, l, x, scalarConstant(nb, l, elt, 0), false);
        if (name == "silu")
          return arith::MulFOp::create(nb, l, x, sigmoidV(nb, l, x));
        return geluV(nb, l, x, tanhGelu);
      }));
}

LogicalResult Lowerer::lowerBinary() {
  auto type = resultType();
  Type elt = type.getElementType();
  bool isUnsigned = isUnsignedElement(
      cast<ShapedType>(op->getResult(0).getType()).getElementType());
  StringRef name = op->getName().stripDialect();
  bool rhsUnsigned = isUnsignedElement(elementTypeOf(op->getOperand(1)));
  return done(elementwise(
      b, loc, type, operands,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0], y = a[1];
        if (name == "add")
          return addV(nb, l, x, y);
        if (name == "sub")
          return subV(nb, l, x, y);
        if (name == "mul")
          return mulV(nb, l, x, y);
        if (name == "div") {
          if (isa<FloatType>(elt))
            return arith::DivFOp::create(nb, l, x, y);
          return isUnsigned ? (Value)arith::DivUIOp::create(nb, l, x, y)
                            : (Value)arith::DivSIOp::create(nb, l, x, y);
        }
        if (name == "min")
          return minV(nb, l, x, y, isUnsigned);
        if (name == "max")
          return maxV(nb, l, x, y, isUnsigned);
        // pow: the exponent may have another type.
        if (isa<FloatType>(elt)) {
          y = convertScalar(nb, l, y, elt, rhsUnsigned, false);
          return math::PowFOp::create(nb, l, x, y);
        }
        y = convertScalar(nb, l, y, elt, rhsUnsigned, false);
        return math::IPowIOp::create(nb, l, x, y);
      }));
}

LogicalResult Lowerer::lowerWhere() {
  return done(elementwise(b, loc, resultType(), operands,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            return (Value)arith::SelectOp::create(nb, l, a[0],
                                                                  a[1], a[2]);
                          }));
}

LogicalResult Lowerer::lowerCast() {
  auto type = resultType();
  Type srcOrig = elementTypeOf(op->getOperand(0));
  Type dstOrig = elementTypeOf(op->getResult(0));
  for (Type t : {srcOrig, dstOrig})
    if (isa<FloatType>(t) && t.getIntOrFloatBitWidth() == 8)
      return fail("float8 casts are not supported by the CPU backend");
  return done(elementwise(
      b, loc, type, operands[0], [&](OpBuilder &nb, Location l, ValueRange a) {
        return convertScalar(nb, l, a[0], type.getElementType(),
                             isUnsignedElement(srcOrig),
                             isUnsignedElement(dstOrig));
      }));
}

LogicalResult Lowerer::lowerShape(ShapeOp s) {
  auto type = resultType();
  int64_t rank = cast<RankedTensorType>(operands[0].getType()).getRank();
  int64_t start = s.getStart();
  int64_t end = s.getEnd() ? *s.getEnd() : rank;
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<Value> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(arith::IndexCastOp::create(
        b, loc, b.getI64Type(), tensor::DimOp::create(b, loc, operands[0], i)));
  if (dims.empty())
    return done(ValueRange{arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<int64_t>{}))});
  return done(ValueRange{tensor::FromElementsOp::create(b, loc, type, dims)});
}

/// A contraction over the last dims with ONNX batch broadcasting, for
/// matmuls that no kernel takes (integer, non-f32, broadcast batch dims).
Value Lowerer::buildGenericMatMul(Value lhs, Value rhs, RankedTensorType result,
                                  bool lhsUnsigned, bool rhsUnsigned,
                                  Value lhsZp, Value rhsZp) {
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

LogicalResult Lowerer::lowerMatMul(MatMulOp mm) {
  auto result = resultType();
  Value lhs = operands[0], rhs = operands[1];
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  bool f32 = result.getElementType().isF32() && lt.getElementType().isF32() &&
             rt.getElementType().isF32();
  bool transposed = false;
  ElementsAttr weight =
      getConstantElements(stripMatrixTranspose(mm.getRhs(), transposed));
  if (!useKernels)
    f32 = false; // linalg contraction below
  if (f32 && weight && rt.getRank() == 2 && lt.getRank() >= 1 &&
      rt.hasStaticShape()) {
    std::optional<SmallVector<float>> w = getF32Values(weight);
    if (!w)
      return fail("weight data is not available (elided?)");
    int64_t K = rt.getDimSize(0), N = rt.getDimSize(1);
    if (transposed)
      w = transposeMatrix<float>(*w, N, K);
    // A bias add fused by the prepass.
    std::optional<SmallVector<float>> bias;
    Operation *biasUser = nullptr;
    if (mm->hasAttr("qnn.cpu.fused_bias")) {
      biasUser = *mm->getUsers().begin();
      Value other = biasUser->getOperand(0) == mm.getResult()
                        ? biasUser->getOperand(1)
                        : biasUser->getOperand(0);
      bias = getF32Values(getConstantElements(other));
    }
    std::vector<char> packed(qk_sgemm_packed_size(K, N));
    qk_sgemm_pack_b(w->data(), K, N, packed.data());
    Value blob = createBlobConstant(b, loc, blobName("sgemm"), packed);
    Value biasBlob;
    if (bias) {
      ArrayRef<char> bytes(reinterpret_cast<const char *>(bias->data()),
                           bias->size() * sizeof(float));
      biasBlob = createBlobConstant(b, loc, blobName("bias"), bytes);
    }
    Value a2 = lhs;
    OpFoldResult m = b.getIndexAttr(1);
    if (lt.getRank() == 1) {
      SmallVector<OpFoldResult> s{m, tensor::getMixedSize(b, loc, lhs, 0)};
      a2 = reshapeTo(b, loc, lhs, tensorTypeOf(s, b.getF32Type()), s);
    } else {
      std::tie(a2, m) = flattenRows(b, loc, lhs);
    }
    auto [buf, out] =
        kernelOutput(b, loc, {m, b.getIndexAttr(N)}, b.getF32Type());
    MLIRContext *ctx = b.getContext();
    Type p = ptrType(ctx), i64 = b.getI64Type(), i32 = b.getI32Type();
    func::FuncOp fn =
        declareKernel(module(), "qk_sgemm", {p, i64, p, p, i32, p});
    Value mVal = arith::IndexCastOp::create(b, loc, i64, indexValue(b, loc, m));
    func::CallOp::create(
        b, loc, fn,
        ValueRange{pointerOf(b, loc, a2), mVal, pointerOf(b, loc, blob),
                   biasBlob ? pointerOf(b, loc, biasBlob) : nullPointer(b, loc),
                   i32Const(b, loc, 0), pointerOfBuffer(b, loc, buf)});
    ++numKernelCalls;
    SmallVector<OpFoldResult> sizes;
    if (lt.getRank() == 1) {
      sizes.push_back(b.getIndexAttr(N));
    } else {
      SmallVector<OpFoldResult> ls = mixedSizes(b, loc, lhs);
      sizes.assign(ls.begin(), ls.end() - 1);
      sizes.push_back(b.getIndexAttr(N));
    }
    return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
  }
  // Activations times activations with equal batch dims: batched kernel.
  if (f32 && lt.getRank() >= 2 && rt.getRank() >= 2 &&
      (rt.getRank() == 2 || lt.getRank() == rt.getRank())) {
    bool sameBatch = true;
    if (rt.getRank() > 2)
      for (int64_t i = 0; i + 2 < lt.getRank(); ++i)
        if (lt.getDimSize(i) != rt.getDimSize(i) ||
            (lt.isDynamicDim(i) && rt.isDynamicDim(i) && lt.getDimSize(i) != 1))
          sameBatch &= lt.getDimSize(i) == rt.getDimSize(i);
    if (sameBatch) {
      SmallVector<OpFoldResult> ls = mixedSizes(b, loc, lhs);
      SmallVector<OpFoldResult> rs = mixedSizes(b, loc, rhs);
      AffineExpr s0, s1;
      bindSymbols(b.getContext(), s0, s1);
      OpFoldResult batch = b.getIndexAttr(1);
      OpFoldResult m = ls[ls.size() - 2], k = ls.back(), n = rs.back();
      if (rt.getRank() == 2) {
        // Flatten every leading lhs dim into M.
        for (size_t i = 0; i + 1 < ls.size() - 1; ++i)
          m = affine::makeComposedFoldedAffineApply(b, loc, s0 * s1,
                                                    {m, ls[i]});
      } else {
        for (size_t i = 0; i + 2 < ls.size(); ++i)
          batch = affine::makeComposedFoldedAffineApply(b, loc, s0 * s1,
                                                        {batch, ls[i]});
      }
      SmallVector<OpFoldResult> l3{batch, m, k}, r3{batch, k, n},
          o3{batch, m, n};
      if (rt.getRank() == 2)
        r3 = {b.getIndexAttr(1), k, n};
      Value a3 = reshapeTo(b, loc, lhs, tensorTypeOf(l3, b.getF32Type()), l3);
      Value b3 = reshapeTo(b, loc, rhs, tensorTypeOf(r3, b.getF32Type()), r3);
      auto [buf, out] = kernelOutput(b, loc, o3, b.getF32Type());
      Type p = ptrType(b.getContext()), i64 = b.getI64Type();
      func::FuncOp fn =
          declareKernel(module(), "qk_sgemm_batched",
                        {p, p, p, i64, i64, i64, i64, i64, i64, i64});
      auto idx = [&](OpFoldResult v) {
        return (Value)arith::IndexCastOp::create(b, loc, i64,
                                                 indexValue(b, loc, v));
      };
      Value mk =
          idx(affine::makeComposedFoldedAffineApply(b, loc, s0 * s1, {m, k}));
      Value kn =
          idx(affine::makeComposedFoldedAffineApply(b, loc, s0 * s1, {k, n}));
      Value mn =
          idx(affine::makeComposedFoldedAffineApply(b, loc, s0 * s1, {m, n}));
      Value strideB = rt.getRank() == 2
                          ? (Value)arith::ConstantIntOp::create(b, loc, 0, 64)
                          : kn;
      func::CallOp::create(b, loc, fn,
                           ValueRange{pointerOf(b, loc, a3),
                                      pointerOf(b, loc, b3),
                                      pointerOfBuffer(b, loc, buf), idx(batch),
                                      idx(m), idx(k), idx(n), mk, strideB, mn});
      ++numKernelCalls;
      SmallVector<OpFoldResult> sizes(ls.begin(), ls.end() - 1);
      sizes.push_back(n);
      return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
    }
  }
  return lowerGenericMatMul(
      lhs, rhs, result, isUnsignedElement(elementTypeOf(mm.getLhs())),
      isUnsignedElement(elementTypeOf(mm.getRhs())), {}, {});
}

LogicalResult Lowerer::lowerMatMulInteger(MatMulIntegerOp mm) {
  auto zp = [&](Value orig, unsigned idx) -> Value {
    return orig ? operands[idx] : Value();
  };
  unsigned next = 2;
  Value lzp = mm.getLhsZeroPoint() ? zp(mm.getLhsZeroPoint(), next++) : Value();
  Value rzp = mm.getRhsZeroPoint() ? zp(mm.getRhsZeroPoint(), next++) : Value();
  return lowerGenericMatMul(operands[0], operands[1], resultType(),
                            isUnsignedElement(elementTypeOf(mm.getLhs())),
                            isUnsignedElement(elementTypeOf(mm.getRhs())), lzp,
                            rzp);
}

LogicalResult Lowerer::lowerSoftmax(SoftmaxOp s) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(s.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  Value x = operands[0];
  Type elt = type.getElementType();
  int64_t rank = type.getRank();
  Value negInf = arith::ConstantOp::create(
      b, loc,
      b.getFloatAttr(elt, APFloat::getInf(
                              cast<FloatType>(elt).getFloatSemantics(), true)));
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

LogicalResult Lowerer::lowerLayerNorm(LayerNormOp n) {
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

LogicalResult Lowerer::lowerRMSNorm(RMSNormOp n) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(n.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  return done(ValueRange{normalize(b, loc, operands[0], operands[1], Value(),
                                   *axis, n.getEpsilon().convertToFloat(), true,
                                   nullptr, nullptr)});
}

LogicalResult Lowerer::lowerReduce(StringRef kind, ArrayRef<int64_t> axesAttr,
                                   bool keepdims, bool noopWithEmpty) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  auto type = resultType();
  Type elt = type.getElementType();
  int64_t rank = inType.getRank();
  SmallVector<int64_t> axes;
  if (axesAttr.empty()) {
    if (noopWithEmpty)
      return done(ValueRange{x});
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  for (int64_t a : axesAttr) {
    std::optional<int64_t> n = normalizeAxis(a, rank);
    if (!n)
      return fail("axis out of range");
    axes.push_back(*n);
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  // Booleans (i1) order as unsigned: false < true.
  bool isUnsigned =
      isUnsignedElement(elementTypeOf(op->getOperand(0))) || elt.isInteger(1);
  Value init;
  if (kind == "max") {
    if (auto ft = dyn_cast<FloatType>(elt))
      init = arith::ConstantOp::create(
          b, loc,
          b.getFloatAttr(elt, APFloat::getInf(ft.getFloatSemantics(), true)));
    else
      init = arith::ConstantOp::create(
          b, loc,
          b.getIntegerAttr(
              elt, isUnsigned ? APInt::getMinValue(elt.getIntOrFloatBitWidth())
                              : APInt::getSignedMinValue(
                                    elt.getIntOrFloatBitWidth())));
  } else {
    init = scalarConstant(b, loc, elt, 0);
  }
  Value r = reduce(b, loc, x, axes, init,
                   [&](OpBuilder &nb, Location l, Value acc, Value v) {
                     return kind == "max" ? maxV(nb, l, acc, v, isUnsigned)
                                          : addV(nb, l, acc, v);
                   });
  if (kind == "mean") {
    if (!isa<FloatType>(elt))
      return fail("integer reduce_mean is not supported");
    Value count = countAsFloat(b, loc, x, axes, elt);
    SmallVector<OpFoldResult> rs = mixedSizes(b, loc, r);
    r = generic(b, loc, rs, elt, ValueRange{r},
                {b.getMultiDimIdentityMap(rs.size())},
                [&](OpBuilder &nb, Location l, ValueRange a) {
                  return (Value)arith::DivFOp::create(nb, l, a[0], count);
                });
  }
  SmallVector<OpFoldResult> out;
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  for (int64_t i = 0; i < rank; ++i) {
    if (!llvm::is_contained(axes, i))
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(b.getIndexAttr(1));
  }
  return done(ValueRange{reshapeTo(b, loc, r, type, out)});
}

/// Reshape, squeeze and unsqueeze: the target sizes come from the result
/// type where static, otherwise from `target` (constant) or `shape` (the
/// run-time shape tensor), with ONNX semantics: 0 copies the input dim
/// (unless allowzero), -1 is inferred from the element count.
LogicalResult Lowerer::lowerReshapeLike(ArrayRef<int64_t> target,
                                        bool allowzero, Value shape) {
  Value x = operands[0];
  auto type = resultType();
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  int64_t rank = type.getRank();
  if (type.hasStaticShape()) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(b.getIndexAttr(d));
    return done(ValueRange{reshapeTo(b, loc, x, type, sizes)});
  }
  if ((int64_t)target.size() != rank && !shape)
    return fail("cannot determine the dynamic target dims of the reshape");
  Type idx = b.getIndexType();
  auto cst = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  // Requested sizes, with 0 resolved; -1 stays -1.
  SmallVector<Value> req;
  for (int64_t i = 0; i < rank; ++i) {
    if (!type.isDynamicDim(i)) {
      req.push_back(cst(type.getDimSize(i)));
      continue;
    }
    Value v;
    if ((int64_t)target.size() == rank) {
      v = cst(target[i]);
    } else {
      Value e = tensor::ExtractOp::create(b, loc, shape, ValueRange{cst(i)});
      v = arith::IndexCastOp::create(b, loc, idx, e);
    }
    if (!allowzero && i < (int64_t)in.size()) {
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, cst(0));
      v = arith::SelectOp::create(b, loc, isZero, indexValue(b, loc, in[i]), v);
    }
    req.push_back(v);
  }
  Value total = cst(1);
  for (OpFoldResult s : in)
    total = arith::MulIOp::create(b, loc, total, indexValue(b, loc, s));
  Value known = cst(1);
  for (Value v : req) {
    Value isInf =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, cst(-1));
    known = arith::MulIOp::create(
        b, loc, known, arith::SelectOp::create(b, loc, isInf, cst(1), v));
  }
  Value inferred = arith::DivSIOp::create(
      b, loc, total, arith::MaxSIOp::create(b, loc, known, cst(1)));
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!type.isDynamicDim(i)) {
      sizes.push_back(b.getIndexAttr(type.getDimSize(i)));
      continue;
    }
    Value isInf = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        req[i], cst(-1));
    sizes.push_back(
        (Value)arith::SelectOp::create(b, loc, isInf, inferred, req[i]));
  }
  return done(ValueRange{reshapeTo(b, loc, x, type, sizes)});
}

LogicalResult Lowerer::lowerTranspose(TransposeOp t) {
  Value x = operands[0];
  // The identity permutation is the operand itself (as canonicalization
  // would make it anyway; copyAliasingResults must see that).
  if (llvm::equal(t.getPerm(), llvm::seq<int64_t>(0, t.getPerm().size())))
    return done(ValueRange{x});
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  SmallVector<OpFoldResult> out;
  for (int64_t p : t.getPerm())
    out.push_back(in[p]);
  Value init = emptyTensor(b, loc, out, resultType().getElementType());
  return done(
      ValueRange{linalg::TransposeOp::create(b, loc, x, init, t.getPerm())
                     .getResult()[0]});
}

// Concat and Split are gathers (a linalg.generic that reads its operands
// with tensor.extract), not insert_slice/extract_slice: a slice of a buffer
// is a strided memref, and copying one (into a result, or out of it for a
// kernel call or a returned value) lowers to a call of MLIR's runtime helper
// memrefCopy, which bundles do not link.
LogicalResult Lowerer::lowerConcat(ConcatOp c) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(c.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  AffineExpr s0, s1;
  bindSymbols(b.getContext(), s0, s1);
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  // Pieces that are statically empty along the axis contribute nothing.
  SmallVector<Value> pieces;
  SmallVector<Value> offsets, lasts; // per piece: start, size - 1
  OpFoldResult total = b.getIndexAttr(0);
  for (Value v : operands) {
    OpFoldResult n = tensor::getMixedSize(b, loc, v, *axis);
    if (getConstantIntValue(n) == std::optional<int64_t>(0))
      continue;
    pieces.push_back(v);
    offsets.push_back(indexValue(b, loc, total));
    lasts.push_back(indexValue(
        b, loc, affine::makeComposedFoldedAffineApply(b, loc, s0 - 1, {n})));
    total = affine::makeComposedFoldedAffineApply(b, loc, s0 + s1, {total, n});
  }
  sizes[*axis] = total;
  int64_t ax = *axis;
  if (pieces.empty())
    return done(ValueRange{tensor::CastOp::create(
        b, loc, type, emptyTensor(b, loc, sizes, type.getElementType()))});
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  Value result = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        // Every piece is read at an index clamped into it; the last piece
        // whose start is <= the axis index is selected.
        Value r;
        for (size_t j = 0; j < pieces.size(); ++j) {
          SmallVector<Value> at(idx);
          Value local = arith::SubIOp::create(nb, l, idx[ax], offsets[j]);
          local = arith::MaxSIOp::create(nb, l, local, zero);
          at[ax] = arith::MinSIOp::create(nb, l, local, lasts[j]);
          Value v = tensor::ExtractOp::create(nb, l, pieces[j], at);
          if (!r) {
            r = v;
            continue;
          }
          Value inside = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                               idx[ax], offsets[j]);
          r = arith::SelectOp::create(nb, l, inside, v, r);
        }
        return r;
      });

  if (result.getType() != type)
    result = tensor::CastOp::create(b, loc, type, result);
  return done(ValueRange{result});
}

LogicalResult Lowerer::lowerSplit(SplitOp s) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  std::optional<int64_t> axis = normalizeAxis(s.getAxis(), inType.getRank());
  if (!axis)
    return fail("axis out of range");
  int64_t ax = *axis;
  SmallVector<Value> results;
  int64_t offset = 0;
  for (auto [i, size] : llvm::enumerate(s.getSizes())) {
    SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
    sizes[ax] = b.getIndexAttr(size);
    Value init = emptyTensor(b, loc, sizes, inType.getElementType());
    int64_t start = offset;
    Value v = indexGeneric(
        b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
          SmallVector<Value> idx(at);
          idx[ax] = arith::AddIOp::create(
              nb, l, idx[ax], arith::ConstantIndexOp::create(nb, l, start));
          return (Value)tensor::ExtractOp::create(nb, l, x, idx);
        });
    if (v.getType() != resultType(i))
      v = tensor::CastOp::create(b, loc, resultType(i), v);
    results.push_back(v);
    offset += size;
  }
  return done(results);
}

/// ONNX Slice with constant starts/ends/axes/steps, as a gather: every
/// output element reads input[start + i * step] along the sliced axes.
LogicalResult Lowerer::lowerSlice(SliceOp s) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  int64_t rank = inType.getRank();
  // Starts and ends may be run-time values (x[:, :seq] with seq from Shape);
  // axes and steps must be constants (the step's sign decides the clamps).
  auto starts = getConstantIntValues(s.getStarts());
  auto ends = getConstantIntValues(s.getEnds());
  std::optional<SmallVector<int64_t>> axes, steps;
  if (s.getAxes())
    axes = getConstantIntValues(s.getAxes());
  if (s.getSteps())
    steps = getConstantIntValues(s.getSteps());
  auto startsType = cast<RankedTensorType>(operands[1].getType());
  if ((s.getAxes() && !axes) || (s.getSteps() && !steps) ||
      startsType.getRank() != 1 || startsType.isDynamicDim(0))
    return fail("needs constant axes and steps, and starts/ends of a static "
                "length, on the CPU");
  int64_t numSliced = startsType.getDimSize(0);
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  SmallVector<Value> startV(rank), stepV(rank);
  SmallVector<OpFoldResult> sizes(in);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < rank; ++i) {
    startV[i] = zero;
    stepV[i] = one;
  }
  // Entry j of a constant or run-time starts/ends tensor, as an index.
  auto entry = [&](const std::optional<SmallVector<int64_t>> &cst, Value t,
                   size_t j) -> Value {
    if (cst)
      return arith::ConstantIndexOp::create(
          b, loc,
          std::clamp<int64_t>((*cst)[j], -(int64_t(1) << 40),
                              int64_t(1) << 40));
    Value e = tensor::ExtractOp::create(
        b, loc, t, ValueRange{arith::ConstantIndexOp::create(b, loc, j)});
    // int64 sentinels such as INT64_MAX stay far outside any dim: clamp
    // before the index cast so that v + dim cannot overflow.
    Type et = e.getType();
    if (et.getIntOrFloatBitWidth() == 64) {
      Value lim = scalarConstant(b, loc, et, double(int64_t(1) << 40));
      Value nlim = scalarConstant(b, loc, et, -double(int64_t(1) << 40));
      e = arith::MinSIOp::create(b, loc,
                                 arith::MaxSIOp::create(b, loc, e, nlim), lim);
    }
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), e);
  };
  for (size_t j = 0; j < (size_t)numSliced; ++j) {
    int64_t a = axes ? (*axes)[j] : j;
    std::optional<int64_t> ax = normalizeAxis(a, rank);
    if (!ax)
      return fail("axis out of range");
    int64_t step = steps ? (*steps)[j] : 1;
    if (step == 0)
      return fail("step 0");
    Value dim = indexValue(b, loc, in[*ax]);
    auto clampIdx = [&](Value c, bool isEnd) -> Value {
      // v < 0: v + dim; clamp to [0, dim] (step > 0), or for step < 0 the
      // start to [0, dim - 1] and the end to [-1, dim - 1] (ONNX Slice).
      Value neg =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, c, zero);
      Value r = arith::SelectOp::create(
          b, loc, neg, arith::AddIOp::create(b, loc, c, dim), c);
      Value lo = step > 0 || !isEnd
                     ? zero
                     : (Value)arith::ConstantIndexOp::create(b, loc, -1);
      Value hi =
          step > 0 ? dim : (Value)arith::SubIOp::create(b, loc, dim, one);
      r = arith::MaxSIOp::create(b, loc, r, lo);
      return arith::MinSIOp::create(b, loc, r, hi);
    };
    Value st = clampIdx(entry(starts, operands[1], j), false);
    Value en = clampIdx(entry(ends, operands[2], j), true);
    // size = max(0, ceil((end - start) / step))
    Value stepC = arith::ConstantIndexOp::create(b, loc, step);
    Value diff = arith::SubIOp::create(b, loc, en, st);
    Value adj =
        arith::ConstantIndexOp::create(b, loc, step > 0 ? step - 1 : step + 1);
    Value n = arith::DivSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, diff, adj), stepC);
    n = arith::MaxSIOp::create(b, loc, n, zero);
    sizes[*ax] = getAsOpFoldResult(n);
    startV[*ax] = st;
    stepV[*ax] = stepC;
  }
  auto type = resultType();
  for (int64_t i = 0; i < rank; ++i)
    if (!type.isDynamicDim(i))
      sizes[i] = b.getIndexAttr(type.getDimSize(i));
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> idx;
        for (int64_t i = 0; i < rank; ++i)
          idx.push_back(arith::AddIOp::create(
              nb, l, startV[i], arith::MulIOp::create(nb, l, at[i], stepV[i])));
        return (Value)tensor::ExtractOp::create(nb, l, x, idx);
      });
  if (r.getType() != type)
    r = tensor::CastOp::create(b, loc, type, r);
  return done(ValueRange{r});
}

/// A constant NUL-terminated string global (a node name for run-time error
/// messages), named uniquely from `prefix`.
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

LogicalResult Lowerer::lowerGather(GatherOp g) {
  Value data = operands[0], indices = operands[1];
  auto dt = cast<RankedTensorType>(data.getType());
  auto it = cast<RankedTensorType>(indices.getType());
  std::optional<int64_t> axis = normalizeAxis(g.getAxis(), dt.getRank());
  if (!axis)
    return fail("axis out of range");
  auto type = resultType();
  int64_t rank = type.getRank(), q = it.getRank();
  SmallVector<OpFoldResult> ds = mixedSizes(b, loc, data);
  SmallVector<OpFoldResult> is = mixedSizes(b, loc, indices);
  SmallVector<OpFoldResult> sizes(ds.begin(), ds.begin() + *axis);
  sizes.append(is.begin(), is.end());
  sizes.append(ds.begin() + *axis + 1, ds.end());
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < q; ++i)
    idxExprs.push_back(b.getAffineDimExpr(*axis + i));
  AffineMap idxMap = AffineMap::get(rank, 0, idxExprs, b.getContext());
  Value axisDim = indexValue(b, loc, ds[*axis]);
  int64_t ax = *axis;
  // Indices only known at run time are bounds-checked: an index outside
  // [-dim, dim) reads nothing (the element is 0) and, on the CPU, is
  // reported through qk_report_error, which the runtime turns into a failed
  // run naming the node. Constant indices were checked by the verifier.
  func::FuncOp report;
  LLVM::GlobalOp what;
  if (useKernels) {
    Type i32 = b.getI32Type(), i64 = b.getI64Type();
    report = declareKernel(module(), "qk_report_error",
                           {i32, i64, i64, ptrType(b.getContext())});
    std::string node = blobName("");
    node.pop_back(); // blobName's "." separator
    what = stringGlobal(
        module(), "qk_gather_node",
        ("node '" + node + "': Gather on axis " + Twine(ax)).str());
  }
  Type elementType = type.getElementType();
  Value r = generic(
      b, loc, sizes, elementType, ValueRange{indices}, {idxMap},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value raw = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        Value neg =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, raw, zero);
        Value i = arith::SelectOp::create(
            nb, l, neg, arith::AddIOp::create(nb, l, raw, axisDim), raw);
        // Unsigned: also false for an index still negative after adding dim.
        Value inRange =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, i, axisDim);
        // linalg.index must sit directly in the generic's body.
        SmallVector<Value> coords;
        for (int64_t d = 0; d < ax; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        coords.push_back(i);
        for (int64_t d = ax + 1; d < dt.getRank(); ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d - 1 + q));
        auto ifOp = scf::IfOp::create(
            nb, l, inRange,
            [&](OpBuilder &tb, Location tl) {
              scf::YieldOp::create(
                  tb, tl,
                  ValueRange{tensor::ExtractOp::create(tb, tl, data, coords)});
            },
            [&](OpBuilder &eb, Location el) {
              if (report) {
                Type i64 = eb.getI64Type();
                func::CallOp::create(
                    eb, el, report,
                    ValueRange{i32Const(eb, el, QK_ERROR_INDEX_OUT_OF_RANGE),
                               arith::IndexCastOp::create(eb, el, i64, raw),
                               arith::IndexCastOp::create(eb, el, i64, axisDim),
                               LLVM::AddressOfOp::create(eb, el, what)});
              }
              Value fill = arith::ConstantOp::create(
                  eb, el, cast<TypedAttr>(eb.getZeroAttr(elementType)));
              scf::YieldOp::create(eb, el, ValueRange{fill});
            });
        return ifOp.getResult(0);
      });
  if (r.getType() != type)
    r = tensor::CastOp::create(b, loc, type, r);
  return done(ValueRange{r});
}

LogicalResult Lowerer::lowerExpand(ExpandOp e) {
  auto type = resultType();
  Value x = operands[0];
  auto xt = cast<RankedTensorType>(x.getType());
  std::optional<SmallVector<int64_t>> shape =
      getConstantIntValues(e.getShape());
  SmallVector<OpFoldResult> sizes;
  int64_t rank = type.getRank();
  for (int64_t r = 0; r < rank; ++r) {
    if (!type.isDynamicDim(r)) {
      sizes.push_back(b.getIndexAttr(type.getDimSize(r)));
      continue;
    }
    int64_t s = shape ? (*shape)[r - (rank - (int64_t)shape->size())] : 1;
    int64_t i = r - (rank - xt.getRank());
    if (s > 1)
      sizes.push_back(b.getIndexAttr(s));
    else if (i >= 0)
      sizes.push_back(tensor::getMixedSize(b, loc, x, i));
    else
      return fail("cannot determine a dynamic dim of the expand");
  }
  return done(ValueRange{
      generic(b, loc, sizes, type.getElementType(), ValueRange{x},
              {broadcastMap(b, xt, type.getShape())},
              [](OpBuilder &, Location, ValueRange a) { return a[0]; })});
}

FailureOr<Lowerer::QParams>
Lowerer::quantParams(Value scaleOperand, Value zpOperand, Type quantElement,
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

AffineMap Lowerer::paramMap(const QuantLayout &layout,
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

void Lowerer::qdqOperands(Value x, const QParams &p, int64_t rank,
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

LogicalResult Lowerer::lowerQuantize(QuantizeOp q) {
  auto type = resultType();
  Type origElt = elementTypeOf(q.getOutput());
  if (isa<quant::CalibratedQuantizedType>(origElt))
    return fail("activation range is not calibrated: give calibration data "
                "(quant-compile --calib-data) or use activation-mode=dynamic");
  Type storageOrig = origElt;
  if (auto qt = dyn_cast<quant::QuantizedType>(origElt))
    storageOrig = qt.getStorageType();
  if (isa<Float8E4M3FNType>(storageOrig))
    return lowerQuantizeE4M3(q);
  if (isa<FloatType>(storageOrig))
    return fail("float8 E5M2 quantization is not supported by the CPU "
                "backend (E4M3FN is)");
  if (isa<quant::CalibratedQuantizedType>(origElt))
    return fail("activation range is not calibrated: give calibration data "
                "(quant-compile --calib-data) or use activation-mode=dynamic");
  int64_t rank = type.getRank();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  FailureOr<bool> withZp = qdqInputs(q, origElt, rank, inputs, maps);
  if (failed(withZp))
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
  bool hasZp = *withZp;
  Type elt = type.getElementType();
  return done(ValueRange{
      generic(b, loc, mixedSizes(b, loc, operands[0]), elt, inputs, maps,
              [&](OpBuilder &nb, Location l, ValueRange a) {
                Value zpf = hasZp ? convertScalar(nb, l, a[2], nb.getF32Type(),
                                                  isUnsigned, false)
                                  : scalarConstant(nb, l, nb.getF32Type(), 0);
                return quantizeScalar(nb, l, a[0], a[1], zpf, qmin, qmax, elt);
              })});
}

LogicalResult Lowerer::lowerQuantizeE4M3(QuantizeOp q) {
  auto type = resultType();
  int64_t rank = type.getRank();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  FailureOr<bool> withZp =
      qdqInputs(q, elementTypeOf(q.getOutput()), rank, inputs, maps);
  if (failed(withZp))
    return fail("unsupported quantized type");
  bool hasZp = *withZp;
  bool saturate = q.getSaturate();
  // ONNX QuantizeLinear to float8: convert(x / scale + zero point), the
  // conversion rounding to nearest even and saturating (or, with
  // saturate=false, overflowing to NaN).
  return done(ValueRange{
      generic(b, loc, mixedSizes(b, loc, operands[0]), b.getI8Type(), inputs,
              maps, [&](OpBuilder &nb, Location l, ValueRange a) {
                Type f32 = nb.getF32Type();
                Value x = convertScalar(nb, l, a[0], f32, false, false);
                Value s = convertScalar(nb, l, a[1], f32, false, false);
                Value v = arith::DivFOp::create(nb, l, x, s);
                if (hasZp)
                  v = arith::AddFOp::create(nb, l, v, decodeE4M3(nb, l, a[2]));
                return encodeE4M3(nb, l, v, saturate);
              })});
}

LogicalResult Lowerer::lowerDequantize(DequantizeOp d) {
  auto type = resultType();
  Type origElt = elementTypeOf(d.getInput());
  Type storageOrig = origElt;
  if (auto qt = dyn_cast<quant::QuantizedType>(origElt))
    storageOrig = qt.getStorageType();
  bool e4m3 = isa<Float8E4M3FNType>(storageOrig);
  if (isa<FloatType>(storageOrig) && !e4m3)
    return fail("float8 E5M2 dequantization is not supported by the CPU "
                "backend (E4M3FN is)");
  int64_t rank = type.getRank();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  FailureOr<bool> withZp = qdqInputs(d, origElt, rank, inputs, maps);
  if (failed(withZp))
    return fail("unsupported quantized type");
  bool isUnsigned = isUnsignedElement(origElt);
  bool hasZp = *withZp;
  Type elt = type.getElementType();
  return done(ValueRange{generic(
      b, loc, mixedSizes(b, loc, operands[0]), elt, inputs, maps,
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

LogicalResult Lowerer::lowerDynamicQuantize(DynamicQuantizeOp d) {
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

LogicalResult Lowerer::lowerRequantize(RequantizeOp r) {
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

LogicalResult Lowerer::lowerWeightOnly(WeightOnlyMatMulOp w) {
  auto result = resultType();
  if (!result.getElementType().isF32())
    return fail("needs f32 activations on the CPU backend");
  ElementsAttr wAttr = getConstantElements(w.getWeight());
  ElementsAttr sAttr = getConstantElements(w.getScales());
  ElementsAttr zAttr = getConstantElements(w.getZeroPoints());
  ElementsAttr bAttr = getConstantElements(w.getBias());
  if (!wAttr || !sAttr || (w.getZeroPoints() && !zAttr) ||
      (w.getBias() && !bAttr))
    return fail("needs constant weights, scales, zero points and bias");
  auto wType = cast<ShapedType>(wAttr.getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto wElt = cast<IntegerType>(wType.getElementType());
  int32_t bits = wElt.getWidth() <= 4 ? 4 : 8;
  auto bytes = getWeightBytes(wAttr);
  auto scales = getF32Values(sAttr);
  if (!bytes || !scales)
    return fail("weight data is not available (elided?)");
  int64_t g = w.getGroupSize();
  if (!useKernels)
    return lowerWeightOnlyGeneric(w, *bytes, *scales, zAttr, bAttr);
  int64_t groups = g ? (K + g - 1) / g : 1;
  // Expand per-tensor parameters to the [groups, N] layout.
  auto expand = [&](auto values) {
    using T = typename decltype(values)::value_type;
    std::vector<T> out(groups * N);
    for (int64_t i = 0; i < groups * N; ++i)
      out[i] = values.size() == 1 ? values[0] : values[i];
    return out;
  };
  std::vector<float> s = expand(*scales);
  std::vector<int32_t> z;
  if (zAttr) {
    auto zv = getIntValues(zAttr);
    if (!zv)
      return fail("zero point data is not available");
    SmallVector<int32_t> z32(zv->begin(), zv->end());
    z = expand(z32);
  }
  std::vector<char> packed(qk_wo_packed_size(K, N, bits, g));
  qk_wo_pack(bytes->data(), wElt.isUnsigned() ? 0 : 1, bits, K, N, g, s.data(),
             zAttr ? z.data() : nullptr, packed.data());
  Value blob = createBlobConstant(b, loc, blobName("wo"), packed);
  Value biasBlob;
  if (bAttr) {
    auto bias = getF32Values(bAttr);
    if (!bias)
      return fail("bias data is not available");
    ArrayRef<char> bb(reinterpret_cast<const char *>(bias->data()),
                      bias->size() * sizeof(float));
    biasBlob = createBlobConstant(b, loc, blobName("bias"), bb);
  }
  auto [a2, m] = flattenRows(b, loc, operands[0]);
  auto [buf, out] =
      kernelOutput(b, loc, {m, b.getIndexAttr(N)}, b.getF32Type());
  Type p = ptrType(b.getContext()), i64 = b.getI64Type();
  func::FuncOp fn = declareKernel(module(), "qk_wo_matmul", {p, i64, p, p, p});
  func::CallOp::create(
      b, loc, fn,
      ValueRange{pointerOf(b, loc, a2),
                 arith::IndexCastOp::create(b, loc, i64, indexValue(b, loc, m)),
                 pointerOf(b, loc, blob),
                 biasBlob ? pointerOf(b, loc, biasBlob) : nullPointer(b, loc),
                 pointerOfBuffer(b, loc, buf)});
  ++numKernelCalls;
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  sizes.back() = b.getIndexAttr(N);
  return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
}

/// Without the kernel library: the weight dequantized at compile time (the
/// same float values the kernel forms in registers) and a linalg
/// contraction, plus the bias.
LogicalResult Lowerer::lowerWeightOnlyGeneric(WeightOnlyMatMulOp w,
                                              ArrayRef<int8_t> weight,
                                              ArrayRef<float> scales,
                                              ElementsAttr zeroPoints,
                                              ElementsAttr bias) {
  auto result = resultType();
  if (!result.getElementType().isF32())
    return fail("needs f32 activations without the kernel library");
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

LogicalResult Lowerer::lowerQuantizedMatMul(QuantizedMatMulOp q) {
  auto result = resultType();
  ElementsAttr wAttr = getConstantElements(q.getRhs());
  ElementsAttr sAttr = getConstantElements(q.getRhsScale());
  ElementsAttr zAttr = getConstantElements(q.getRhsZeroPoint());
  ElementsAttr bAttr = getConstantElements(q.getBias());
  // A weight scale computed at run time (ONNX Runtime's quantize_dynamic
  // multiplies the activation's dynamic scale into it: r = float(acc) *
  // (sa * sb)) still takes the kernel: it runs with unit weight scales and
  // the run-time scale is applied after it, which rounds exactly as the
  // op's semantics, (float(acc) * lhs_scale) * rhs_scale. Only without an
  // activation or a requantized output, which would have to come after it.
  auto rScaleType = cast<ShapedType>(q.getRhsScale().getType());
  bool runtimeScale = !sAttr && q.getActivation() == "none" &&
                      !q.getOutputScale() && rScaleType.getRank() <= 1;
  if (!useKernels || !wAttr || (!sAttr && !runtimeScale) ||
      (q.getRhsZeroPoint() && !zAttr) || (q.getBias() && !bAttr) ||
      cast<ShapedType>(wAttr.getType()).getRank() != 2)
    return lowerQuantizedMatMulGeneric(q);
  auto wType = cast<ShapedType>(wAttr.getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto bytes = getWeightBytes(wAttr);
  auto scales =
      runtimeScale ? std::optional<SmallVector<float>>(SmallVector<float>{1.0f})
                   : getF32Values(sAttr);
  if (!bytes || !scales)
    return fail("weight data is not available (elided?)");
  std::vector<float> s(N);
  for (int64_t n = 0; n < N; ++n)
    s[n] = scales->size() == 1 ? (*scales)[0] : (*scales)[n];
  std::vector<int32_t> z, bias;
  if (zAttr) {
    auto zv = getIntValues(zAttr);
    z.resize(N);
    for (int64_t n = 0; n < N; ++n)
      z[n] = zv->size() == 1 ? (*zv)[0] : (*zv)[n];
  }
  if (bAttr) {
    auto bv = getIntValues(bAttr);
    bias.assign(bv->begin(), bv->end());
  }
  bool bSigned = !cast<IntegerType>(wType.getElementType()).isUnsigned();
  std::vector<char> packed(qk_qgemm_packed_size(K, N));
  qk_qgemm_pack_b(bytes->data(), bSigned ? 1 : 0, K, N,
                  zAttr ? z.data() : nullptr, s.data(),
                  bAttr ? bias.data() : nullptr, packed.data());
  Value blob = createBlobConstant(b, loc, blobName("qgemm"), packed);

  bool aSigned = !isUnsignedElement(elementTypeOf(q.getLhs()));
  auto [a2, m] = flattenRows(b, loc, operands[0]);
  // Operands after lhs, rhs: lhs_scale, lhs_zp, rhs_scale, [rhs_zp], [bias],
  // [out_scale, out_zp].
  unsigned idx = 2;
  Value aScale = operands[idx++], aZp = operands[idx++];
  idx++; // rhs scale
  if (q.getRhsZeroPoint())
    idx++;
  if (q.getBias())
    idx++;
  Value oScale, oZp;
  if (q.getOutputScale()) {
    oScale = operands[idx++];
    oZp = operands[idx++];
  }
  bool perRow = cast<RankedTensorType>(aScale.getType()).getNumElements() != 1;
  int32_t outType = 0;
  if (oScale)
    outType = isUnsignedElement(elementTypeOf(q.getOutputZeroPoint())) ? 2 : 1;
  int32_t act = llvm::StringSwitch<int32_t>(q.getActivation())
                    .Case("relu", 1)
                    .Case("gelu", 2)
                    .Case("silu", 3)
                    .Default(0);
  auto [buf, out] =
      kernelOutput(b, loc, {m, b.getIndexAttr(N)}, result.getElementType());
  Type p = ptrType(b.getContext()), i64 = b.getI64Type(), i32 = b.getI32Type();
  func::FuncOp fn = declareKernel(
      module(), "qk_qgemm", {p, i64, i32, p, p, i32, p, i32, i32, p, p, p});
  func::CallOp::create(
      b, loc, fn,
      ValueRange{pointerOf(b, loc, a2),
                 arith::IndexCastOp::create(b, loc, i64, indexValue(b, loc, m)),
                 i32Const(b, loc, aSigned), pointerOf(b, loc, aZp),
                 pointerOf(b, loc, aScale), i32Const(b, loc, perRow),
                 pointerOf(b, loc, blob), i32Const(b, loc, act),
                 i32Const(b, loc, outType),
                 oScale ? pointerOf(b, loc, oScale) : nullPointer(b, loc),
                 oZp ? pointerOf(b, loc, oZp) : nullPointer(b, loc),
                 pointerOfBuffer(b, loc, buf)});
  ++numKernelCalls;
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  sizes.back() = b.getIndexAttr(N);
  Value r = reshapeTo(b, loc, out, result, sizes);
  if (!runtimeScale)
    return done(ValueRange{r});
  return done(elementwise(b, loc, result, ValueRange{r, operands[4]},
                          [](OpBuilder &nb, Location l, ValueRange a) {
                            return (Value)arith::MulFOp::create(nb, l, a[0],
                                                                a[1]);
                          }));
}

/// qnn.quantized_matmul of two activations (attention): an i32
/// contraction, then the epilogue of the op's semantics elementwise.
LogicalResult Lowerer::lowerQuantizedMatMulGeneric(QuantizedMatMulOp q) {
  auto result = resultType();
  unsigned idx = 2;
  Value lScale = operands[idx++], lZp = operands[idx++];
  Value rScale = operands[idx++];
  Value rZp = q.getRhsZeroPoint() ? operands[idx++] : Value();
  Value bias = q.getBias() ? operands[idx++] : Value();
  Value oScale, oZp;
  if (q.getOutputScale()) {
    oScale = operands[idx++];
    oZp = operands[idx++];
  }
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
  // Per-tensor parameters, no bias, no activation and equal batch dims
  // (static and equal, or both dynamic: then equal by the model's
  // semantics, as for the float batched kernel): the batched kernel (it
  // packs the right operand at run time).
  auto lt = cast<RankedTensorType>(operands[0].getType());
  auto rt = cast<RankedTensorType>(operands[1].getType());
  bool sameBatch = lt.getRank() >= 2 && lt.getRank() == rt.getRank();
  for (int64_t i = 0; sameBatch && i + 2 < lt.getRank(); ++i)
    sameBatch = lt.getDimSize(i) == rt.getDimSize(i) &&
                (lt.isDynamicDim(i) || lt.getDimSize(i) >= 1);
  if (useKernels && sameBatch && !bias && q.getActivation() == "none" &&
      isScalar(lZp) && isScalar(rZp) && isScalar(lScale) && isScalar(rScale) &&
      isScalar(oScale) && isScalar(oZp)) {
    SmallVector<OpFoldResult> ls = mixedSizes(b, loc, operands[0]);
    SmallVector<OpFoldResult> rs = mixedSizes(b, loc, operands[1]);
    AffineExpr s0, s1;
    bindSymbols(b.getContext(), s0, s1);
    OpFoldResult batch = b.getIndexAttr(1);
    for (int64_t i = 0; i + 2 < lt.getRank(); ++i)
      batch = affine::makeComposedFoldedAffineApply(b, loc, s0 * s1,
                                                    {batch, ls[i]});
    OpFoldResult m = ls[ls.size() - 2], k = ls.back(), n = rs.back();
    SmallVector<OpFoldResult> l3{batch, m, k}, r3{batch, k, n}, o3{batch, m, n};
    Value a3 = reshapeTo(b, loc, operands[0],
                         tensorTypeOf(l3, lt.getElementType()), l3);
    Value b3 = reshapeTo(b, loc, operands[1],
                         tensorTypeOf(r3, rt.getElementType()), r3);
    Value bZp = rZp;
    if (!bZp)
      bZp = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({}, rt.getElementType()),
                                 b.getZeroAttr(rt.getElementType())));
    auto [buf, out] = kernelOutput(b, loc, o3, result.getElementType());
    int32_t outType = 0;
    if (oScale)
      outType =
          isUnsignedElement(elementTypeOf(q.getOutputZeroPoint())) ? 2 : 1;
    Type p = ptrType(b.getContext()), i64 = b.getI64Type(),
         i32t = b.getI32Type();
    func::FuncOp fn = declareKernel(
        module(), "qk_qgemm_batched",
        {p, p, p, i64, i64, i64, i64, i32t, p, p, i32t, p, p, i32t, p, p});
    auto idx64 = [&](OpFoldResult v) {
      return (Value)arith::IndexCastOp::create(b, loc, i64,
                                               indexValue(b, loc, v));
    };
    func::CallOp::create(
        b, loc, fn,
        ValueRange{pointerOf(b, loc, a3), pointerOf(b, loc, b3),
                   pointerOfBuffer(b, loc, buf), idx64(batch), idx64(m),
                   idx64(k), idx64(n), i32Const(b, loc, lU ? 0 : 1),
                   pointerOf(b, loc, lZp), pointerOf(b, loc, lScale),
                   i32Const(b, loc, rU ? 0 : 1), pointerOf(b, loc, bZp),
                   pointerOf(b, loc, rScale), i32Const(b, loc, outType),
                   oScale ? pointerOf(b, loc, oScale) : nullPointer(b, loc),
                   oZp ? pointerOf(b, loc, oZp) : nullPointer(b, loc)});
    ++numKernelCalls;
    SmallVector<OpFoldResult> sizes(ls.begin(), ls.end() - 1);
    sizes.push_back(n);
    return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
  }
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

LogicalResult Lowerer::lower() {
  if (op->hasAttr("qnn.cpu.bias_fused_into_producer")) {
    // The add whose bias a matmul kernel already applied.
    Value produced =
        op->getOperand(0).getDefiningOp<MatMulOp>() ? operands[0] : operands[1];
    return done(ValueRange{produced});
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ConstantOp>([&](auto c) { return lowerConstant(c); })
      .Case<SqrtOp, ReciprocalOp, NegOp, ExpOp, LogOp, AbsOp, ErfOp, TanhOp,
            SigmoidOp, ReluOp, SiluOp, GeluOp>(
          [&](auto) { return lowerUnary(); })
      .Case<AddOp, SubOp, MulOp, DivOp, PowOp, MinOp, MaxOp>(
          [&](auto) { return lowerBinary(); })
      .Case<WhereOp>([&](auto) { return lowerWhere(); })
      .Case<CastOp>([&](auto) { return lowerCast(); })
      .Case<ShapeOp>([&](auto s) { return lowerShape(s); })
      .Case<MatMulOp>([&](auto m) { return lowerMatMul(m); })
      .Case<MatMulIntegerOp>([&](auto m) { return lowerMatMulInteger(m); })
      .Case<SoftmaxOp>([&](auto s) { return lowerSoftmax(s); })
      .Case<LayerNormOp>([&](auto n) { return lowerLayerNorm(n); })
      .Case<RMSNormOp>([&](auto n) { return lowerRMSNorm(n); })
      .Case<ReduceMeanOp>([&](auto r) {
        return lowerReduce("mean", r.getAxes(), r.getKeepdims(),
                           r.getNoopWithEmptyAxes());
      })
      .Case<ReduceSumOp>([&](auto r) {
        return lowerReduce("sum", r.getAxes(), r.getKeepdims(),
                           r.getNoopWithEmptyAxes());
      })
      .Case<ReduceMaxOp>([&](auto r) {
        return lowerReduce("max", r.getAxes(), r.getKeepdims(),
                           r.getNoopWithEmptyAxes());
      })
      .Case<ReshapeOp>([&](ReshapeOp r) -> LogicalResult {
        std::optional<SmallVector<int64_t>> target =
            getConstantIntValues(r.getShape());
        return lowerReshapeLike(target ? ArrayRef<int64_t>(*target)
                                       : ArrayRef<int64_t>{},
                                r.getAllowzero(), operands[1]);
      })
      .Case<SqueezeOp, UnsqueezeOp>([&](auto) -> LogicalResult {
        // The kept dims in order: the input's non-unit dims map to the
        // result's non-unit dims.
        auto rt = resultType();
        SmallVector<OpFoldResult> in = mixedSizes(b, loc, operands[0]);
        auto it = cast<RankedTensorType>(operands[0].getType());
        SmallVector<OpFoldResult> kept;
        for (int64_t i = 0; i < it.getRank(); ++i)
          if (it.getDimSize(i) != 1)
            kept.push_back(in[i]);
        SmallVector<OpFoldResult> sizes;
        size_t k = 0;
        for (int64_t d : rt.getShape()) {
          if (d == 1) {
            sizes.push_back(b.getIndexAttr(1));
            continue;
          }
          if (k >= kept.size())
            return fail("cannot map the dims of the reshape");
          sizes.push_back(kept[k++]);
        }
        return done(ValueRange{reshapeTo(b, loc, operands[0], rt, sizes)});
      })
      .Case<TransposeOp>([&](auto t) { return lowerTranspose(t); })
      .Case<ConcatOp>([&](auto c) { return lowerConcat(c); })
      .Case<SplitOp>([&](auto s) { return lowerSplit(s); })
      .Case<SliceOp>([&](auto s) { return lowerSlice(s); })
      .Case<GatherOp>([&](auto g) { return lowerGather(g); })
      .Case<ExpandOp>([&](auto e) { return lowerExpand(e); })
      .Case<QuantizeOp>([&](auto q) { return lowerQuantize(q); })
      .Case<DequantizeOp>([&](auto d) { return lowerDequantize(d); })
      .Case<DynamicQuantizeOp>([&](auto d) { return lowerDynamicQuantize(d); })
      .Case<RequantizeOp>([&](auto r) { return lowerRequantize(r); })
      .Case<WeightOnlyMatMulOp>([&](auto w) { return lowerWeightOnly(w); })
      .Case<QuantizedMatMulOp>([&](auto q) { return lowerQuantizedMatMul(q); })
      .Default([&](Operation *) {
        return fail("has no CPU lowering yet (gemm is decomposed by "
                    "--qnn-normalize; matmul_nbits and qlinear_matmul by "
                    "--qnn-fuse-quantized-matmul)");
      });
}

struct LowerQNNOp : ConversionPattern {
  LowerQNNOp(const TypeConverter &converter, MLIRContext *ctx,
             int64_t &numKernelCalls, bool useKernels)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), 1, ctx),
        numKernelCalls(numKernelCalls), useKernels(useKernels) {}
  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<QNNDialect>(op->getDialect()))
      return failure();
    Lowerer l{rewriter,       op,        operands, *getTypeConverter(),
              numKernelCalls, useKernels};
    return l.lower();
  }
  int64_t &numKernelCalls;
  bool useKernels;
};

/// Marks `add(matmul(x, W), bias)` with a constant f32 [K, N] weight and a
/// constant [N] bias so that the matmul kernel applies the bias.
void markFusedBias(ModuleOp module) {
  module.walk([](MatMulOp mm) {
    bool transposed = false;
    if (!mm.getResult().hasOneUse() ||
        !getConstantElements(stripMatrixTranspose(mm.getRhs(), transposed)))
      return;
    auto add = dyn_cast<AddOp>(*mm.getResult().getUsers().begin());
    if (!add || add.getType() != mm.getType())
      return;
    Value other = add.getLhs() == mm.getResult() ? add.getRhs() : add.getLhs();
    auto ot = dyn_cast<RankedTensorType>(other.getType());
    auto wt = cast<RankedTensorType>(mm.getRhs().getType());
    if (!getConstantElements(other) || !ot || wt.getRank() != 2 ||
        !ot.getElementType().isF32() ||
        ot.getNumElements() != wt.getDimSize(1) ||
        ot.getShape().back() != wt.getDimSize(1))
      return;
    mm->setAttr("qnn.cpu.fused_bias", UnitAttr::get(mm.getContext()));
    add->setAttr("qnn.cpu.bias_fused_into_producer",
                 UnitAttr::get(mm.getContext()));
  });
}

/// Gives each function result that would alias an input, a constant, a
/// strided slice, a tensor.reshape view or another result a buffer of its
/// own, by a copy in a linalg.generic. The runtime owns (and frees) every
/// result buffer; a returned argument, constant or memref.reshape view does
/// not lower through the deallocation pipeline (an unresolved
/// unrealized_conversion_cast), and a returned slice would be cloned with a
/// strided memref.copy, i.e. a call of MLIR's runtime helper memrefCopy that
/// bundles do not link.
void copyAliasingResults(func::FuncOp func) {
  func.walk([](func::ReturnOp ret) {
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    llvm::SmallPtrSet<Value, 4> seen;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type)
        continue;
      bool copy = !seen.insert(v).second;
      for (Value root = v; !copy;) {
        Operation *def = root.getDefiningOp();
        if (!def ||
            isa<arith::ConstantOp, tensor::ExtractSliceOp, tensor::ReshapeOp>(
                def)) {
          copy = true;
        } else if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                       tensor::CastOp>(def)) {
          root = def->getOperand(0);
          continue;
        }
        break;
      }
      if (!copy)
        continue;
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
      Value fresh = copyInto(b, loc, v,
                             emptyTensor(b, loc, sizes, type.getElementType()));
      if (fresh.getType() != type)
        fresh = tensor::CastOp::create(b, loc, type, fresh);
      operand.set(fresh);
    }
  });
}

struct QNNLowerToCPUPass
    : quantopt::impl::QNNLowerToCPUPassBase<QNNLowerToCPUPass> {
  using QNNLowerToCPUPassBase::QNNLowerToCPUPassBase;

  void getDependentDialects(DialectRegistry &registry) const override {
    QNNLowerToCPUPassBase::getDependentDialects(registry);
    // The bounds check of run-time gather indices branches (scf.if).
    registry.insert<scf::SCFDialect>();
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (kernelLibrary)
      markFusedBias(module);
    CPUTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<QNNDialect>();
    target.addLegalDialect<
        arith::ArithDialect, bufferization::BufferizationDialect,
        linalg::LinalgDialect, LLVM::LLVMDialect, math::MathDialect,
        memref::MemRefDialect, tensor::TensorDialect, affine::AffineDialect,
        scf::SCFDialect>();
    target.addLegalOp<ModuleOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp, tensor::CastOp>(
        [&](Operation *op) { return converter.isLegal(op); });
    RewritePatternSet patterns(ctx);
    int64_t calls = 0;
    patterns.add<LowerQNNOp>(converter, ctx, calls, kernelLibrary);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        copyAliasingResults(func);
    numKernelCalls = calls;
  }
};

} // namespace
