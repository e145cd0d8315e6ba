//===- NodeNames.h - ONNX node names and resource blobs ---------*- C++ -*-===//
//
// The one place that reads the ONNX node name the importer attaches to an
// op's location, and that names and creates the resource blobs (packed
// weights, biases) the lowerings emit. `--exclude-nodes`, the bundle
// manifest, kernel reports and blob names all agree because they all call
// getNodeName.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_UTILS_NODENAMES_H
#define QUANTOPT_DIALECT_QNN_UTILS_NODENAMES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"

#include <string>

namespace quantopt::qnn {

/// The ONNX node name in `loc`: the first NameLoc in a pre-order walk (so a
/// FusedLoc of fused nodes names its first node), or "" if it has none.
std::string getNodeName(mlir::Location loc);

/// "<node name>.<suffix>" for a resource blob created at `loc`, or
/// "packed.<suffix>" without a node name. The resource manager makes
/// repeated names unique.
std::string getBlobName(mlir::Location loc, llvm::StringRef suffix);

/// `bytes` as a 1-D i8 tensor `arith.constant` holding a 64-byte aligned
/// dense resource named `name` (externalized into the bundle's weights).
mlir::Value createBlobConstant(mlir::OpBuilder &b, mlir::Location loc,
                               llvm::StringRef name,
                               llvm::ArrayRef<char> bytes);

} // namespace quantopt::qnn

#endif // QUANTOPT_DIALECT_QNN_UTILS_NODENAMES_H
