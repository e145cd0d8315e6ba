//===- QNNFusedOps.cpp - Verifiers of the fused quantized matmuls ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/IR/QNNOps.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

static ShapedType shapedOf(Value v) { return cast<ShapedType>(v.getType()); }

/// Checks that a parameter is a scalar/one element or a vector of `n`.
static LogicalResult verifyPerChannel(Operation *op, Value param, int64_t n,
                                      StringRef what) {
  ShapedType type = shapedOf(param);
  if (!type.hasStaticShape() || type.getNumElements() == 1 ||
      ShapedType::isDynamic(n))
    return success();
  if (type.getRank() != 1 || type.getDimSize(0) != n)
    return op->emitOpError() << what << " must have one element or " << n
                             << " (one per output channel), got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOnlyMatMulOp
//===----------------------------------------------------------------------===//

LogicalResult
WeightOnlyMatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                     Adaptor adaptor,
                                     SmallVectorImpl<Type> &inferred) {
  auto input = shapedOf(adaptor.getInput());
  auto weight = shapedOf(adaptor.getWeight());
  if (!input.hasRank() || !weight.hasRank() || weight.getRank() != 2 ||
      input.getRank() < 1) {
    inferred.push_back(UnrankedTensorType::get(input.getElementType()));
    return success();
  }
  int64_t k = input.getDimSize(input.getRank() - 1), wk = weight.getDimSize(0);
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(wk) && k != wk)
    return emitOptionalError(loc, "input's last dimension is ", k,
                             " but the weight has K = ", wk);
  SmallVector<int64_t> dims(input.getShape().drop_back());
  dims.push_back(weight.getDimSize(1));
  inferred.push_back(RankedTensorType::get(dims, input.getElementType()));
  return success();
}

bool WeightOnlyMatMulOp::isCompatibleReturnTypes(TypeRange l, TypeRange r) {
  return areCompatibleTensorTypes(l, r);
}

LogicalResult WeightOnlyMatMulOp::verify() {
  ShapedType input = shapedOf(getInput()), weight = shapedOf(getWeight());
  ShapedType scales = shapedOf(getScales());
  if (!isa<FloatType>(input.getElementType()))
    return emitOpError("input must be float, got ") << input.getElementType();
  if (scales.getElementType() != input.getElementType())
    return emitOpError("scales element type ")
           << scales.getElementType() << " must equal the input's "
           << input.getElementType();
  if (!weight.hasRank() || weight.getRank() != 2)
    return emitOpError("weight must be a [K, N] matrix, got ") << weight;
  int64_t k = weight.getDimSize(0), n = weight.getDimSize(1);
  int64_t group = getGroupSize();
  if (group < 0)
    return emitOpError("group_size must be >= 0, got ") << group;
  if (group == 0) {
    if (failed(verifyPerChannel(*this, getScales(), n, "scales")))
      return failure();
  } else if (scales.hasStaticShape() && !ShapedType::isDynamic(k)) {
    SmallVector<int64_t> expected = {llvm::divideCeil(k, group), n};
    if (scales.getShape() != ArrayRef<int64_t>(expected))
      return emitOpError("grouped scales must have shape [ceil(K / "
                         "group_size), N] = [")
             << expected[0] << ", " << n << "], got " << scales;
  }
  if (Value zp = getZeroPoints()) {
    if (shapedOf(zp).getElementType() != weight.getElementType())
      return emitOpError("zero points element type ")
             << shapedOf(zp).getElementType() << " must equal the weight's "
             << weight.getElementType();
    if (failed(verifyCompatibleShape(shapedOf(zp), scales)))
      return emitOpError("zero points shape ")
             << shapedOf(zp) << " must match the scales shape " << scales;
  }
  if (Value bias = getBias()) {
    if (shapedOf(bias).getElementType() != input.getElementType())
      return emitOpError("bias element type must equal the input's");
    if (failed(verifyPerChannel(*this, bias, n, "bias")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizedMatMulOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizedMatMulOp::verify() {
  StringRef act = getActivation();
  if (act != "none" && act != "relu" && act != "gelu" && act != "silu")
    return emitOpError("activation must be none, relu, gelu or silu, got \"")
           << act << "\"";
  ShapedType lhs = shapedOf(getLhs()), rhs = shapedOf(getRhs());
  if (shapedOf(getLhsZeroPoint()).getElementType() != lhs.getElementType())
    return emitOpError("lhs zero point element type must equal lhs's ")
           << lhs.getElementType();
  if (Value zp = getRhsZeroPoint())
    if (shapedOf(zp).getElementType() != rhs.getElementType())
      return emitOpError("rhs zero point element type must equal rhs's ")
             << rhs.getElementType();
  // Per tensor (one element) or per row: the lhs shape with last dim 1.
  for (Value param : {getLhsScale(), getLhsZeroPoint()}) {
    ShapedType type = shapedOf(param);
    if (!type.hasStaticShape() || type.getNumElements() == 1)
      continue;
    bool perRow = lhs.hasRank() && type.getRank() == lhs.getRank() &&
                  type.getDimSize(type.getRank() - 1) == 1 &&
                  succeeded(verifyCompatibleShape(type.getShape().drop_back(),
                                                  lhs.getShape().drop_back()));
    if (!perRow)
      return emitOpError("lhs scale and zero point must be per tensor (one "
                         "element) or per row (the lhs shape with a last "
                         "dimension of 1), got ")
             << param.getType();
  }
  int64_t n = rhs.hasRank() && rhs.getRank() >= 1
                  ? rhs.getDimSize(rhs.getRank() - 1)
                  : ShapedType::kDynamic;
  if (failed(verifyPerChannel(*this, getRhsScale(), n, "rhs scale")))
    return failure();
  if (Value zp = getRhsZeroPoint())
    if (failed(verifyPerChannel(*this, zp, n, "rhs zero point")))
      return failure();
  if (Value bias = getBias())
    if (failed(verifyPerChannel(*this, bias, n, "bias")))
      return failure();
  if (bool(getOutputScale()) != bool(getOutputZeroPoint()))
    return emitOpError("output scale and zero point go together");
  Type resultElement = shapedOf(getOutput()).getElementType();
  Type expected = getOutputZeroPoint()
                      ? shapedOf(getOutputZeroPoint()).getElementType()
                      : Type(Float32Type::get(getContext()));
  if (resultElement != expected)
    return emitOpError("result element type must be ")
           << expected
           << (getOutputZeroPoint() ? " (the output zero point's type)"
                                    : " (no output quantization)")
           << ", got " << resultElement;
  SmallVector<Type> inferred;
  if (failed(MatMulOp::inferReturnTypes(
          getContext(), getLoc(), ValueRange{getLhs(), getRhs()},
          DictionaryAttr::get(getContext()), nullptr, {}, inferred)))
    return failure();
  if (failed(verifyCompatibleShape(inferred[0], getOutput().getType())))
    return emitOpError("result shape ")
           << getOutput().getType() << " is not the matmul shape "
           << inferred[0];
  return success();
}
