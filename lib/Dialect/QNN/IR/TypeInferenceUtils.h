//===- TypeInferenceUtils.h - Shared type inference of qnn ops --*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The helpers and the op-definition macros that the files implementing qnn
// ops (QNNTypeInference.cpp, QNNMathOps.cpp, QNNIndexOps.cpp,
// QNNReductionOps.cpp, ...) share: operand type queries, NumPy broadcasting,
// the result type of a reduction and the "operands share one element type"
// check. Private to lib/Dialect/QNN/IR.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_DIALECT_QNN_IR_TYPEINFERENCEUTILS_H
#define QUANTOPT_LIB_DIALECT_QNN_IR_TYPEINFERENCEUTILS_H

#include "quantopt/Dialect/QNN/IR/QNNOps.h"

namespace quantopt::qnn::detail {

inline mlir::Type elementTypeOf(mlir::Value v) {
  return mlir::cast<mlir::ShapedType>(v.getType()).getElementType();
}

/// The type of `v` if it is a ranked tensor, else null.
inline mlir::RankedTensorType rankedOf(mlir::Value v) {
  return mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
}

/// The shape of `v`; std::nullopt if it is unranked.
inline std::optional<llvm::ArrayRef<int64_t>> shapeOf(mlir::Value v) {
  auto type = mlir::cast<mlir::ShapedType>(v.getType());
  if (!type.hasRank())
    return std::nullopt;
  return type.getShape();
}

/// NumPy broadcasting of any number of operands into a tensor of
/// `elementType`; unranked if any operand is unranked.
mlir::LogicalResult inferBroadcast(std::optional<mlir::Location> loc,
                                   mlir::ValueRange operands,
                                   mlir::Type elementType,
                                   llvm::SmallVectorImpl<mlir::Type> &inferred);

/// The result type of reducing `input` over `axes` (all when empty, none
/// when empty and `noop`), keeping reduced dims as 1 with `keepdims`.
mlir::LogicalResult inferReduced(std::optional<mlir::Location> loc,
                                 mlir::Value input,
                                 llvm::ArrayRef<int64_t> axes, bool keepdims,
                                 bool noop, mlir::Type elementType,
                                 llvm::SmallVectorImpl<mlir::Type> &inferred);

/// Fails with an error on `op` unless `lhs` and `rhs` share one element type.
mlir::LogicalResult verifySameElementTypes(mlir::Operation *op, mlir::Value lhs,
                                           mlir::Value rhs);

} // namespace quantopt::qnn::detail

/// Defines OP::isCompatibleReturnTypes as the plain rule of qnn ops: same
/// element types, compatible shapes.
#define QNN_COMPATIBLE_RETURN_TYPES(OP)                                        \
  bool OP::isCompatibleReturnTypes(mlir::TypeRange l, mlir::TypeRange r) {     \
    return ::quantopt::qnn::areCompatibleTensorTypes(l, r);                    \
  }

/// Defines OP::inferReturnTypes as the type of its operand OPERAND (the
/// name of its accessor without `get`).
#define QNN_INFER_TYPE_OF_OPERAND(OP, OPERAND)                                 \
  mlir::LogicalResult OP::inferReturnTypes(                                    \
      mlir::MLIRContext *, std::optional<mlir::Location>, OP::Adaptor adaptor, \
      llvm::SmallVectorImpl<mlir::Type> &inferred) {                           \
    inferred.push_back(adaptor.get##OPERAND().getType());                      \
    return mlir::success();                                                    \
  }

/// An elementwise op whose result has the type of its `input`.
#define QNN_SAME_TYPE_AS_INPUT(OP)                                             \
  QNN_INFER_TYPE_OF_OPERAND(OP, Input)                                         \
  QNN_COMPATIBLE_RETURN_TYPES(OP)

/// An op whose result is its operands broadcast as NumPy does, with the
/// element type of its `lhs`.
#define QNN_BROADCAST_BINARY(OP)                                               \
  QNN_BROADCAST_RESULT(                                                        \
      OP, ::quantopt::qnn::detail::elementTypeOf(adaptor.getLhs()))

/// An op whose result is its operands broadcast as NumPy does, with the
/// element type ELEMENT (an expression that may use `ctx` and `adaptor`).
#define QNN_BROADCAST_RESULT(OP, ELEMENT)                                      \
  mlir::LogicalResult OP::inferReturnTypes(                                    \
      [[maybe_unused]] mlir::MLIRContext *ctx,                                 \
      std::optional<mlir::Location> loc, OP::Adaptor adaptor,                  \
      llvm::SmallVectorImpl<mlir::Type> &inferred) {                           \
    return ::quantopt::qnn::detail::inferBroadcast(loc, adaptor.getOperands(), \
                                                   ELEMENT, inferred);         \
  }                                                                            \
  QNN_COMPATIBLE_RETURN_TYPES(OP)

/// A reduction (axes, keepdims, noop_with_empty_axes) whose result keeps
/// its input's element type.
#define QNN_REDUCTION_RESULT(OP)                                               \
  mlir::LogicalResult OP::inferReturnTypes(                                    \
      mlir::MLIRContext *, std::optional<mlir::Location> loc,                  \
      OP::Adaptor adaptor, llvm::SmallVectorImpl<mlir::Type> &inferred) {      \
    return ::quantopt::qnn::detail::inferReduced(                              \
        loc, adaptor.getInput(), adaptor.getAxes(), adaptor.getKeepdims(),     \
        adaptor.getNoopWithEmptyAxes(),                                        \
        ::quantopt::qnn::detail::elementTypeOf(adaptor.getInput()), inferred); \
  }                                                                            \
  QNN_COMPATIBLE_RETURN_TYPES(OP)

#endif // QUANTOPT_LIB_DIALECT_QNN_IR_TYPEINFERENCEUTILS_H
