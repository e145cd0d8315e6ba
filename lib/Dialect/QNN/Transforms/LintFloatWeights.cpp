//===- LintFloatWeights.cpp - Report materialized float weights -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The point of weight quantization is that float weights never exist at run
// time. A dequantize of a constant that is not absorbed by a fused quantized
// op would materialize one; this pass says where and why.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNLINTFLOATWEIGHTSPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {
struct QNNLintFloatWeightsPass
    : public qnn::impl::QNNLintFloatWeightsPassBase<QNNLintFloatWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    int64_t findings = 0;
    getOperation().walk([&](DequantizeOp op) {
      if (!op.getInput().getDefiningOp<ConstantOp>())
        return;
      for (Operation *user : op->getUsers()) {
        InFlightDiagnostic diag = fail ? op.emitError() : op.emitWarning();
        diag << "float weight " << op.getType()
             << " is materialized from quantized data: its dequantize feeds '"
             << user->getName() << "', which is not a fused quantized op "
             << "(run qnn-fuse-quantized-matmul, or the layer's pattern is "
                "not supported)";
        diag.attachNote(user->getLoc()) << "consumed here";
        ++findings;
        break;
      }
    });
    numFindings += findings;
    if (findings == 0)
      emitRemark(getOperation().getLoc())
          << "no float weights materialized from quantized data in @"
          << getOperation().getSymName();
    if (fail && findings)
      signalPassFailure();
  }
};
} // namespace
