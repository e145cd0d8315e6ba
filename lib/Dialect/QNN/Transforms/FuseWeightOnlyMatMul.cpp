//===- FuseWeightOnlyMatMul.cpp - matmul(x, dequantize(w)) fusion ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

bool isConstant(Value v) { return v && v.getDefiningOp<ConstantOp>(); }

/// matmul(x, dequantize(w_q, s, z)) with a constant [K, N] integer weight
/// whose parameters are per tensor, per output channel (axis 1) or grouped
/// along K (axis 0, block_size = group).
struct FuseWeightOnly : public OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto dq = op.getRhs().getDefiningOp<DequantizeOp>();
    if (!dq || !dq.getScale() || !isConstant(dq.getInput()) ||
        !isConstant(dq.getScale()) ||
        (dq.getZeroPoint() && !isConstant(dq.getZeroPoint())))
      return rewriter.notifyMatchFailure(op, "rhs is not a dequantized "
                                             "constant weight");
    // Activations quantized too: that is W8A8, handled by the integer
    // matmul patterns.
    if (op.getLhs().getDefiningOp<DequantizeOp>())
      return rewriter.notifyMatchFailure(op, "quantized activations");
    auto weightType = dyn_cast<RankedTensorType>(dq.getInput().getType());
    if (!weightType || weightType.getRank() != 2 ||
        !isa<IntegerType>(weightType.getElementType()) ||
        weightType.getElementType().getIntOrFloatBitWidth() > 8)
      return rewriter.notifyMatchFailure(op, "weight is not 2-D int8/int4");
    auto scaleType = cast<ShapedType>(dq.getScale().getType());
    if (!scaleType.getElementType().isF32() ||
        !cast<ShapedType>(op.getLhs().getType()).getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "only f32 activations/scales");
    int64_t group = 0;
    bool perTensor = scaleType.hasStaticShape() &&
                     scaleType.getNumElements() == 1 && dq.getBlockSize() == 0;
    int64_t axis =
        normalizeAxis(static_cast<int64_t>(dq.getAxis()), 2).value_or(-1);
    if (!perTensor) {
      if (dq.getBlockSize() == 0 && axis == 1)
        group = 0;
      else if (dq.getBlockSize() > 0 && axis == 0)
        group = dq.getBlockSize();
      else
        return rewriter.notifyMatchFailure(op, "scales are not per output "
                                               "channel or per group of K");
    }
    auto fused = WeightOnlyMatMulOp::create(
        rewriter, op.getLoc(), TypeRange{op.getType()}, op.getLhs(),
        dq.getInput(), dq.getScale(), dq.getZeroPoint(), Value(),
        rewriter.getI64IntegerAttr(group));
    rewriter.replaceOp(op, fused);
    return success();
  }
};

/// add(weight_only_matmul(...), bias[N]) folds the bias into the op.
struct FuseWeightOnlyBias : public OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [mmValue, biasValue] : {std::pair(op.getLhs(), op.getRhs()),
                                      std::pair(op.getRhs(), op.getLhs())}) {
      auto mm = mmValue.getDefiningOp<WeightOnlyMatMulOp>();
      if (!mm || mm.getBias() || !mm->hasOneUse() || !isConstant(biasValue))
        continue;
      auto biasType = cast<ShapedType>(biasValue.getType());
      auto weightType = cast<ShapedType>(mm.getWeight().getType());
      if (!biasType.hasStaticShape() || biasType.getRank() != 1 ||
          biasType.getDimSize(0) != weightType.getDimSize(1) ||
          op.getType() != mm.getType())
        continue;
      auto fused = WeightOnlyMatMulOp::create(
          rewriter, mm.getLoc(), TypeRange{mm.getType()}, mm.getInput(),
          mm.getWeight(), mm.getScales(), mm.getZeroPoints(), biasValue,
          mm.getGroupSizeAttr());
      rewriter.replaceOp(op, fused);
      rewriter.eraseOp(mm);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not a per-channel bias add");
  }
};

/// Bytes of a constant ui8 tensor (dense or resource blob).
std::optional<SmallVector<uint8_t>> getBytes(Value v) {
  auto constant = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!constant ||
      !getElementTypeOrSelf(constant.getType()).isUnsignedInteger(8))
    return std::nullopt;
  std::optional<SmallVector<int64_t>> values =
      getIntValues(constant.getValue());
  if (!values)
    return std::nullopt;
  return SmallVector<uint8_t>(values->begin(), values->end());
}

/// Small results inline, large ones as resource blobs (like
/// qnn-quantize-weights).
ElementsAttr makeConstant(RankedTensorType type, ArrayRef<char> bytes,
                          ArrayRef<Attribute> elements, StringRef name) {
  if (type.getNumElements() <= 64)
    return DenseElementsAttr::get(type, elements);
  return DenseResourceElementsAttr::get(
      type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
}

/// com.microsoft MatMulNBits with 4- or 8-bit constant weights, f32 scales,
/// optional packed zero points and no g_idx -> qnn.weight_only_matmul, so
/// that pre-quantized LLM weights and our own RTN weights reach the same
/// kernel. The packed [N, blocks, blob] layout becomes the [K, N] weight
/// (ui4/ui8) with [blocks, N] scales and zero points (default 2^(bits-1)).
struct MatMulNBitsToWeightOnly : public OpRewritePattern<MatMulNBitsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulNBitsOp op,
                                PatternRewriter &rewriter) const override {
    int64_t bits = op.getBits(), k = op.getK(), n = op.getN();
    int64_t block = op.getBlockSize();
    Type inElt = cast<ShapedType>(op.getInput().getType()).getElementType();
    if ((bits != 4 && bits != 8) || op.getGIdx() ||
        !(inElt.isF32() || inElt.isF16()))
      return rewriter.notifyMatchFailure(op, "only 4/8-bit, f32/f16, no g_idx");
    std::optional<SmallVector<uint8_t>> packed = getBytes(op.getWeight());
    auto scaleOp = op.getScales().getDefiningOp<ConstantOp>();
    std::optional<SmallVector<float>> scales =
        scaleOp ? getFloatValues(scaleOp.getValue()) : std::nullopt;
    std::optional<SmallVector<uint8_t>> zps;
    if (op.getZeroPoints()) {
      zps = getBytes(op.getZeroPoints());
      if (!zps)
        return rewriter.notifyMatchFailure(op, "zero points not packed ui8");
    }
    int64_t blocks = llvm::divideCeil(k, block);
    int64_t blob = block * bits / 8;
    if (!packed || !scales ||
        static_cast<int64_t>(packed->size()) != n * blocks * blob ||
        static_cast<int64_t>(scales->size()) != n * blocks)
      return rewriter.notifyMatchFailure(op, "weights are not constants");
    int64_t zpBytesPerRow = llvm::divideCeil(blocks * bits, 8);
    if (zps && static_cast<int64_t>(zps->size()) != n * zpBytesPerRow)
      return rewriter.notifyMatchFailure(op, "unexpected zero point size");

    auto element = [&](ArrayRef<uint8_t> bytes, int64_t index) -> int64_t {
      if (bits == 8)
        return bytes[index];
      uint8_t byte = bytes[index / 2];
      return index % 2 == 0 ? (byte & 0xF) : (byte >> 4);
    };
    SmallVector<int64_t> weight(k * n), zp(blocks * n);
    SmallVector<float> scale(blocks * n);
    for (int64_t row = 0; row < n; ++row) {
      for (int64_t c = 0; c < k; ++c) {
        int64_t b = c / block, offset = c % block;
        weight[c * n + row] =
            element(ArrayRef<uint8_t>(*packed).slice((row * blocks + b) * blob),
                    offset);
      }
      for (int64_t b = 0; b < blocks; ++b) {
        scale[b * n + row] = (*scales)[row * blocks + b];
        zp[b * n + row] =
            zps ? element(ArrayRef<uint8_t>(*zps).slice(row * zpBytesPerRow), b)
                : (int64_t(1) << (bits - 1));
      }
    }

    auto storage = IntegerType::get(getContext(), bits, IntegerType::Unsigned);
    auto toAttrs = [&](ArrayRef<int64_t> values) {
      SmallVector<Attribute> attrs;
      for (int64_t v : values)
        attrs.push_back(IntegerAttr::get(storage, APInt(bits, v)));
      return attrs;
    };
    Location loc = op.getLoc();
    auto weightType = RankedTensorType::get({k, n}, storage);
    auto paramType = RankedTensorType::get({blocks, n}, storage);
    Value w = ConstantOp::create(
        rewriter, loc,
        makeConstant(weightType, packIntegers(weight, storage), toAttrs(weight),
                     "matmulnbits_weight"));
    // Scales keep the activations' element type (f32, or f16 exactly).
    auto scaleType = RankedTensorType::get({blocks, n}, inElt);
    SmallVector<Attribute> scaleAttrs;
    SmallVector<char> scaleBytes;
    for (float f : scale) {
      scaleAttrs.push_back(rewriter.getFloatAttr(inElt, f));
      if (inElt.isF32()) {
        const char *p = reinterpret_cast<const char *>(&f);
        scaleBytes.append(p, p + sizeof(float));
      } else {
        llvm::APFloat h(f);
        bool lost = false;
        h.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
                  &lost);
        uint16_t bitsH = h.bitcastToAPInt().getZExtValue();
        const char *p = reinterpret_cast<const char *>(&bitsH);
        scaleBytes.append(p, p + sizeof(uint16_t));
      }
    }
    Value s = ConstantOp::create(
        rewriter, loc,
        makeConstant(scaleType, scaleBytes, scaleAttrs, "matmulnbits_scales"));
    Value z = ConstantOp::create(
        rewriter, loc,
        makeConstant(paramType, packIntegers(zp, storage), toAttrs(zp),
                     "matmulnbits_zero_points"));
    rewriter.replaceOpWithNewOp<WeightOnlyMatMulOp>(
        op, TypeRange{op.getType()}, op.getInput(), w, s, z, op.getBias(),
        rewriter.getI64IntegerAttr(block));
    return success();
  }
};

} // namespace

void qnn::populateFuseWeightOnlyMatMulPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseWeightOnly, FuseWeightOnlyBias, MatMulNBitsToWeightOnly>(
      patterns.getContext());
}
