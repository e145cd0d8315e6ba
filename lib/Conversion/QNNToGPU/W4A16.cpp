//===- W4A16.cpp - Weight-only int4 matmuls to the W4A16 kernel -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qnn.weight_only_matmul with constant int4 weights becomes a launch of the
// W4A16 kernel (W4A16Kernel.mlir) on the weights packed at compile time
// (WeightPacking.h); or, with kernel=w8a8 or above w4a8-min-m rows, W4A8:
// a qnn.dynamic_quantize of the activations and a qnn.quantized_matmul
// that the 8-bit patterns lower.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Conversion/QNNToGPU/WeightPacking.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

namespace {

/// Split-K counters in the kernel module: (m-tile, n-block) pairs.
constexpr int64_t kNumCounters = 4096;
/// Split-K is used up to this many 16-row tiles of M.
constexpr int64_t kMaxSplitMTiles = 4;

/// The kernel's activation type for `w`: bf16 stays bf16, f16 and f32
/// use the f16 kernel.
Type kernelElementType(WeightOnlyMatMulOp w) {
  Type elt = cast<ShapedType>(w.getInput().getType()).getElementType();
  Builder b(w.getContext());
  return elt.isBF16() ? b.getBF16Type() : b.getF16Type();
}

struct LowerWeightOnlyMatMul : GPUKernelPattern<WeightOnlyMatMulOp> {
  using GPUKernelPattern::GPUKernelPattern;

  /// The lowering of the choice `name` (w4a8, w4a8-by-m, w4a16).
  LogicalResult lowerChoice(WeightOnlyMatMulOp w, StringRef name,
                            StringRef reason,
                            PatternRewriter &rewriter) const override {
    if (name == "w4a8")
      return rewriteToW4A8(w, rewriter);
    if (name == "w4a8-by-m")
      return bucketByM(w, rewriter);
    // (w4a16, with the reason w4a8-min-m does not apply, if any.)
    if (!reason.empty())
      rewriter.modifyOpInPlace(w, [&] {
        w->setAttr("qnn.choice_note", rewriter.getStringAttr(reason));
      });
    return lowerW4A16OrFallBack(w, rewriter);
  }

  /// Rewrites `w`; on an unsupported case returns failure with `why` set
  /// (the op stays for the generic lowering).
  LogicalResult lower(WeightOnlyMatMulOp w, PatternRewriter &rewriter,
                      std::string &why) const;

  /// Lowers `w` to the W4A16 kernel, or records the generic fallback.
  LogicalResult lowerW4A16OrFallBack(WeightOnlyMatMulOp w,
                                     PatternRewriter &rewriter) const {
    std::string why;
    Type elt = kernelElementType(w);
    LogicalResult lowered = lower(w, rewriter, why);
    if (succeeded(lowered)) {
      state.w4a16Kernels.insert(elt);
      ++state.numW4A16;
    }
    return state.loweredOrFallBack(rewriter, w, lowered, why);
  }

  /// kernel=w8a8 on an int4 weight-only matmul: W4A8, the activations
  /// quantized per token at run time (qnn.dynamic_quantize) and the int4
  /// weights taken by the 8-bit kernel. Fails with an error where the
  /// weight's scales are grouped or the activations are not f32.
  LogicalResult rewriteToW4A8(WeightOnlyMatMulOp w,
                              PatternRewriter &rewriter) const;

  /// w4a8-min-m: W4A8 for M >= w4a8MinM, W4A16 below; a static M decides
  /// now, a dynamic one through an scf.if on the run-time row count whose
  /// branches hold one lowering each.
  LogicalResult bucketByM(WeightOnlyMatMulOp w,
                          PatternRewriter &rewriter) const;
};

LogicalResult LowerWeightOnlyMatMul::lower(WeightOnlyMatMulOp w,
                                           PatternRewriter &rewriter,
                                           std::string &why) const {
  ElementsAttr wAttr, sAttr, zAttr, bAttr;
  wAttr = constantOf(w.getWeight());
  sAttr = constantOf(w.getScales());
  zAttr = constantOf(w.getZeroPoints());
  bAttr = constantOf(w.getBias());
  if (!wAttr || !sAttr || (w.getZeroPoints() && !zAttr) ||
      (w.getBias() && !bAttr)) {
    why = "non-constant weights, scales, zero points or bias";
    return failure();
  }
  auto wType = cast<ShapedType>(wAttr.getType());
  auto wElt = cast<IntegerType>(wType.getElementType());
  if (wElt.getWidth() != 4) {
    why = "8-bit weights (the GPU kernel is int4)";
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto rType = cast<RankedTensorType>(w.getResult().getType());
  Type xElt = xType.getElementType();
  if (!(xElt.isF16() || xElt.isBF16() || xElt.isF32()) ||
      rType.getElementType() != xElt) {
    why = "activations that are not f16, bf16 or f32";
    return failure();
  }
  if (K % 8 != 0) {
    why = "K = " + std::to_string(K) + " is not a multiple of 8";
    return failure();
  }
  auto bytes = getWeightBytes(wAttr);
  auto scales = getFloatValues(sAttr);
  std::optional<SmallVector<float>> bias;
  std::optional<SmallVector<int64_t>> zps;
  if (zAttr)
    zps = getIntValues(zAttr);
  if (bAttr)
    bias = getFloatValues(bAttr);
  if (!bytes || !scales || (zAttr && !zps) || (bAttr && !bias)) {
    w.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  Type kElt = kernelElementType(w);
  std::optional<std::vector<int64_t>> zeroPoints;
  if (zps)
    zeroPoints.emplace(zps->begin(), zps->end());
  std::optional<PackedW4> packed =
      packW4(*bytes, !wElt.isUnsigned(), *scales, zeroPoints, K, N,
             w.getGroupSize(), kElt.isBF16(), why);
  if (!packed)
    return failure();

  // Split-K for small M: about four blocks per SM at M = 1 (measured best
  // of 2, 4 and 6 on an H100 with 4 stages: benchmarks/results).
  int64_t sms = state.target.smCount;
  int64_t nBlocks = packed->Npad / kW4BlockN, numKT = packed->Kpad / kW4BlockK;
  int64_t split = std::min<int64_t>((4 * sms + nBlocks - 1) / nBlocks, numKT);
  if (nBlocks * kMaxSplitMTiles > kNumCounters)
    split = 1;
  int64_t ktPer = (numKT + split - 1) / split;
  split = (numKT + ktPer - 1) / ktPer;

  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(w);
  Location loc = w.getLoc();
  Type f16 = kElt, i32 = b.getI32Type(); // the kernel's activation type
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto toI32 = [&](Value v) {
    return (Value)arith::IndexCastOp::create(b, loc, i32, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };

  // The activations as f16, in their own shape: the kernel reads them as
  // [M, K] rows (identity layout), M the product of the leading dims.
  Value x = castElements(b, loc, w.getInput(), f16);
  SmallVector<Value> outDynDims;
  Value m = flattenRows(b, loc, x, rType, outDynDims);

  Value wBlob = blob(b, loc, w, "w4a16", packed->words);
  Value sBlob = blob(b, loc, w, "w4a16_scales", packed->scales);
  Value biasAddr = arith::ConstantIntOp::create(b, loc, 0, 64);
  if (bias) {
    ArrayRef<char> bb(reinterpret_cast<const char *>(bias->data()),
                      bias->size() * sizeof(float));
    biasAddr = addressOf(b, loc, blob(b, loc, w, "bias", bb));
  }

  // Grid: (N / 64, split, ceil(M / 16)); split-K only for small M.
  Value c1 = idx(1);
  Value mTiles = arith::CeilDivUIOp::create(b, loc, m, idx(16));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, c1);
  Value small = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, mTiles,
                                      idx(kMaxSplitMTiles));
  Value splitV = arith::SelectOp::create(b, loc, small, idx(split), c1);
  Value ktPerV =
      arith::SelectOp::create(b, loc, small, cI32(ktPer), cI32(numKT));
  Value wsElems = arith::MulIOp::create(
      b, loc, arith::MulIOp::create(b, loc, splitV, mTiles),
      idx(16 * packed->Npad));
  wsElems = arith::MaxUIOp::create(b, loc, wsElems, idx(16));

  auto outType = MemRefType::get(rType.getShape(), f16);
  Value outBuf = memref::AllocOp::create(b, loc, outType, outDynDims,
                                         b.getI64IntegerAttr(64));
  auto wsType = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  Value wsBuf = memref::AllocOp::create(b, loc, wsType, ValueRange{wsElems},
                                        b.getI64IntegerAttr(64));
  SmallVector<Value> args{addressOf(b, loc, x),
                          addressOf(b, loc, wBlob),
                          addressOf(b, loc, sBlob),
                          biasAddr,
                          bufferAddress(b, loc, outBuf),
                          bufferAddress(b, loc, wsBuf),
                          toI32(m),
                          cI32(N),
                          cI32(K),
                          cI32(packed->Npad),
                          ktPerV,
                          cI32(numKT),
                          cI32(llvm::Log2_64(packed->group)),
                          cI32(bias ? 1 : 0)};
  std::string reason =
      "int4 weights, group " + std::to_string(packed->group) + ", " +
      std::to_string(split) +
      "-way split-K for M <= " + std::to_string(16 * kMaxSplitMTiles) + " (" +
      std::to_string(nBlocks) + " column blocks, " + std::to_string(sms) +
      " SMs on " + state.target.name.str() + ")";
  if (auto note = w->getAttrOfType<StringAttr>("qnn.choice_note"))
    reason = note.str() + "; " + reason;
  emitLaunch(b, loc, w, w4a16KernelName(kElt), {idx(nBlocks), splitV, mTiles},
             128, state.stages * kW4A16StageBytes + 16, args,
             kElt.isBF16() ? "w4a16_bf16" : "w4a16", reason);

  Value out = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(rType.getShape(), f16), outBuf,
      /*restrict=*/true, /*writable=*/true);
  out = castElements(b, loc, out, xElt);
  rewriter.replaceOp(w, out);
  return success();
}

LogicalResult
LowerWeightOnlyMatMul::rewriteToW4A8(WeightOnlyMatMulOp w,
                                     PatternRewriter &rewriter) const {
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto fail = [&](const Twine &why) {
    return w.emitOpError("cannot take the w8a8 kernel (forced by "
                         "kernel=w8a8, as W4A8 with per-token dynamic "
                         "activations): ")
           << why << "; use --gpu-kernel=auto (kernel=auto)";
  };
  if (w.getGroupSize() != 0)
    return fail("its weight scales are grouped along K (group size " +
                Twine(w.getGroupSize()) +
                "), which the int8 kernel's per-channel epilogue cannot apply");
  if (!xType.getElementType().isF32() || xType.getRank() < 1)
    return fail("its activations are not f32");
  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(w);
  Location loc = w.getLoc();
  SmallVector<int64_t> sShape(xType.getShape());
  sShape.back() = 1;
  auto ui8 = IntegerType::get(b.getContext(), 8, IntegerType::Unsigned);
  auto dq = DynamicQuantizeOp::create(
      b, loc,
      TypeRange{xType.clone(ui8), RankedTensorType::get(sShape, b.getF32Type()),
                RankedTensorType::get(sShape, ui8)},
      w.getInput(), b.getBoolAttr(true));
  Type rType = w.getResult().getType();
  auto q = QuantizedMatMulOp::create(
      b, loc, rType, dq.getOutput(), w.getWeight(), dq.getScale(),
      dq.getZeroPoint(), w.getScales(), w.getZeroPoints(), Value(), Value(),
      Value(), b.getStringAttr("none"));
  auto note = w->getAttrOfType<StringAttr>("qnn.choice_note");
  q->setAttr("qnn.choice_note",
             note ? note
                  : b.getStringAttr("W4A8 forced by kernel=w8a8 on an int4 "
                                    "weight-only matmul (activations quantized "
                                    "per token at run time)"));
  Value out = q.getResult();
  if (Value bias = w.getBias())
    out = AddOp::create(b, loc, rType, out, bias);
  rewriter.replaceOp(w, out);
  return success();
}

LogicalResult
LowerWeightOnlyMatMul::bucketByM(WeightOnlyMatMulOp w,
                                 PatternRewriter &rewriter) const {
  int64_t minM = state.w4a8MinM;
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto bigNote = [&](StringRef how) {
    return ("M >= " + Twine(minM) + " (w4a8-min-m, " + how +
            "): W4A8, the activations quantized per token at run time")
        .str();
  };
  auto smallNote = [&](StringRef how) {
    return ("M < " + Twine(minM) + " (w4a8-min-m, " + how + ")").str();
  };
  auto setNote = [&](WeightOnlyMatMulOp op, const std::string &note) {
    rewriter.modifyOpInPlace(op, [&] {
      op->setAttr("qnn.choice_note", rewriter.getStringAttr(note));
    });
  };
  // A static row count decides at compile time.
  if (llvm::all_of(xType.getShape().drop_back(),
                   [](int64_t d) { return !ShapedType::isDynamic(d); })) {
    int64_t rows = 1;
    for (int64_t d : xType.getShape().drop_back())
      rows *= d;
    std::string how = "M = " + std::to_string(rows);
    if (rows >= minM) {
      setNote(w, bigNote(how));
      return rewriteToW4A8(w, rewriter);
    }
    setNote(w, smallNote(how));
    return lowerW4A16OrFallBack(w, rewriter);
  }
  // A dynamic one: both lowerings, behind a branch on the rows at run time.
  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(w);
  Location loc = w.getLoc();
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i + 1 < xType.getRank(); ++i)
    rows = arith::MulIOp::create(
        b, loc, rows, tensor::DimOp::create(b, loc, w.getInput(), i));
  Value big =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, rows,
                            arith::ConstantIndexOp::create(b, loc, minM));
  Type rType = w.getResult().getType();
  auto branch = scf::IfOp::create(b, loc, TypeRange{rType}, big,
                                  /*withElseRegion=*/true);
  auto cloneInto = [&](Block &block, const std::string &note) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToEnd(&block);
    auto copy = cast<WeightOnlyMatMulOp>(rewriter.clone(*w));
    copy->setAttr("qnn.choice_note", rewriter.getStringAttr(note));
    scf::YieldOp::create(rewriter, loc, copy.getResult());
    return copy;
  };
  WeightOnlyMatMulOp large =
      cloneInto(branch.getThenRegion().front(), bigNote("run-time branch"));
  WeightOnlyMatMulOp small =
      cloneInto(branch.getElseRegion().front(), smallNote("run-time branch"));

  rewriter.replaceOp(w, branch.getResult(0));
  if (failed(rewriteToW4A8(large, rewriter)))
    return failure();
  return lowerW4A16OrFallBack(small, rewriter);
}

} // namespace

void qgpu::populateW4A16Patterns(RewritePatternSet &patterns,
                                 GPULoweringState &state) {
  patterns.add<LowerWeightOnlyMatMul>(patterns.getContext(), state);
}
