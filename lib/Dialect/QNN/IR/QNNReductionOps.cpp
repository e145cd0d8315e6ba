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

#include "TypeInferenceUtils.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;
using namespace quantopt::qnn::detail;

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
  QNN_REDUCTION_RESULT(OP)                                                     \
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
  QNN_COMPATIBLE_RETURN_TYPES(OP)                                              \
  LogicalResult OP::verify() {                                                 \
    return verifyAxes(getOperation(), getInput(), {getAxis()});                \
  }
QNN_ARG(ArgMaxOp)
QNN_ARG(ArgMinOp)
#undef QNN_ARG

#define QNN_AXISWISE(OP)                                                       \
  QNN_SAME_TYPE_AS_INPUT(OP)                                                   \
  LogicalResult OP::verify() {                                                 \
    if (!isa<FloatType>(elementTypeOf(getInput())))                            \
      return emitOpError("needs a floating-point input, got ")                 \
             << getInput().getType();                                          \
    return verifyAxes(getOperation(), getInput(), {getAxis()});                \
  }
QNN_AXISWISE(LogSoftmaxOp)
QNN_AXISWISE(HardmaxOp)
#undef QNN_AXISWISE
