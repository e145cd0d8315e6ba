//===- PropagateQDQ.cpp - Move Q/DQ through layout ops --------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// QDQ models (ONNX Runtime's quantize_static, QAT exports) wrap every tensor
// in QuantizeLinear/DequantizeLinear, including the reshapes and transposes
// between a producer and the matmul that consumes it. A layout op only moves
// elements, so it commutes with quantization whose parameters move with the
// elements: per tensor always, per axis when the quantized axis survives as
// one dimension of the result. The patterns here
//
//   layout(dequantize(q, s, z))  ->  dequantize(layout(q), s, z)
//   quantize(layout(x), s, z)    ->  layout(quantize(x, s, z))
//   quantize(dequantize(q, s, z), s, z)  ->  q      (same constant s, z)
//   quantize(dequantize(q, s1, z1), s2, z2) -> requantize(q, s1, z1, s2, z2)
//
// bring each Q/DQ pair next to the op it belongs to, so that the fusion
// patterns see `matmul(dequantize(q_a), dequantize(q_w))`. The reverse chain
// `dequantize(quantize(x))` is fake quantization: it changes values and is
// never folded here.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cfloat>
#include <cmath>

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNPROPAGATEQDQPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

//===----------------------------------------------------------------------===//
// Quantization parameters
//===----------------------------------------------------------------------===//

/// How the parameters of a qnn.quantize / qnn.dequantize spread over the
/// quantized tensor, in either form (explicit operands or a !quant type).
struct QuantParams {
  /// Explicit form; both null in the typed form.
  Value scale, zeroPoint;
  /// Element type of the quantized side (storage type or !quant type).
  Type quantElement;
  bool perTensor = true;
  /// Normalized quantized dimension when not per tensor.
  int64_t axis = 0;
};

/// Reads the parameters of a Q/DQ whose quantized side has type
/// `quantType`. Fails for granularities that do not follow elements through
/// a layout op by renumbering one axis (blocked, sub-channel) and for
/// `!quant.calibrated` ranges, which calibration must observe where they are.
FailureOr<QuantParams> getParams(Value scale, Value zeroPoint, int64_t axis,
                                 int64_t blockSize, Type quantType) {
  auto shaped = dyn_cast<RankedTensorType>(quantType);
  if (!shaped || blockSize != 0)
    return failure();
  QuantParams params;
  params.quantElement = shaped.getElementType();
  if (!scale) {
    if (isa<quant::UniformQuantizedType>(params.quantElement))
      return params;
    auto perAxis =
        dyn_cast<quant::UniformQuantizedPerAxisType>(params.quantElement);
    if (!perAxis)
      return failure();
    params.perTensor = false;
    params.axis = perAxis.getQuantizedDimension();
    return params;
  }
  params.scale = scale;
  params.zeroPoint = zeroPoint;
  auto scaleType = dyn_cast<RankedTensorType>(scale.getType());
  if (!scaleType || !scaleType.hasStaticShape())
    return failure();
  if (scaleType.getNumElements() == 1)
    return params;
  std::optional<int64_t> normalized = normalizeAxis(axis, shaped.getRank());
  if (scaleType.getRank() != 1 || !normalized)
    return failure();
  params.perTensor = false;
  params.axis = *normalized;
  return params;
}

FailureOr<QuantParams> getParams(DequantizeOp op) {
  return getParams(op.getScale(), op.getZeroPoint(), op.getAxis(),
                   op.getBlockSize(), op.getInput().getType());
}

FailureOr<QuantParams> getParams(QuantizeOp op) {
  return getParams(op.getScale(), op.getZeroPoint(), op.getAxis(),
                   op.getBlockSize(), op.getType());
}

/// Values of a constant as doubles (exact for f32, float8 and integers up
/// to 2^53); std::nullopt when `value` is not a constant.
std::optional<SmallVector<double>> constantValues(Value value) {
  DenseElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<double> result;
  Type element = attr.getElementType();
  if (isa<FloatType>(element)) {
    for (const APFloat &v : attr.getValues<APFloat>()) {
      bool losesInfo;
      APFloat d = v;
      d.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                &losesInfo);
      result.push_back(d.convertToDouble());
    }
    return result;
  }
  if (!isa<IntegerType>(element))
    return std::nullopt;
  for (const APInt &v : attr.getValues<APInt>())
    result.push_back(element.isUnsignedInteger()
                         ? static_cast<double>(v.getZExtValue())
                         : static_cast<double>(v.getSExtValue()));
  return result;
}

/// True when two parameter operands hold the same values: the same SSA value
/// or constants with equal elements. A missing zero point is 0.
bool sameParamValues(Value a, Value b) {
  if (a == b)
    return true;
  std::optional<SmallVector<double>> av =
      a ? constantValues(a) : SmallVector<double>{0.0};
  std::optional<SmallVector<double>> bv =
      b ? constantValues(b) : SmallVector<double>{0.0};
  if (!av || !bv || av->empty() || bv->empty())
    return false;
  // A per-tensor parameter may be spelled tensor<f32> or tensor<1xf32>, and
  // a missing zero point stands for any number of zeros.
  auto allEqualTo = [](ArrayRef<double> values, double x) {
    return llvm::all_of(values, [&](double v) { return v == x; });
  };
  if (av->size() == 1)
    return allEqualTo(*bv, (*av)[0]);
  if (bv->size() == 1)
    return allEqualTo(*av, (*bv)[0]);
  return *av == *bv;
}

/// True when two Q/DQ ops quantize identically.
bool sameParams(const QuantParams &a, const QuantParams &b) {
  if (a.quantElement != b.quantElement || a.perTensor != b.perTensor ||
      (!a.perTensor && a.axis != b.axis) || bool(a.scale) != bool(b.scale))
    return false;
  if (!a.scale)
    return true; // typed form: equal !quant types
  if (!a.perTensor && cast<ShapedType>(a.scale.getType()).getShape() !=
                          cast<ShapedType>(b.scale.getType()).getShape())
    return false;
  return sameParamValues(a.scale, b.scale) &&
         sameParamValues(a.zeroPoint, b.zeroPoint);
}

//===----------------------------------------------------------------------===//
// Layout ops
//===----------------------------------------------------------------------===//

/// Operands of a layout op that carry the moved data (the others are shapes,
/// indices or slice bounds).
SmallVector<OpOperand *> dataOperands(Operation *op) {
  if (isa<ConcatOp>(op))
    return llvm::to_vector(llvm::map_range(
        op->getOpOperands(), [](OpOperand &operand) { return &operand; }));
  return {&op->getOpOperand(0)};
}

/// For reshape: the result dimension that holds exactly the elements of
/// dimension `axis` of `from` (same size, same number of elements before
/// it), if any. Needs static sizes up to and including the axis.
std::optional<int64_t> reshapeAxis(ArrayRef<int64_t> from, ArrayRef<int64_t> to,
                                   int64_t axis) {
  if (ShapedType::isDynamic(from[axis]))
    return std::nullopt;
  int64_t before = 1;
  for (int64_t d : from.take_front(axis)) {
    if (ShapedType::isDynamic(d))
      return std::nullopt;
    before *= d;
  }
  int64_t running = 1;
  for (auto [i, d] : llvm::enumerate(to)) {
    if (running == before && d == from[axis])
      return i;
    if (ShapedType::isDynamic(d) || running > before)
      return std::nullopt;
    running *= d;
  }
  return std::nullopt;
}

/// Dimensions of the input of a squeeze that it removes; std::nullopt when
/// unknown (no axes and dynamic dimensions).
std::optional<llvm::SmallDenseSet<int64_t>> squeezedDims(SqueezeOp op) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  llvm::SmallDenseSet<int64_t> dims;
  if (op.getAxes().empty()) {
    for (auto [i, d] : llvm::enumerate(type.getShape())) {
      if (ShapedType::isDynamic(d))
        return std::nullopt;
      if (d == 1)
        dims.insert(i);
    }
    return dims;
  }
  for (int64_t a : op.getAxes()) {
    std::optional<int64_t> n = normalizeAxis(a, type.getRank());
    if (!n)
      return std::nullopt;
    dims.insert(*n);
  }
  return dims;
}

/// Dimensions of the result of an unsqueeze that it inserts.
std::optional<llvm::SmallDenseSet<int64_t>> insertedDims(UnsqueezeOp op) {
  int64_t rank = cast<RankedTensorType>(op.getType()).getRank();
  llvm::SmallDenseSet<int64_t> dims;
  for (int64_t a : op.getAxes()) {
    std::optional<int64_t> n = normalizeAxis(a, rank);
    if (!n)
      return std::nullopt;
    dims.insert(*n);
  }
  return dims;
}

/// Maps dimension `axis` through the kept dimensions of a rank change:
/// `dropped` are dimensions of the larger side that have no counterpart.
/// Forward from the larger side (`fromLarger`) or into it.
std::optional<int64_t>
mapThroughKept(const llvm::SmallDenseSet<int64_t> &dropped, int64_t largerRank,
               int64_t axis, bool fromLarger) {
  int64_t kept = 0;
  for (int64_t i = 0; i < largerRank; ++i) {
    if (dropped.contains(i))
      continue;
    if (fromLarger && i == axis)
      return kept;
    if (!fromLarger && kept == axis)
      return i;
    ++kept;
  }
  return std::nullopt;
}

/// Dimensions of the input a slice restricts; std::nullopt when unknown.
std::optional<llvm::SmallDenseSet<int64_t>> slicedDims(SliceOp op) {
  int64_t rank = cast<RankedTensorType>(op.getInput().getType()).getRank();
  llvm::SmallDenseSet<int64_t> dims;
  if (!op.getAxes()) {
    auto startsType = cast<RankedTensorType>(op.getStarts().getType());
    if (startsType.isDynamicDim(0))
      return std::nullopt;
    for (int64_t i = 0; i < startsType.getDimSize(0); ++i)
      dims.insert(i);
    return dims;
  }
  std::optional<SmallVector<int64_t>> axes = getConstantIntValues(op.getAxes());
  if (!axes)
    return std::nullopt;
  for (int64_t a : *axes) {
    std::optional<int64_t> n = normalizeAxis(a, rank);
    if (!n)
      return std::nullopt;
    dims.insert(*n);
  }
  return dims;
}

/// Maps the quantized dimension `axis` of the layout op's data input to the
/// result dimension holding the same elements (`forward`), or a result
/// dimension back to its input dimension. std::nullopt when the elements of
/// that dimension are split, merged, sliced or gathered: per-axis
/// parameters would have to change, not just be renumbered.
std::optional<int64_t> mapAxis(Operation *op, int64_t axis, bool forward) {
  auto inType = cast<ShapedType>(op->getOperand(0).getType());
  auto outType = cast<ShapedType>(op->getResult(0).getType());
  if (!inType.hasRank() || !outType.hasRank())
    return std::nullopt;
  return llvm::TypeSwitch<Operation *, std::optional<int64_t>>(op)
      .Case([&](TransposeOp t) -> std::optional<int64_t> {
        ArrayRef<int64_t> perm = t.getPerm();
        if (!forward)
          return perm[axis];
        auto it = llvm::find(perm, axis);
        if (it == perm.end())
          return std::nullopt;
        return it - perm.begin();
      })
      .Case([&](ReshapeOp) {
        return forward
                   ? reshapeAxis(inType.getShape(), outType.getShape(), axis)
                   : reshapeAxis(outType.getShape(), inType.getShape(), axis);
      })
      .Case([&](SqueezeOp s) -> std::optional<int64_t> {
        auto dims = squeezedDims(s);
        if (!dims)
          return std::nullopt;
        return mapThroughKept(*dims, inType.getRank(), axis, forward);
      })
      .Case([&](UnsqueezeOp u) -> std::optional<int64_t> {
        auto dims = insertedDims(u);
        if (!dims)
          return std::nullopt;
        return mapThroughKept(*dims, outType.getRank(), axis, !forward);
      })
      .Case([&](SliceOp s) -> std::optional<int64_t> {
        auto dims = slicedDims(s);
        if (!dims || dims->contains(axis))
          return std::nullopt;
        return axis;
      })
      .Case([&](GatherOp g) -> std::optional<int64_t> {
        auto indices = dyn_cast<RankedTensorType>(g.getIndices().getType());
        std::optional<int64_t> gatherAxis =
            normalizeAxis(g.getAxis(), inType.getRank());
        if (!indices || !gatherAxis)
          return std::nullopt;
        int64_t added = indices.getRank() - 1;
        if (axis < *gatherAxis)
          return axis;
        if (forward)
          return axis == *gatherAxis ? std::nullopt
                                     : std::optional<int64_t>(axis + added);
        if (axis <= *gatherAxis + added)
          return std::nullopt;
        return axis - added;
      })
      .Case([&](ConcatOp c) -> std::optional<int64_t> {
        std::optional<int64_t> concatAxis =
            normalizeAxis(c.getAxis(), inType.getRank());
        if (!concatAxis || *concatAxis == axis)
          return std::nullopt;
        return axis;
      })
      .Default([](Operation *) { return std::nullopt; });
}

/// Copies `op` with its data operands replaced by `data`; the result keeps
/// its shape and takes `element` as element type. Shape, index and bound
/// operands and all attributes are kept.
Operation *cloneLayoutOp(PatternRewriter &rewriter, Operation *op,
                         ValueRange data, Type element) {
  IRMapping mapping;
  for (auto [operand, value] : llvm::zip_equal(dataOperands(op), data))
    mapping.map(operand->get(), value);
  Operation *clone = rewriter.clone(*op, mapping);
  // A value used twice (concat(x, x)) maps once; operands are set one by
  // one so that each data operand takes its own replacement.
  for (auto [operand, value] : llvm::zip_equal(dataOperands(clone), data))
    operand->set(value);
  Value result = clone->getResult(0);
  result.setType(cast<ShapedType>(result.getType()).clone(element));
  return clone;
}

/// The `axis` attribute of the Q/DQ once moved across `layout`: the
/// renumbered quantized dimension, or `axisAttr` unchanged for per-tensor
/// parameters.
FailureOr<int64_t> moveAxis(Operation *layout, const QuantParams &params,
                            int64_t axisAttr, bool forward) {
  if (params.perTensor)
    return axisAttr;
  std::optional<int64_t> axis = mapAxis(layout, params.axis, forward);
  // Layout ops infer their result element type from their input, so a
  // per-axis !quant type cannot change its quantized dimension across one.
  if (!axis || (!params.scale && *axis != params.axis))
    return failure();
  return *axis;
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// layout(dequantize(q, s, z)) -> dequantize(layout(q), s, z). For concat,
/// every input must be dequantized with the same parameters. The dequantize
/// stays where it has other users.
struct MoveDequantizeForward : public RewritePattern {
  MoveDequantizeForward(MLIRContext *context, StringRef rootName)
      : RewritePattern(rootName, /*benefit=*/1, context) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    SmallVector<OpOperand *> operands = dataOperands(op);
    SmallVector<DequantizeOp> dqs;
    for (OpOperand *operand : operands) {
      auto dq = operand->get().getDefiningOp<DequantizeOp>();
      if (!dq)
        return rewriter.notifyMatchFailure(op, "data is not dequantized");
      dqs.push_back(dq);
    }
    FailureOr<QuantParams> params = getParams(dqs.front());
    if (failed(params))
      return rewriter.notifyMatchFailure(op, "unsupported granularity");
    for (DequantizeOp dq : ArrayRef(dqs).drop_front()) {
      FailureOr<QuantParams> other = getParams(dq);
      if (failed(other) || !sameParams(*params, *other) ||
          dq.getType().getElementType() !=
              dqs.front().getType().getElementType())
        return rewriter.notifyMatchFailure(op, "inputs dequantize with "
                                               "different parameters");
    }
    FailureOr<int64_t> axis =
        moveAxis(op, *params, dqs.front().getAxis(), /*forward=*/true);
    if (failed(axis))
      return rewriter.notifyMatchFailure(op, "the quantized axis does not "
                                             "survive the layout op");
    SmallVector<Value> quantized = llvm::map_to_vector(
        dqs, [](DequantizeOp dq) -> Value { return dq.getInput(); });
    Operation *layout =
        cloneLayoutOp(rewriter, op, quantized, params->quantElement);
    DequantizeOp front = dqs.front();
    auto dq = DequantizeOp::create(
        rewriter, front.getLoc(), op->getResult(0).getType(),
        layout->getResult(0), front.getScale(), front.getZeroPoint(),
        rewriter.getI64IntegerAttr(*axis), rewriter.getI64IntegerAttr(0));
    dq->setDiscardableAttrs(front->getDiscardableAttrDictionary());
    rewriter.replaceOp(op, dq.getOutput());
    return success();
  }
};

/// quantize(layout(x), s, z) -> layout(quantize(x, s, z)) when the layout
/// op has no other user (otherwise the float layout op would stay and the
/// quantize would be duplicated).
struct MoveQuantizeBackward : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    Operation *layout = op.getInput().getDefiningOp();
    if (!layout || !isa<ReshapeOp, TransposeOp, SqueezeOp, UnsqueezeOp, SliceOp,
                        GatherOp, ConcatOp>(layout))
      return rewriter.notifyMatchFailure(op, "input is not a layout op");
    if (!layout->hasOneUse())
      return rewriter.notifyMatchFailure(op, "layout op has other users");
    FailureOr<QuantParams> params = getParams(op);
    if (failed(params))
      return rewriter.notifyMatchFailure(op, "unsupported granularity");
    FailureOr<int64_t> axis =
        moveAxis(layout, *params, op.getAxis(), /*forward=*/false);
    if (failed(axis))
      return rewriter.notifyMatchFailure(op, "the quantized axis does not "
                                             "survive the layout op");
    SmallVector<Value> quantized;
    for (OpOperand *operand : dataOperands(layout)) {
      auto type = cast<ShapedType>(operand->get().getType());
      auto q = QuantizeOp::create(
          rewriter, op.getLoc(), type.clone(params->quantElement),
          operand->get(), op.getScale(), op.getZeroPoint(),
          rewriter.getI64IntegerAttr(*axis), rewriter.getI64IntegerAttr(0),
          op.getSaturateAttr());
      q->setDiscardableAttrs(op->getDiscardableAttrDictionary());
      quantized.push_back(q);
    }
    Operation *movedLayout = cloneLayoutOp(rewriter, layout, quantized,
                                           op.getType().getElementType());
    rewriter.replaceOp(op, movedLayout->getResults());
    return success();
  }
};

/// True when dequantizing then quantizing with `params` in f32 gives back
/// every stored value bit for bit. For scales in [2^-100, FLT_MAX / 2^16],
/// `(q - z) * s` is a normal float (float8 subnormals included) and
/// `(q - z) * s / s` stays within 2^-23 relative of `q - z`, which rounds
/// back to it for any 16-bit or float8 code. Narrower float types lose that
/// margin. Saturating E5M2 would turn an infinity into the largest finite
/// value.
bool roundTripsExactly(const QuantParams &params, Type expressed,
                       bool saturate) {
  if (!expressed.isF32())
    return false;
  SmallVector<double> scales;
  Type storage = params.quantElement;
  if (!params.scale) {
    if (auto perTensor =
            dyn_cast<quant::UniformQuantizedType>(params.quantElement)) {
      scales.push_back(perTensor.getScale());
    } else {
      auto perAxis =
          cast<quant::UniformQuantizedPerAxisType>(params.quantElement);
      llvm::append_range(scales, perAxis.getScales());
    }
    storage = cast<quant::QuantizedType>(params.quantElement).getStorageType();
  } else {
    std::optional<SmallVector<double>> values = constantValues(params.scale);
    if (!values || (params.zeroPoint && !constantValues(params.zeroPoint)))
      return false;
    scales = std::move(*values);
  }
  if (auto intType = dyn_cast<IntegerType>(storage)) {
    if (intType.getWidth() > 16)
      return false;
  } else if (isa<Float8E5M2Type>(storage) && saturate) {
    return false;
  } else if (!isa<FloatType>(storage) ||
             cast<FloatType>(storage).getWidth() != 8) {
    return false;
  }
  return llvm::all_of(scales, [](double s) {
    float f = static_cast<float>(s);
    return std::fabs(f) >= 0x1p-100f && std::fabs(f) <= FLT_MAX / 65536.0f;
  });
}

/// quantize(dequantize(q, s, z), s, z) -> q: the pair is an identity on the
/// stored values. Parameters must be the same constants (or the same
/// !quant type); differing ones would need a requantize.
struct CancelDequantizeQuantize : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq)
      return rewriter.notifyMatchFailure(op, "input is not a dequantize");
    if (dq.getInput().getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "types differ");
    FailureOr<QuantParams> qParams = getParams(op);
    FailureOr<QuantParams> dqParams = getParams(dq);
    if (failed(qParams) || failed(dqParams) || !sameParams(*qParams, *dqParams))
      return rewriter.notifyMatchFailure(op, "parameters differ");
    if (!roundTripsExactly(*qParams, dq.getType().getElementType(),
                           op.getSaturate()))
      return rewriter.notifyMatchFailure(
          op, "parameters are not constants whose round trip is exact");
    rewriter.replaceOp(op, dq.getInput());
    return success();
  }
};

/// quantize(dequantize(q, s1, z1), s2, z2) with different per-tensor
/// parameters -> requantize(q, s1, z1, s2, z2): the chain stays exact (the
/// requantize op has the chain's arithmetic) but becomes one op a kernel can
/// implement without a float tensor.
struct MergeDequantizeQuantize : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  static bool isPerTensorF32(Value scale) {
    auto type = scale ? dyn_cast<RankedTensorType>(scale.getType())
                      : RankedTensorType();
    return type && type.hasStaticShape() && type.getNumElements() == 1 &&
           type.getElementType().isF32();
  }

  static Value zeroPointOrZero(PatternRewriter &rewriter, Location loc,
                               Value zp, Type storage) {
    if (zp)
      return zp;
    auto type = RankedTensorType::get({}, storage);
    return ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(type,
                               APInt(storage.getIntOrFloatBitWidth(), 0)));
  }

  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq || !isPerTensorF32(dq.getScale()) || !isPerTensorF32(op.getScale()))
      return rewriter.notifyMatchFailure(op, "not a per-tensor DQ -> Q chain");
    auto inType = cast<ShapedType>(dq.getInput().getType());
    auto outType = cast<ShapedType>(op.getType());
    auto isInt = [](Type t) {
      auto i = dyn_cast<IntegerType>(t);
      return i && (i.getWidth() == 8 || i.getWidth() == 16);
    };
    if (!isInt(inType.getElementType()) || !isInt(outType.getElementType()) ||
        !dq.getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not 8/16-bit integer storage");
    Location loc = op.getLoc();
    Value zi = zeroPointOrZero(rewriter, loc, dq.getZeroPoint(),
                               inType.getElementType());
    Value zo = zeroPointOrZero(rewriter, loc, op.getZeroPoint(),
                               outType.getElementType());
    auto requant = RequantizeOp::create(rewriter, loc, TypeRange{op.getType()},
                                        dq.getInput(), dq.getScale(), zi,
                                        op.getScale(), zo);
    rewriter.replaceOp(op, requant);
    return success();
  }
};

struct QNNPropagateQDQPass
    : public qnn::impl::QNNPropagateQDQPassBase<QNNPropagateQDQPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePropagateQDQPatterns(patterns);
    // The pass moves Q/DQ and nothing else: evaluating quantize or
    // dequantize of constants is left to canonicalization and
    // qnn-quantize-weights, so a quantized constant weight stays recognizable
    // as one for the fusion patterns.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace

void qnn::populatePropagateQDQPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  for (StringRef name :
       {ReshapeOp::getOperationName(), TransposeOp::getOperationName(),
        SqueezeOp::getOperationName(), UnsqueezeOp::getOperationName(),
        SliceOp::getOperationName(), GatherOp::getOperationName(),
        ConcatOp::getOperationName()})
    patterns.add<MoveDequantizeForward>(context, name);
  patterns.add<MoveQuantizeBackward>(context);
  // Cancelling an identity pair is preferred over turning it into a
  // requantize.
  patterns.add<CancelDequantizeQuantize>(context, /*benefit=*/2);
  patterns.add<MergeDequantizeQuantize>(context, /*benefit=*/1);
}
