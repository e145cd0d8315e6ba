//===- ONNXMathImporters.cpp - ONNX elementwise math, logic, activations --===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The importers of the ops of QNNMathOps.td (one qnn op each), and of the
// ONNX ops that are compositions of qnn ops: Clip (max then min), Sum and
// Mean (chained adds, then a division), CastLike (a cast) and Dropout at
// inference (the identity, with an all-true mask).
//
//===----------------------------------------------------------------------===//

#include "OpImporterUtils.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::onnx_import;
using namespace quantopt::qnn;

/// A unary op whose float attributes are the ONNX node's (with the ONNX
/// defaults, which are the op's).
template <typename OpT>
static NodeImporterFn
activation(std::initializer_list<std::pair<const char *, float>> attrs) {
  SmallVector<std::pair<std::string, float>> names;
  for (auto [name, def] : attrs)
    names.push_back({std::string(name), def});
  return [names](NodeContext &c) -> Results {
    REQUIRE(x, c.required(0, "X"));
    SmallVector<Type> types(1, c.placeholder());
    auto op = OpT::create(c.builder, c.loc, TypeRange(types), x);
    for (auto &[name, def] : names)
      op->setAttr(name, c.builder.getF32FloatAttr(c.attrFloat(name, def)));
    return c.finish(op);
  };
}

/// A rank-0 constant of `elementType` holding `value`.
static Value scalar(NodeContext &c, Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute attr;
  if (auto ft = dyn_cast<FloatType>(elementType))
    attr = DenseElementsAttr::get(type, FloatAttr::get(ft, value));
  else
    attr = DenseElementsAttr::get(
        type, IntegerAttr::get(elementType, static_cast<int64_t>(value)));
  return ConstantOp::create(c.builder, c.loc, cast<ElementsAttr>(attr));
}

static Type elementOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

//===----------------------------------------------------------------------===//
// Compositions
//===----------------------------------------------------------------------===//

/// Clip-11+: optional min/max inputs; Clip-6: float attributes. `max(x,
/// min)` then `min(., max)`, so min > max gives max as numpy.clip does, and
/// NaN propagates.
static Results importClip(NodeContext &c) {
  REQUIRE(x, c.required(0, "input"));
  Type elt = elementOf(x);
  Value lo = c.input(1), hi = c.input(2);
  if (c.opset < 11) {
    if (c.attr("min"))
      lo = scalar(c, elt, c.attrFloat("min", 0));
    if (c.attr("max"))
      hi = scalar(c, elt, c.attrFloat("max", 0));
  }
  for (Value bound : {lo, hi})
    if (bound && elementOf(bound) != elt)
      return c.error() << "min/max must have the input's element type " << elt
                       << ", got " << bound.getType();
  if (lo) {
    REQUIRE(r, build<MaxOp>(c, 1, x, lo));
    x = r[0];
  }
  if (hi) {
    REQUIRE(r, build<MinOp>(c, 1, x, hi));
    x = r[0];
  }
  return SmallVector<Value>{x};
}

/// Sum and Mean: the inputs added pairwise (with broadcasting), Mean divided
/// by their number.
static Results importSumOrMean(NodeContext &c, bool mean) {
  REQUIRE(sum, variadic<AddOp>(c));
  Value acc = sum[0];
  if (!mean || c.inputs.size() == 1)
    return SmallVector<Value>{acc};
  Type elt = elementOf(acc);
  if (!isa<FloatType>(elt))
    return c.error() << "Mean of " << elt
                     << " is not supported (ONNX defines it for floats)";
  return build<DivOp>(c, 1, acc, scalar(c, elt, c.inputs.size()));
}

static Results importCastLike(NodeContext &c) {
  REQUIRE(x, c.required(0, "input"));
  REQUIRE(like, c.required(1, "target_type"));
  auto type = cast<TensorType>(x.getType()).clone(elementOf(like));
  auto op = CastOp::create(c.builder, c.loc, type, x, flag(c, "saturate", 1));
  return c.finish(op);
}

/// Dropout at inference is the identity; its optional mask is all true.
/// Training mode (a constant true training_mode input) drops at random,
/// which a compiled inference model does not do.
static Results importDropout(NodeContext &c) {
  REQUIRE(x, c.required(0, "data"));
  if (Value training = c.input(2)) {
    std::optional<SmallVector<int64_t>> v = getConstantIntValues(training);
    if (!v || v->size() != 1)
      return c.error() << "input 2 (training_mode) must be a constant; "
                          "QuantOpt compiles inference, bind it to false";
    if ((*v)[0] != 0) {
      DenseFPElementsAttr ratioAttr;
      if (Value ratio = c.input(1))
        matchPattern(ratio, m_Constant(&ratioAttr));
      if (!ratioAttr || !ratioAttr.isSplat() ||
          !ratioAttr.getSplatValue<APFloat>().isZero())
        return c.error() << "training_mode is true: random dropout is not "
                            "supported (QuantOpt compiles inference); set "
                            "training_mode to false or ratio to 0";
    }
  }
  SmallVector<Value> results{x};
  if (c.numOutputs() > 1 && !c.node.output(1).empty()) {
    auto type = dyn_cast<RankedTensorType>(x.getType());
    if (!type || !type.hasStaticShape())
      return c.error() << "the mask output needs a static input shape, got "
                       << x.getType();
    auto maskType = type.clone(c.builder.getI1Type());
    results.push_back(
        ConstantOp::create(c.builder, c.loc,
                           cast<ElementsAttr>(DenseElementsAttr::get(
                               maskType, ArrayRef<bool>{true}))));
  }
  return results;
}

static Results importIsInf(NodeContext &c) {
  REQUIRE(x, c.required(0, "X"));
  return build<IsInfOp>(c, 1, x, flag(c, "detect_positive", 1),
                        flag(c, "detect_negative", 1));
}

static Results importMod(NodeContext &c) {
  REQUIRE(a, c.required(0, "A"));
  REQUIRE(b, c.required(1, "B"));
  int64_t fmod = c.attrInt("fmod", 0);
  if (fmod != 0 && fmod != 1)
    return c.error() << "fmod must be 0 or 1, got " << fmod;
  return build<ModOp>(c, 1, a, b, c.builder.getBoolAttr(fmod != 0));
}

static Results importBitShift(NodeContext &c) {
  REQUIRE(a, c.required(0, "X"));
  REQUIRE(b, c.required(1, "Y"));
  std::string direction = c.attrString("direction", "");
  std::string lowered = direction == "LEFT"    ? "left"
                        : direction == "RIGHT" ? "right"
                                               : "";
  if (lowered.empty())
    return c.error() << "direction must be \"LEFT\" or \"RIGHT\", got \""
                     << direction << "\"";
  return build<BitShiftOp>(c, 1, a, b, c.builder.getStringAttr(lowered));
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

void onnx_import::registerMathImporters(llvm::StringMap<NodeImporter> &t) {
  auto onnx = [&](StringRef op, NodeImporterFn fn, int64_t minOpset) {
    t[("::" + op).str()] = {std::move(fn), minOpset};
  };
  // Trigonometry, rounding, sign.
  onnx("Sin", unary<SinOp>(), 7);
  onnx("Cos", unary<CosOp>(), 7);
  onnx("Tan", unary<TanOp>(), 7);
  onnx("Asin", unary<AsinOp>(), 7);
  onnx("Acos", unary<AcosOp>(), 7);
  onnx("Atan", unary<AtanOp>(), 7);
  onnx("Sinh", unary<SinhOp>(), 9);
  onnx("Cosh", unary<CoshOp>(), 9);
  onnx("Asinh", unary<AsinhOp>(), 9);
  onnx("Acosh", unary<AcoshOp>(), 9);
  onnx("Atanh", unary<AtanhOp>(), 9);
  onnx("Floor", unary<FloorOp>(), 6);
  onnx("Ceil", unary<CeilOp>(), 6);
  onnx("Round", unary<RoundOp>(), 11);
  onnx("Sign", unary<SignOp>(), 9);
  onnx("IsNaN", unary<IsNaNOp>(), 9);
  onnx("IsInf", importIsInf, 10);
  // Comparisons and logic.
  onnx("Equal", binary<EqualOp>(), 7);
  onnx("Less", binary<LessOp>(), 7);
  onnx("Greater", binary<GreaterOp>(), 7);
  onnx("LessOrEqual", binary<LessEqualOp>(), 12);
  onnx("GreaterOrEqual", binary<GreaterEqualOp>(), 12);
  onnx("And", binary<AndOp>(), 7);
  onnx("Or", binary<OrOp>(), 7);
  onnx("Xor", binary<XorOp>(), 7);
  onnx("Not", unary<NotOp>(), 1);
  onnx("BitShift", importBitShift, 11);
  onnx("BitwiseAnd", binary<BitwiseAndOp>(), 18);
  onnx("BitwiseOr", binary<BitwiseOrOp>(), 18);
  onnx("BitwiseXor", binary<BitwiseXorOp>(), 18);
  onnx("BitwiseNot", unary<BitwiseNotOp>(), 18);
  onnx("Mod", importMod, 10);
  // Compositions.
  onnx("Clip", importClip, 6);
  onnx(
      "Sum", [](NodeContext &c) { return importSumOrMean(c, false); }, 8);
  onnx(
      "Mean", [](NodeContext &c) { return importSumOrMean(c, true); }, 8);
  onnx("CastLike", importCastLike, 15);
  onnx("Dropout", importDropout, 7);
  // Activations.
  onnx("Softplus", unary<SoftplusOp>(), 1);
  onnx("Softsign", unary<SoftsignOp>(), 1);
  onnx("Mish", unary<MishOp>(), 18);
  onnx("HardSwish", unary<HardSwishOp>(), 14);
  onnx("Elu", activation<EluOp>({{"alpha", 1.0f}}), 6);
  onnx("Selu",
       activation<SeluOp>({{"alpha", 1.67326319217681884765625f},
                           {"gamma", 1.05070102214813232421875f}}),
       6);
  onnx("Celu", activation<CeluOp>({{"alpha", 1.0f}}), 12);
  onnx("LeakyRelu", activation<LeakyReluOp>({{"alpha", 0.01f}}), 6);
  onnx("HardSigmoid",
       activation<HardSigmoidOp>({{"alpha", 0.2f}, {"beta", 0.5f}}), 6);
  onnx("ThresholdedRelu", activation<ThresholdedReluOp>({{"alpha", 1.0f}}), 10);
  onnx("Shrink", activation<ShrinkOp>({{"bias", 0.0f}, {"lambd", 0.5f}}), 9);
  onnx("Swish", activation<SwishOp>({{"alpha", 1.0f}}), 24);
  onnx("PRelu", binary<PReluOp>(), 9);
}
