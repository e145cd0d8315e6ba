//===- ApproximateMath.cpp - The qnn-approximate-math pass ----------------===//
//
// Part of the QuantOpt project.
//
// erf, tanh and exp as MLIR's polynomial approximations, so that loops of
// GELU, softmax and sigmoid vectorize instead of calling libm per element.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNAPPROXIMATEMATHPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;

namespace {

struct QNNApproximateMathPass
    : quantopt::impl::QNNApproximateMathPassBase<QNNApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "erf" || name == "tanh" || name == "exp" ||
             name == "math.erf" || name == "math.tanh" || name == "math.exp";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
