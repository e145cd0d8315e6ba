//===- QNNReductionOps.cpp - Reductions, arg reductions, log_softmax ------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Type inference and verifiers of the reductions of QNNIndexOps.td (min,
// prod, L1, L2, log-sum, log-sum-exp, sum of squares), argmax/argmin, and
// the axis-wise log_softmax and hardmax.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/IR/QNNOps.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

/// The result type of reducing `input` over `axes` (all when empty, unless
/// `noop`), keeping reduced dims as 1 with `keepdims`.
static LogicalResult inferReduced(std::optional<Location> loc, Value input,
                                  ArrayRef<int64_t> axes, bool keepdims,
                                  bool noop, Type elementType,
                                  SmallVectorImpl<Type> &inferred) {
  auto type = dyn_cast<RankedTensorType>(input.getType());
  if (axes.empty() && noop) {
    inferred.push_back(input.getType());
    return success();
  }
  if (!type) {
    inferred.push_back(UnrankedTensorType::get(elementType));
    return success();
  }
  int64_t rank = type.getRank();
  llvm::SmallBitVector reduced(rank, axes.empty());
  for (int64_t a : axes) {
    std::optional<int64_t> axis = normalizeAxis(a, rank);
    if (!axis)
      return emitOptionalError(loc, "reduction axis ", a,
                               " is out of range for ", type);
    reduced.set(*axis);
  }
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced.test(i))
      dims.push_back(type.getDimSize(i));
    else if (keepdims)
      dims.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(dims, elementType));
  return success();
}

static LogicalResult verifyAxes(Operation *op, Value input,
                                ArrayRef<int64_t> axes) {
  auto type = dyn_cast<RankedTensorType>(input.getType());
  if (!type)
    return success();
  int64_t rank = type.getRank();
  llvm::SmallBitVector seen(rank);
  for (int64_t a : axes) {
    std::optional<int64_t> axis = normalizeAxis(a, rank);
    if (!axis)
      return op->emitOpError("axis ")
             << a << " is out of range for rank " << rank;
    if (seen.test(*axis))
      return op->emitOpError("axis ") << a << " is repeated in axes";
    seen.set(*axis);
  }
  return success();
}

#define QNN_MORE_REDUCE(OP)                                                    \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferReduced(loc, adaptor.getInput(), adaptor.getAxes(),            \
                        adaptor.getKeepdims(), adaptor.getNoopWithEmptyAxes(), \
                        getElementTypeOrSelf(adaptor.getInput().getType()),    \
                        inferred);                                             \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    return verifyAxes(getOperation(), getInput(), getAxes());                  \
  }
QNN_MORE_REDUCE(ReduceMinOp)
QNN_MORE_REDUCE(ReduceProdOp)
QNN_MORE_REDUCE(ReduceL1Op)
QNN_MORE_REDUCE(ReduceL2Op)
QNN_MORE_REDUCE(ReduceLogSumOp)
QNN_MORE_REDUCE(ReduceLogSumExpOp)
QNN_MORE_REDUCE(ReduceSumSquareOp)
#undef QNN_MORE_REDUCE

#define QNN_ARG(OP)                                                            \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,          \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferReduced(loc, adaptor.getInput(), {adaptor.getAxis()},          \
                        adaptor.getKeepdims(), false,                          \
                        IntegerType::get(ctx, 64), inferred);                  \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    return verifyAxes(getOperation(), getInput(), {getAxis()});                \
  }
QNN_ARG(ArgMaxOp)
QNN_ARG(ArgMinOp)
#undef QNN_ARG

#define QNN_AXISWISE(OP)                                                       \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    inferred.push_back(adaptor.getInput().getType());                          \
    return success();                                                          \
  }                                                                            \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleTensorTypes(l, r);                                     \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    if (!isa<FloatType>(getElementTypeOrSelf(getInput().getType())))           \
      return emitOpError("needs a floating-point input, got ")                 \
             << getInput().getType();                                          \
    return verifyAxes(getOperation(), getInput(), {getAxis()});                \
  }
QNN_AXISWISE(LogSoftmaxOp)
QNN_AXISWISE(HardmaxOp)
#undef QNN_AXISWISE
