//===- TypeInferenceUtils.cpp - Shared type inference of qnn ops ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The type queries of QNNOps.h (compatibility, axes, constants) and the
// inference helpers of TypeInferenceUtils.h.
//
//===----------------------------------------------------------------------===//

#include "TypeInferenceUtils.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

//===----------------------------------------------------------------------===//
// QNNOps.h
//===----------------------------------------------------------------------===//

bool qnn::areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip(lhs, rhs)) {
    auto lt = dyn_cast<TensorType>(l);
    auto rt = dyn_cast<TensorType>(r);
    if (!lt || !rt || lt.getElementType() != rt.getElementType() ||
        failed(verifyCompatibleShape(lt, rt)))
      return false;
  }
  return true;
}

std::optional<int64_t> qnn::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<SmallVector<int64_t>> qnn::getConstantIntValues(Value value) {
  DenseIntElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> result;
  for (const APInt &v : attr.getValues<APInt>())
    result.push_back(attr.getElementType().isUnsignedInteger()
                         ? static_cast<int64_t>(v.getZExtValue())
                         : v.getSExtValue());
  return result;
}

Type qnn::refineTensorType(Type current, Type inferred) {
  auto cur = dyn_cast<TensorType>(current);
  auto inf = dyn_cast<TensorType>(inferred);
  if (!cur || !inf || cur.getElementType() != inf.getElementType() ||
      failed(verifyCompatibleShape(cur, inf)))
    return nullptr;
  if (!cur.hasRank())
    return inf;
  if (!inf.hasRank())
    return cur;
  SmallVector<int64_t> dims;
  for (auto [c, i] : llvm::zip(cur.getShape(), inf.getShape()))
    dims.push_back(ShapedType::isDynamic(c) ? i : c);
  return RankedTensorType::get(dims, cur.getElementType());
}

//===----------------------------------------------------------------------===//
// TypeInferenceUtils.h
//===----------------------------------------------------------------------===//

LogicalResult qnn::detail::inferBroadcast(std::optional<Location> loc,
                                          ValueRange operands, Type elementType,
                                          SmallVectorImpl<Type> &inferred) {
  SmallVector<int64_t> result;
  for (Value v : operands) {
    std::optional<ArrayRef<int64_t>> shape = shapeOf(v);
    if (!shape) {
      inferred.push_back(UnrankedTensorType::get(elementType));
      return success();
    }
    SmallVector<int64_t> next;
    if (!OpTrait::util::getBroadcastedShape(result, *shape, next))
      return emitOptionalError(
          loc, "operand shapes are not broadcast-compatible: [",
          llvm::make_range(result.begin(), result.end()), "] and ", v.getType(),
          "; dimensions must be equal or 1");
    result = std::move(next);
  }
  inferred.push_back(RankedTensorType::get(result, elementType));
  return success();
}

LogicalResult qnn::detail::inferReduced(std::optional<Location> loc,
                                        Value input, ArrayRef<int64_t> axes,
                                        bool keepdims, bool noop,
                                        Type elementType,
                                        SmallVectorImpl<Type> &inferred) {
  if (axes.empty() && noop) {
    inferred.push_back(input.getType());
    return success();
  }
  auto type = rankedOf(input);
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

LogicalResult qnn::detail::verifySameElementTypes(Operation *op, Value lhs,
                                                  Value rhs) {
  Type l = elementTypeOf(lhs), r = elementTypeOf(rhs);
  if (l != r)
    return op->emitOpError("operands have different element types ")
           << l << " and " << r
           << "; insert a qnn.cast so that both operands share one element "
              "type";
  return success();
}
