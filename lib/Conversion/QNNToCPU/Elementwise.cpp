//===- Elementwise.cpp - qnn elementwise ops to linalg.generic ------------===//
//
// Part of the QuantOpt project.
//
// Unary ops and activations, binary ops, where and cast: one broadcast
// linalg.generic each (ONNX right-aligned broadcasting).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct ElementwiseLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lowerUnary(Operation *);
  LogicalResult lowerBinary(Operation *);
  LogicalResult lowerWhere(Operation *);
  LogicalResult lowerCast(Operation *);
};

template <typename... OpTs>
void addUnary(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerOpPattern<OpTs, ElementwiseLowering,
                              &ElementwiseLowering::lowerUnary>...>(
      converter, patterns.getContext());
}

template <typename... OpTs>
void addBinary(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerOpPattern<OpTs, ElementwiseLowering,
                              &ElementwiseLowering::lowerBinary>...>(
      converter, patterns.getContext());
}

} // namespace

LogicalResult ElementwiseLowering::lowerUnary(Operation *) {
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

LogicalResult ElementwiseLowering::lowerBinary(Operation *) {
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

LogicalResult ElementwiseLowering::lowerWhere(Operation *) {
  return done(elementwise(b, loc, resultType(), operands,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            return (Value)arith::SelectOp::create(nb, l, a[0],
                                                                  a[1], a[2]);
                          }));
}

LogicalResult ElementwiseLowering::lowerCast(Operation *) {
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

void quantopt::populateQNNToCPUElementwisePatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  addUnary<SqrtOp, ReciprocalOp, NegOp, ExpOp, LogOp, AbsOp, ErfOp, TanhOp,
           SigmoidOp, ReluOp, SiluOp, GeluOp>(converter, patterns);
  addBinary<AddOp, SubOp, MulOp, DivOp, PowOp, MinOp, MaxOp>(converter,
                                                             patterns);
  patterns.add<LowerOpPattern<WhereOp, ElementwiseLowering,
                              &ElementwiseLowering::lowerWhere>,
               LowerOpPattern<CastOp, ElementwiseLowering,
                              &ElementwiseLowering::lowerCast>>(
      converter, patterns.getContext());
}
