//===- QNNMathOps.cpp - Math, logic and activation ops of QNN -------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Type inference, verifiers and folders of the ops of QNNMathOps.td. The
// element type rules are ONNX's: comparisons and classifications give i1,
// boolean logic takes i1, bit operations take integers, everything else
// keeps its operands' element type.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/IR/QNNOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

static Type elementOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// NumPy broadcasting of two operands into a tensor of `elementType`;
/// unranked if either is unranked.
static LogicalResult inferBroadcast2(std::optional<Location> loc, Value lhs,
                                     Value rhs, Type elementType,
                                     SmallVectorImpl<Type> &inferred) {
  auto l = dyn_cast<RankedTensorType>(lhs.getType());
  auto r = dyn_cast<RankedTensorType>(rhs.getType());
  if (!l || !r) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(l.getShape(), r.getShape(), shape))
    return emitOptionalError(loc,
                             "operand shapes are not broadcast-"
                             "compatible: ",
                             l, " and ", r, "; dimensions must be equal or 1");
  inferred.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

static Type withElement(Type type, Type elementType) {
  return cast<ShapedType>(type).clone(elementType);
}

template <typename OpT> static LogicalResult verifySameElements(OpT op) {
  Type l = elementOf(op.getLhs()), r = elementOf(op.getRhs());
  if (l != r)
    return op.emitOpError("operands have different element types ")
           << l << " and " << r
           << "; insert a qnn.cast so that both operands share one element "
              "type";
  return success();
}

static bool isBool(Type t) { return t.isSignlessInteger(1); }
static bool isWideInteger(Type t) {
  auto i = dyn_cast<IntegerType>(t);
  return i && i.getWidth() >= 8;
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

#define QNN_SAME_TYPE_AS_INPUT(OP)                                             \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     OP::Adaptor adaptor,                      \
                                     SmallVectorImpl<Type> &inferred) {        \
    inferred.push_back(adaptor.getInput().getType());                          \
    return success();                                                          \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }

QNN_SAME_TYPE_AS_INPUT(SinOp)
QNN_SAME_TYPE_AS_INPUT(CosOp)
QNN_SAME_TYPE_AS_INPUT(TanOp)
QNN_SAME_TYPE_AS_INPUT(AsinOp)
QNN_SAME_TYPE_AS_INPUT(AcosOp)
QNN_SAME_TYPE_AS_INPUT(AtanOp)
QNN_SAME_TYPE_AS_INPUT(SinhOp)
QNN_SAME_TYPE_AS_INPUT(CoshOp)
QNN_SAME_TYPE_AS_INPUT(AsinhOp)
QNN_SAME_TYPE_AS_INPUT(AcoshOp)
QNN_SAME_TYPE_AS_INPUT(AtanhOp)
QNN_SAME_TYPE_AS_INPUT(FloorOp)
QNN_SAME_TYPE_AS_INPUT(CeilOp)
QNN_SAME_TYPE_AS_INPUT(RoundOp)
QNN_SAME_TYPE_AS_INPUT(SignOp)
QNN_SAME_TYPE_AS_INPUT(NotOp)
QNN_SAME_TYPE_AS_INPUT(BitwiseNotOp)
QNN_SAME_TYPE_AS_INPUT(SoftplusOp)
QNN_SAME_TYPE_AS_INPUT(SoftsignOp)
QNN_SAME_TYPE_AS_INPUT(MishOp)
QNN_SAME_TYPE_AS_INPUT(HardSwishOp)
QNN_SAME_TYPE_AS_INPUT(EluOp)
QNN_SAME_TYPE_AS_INPUT(SeluOp)
QNN_SAME_TYPE_AS_INPUT(CeluOp)
QNN_SAME_TYPE_AS_INPUT(LeakyReluOp)
QNN_SAME_TYPE_AS_INPUT(HardSigmoidOp)
QNN_SAME_TYPE_AS_INPUT(ThresholdedReluOp)
QNN_SAME_TYPE_AS_INPUT(ShrinkOp)
QNN_SAME_TYPE_AS_INPUT(SwishOp)
#undef QNN_SAME_TYPE_AS_INPUT

LogicalResult NotOp::verify() {
  if (!isBool(elementOf(getInput())))
    return emitOpError("expects a boolean (i1) operand, got ")
           << getInput().getType();
  return success();
}

LogicalResult BitwiseNotOp::verify() {
  if (!isWideInteger(elementOf(getInput())))
    return emitOpError("expects an integer operand of 8 to 64 bits, got ")
           << getInput().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Classification
//===----------------------------------------------------------------------===//

#define QNN_BOOL_OF_INPUT(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location>, OP::Adaptor adaptor,          \
      SmallVectorImpl<Type> &inferred) {                                       \
    inferred.push_back(                                                        \
        withElement(adaptor.getInput().getType(), IntegerType::get(ctx, 1)));  \
    return success();                                                          \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    if (!isa<FloatType>(elementOf(getInput())))                                \
      return emitOpError("expects a floating-point operand, got ")             \
             << getInput().getType();                                          \
    return success();                                                          \
  }

QNN_BOOL_OF_INPUT(IsNaNOp)
QNN_BOOL_OF_INPUT(IsInfOp)
#undef QNN_BOOL_OF_INPUT

//===----------------------------------------------------------------------===//
// Comparisons
//===----------------------------------------------------------------------===//

#define QNN_COMPARE(OP)                                                        \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, OP::Adaptor adaptor,      \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferBroadcast2(loc, adaptor.getLhs(), adaptor.getRhs(),            \
                           IntegerType::get(ctx, 1), inferred);                \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  LogicalResult OP::verify() { return verifySameElements(*this); }

QNN_COMPARE(EqualOp)
QNN_COMPARE(LessOp)
QNN_COMPARE(LessEqualOp)
QNN_COMPARE(GreaterOp)
QNN_COMPARE(GreaterEqualOp)
#undef QNN_COMPARE

//===----------------------------------------------------------------------===//
// Binary ops
//===----------------------------------------------------------------------===//

#define QNN_BROADCAST_BINARY(OP)                                               \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, OP::Adaptor adaptor,         \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferBroadcast2(loc, adaptor.getLhs(), adaptor.getRhs(),            \
                           elementOf(adaptor.getLhs()), inferred);             \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  OpFoldResult OP::fold(FoldAdaptor) { return {}; }

QNN_BROADCAST_BINARY(AndOp)
QNN_BROADCAST_BINARY(OrOp)
QNN_BROADCAST_BINARY(XorOp)
QNN_BROADCAST_BINARY(BitwiseAndOp)
QNN_BROADCAST_BINARY(BitwiseOrOp)
QNN_BROADCAST_BINARY(BitwiseXorOp)
QNN_BROADCAST_BINARY(PReluOp)
QNN_BROADCAST_BINARY(BitShiftOp)
QNN_BROADCAST_BINARY(ModOp)
#undef QNN_BROADCAST_BINARY

template <typename OpT>
static LogicalResult verifyElementKind(OpT op, bool (*ok)(Type),
                                       StringRef what) {
  if (failed(verifySameElements(op)))
    return failure();
  if (!ok(elementOf(op.getLhs())))
    return op.emitOpError("expects ")
           << what << " operands, got " << op.getLhs().getType();
  return success();
}

LogicalResult AndOp::verify() {
  return verifyElementKind(*this, isBool, "boolean (i1)");
}
LogicalResult OrOp::verify() {
  return verifyElementKind(*this, isBool, "boolean (i1)");
}
LogicalResult XorOp::verify() {
  return verifyElementKind(*this, isBool, "boolean (i1)");
}
LogicalResult BitwiseAndOp::verify() {
  return verifyElementKind(*this, isWideInteger, "integer (8 to 64 bits)");
}
LogicalResult BitwiseOrOp::verify() {
  return verifyElementKind(*this, isWideInteger, "integer (8 to 64 bits)");
}
LogicalResult BitwiseXorOp::verify() {
  return verifyElementKind(*this, isWideInteger, "integer (8 to 64 bits)");
}
LogicalResult PReluOp::verify() { return verifySameElements(*this); }
LogicalResult ModOp::verify() { return verifySameElements(*this); }
LogicalResult BitShiftOp::verify() {
  if (failed(verifyElementKind(*this, isWideInteger, "integer (8 to 64 bits)")))
    return failure();
  if (getDirection() != "left" && getDirection() != "right")
    return emitOpError("direction must be \"left\" or \"right\", got \"")
           << getDirection() << "\"";
  return success();
}
