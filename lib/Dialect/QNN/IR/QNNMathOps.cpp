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

#include "TypeInferenceUtils.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

static Type withElement(Type type, Type elementType) {
  return cast<ShapedType>(type).clone(elementType);
}

template <typename OpT> static LogicalResult verifySameElements(OpT op) {
  return verifySameElementTypes(op, op.getLhs(), op.getRhs());
}

static bool isBool(Type t) { return t.isSignlessInteger(1); }
static bool isWideInteger(Type t) {
  auto i = dyn_cast<IntegerType>(t);
  return i && i.getWidth() >= 8;
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

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

LogicalResult NotOp::verify() {
  if (!isBool(elementTypeOf(getInput())))
    return emitOpError("expects a boolean (i1) operand, got ")
           << getInput().getType();
  return success();
}

LogicalResult BitwiseNotOp::verify() {
  if (!isWideInteger(elementTypeOf(getInput())))
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
  QNN_COMPATIBLE_RETURN_TYPES(OP)                                              \
  LogicalResult OP::verify() {                                                 \
    if (!isa<FloatType>(elementTypeOf(getInput())))                            \
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
  QNN_BROADCAST_RESULT(OP, IntegerType::get(ctx, 1))                           \
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

#define QNN_FOLDLESS_BINARY(OP)                                                \
  QNN_BROADCAST_BINARY(OP)                                                     \
  OpFoldResult OP::fold(FoldAdaptor) { return {}; }

QNN_FOLDLESS_BINARY(AndOp)
QNN_FOLDLESS_BINARY(OrOp)
QNN_FOLDLESS_BINARY(XorOp)
QNN_FOLDLESS_BINARY(BitwiseAndOp)
QNN_FOLDLESS_BINARY(BitwiseOrOp)
QNN_FOLDLESS_BINARY(BitwiseXorOp)
QNN_FOLDLESS_BINARY(PReluOp)
QNN_FOLDLESS_BINARY(BitShiftOp)
QNN_FOLDLESS_BINARY(ModOp)
#undef QNN_FOLDLESS_BINARY

template <typename OpT>
static LogicalResult verifyElementKind(OpT op, bool (*ok)(Type),
                                       StringRef what) {
  if (failed(verifySameElements(op)))
    return failure();
  if (!ok(elementTypeOf(op.getLhs())))
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
