//===- MMA8.cpp - 8-bit quantized matmuls to the W8A8 kernels -------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qnn.quantized_matmul with a constant 8-bit (or int4) weight becomes a
// launch of the int8 tensor-core kernel (MMA8Kernel.mlir, mma.sync
// m16n8k32) or, with kernel=w8a8-wgmma, of its sm_90a warpgroup variant
// (MMA8WGKernel.mlir), the op's epilogue fused; the weight minus its zero
// point packed at compile time (WeightPacking.h).
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Conversion/QNNToGPU/WeightPacking.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

namespace {

struct LowerQuantizedMatMul : GPUKernelPattern<QuantizedMatMulOp> {
  using GPUKernelPattern::GPUKernelPattern;

  LogicalResult lowerChoice(QuantizedMatMulOp q, StringRef name, StringRef,
                            PatternRewriter &rewriter) const override {
    std::string why, kernel;
    LogicalResult lowered =
        lower(q, rewriter, why, kernel, name == "w8a8-wgmma");
    if (succeeded(lowered)) {
      state.mma8Kernels.insert(kernel);
      ++state.numMMA8;
      return success();
    }
    if (!why.empty() && state.forced8()) {
      StringRef spelled = stringifyGPUKernel(state.kernel);
      q.emitOpError("cannot take the ")
          << spelled << " kernel (forced by kernel=" << spelled << "): " << why
          << "; use --gpu-kernel=auto (kernel=auto) to let it fall back";
      return failure();
    }
    return state.loweredOrFallBack(rewriter, q, lowered, why);
  }

private:
  /// Rewrites an 8-bit `q` into a launch of the W8A8 kernel (`kernel` is
  /// set to its name); on an unsupported case returns failure with `why`
  /// set.
  LogicalResult lower(QuantizedMatMulOp q, PatternRewriter &rewriter,
                      std::string &why, std::string &kernel, bool wgmma) const;
};

LogicalResult LowerQuantizedMatMul::lower(QuantizedMatMulOp q,
                                          PatternRewriter &rewriter,
                                          std::string &why, std::string &kernel,
                                          bool wgmma) const {
  int64_t stages = state.stages;
  ElementsAttr wAttr = constantOf(q.getRhs());
  ElementsAttr zAttr = constantOf(q.getRhsZeroPoint());
  ElementsAttr bAttr = constantOf(q.getBias());
  if (!wAttr || (q.getRhsZeroPoint() && !zAttr) || (q.getBias() && !bAttr)) {
    why = "a right operand that is not a constant weight (activation x "
          "activation), or a non-constant weight zero point or bias";
    return failure();
  }
  auto wType = cast<ShapedType>(wAttr.getType());
  if (wType.getRank() != 2) {
    why = "a weight of rank " + std::to_string(wType.getRank());
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto lhsType = cast<RankedTensorType>(q.getLhs().getType());
  auto rType = cast<RankedTensorType>(q.getResult().getType());
  if (K % 16 != 0) {
    why = "K = " + std::to_string(K) +
          " is not a multiple of 16 (the kernel copies 16-byte rows)";
    return failure();
  }
  // The weight minus its zero point must be int8 (int8 with zero point 0,
  // uint8 with 128, any 4-bit weight).
  auto bytes = getWeightBytes(wAttr);
  std::optional<SmallVector<int64_t>> zps;
  if (zAttr)
    zps = getIntValues(zAttr);
  std::optional<SmallVector<int64_t>> biasValues;
  if (bAttr)
    biasValues = getIntValues(bAttr);
  if (!bytes || (zAttr && !zps) || (bAttr && !biasValues)) {
    q.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  bool wUnsigned = cast<IntegerType>(wType.getElementType()).isUnsigned();
  std::vector<int8_t> values(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int64_t v = (*bytes)[k * N + n];
      if (wUnsigned)
        v = static_cast<uint8_t>(v);
      int64_t z = zps ? (*zps)[zps->size() == 1 ? 0 : n] : 0;
      int64_t d = v - z;
      if (d < -128 || d > 127) {
        why = "a weight zero point that takes weight - zero point out of "
              "int8 (column " +
              std::to_string(n) + ")";
        return failure();
      }
      values[k * N + n] = static_cast<int8_t>(d);
    }
  SmallVector<int32_t> bias;
  if (biasValues)
    for (int64_t v : *biasValues)
      bias.push_back(static_cast<int32_t>(v));
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != N) {
    why = "a bias that is not per output channel";
    return failure();
  }
  PackedMMA8 packed = packMMA8(values, K, N, bias, wgmma);

  bool aUnsigned = cast<IntegerType>(lhsType.getElementType()).isUnsigned();
  kernel = std::string(wgmma ? "qgpu_w8a8_wg_" : "qgpu_w8a8_") +
           (aUnsigned ? "u8" : "s8");
  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(q);
  Location loc = q.getLoc();
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };
  // Per tensor when the parameter has one element, else one per row
  // (the lhs shape with a last dimension of 1) or per column ([N]).
  auto perElement = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return !(t.hasStaticShape() && t.getNumElements() == 1);
  };

  Value lhs = signless(b, loc, q.getLhs());
  SmallVector<Value> outDynDims;
  Value m = flattenRows(b, loc, lhs, rType, outDynDims);
  Value wBlob = blob(b, loc, q, "w8a8", packed.words);
  Value pBlob = blob(b, loc, q, "w8a8_columns", packed.columns);
  Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
  int64_t outType = 0;
  if (q.getOutputScale())
    outType =
        cast<IntegerType>(
            cast<ShapedType>(q.getOutputZeroPoint().getType()).getElementType())
                .isUnsigned()
            ? 2
            : 1;
  int64_t act = llvm::StringSwitch<int64_t>(q.getActivation())
                    .Case("relu", 1)
                    .Case("gelu", 2)
                    .Case("silu", 3)
                    .Default(0);

  Type outElt = rType.getElementType();
  if (auto it = dyn_cast<IntegerType>(outElt))
    outElt = b.getIntegerType(it.getWidth());
  auto [outBuf, outAddr] = outputBuffer(b, loc, rType, outElt, outDynDims);
  Value numKT = cI32(packed.Kpad / kMMA8BlockK);
  // Scales and zero points: run-time tensors by address; constants become
  // resource blobs like the weights (uploaded once, never stored from the
  // host).
  auto param = [&](Value v, StringRef suffix) {
    return paramAddress(b, loc, q, v, suffix);
  };
  SmallVector<Value> args{
      addressOf(b, loc, lhs),
      addressOf(b, loc, wBlob),
      addressOf(b, loc, pBlob),
      param(q.getLhsScale(), "lhs_scale"),
      param(q.getLhsZeroPoint(), "lhs_zero_point"),
      param(q.getRhsScale(), "rhs_scale"),
      outType ? param(q.getOutputScale(), "output_scale") : zero64,
      outType ? param(q.getOutputZeroPoint(), "output_zero_point") : zero64,
      outAddr,
      arith::IndexCastOp::create(b, loc, i32, m),
      cI32(N),
      cI32(K),
      cI32(packed.Npad),
      numKT,
      cI32(perElement(q.getLhsScale()) ? 1 : 0),
      cI32(perElement(q.getRhsScale()) ? 1 : 0),
      cI32(act),
      cI32(outType)};
  if (perElement(q.getLhsScale()) != perElement(q.getLhsZeroPoint())) {
    why = "an lhs scale and zero point of different granularity";
    return failure();
  }
  Value mTiles = arith::CeilDivUIOp::create(b, loc, m, idx(kMMA8BlockM));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, idx(1));
  int64_t smemBytes = std::max<int64_t>(stages * 16384, 128 * 136 * 4);
  std::string reason =
      std::string(aUnsigned ? "uint8" : "int8") +
      " activations x int8 weights on int8 tensor cores (" +
      (wgmma ? "sm_90a warpgroup MMA wgmma m64n128k32, forced by "
               "kernel=w8a8-wgmma, "
             : "mma.sync m16n8k32, ") +
      "128x128 tiles, " + std::to_string(stages) + "-stage cp.async), " +
      (perElement(q.getLhsScale()) ? "per-token" : "per-tensor") +
      " activation scale, epilogue: " + q.getActivation().str() +
      (outType ? ", requantized output" : ", f32 output");
  if (auto note = q->getAttrOfType<StringAttr>("qnn.choice_note"))
    reason = note.str() + "; " + reason;
  emitLaunch(b, loc, q, kernel, {idx(packed.Npad / kMMA8BlockN), mTiles}, 256,
             smemBytes, args, wgmma ? "w8a8-wgmma" : "w8a8", reason);
  rewriter.replaceOp(q, resultTensor(b, loc, outBuf, rType));
  return success();
}

} // namespace

void qgpu::populateMMA8Patterns(RewritePatternSet &patterns,
                                GPULoweringState &state) {
  patterns.add<LowerQuantizedMatMul>(patterns.getContext(), state);
}
