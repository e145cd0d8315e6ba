//===- FP8.cpp - fp8 matmuls to the fp8 tensor-core kernel ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The fp8 scheme's layers, matmul(dequantize(e4m3 activations),
// dequantize(constant e4m3 weight)), become launches of @qgpu_fp8_e4m3 (the
// 8-bit kernel's e4m3 variant, sm_89+) with a following per-column bias,
// relu/gelu/silu and the next layer's e4m3 quantize fused.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Conversion/QNNToGPU/WeightPacking.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <array>
#include <cstring>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

namespace {

/// The dequantize of float8 E4M3FN data behind `v`, or null.
DequantizeOp fp8Dequantize(Value v) {
  auto d = v.getDefiningOp<DequantizeOp>();
  if (!d || !isa<Float8E4M3FNType>(
                cast<ShapedType>(d.getInput().getType()).getElementType()))
    return {};
  return d;
}

struct LowerFP8MatMul : GPUKernelPattern<MatMulOp> {
  using GPUKernelPattern::GPUKernelPattern;

  LogicalResult lowerChoice(MatMulOp m, StringRef, StringRef,
                            PatternRewriter &rewriter) const override {
    std::string why;
    LogicalResult lowered = lower(m, rewriter, why);
    if (succeeded(lowered)) {
      state.fp8Kernel = true;
      ++state.numMMA8;
    }
    return state.loweredOrFallBack(rewriter, m, lowered, why);
  }

private:
  /// Rewrites an fp8 matmul into a launch of the fp8 tensor-core kernel
  /// (sm_89+); on an unsupported case returns failure with `why` set.
  LogicalResult lower(MatMulOp m, PatternRewriter &rewriter,
                      std::string &why) const;
};

LogicalResult LowerFP8MatMul::lower(MatMulOp m, PatternRewriter &rewriter,
                                    std::string &why) const {
  int64_t stages = state.stages;
  DequantizeOp a = fp8Dequantize(m.getLhs()), w = fp8Dequantize(m.getRhs());
  if (!state.target.fp8) {
    why = "fp8 tensor cores need sm_89 or sm_90 (target " +
          state.target.name.str() + ")";
    return failure();
  }
  ElementsAttr wAttr = constantOf(w.getInput());
  auto wType = cast<RankedTensorType>(w.getInput().getType());
  auto aType = cast<RankedTensorType>(a.getInput().getType());
  auto rType = cast<RankedTensorType>(m.getResult().getType());
  if (!wAttr || wType.getRank() != 2 || aType.getRank() < 1 ||
      !rType.getElementType().isF32()) {
    why = "not a [K, N] constant fp8 weight with f32 output";
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  if (K % 16 != 0) {
    why = "K = " + std::to_string(K) +
          " is not a multiple of 16 (the kernel copies 16-byte rows)";
    return failure();
  }
  // Scales: activations per tensor; the weight per tensor or per output
  // column (axis 1); zero points absent or zero; no blocks.
  // Elements of a scale; -1 when its shape is not static (a run-time
  // per-token scale).
  auto count = [](Value v) -> int64_t {
    if (!v)
      return 0;
    auto t = cast<ShapedType>(v.getType());
    return t.hasStaticShape() ? t.getNumElements() : -1;
  };
  auto zeroOrAbsent = [](Value zp) {
    if (!zp)
      return true;
    ElementsAttr c = constantOf(zp);
    if (!c)
      return false;
    auto bytes = getWeightBytes(c);
    return bytes && llvm::all_of(*bytes, [](int8_t v) {
             return (static_cast<uint8_t>(v) & 0x7F) == 0;
           });
  };
  bool wPerCol = count(w.getScale()) == N && N != 1;
  // Per token: the activation scale blocked along K with one block per row
  // ([..., 1], as qnn.dynamic_quantize per_token leaves it); the kernel
  // reads it per output row.
  int64_t aRank = aType.getRank();
  // Its leading dimensions must be the activations' (equal, or both
  // dynamic as when both come from the same tensor), so that the kernel's
  // per-row read stays inside it.
  auto sType = a.getScale() ? dyn_cast<RankedTensorType>(a.getScale().getType())
                            : nullptr;
  bool aPerRow = a.getBlockSize() != 0 && a.getBlockSize() == K &&
                 aType.getDimSize(aRank - 1) == K &&
                 (a.getAxis() == aRank - 1 || a.getAxis() == -1) && sType &&
                 sType.getRank() == aRank && sType.getDimSize(aRank - 1) == 1 &&
                 sType.getShape().drop_back() == aType.getShape().drop_back();
  if (!a.getScale() || (count(a.getScale()) != 1 && !aPerRow) ||
      !w.getScale() ||
      (count(w.getScale()) != 1 && !(wPerCol && w.getAxis() == 1)) ||
      (a.getBlockSize() != 0 && !aPerRow) || w.getBlockSize() != 0 ||
      !constantOf(w.getScale()) || !zeroOrAbsent(a.getZeroPoint()) ||
      !zeroOrAbsent(w.getZeroPoint())) {
    why = "fp8 scales the kernel does not take (it needs per-tensor or "
          "per-token activation and per-tensor or per-column weight scales, "
          "zero points 0)";
    return failure();
  }
  auto bytes = getWeightBytes(wAttr);
  if (!bytes) {
    m.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  PackedMMA8 packed = packMMA8(*bytes, K, N, {}, /*wgmma=*/false);
  // The epilogue fused into the kernel: a following add of a constant
  // per-column f32 bias, then relu / gelu (erf) / silu, each the only user
  // of the value before it.
  Operation *last = m;
  SmallVector<float> bias;
  auto onlyUser = [](Operation *op) -> Operation * {
    return op->hasOneUse() ? *op->getUsers().begin() : nullptr;
  };
  if (auto add = dyn_cast_or_null<AddOp>(onlyUser(m))) {
    Value other = add.getLhs() == m.getResult() ? add.getRhs() : add.getLhs();
    ElementsAttr c = constantOf(other);
    auto t = dyn_cast<RankedTensorType>(other.getType());
    std::optional<SmallVector<float>> values;
    if (c && t && t.getRank() == 1 && t.getDimSize(0) == N &&
        t.getElementType().isF32() && add.getType() == rType &&
        (values = getFloatValues(c))) {
      bias = std::move(*values);
      last = add;
    }
  }
  int64_t act = 0;
  if (Operation *u = onlyUser(last);
      u && u->getNumResults() == 1 && u->getResult(0).getType() == rType) {
    if (isa<ReluOp>(u))
      act = 1;
    else if (auto g = dyn_cast<GeluOp>(u); g && g.getApproximate() == "none")
      act = 2;
    else if (isa<SiluOp>(u))
      act = 3;
    if (act)
      last = u;
  }
  // The next layer's quantize to e4m3 (per-tensor constant scale, zero
  // point absent or 0, saturating): the kernel writes e4m3 bytes.
  QuantizeOp requant;
  if (auto qz = dyn_cast_or_null<QuantizeOp>(onlyUser(last))) {
    auto qt = cast<RankedTensorType>(qz.getOutput().getType());
    ElementsAttr sc = constantOf(qz.getScale());
    if (isa<Float8E4M3FNType>(qt.getElementType()) && qz.getSaturate() && sc &&
        sc.getNumElements() == 1 && qz.getBlockSize() == 0 &&
        zeroOrAbsent(qz.getZeroPoint()) && qt.getShape() == rType.getShape() &&
        getFloatValues(sc))
      requant = qz;
  }
  // The column words: unused colsum, then the f32 bias bits.
  std::fill(packed.columns.begin(), packed.columns.end(), 0);
  for (auto [n, v] : llvm::enumerate(bias))
    std::memcpy(packed.columns.data() + 4 * (packed.Npad + n), &v, 4);

  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(m);
  Location loc = m.getLoc();
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };
  Value lhs = signless(b, loc, a.getInput());
  SmallVector<Value> outDynDims;
  Value rows = flattenRows(b, loc, lhs, rType, outDynDims);
  Type outElt = requant ? (Type)b.getI8Type() : (Type)b.getF32Type();
  auto [outBuf, outAddr] = outputBuffer(b, loc, rType, outElt, outDynDims);
  auto param = [&](Value v, StringRef suffix) {
    return paramAddress(b, loc, m, v, suffix);
  };
  Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
  SmallVector<Value> args{
      addressOf(b, loc, lhs),
      addressOf(b, loc, blob(b, loc, m, "fp8", packed.words)),
      addressOf(b, loc, blob(b, loc, m, "fp8_columns", packed.columns)),
      param(a.getScale(), "lhs_scale"),
      zero64,
      param(w.getScale(), "rhs_scale"),
      requant ? param(requant.getScale(), "output_scale") : zero64,
      zero64,
      outAddr,
      arith::IndexCastOp::create(b, loc, i32, rows),
      cI32(N),
      cI32(K),
      cI32(packed.Npad),
      cI32(packed.Kpad / kMMA8BlockK),
      cI32(aPerRow ? 1 : 0),
      cI32(wPerCol ? 1 : 0),
      cI32(act),
      cI32(requant ? 3 : 0)};
  Value mTiles = arith::CeilDivUIOp::create(b, loc, rows, idx(kMMA8BlockM));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, idx(1));
  std::string reason =
      "float8 e4m3 activations x e4m3 weights on fp8 tensor cores (mma.sync "
      "m16n8k32, f32 accumulation, 128x128 tiles, " +
      std::to_string(stages) + "-stage cp.async), " +
      (aPerRow ? "per-token" : "per-tensor") + " activation scale, " +
      (wPerCol ? "per-column" : "per-tensor") + " weight scale, epilogue: " +
      llvm::join(
          llvm::make_filter_range(
              std::array<std::string, 3>{
                  bias.empty() ? "" : "bias",
                  std::array<const char *, 4>{"", "relu", "gelu", "silu"}[act],
                  requant ? "the next layer's e4m3 quantize" : ""},
              [](const std::string &p) { return !p.empty(); }),
          " + ") +
      (bias.empty() && !act && !requant ? "none" : "") +
      (requant ? "" : ", f32 output");
  emitLaunch(
      b, loc, m, "qgpu_fp8_e4m3", {idx(packed.Npad / kMMA8BlockN), mTiles}, 256,
      std::max<int64_t>(stages * 16384, 128 * 136 * 4), args, "fp8", reason);
  Value out = bufferization::ToTensorOp::create(b, loc, rType.clone(outElt),
                                                outBuf, /*restrict=*/true,
                                                /*writable=*/true);
  if (requant) {
    out = UnrealizedConversionCastOp::create(b, loc,
                                             requant.getOutput().getType(), out)
              .getResult(0);
    rewriter.replaceOp(requant, out);
  }
  rewriter.replaceAllUsesWith(last->getResult(0), out);
  // The fused chain, last op first.
  while (last != m) {
    Operation *prev = last->getOperand(0).getDefiningOp();
    if (isa<AddOp>(last) && prev != m)
      prev = last->getOperand(1).getDefiningOp();
    rewriter.eraseOp(last);
    last = prev;
  }
  rewriter.eraseOp(m);
  // (a and w may be one op: matmul(d, d) of a square constant.)
  if (w->use_empty())
    rewriter.eraseOp(w);
  if (a != w && a->use_empty())
    rewriter.eraseOp(a);
  return success();
}

} // namespace

void qgpu::populateFP8Patterns(RewritePatternSet &patterns,
                               GPULoweringState &state) {
  patterns.add<LowerFP8MatMul>(patterns.getContext(), state);
}
