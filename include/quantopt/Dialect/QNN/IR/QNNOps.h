//===- QNNOps.h - QNN graph dialect operations --------------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNOPS_H
#define QUANTOPT_DIALECT_QNN_IR_QNNOPS_H

#include "quantopt/Dialect/QNN/IR/QNNDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "quantopt/Dialect/QNN/IR/QNNOps.h.inc"

namespace quantopt::qnn {

/// Returns true when `elementType` is a storage type the quantization ops
/// accept in their explicit-parameter form (i8, ui8, i16, ui16, i4, ui4,
/// f8E4M3FN, f8E5M2).
bool isQuantStorageType(mlir::Type elementType);

/// Returns true when every pair of types are tensors with the same element
/// type and compatible shapes. Used by every op with inferred result types, so
/// that a result may be more static than inference alone can prove.
bool areCompatibleTensorTypes(mlir::TypeRange lhs, mlir::TypeRange rhs);

/// Normalizes an ONNX axis (negative counts from the back) into [0, rank).
/// Returns std::nullopt when out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Returns the values of `value` when it is produced by a constant integer
/// tensor (any integer width), sign-extended to i64.
std::optional<llvm::SmallVector<int64_t>>
getConstantIntValues(mlir::Value value);

/// Returns the more static of two compatible types (the "meet" of the shape
/// lattice), or nullptr when they are incompatible.
mlir::Type refineTensorType(mlir::Type current, mlir::Type inferred);

/// Looks through a 2-D `qnn.transpose {perm = [1, 0]}` (how gemm with
/// trans_b reaches a matmul weight); sets `transposed` when it did.
mlir::Value stripMatrixTranspose(mlir::Value value, bool &transposed);

} // namespace quantopt::qnn

#endif // QUANTOPT_DIALECT_QNN_IR_QNNOPS_H
