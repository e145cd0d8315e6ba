//===- QNNQuantOps.cpp - Verifiers of the QNN quantization ops ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Quantization parameters come in two forms: explicit scale/zero-point
// operands (ONNX) or constants carried by a `!quant.uniform` element type.
// The verifiers here keep the two forms apart and check granularity (per
// tensor, per axis, blocked) against ONNX's rules.
//
//===----------------------------------------------------------------------===//

#include "TypeInferenceUtils.h"

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

bool qnn::isQuantStorageType(Type t) {
  if (auto i = dyn_cast<IntegerType>(t))
    return (i.getWidth() == 4 || i.getWidth() == 8 || i.getWidth() == 16) &&
           !i.isSigned();
  return isa<Float8E4M3FNType, Float8E5M2Type, Float8E4M3FNUZType,
             Float8E5M2FNUZType>(t);
}

static std::string storageTypesHelp() {
  return "valid storage types are i8, ui8, i16, ui16, i4, ui4, f8E4M3FN, "
         "f8E5M2 (and f8E4M3FNUZ, f8E5M2FNUZ)";
}

/// Checks the explicit-parameter form: scale/zero-point shapes against the
/// data shape for per-tensor, per-axis and blocked granularity.
static LogicalResult verifyExplicitParams(Operation *op, ShapedType data,
                                          Value scale, Value zeroPoint,
                                          Type storageType, int64_t axis,
                                          int64_t blockSize) {
  auto scaleType = cast<ShapedType>(scale.getType());
  if (!isa<FloatType>(scaleType.getElementType()))
    return op->emitOpError("scale must have a float element type, got ")
           << scaleType.getElementType();
  if (zeroPoint) {
    auto zpType = cast<ShapedType>(zeroPoint.getType());
    if (zpType.getElementType() != storageType)
      return op->emitOpError("zero point element type ")
             << zpType.getElementType()
             << " must equal the quantized element type " << storageType;
    bool bothSingle = zpType.hasStaticShape() && scaleType.hasStaticShape() &&
                      zpType.getNumElements() == 1 &&
                      scaleType.getNumElements() == 1;
    if (!bothSingle && failed(verifyCompatibleShape(zpType, scaleType)))
      return op->emitOpError("zero point shape ")
             << zpType << " must match the scale shape " << scaleType;
  }
  if (blockSize < 0)
    return op->emitOpError("block_size must be >= 0, got ") << blockSize;
  if (!scaleType.hasRank() || !data.hasRank())
    return success();
  bool perTensor = scaleType.getRank() == 0 ||
                   (scaleType.getRank() == 1 && scaleType.getDimSize(0) == 1 &&
                    blockSize == 0);
  if (perTensor)
    return success();
  std::optional<int64_t> a = normalizeAxis(axis, data.getRank());
  if (!a)
    return op->emitOpError("axis ")
           << axis << " is out of range for " << data << "; valid axes are ["
           << -data.getRank() << ", " << data.getRank() << ")";
  int64_t dim = data.getDimSize(*a);
  if (blockSize == 0) {
    if (scaleType.getRank() != 1)
      return op->emitOpError("per-axis scale must be 1-D, got ")
             << scaleType << "; for blocked quantization set block_size";
    if (!ShapedType::isDynamic(dim) && !scaleType.isDynamicDim(0) &&
        scaleType.getDimSize(0) != dim)
      return op->emitOpError("per-axis scale has ")
             << scaleType.getDimSize(0) << " elements but dimension " << *a
             << " of " << data << " has size " << dim;
    return success();
  }
  if (scaleType.getRank() != data.getRank())
    return op->emitOpError("blocked scale must have the rank of the data (")
           << data.getRank() << "), got " << scaleType;
  for (int64_t i = 0; i < data.getRank(); ++i) {
    int64_t expected = data.getDimSize(i);
    if (i == *a && !ShapedType::isDynamic(expected))
      expected = llvm::divideCeil(expected, blockSize);
    int64_t got = scaleType.getDimSize(i);
    if (!ShapedType::isDynamic(expected) && !ShapedType::isDynamic(got) &&
        expected != got)
      return op->emitOpError("blocked scale dimension ")
             << i << " is " << got << " but must be " << expected << " (data "
             << data << ", block_size " << blockSize << ")";
  }
  return success();
}

/// Shared verifier of quantize (float -> quantized) and dequantize
/// (quantized -> float).
static LogicalResult verifyQDQ(Operation *op, ShapedType floatType,
                               ShapedType quantType, Value scale,
                               Value zeroPoint, int64_t axis, int64_t blockSize,
                               bool isDequantize) {
  // DequantizeLinear also accepts int32 input (its zero point must be 0, a
  // run-time property of the data).
  bool allowI32 = isDequantize;
  if (failed(verifyCompatibleShape(floatType, quantType)))
    return op->emitOpError("input and result shapes differ: ")
           << op->getOperand(0).getType() << " vs "
           << op->getResult(0).getType();
  // QuantizeLinear accepts int32 input; DequantizeLinear always yields float.
  if (!isa<FloatType>(floatType.getElementType()) &&
      (isDequantize || !floatType.getElementType().isInteger(32)))
    return op->emitOpError("the real-valued side must have a float element "
                           "type, got ")
           << floatType.getElementType();
  Type qElem = quantType.getElementType();
  if (auto qt = dyn_cast<quant::QuantizedType>(qElem)) {
    if (scale || zeroPoint)
      return op->emitOpError("quantization parameters are given twice: by "
                             "the !quant type ")
             << qt << " and by scale/zero-point operands; use one form";
    if (qt.getExpressedType() != floatType.getElementType())
      return op->emitOpError("the !quant type expresses ")
             << qt.getExpressedType() << " but the real-valued side is "
             << floatType.getElementType();
    if (auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(qt)) {
      int64_t dim = perAxis.getQuantizedDimension();
      if (!quantType.hasRank() || dim >= quantType.getRank())
        return op->emitOpError("per-axis !quant type quantizes dimension ")
               << dim << " but the tensor has rank "
               << (quantType.hasRank() ? quantType.getRank() : -1);
      int64_t size = quantType.getDimSize(dim);
      int64_t n = perAxis.getScales().size();
      if (!ShapedType::isDynamic(size) && size != n)
        return op->emitOpError("per-axis !quant type has ")
               << n << " scales but dimension " << dim << " has size " << size;
    }
    return success();
  }
  if (!scale)
    return op->emitOpError("missing scale: give scale (and zero point) "
                           "operands, or use a !quant.uniform element type");
  bool isStorage =
      isQuantStorageType(qElem) || (allowI32 && qElem.isInteger(32));
  if (!isStorage)
    return op->emitOpError("unsupported quantized element type ")
           << qElem << "; " << storageTypesHelp();
  if (isDequantize && cast<ShapedType>(scale.getType()).getElementType() !=
                          floatType.getElementType())
    return op->emitOpError("scale element type ")
           << cast<ShapedType>(scale.getType()).getElementType()
           << " must equal the result element type "
           << floatType.getElementType() << " (ONNX DequantizeLinear)";
  return verifyExplicitParams(op, quantType, scale, zeroPoint, qElem, axis,
                              blockSize);
}

LogicalResult QuantizeOp::verify() {
  return verifyQDQ(*this, cast<ShapedType>(getInput().getType()),
                   cast<ShapedType>(getType()), getScale(), getZeroPoint(),
                   getAxis(), getBlockSize(), /*isDequantize=*/false);
}

LogicalResult DequantizeOp::verify() {
  return verifyQDQ(*this, cast<ShapedType>(getType()),
                   cast<ShapedType>(getInput().getType()), getScale(),
                   getZeroPoint(), getAxis(), getBlockSize(),
                   /*isDequantize=*/true);
}

/// A MatMulInteger zero point is a scalar or a vector of `expected` entries.
static LogicalResult verifyZeroPointShape(Operation *op, Value zp,
                                          int64_t expected, StringRef what) {
  auto type = cast<ShapedType>(zp.getType());
  if (!type.hasStaticShape() || type.getNumElements() == 1 ||
      ShapedType::isDynamic(expected))
    return success();
  if (type.getRank() != 1 || type.getDimSize(0) != expected)
    return op->emitOpError() << what << " zero point must be a scalar or have "
                             << expected << " elements, got " << type;
  return success();
}

LogicalResult MatMulIntegerOp::verify() {
  auto lhsType = cast<ShapedType>(getLhs().getType());
  auto rhsType = cast<ShapedType>(getRhs().getType());
  if (getLhsZeroPoint() && lhsType.hasRank() && lhsType.getRank() >= 2 &&
      failed(verifyZeroPointShape(*this, getLhsZeroPoint(),
                                  lhsType.getDimSize(lhsType.getRank() - 2),
                                  "lhs")))
    return failure();
  if (getRhsZeroPoint() && rhsType.hasRank() && rhsType.getRank() >= 1 &&
      failed(verifyZeroPointShape(*this, getRhsZeroPoint(),
                                  rhsType.getDimSize(rhsType.getRank() - 1),
                                  "rhs")))
    return failure();
  if (getLhsZeroPoint() &&
      elementTypeOf(getLhsZeroPoint()) != elementTypeOf(getLhs()))
    return emitOpError("lhs zero point element type ")
           << elementTypeOf(getLhsZeroPoint()) << " must equal lhs's "
           << elementTypeOf(getLhs());
  if (getRhsZeroPoint() &&
      elementTypeOf(getRhsZeroPoint()) != elementTypeOf(getRhs()))
    return emitOpError("rhs zero point element type ")
           << elementTypeOf(getRhsZeroPoint()) << " must equal rhs's "
           << elementTypeOf(getRhs());
  return success();
}

LogicalResult QLinearMatMulOp::verify() {
  Type yType = elementTypeOf(getYZeroPoint());
  if (!yType.isInteger(8) && !isa<Float8E4M3FNType, Float8E5M2Type>(yType))
    return emitOpError("y_zero_point must be int8, uint8 or float8, got ")
           << yType;
  if (elementTypeOf(getAZeroPoint()) != elementTypeOf(getA()))
    return emitOpError("a_zero_point element type ")
           << elementTypeOf(getAZeroPoint()) << " must equal a's "
           << elementTypeOf(getA());
  if (elementTypeOf(getBZeroPoint()) != elementTypeOf(getB()))
    return emitOpError("b_zero_point element type ")
           << elementTypeOf(getBZeroPoint()) << " must equal b's "
           << elementTypeOf(getB());
  for (Value s : {getAScale(), getBScale(), getYScale()})
    if (!isa<FloatType>(elementTypeOf(s)))
      return emitOpError("scales must have a float element type, got ")
             << elementTypeOf(s);
  return success();
}

LogicalResult MatMulNBitsOp::verify() {
  int64_t bits = getBits(), blockSize = getBlockSize(), k = getK(), n = getN();
  if (bits < 2 || bits > 8)
    return emitOpError("bits must be in [2, 8], got ") << bits;
  if (blockSize < 16 || !llvm::isPowerOf2_64(blockSize))
    return emitOpError("block_size must be a power of 2 and >= 16, got ")
           << blockSize;
  if (k <= 0 || n <= 0)
    return emitOpError("K and N must be positive, got K = ")
           << k << ", N = " << n;
  auto input = cast<ShapedType>(getInput().getType());
  if (input.hasRank() && input.getRank() == 0)
    return emitOpError("input must have rank >= 1 (its last dimension is K)");
  if (!isa<FloatType>(input.getElementType()))
    return emitOpError("input must have a float element type, got ")
           << input.getElementType();
  if (input.hasRank() && input.getRank() >= 1 &&
      !input.isDynamicDim(input.getRank() - 1) &&
      input.getDimSize(input.getRank() - 1) != k)
    return emitOpError("input's last dimension is ")
           << input.getDimSize(input.getRank() - 1) << " but K = " << k;
  int64_t blocks = llvm::divideCeil(k, blockSize);
  int64_t blobSize = blockSize * bits / 8;
  auto weight = cast<ShapedType>(getWeight().getType());
  if (weight.hasRank()) {
    SmallVector<int64_t> expected = {n, blocks, blobSize};
    if (weight.getRank() != 3 ||
        failed(verifyCompatibleShape(weight.getShape(), expected)))
      return emitOpError("packed weight must have shape [N, ceil(K / "
                         "block_size), block_size * bits / 8] = [")
             << n << ", " << blocks << ", " << blobSize << "], got " << weight;
  }
  auto scales = cast<ShapedType>(getScales().getType());
  if (scales.getElementType() != input.getElementType())
    return emitOpError("scales element type ")
           << scales.getElementType() << " must equal the input's "
           << input.getElementType();
  if (scales.hasStaticShape() && scales.getNumElements() != n * blocks)
    return emitOpError("scales must have N * ceil(K / block_size) = ")
           << n * blocks << " elements, got " << scales;
  if (getBias()) {
    auto bias = cast<ShapedType>(getBias().getType());
    if (bias.hasStaticShape() &&
        (bias.getRank() != 1 || bias.getDimSize(0) != n))
      return emitOpError("bias must have shape [N] = [")
             << n << "], got " << bias;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Folders
//===----------------------------------------------------------------------===//

/// Constant folding evaluates the exact ONNX arithmetic; it is limited to
/// small inline constants (weights are quantized by dedicated passes).
static constexpr int64_t kMaxQuantFoldElements = 1 << 16;

static RankedTensorType foldableResultType(Value result) {
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxQuantFoldElements)
    return nullptr;
  return type;
}

OpFoldResult QuantizeOp::fold(FoldAdaptor adaptor) {
  auto input = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput());
  auto scale = dyn_cast_if_present<DenseElementsAttr>(adaptor.getScale());
  auto zp = dyn_cast_if_present<DenseElementsAttr>(adaptor.getZeroPoint());
  RankedTensorType type = foldableResultType(getOutput());
  if (!input || !scale || (getZeroPoint() && !zp) || !type)
    return {};
  FailureOr<DenseElementsAttr> folded = foldQuantize(
      input, scale, zp, getAxis(), getBlockSize(), getSaturate(), type);
  return succeeded(folded) ? OpFoldResult(*folded) : OpFoldResult();
}

//===----------------------------------------------------------------------===//
// RequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult RequantizeOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location>,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  auto input = cast<ShapedType>(adaptor.getInput().getType());
  Type element = elementTypeOf(adaptor.getOutputZeroPoint());
  inferred.push_back(
      input.hasRank() ? Type(RankedTensorType::get(input.getShape(), element))
                      : Type(UnrankedTensorType::get(element)));
  return success();
}

bool RequantizeOp::isCompatibleReturnTypes(TypeRange l, TypeRange r) {
  return areCompatibleTensorTypes(l, r);
}

LogicalResult RequantizeOp::verify() {
  if (elementTypeOf(getInputZeroPoint()) != elementTypeOf(getInput()))
    return emitOpError("input zero point element type must equal the "
                       "input's ")
           << elementTypeOf(getInput());
  for (Value v : {getInputScale(), getInputZeroPoint(), getOutputScale(),
                  getOutputZeroPoint()}) {
    auto type = cast<ShapedType>(v.getType());
    if (type.hasStaticShape() && type.getNumElements() != 1)
      return emitOpError("parameters must be per tensor (one element), got ")
             << type;
  }
  return success();
}

OpFoldResult RequantizeOp::fold(FoldAdaptor adaptor) {
  auto input = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput());
  auto si = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInputScale());
  auto zi = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInputZeroPoint());
  auto so = dyn_cast_if_present<DenseElementsAttr>(adaptor.getOutputScale());
  auto zo =
      dyn_cast_if_present<DenseElementsAttr>(adaptor.getOutputZeroPoint());
  RankedTensorType type = foldableResultType(getOutput());
  if (!input || !si || !zi || !so || !zo || !type)
    return {};
  auto realType =
      RankedTensorType::get(type.getShape(), Float32Type::get(getContext()));
  FailureOr<DenseElementsAttr> real =
      foldDequantize(input, si, zi, /*axis=*/0, /*blockSize=*/0, realType);
  if (failed(real))
    return {};
  FailureOr<DenseElementsAttr> q = foldQuantize(*real, so, zo, 0, 0,
                                                /*saturate=*/true, type);
  return succeeded(q) ? OpFoldResult(*q) : OpFoldResult();
}
