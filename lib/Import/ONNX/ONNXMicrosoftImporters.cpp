//===- ONNXMicrosoftImporters.cpp - com.microsoft LLM ops -----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The com.microsoft contrib ops that onnxruntime-genai's model builder and
// onnxruntime's transformer optimizer emit for decoder LLMs, imported as
// compositions of qnn ops with the semantics of onnxruntime's CPU kernels:
//
//  - SimplifiedLayerNormalization: qnn.rms_norm;
//  - SkipSimplifiedLayerNormalization / SkipLayerNormalization: the
//    residual sum (input + skip [+ bias]) and qnn.rms_norm / qnn.layer_norm
//    of it; outputs 0 and 3 (the sum); the statistics outputs 1-2 are not
//    produced (an error names them if a node consumes them);
//  - RotaryEmbedding: rotary position embedding on [B, S, N*H] or
//    [B, N, S, H] inputs, interleaved or half-split, partial rotary;
//  - GroupQueryAttention: packed or separate Q/K/V, optional past key and
//    value (present = Concat(past, new) on the sequence axis), rotary
//    inside (do_rotary), grouped K/V heads, causal mask with an optional
//    local window, softcap, scale, attention_bias.
//
// GroupQueryAttention's seqlens_k and total_sequence_length describe
// per-row lengths of a padded batch; this import derives every position
// from the past length instead (row b's new tokens sit at positions
// past_len .. past_len + S - 1), which is what those inputs say whenever
// the attention mask has no padding -- the case of single-sequence
// generation and of equal-length batches. Padded batches are not supported
// (docs/ONNXImport.md).
//
//===----------------------------------------------------------------------===//

#include "OpImporterUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::onnx_import;

namespace {

/// Small constants and single-result ops of the decompositions.
struct Emit {
  NodeContext &c;

  Value i64s(ArrayRef<int64_t> v) {
    auto type =
        RankedTensorType::get({(int64_t)v.size()}, c.builder.getI64Type());
    return ConstantOp::create(c.builder, c.loc,
                              DenseElementsAttr::get(type, v));
  }
  Value i64Scalar(int64_t v) {
    auto type = RankedTensorType::get({}, c.builder.getI64Type());
    return ConstantOp::create(c.builder, c.loc,
                              DenseElementsAttr::get(type, v));
  }
  Value floatScalar(Type elementType, double v) {
    auto type = RankedTensorType::get({}, elementType);
    return ConstantOp::create(
        c.builder, c.loc,
        DenseElementsAttr::get(type, FloatAttr::get(elementType, v)));
  }

  template <typename OpT, typename... Args>
  FailureOr<Value> op(Args &&...args) {
    Results r = build<OpT>(c, 1, std::forward<Args>(args)...);
    if (failed(r))
      return failure();
    return (*r)[0];
  }

  /// x[..., begin:end:step] on the last axis.
  FailureOr<Value> lastAxisSlice(Value x, int64_t begin, int64_t end,
                                 int64_t step = 1) {
    return op<SliceOp>(x, i64s({begin}), i64s({end}), i64s({-1}), i64s({step}));
  }
  FailureOr<Value> reshape(Value x, ArrayRef<int64_t> shape) {
    return op<ReshapeOp>(x, i64s(shape), c.builder.getBoolAttr(false));
  }
  FailureOr<Value> transpose(Value x, ArrayRef<int64_t> perm) {
    return op<TransposeOp>(x, c.builder.getDenseI64ArrayAttr(perm));
  }
  FailureOr<Value> unsqueeze(Value x, ArrayRef<int64_t> axes) {
    return op<UnsqueezeOp>(x, c.builder.getDenseI64ArrayAttr(axes));
  }
  FailureOr<Value> concat(ValueRange xs, int64_t axis) {
    return op<ConcatOp>(xs, c.builder.getI64IntegerAttr(axis));
  }
  /// Dimension `d` of `x` as a 0-d i64 tensor.
  FailureOr<Value> dim(Value x, int64_t d) {
    REQUIRE(s, op<ShapeOp>(x, c.builder.getI64IntegerAttr(d),
                           c.builder.getI64IntegerAttr(d + 1)));
    return reshape(s, {});
  }
};

/// The static last dimension of `v`, or an error naming `what`.
FailureOr<int64_t> staticLastDim(NodeContext &c, Value v, StringRef what) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1))
    return c.error() << what << " needs a static last dimension (got "
                     << v.getType() << ")";
  return type.getDimSize(type.getRank() - 1);
}

/// Rotates the first `rotDim` channels of `x` (last axis of size
/// `headSize`) by the angles whose cosines and sines are `cos` / `sin`
/// (broadcastable to x[..., :rotDim/2]); onnxruntime's rotary embedding.
FailureOr<Value> rotate(Emit &e, Value x, Value cos, Value sin, int64_t rotDim,
                        int64_t headSize, bool interleaved) {
  int64_t half = rotDim / 2;
  Value xr = x;
  if (rotDim < headSize) {
    REQUIRE(r, e.lastAxisSlice(x, 0, rotDim));
    xr = r;
  }
  Value x1, x2;
  if (interleaved) {
    REQUIRE(a, e.lastAxisSlice(xr, 0, rotDim, 2));
    REQUIRE(b, e.lastAxisSlice(xr, 1, rotDim, 2));
    x1 = a, x2 = b;
  } else {
    REQUIRE(a, e.lastAxisSlice(xr, 0, half));
    REQUIRE(b, e.lastAxisSlice(xr, half, rotDim));
    x1 = a, x2 = b;
  }
  // o1 = x1 cos - x2 sin; o2 = x2 cos + x1 sin.
  REQUIRE(x1c, e.op<MulOp>(x1, cos));
  REQUIRE(x2s, e.op<MulOp>(x2, sin));
  REQUIRE(o1, e.op<SubOp>(x1c, x2s));
  REQUIRE(x2c, e.op<MulOp>(x2, cos));
  REQUIRE(x1s, e.op<MulOp>(x1, sin));
  REQUIRE(o2, e.op<AddOp>(x2c, x1s));
  Value rotated;
  if (interleaved) {
    REQUIRE(u1, e.unsqueeze(o1, {-1}));
    REQUIRE(u2, e.unsqueeze(o2, {-1}));
    REQUIRE(pairs, e.concat({u1, u2}, -1));
    REQUIRE(shape,
            e.op<ShapeOp>(xr, e.c.builder.getI64IntegerAttr(0), IntegerAttr()));
    REQUIRE(r, e.op<ReshapeOp>(pairs, shape, e.c.builder.getBoolAttr(false)));
    rotated = r;
  } else {
    REQUIRE(r, e.concat({o1, o2}, -1));
    rotated = r;
  }
  if (rotDim == headSize)
    return rotated;
  REQUIRE(pass, e.lastAxisSlice(x, rotDim, headSize));
  return e.concat({rotated, pass}, -1);
}

Results importSimplifiedLayerNorm(NodeContext &c) {
  REQUIRE(x, c.required(0, "X"));
  REQUIRE(scale, c.required(1, "scale"));
  REQUIRE(y, build<RMSNormOp>(
                 c, 1, x, scale,
                 c.builder.getI64IntegerAttr(c.attrInt("axis", -1)),
                 c.builder.getF32FloatAttr(c.attrFloat("epsilon", 1e-5f))));
  return SmallVector<Value>{y[0], Value()};
}

/// Skip[Simplified]LayerNormalization: input + skip (+ bias), normalized.
template <bool Simplified> Results importSkipNorm(NodeContext &c) {
  Emit e{c};
  REQUIRE(x, c.required(0, "input"));
  REQUIRE(skip, c.required(1, "skip"));
  REQUIRE(gamma, c.required(2, "gamma"));
  Value beta = Simplified ? Value() : c.input(3);
  Value bias = c.input(Simplified ? 3 : 4);
  REQUIRE(sum, e.op<AddOp>(x, skip));
  if (bias) {
    REQUIRE(s, e.op<AddOp>(sum, bias));
    sum = s;
  }
  FloatAttr eps = c.builder.getF32FloatAttr(c.attrFloat("epsilon", 1e-5f));
  IntegerAttr axis = c.builder.getI64IntegerAttr(-1);
  Value y;
  if constexpr (Simplified) {
    REQUIRE(r, build<RMSNormOp>(c, 1, sum, gamma, axis, eps));
    y = r[0];
  } else {
    REQUIRE(r, build<LayerNormOp>(c, 3, sum, gamma, beta, axis, eps));
    y = r[0];
  }
  return SmallVector<Value>{y, Value(), Value(), sum};
}

Results importRotaryEmbedding(NodeContext &c) {
  Emit e{c};
  REQUIRE(x, c.ranked(0, "input"));
  REQUIRE(positions, c.ranked(1, "position_ids"));
  REQUIRE(cosCache, c.ranked(2, "cos_cache"));
  REQUIRE(sinCache, c.ranked(3, "sin_cache"));
  if (c.attrInt("is_packed_batching", 0))
    return c.error() << "is_packed_batching=1 is not supported";
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank != 3 && rank != 4)
    return c.error() << "input must be [batch, seq, hidden] or [batch, "
                        "heads, seq, head_size], got "
                     << x.getType();
  REQUIRE(half, staticLastDim(c, cosCache, "cos_cache"));
  int64_t numHeads = c.attrInt("num_heads", 0);
  int64_t rotDim = c.attrInt("rotary_embedding_dim", 0);
  bool interleaved = c.attrInt("interleaved", 0) != 0;
  REQUIRE(last, staticLastDim(c, x, "input"));
  int64_t headSize = last;
  if (rank == 3) {
    if (numHeads <= 0 && rotDim > 0)
      return c.error() << "num_heads is required when rotary_embedding_dim "
                          "is set on a 3-D input";
    headSize = numHeads > 0 ? last / numHeads : 2 * half;
    if (headSize <= 0 || last % headSize)
      return c.error() << "hidden size " << last
                       << " is not a multiple of the head size " << headSize;
  }
  if (rotDim == 0)
    rotDim = 2 * half;
  if (rotDim != 2 * half || rotDim > headSize || rotDim % 2)
    return c.error() << "rotary_embedding_dim " << rotDim
                     << " does not match cos_cache's last dimension " << half
                     << " (x2) and head size " << headSize;

  // Positions: [B, S] ids, or a [1] offset of positions offset..offset+S-1.
  auto posType = cast<RankedTensorType>(positions.getType());
  if (!posType.getElementType().isInteger(64))
    return c.error() << "position_ids must be int64, got "
                     << positions.getType();
  Value pos = positions;
  bool offsetOnly = posType.getRank() == 1;
  if (offsetOnly) {
    REQUIRE(start, e.reshape(positions, {}));
    REQUIRE(seq, e.dim(x, rank == 3 ? 1 : 2));
    REQUIRE(end, e.op<AddOp>(start, seq));
    REQUIRE(range, e.op<RangeOp>(start, end, e.i64Scalar(1)));
    pos = range;
  } else if (posType.getRank() != 2) {
    return c.error() << "position_ids must be [batch, seq] or a [1] offset, "
                        "got "
                     << positions.getType();
  }
  REQUIRE(cosB, e.op<GatherOp>(cosCache, pos, c.builder.getI64IntegerAttr(0)));
  REQUIRE(sinB, e.op<GatherOp>(sinCache, pos, c.builder.getI64IntegerAttr(0)));
  // Against [B, S, N, H] (3-D input) or [B, N, S, H]: cos/sin are [B, S,
  // half] (or [S, half] for an offset), broadcast over the heads.
  Value cosU = cosB, sinU = sinB;
  if (rank == 3 || !offsetOnly) {
    int64_t headAxis = rank == 3 ? (offsetOnly ? 1 : 2) : 1;
    REQUIRE(cu, e.unsqueeze(cosB, {headAxis}));
    REQUIRE(su, e.unsqueeze(sinB, {headAxis}));
    cosU = cu, sinU = su;
  }
  Value xs = x;
  if (rank == 3) {
    REQUIRE(r, e.reshape(x, {0, 0, last / headSize, headSize}));
    xs = r;
  }
  REQUIRE(y, rotate(e, xs, cosU, sinU, rotDim, headSize, interleaved));
  if (rank == 3) {
    REQUIRE(r, e.reshape(y, {0, 0, last}));
    return SmallVector<Value>{r};
  }
  return SmallVector<Value>{y};
}

Results importGroupQueryAttention(NodeContext &c) {
  Emit e{c};
  REQUIRE(query, c.ranked(0, "query"));
  int64_t numHeads = c.attrInt("num_heads", 0);
  int64_t kvHeads = c.attrInt("kv_num_heads", 0);
  if (numHeads <= 0 || kvHeads <= 0 || numHeads % kvHeads)
    return c.error() << "num_heads (" << numHeads << ") must be a positive "
                     << "multiple of kv_num_heads (" << kvHeads << ")";
  if (c.input(9))
    return c.error() << "input 'position_ids' is not supported (positions "
                        "follow the past length)";
  if (c.input(11))
    return c.error() << "input 'head_sink' is not supported";
  if (c.attrInt("smooth_softmax", 0))
    return c.error() << "smooth_softmax=1 is not supported";
  if (c.attrInt("qk_output", 0))
    return c.error() << "qk_output is not supported";
  if (c.numOutputs() > 3)
    return c.error() << "output 3 (output_qk) is not supported";

  auto qType = cast<RankedTensorType>(query.getType());
  if (qType.getRank() != 3)
    return c.error() << "query must be [batch, seq, hidden], got "
                     << query.getType();
  Type elem = qType.getElementType();
  REQUIRE(width, staticLastDim(c, query, "query"));
  Value q = query, k = c.input(1), v = c.input(2);
  int64_t headSize;
  if (!k) {
    // Packed QKV: [B, S, (N + 2 Nkv) H].
    if (v || width % (numHeads + 2 * kvHeads))
      return c.error() << "packed QKV width " << width
                       << " is not (num_heads + 2 kv_num_heads) x head_size";
    headSize = width / (numHeads + 2 * kvHeads);
    REQUIRE(parts, build<SplitOp>(c, 3, query, c.builder.getI64IntegerAttr(-1),
                                  c.builder.getDenseI64ArrayAttr(
                                      {numHeads * headSize, kvHeads * headSize,
                                       kvHeads * headSize})));
    q = parts[0], k = parts[1], v = parts[2];
  } else {
    if (!v)
      return c.error() << "key is given but value is not";
    headSize = width / numHeads;
  }
  // [B, S, heads * H] -> [B, heads, S, H].
  auto heads = [&](Value t, int64_t n) -> FailureOr<Value> {
    REQUIRE(r, e.reshape(t, {0, 0, n, headSize}));
    return e.transpose(r, {0, 2, 1, 3});
  };
  REQUIRE(q4, heads(q, numHeads));
  REQUIRE(k4, heads(k, kvHeads));
  REQUIRE(v4, heads(v, kvHeads));

  Value pastKey = c.input(3), pastValue = c.input(4);
  if (bool(pastKey) != bool(pastValue))
    return c.error() << "past_key and past_value must both be given or both "
                        "be omitted";
  Value pastLen = e.i64Scalar(0);
  if (pastKey) {
    REQUIRE(p, e.dim(pastKey, 2));
    pastLen = p;
  }
  REQUIRE(seqLen, e.dim(query, 1));
  REQUIRE(totalLen, e.op<AddOp>(pastLen, seqLen));
  // Positions of the new tokens: past_len .. past_len + S - 1.
  REQUIRE(qPos, e.op<RangeOp>(pastLen, totalLen, e.i64Scalar(1)));

  Value kNew = k4, qRot = q4;
  if (c.attrInt("do_rotary", 0)) {
    REQUIRE(cosCache, c.ranked(7, "cos_cache"));
    REQUIRE(sinCache, c.ranked(8, "sin_cache"));
    REQUIRE(half, staticLastDim(c, cosCache, "cos_cache"));
    if (2 * half > headSize)
      return c.error() << "cos_cache's rotary dimension " << 2 * half
                       << " exceeds the head size " << headSize;
    REQUIRE(cosS,
            e.op<GatherOp>(cosCache, qPos, c.builder.getI64IntegerAttr(0)));
    REQUIRE(sinS,
            e.op<GatherOp>(sinCache, qPos, c.builder.getI64IntegerAttr(0)));
    bool interleaved = c.attrInt("rotary_interleaved", 0) != 0;
    REQUIRE(qr, rotate(e, q4, cosS, sinS, 2 * half, headSize, interleaved));
    REQUIRE(kr, rotate(e, k4, cosS, sinS, 2 * half, headSize, interleaved));
    qRot = qr, kNew = kr;
  }
  Value presentKey = kNew, presentValue = v4;
  if (pastKey) {
    REQUIRE(pk, e.concat({pastKey, kNew}, 2));
    REQUIRE(pv, e.concat({pastValue, v4}, 2));
    presentKey = pk, presentValue = pv;
  }
  // Grouped heads: each K/V head serves num_heads / kv_num_heads queries.
  Value keys = presentKey, values = presentValue;
  if (numHeads != kvHeads) {
    auto repeat = [&](Value t) -> FailureOr<Value> {
      REQUIRE(u, e.unsqueeze(t, {2}));
      REQUIRE(x, e.op<ExpandOp>(u, e.i64s({1, 1, numHeads / kvHeads, 1, 1})));
      return e.reshape(x, {0, numHeads, -1, headSize});
    };
    REQUIRE(kk, repeat(keys));
    REQUIRE(vv, repeat(values));
    keys = kk, values = vv;
  }
  float scale = c.attrFloat("scale", 0.0f);
  if (scale == 0.0f)
    scale = 1.0f / std::sqrt(static_cast<float>(headSize));
  REQUIRE(kT, e.transpose(keys, {0, 1, 3, 2}));
  REQUIRE(qk, e.op<MatMulOp>(qRot, kT));
  REQUIRE(scores0, e.op<MulOp>(qk, e.floatScalar(elem, scale)));
  Value scores = scores0;
  float softcap = c.attrFloat("softcap", 0.0f);
  if (softcap > 0.0f) {
    Value cap = e.floatScalar(elem, softcap);
    REQUIRE(d, e.op<DivOp>(scores, cap));
    REQUIRE(t, e.op<TanhOp>(d));
    REQUIRE(m, e.op<MulOp>(t, cap));
    scores = m;
  }
  if (Value bias = c.input(10)) {
    REQUIRE(b, e.op<AddOp>(scores, bias));
    scores = b;
  }
  // Causal mask (key position <= query position), within the local window
  // when one is set: onnxruntime keeps the `window` keys p - window + 1 .. p.
  REQUIRE(kPos, e.op<RangeOp>(e.i64Scalar(0), totalLen, e.i64Scalar(1)));
  REQUIRE(qCol, e.unsqueeze(qPos, {1}));
  REQUIRE(allowed0, e.op<LessEqualOp>(kPos, qCol));
  Value allowed = allowed0;
  int64_t window = c.attrInt("local_window_size", -1);
  if (window >= 0) {
    REQUIRE(lo, e.op<SubOp>(qCol, e.i64Scalar(window)));
    REQUIRE(inWindow, e.op<GreaterOp>(kPos, lo));
    REQUIRE(both, e.op<AndOp>(allowed, inWindow));
    allowed = both;
  }
  Value lowest = e.floatScalar(elem, -std::numeric_limits<float>::max());
  REQUIRE(masked, e.op<WhereOp>(allowed, scores, lowest));
  REQUIRE(probs, e.op<SoftmaxOp>(masked, c.builder.getI64IntegerAttr(-1)));
  REQUIRE(ctx, e.op<MatMulOp>(probs, values));
  REQUIRE(ctxT, e.transpose(ctx, {0, 2, 1, 3}));
  REQUIRE(out, e.reshape(ctxT, {0, 0, numHeads * headSize}));
  return SmallVector<Value>{out, presentKey, presentValue};
}

} // namespace

void onnx_import::registerMicrosoftImporters(llvm::StringMap<NodeImporter> &t) {
  // onnxruntime registers this contrib op in the default domain (opset 1).
  t["::SimplifiedLayerNormalization"] = {importSimplifiedLayerNorm, 1};
  t["com.microsoft::SkipSimplifiedLayerNormalization"] = {importSkipNorm<true>,
                                                          1};
  t["com.microsoft::SkipLayerNormalization"] = {importSkipNorm<false>, 1};
  t["com.microsoft::RotaryEmbedding"] = {importRotaryEmbedding, 1};
  t["com.microsoft::GroupQueryAttention"] = {importGroupQueryAttention, 1};
}
