//===- ONNXOpImporters.cpp - The ONNX op table ----------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// One small function per ONNX op, registered in a table keyed by domain and
// op type. Each maps ONNX attributes and opset differences to the normalized
// `qnn` op; result types come from the op's type inference (see
// NodeContext::finish), so shapes ONNX leaves unknown are inferred.
//
//===----------------------------------------------------------------------===//

#include "OpImporterUtils.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::onnx_import;
using namespace quantopt::qnn;

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::attrInt(StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float NodeContext::attrFloat(StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::string NodeContext::attrString(StringRef name, StringRef def) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : def.str();
}

std::optional<SmallVector<int64_t>>
NodeContext::attrInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

InFlightDiagnostic NodeContext::error() const {
  // The location already names the node.
  return emitError(loc) << node.op_type() << ": ";
}

FailureOr<Value> NodeContext::required(unsigned i, StringRef what) const {
  if (Value v = input(i))
    return v;
  return error() << "missing required input " << i << " (" << what << ")";
}

FailureOr<Value> NodeContext::ranked(unsigned i, StringRef what) const {
  FailureOr<Value> v = required(i, what);
  if (failed(v))
    return failure();
  if (!isa<RankedTensorType>(v->getType()))
    return error() << "input " << i << " (" << what
                   << ") has unknown rank; give the model's inputs a shape "
                      "(e.g. with onnx.shape_inference)";
  return v;
}

FailureOr<Value> NodeContext::indexList(unsigned i, StringRef what,
                                        bool requireI64) const {
  FailureOr<Value> v = required(i, what);
  if (failed(v))
    return failure();
  auto type = dyn_cast<RankedTensorType>(v->getType());
  Type elementType = type ? type.getElementType() : Type();
  bool ok =
      type && type.getRank() == 1 &&
      (elementType.isInteger(64) || (!requireI64 && elementType.isInteger(32)));
  if (!ok)
    return error() << "input " << i << " (" << what << ") must be a 1-D "
                   << (requireI64 ? "int64" : "int32/int64") << " tensor, got "
                   << v->getType();
  return v;
}

FailureOr<SmallVector<int64_t>> NodeContext::constInts(unsigned i,
                                                       StringRef what) const {
  std::optional<SmallVector<int64_t>> values = getConstantIntValues(input(i));
  if (!values)
    return error() << "input " << i << " (" << what
                   << ") must be a constant; QuantOpt does not support "
                      "run-time "
                   << what;
  return *values;
}

Results NodeContext::finish(Operation *op) const {
  if (auto iface = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(iface.inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), types))) {
      op->erase();
      return failure();
    }
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
  }
  // An op the importers' own checks missed (found by fuzzing: a
  // MatMulNBits weight of the wrong rank) is rejected here, at its node,
  // rather than left for folding or for the module's verification.
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return failure();
  }
  // Fold shape arithmetic as it is imported, so that later nodes (Split
  // sizes, Reshape targets computed from Shape) see constants.
  SmallVector<OpFoldResult> folded;
  if (failed(op->fold(folded)) || folded.empty())
    return SmallVector<Value>(op->getResults());
  SmallVector<Value> results;
  for (auto [result, fold] : llvm::zip(op->getResults(), folded)) {
    if (auto value = dyn_cast<Value>(fold)) {
      results.push_back(value);
      continue;
    }
    Operation *constant = op->getDialect()->materializeConstant(
        builder, cast<Attribute>(fold), result.getType(), loc);
    if (!constant)
      return SmallVector<Value>(op->getResults());
    results.push_back(constant->getResult(0));
  }
  op->erase();
  return results;
}

//===----------------------------------------------------------------------===//
// Helpers (OpImporterUtils.h)
//===----------------------------------------------------------------------===//

FailureOr<Type> onnx_import::dataTypeAttr(NodeContext &c, StringRef name) {
  int64_t to = c.attrInt(name, 0);
  Type t = convertElementType(to, c.builder.getContext());
  if (!t)
    return c.error() << "attribute '" << name << "' names element type "
                     << dataTypeName(to) << ", which QuantOpt does not support";
  return t;
}

Results onnx_import::verified(Operation *op) {
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return failure();
  }
  return SmallVector<Value>(op->getResults());
}

//===----------------------------------------------------------------------===//
// Per-op importers
//===----------------------------------------------------------------------===//

static Results importConstant(NodeContext &c) {
  Builder &b = c.builder;
  ElementsAttr value;
  if (const onnx::AttributeProto *a = c.attr("value")) {
    FailureOr<ElementsAttr> v = c.convertTensor(
        a->t(), ("constant '" + c.node.output(0) + "'").c_str());
    if (failed(v))
      return failure();
    value = *v;
  } else if (const onnx::AttributeProto *a = c.attr("value_float")) {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   a->f());
  } else if (const onnx::AttributeProto *a = c.attr("value_floats")) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getF32Type()),
        ArrayRef<float>(v));
  } else if (const onnx::AttributeProto *a = c.attr("value_int")) {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   static_cast<int64_t>(a->i()));
  } else if (const onnx::AttributeProto *a = c.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    return c.error() << "only tensor, float(s) and int(s) constants are "
                        "supported (string and sparse constants are not)";
  }
  return SmallVector<Value>{ConstantOp::create(c.builder, c.loc, value)};
}

static Results importCast(NodeContext &c) {
  REQUIRE(x, c.required(0, "input"));
  REQUIRE(to, dataTypeAttr(c, "to"));
  return SmallVector<Value>{
      CastOp::create(c.builder, c.loc, cast<TensorType>(x.getType()).clone(to),
                     x, flag(c, "saturate", 1))};
}

static Results importShape(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  IntegerAttr end;
  if (c.attr("end"))
    end = c.builder.getI64IntegerAttr(c.attrInt("end", 0));
  return build<ShapeOp>(
      c, 1, x, c.builder.getI64IntegerAttr(c.attrInt("start", 0)), end);
}

static Results importGelu(NodeContext &c) {
  REQUIRE(x, c.required(0, "X"));
  std::string approximate = c.attrString("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return c.error() << "approximate must be 'none' or 'tanh', got '"
                     << approximate << "'";
  return build<GeluOp>(c, 1, x, c.builder.getStringAttr(approximate));
}

static Results importSoftmax(NodeContext &c) {
  REQUIRE(x, c.required(0, "input"));
  return build<SoftmaxOp>(c, 1, x,
                          c.builder.getI64IntegerAttr(c.attrInt("axis", -1)));
}

static Results importMatMul(NodeContext &c) {
  REQUIRE(a, c.required(0, "A"));
  REQUIRE(b, c.required(1, "B"));
  return build<MatMulOp>(c, 1, a, b);
}

static Results importGemm(NodeContext &c) {
  REQUIRE(a, c.ranked(0, "A"));
  REQUIRE(b, c.ranked(1, "B"));
  Builder &bb = c.builder;
  return build<GemmOp>(c, 1, a, b, c.input(2),
                       bb.getF32FloatAttr(c.attrFloat("alpha", 1.0f)),
                       bb.getF32FloatAttr(c.attrFloat("beta", 1.0f)),
                       flag(c, "transA", 0), flag(c, "transB", 0));
}

static Results importLayerNorm(NodeContext &c) {
  REQUIRE(x, c.required(0, "X"));
  REQUIRE(scale, c.required(1, "Scale"));
  return build<LayerNormOp>(
      c, 3, x, scale, c.input(2),
      c.builder.getI64IntegerAttr(c.attrInt("axis", -1)),
      c.builder.getF32FloatAttr(c.attrFloat("epsilon", 1e-5f)));
}

static Results importRMSNorm(NodeContext &c) {
  REQUIRE(x, c.required(0, "X"));
  REQUIRE(scale, c.required(1, "scale"));
  return build<RMSNormOp>(
      c, 1, x, scale, c.builder.getI64IntegerAttr(c.attrInt("axis", -1)),
      c.builder.getF32FloatAttr(c.attrFloat("epsilon", 1e-5f)));
}

static Results importReshape(NodeContext &c) {
  REQUIRE(x, c.required(0, "data"));
  REQUIRE(shape, c.indexList(1, "shape", /*requireI64=*/true));
  return build<ReshapeOp>(c, 1, x, shape, flag(c, "allowzero", 0));
}

static Results importTranspose(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> perm;
  if (auto p = c.attrInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  return build<TransposeOp>(c, 1, x, c.builder.getDenseI64ArrayAttr(perm));
}

static Results importConcat(NodeContext &c) {
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < c.inputs.size(); ++i) {
    REQUIRE(v, c.ranked(i, "inputs"));
    inputs.push_back(v);
  }
  if (!c.attr("axis"))
    return c.error() << "missing required attribute 'axis'";
  return build<ConcatOp>(c, 1, inputs,
                         c.builder.getI64IntegerAttr(c.attrInt("axis", 0)));
}

static Results importSplit(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  auto type = cast<RankedTensorType>(x.getType());
  int64_t axisAttr = c.attrInt("axis", 0);
  std::optional<int64_t> axis = normalizeAxis(axisAttr, type.getRank());
  if (!axis)
    return c.error() << "axis " << axisAttr << " is out of range for " << type;
  SmallVector<int64_t> sizes;
  unsigned n = c.numOutputs();
  if (c.input(1)) {
    REQUIRE(s, c.constInts(1, "split sizes"));
    sizes = s;
  } else if (auto s = c.attrInts("split")) {
    sizes = *s;
  } else {
    int64_t dim = type.getDimSize(*axis);
    if (ShapedType::isDynamic(dim))
      return c.error() << "cannot split the dynamic dimension " << *axis
                       << " of " << type
                       << " without explicit sizes; pass the 'split' input";
    int64_t parts = c.attrInt("num_outputs", n);
    if (parts <= 0)
      return c.error() << "num_outputs must be positive";
    // Split-18: ceil-sized chunks, the last one smaller.
    int64_t chunk = llvm::divideCeil(dim, parts);
    for (int64_t i = 0, left = dim; i < parts; ++i) {
      sizes.push_back(std::min(chunk, left));
      left -= sizes.back();
    }
  }
  if (sizes.size() != n)
    return c.error() << "has " << n << " outputs but " << sizes.size()
                     << " split sizes";
  return build<SplitOp>(c, n, x, c.builder.getI64IntegerAttr(axisAttr),
                        c.builder.getDenseI64ArrayAttr(sizes));
}

static Results importSlice(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  REQUIRE(starts, c.indexList(1, "starts", false));
  REQUIRE(ends, c.indexList(2, "ends", false));
  Value axes, steps;
  if (c.input(3)) {
    REQUIRE(a, c.indexList(3, "axes", false));
    axes = a;
  }
  if (c.input(4)) {
    REQUIRE(s, c.indexList(4, "steps", false));
    steps = s;
  }
  return build<SliceOp>(c, 1, x, starts, ends, axes, steps);
}

static Results importGather(NodeContext &c) {
  REQUIRE(data, c.ranked(0, "data"));
  REQUIRE(indices, c.required(1, "indices"));
  return build<GatherOp>(c, 1, data, indices,
                         c.builder.getI64IntegerAttr(c.attrInt("axis", 0)));
}

static Results importSqueeze(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  SmallVector<int64_t> axes;
  if (c.input(1)) {
    REQUIRE(a, c.constInts(1, "axes"));
    axes = a;
  }
  return build<SqueezeOp>(c, 1, x, c.builder.getDenseI64ArrayAttr(axes));
}

static Results importUnsqueeze(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  REQUIRE(axes, c.constInts(1, "axes"));
  return build<UnsqueezeOp>(c, 1, x, c.builder.getDenseI64ArrayAttr(axes));
}

static Results importExpand(NodeContext &c) {
  REQUIRE(x, c.required(0, "input"));
  REQUIRE(shape, c.indexList(1, "shape", /*requireI64=*/true));
  return build<ExpandOp>(c, 1, x, shape);
}

static Results importWhere(NodeContext &c) {
  REQUIRE(cond, c.required(0, "condition"));
  REQUIRE(x, c.required(1, "X"));
  REQUIRE(y, c.required(2, "Y"));
  return build<WhereOp>(c, 1, cond, x, y);
}

//===----------------------------------------------------------------------===//
// Quantization ops
//===----------------------------------------------------------------------===//

static Results importQuantizeLinear(NodeContext &c) {
  REQUIRE(x, c.required(0, "x"));
  REQUIRE(scale, c.required(1, "y_scale"));
  Value zp = c.input(2);
  Type storage;
  if (zp) {
    storage = cast<ShapedType>(zp.getType()).getElementType();
  } else if (c.attrInt("output_dtype", 0) != 0) {
    REQUIRE(t, dataTypeAttr(c, "output_dtype"));
    storage = t;
  } else {
    storage =
        IntegerType::get(c.builder.getContext(), 8, IntegerType::Unsigned);
  }
  auto op = QuantizeOp::create(
      c.builder, c.loc, cast<TensorType>(x.getType()).clone(storage), x, scale,
      zp, c.builder.getI64IntegerAttr(c.attrInt("axis", 1)),
      c.builder.getI64IntegerAttr(c.attrInt("block_size", 0)),
      flag(c, "saturate", 1));
  // Not through finish(): the result type is set here. Verified all the
  // same (fuzzing found an out-of-range axis).
  return verified(op);
}

static Results importDequantizeLinear(NodeContext &c) {
  REQUIRE(x, c.required(0, "x"));
  REQUIRE(scale, c.required(1, "x_scale"));
  Type result = cast<ShapedType>(scale.getType()).getElementType();
  if (c.attrInt("output_dtype", 0) != 0) {
    REQUIRE(t, dataTypeAttr(c, "output_dtype"));
    result = t;
  }
  auto op = DequantizeOp::create(
      c.builder, c.loc, cast<TensorType>(x.getType()).clone(result), x, scale,
      c.input(2), c.builder.getI64IntegerAttr(c.attrInt("axis", 1)),
      c.builder.getI64IntegerAttr(c.attrInt("block_size", 0)));
  // Not through finish(): the result type is set here. Verified all the
  // same (fuzzing found an out-of-range axis).
  return verified(op);
}

static Results importDynamicQuantizeLinear(NodeContext &c) {
  REQUIRE(x, c.required(0, "x"));
  return build<DynamicQuantizeOp>(c, 3, x);
}

static Results importMatMulInteger(NodeContext &c) {
  REQUIRE(a, c.required(0, "A"));
  REQUIRE(b, c.required(1, "B"));
  return build<MatMulIntegerOp>(c, 1, a, b, c.input(2), c.input(3));
}

static Results importQLinearMatMul(NodeContext &c) {
  SmallVector<Value> in;
  static const char *names[] = {"a",       "a_scale",     "a_zero_point",
                                "b",       "b_scale",     "b_zero_point",
                                "y_scale", "y_zero_point"};
  for (unsigned i = 0; i < 8; ++i) {
    REQUIRE(v, c.required(i, names[i]));
    in.push_back(v);
  }
  return build<QLinearMatMulOp>(c, 1, in[0], in[1], in[2], in[3], in[4], in[5],
                                in[6], in[7]);
}

static Results importMatMulNBits(NodeContext &c) {
  REQUIRE(a, c.required(0, "A"));
  REQUIRE(b, c.required(1, "B"));
  REQUIRE(scales, c.required(2, "scales"));
  for (StringRef name : {"K", "N", "block_size"})
    if (!c.attr(name))
      return c.error() << "missing required attribute '" << name << "'";
  Builder &bb = c.builder;
  return build<MatMulNBitsOp>(
      c, 1, a, b, scales, c.input(3), c.input(4), c.input(5),
      bb.getI64IntegerAttr(c.attrInt("K", 0)),
      bb.getI64IntegerAttr(c.attrInt("N", 0)),
      bb.getI64IntegerAttr(c.attrInt("bits", 4)),
      bb.getI64IntegerAttr(c.attrInt("block_size", 0)),
      bb.getI64IntegerAttr(c.attrInt("accuracy_level", 0)));
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const llvm::StringMap<NodeImporter> &onnx_import::getNodeImporters() {
  static const llvm::StringMap<NodeImporter> table = [] {
    llvm::StringMap<NodeImporter> t;
    auto onnx = [&](StringRef op, NodeImporterFn fn, int64_t minOpset = 13) {
      t[("::" + op).str()] = {std::move(fn), minOpset};
    };
    // Math.
    onnx("Add", binary<AddOp>());
    onnx("Sub", binary<SubOp>());
    onnx("Mul", binary<MulOp>());
    onnx("Div", binary<DivOp>());
    onnx("Pow", binary<PowOp>());
    onnx("Min", variadic<MinOp>);
    onnx("Max", variadic<MaxOp>);
    onnx("Sqrt", unary<SqrtOp>());
    onnx("Reciprocal", unary<ReciprocalOp>());
    onnx("Neg", unary<NegOp>());
    onnx("Exp", unary<ExpOp>());
    onnx("Log", unary<LogOp>());
    onnx("Abs", unary<AbsOp>());
    onnx("Erf", unary<ErfOp>());
    onnx("Tanh", unary<TanhOp>());
    onnx("Sigmoid", unary<SigmoidOp>());
    onnx("Relu", unary<ReluOp>());
    onnx("Gelu", importGelu, 20);
    onnx("Where", importWhere, 9);
    onnx("MatMul", importMatMul, 9);
    onnx("Gemm", importGemm, 11);
    // Neural network.
    onnx("Softmax", importSoftmax);
    onnx("LayerNormalization", importLayerNorm, 17);
    onnx("RMSNormalization", importRMSNorm, 23);
    onnx("ReduceMean", reduction<ReduceMeanOp>(18));
    onnx("ReduceSum", reduction<ReduceSumOp>(13));
    onnx("ReduceMax", reduction<ReduceMaxOp>(18));
    // Tensor.
    onnx("Constant", importConstant);
    onnx(
        "Identity",
        [](NodeContext &c) -> Results {
          REQUIRE(x, c.required(0, "input"));
          return SmallVector<Value>{x};
        },
        1);
    onnx("Cast", importCast);
    onnx("Shape", importShape);
    onnx("Reshape", importReshape);
    onnx("Transpose", importTranspose);
    onnx("Concat", importConcat);
    onnx("Split", importSplit);
    onnx("Slice", importSlice);
    onnx("Gather", importGather);
    onnx("Squeeze", importSqueeze);
    onnx("Unsqueeze", importUnsqueeze);
    onnx("Expand", importExpand);
    // Quantization.
    onnx("QuantizeLinear", importQuantizeLinear);
    onnx("DequantizeLinear", importDequantizeLinear);
    onnx("DynamicQuantizeLinear", importDynamicQuantizeLinear, 11);
    onnx("MatMulInteger", importMatMulInteger, 10);
    onnx("QLinearMatMul", importQLinearMatMul, 10);
    t["com.microsoft::MatMulNBits"] = {importMatMulNBits, 1};
    registerMathImporters(t);
    registerIndexImporters(t);
    registerMicrosoftImporters(t);
    return t;
  }();
  return table;
}
