//===- FuseQuantizedMatMul.cpp - Form quantized matmul ops ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Assembles the weight-only (FuseWeightOnlyMatMul.cpp) and W8A8
// (FuseIntegerMatMul.cpp) pattern sets.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNFUSEQUANTIZEDMATMULPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

struct QNNFuseQuantizedMatMulPass
    : public qnn::impl::QNNFuseQuantizedMatMulPassBase<
          QNNFuseQuantizedMatMulPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseWeightOnlyMatMulPatterns(patterns);
    populateFuseIntegerMatMulPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    getOperation().walk([&](Operation *op) {
      if (isa<WeightOnlyMatMulOp>(op))
        ++numWeightOnly;
      else if (isa<QuantizedMatMulOp>(op))
        ++numInteger;
    });
  }
};
} // namespace
