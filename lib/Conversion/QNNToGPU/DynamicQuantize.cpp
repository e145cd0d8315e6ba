//===- DynamicQuantize.cpp - Dynamic quantization to its fused kernels ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qnn.dynamic_quantize becomes launches of the fused range + quantization
// kernels (DynQuantKernel.mlir): one block per row per token; block
// partials, then the quantization, per tensor. uint8, or float8 e4m3 on
// sm_89+.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

namespace {

/// (qnn-select-gpu-kernels chooses the kernel for uint8 on every chip and
/// for e4m3 where the conversion instruction exists, sm_89+; the others
/// are left to the generic lowering, which converts in software.)
struct LowerDynamicQuantize : GPUKernelPattern<DynamicQuantizeOp> {
  using GPUKernelPattern::GPUKernelPattern;

  LogicalResult lowerChoice(DynamicQuantizeOp d, StringRef, StringRef,
                            PatternRewriter &rewriter) const override;
};

LogicalResult
LowerDynamicQuantize::lowerChoice(DynamicQuantizeOp d, StringRef, StringRef,
                                  PatternRewriter &rewriter) const {
  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(d);
  Location loc = d.getLoc();
  Value x = d.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t rank = xType.getRank();
  bool perToken = d.getPerToken();
  StringRef suffix = d.getE4m3() ? "_e4m3" : "";
  StringRef what = d.getE4m3() ? "float8 e4m3" : "uint8";
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto toI32 = [&](Value v) {
    return (Value)arith::IndexCastOp::create(b, loc, b.getI32Type(), v);
  };
  // Rows (every dimension but the last) and columns; per tensor, n = all.
  SmallVector<Value> dims;
  for (int64_t i = 0; i < rank; ++i)
    dims.push_back(tensor::DimOp::create(b, loc, x, i));
  Value rows = idx(1);
  for (int64_t i = 0; i + 1 < rank; ++i)
    rows = arith::MulIOp::create(b, loc, rows, dims[i]);
  Value cols = rank ? dims.back() : idx(1);

  // Outputs: q like x; the scale and zero point [..., 1] per token, 0-d per
  // tensor (the op's result shapes).
  auto alloc = [&](RankedTensorType t, Type elt) {
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (t.isDynamicDim(i))
        dyn.push_back(dims[i]);
    return (Value)memref::AllocOp::create(b, loc,
                                          MemRefType::get(t.getShape(), elt),
                                          dyn, b.getI64IntegerAttr(64));
  };
  Type i8 = b.getI8Type(), f32 = b.getF32Type();
  auto qType = cast<RankedTensorType>(d.getOutput().getType());
  auto sType = cast<RankedTensorType>(d.getScale().getType());
  auto zType = cast<RankedTensorType>(d.getZeroPoint().getType());
  Value qBuf = alloc(qType, i8), sBuf = alloc(sType, f32),
        zBuf = alloc(zType, i8);
  auto address = [&](Value memref) { return bufferAddress(b, loc, memref); };
  Value xAddr = addressOf(b, loc, x);
  constexpr int64_t kMaxPartials = 1024;
  if (perToken) {
    // One block per row; at least one block (an empty grid is an error).
    Value grid = arith::MaxUIOp::create(b, loc, rows, idx(1));
    emitLaunch(b, loc, d, ("qgpu_dynq_rows" + suffix).str(), {grid}, 256, 64,
               {xAddr, address(qBuf), address(sBuf), address(zBuf), toI32(rows),
                toI32(cols)},
               "dynamic_quantize",
               ("per-token " + what +
                " range and quantization fused, one 256-thread block per row")
                   .str());
  } else {
    Value n = arith::MulIOp::create(b, loc, rows, cols);
    Value n64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
    // Partials: one block per 256 elements up to 1024 blocks; the quantize
    // step: up to 4 elements per thread at first, then grid-stride.
    Value parts = arith::CeilDivUIOp::create(b, loc, n, idx(256));
    parts = arith::MinUIOp::create(b, loc, parts, idx(kMaxPartials));
    parts = arith::MaxUIOp::create(b, loc, parts, idx(1));
    Value qBlocks = arith::CeilDivUIOp::create(b, loc, n, idx(1024));
    qBlocks = arith::MinUIOp::create(b, loc, qBlocks, idx(65535));
    qBlocks = arith::MaxUIOp::create(b, loc, qBlocks, idx(1));
    Value partBuf = memref::AllocOp::create(
        b, loc, MemRefType::get({2 * kMaxPartials}, f32), ValueRange{},
        b.getI64IntegerAttr(64));
    emitLaunch(b, loc, d, "qgpu_dynq_partials", {parts}, 256, 64,
               {xAddr, address(partBuf), n64}, "dynamic_quantize",
               "per-tensor range: block partials (step 1 of 2)");
    emitLaunch(b, loc, d, ("qgpu_dynq_tensor" + suffix).str(), {qBlocks}, 256,
               64,
               {xAddr, address(partBuf), address(qBuf), address(sBuf),
                address(zBuf), n64, toI32(parts)},
               "dynamic_quantize",
               ("per-tensor " + what +
                " quantization, the partials folded in every block (step 2 of "
                "2)")
                   .str());
  }
  rewriter.replaceOp(d, ValueRange{resultTensor(b, loc, qBuf, qType),
                                   resultTensor(b, loc, sBuf, sType),
                                   resultTensor(b, loc, zBuf, zType)});
  state.dynqSuffixes.insert(suffix);
  ++state.numDynamicQuantize;
  return success();
}

} // namespace

void qgpu::populateDynamicQuantizePatterns(RewritePatternSet &patterns,
                                           GPULoweringState &state) {
  patterns.add<LowerDynamicQuantize>(patterns.getContext(), state);
}
