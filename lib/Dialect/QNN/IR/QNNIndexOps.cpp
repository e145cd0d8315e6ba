//===- QNNIndexOps.cpp - Shape-building and indexing qnn ops --------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Type inference, verifiers and folders of the ops in QNNIndexOps.td that
// build or index tensors: constant_of_shape, range, size, eye_like, trilu,
// the scans, tile, pad, one_hot, the element/ND gathers and the scatters.
// Folders make the shape arithmetic of LLM mask construction (Shape ->
// Gather -> Range -> ...) constant when the shapes are static.
//
//===----------------------------------------------------------------------===//

#include "TypeInferenceUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

static constexpr int64_t kDyn = ShapedType::kDynamic;

QNN_COMPATIBLE_RETURN_TYPES(ConstantOfShapeOp)
QNN_COMPATIBLE_RETURN_TYPES(RangeOp)
QNN_COMPATIBLE_RETURN_TYPES(SizeOp)
QNN_COMPATIBLE_RETURN_TYPES(TriluOp)
QNN_COMPATIBLE_RETURN_TYPES(CumSumOp)
QNN_COMPATIBLE_RETURN_TYPES(CumProdOp)
QNN_COMPATIBLE_RETURN_TYPES(TileOp)
QNN_COMPATIBLE_RETURN_TYPES(PadOp)
QNN_COMPATIBLE_RETURN_TYPES(OneHotOp)
QNN_COMPATIBLE_RETURN_TYPES(GatherElementsOp)
QNN_COMPATIBLE_RETURN_TYPES(GatherNDOp)
QNN_COMPATIBLE_RETURN_TYPES(ScatterNDOp)
QNN_COMPATIBLE_RETURN_TYPES(ScatterElementsOp)

/// The entries of a 1-D i64 shape operand where known: constants, static
/// dims of a qnn.shape, and concatenations of such pieces (the
/// Shape -> Gather -> Unsqueeze -> Concat chains exporters emit). kDyn for an
/// entry only known at run time; std::nullopt when even the length is not.
static std::optional<SmallVector<int64_t>> knownShapeEntries(Value v) {
  if (auto c = getConstantIntValues(v))
    return *c;
  auto type = rankedOf(v);
  if (!type || type.getRank() != 1)
    return std::nullopt;
  if (auto concat = v.getDefiningOp<ConcatOp>()) {
    SmallVector<int64_t> all;
    for (Value part : concat.getInputs()) {
      auto p = knownShapeEntries(part);
      if (!p)
        return std::nullopt;
      all.append(*p);
    }
    return all;
  }
  if (auto shape = v.getDefiningOp<ShapeOp>()) {
    auto in = rankedOf(shape.getInput());
    if (shape.getStart() == 0 && !shape.getEnd() && in)
      return SmallVector<int64_t>(in.getShape());
  }
  if (type.isDynamicDim(0))
    return std::nullopt;
  return SmallVector<int64_t>(type.getDimSize(0), kDyn);
}

//===----------------------------------------------------------------------===//
// constant_of_shape, range, size, eye_like
//===----------------------------------------------------------------------===//

LogicalResult
ConstantOfShapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  std::optional<SmallVector<int64_t>> dims =
      knownShapeEntries(adaptor.getShape());
  if (!dims)
    return emitOptionalError(loc, "the shape operand must have a static "
                                  "length (the result's rank)");
  for (int64_t &d : *dims)
    if (d < 0)
      d = kDyn;
  inferred.push_back(
      RankedTensorType::get(*dims, adaptor.getValue().getElementType()));
  return success();
}

LogicalResult ConstantOfShapeOp::verify() {
  if (getValue().getNumElements() != 1)
    return emitOpError("value must have exactly one element, got ")
           << getValue().getType();
  if (getValue().getElementType() != elementTypeOf(getOutput()))
    return emitOpError("value element type ")
           << getValue().getElementType() << " differs from the result's "
           << elementTypeOf(getOutput());
  if (auto c = getConstantIntValues(getShape()))
    for (int64_t d : *c)
      if (d < 0)
        return emitOpError("shape entries must be >= 0, got ") << d;
  return success();
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  auto type = rankedOf(getOutput());
  auto value = dyn_cast<DenseElementsAttr>(getValue());
  if (!type || !type.hasStaticShape() || !value ||
      !getConstantIntValues(getShape()))
    return {};
  return DenseElementsAttr::get(type, value.getValues<Attribute>()[0]);
}

/// The scalar value of a constant operand as a double, if constant.
static std::optional<double> constantScalar(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  Type t = attr.getElementType();
  if (isa<FloatType>(t))
    return (*attr.getValues<APFloat>().begin()).convertToDouble();
  if (t.isUnsignedInteger())
    return (double)(*attr.getValues<APInt>().begin()).getZExtValue();
  if (isa<IntegerType>(t))
    return (double)(*attr.getValues<APInt>().begin()).getSExtValue();
  return std::nullopt;
}

/// ONNX Range's element count, max(ceil((limit - start) / delta), 0).
static int64_t rangeCount(double start, double limit, double delta) {
  return std::max<int64_t>((int64_t)std::ceil((limit - start) / delta), 0);
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto s = constantScalar(adaptor.getStart());
  auto l = constantScalar(adaptor.getLimit());
  auto d = constantScalar(adaptor.getDelta());
  int64_t n = kDyn;
  if (s && l && d && *d != 0)
    n = rangeCount(*s, *l, *d);
  inferred.push_back(
      RankedTensorType::get({n}, elementTypeOf(adaptor.getStart())));
  return success();
}

LogicalResult RangeOp::verify() {
  Type t = elementTypeOf(getStart());
  for (Value v : {getStart(), getLimit(), getDelta()}) {
    if (elementTypeOf(v) != t)
      return emitOpError("start, limit and delta must share an element "
                         "type, got ")
             << getStart().getType() << ", " << getLimit().getType() << " and "
             << getDelta().getType();
    auto rt = rankedOf(v);
    if (rt && rt.hasStaticShape() && rt.getNumElements() != 1)
      return emitOpError("start, limit and delta must be scalars, got ")
             << v.getType();
  }
  if (auto d = constantScalar(getDelta()); d && *d == 0)
    return emitOpError("delta must not be 0");
  return success();
}

OpFoldResult RangeOp::fold(FoldAdaptor) {
  auto type = rankedOf(getOutput());
  auto s = constantScalar(getStart());
  auto d = constantScalar(getDelta());
  if (!type || !type.hasStaticShape() || !s || !d ||
      !constantScalar(getLimit()))
    return {};
  Type et = type.getElementType();
  SmallVector<Attribute> values;
  for (int64_t i = 0, n = type.getDimSize(0); i < n; ++i) {
    if (isa<FloatType>(et))
      values.push_back(FloatAttr::get(et, *s + i * *d));
    else
      values.push_back(IntegerAttr::get(et, (int64_t)*s + i * (int64_t)*d));
  }
  return DenseElementsAttr::get(type, values);
}

LogicalResult SizeOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location>, Adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  inferred.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 64)));
  return success();
}

OpFoldResult SizeOp::fold(FoldAdaptor) {
  auto in = rankedOf(getInput());
  if (!in || !in.hasStaticShape())
    return {};
  return DenseElementsAttr::get(cast<ShapedType>(getType()),
                                in.getNumElements());
}

LogicalResult EyeLikeOp::verify() {
  auto in = rankedOf(getInput()), out = rankedOf(getOutput());
  if (in.getRank() != 2)
    return emitOpError("input must be 2-D, got ") << in;
  if (failed(verifyCompatibleShape(in, out)))
    return emitOpError("result shape ")
           << out << " differs from the input's " << in;
  return success();
}

//===----------------------------------------------------------------------===//
// trilu, scans, tile, pad, one_hot
//===----------------------------------------------------------------------===//

QNN_INFER_TYPE_OF_OPERAND(TriluOp, Input)

LogicalResult TriluOp::verify() {
  if (rankedOf(getInput()).getRank() < 2)
    return emitOpError("input must have rank >= 2, got ")
           << getInput().getType();
  if (Value k = getK())
    if (auto kt = rankedOf(k);
        kt && kt.hasStaticShape() && kt.getNumElements() != 1)
      return emitOpError("k must be a scalar, got ") << k.getType();
  return success();
}

template <typename OpT>
static LogicalResult verifyAxis(OpT op, int64_t axis, Value input) {
  int64_t rank = rankedOf(input).getRank();
  if (!normalizeAxis(axis, rank))
    return op.emitOpError("axis ")
           << axis << " is out of range for rank " << rank << " (valid: ["
           << -rank << ", " << rank - 1 << "])";
  return success();
}

#define QNN_SCAN(OP)                                                           \
  QNN_INFER_TYPE_OF_OPERAND(OP, Input)                                         \
  LogicalResult OP::verify() {                                                 \
    return verifyAxis(*this, getAxis(), getInput());                           \
  }
QNN_SCAN(CumSumOp)
QNN_SCAN(CumProdOp)
#undef QNN_SCAN

/// `in` with each static dim `d` (at `i`) replaced by `f(i, d)`; dynamic
/// dims stay dynamic.
static RankedTensorType
mapStaticDims(RankedTensorType in,
              function_ref<int64_t(int64_t i, int64_t d)> f) {
  SmallVector<int64_t> dims;
  for (auto [i, d] : llvm::enumerate(in.getShape()))
    dims.push_back(ShapedType::isDynamic(d) ? kDyn : f(i, d));
  return RankedTensorType::get(dims, in.getElementType());
}

LogicalResult TileOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto in = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> repeats = adaptor.getRepeats();
  if ((int64_t)repeats.size() != in.getRank())
    return emitOptionalError(loc, "has ", repeats.size(), " repeats for rank ",
                             in.getRank(), "; give one per dim");
  inferred.push_back(
      mapStaticDims(in, [&](int64_t i, int64_t d) { return d * repeats[i]; }));
  return success();
}

LogicalResult TileOp::verify() {
  for (int64_t r : getRepeats())
    if (r < 0)
      return emitOpError("repeats must be >= 0, got ") << r;
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  auto in = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> pads = adaptor.getPads();
  int64_t rank = in.getRank();
  if ((int64_t)pads.size() != 2 * rank)
    return emitOptionalError(loc, "has ", pads.size(), " pads for rank ", rank,
                             "; give a begin and an end pad per dim");
  inferred.push_back(mapStaticDims(
      in, [&](int64_t i, int64_t d) { return d + pads[i] + pads[i + rank]; }));
  return success();
}

LogicalResult PadOp::verify() {
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return emitOpError("mode must be constant, reflect, edge or wrap, got '")
           << mode << "'";
  if (Value v = getConstantValue())
    if (elementTypeOf(v) != elementTypeOf(getInput()))
      return emitOpError("constant_value element type ")
             << elementTypeOf(v) << " differs from the input's "
             << elementTypeOf(getInput());
  for (int64_t d : rankedOf(getOutput()).getShape())
    if (!ShapedType::isDynamic(d) && d < 0)
      return emitOpError("negative pads remove more than the whole dim");
  return success();
}

LogicalResult OneHotOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto in = rankedOf(adaptor.getIndices());
  Type et = elementTypeOf(adaptor.getValues());
  if (!in) {
    inferred.push_back(UnrankedTensorType::get(et));
    return success();
  }
  std::optional<int64_t> axis =
      normalizeAxis(adaptor.getAxis(), in.getRank() + 1);
  if (!axis)
    return emitOptionalError(loc, "axis ", adaptor.getAxis(),
                             " is out of range for rank ", in.getRank() + 1);
  SmallVector<int64_t> dims(in.getShape());
  dims.insert(dims.begin() + *axis, adaptor.getDepth());
  inferred.push_back(RankedTensorType::get(dims, et));
  return success();
}

LogicalResult OneHotOp::verify() {
  if (getDepth() <= 0)
    return emitOpError("depth must be positive, got ") << getDepth();
  auto vt = rankedOf(getValues());
  if (vt.hasStaticShape() && vt.getNumElements() != 2)
    return emitOpError("values must hold [off, on], got ") << vt;
  return success();
}

//===----------------------------------------------------------------------===//
// gathers and scatters
//===----------------------------------------------------------------------===//

LogicalResult
GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  inferred.push_back(
      RankedTensorType::get(rankedOf(adaptor.getIndices()).getShape(),
                            elementTypeOf(adaptor.getData())));
  return success();
}

LogicalResult GatherElementsOp::verify() {
  if (rankedOf(getData()).getRank() != rankedOf(getIndices()).getRank())
    return emitOpError("data ")
           << getData().getType() << " and indices " << getIndices().getType()
           << " must have the same rank";
  return verifyAxis(*this, getAxis(), getData());
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  auto data = rankedOf(adaptor.getData());
  auto idx = rankedOf(adaptor.getIndices());
  int64_t b = adaptor.getBatchDims();
  if (idx.getRank() < 1 || idx.isDynamicDim(idx.getRank() - 1))
    return emitOptionalError(loc, "indices ", idx,
                             " must have a static last dim");
  int64_t last = idx.getShape().back();
  if (b < 0 || b >= std::min(data.getRank(), idx.getRank()) ||
      b + last > data.getRank())
    return emitOptionalError(loc, "batch_dims ", b, " and index tuples of ",
                             last, " entries do not fit data ", data,
                             " and indices ", idx);
  SmallVector<int64_t> dims(idx.getShape().drop_back());
  dims.append(data.getShape().begin() + b + last, data.getShape().end());
  inferred.push_back(RankedTensorType::get(dims, data.getElementType()));
  return success();
}

LogicalResult GatherNDOp::verify() { return success(); }

static LogicalResult verifyReduction(Operation *op, StringRef reduction) {
  if (reduction != "none" && reduction != "add" && reduction != "mul" &&
      reduction != "max" && reduction != "min")
    return op->emitOpError("reduction must be none, add, mul, max or min, "
                           "got '")
           << reduction << "'";
  return success();
}

QNN_INFER_TYPE_OF_OPERAND(ScatterNDOp, Data)

LogicalResult ScatterNDOp::verify() {
  auto data = rankedOf(getData());
  auto idx = rankedOf(getIndices());
  if (idx.getRank() < 1 || idx.isDynamicDim(idx.getRank() - 1) ||
      idx.getShape().back() > data.getRank())
    return emitOpError("indices ")
           << idx << " must have a static last dim of at most the data rank "
           << data.getRank();
  if (elementTypeOf(getUpdates()) != data.getElementType())
    return emitOpError("updates element type differs from the data's");
  int64_t expected = idx.getRank() - 1 + data.getRank() - idx.getShape().back();
  if (rankedOf(getUpdates()).getRank() != expected)
    return emitOpError("updates ")
           << getUpdates().getType() << " must have rank " << expected;
  return verifyReduction(*this, getReduction());
}

QNN_INFER_TYPE_OF_OPERAND(ScatterElementsOp, Data)

LogicalResult ScatterElementsOp::verify() {
  int64_t rank = rankedOf(getData()).getRank();
  if (rankedOf(getIndices()).getRank() != rank ||
      rankedOf(getUpdates()).getRank() != rank)
    return emitOpError("data, indices and updates must have the same rank");
  if (failed(verifyCompatibleShape(getIndices().getType(),
                                   getUpdates().getType())))
    return emitOpError("indices ")
           << getIndices().getType() << " and updates "
           << getUpdates().getType() << " must have the same shape";
  if (elementTypeOf(getUpdates()) != elementTypeOf(getData()))
    return emitOpError("updates element type differs from the data's");
  if (failed(verifyAxis(*this, getAxis(), getData())))
    return failure();
  return verifyReduction(*this, getReduction());
}
