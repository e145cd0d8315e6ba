//===- ONNXIndexImporters.cpp - ONNX shape, index and reduction ops -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Importers of the ops that build masks and positions from shapes (Range,
// ConstantOfShape, CumSum, Trilu, ...), the indexed reads and writes
// (GatherElements, GatherND, ScatterND, ScatterElements) and the remaining
// reductions, registered into the op table of ONNXOpImporters.cpp by
// registerIndexImporters. Inputs that become attributes (axes, pads,
// repeats, depth) must be constants; the message says so.
//
//===----------------------------------------------------------------------===//

#include "OpImporterUtils.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::onnx_import;
using namespace quantopt::qnn;

//===----------------------------------------------------------------------===//
// Shape building
//===----------------------------------------------------------------------===//

static Results importConstantOfShape(NodeContext &c) {
  REQUIRE(shape, c.indexList(0, "input", /*requireI64=*/true));
  ElementsAttr value;
  if (const onnx::AttributeProto *a = c.attr("value")) {
    REQUIRE(v, c.convertTensor(a->t(), "ConstantOfShape value"));
    value = v;
  } else {
    value = DenseElementsAttr::get(
        RankedTensorType::get({1}, c.builder.getF32Type()), 0.0f);
  }
  if (value.getNumElements() != 1)
    return c.error() << "attribute 'value' must have exactly one element, got "
                     << value.getType();
  return build<ConstantOfShapeOp>(c, 1, shape, value);
}

static Results importRange(NodeContext &c) {
  REQUIRE(start, c.required(0, "start"));
  REQUIRE(limit, c.required(1, "limit"));
  REQUIRE(delta, c.required(2, "delta"));
  return build<RangeOp>(c, 1, start, limit, delta);
}

static Results importSize(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  return build<SizeOp>(c, 1, x);
}

/// Flatten is a reshape to [prod(dims[:axis]), prod(dims[axis:])]; a side
/// with a dynamic dim becomes -1, which works while the other is static.
static Results importFlatten(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), axis = c.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return c.error() << "axis " << axis << " is out of range for " << type
                     << " (valid: [" << -rank << ", " << rank << "])";
  if (axis < 0)
    axis += rank;
  auto product = [&](int64_t from, int64_t to) -> int64_t {
    int64_t p = 1;
    for (int64_t i = from; i < to; ++i) {
      if (type.isDynamicDim(i))
        return -1;
      p *= type.getDimSize(i);
    }
    return p;
  };
  int64_t outer = product(0, axis), inner = product(axis, rank);
  if (outer < 0 && inner < 0)
    return c.error() << "cannot flatten " << type << " at axis " << axis
                     << ": both sides have dynamic dims; give the model's "
                        "inputs static shapes";
  auto shapeType = RankedTensorType::get({2}, c.builder.getI64Type());
  Value shape = ConstantOp::create(
      c.builder, c.loc,
      DenseElementsAttr::get(shapeType, ArrayRef<int64_t>{outer, inner}));
  return build<ReshapeOp>(c, 1, x, shape, c.builder.getBoolAttr(false));
}

static Results importEyeLike(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  auto type = cast<RankedTensorType>(x.getType());
  if (type.getRank() != 2)
    return c.error() << "input must be 2-D, got " << type;
  Type et = type.getElementType();
  if (c.attr("dtype")) {
    REQUIRE(dt, dataTypeAttr(c, "dtype"));
    et = dt;
  }
  auto op = EyeLikeOp::create(c.builder, c.loc, type.clone(et), x,
                              i64Attr(c, c.attrInt("k", 0)));
  return c.finish(op);
}

static Results importTrilu(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  Value k = c.input(1);
  if (k && !getElementTypeOrSelf(k.getType()).isInteger(64))
    return c.error() << "input 1 (k) must be an int64 scalar, got "
                     << k.getType();
  return build<TriluOp>(c, 1, x, k, flag(c, "upper", 1));
}

template <typename OpT> static Results importScan(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "x"));
  REQUIRE(axis, c.constInts(1, "axis"));
  if (axis.size() != 1)
    return c.error() << "input 1 (axis) must hold one value, got "
                     << axis.size();
  return build<OpT>(c, 1, x, i64Attr(c, axis[0]), flag(c, "exclusive", 0),
                    flag(c, "reverse", 0));
}

static Results importTile(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  REQUIRE(repeats, c.constInts(1, "repeats"));
  return build<TileOp>(c, 1, x, c.builder.getDenseI64ArrayAttr(repeats));
}

/// Pad-13..23: pads (and, from 18, axes) must be constants; the pads of the
/// listed axes are spread into one begin and one end pad per dim.
static Results importPad(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  REQUIRE(pads, c.constInts(1, "pads"));
  SmallVector<int64_t> axes;
  if (c.input(3)) {
    REQUIRE(a, c.constInts(3, "axes"));
    axes = a;
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size())
    return c.error() << "has " << pads.size() << " pads for " << axes.size()
                     << " axes; give a begin and an end pad per axis";
  SmallVector<int64_t> full(2 * rank, 0);
  int64_t n = axes.size();
  for (int64_t i = 0; i < n; ++i) {
    std::optional<int64_t> ax = normalizeAxis(axes[i], rank);
    if (!ax)
      return c.error() << "axis " << axes[i] << " is out of range for rank "
                       << rank;
    full[*ax] = pads[i];
    full[*ax + rank] = pads[i + n];
  }
  std::string mode = c.attrString("mode", "constant");
  Value value = c.input(2);
  if (value && mode != "constant")
    value = Value();
  return build<PadOp>(c, 1, x, value, c.builder.getDenseI64ArrayAttr(full),
                      c.builder.getStringAttr(mode));
}

static Results importOneHot(NodeContext &c) {
  REQUIRE(indices, c.ranked(0, "indices"));
  REQUIRE(depthValue, c.required(1, "depth"));
  REQUIRE(values, c.ranked(2, "values"));
  std::optional<int64_t> depth;
  if (auto ints = getConstantIntValues(depthValue); ints && ints->size() == 1)
    depth = (*ints)[0];
  DenseFPElementsAttr floats;
  if (!depth && matchPattern(depthValue, m_Constant(&floats)) &&
      floats.getNumElements() == 1)
    depth = (int64_t)(*floats.getValues<APFloat>().begin()).convertToDouble();
  if (!depth)
    return c.error() << "input 1 (depth) must be a constant scalar; QuantOpt "
                        "does not support a run-time depth";
  return build<OneHotOp>(c, 1, indices, values, i64Attr(c, *depth),
                         i64Attr(c, c.attrInt("axis", -1)));
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename OpT> static Results importArg(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "data"));
  return build<OpT>(c, 1, x, i64Attr(c, c.attrInt("axis", 0)),
                    flag(c, "keepdims", 1), flag(c, "select_last_index", 0));
}

template <typename OpT> static Results importAxiswise(NodeContext &c) {
  REQUIRE(x, c.ranked(0, "input"));
  return build<OpT>(c, 1, x, i64Attr(c, c.attrInt("axis", -1)));
}

//===----------------------------------------------------------------------===//
// Gathers and scatters
//===----------------------------------------------------------------------===//

static Results importGatherElements(NodeContext &c) {
  REQUIRE(data, c.ranked(0, "data"));
  REQUIRE(indices, c.ranked(1, "indices"));
  return build<GatherElementsOp>(c, 1, data, indices,
                                 i64Attr(c, c.attrInt("axis", 0)));
}

static Results importGatherND(NodeContext &c) {
  REQUIRE(data, c.ranked(0, "data"));
  REQUIRE(indices, c.ranked(1, "indices"));
  return build<GatherNDOp>(c, 1, data, indices,
                           i64Attr(c, c.attrInt("batch_dims", 0)));
}

static Results importScatterND(NodeContext &c) {
  REQUIRE(data, c.ranked(0, "data"));
  REQUIRE(indices, c.ranked(1, "indices"));
  REQUIRE(updates, c.ranked(2, "updates"));
  return build<ScatterNDOp>(
      c, 1, data, indices, updates,
      c.builder.getStringAttr(c.attrString("reduction", "none")));
}

static Results importScatterElements(NodeContext &c) {
  REQUIRE(data, c.ranked(0, "data"));
  REQUIRE(indices, c.ranked(1, "indices"));
  REQUIRE(updates, c.ranked(2, "updates"));
  return build<ScatterElementsOp>(
      c, 1, data, indices, updates, i64Attr(c, c.attrInt("axis", 0)),
      c.builder.getStringAttr(c.attrString("reduction", "none")));
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

void onnx_import::registerIndexImporters(llvm::StringMap<NodeImporter> &t) {
  auto onnx = [&](StringRef op, NodeImporterFn fn, int64_t minOpset = 13) {
    t[("::" + op).str()] = {std::move(fn), minOpset};
  };
  // Shape building.
  onnx("ConstantOfShape", importConstantOfShape, 9);
  onnx("Range", importRange, 11);
  onnx("Size", importSize);
  onnx("Flatten", importFlatten);
  onnx("EyeLike", importEyeLike, 9);
  onnx("Trilu", importTrilu, 14);
  onnx("CumSum", importScan<CumSumOp>, 11);
  onnx("CumProd", importScan<CumProdOp>, 26);
  onnx("Tile", importTile);
  onnx("Pad", importPad);
  onnx("OneHot", importOneHot, 11);
  // Reductions.
  onnx("ReduceMin", reduction<ReduceMinOp>(18));
  onnx("ReduceProd", reduction<ReduceProdOp>(18));
  onnx("ReduceL1", reduction<ReduceL1Op>(18));
  onnx("ReduceL2", reduction<ReduceL2Op>(18));
  onnx("ReduceLogSum", reduction<ReduceLogSumOp>(18));
  onnx("ReduceLogSumExp", reduction<ReduceLogSumExpOp>(18));
  onnx("ReduceSumSquare", reduction<ReduceSumSquareOp>(18));
  onnx("ArgMax", importArg<ArgMaxOp>, 12);
  onnx("ArgMin", importArg<ArgMinOp>, 12);
  onnx("LogSoftmax", importAxiswise<LogSoftmaxOp>);
  onnx("Hardmax", importAxiswise<HardmaxOp>);
  // Indexed reads and writes.
  onnx("GatherElements", importGatherElements);
  onnx("GatherND", importGatherND, 12);
  onnx("ScatterND", importScatterND);
  onnx("ScatterElements", importScatterElements);
}
