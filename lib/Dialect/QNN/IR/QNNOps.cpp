//===- QNNOps.cpp - QNN dialect, verifiers and folders --------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "TypeInferenceUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

#include "quantopt/Dialect/QNN/IR/QNNOpsDialect.cpp.inc"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

void QNNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "quantopt/Dialect/QNN/IR/QNNOps.cpp.inc"
      >();
}

Operation *QNNDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}

//===----------------------------------------------------------------------===//
// Constant folding helpers (shape arithmetic)
//===----------------------------------------------------------------------===//

/// Folding materializes values, so it is limited to small tensors: the point
/// is shape arithmetic, not evaluating the model at compile time.
static constexpr int64_t kMaxFoldElements = 1024;

static RankedTensorType staticResultType(Value result) {
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements)
    return nullptr;
  return type;
}

/// Maps a linear index of a broadcast result to the linear index of an
/// operand of shape `shape` (right-aligned NumPy broadcasting).
static int64_t broadcastIndex(int64_t linear, ArrayRef<int64_t> resultShape,
                              ArrayRef<int64_t> shape) {
  int64_t index = 0, stride = 1;
  int64_t offset = resultShape.size() - shape.size();
  for (int64_t d = resultShape.size() - 1; d >= 0; --d) {
    int64_t coord = linear % resultShape[d];
    linear /= resultShape[d];
    if (d < offset)
      continue;
    int64_t size = shape[d - offset];
    index += (size == 1 ? 0 : coord) * stride;
    stride *= size;
  }
  return index;
}

static Attribute foldIntBinary(
    Attribute lhs, Attribute rhs, Value result,
    llvm::function_ref<std::optional<APInt>(const APInt &, const APInt &)> fn) {
  auto l = dyn_cast_if_present<DenseIntElementsAttr>(lhs);
  auto r = dyn_cast_if_present<DenseIntElementsAttr>(rhs);
  RankedTensorType type = staticResultType(result);
  if (!l || !r || !type || !isa<IntegerType>(type.getElementType()))
    return {};
  SmallVector<APInt> lv(l.getValues<APInt>()), rv(r.getValues<APInt>());
  SmallVector<APInt> out;
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    std::optional<APInt> v =
        fn(lv[broadcastIndex(i, type.getShape(), l.getType().getShape())],
           rv[broadcastIndex(i, type.getShape(), r.getType().getShape())]);
    if (!v)
      return {};
    out.push_back(*v);
  }
  return DenseIntElementsAttr::get(type, out);
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

Value qnn::stripMatrixTranspose(Value value, bool &transposed) {
  transposed = false;
  auto t = value.getDefiningOp<TransposeOp>();
  if (!t || t.getPerm() != ArrayRef<int64_t>{1, 0})
    return value;
  transposed = true;
  return t.getInput();
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getOutput(),
                       [](const APInt &a, const APInt &b) { return a + b; });
}
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getOutput(),
                       [](const APInt &a, const APInt &b) { return a - b; });
}
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getOutput(),
                       [](const APInt &a, const APInt &b) { return a * b; });
}
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  bool isUnsigned = getElementTypeOrSelf(getType()).isUnsignedInteger();
  return foldIntBinary(
      adaptor.getLhs(), adaptor.getRhs(), getOutput(),
      [&](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero())
          return std::nullopt;
        return isUnsigned ? a.udiv(b) : a.sdiv(b);
      });
}
OpFoldResult PowOp::fold(FoldAdaptor) { return {}; }
OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  bool isUnsigned = getElementTypeOrSelf(getType()).isUnsignedInteger();
  return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getOutput(),
                       [&](const APInt &a, const APInt &b) {
                         return (isUnsigned ? a.ult(b) : a.slt(b)) ? a : b;
                       });
}
OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  bool isUnsigned = getElementTypeOrSelf(getType()).isUnsignedInteger();
  return foldIntBinary(adaptor.getLhs(), adaptor.getRhs(), getOutput(),
                       [&](const APInt &a, const APInt &b) {
                         return (isUnsigned ? a.ugt(b) : a.sgt(b)) ? a : b;
                       });
}

/// Folds an op that only changes the shape of a constant operand.
static OpFoldResult foldConstantReshape(Attribute input, Value result) {
  auto attr = dyn_cast_if_present<DenseElementsAttr>(input);
  RankedTensorType type = staticResultType(result);
  if (!attr || !type || attr.getNumElements() != type.getNumElements())
    return {};
  return attr.reshape(type);
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      cast<ShapedType>(getType()).hasStaticShape())
    return getInput();
  return foldConstantReshape(adaptor.getInput(), getOutput());
}
OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  return foldConstantReshape(adaptor.getInput(), getOutput());
}
OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  return foldConstantReshape(adaptor.getInput(), getOutput());
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto attr = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  RankedTensorType type = staticResultType(getOutput());
  if (!attr || !type)
    return {};
  auto to = dyn_cast<IntegerType>(type.getElementType());
  if (!to || to.getWidth() == 1)
    return {};
  // ONNX casts bool true to 1, so i1 extends with zeros.
  bool fromUnsigned = attr.getElementType().isUnsignedInteger() ||
                      attr.getElementType().isInteger(1);
  SmallVector<APInt> values;
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(fromUnsigned ? v.zextOrTrunc(to.getWidth())
                                  : v.sextOrTrunc(to.getWidth()));
  return DenseIntElementsAttr::get(type, values);
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = staticResultType(getOutput());
  if (!type || type.getRank() != 1)
    return {};
  SmallVector<Attribute> values;
  for (Attribute a : adaptor.getInputs()) {
    auto attr = dyn_cast_if_present<DenseElementsAttr>(a);
    if (!attr)
      return {};
    llvm::append_range(values, attr.getValues<Attribute>());
  }
  return DenseElementsAttr::get(type, values);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto attr = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput());
  RankedTensorType type = staticResultType(getOutput());
  if (!attr || !type || type.getRank() != 1)
    return {};
  auto starts = getConstantIntValues(getStarts());
  auto steps =
      getSteps() ? getConstantIntValues(getSteps())
                 : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{1});
  if (!starts || !steps || starts->size() != 1 || steps->size() != 1)
    return {};
  int64_t dim = attr.getNumElements(), step = (*steps)[0];
  int64_t start = (*starts)[0] < 0 ? (*starts)[0] + dim : (*starts)[0];
  start = step > 0 ? std::clamp<int64_t>(start, 0, dim)
                   : std::clamp<int64_t>(start, 0, dim - 1);
  SmallVector<Attribute> all(attr.getValues<Attribute>()), values;
  for (int64_t i = 0; i < type.getNumElements(); ++i)
    values.push_back(all[start + i * step]);
  return DenseElementsAttr::get(type, values);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto data = dyn_cast_if_present<DenseElementsAttr>(adaptor.getData());
  RankedTensorType type = staticResultType(getOutput());
  std::optional<SmallVector<int64_t>> indices =
      getConstantIntValues(getIndices());
  // gather(shape(x), i) is dim i of x: static even when other dims are not.
  if (auto shapeOp = getData().getDefiningOp<ShapeOp>();
      shapeOp && type && indices) {
    auto inputType = cast<RankedTensorType>(shapeOp.getInput().getType());
    int64_t n = cast<RankedTensorType>(shapeOp.getType()).getDimSize(0);
    int64_t start = inputType.getRank() - n; // only start = 0 and full ranges
    if (shapeOp.getStart() != 0 || shapeOp.getEnd())
      return {};
    SmallVector<int64_t> dims;
    for (int64_t i : *indices) {
      int64_t index = i < 0 ? i + n : i;
      if (index < 0 || index >= n || inputType.isDynamicDim(start + index))
        return {};
      dims.push_back(inputType.getDimSize(start + index));
    }
    return DenseIntElementsAttr::get(type, dims);
  }
  if (!data || !type || !indices || data.getType().getRank() != 1)
    return {};
  SmallVector<Attribute> all(data.getValues<Attribute>()), values;
  int64_t n = all.size();
  for (int64_t i : *indices) {
    int64_t index = i < 0 ? i + n : i;
    if (index < 0 || index >= n)
      return {};
    values.push_back(all[index]);
  }
  return DenseElementsAttr::get(type, values);
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult AddOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult SubOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult MulOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult DivOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult MinOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult MaxOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}
LogicalResult PowOp::verify() {
  Type base = elementTypeOf(getLhs()), exponent = elementTypeOf(getRhs());
  if (!base.isIntOrFloat() || !exponent.isIntOrFloat())
    return emitOpError("base and exponent must have integer or float element "
                       "types, got ")
           << base << " and " << exponent;
  return success();
}

LogicalResult WhereOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}

LogicalResult CastOp::verify() {
  if (failed(verifyCompatibleShape(getInput().getType(), getType())))
    return emitOpError("result shape of ")
           << getType() << " differs from the input shape of "
           << getInput().getType() << "; cast only changes the element type";
  return success();
}

LogicalResult MatMulOp::verify() {
  return verifySameElementTypes(*this, getLhs(), getRhs());
}

LogicalResult GemmOp::verify() {
  if (failed(verifySameElementTypes(*this, getA(), getB())))
    return failure();
  if (getC() && elementTypeOf(getC()) != elementTypeOf(getA()))
    return emitOpError("bias C has element type ")
           << elementTypeOf(getC()) << " but A has " << elementTypeOf(getA());
  return success();
}

template <typename OpT>
static LogicalResult verifyAxisInRange(OpT op, int64_t axis, Value input) {
  auto type = cast<ShapedType>(input.getType());
  if (type.hasRank() && !normalizeAxis(axis, type.getRank()))
    return op.emitOpError("axis ")
           << axis << " is out of range for " << type << "; valid axes are ["
           << -type.getRank() << ", " << type.getRank() << ")";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxisInRange(*this, getAxis(), getInput());
}

LogicalResult LayerNormOp::verify() {
  if (elementTypeOf(getScale()) != elementTypeOf(getInput()))
    return emitOpError("scale element type ")
           << elementTypeOf(getScale()) << " differs from the input's "
           << elementTypeOf(getInput());
  if (getBias() && elementTypeOf(getBias()) != elementTypeOf(getInput()))
    return emitOpError("bias element type ")
           << elementTypeOf(getBias()) << " differs from the input's "
           << elementTypeOf(getInput());
  return verifyAxisInRange(*this, getAxis(), getInput());
}

LogicalResult RMSNormOp::verify() {
  if (elementTypeOf(getScale()) != elementTypeOf(getInput()))
    return emitOpError("scale element type ")
           << elementTypeOf(getScale()) << " differs from the input's "
           << elementTypeOf(getInput());
  return verifyAxisInRange(*this, getAxis(), getInput());
}

template <typename OpT>
static LogicalResult verifyUniqueAxes(OpT op, ArrayRef<int64_t> axes,
                                      int64_t rank) {
  llvm::SmallBitVector seen(rank);
  for (int64_t a : axes) {
    std::optional<int64_t> axis = normalizeAxis(a, rank);
    if (!axis)
      return op.emitOpError("axis ")
             << a << " is out of range for rank " << rank;
    if (seen.test(*axis))
      return op.emitOpError("axis ") << a << " is repeated in axes";
    seen.set(*axis);
  }
  return success();
}

template <typename OpT> static LogicalResult verifyReduce(OpT op) {
  auto type = cast<ShapedType>(op.getInput().getType());
  if (!type.hasRank())
    return success();
  return verifyUniqueAxes(op, op.getAxes(), type.getRank());
}
LogicalResult ReduceMeanOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceSumOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMaxOp::verify() { return verifyReduce(*this); }

LogicalResult ReshapeOp::verify() {
  auto in = cast<ShapedType>(getInput().getType());
  auto out = cast<ShapedType>(getType());
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << in << " (" << in.getNumElements() << " elements) to " << out
           << " (" << out.getNumElements() << " elements)";
  return success();
}

LogicalResult TransposeOp::verify() {
  int64_t rank = getInput().getType().getRank();
  llvm::SmallBitVector seen(rank);
  for (int64_t p : getPerm()) {
    if (p < 0 || p >= rank || seen.test(p))
      return emitOpError("perm ")
             << "[" << getPerm() << "] is not a permutation of [0, " << rank
             << ")";
    seen.set(p);
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  Type elementType = elementTypeOf(getInputs()[0]);
  for (Value v : getInputs())
    if (elementTypeOf(v) != elementType)
      return emitOpError("inputs have different element types ")
             << elementType << " and " << elementTypeOf(v);
  return success();
}

LogicalResult SplitOp::verify() {
  auto type = getInput().getType();
  std::optional<int64_t> axis = normalizeAxis(getAxis(), type.getRank());
  if (!axis)
    return emitOpError("axis ") << getAxis() << " is out of range for " << type;
  if (getSizes().size() != getOutputs().size())
    return emitOpError("has ") << getOutputs().size() << " results but "
                               << getSizes().size() << " sizes";
  int64_t total = 0;
  for (int64_t s : getSizes()) {
    if (s < 0)
      return emitOpError("split sizes must be non-negative, got ") << s;
    total += s;
  }
  if (!type.isDynamicDim(*axis) && total != type.getDimSize(*axis))
    return emitOpError("split sizes add up to ")
           << total << " but dimension " << *axis << " of " << type
           << " has size " << type.getDimSize(*axis)
           << "; the sizes must add up to the dimension";
  return success();
}

LogicalResult SliceOp::verify() {
  auto len = [](Value v) {
    return v ? cast<RankedTensorType>(v.getType()).getDimSize(0)
             : ShapedType::kDynamic;
  };
  int64_t n = len(getStarts());
  for (Value v : {getEnds(), getAxes(), getSteps()}) {
    int64_t m = len(v);
    if (v && !ShapedType::isDynamic(n) && !ShapedType::isDynamic(m) && n != m)
      return emitOpError("starts, ends, axes and steps must have the same "
                         "length, got ")
             << n << " and " << m;
  }
  return success();
}

LogicalResult GatherOp::verify() {
  if (failed(verifyAxisInRange(*this, getAxis(), getData())))
    return failure();
  // ONNX makes an index outside [-dim, dim) an error (Slice clamps, Gather
  // does not); a constant one is caught here, run-time ones by the bounds
  // check the CPU lowering emits.
  auto type = getData().getType();
  int64_t axis = *normalizeAxis(getAxis(), type.getRank());
  int64_t dim = type.getDimSize(axis);
  if (ShapedType::isDynamic(dim))
    return success();
  std::optional<SmallVector<int64_t>> indices =
      getConstantIntValues(getIndices());
  if (!indices)
    return success();
  for (auto [i, index] : llvm::enumerate(*indices))
    if (index < -dim || index >= dim)
      return emitOpError("index ")
             << index << " (element " << i
             << " of the constant indices) is out of range for axis " << axis
             << " of " << type << ", which has size " << dim
             << "; Gather indices must be in [" << -dim << ", " << dim - 1
             << "]: fix the index or the data shape";
  return success();
}

LogicalResult SqueezeOp::verify() {
  auto type = getInput().getType();
  if (failed(verifyUniqueAxes(*this, getAxes(), type.getRank())))
    return failure();
  for (int64_t a : getAxes()) {
    int64_t axis = *normalizeAxis(a, type.getRank());
    if (!type.isDynamicDim(axis) && type.getDimSize(axis) != 1)
      return emitOpError("cannot squeeze axis ")
             << a << " of " << type << ": its size is " << type.getDimSize(axis)
             << ", not 1";
  }
  return success();
}

LogicalResult UnsqueezeOp::verify() {
  if (getAxes().empty())
    return emitOpError("axes must not be empty");
  return success();
}

//===----------------------------------------------------------------------===//
// TableGen'd op definitions
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "quantopt/Dialect/QNN/IR/QNNOps.cpp.inc"
