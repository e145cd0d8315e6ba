//===- MathElementwise.cpp - qnn math, logic and activations to linalg ----===//
//
// Part of the QuantOpt project.
//
// The ops of QNNMathOps.td: one broadcast linalg.generic each, with the
// scalar formula of the ONNX reference implementation in its body. Float
// math on f16/bf16 is computed in f32 and rounded once at the end, as
// onnxruntime's CPU kernels do.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct MathLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lowerFloatUnary(Operation *);
  LogicalResult lowerIntOrFloatUnary(Operation *);
  LogicalResult lowerClassify(Operation *);
  LogicalResult lowerCompare(Operation *);
  LogicalResult lowerBinary(Operation *);
};

template <auto Method, typename... OpTs>
void add(const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<LowerOpPattern<OpTs, MathLowering, Method>...>(
      converter, patterns.getContext());
}

/// The float attribute `name` of a parametric activation, its default
/// where the op does not set it.
double floatAttr(Operation *op, StringRef name) {
  return llvm::TypeSwitch<Operation *, APFloat>(op)
      .Case([&](SeluOp o) {
        return name == "alpha" ? o.getAlpha() : o.getGamma();
      })
      .Case([&](HardSigmoidOp o) {
        return name == "alpha" ? o.getAlpha() : o.getBeta();
      })
      .Case([&](ShrinkOp o) {
        return name == "bias" ? o.getBias() : o.getLambd();
      })
      .Case<EluOp, CeluOp, LeakyReluOp, ThresholdedReluOp, SwishOp>(
          [](auto o) { return o.getAlpha(); })
      .Default([](Operation *) { return APFloat(0.0f); })
      .convertToDouble();
}

} // namespace

/// The value of `x` (f32 or wider) after the named float op.
static Value floatMath(OpBuilder &b, Location l, Operation *op, Value x) {
  StringRef name = op->getName().stripDialect();
  Type t = x.getType();
  auto c = [&](double v) { return scalarConstant(b, l, t, v); };
  auto mul = [&](Value p, Value q) {
    return arith::MulFOp::create(b, l, p, q);
  };
  auto add = [&](Value p, Value q) {
    return arith::AddFOp::create(b, l, p, q);
  };
  auto sub = [&](Value p, Value q) {
    return arith::SubFOp::create(b, l, p, q);
  };
  auto cmp = [&](arith::CmpFPredicate p, Value u, Value v) {
    return arith::CmpFOp::create(b, l, p, u, v);
  };
  auto select = [&](Value cond, Value u, Value v) {
    return arith::SelectOp::create(b, l, cond, u, v);
  };
  auto clamp01 = [&](Value v) {
    return arith::MinimumFOp::create(
        b, l, arith::MaximumFOp::create(b, l, v, c(0)), c(1));
  };
  auto softplus = [&](Value v) {
    return math::LogOp::create(b, l, add(math::ExpOp::create(b, l, v), c(1)));
  };
  if (name == "sin")
    return math::SinOp::create(b, l, x);
  if (name == "cos")
    return math::CosOp::create(b, l, x);
  if (name == "tan")
    return math::TanOp::create(b, l, x);
  if (name == "asin")
    return math::AsinOp::create(b, l, x);
  if (name == "acos")
    return math::AcosOp::create(b, l, x);
  if (name == "atan")
    return math::AtanOp::create(b, l, x);
  if (name == "sinh")
    return math::SinhOp::create(b, l, x);
  if (name == "cosh")
    return math::CoshOp::create(b, l, x);
  if (name == "asinh")
    return math::AsinhOp::create(b, l, x);
  if (name == "acosh")
    return math::AcoshOp::create(b, l, x);
  if (name == "atanh")
    return math::AtanhOp::create(b, l, x);
  if (name == "floor")
    return math::FloorOp::create(b, l, x);
  if (name == "ceil")
    return math::CeilOp::create(b, l, x);
  if (name == "round")
    return math::RoundEvenOp::create(b, l, x);
  if (name == "softplus")
    return softplus(x);
  if (name == "softsign")
    return arith::DivFOp::create(b, l, x,
                                 add(c(1), math::AbsFOp::create(b, l, x)));
  if (name == "mish")
    return mul(x, math::TanhOp::create(b, l, softplus(x)));
  if (name == "hard_swish")
    return mul(x, clamp01(add(mul(x, c(1.0 / 6.0)), c(0.5))));
  if (name == "elu") {
    Value alpha = c(floatAttr(op, "alpha"));
    return select(cmp(arith::CmpFPredicate::OLT, x, c(0)),
                  mul(alpha, sub(math::ExpOp::create(b, l, x), c(1))), x);
  }
  if (name == "selu") {
    Value alpha = c(floatAttr(op, "alpha")), gamma = c(floatAttr(op, "gamma"));
    Value neg = sub(mul(alpha, math::ExpOp::create(b, l, x)), alpha);
    return mul(gamma, select(cmp(arith::CmpFPredicate::OLE, x, c(0)), neg, x));
  }
  if (name == "celu") {
    Value alpha = c(floatAttr(op, "alpha"));
    Value e = sub(
        math::ExpOp::create(b, l, arith::DivFOp::create(b, l, x, alpha)), c(1));
    return add(arith::MaximumFOp::create(b, l, x, c(0)),
               arith::MinimumFOp::create(b, l, mul(alpha, e), c(0)));
  }
  if (name == "leaky_relu") {
    Value neg = cmp(arith::CmpFPredicate::OLT, x, c(0));
    return select(neg, mul(c(floatAttr(op, "alpha")), x), x);
  }
  if (name == "hard_sigmoid")
    return clamp01(
        add(mul(c(floatAttr(op, "alpha")), x), c(floatAttr(op, "beta"))));
  if (name == "thresholded_relu")
    return select(cmp(arith::CmpFPredicate::OGT, x, c(floatAttr(op, "alpha"))),
                  x, c(0));
  if (name == "shrink") {
    Value bias = c(floatAttr(op, "bias")), lambd = c(floatAttr(op, "lambd"));
    Value negLambd = arith::NegFOp::create(b, l, lambd);
    return select(
        cmp(arith::CmpFPredicate::OLT, x, negLambd), add(x, bias),
        select(cmp(arith::CmpFPredicate::OGT, x, lambd), sub(x, bias), c(0)));
  }
  assert(name == "swish" && "unhandled float op");
  return mul(x, sigmoidV(b, l, mul(c(floatAttr(op, "alpha")), x)));
}

LogicalResult MathLowering::lowerFloatUnary(Operation *) {
  auto type = resultType();
  auto elt = dyn_cast<FloatType>(type.getElementType());
  if (!elt)
    return op->emitOpError("expects a floating-point operand on the CPU "
                           "backend, got ")
           << op->getOperand(0).getType();
  Type compute = elt.getWidth() < 32 ? b.getF32Type() : elt;
  return done(elementwise(
      b, loc, type, operands[0],
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = convertScalar(nb, l, a[0], compute, false, false);
        return convertScalar(nb, l, floatMath(nb, l, op, x), elt, false, false);
      }));
}

/// sign, not and bitwise_not, which take integers (sign floats too).
LogicalResult MathLowering::lowerIntOrFloatUnary(Operation *) {
  auto type = resultType();
  Type elt = type.getElementType();
  StringRef name = op->getName().stripDialect();
  bool isUnsigned = isUnsignedElement(elementTypeOf(op->getOperand(0)));
  return done(elementwise(
      b, loc, type, operands[0],
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0];
        if (name == "not" || name == "bitwise_not")
          return arith::XOrIOp::create(nb, l, x,
                                       scalarConstant(nb, l, elt, -1));
        Value zero = scalarConstant(nb, l, elt, 0);
        Value one = scalarConstant(nb, l, elt, 1);
        Value minusOne = scalarConstant(nb, l, elt, -1);
        if (isa<FloatType>(elt)) {
          // NaN and +-0 stay as they are (numpy.sign).
          Value pos =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, zero);
          Value neg =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, x, zero);
          return arith::SelectOp::create(
              nb, l, pos, one,
              arith::SelectOp::create(nb, l, neg, minusOne, x));
        }
        Value pos = arith::CmpIOp::create(
            nb, l,
            isUnsigned ? arith::CmpIPredicate::ne : arith::CmpIPredicate::sgt,
            x, zero);
        Value neg =
            isUnsigned
                ? Value(arith::ConstantOp::create(nb, l, nb.getBoolAttr(false)))
                : Value(arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                              x, zero));
        return arith::SelectOp::create(
            nb, l, pos, one,
            arith::SelectOp::create(nb, l, neg, minusOne, zero));
      }));
}

LogicalResult MathLowering::lowerClassify(Operation *) {
  bool positive = true, negative = true;
  if (auto isInf = dyn_cast<IsInfOp>(op)) {
    positive = isInf.getDetectPositive();
    negative = isInf.getDetectNegative();
  }
  bool isNaN = isa<IsNaNOp>(op);
  return done(elementwise(
      b, loc, resultType(), operands[0],
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0];
        if (isNaN)
          return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, x, x);
        auto inf = [&](bool neg) {
          auto ft = cast<FloatType>(x.getType());
          return arith::CmpFOp::create(
              nb, l, arith::CmpFPredicate::OEQ, x,
              arith::ConstantOp::create(
                  nb, l,
                  nb.getFloatAttr(
                      ft, APFloat::getInf(ft.getFloatSemantics(), neg))));
        };
        Value r = arith::ConstantOp::create(nb, l, nb.getBoolAttr(false));
        if (positive)
          r = arith::OrIOp::create(nb, l, r, inf(false));
        if (negative)
          r = arith::OrIOp::create(nb, l, r, inf(true));
        return r;
      }));
}

LogicalResult MathLowering::lowerCompare(Operation *) {
  Type elt = lowerElementType(elementTypeOf(op->getOperand(0)));
  bool isUnsigned =
      isUnsignedElement(elementTypeOf(op->getOperand(0))) || elt.isInteger(1);
  StringRef name = op->getName().stripDialect();
  using FP = arith::CmpFPredicate;
  using IP = arith::CmpIPredicate;
  FP fp = llvm::StringSwitch<FP>(name)
              .Case("equal", FP::OEQ)
              .Case("less", FP::OLT)
              .Case("less_equal", FP::OLE)
              .Case("greater", FP::OGT)
              .Default(FP::OGE);
  IP ip = llvm::StringSwitch<IP>(name)
              .Case("equal", IP::eq)
              .Case("less", isUnsigned ? IP::ult : IP::slt)
              .Case("less_equal", isUnsigned ? IP::ule : IP::sle)
              .Case("greater", isUnsigned ? IP::ugt : IP::sgt)
              .Default(isUnsigned ? IP::uge : IP::sge);
  return done(
      elementwise(b, loc, resultType(), operands,
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    if (isa<FloatType>(elt))
                      return arith::CmpFOp::create(nb, l, fp, a[0], a[1]);
                    return arith::CmpIOp::create(nb, l, ip, a[0], a[1]);
                  }));
}

LogicalResult MathLowering::lowerBinary(Operation *) {
  auto type = resultType();
  Type elt = type.getElementType();
  StringRef name = op->getName().stripDialect();
  bool isUnsigned = isUnsignedElement(elementTypeOf(op->getOperand(0)));
  bool fmod = false, left = true;
  if (auto mod = dyn_cast<ModOp>(op))
    fmod = mod.getFmod();
  if (auto shift = dyn_cast<BitShiftOp>(op))
    left = shift.getDirection() == "left";
  bool isFloat = isa<FloatType>(elt);
  if (isFloat && name != "prelu" && name != "mod")
    return op->emitOpError("expects integer operands, got ")
           << op->getOperand(0).getType();
  return done(elementwise(
      b, loc, type, operands,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value x = a[0], y = a[1];
        if (name == "and" || name == "bitwise_and")
          return arith::AndIOp::create(nb, l, x, y);
        if (name == "or" || name == "bitwise_or")
          return arith::OrIOp::create(nb, l, x, y);
        if (name == "xor" || name == "bitwise_xor")
          return arith::XOrIOp::create(nb, l, x, y);
        Value zero = scalarConstant(nb, l, elt, 0);
        if (name == "bit_shift") {
          // A shift amount outside [0, width) (unsigned compare) gives
          // the sign fill alone: -1 for a signed right shift of a negative
          // value, else 0 (ONNX BitShift-28); LLVM's shift would be poison.
          Value width = scalarConstant(nb, l, elt, elt.getIntOrFloatBitWidth());
          Value outOfRange =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::uge, y, width);
          Value shifted, fill = zero;
          if (left) {
            shifted = arith::ShLIOp::create(nb, l, x, y);
          } else if (isUnsigned) {
            shifted = arith::ShRUIOp::create(nb, l, x, y);
          } else {
            shifted = arith::ShRSIOp::create(nb, l, x, y);
            Value negative = arith::CmpIOp::create(
                nb, l, arith::CmpIPredicate::slt, x, zero);
            fill = arith::SelectOp::create(
                nb, l, negative, scalarConstant(nb, l, elt, -1), zero);
          }
          return arith::SelectOp::create(nb, l, outOfRange, fill, shifted);
        }
        if (name == "prelu") {
          Value neg = isFloat ? (Value)arith::CmpFOp::create(
                                    nb, l, arith::CmpFPredicate::OLT, x, zero)
                              : (Value)arith::CmpIOp::create(
                                    nb, l, arith::CmpIPredicate::slt, x, zero);
          return arith::SelectOp::create(nb, l, neg, mulV(nb, l, x, y), x);
        }
        // mod
        if (isFloat) {
          // C fmod, computed in f32 at least. With fmod = 0 a non-zero
          // remainder whose sign differs from the divisor's gets the
          // divisor added and a zero one takes the divisor's sign (ONNX
          // Mod-28; NaN and infinities come out of fmod as specified).
          Type compute =
              elt.getIntOrFloatBitWidth() < 32 ? nb.getF32Type() : elt;
          Value xc = convertScalar(nb, l, x, compute, false, false);
          Value yc = convertScalar(nb, l, y, compute, false, false);
          Value r = arith::RemFOp::create(nb, l, xc, yc);
          if (!fmod) {
            Value zeroC = scalarConstant(nb, l, compute, 0);
            using P = arith::CmpFPredicate;
            Value isZero = arith::CmpFOp::create(nb, l, P::OEQ, r, zeroC);
            Value nonZero = arith::CmpFOp::create(nb, l, P::ONE, r, zeroC);
            Value rNeg = arith::CmpFOp::create(nb, l, P::OLT, r, zeroC);
            Value yNeg = arith::CmpFOp::create(nb, l, P::OLT, yc, zeroC);
            Value fix = arith::AndIOp::create(
                nb, l, nonZero, arith::XOrIOp::create(nb, l, rNeg, yNeg));
            Value adjusted = arith::SelectOp::create(
                nb, l, fix, arith::AddFOp::create(nb, l, r, yc), r);
            Value signedZero = math::CopySignOp::create(nb, l, r, yc);
            r = arith::SelectOp::create(nb, l, isZero, signedZero, adjusted);
          }
          return convertScalar(nb, l, r, elt, false, false);
        }
        if (isUnsigned)
          return arith::RemUIOp::create(nb, l, x, y);
        Value r = arith::RemSIOp::create(nb, l, x, y);
        if (fmod)
          return r;
        // Python's %: a non-zero remainder takes the divisor's sign.
        Value rNeg =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, r, zero);
        Value yNeg =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, y, zero);
        Value nonZero =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ne, r, zero);
        Value fix = arith::AndIOp::create(
            nb, l, nonZero, arith::XOrIOp::create(nb, l, rNeg, yNeg));
        return arith::SelectOp::create(nb, l, fix, addV(nb, l, r, y), r);
      }));
}

void quantopt::populateQNNToCPUMathPatterns(const TypeConverter &converter,
                                            RewritePatternSet &patterns) {
  add<&MathLowering::lowerFloatUnary, SinOp, CosOp, TanOp, AsinOp, AcosOp,
      AtanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp, FloorOp, CeilOp,
      RoundOp, SoftplusOp, SoftsignOp, MishOp, HardSwishOp, EluOp, SeluOp,
      CeluOp, LeakyReluOp, HardSigmoidOp, ThresholdedReluOp, ShrinkOp, SwishOp>(
      converter, patterns);
  add<&MathLowering::lowerIntOrFloatUnary, SignOp, NotOp, BitwiseNotOp>(
      converter, patterns);
  add<&MathLowering::lowerClassify, IsNaNOp, IsInfOp>(converter, patterns);
  add<&MathLowering::lowerCompare, EqualOp, LessOp, LessEqualOp, GreaterOp,
      GreaterEqualOp>(converter, patterns);
  add<&MathLowering::lowerBinary, AndOp, OrOp, XorOp, BitwiseAndOp, BitwiseOrOp,
      BitwiseXorOp, BitShiftOp, PReluOp, ModOp>(converter, patterns);
}
