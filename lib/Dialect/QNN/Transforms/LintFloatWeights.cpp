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

#include "mlir/IR/TypeUtilities.h"

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
    // A quantize of a constant that was never evaluated keeps the float
    // weight in the IR (fake quantization of a weight).
    getOperation().walk([&](QuantizeOp op) {
      auto constant = op.getInput().getDefiningOp<ConstantOp>();
      if (!constant ||
          !isa<FloatType>(getElementTypeOrSelf(constant.getType())))
        return;
      InFlightDiagnostic diag = fail ? op.emitError() : op.emitWarning();
      diag << "float weight " << constant.getType()
           << " is still in the IR: its quantize was not evaluated (run "
              "qnn-quantize-weights)";
      ++findings;
    });
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
    // A float constant weight that still feeds a matmul was not quantized
    // (excluded, or its pattern was not recognized).
    getOperation().walk([&](MatMulOp op) {
      bool transposed;
      auto constant = stripMatrixTranspose(op.getRhs(), transposed)
                          .getDefiningOp<ConstantOp>();
      if (!constant ||
          !isa<FloatType>(getElementTypeOrSelf(constant.getType())))
        return;
      InFlightDiagnostic diag = fail ? op.emitError() : op.emitWarning();
      diag << "float weight " << constant.getType()
           << " feeds this matmul: the layer is not quantized (excluded by "
              "the scheme's overrides, or not matched)";
      ++findings;
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
