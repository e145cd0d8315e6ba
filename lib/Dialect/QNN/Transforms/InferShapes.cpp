//===- InferShapes.cpp - Refine result types of QNN ops -------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
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

/// Gives uses that are not qnn ops (nor the return, handled separately) the
/// type they had before refinement.
static void castBackForeignUses(OpBuilder &builder, Value value, Type oldType) {
  SmallVector<OpOperand *> foreign;
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (!isa<QNNDialect>(user->getDialect()) && !isa<func::ReturnOp>(user))
      foreign.push_back(&use);
  }
  if (foreign.empty())
    return;
  builder.setInsertionPointAfterValue(value);
  Value cast = tensor::CastOp::create(builder, value.getLoc(), oldType, value);
  for (OpOperand *use : foreign)
    use->set(cast);
}

LogicalResult qnn::inferShapes(func::FuncOp func, bool updateSignature,
                               int64_t *numRefined) {
  OpBuilder builder(func.getContext());
  WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
    if (!isa<QNNDialect>(op->getDialect()))
      return WalkResult::advance();
    SmallVector<Type> types;
    if (failed(inferredTypes(op, types)))
      return isa<InferTypeOpInterface>(op) || keepsInputShape(op)
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    for (auto [result, inferred] : llvm::zip(op->getResults(), types)) {
      Type oldType = result.getType();
      Type refined = refineTensorType(oldType, inferred);
      if (!refined) {
        op->emitOpError("result type ")
            << oldType << " conflicts with the inferred type " << inferred
            << "; fix the declared shape in the model";
        return WalkResult::interrupt();
      }
      if (refined == oldType)
        continue;
      result.setType(refined);
      castBackForeignUses(builder, result, oldType);
      if (numRefined)
        ++*numRefined;
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  func.walk([&](func::ReturnOp ret) {
    FunctionType type = func.getFunctionType();
    if (updateSignature) {
      func.setType(FunctionType::get(func.getContext(), type.getInputs(),
                                     ret.getOperandTypes()));
      return;
    }
    builder.setInsertionPoint(ret);
    for (auto [operand, expected] :
         llvm::zip(ret->getOpOperands(), type.getResults()))
      if (operand.get().getType() != expected)
        operand.set(tensor::CastOp::create(builder, ret.getLoc(), expected,
                                           operand.get()));
  });
  return success();
}

namespace {
struct QNNInferShapesPass
    : public qnn::impl::QNNInferShapesPassBase<QNNInferShapesPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t refined = 0;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Callers would see a different signature: keep it for called
      // functions and refine it only for entry points.
      bool called = !SymbolTable::symbolKnownUseEmpty(func, module);
      if (failed(inferShapes(func, /*updateSignature=*/!called, &refined)))
        return signalPassFailure();
    }
    numRefined += refined;
  }
};
} // namespace
