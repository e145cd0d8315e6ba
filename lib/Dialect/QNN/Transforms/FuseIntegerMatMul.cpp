//===- FuseIntegerMatMul.cpp - W8A8 Q/DQ + matmul to quantized_matmul -----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Forms `qnn.quantized_matmul` (integer matmul, i32 accumulation, fused
// epilogue) from the spellings W8A8 arrives in:
//
//   matmul(dequantize(q_a, s_a, z_a), dequantize(q_w, s_w, z_w))  (QDQ)
//   qlinear_matmul(...)                                 (ONNX QLinearMatMul)
//   mul(cast<f32>(matmul_integer(...)), s)              (ORT MatMulInteger)
//
// and then grows the epilogue one op at a time, in the order the op's
// semantics apply it: an add of a per-channel bias (quantized to i32 with
// scale s_a * s_w[n]), a relu/gelu/silu, and the quantize of the next layer.
// Each step requires the intermediate value to have no other user, so no
// float result that someone still reads disappears.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

/// Constants with more elements than this become resource blobs, as the
/// importer and qnn-quantize-weights do.
constexpr int64_t kInlineLimit = 64;

bool isInt8Storage(Type type) {
  auto intType = dyn_cast<IntegerType>(type);
  return intType && intType.getWidth() == 8 && !intType.isSigned();
}

Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Number of elements of a statically shaped value, or -1.
int64_t numElements(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() ? type.getNumElements() : -1;
}

bool isConstant(Value v) { return v && matchPattern(v, m_Constant()); }

std::optional<SmallVector<float>> constantF32(Value v) {
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return getF32Values(attr);
}

/// The last dimension of the (rank >= 2) right operand: output channels.
int64_t outputChannels(Value rhs) {
  auto type = dyn_cast<RankedTensorType>(rhs.getType());
  if (!type || type.getRank() < 2)
    return ShapedType::kDynamic;
  return type.getDimSize(type.getRank() - 1);
}

/// A scale or zero point that is per tensor (one element) or per output
/// channel (`[n]`).
bool isPerTensorOrChannel(Value param, int64_t n) {
  int64_t count = numElements(param);
  if (count == 1)
    return true;
  auto type = dyn_cast<RankedTensorType>(param.getType());
  return type && !ShapedType::isDynamic(n) && type.getRank() == 1 && count == n;
}

/// A zero point that is absent or all zeros carries no information.
bool isZero(Value zeroPoint) {
  if (!zeroPoint)
    return true;
  std::optional<SmallVector<int64_t>> values = getConstantIntValues(zeroPoint);
  return values && llvm::all_of(*values, [](int64_t v) { return v == 0; });
}

Value zeroConstant(PatternRewriter &rewriter, Location loc, Type storage) {
  auto type = RankedTensorType::get({}, storage);
  return ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(type, rewriter.getIntegerAttr(storage, 0)));
}

//===----------------------------------------------------------------------===//
// Quantized operands
//===----------------------------------------------------------------------===//

/// An integer matmul operand with its dequantization parameters.
struct QuantizedOperand {
  Value value, scale, zeroPoint;
};

/// 4-bit weights (W4A8) are accepted on the weight side.
bool isInt4Storage(Type type) {
  auto intType = dyn_cast<IntegerType>(type);
  return intType && intType.getWidth() == 4 && !intType.isSigned();
}

/// Common checks of a dequantize feeding the matmul: explicit parameters,
/// int8/uint8 (or, for weights, int4/uint4) storage, f32 result, not blocked.
DequantizeOp getInt8Dequantize(Value v, bool allowInt4 = false) {
  auto dq = v.getDefiningOp<DequantizeOp>();
  Type storage = dq ? elementTypeOf(dq.getInput()) : Type();
  if (!dq || !dq.getScale() || dq.getBlockSize() != 0 ||
      !(isInt8Storage(storage) || (allowInt4 && isInt4Storage(storage))) ||
      !dq.getType().getElementType().isF32())
    return {};
  return dq;
}

/// The activation side: per-tensor parameters known before the matmul runs,
/// as constants (static quantization) or from the qnn.dynamic_quantize that
/// produced the value (dynamic quantization).
FailureOr<QuantizedOperand> matchLhs(Value v) {
  // Per token: a dequantize blocked along the last axis with one block per
  // row, whose parameters come from a per-token qnn.dynamic_quantize.
  if (auto dq = v.getDefiningOp<DequantizeOp>()) {
    auto dynamic = dq.getInput().getDefiningOp<DynamicQuantizeOp>();
    auto type = dyn_cast<RankedTensorType>(dq.getInput().getType());
    if (dynamic && dynamic.getPerToken() && !dynamic.getE4m3() && type &&
        type.getRank() >= 1 && dq.getScale() == dynamic.getScale() &&
        dq.getZeroPoint() == dynamic.getZeroPoint() &&
        dq.getType().getElementType().isF32() &&
        normalizeAxis(dq.getAxis(), type.getRank()) == type.getRank() - 1 &&
        static_cast<int64_t>(dq.getBlockSize()) ==
            type.getDimSize(type.getRank() - 1))
      return QuantizedOperand{dq.getInput(), dq.getScale(), dq.getZeroPoint()};
  }
  DequantizeOp dq = getInt8Dequantize(v);
  if (!dq || numElements(dq.getScale()) != 1 ||
      (dq.getZeroPoint() && numElements(dq.getZeroPoint()) != 1))
    return failure();
  bool constantParams = isConstant(dq.getScale()) &&
                        (!dq.getZeroPoint() || isConstant(dq.getZeroPoint()));
  auto dynamic = dq.getInput().getDefiningOp<DynamicQuantizeOp>();
  bool dynamicParams = dynamic && dq.getScale() == dynamic.getScale() &&
                       dq.getZeroPoint() == dynamic.getZeroPoint();
  if (!constantParams && !dynamicParams)
    return failure();
  return QuantizedOperand{dq.getInput(), dq.getScale(), dq.getZeroPoint()};
}

/// The weight side (or the second activation of QK^T): constant parameters
/// per tensor, or per output channel along the last dimension.
FailureOr<QuantizedOperand> matchRhs(Value v) {
  DequantizeOp dq = getInt8Dequantize(v, /*allowInt4=*/true);
  if (!dq || !isConstant(dq.getScale()) ||
      (dq.getZeroPoint() && !isConstant(dq.getZeroPoint())))
    return failure();
  Value q = dq.getInput();
  if (numElements(dq.getScale()) != 1) {
    auto type = dyn_cast<RankedTensorType>(q.getType());
    if (!type || type.getRank() < 2 ||
        normalizeAxis(dq.getAxis(), type.getRank()) != type.getRank() - 1 ||
        !isPerTensorOrChannel(dq.getScale(), outputChannels(q)))
      return failure();
  }
  if (dq.getZeroPoint() &&
      !isPerTensorOrChannel(dq.getZeroPoint(), outputChannels(q)))
    return failure();
  return QuantizedOperand{q, dq.getScale(), dq.getZeroPoint()};
}

//===----------------------------------------------------------------------===//
// Building the fused op
//===----------------------------------------------------------------------===//

/// Operands and epilogue of a qnn.quantized_matmul under construction.
struct QuantizedMatMulParts {
  QuantizedOperand lhs, rhs;
  Value bias, outputScale, outputZeroPoint;
  StringRef activation = "none";

  static QuantizedMatMulParts of(QuantizedMatMulOp op) {
    return {{op.getLhs(), op.getLhsScale(), op.getLhsZeroPoint()},
            {op.getRhs(), op.getRhsScale(), op.getRhsZeroPoint()},
            op.getBias(),
            op.getOutputScale(),
            op.getOutputZeroPoint(),
            op.getActivation()};
  }

  QuantizedMatMulOp build(PatternRewriter &rewriter, Location loc,
                          Type resultType) const {
    Value lhsZeroPoint =
        lhs.zeroPoint ? lhs.zeroPoint
                      : zeroConstant(rewriter, loc, elementTypeOf(lhs.value));
    // A zero rhs zero point is the symmetric case; saying so by omission
    // lets a backend skip the column-sum correction without looking.
    Value rhsZeroPoint = isZero(rhs.zeroPoint) ? Value() : rhs.zeroPoint;
    return QuantizedMatMulOp::create(rewriter, loc, resultType, lhs.value,
                                     rhs.value, lhs.scale, lhsZeroPoint,
                                     rhs.scale, rhsZeroPoint, bias, outputScale,
                                     outputZeroPoint, activation);
  }
};

/// The fused op producing `v` when its epilogue can still grow: `v` has no
/// other user and no output quantization has been absorbed yet.
QuantizedMatMulOp getOpenEpilogue(Value v) {
  auto op = v.getDefiningOp<QuantizedMatMulOp>();
  if (!op || !v.hasOneUse() || op.getOutputScale())
    return {};
  return op;
}

/// An i32 constant of `values`, inline when small.
Value createI32Constant(PatternRewriter &rewriter, Location loc,
                        ArrayRef<int32_t> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    rewriter.getI32Type());
  ElementsAttr attr;
  if (static_cast<int64_t>(values.size()) <= kInlineLimit) {
    attr = DenseElementsAttr::get(type, values);
  } else {
    ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()),
                         values.size() * sizeof(int32_t));
    attr = DenseResourceElementsAttr::get(
        type, "bias_i32",
        HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(int32_t)));
  }
  return ConstantOp::create(rewriter, loc, attr);
}

/// Whether `bias` broadcasts as a per-channel vector over a result of
/// `resultRank`: one element, or `[1, ..., 1, n]` of at most that rank.
bool isChannelVector(Value bias, int64_t n, int64_t resultRank) {
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  if (!type || !type.hasStaticShape() || type.getRank() > resultRank)
    return false;
  if (type.getNumElements() == 1)
    return true;
  return type.getRank() >= 1 && type.getShape().back() == n &&
         type.getNumElements() == n;
}

/// The i32 bias (scale `s_a * s_w[n]`) equal to the float bias `bias`
/// added to the fused op's result:
///  * `dequantize(b_q : i32, s_b, 0)` with `s_b` equal to that scale (ONNX
///    Runtime's QDQ bias) gives `b_q` itself;
///  * a constant f32 bias is quantized with round half to even, as ONNX
///    Runtime quantizes biases; values beyond i32 are not absorbed.
FailureOr<Value> quantizeBias(PatternRewriter &rewriter, Location loc,
                              QuantizedMatMulOp op, Value bias,
                              int64_t resultRank) {
  int64_t n = outputChannels(op.getRhs());
  if (ShapedType::isDynamic(n) || !isChannelVector(bias, n, resultRank))
    return failure();
  std::optional<SmallVector<float>> lhsScale = constantF32(op.getLhsScale());
  std::optional<SmallVector<float>> rhsScale = constantF32(op.getRhsScale());
  if (!lhsScale || !rhsScale)
    return failure();
  SmallVector<float> scale(n);
  for (int64_t i = 0; i < n; ++i)
    scale[i] = (*lhsScale)[0] * (*rhsScale)[rhsScale->size() == 1 ? 0 : i];

  if (auto dq = bias.getDefiningOp<DequantizeOp>()) {
    std::optional<SmallVector<float>> biasScale = constantF32(dq.getScale());
    if (!elementTypeOf(dq.getInput()).isInteger(32) || !biasScale ||
        !isZero(dq.getZeroPoint()) || dq.getBlockSize() != 0 ||
        (biasScale->size() != 1 &&
         static_cast<int64_t>(biasScale->size()) != n))
      return failure();
    for (int64_t i = 0; i < n; ++i)
      if ((*biasScale)[biasScale->size() == 1 ? 0 : i] != scale[i])
        return failure();
    Value q = dq.getInput();
    auto qType = cast<RankedTensorType>(q.getType());
    if (qType.getNumElements() == 1 || qType.getRank() == 1)
      return q;
    // [1, ..., n]: the op takes a vector.
    std::optional<SmallVector<int64_t>> values = getConstantIntValues(q);
    if (!values)
      return failure();
    SmallVector<int32_t> narrowed(values->begin(), values->end());
    return createI32Constant(rewriter, loc, narrowed);
  }

  std::optional<SmallVector<float>> values = constantF32(bias);
  if (!values)
    return failure();
  SmallVector<int32_t> quantized(n);
  for (int64_t i = 0; i < n; ++i) {
    float q = std::nearbyint((*values)[values->size() == 1 ? 0 : i] / scale[i]);
    // [-2^31, 2^31): the float bounds are exact, unlike INT32_MAX.
    if (!(q >= -0x1p31f && q < 0x1p31f))
      return failure();
    quantized[i] = static_cast<int32_t>(q);
  }
  return createI32Constant(rewriter, loc, quantized);
}

//===----------------------------------------------------------------------===//
// Patterns: forming the op
//===----------------------------------------------------------------------===//

/// The explicit storage type of an 8-bit !quant.uniform type whose
/// parameters an explicit qnn.quantize reproduces exactly: f32 expressed
/// values and the full storage range (explicit quantize always saturates to
/// it). Null otherwise.
IntegerType explicitStorageType(quant::QuantizedType type) {
  // Check the kind first: !quant.calibrated has no storage type.
  if (!type ||
      !isa<quant::UniformQuantizedType, quant::UniformQuantizedPerAxisType>(
          type) ||
      !type.getExpressedType().isF32() ||
      type.getStorageTypeIntegralWidth() != 8)
    return {};
  bool isSigned = type.isSigned();
  if (type.getStorageTypeMin() != (isSigned ? -128 : 0) ||
      type.getStorageTypeMax() != (isSigned ? 127 : 255))
    return {};
  return IntegerType::get(type.getContext(), 8,
                          isSigned ? IntegerType::Signless
                                   : IntegerType::Unsigned);
}

/// quantize(x) : !quant.uniform<...> whose users are all dequantizes, one of
/// which feeds a matmul -> the same quantize and dequantizes with explicit
/// scale and zero-point constants. Calibrated activations arrive typed
/// (qnn-fold-calibration); both spellings have the same semantics, but only
/// the explicit one can become qnn.quantized_matmul operands.
struct MaterializeQuantParams : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto qType = dyn_cast<quant::QuantizedType>(op.getType().getElementType());
    IntegerType storage = explicitStorageType(qType);
    if (!storage || !op.getInput().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not an 8-bit uniform type");
    bool feedsMatMul = false;
    for (Operation *user : op->getUsers()) {
      if (!isa<DequantizeOp>(user))
        return rewriter.notifyMatchFailure(op, "a user is not a dequantize");
      feedsMatMul |= llvm::any_of(user->getUsers(), llvm::IsaPred<MatMulOp>);
    }
    if (!feedsMatMul)
      return rewriter.notifyMatchFailure(op, "no matmul to fuse with");

    SmallVector<float> scales;
    SmallVector<APInt> zeroPoints;
    int64_t axis = 1;
    auto addParam = [&](double scale, int64_t zeroPoint) {
      scales.push_back(static_cast<float>(scale));
      zeroPoints.push_back(APInt(8, zeroPoint, qType.isSigned()));
    };
    SmallVector<int64_t> paramShape;
    if (auto perTensor = dyn_cast<quant::UniformQuantizedType>(qType)) {
      addParam(perTensor.getScale(), perTensor.getZeroPoint());
    } else {
      auto perAxis = cast<quant::UniformQuantizedPerAxisType>(qType);
      for (auto [scale, zeroPoint] :
           llvm::zip_equal(perAxis.getScales(), perAxis.getZeroPoints()))
        addParam(scale, zeroPoint);
      axis = perAxis.getQuantizedDimension();
      paramShape.push_back(static_cast<int64_t>(scales.size()));
    }
    Location loc = op.getLoc();
    Value scale = ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(
            RankedTensorType::get(paramShape, rewriter.getF32Type()),
            ArrayRef<float>(scales)));
    Value zeroPoint = ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get(paramShape, storage),
                               zeroPoints));
    auto quantized = QuantizeOp::create(
        rewriter, loc, op.getType().clone(storage), op.getInput(), scale,
        zeroPoint, rewriter.getI64IntegerAttr(axis),
        rewriter.getI64IntegerAttr(0), op.getSaturateAttr());
    quantized->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    for (Operation *user : llvm::make_early_inc_range(op->getUsers())) {
      auto dq = cast<DequantizeOp>(user);
      rewriter.setInsertionPoint(dq);
      auto explicitDq = DequantizeOp::create(
          rewriter, dq.getLoc(), dq.getType(), quantized.getOutput(), scale,
          zeroPoint, rewriter.getI64IntegerAttr(axis),
          rewriter.getI64IntegerAttr(0));
      explicitDq->setDiscardableAttrs(dq->getDiscardableAttrDictionary());
      rewriter.replaceOp(dq, explicitDq.getOutput());
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// matmul(dequantize(q_a, s_a, z_a), dequantize(q_w, s_w, z_w)) ->
/// quantized_matmul(q_a, q_w, s_a, z_a, s_w, z_w) with an f32 result.
struct FuseDequantizedMatMul : public OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "result is not f32");
    FailureOr<QuantizedOperand> lhs = matchLhs(op.getLhs());
    if (failed(lhs))
      return rewriter.notifyMatchFailure(
          op, "lhs is not an int8 dequantize with per-tensor parameters "
              "known before the matmul");
    FailureOr<QuantizedOperand> rhs = matchRhs(op.getRhs());
    if (failed(rhs))
      return rewriter.notifyMatchFailure(
          op, "rhs is not an int8 dequantize with constant per-tensor or "
              "per-output-channel parameters");
    QuantizedMatMulParts parts{*lhs, *rhs};
    rewriter.replaceOp(
        op, parts.build(rewriter, op.getLoc(), op.getType()).getOutput());
    return success();
  }
};

/// qlinear_matmul (ONNX QLinearMatMul) is the fused op with an output
/// quantization; int8/uint8 operands and per-tensor a/y parameters only.
struct FuseQLinearMatMul : public OpRewritePattern<QLinearMatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QLinearMatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isInt8Storage(elementTypeOf(op.getA())) ||
        !isInt8Storage(elementTypeOf(op.getB())) ||
        !isInt8Storage(elementTypeOf(op.getYZeroPoint())))
      return rewriter.notifyMatchFailure(op, "not int8/uint8");
    for (Value scale : {op.getAScale(), op.getBScale(), op.getYScale()})
      if (!elementTypeOf(scale).isF32())
        return rewriter.notifyMatchFailure(op, "scales are not f32");
    if (numElements(op.getAScale()) != 1 ||
        numElements(op.getAZeroPoint()) != 1 ||
        numElements(op.getYScale()) != 1 ||
        numElements(op.getYZeroPoint()) != 1)
      return rewriter.notifyMatchFailure(op, "a or y parameters are not per "
                                             "tensor");
    int64_t n = outputChannels(op.getB());
    if (!isPerTensorOrChannel(op.getBScale(), n) ||
        !isPerTensorOrChannel(op.getBZeroPoint(), n))
      return rewriter.notifyMatchFailure(op, "b parameters are not per tensor "
                                             "or per output channel");
    QuantizedMatMulParts parts{{op.getA(), op.getAScale(), op.getAZeroPoint()},
                               {op.getB(), op.getBScale(), op.getBZeroPoint()}};
    parts.outputScale = op.getYScale();
    parts.outputZeroPoint = op.getYZeroPoint();
    rewriter.replaceOp(
        op, parts.build(rewriter, op.getLoc(), op.getType()).getOutput());
    return success();
  }
};

/// mul(cast<f32>(matmul_integer(a, b, z_a, z_b)), s) with `s` one element or
/// per output channel (ONNX Runtime's dynamic quantization, where `s` is
/// a_scale * b_scale) -> quantized_matmul with lhs scale 1 and rhs scale s:
/// `acc * 1 * s[n]` is `acc * s[n]` exactly.
struct FuseMatMulIntegerScale : public OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [castValue, scale] : {std::pair(op.getLhs(), op.getRhs()),
                                    std::pair(op.getRhs(), op.getLhs())}) {
      auto cast = castValue.getDefiningOp<CastOp>();
      if (!cast || !castValue.hasOneUse() ||
          !cast.getType().getElementType().isF32() ||
          op.getType() != cast.getType() || !elementTypeOf(scale).isF32())
        continue;
      auto mmi = cast.getInput().getDefiningOp<MatMulIntegerOp>();
      if (!mmi || !mmi->hasOneUse() ||
          !isInt8Storage(elementTypeOf(mmi.getLhs())) ||
          !isInt8Storage(elementTypeOf(mmi.getRhs())))
        continue;
      int64_t n = outputChannels(mmi.getRhs());
      if ((mmi.getLhsZeroPoint() && numElements(mmi.getLhsZeroPoint()) != 1) ||
          (mmi.getRhsZeroPoint() &&
           !isPerTensorOrChannel(mmi.getRhsZeroPoint(), n)) ||
          !isPerTensorOrChannel(scale, n))
        continue;
      auto one = ConstantOp::create(
          rewriter, op.getLoc(),
          DenseElementsAttr::get(
              RankedTensorType::get({}, rewriter.getF32Type()), 1.0f));
      QuantizedMatMulParts parts{{mmi.getLhs(), one, mmi.getLhsZeroPoint()},
                                 {mmi.getRhs(), scale, mmi.getRhsZeroPoint()}};
      rewriter.replaceOp(
          op, parts.build(rewriter, mmi.getLoc(), op.getType()).getOutput());
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not a scaled matmul_integer");
  }
};

//===----------------------------------------------------------------------===//
// Patterns: growing the epilogue
//===----------------------------------------------------------------------===//

/// add(quantized_matmul(...), bias) -> quantized_matmul(..., bias(b_i32)).
struct FuseBias : public OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [mmValue, bias] : {std::pair(op.getLhs(), op.getRhs()),
                                 std::pair(op.getRhs(), op.getLhs())}) {
      QuantizedMatMulOp mm = getOpenEpilogue(mmValue);
      if (!mm || mm.getBias() || mm.getActivation() != "none" ||
          op.getType() != mm.getType())
        continue;
      auto resultType = dyn_cast<RankedTensorType>(op.getType());
      if (!resultType)
        continue;
      FailureOr<Value> quantized =
          quantizeBias(rewriter, op.getLoc(), mm, bias, resultType.getRank());
      if (failed(quantized))
        continue;
      QuantizedMatMulParts parts = QuantizedMatMulParts::of(mm);
      parts.bias = *quantized;
      rewriter.replaceOp(
          op, parts.build(rewriter, mm.getLoc(), mm.getType()).getOutput());
      rewriter.eraseOp(mm);
      return success();
    }
    return rewriter.notifyMatchFailure(
        op, "not a per-channel bias (constant f32, or i32 dequantized with "
            "the matmul's scale) added to a quantized_matmul");
  }
};

/// act(quantized_matmul(...)) -> quantized_matmul(...) {activation = act}.
template <typename OpTy> struct FuseActivation : public OpRewritePattern<OpTy> {
  FuseActivation(MLIRContext *context, StringRef name)
      : OpRewritePattern<OpTy>(context), name(name) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    QuantizedMatMulOp mm = getOpenEpilogue(op.getInput());
    if (!mm || mm.getActivation() != "none" || op.getType() != mm.getType())
      return rewriter.notifyMatchFailure(op, "input is not a quantized_matmul "
                                             "with an open epilogue");
    if constexpr (std::is_same_v<OpTy, GeluOp>)
      if (op.getApproximate() != "none")
        return rewriter.notifyMatchFailure(op, "tanh-approximated gelu");
    QuantizedMatMulParts parts = QuantizedMatMulParts::of(mm);
    parts.activation = name;
    rewriter.replaceOp(
        op, parts.build(rewriter, mm.getLoc(), mm.getType()).getOutput());
    rewriter.eraseOp(mm);
    return success();
  }

  StringRef name;
};

/// quantize(quantized_matmul(...), s_y, z_y) -> quantized_matmul(...,
/// output(s_y, z_y)) with an int8/uint8 result, for constant per-tensor
/// s_y and z_y.
struct FuseOutputQuantize : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    QuantizedMatMulOp mm = getOpenEpilogue(op.getInput());
    if (!mm)
      return rewriter.notifyMatchFailure(op, "input is not a quantized_matmul "
                                             "with an open epilogue");
    Type storage = op.getType().getElementType();
    Value scale = op.getScale(), zeroPoint = op.getZeroPoint();
    if (!scale || !isInt8Storage(storage) || op.getBlockSize() != 0 ||
        !elementTypeOf(scale).isF32() || numElements(scale) != 1 ||
        !isConstant(scale) ||
        (zeroPoint && (numElements(zeroPoint) != 1 || !isConstant(zeroPoint))))
      return rewriter.notifyMatchFailure(op, "not an int8/uint8 quantize with "
                                             "constant per-tensor parameters");
    QuantizedMatMulParts parts = QuantizedMatMulParts::of(mm);
    parts.outputScale = scale;
    parts.outputZeroPoint =
        zeroPoint ? zeroPoint : zeroConstant(rewriter, op.getLoc(), storage);
    rewriter.replaceOp(
        op, parts.build(rewriter, mm.getLoc(), op.getType()).getOutput());
    rewriter.eraseOp(mm);
    return success();
  }
};

} // namespace

void qnn::populateFuseIntegerMatMulPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<MaterializeQuantParams, FuseDequantizedMatMul, FuseQLinearMatMul,
               FuseMatMulIntegerScale, FuseBias, FuseOutputQuantize>(context);
  patterns.add<FuseActivation<ReluOp>>(context, "relu");
  patterns.add<FuseActivation<GeluOp>>(context, "gelu");
  patterns.add<FuseActivation<SiluOp>>(context, "silu");
}
