//===- QNNTypeInference.cpp - Result type inference for QNN ops -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Every `qnn` op whose result is a function of its operands implements
// InferTypeOpInterface here. The importer builds ops through these functions
// (so shapes ONNX leaves unknown are inferred) and `qnn-infer-shapes` reruns
// them after folding has made more operands constant.
//
//===----------------------------------------------------------------------===//

#include "TypeInferenceUtils.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

static constexpr int64_t kDyn = ShapedType::kDynamic;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

/// Values of a 1-D integer "shape" tensor where known: constants, and
/// concatenations of constants with run-time pieces (the Shape -> Gather ->
/// Concat pattern exporters emit), so that `reshape(x, concat(batch, seq,
/// [2, 16]))` still gets its static trailing dims. std::nullopt when even the
/// length is unknown.
static std::optional<SmallVector<std::optional<int64_t>>>
getPartialIntValues(Value value) {
  using Result = SmallVector<std::optional<int64_t>>;
  if (std::optional<SmallVector<int64_t>> known = getConstantIntValues(value))
    return Result(known->begin(), known->end());
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != 1)
    return std::nullopt;
  if (auto concat = value.getDefiningOp<ConcatOp>()) {
    Result result;
    for (Value part : concat.getInputs()) {
      auto partValues = getPartialIntValues(part);
      if (!partValues)
        return std::nullopt;
      result.append(partValues->begin(), partValues->end());
    }
    return result;
  }
  if (auto cast = value.getDefiningOp<CastOp>())
    if (isa<IntegerType>(getElementTypeOrSelf(cast.getInput().getType())))
      return getPartialIntValues(cast.getInput());
  if (type.isDynamicDim(0))
    return std::nullopt;
  return Result(type.getDimSize(0), std::nullopt);
}

static Type tensorOf(std::optional<ArrayRef<int64_t>> shape, Type elementType) {
  if (!shape)
    return UnrankedTensorType::get(elementType);
  return RankedTensorType::get(*shape, elementType);
}

/// numpy.matmul result shape for two operands.
static LogicalResult inferMatMulShape(std::optional<Location> loc, Value lhs,
                                      Value rhs, Type elementType,
                                      SmallVectorImpl<Type> &inferred) {
  std::optional<ArrayRef<int64_t>> ls = shapeOf(lhs), rs = shapeOf(rhs);
  if (!ls || !rs) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  if (ls->empty() || rs->empty())
    return emitOptionalError(loc, "matmul operands must have rank >= 1");
  SmallVector<int64_t> l(*ls), r(*rs);
  bool lhsVector = l.size() == 1, rhsVector = r.size() == 1;
  if (lhsVector)
    l.insert(l.begin(), 1);
  if (rhsVector)
    r.push_back(1);
  int64_t k1 = l.back(), k2 = r[r.size() - 2];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return emitOptionalError(loc, "matmul contraction dimensions differ: lhs ",
                             lhs.getType(), " has K = ", k1, " but rhs ",
                             rhs.getType(), " has K = ", k2);
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(ArrayRef<int64_t>(l).drop_back(2),
                                          ArrayRef<int64_t>(r).drop_back(2),
                                          batch))
    return emitOptionalError(loc, "matmul batch dimensions of ", lhs.getType(),
                             " and ", rhs.getType(),
                             " are not broadcast-compatible");
  if (!lhsVector)
    batch.push_back(l[l.size() - 2]);
  if (!rhsVector)
    batch.push_back(r.back());
  inferred.push_back(RankedTensorType::get(batch, elementType));
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

QNN_SAME_TYPE_AS_INPUT(SqrtOp)
QNN_SAME_TYPE_AS_INPUT(ReciprocalOp)
QNN_SAME_TYPE_AS_INPUT(NegOp)
QNN_SAME_TYPE_AS_INPUT(ExpOp)
QNN_SAME_TYPE_AS_INPUT(LogOp)
QNN_SAME_TYPE_AS_INPUT(AbsOp)
QNN_SAME_TYPE_AS_INPUT(ErfOp)
QNN_SAME_TYPE_AS_INPUT(TanhOp)
QNN_SAME_TYPE_AS_INPUT(SigmoidOp)
QNN_SAME_TYPE_AS_INPUT(ReluOp)
QNN_SAME_TYPE_AS_INPUT(SiluOp)
QNN_SAME_TYPE_AS_INPUT(GeluOp)
QNN_SAME_TYPE_AS_INPUT(SoftmaxOp)
QNN_SAME_TYPE_AS_INPUT(RMSNormOp)

QNN_BROADCAST_BINARY(AddOp)
QNN_BROADCAST_BINARY(SubOp)
QNN_BROADCAST_BINARY(MulOp)
QNN_BROADCAST_BINARY(DivOp)
QNN_BROADCAST_BINARY(PowOp)
QNN_BROADCAST_BINARY(MinOp)
QNN_BROADCAST_BINARY(MaxOp)
QNN_BROADCAST_BINARY(WhereOp)

// The remaining ops share the plain compatibility rule.
QNN_COMPATIBLE_RETURN_TYPES(ShapeOp)
QNN_COMPATIBLE_RETURN_TYPES(MatMulOp)
QNN_COMPATIBLE_RETURN_TYPES(GemmOp)
QNN_COMPATIBLE_RETURN_TYPES(LayerNormOp)
QNN_COMPATIBLE_RETURN_TYPES(ReshapeOp)
QNN_COMPATIBLE_RETURN_TYPES(TransposeOp)
QNN_COMPATIBLE_RETURN_TYPES(ConcatOp)
QNN_COMPATIBLE_RETURN_TYPES(SplitOp)
QNN_COMPATIBLE_RETURN_TYPES(SliceOp)
QNN_COMPATIBLE_RETURN_TYPES(GatherOp)
QNN_COMPATIBLE_RETURN_TYPES(SqueezeOp)
QNN_COMPATIBLE_RETURN_TYPES(UnsqueezeOp)
QNN_COMPATIBLE_RETURN_TYPES(ExpandOp)
QNN_COMPATIBLE_RETURN_TYPES(DynamicQuantizeOp)
QNN_COMPATIBLE_RETURN_TYPES(MatMulIntegerOp)
QNN_COMPATIBLE_RETURN_TYPES(QLinearMatMulOp)
QNN_COMPATIBLE_RETURN_TYPES(MatMulNBitsOp)

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

/// ONNX Shape-15 clamps start/end into [0, rank].
static std::pair<int64_t, int64_t> shapeOpRange(int64_t rank, int64_t start,
                                                std::optional<int64_t> end) {
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t s = clamp(start), e = clamp(end.value_or(rank));
  return {s, std::max(s, e)};
}

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *ctx,
                                        std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  auto [s, e] =
      shapeOpRange(type.getRank(), adaptor.getStart(), adaptor.getEnd());
  inferred.push_back(RankedTensorType::get({e - s}, IntegerType::get(ctx, 64)));
  return success();
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto type = cast<RankedTensorType>(getInput().getType());
  auto [s, e] = shapeOpRange(type.getRank(), getStart(), getEnd());
  ArrayRef<int64_t> dims = type.getShape().slice(s, e - s);
  if (ShapedType::isDynamicShape(dims))
    return {};
  auto resultType =
      RankedTensorType::get({e - s}, IntegerType::get(getContext(), 64));
  return DenseIntElementsAttr::get(resultType, dims);
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalization
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return inferMatMulShape(loc, adaptor.getLhs(), adaptor.getRhs(),
                          elementTypeOf(adaptor.getLhs()), inferred);
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  Type elementType = elementTypeOf(adaptor.getA());
  std::optional<ArrayRef<int64_t>> a = shapeOf(adaptor.getA()),
                                   b = shapeOf(adaptor.getB());
  if (!a || !b) {
    inferred.push_back(RankedTensorType::get({kDyn, kDyn}, elementType));
    return success();
  }
  if (a->size() != 2 || b->size() != 2)
    return emitOptionalError(loc, "gemm operands must be 2-D, got ",
                             adaptor.getA().getType(), " and ",
                             adaptor.getB().getType());
  int64_t m = adaptor.getTransA() ? (*a)[1] : (*a)[0];
  int64_t n = adaptor.getTransB() ? (*b)[0] : (*b)[1];
  int64_t ka = adaptor.getTransA() ? (*a)[0] : (*a)[1];
  int64_t kb = adaptor.getTransB() ? (*b)[1] : (*b)[0];
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return emitOptionalError(
        loc, "gemm contraction dimensions differ: A' has K = ", ka,
        " but B' has K = ", kb);
  if (Value c = adaptor.getC()) {
    SmallVector<int64_t> ignored;
    if (std::optional<ArrayRef<int64_t>> cs = shapeOf(c))
      if (!OpTrait::util::getBroadcastedShape(ArrayRef<int64_t>{m, n}, *cs,
                                              ignored) ||
          ignored.size() != 2)
        return emitOptionalError(loc, "gemm bias C of type ", c.getType(),
                                 " does not broadcast to [", m, ", ", n, "]");
  }
  inferred.push_back(RankedTensorType::get({m, n}, elementType));
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  Type inputType = adaptor.getInput().getType();
  inferred.push_back(inputType);
  Type f32 = Float32Type::get(ctx);
  std::optional<ArrayRef<int64_t>> shape = shapeOf(adaptor.getInput());
  if (!shape) {
    inferred.append(2, UnrankedTensorType::get(f32));
    return success();
  }
  std::optional<int64_t> axis = normalizeAxis(adaptor.getAxis(), shape->size());
  if (!axis)
    return emitOptionalError(loc, "layer_norm axis ", adaptor.getAxis(),
                             " is out of range for ", inputType);
  SmallVector<int64_t> statShape(*shape);
  for (int64_t i = *axis, e = statShape.size(); i < e; ++i)
    statShape[i] = 1;
  inferred.append(2, RankedTensorType::get(statShape, f32));
  return success();
}

QNN_REDUCTION_RESULT(ReduceMeanOp)
QNN_REDUCTION_RESULT(ReduceSumOp)
QNN_REDUCTION_RESULT(ReduceMaxOp)

//===----------------------------------------------------------------------===//
// Layout ops
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  Type elementType = elementTypeOf(adaptor.getInput());
  auto target = getPartialIntValues(adaptor.getShape());
  if (!target) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  std::optional<ArrayRef<int64_t>> in = shapeOf(adaptor.getInput());
  SmallVector<int64_t> dims;
  int64_t inferIndex = -1;
  for (auto [i, entry] : llvm::enumerate(*target)) {
    if (!entry) {
      dims.push_back(kDyn);
      continue;
    }
    int64_t d = *entry;
    if (d == -1) {
      if (inferIndex >= 0)
        return emitOptionalError(loc, "reshape target has more than one -1");
      inferIndex = i;
      dims.push_back(kDyn);
    } else if (d == 0 && !adaptor.getAllowzero()) {
      if (in && i >= in->size())
        return emitOptionalError(loc, "reshape target copies dimension ", i,
                                 " (value 0) but the input has rank ",
                                 in->size());
      dims.push_back(in ? (*in)[i] : kDyn);
    } else if (d < 0) {
      return emitOptionalError(loc, "reshape target dimension ", d,
                               " is invalid; use -1 to infer a dimension");
    } else {
      dims.push_back(d);
    }
  }
  if (inferIndex >= 0 && in && !ShapedType::isDynamicShape(*in)) {
    int64_t total = ShapedType::getNumElements(*in), known = 1;
    bool dynamic = false;
    for (auto [i, d] : llvm::enumerate(dims))
      if (static_cast<int64_t>(i) != inferIndex) {
        dynamic |= ShapedType::isDynamic(d);
        known *= ShapedType::isDynamic(d) ? 1 : d;
      }
    if (!dynamic) {
      if (known == 0 || total % known != 0)
        return emitOptionalError(loc, "cannot reshape ",
                                 adaptor.getInput().getType(), " (", total,
                                 " elements) to a shape with ", known,
                                 " elements times an inferred -1");
      dims[inferIndex] = total / known;
    }
  }
  inferred.push_back(RankedTensorType::get(dims, elementType));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (static_cast<int64_t>(perm.size()) != type.getRank())
    return emitOptionalError(loc, "transpose perm has ", perm.size(),
                             " entries but the input has rank ",
                             type.getRank());
  SmallVector<int64_t> dims;
  for (int64_t p : perm) {
    if (p < 0 || p >= type.getRank())
      return emitOptionalError(loc, "transpose perm entry ", p,
                               " is out of range");
    dims.push_back(type.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(dims, type.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, "concat needs at least one input");
  auto first = cast<RankedTensorType>(adaptor.getInputs()[0].getType());
  std::optional<int64_t> axis =
      normalizeAxis(adaptor.getAxis(), first.getRank());
  if (!axis)
    return emitOptionalError(loc, "concat axis ", adaptor.getAxis(),
                             " is out of range for rank ", first.getRank());
  SmallVector<int64_t> dims(first.getShape());
  dims[*axis] = 0;
  for (Value v : adaptor.getInputs()) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != first.getRank())
      return emitOptionalError(loc, "concat inputs must have the same rank");
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = t.getDimSize(i);
      if (i == *axis)
        dims[i] = (ShapedType::isDynamic(d) || ShapedType::isDynamic(dims[i]))
                      ? kDyn
                      : dims[i] + d;
      else if (ShapedType::isDynamic(dims[i]))
        dims[i] = d;
      else if (!ShapedType::isDynamic(d) && d != dims[i])
        return emitOptionalError(loc, "concat inputs differ in dimension ", i,
                                 " (", dims[i], " vs ", d,
                                 "); only the axis dimension may differ");
    }
  }
  inferred.push_back(RankedTensorType::get(dims, first.getElementType()));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  std::optional<int64_t> axis =
      normalizeAxis(adaptor.getAxis(), type.getRank());
  if (!axis)
    return emitOptionalError(loc, "split axis ", adaptor.getAxis(),
                             " is out of range for ", type);
  for (int64_t size : adaptor.getSizes()) {
    SmallVector<int64_t> dims(type.getShape());
    dims[*axis] = size;
    inferred.push_back(RankedTensorType::get(dims, type.getElementType()));
  }
  return success();
}

/// ONNX Slice clamping for one axis; returns the result size.
static int64_t sliceSize(int64_t dim, int64_t start, int64_t end,
                         int64_t step) {
  if (dim == 0)
    return 0;
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start + step - 1) / step : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end - step - 1) / (-step) : 0;
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t rank = type.getRank();
  auto starts = getConstantIntValues(adaptor.getStarts());
  auto ends = getConstantIntValues(adaptor.getEnds());
  std::optional<SmallVector<int64_t>> axes, steps;
  if (adaptor.getAxes()) {
    axes = getConstantIntValues(adaptor.getAxes());
  } else if (starts) {
    axes.emplace();
    for (int64_t i = 0, e = starts->size(); i < e; ++i)
      axes->push_back(i);
  }
  if (adaptor.getSteps())
    steps = getConstantIntValues(adaptor.getSteps());
  else if (starts)
    steps = SmallVector<int64_t>(starts->size(), 1);

  SmallVector<int64_t> dims(type.getShape());
  if (!axes) {
    // Unknown axes: every dimension may change.
    dims.assign(rank, kDyn);
  } else {
    for (auto [i, a] : llvm::enumerate(*axes)) {
      std::optional<int64_t> axis = normalizeAxis(a, rank);
      if (!axis)
        return emitOptionalError(loc, "slice axis ", a, " is out of range for ",
                                 type);
      int64_t dim = type.getDimSize(*axis);
      if (!starts || !ends || !steps || ShapedType::isDynamic(dim) ||
          i >= starts->size() || i >= ends->size() || i >= steps->size()) {
        dims[*axis] = kDyn;
        continue;
      }
      if ((*steps)[i] == 0)
        return emitOptionalError(loc, "slice step must not be 0");
      dims[*axis] = sliceSize(dim, (*starts)[i], (*ends)[i], (*steps)[i]);
    }
  }
  inferred.push_back(RankedTensorType::get(dims, type.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto data = cast<RankedTensorType>(adaptor.getData().getType());
  std::optional<int64_t> axis =
      normalizeAxis(adaptor.getAxis(), data.getRank());
  if (!axis)
    return emitOptionalError(loc, "gather axis ", adaptor.getAxis(),
                             " is out of range for ", data);
  std::optional<ArrayRef<int64_t>> indices = shapeOf(adaptor.getIndices());
  if (!indices) {
    inferred.push_back(UnrankedTensorType::get(data.getElementType()));
    return success();
  }
  SmallVector<int64_t> dims(data.getShape().take_front(*axis));
  llvm::append_range(dims, *indices);
  llvm::append_range(dims, data.getShape().drop_front(*axis + 1));
  inferred.push_back(RankedTensorType::get(dims, data.getElementType()));
  return success();
}

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t rank = type.getRank();
  llvm::SmallBitVector drop(rank);
  if (adaptor.getAxes().empty()) {
    for (int64_t i = 0; i < rank; ++i)
      if (type.getDimSize(i) == 1)
        drop.set(i);
  }
  for (int64_t a : adaptor.getAxes()) {
    std::optional<int64_t> axis = normalizeAxis(a, rank);
    if (!axis)
      return emitOptionalError(loc, "squeeze axis ", a, " is out of range for ",
                               type);
    drop.set(*axis);
  }
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop.test(i))
      dims.push_back(type.getDimSize(i));
  inferred.push_back(RankedTensorType::get(dims, type.getElementType()));
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto type = cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t outRank = type.getRank() + adaptor.getAxes().size();
  llvm::SmallBitVector inserted(outRank);
  for (int64_t a : adaptor.getAxes()) {
    std::optional<int64_t> axis = normalizeAxis(a, outRank);
    if (!axis || inserted.test(*axis))
      return emitOptionalError(loc, "unsqueeze axis ", a,
                               " is out of range or repeated for result rank ",
                               outRank);
    inserted.set(*axis);
  }
  SmallVector<int64_t> dims;
  int64_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    dims.push_back(inserted.test(i) ? 1 : type.getDimSize(next++));
  inferred.push_back(RankedTensorType::get(dims, type.getElementType()));
  return success();
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Type elementType = elementTypeOf(adaptor.getInput());
  std::optional<ArrayRef<int64_t>> in = shapeOf(adaptor.getInput());
  auto target = getPartialIntValues(adaptor.getShape());
  if (!in || !target) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  SmallVector<int64_t> targetDims;
  for (std::optional<int64_t> d : *target)
    targetDims.push_back(d.value_or(kDyn));
  // ONNX Expand: a target dim of 1 keeps the input dim (bidirectional).
  SmallVector<int64_t> result;
  int64_t rank = std::max<int64_t>(in->size(), targetDims.size());
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ii = i - (rank - in->size()), ti = i - (rank - targetDims.size());
    int64_t a = ii >= 0 ? (*in)[ii] : 1, b = ti >= 0 ? targetDims[ti] : 1;
    if (a == 1)
      result.push_back(b);
    else if (b == 1 || b == a)
      result.push_back(a);
    else if (ShapedType::isDynamic(b) || ShapedType::isDynamic(a))
      result.push_back(ShapedType::isDynamic(a) ? (b == kDyn ? kDyn : b) : a);
    else
      return emitOptionalError(loc, "cannot expand ",
                               adaptor.getInput().getType(), ": dimension ", a,
                               " does not broadcast to ", b);
  }
  inferred.push_back(RankedTensorType::get(result, elementType));
  return success();
}

//===----------------------------------------------------------------------===//
// Quantized ops
//===----------------------------------------------------------------------===//

LogicalResult DynamicQuantizeOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  Type u8 = adaptor.getE4m3()
                ? (Type)Float8E4M3FNType::get(ctx)
                : (Type)IntegerType::get(ctx, 8, IntegerType::Unsigned);
  Type f32 = Float32Type::get(ctx);
  std::optional<ArrayRef<int64_t>> shape = shapeOf(adaptor.getInput());
  inferred.push_back(tensorOf(shape, u8));
  if (!adaptor.getPerToken()) {
    inferred.push_back(RankedTensorType::get({}, f32));
    inferred.push_back(RankedTensorType::get({}, u8));
    return success();
  }
  if (!shape || shape->empty())
    return emitOptionalError(loc, "per-token dynamic quantization needs a "
                                  "ranked input of rank >= 1");
  SmallVector<int64_t> paramShape(*shape);
  paramShape.back() = 1;
  inferred.push_back(RankedTensorType::get(paramShape, f32));
  inferred.push_back(RankedTensorType::get(paramShape, u8));
  return success();
}

LogicalResult
MatMulIntegerOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferMatMulShape(loc, adaptor.getLhs(), adaptor.getRhs(),
                          IntegerType::get(ctx, 32), inferred);
}

LogicalResult
QLinearMatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  return inferMatMulShape(loc, adaptor.getA(), adaptor.getB(),
                          elementTypeOf(adaptor.getYZeroPoint()), inferred);
}

LogicalResult MatMulNBitsOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location>,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Type elementType = elementTypeOf(adaptor.getInput());
  std::optional<ArrayRef<int64_t>> shape = shapeOf(adaptor.getInput());
  if (!shape || shape->empty()) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  SmallVector<int64_t> dims(shape->drop_back());
  dims.push_back(adaptor.getN());
  inferred.push_back(RankedTensorType::get(dims, elementType));
  return success();
}
