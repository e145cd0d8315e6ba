//===- EvaluateDequantize.cpp - Evaluate dequantize of constants ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/IR/Matchers.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNEVALUATEDEQUANTIZEPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {
struct QNNEvaluateDequantizePass
    : public qnn::impl::QNNEvaluateDequantizePassBase<
          QNNEvaluateDequantizePass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<DequantizeOp> ops;
    getOperation().walk([&](DequantizeOp op) { ops.push_back(op); });
    for (DequantizeOp op : ops) {
      DenseElementsAttr input, scale, zp;
      auto type = dyn_cast<RankedTensorType>(op.getType());
      if (!type || !type.hasStaticShape() ||
          !matchPattern(op.getInput(), m_Constant(&input)) || !op.getScale() ||
          !matchPattern(op.getScale(), m_Constant(&scale)) ||
          (op.getZeroPoint() &&
           !matchPattern(op.getZeroPoint(), m_Constant(&zp))))
        continue;
      FailureOr<DenseElementsAttr> value = foldDequantize(
          input, scale, zp, op.getAxis(), op.getBlockSize(), type);
      if (failed(value))
        continue;
      OpBuilder b(op);
      op.replaceAllUsesWith(
          ConstantOp::create(b, op.getLoc(), *value).getResult());
      op.erase();
    }
  }
};
} // namespace
