//===- InferShapes.cpp - Refine result types of QNN ops -------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNINFERSHAPESPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

/// Ops with an explicit result element type whose shape is the input's.
static bool keepsInputShape(Operation *op) {
  return isa<CastOp, QuantizeOp, DequantizeOp>(op);
}

static LogicalResult inferredTypes(Operation *op,
                                   SmallVectorImpl<Type> &types) {
  if (keepsInputShape(op)) {
    auto in = cast<ShapedType>(op->getOperand(0).getType());
    Type elementType =
        cast<ShapedType>(op->getResult(0).getType()).getElementType();
    types.push_back(
        in.hasRank() ? Type(RankedTensorType::get(in.getShape(), elementType))
                     : Type(UnrankedTensorType::get(elementType)));
    return success();
  }
  auto iface = dyn_cast<InferTypeOpInterface>(op);
  if (!iface)
    return failure();
  return iface.inferReturnTypes(op->getContext(), op->getLoc(),
                                op->getOperands(), op->getRawDictionaryAttrs(),
                                op->getPropertiesStorage(), op->getRegions(),
                                types);
}

LogicalResult qnn::inferShapes(func::FuncOp func, int64_t *numRefined) {
  WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
    if (!isa<QNNDialect>(op->getDialect()))
      return WalkResult::advance();
    SmallVector<Type> types;
    if (failed(inferredTypes(op, types)))
      return isa<InferTypeOpInterface>(op) || keepsInputShape(op)
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    for (auto [result, inferred] : llvm::zip(op->getResults(), types)) {
      Type refined = refineTensorType(result.getType(), inferred);
      if (!refined) {
        op->emitOpError("result type ")
            << result.getType() << " conflicts with the inferred type "
            << inferred << "; fix the declared shape in the model";
        return WalkResult::interrupt();
      }
      if (refined != result.getType()) {
        result.setType(refined);
        if (numRefined)
          ++*numRefined;
      }
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  // Results of the function follow the refined return operands.
  Block &body = func.getBody().front();
  auto ret = dyn_cast<func::ReturnOp>(body.getTerminator());
  if (ret) {
    auto type = FunctionType::get(func.getContext(), body.getArgumentTypes(),
                                  ret.getOperandTypes());
    if (type != func.getFunctionType())
      func.setType(type);
  }
  return success();
}

namespace {
struct QNNInferShapesPass
    : public qnn::impl::QNNInferShapesPassBase<QNNInferShapesPass> {
  using Base::Base;
  void runOnOperation() override {
    int64_t refined = 0;
    if (failed(inferShapes(getOperation(), &refined)))
      return signalPassFailure();
    numRefined += refined;
  }
};
} // namespace
