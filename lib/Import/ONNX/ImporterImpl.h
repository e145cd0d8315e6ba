//===- ImporterImpl.h - Internals shared by the ONNX importer -----*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_IMPORT_ONNX_IMPORTERIMPL_H
#define QUANTOPT_LIB_IMPORT_ONNX_IMPORTERIMPL_H

#include "quantopt/Dialect/QNN/IR/QNNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx.pb.h"

#include <functional>

namespace quantopt::onnx_import {

/// What a per-op importer sees of one ONNX node.
class NodeContext {
public:
  using TensorConverter = std::function<mlir::FailureOr<mlir::ElementsAttr>(
      const onnx::TensorProto &, llvm::StringRef)>;

  NodeContext(const onnx::NodeProto &node, mlir::Location loc,
              mlir::OpBuilder &builder, llvm::ArrayRef<mlir::Value> inputs,
              int64_t opset, TensorConverter convertTensor)
      : node(node), loc(loc), builder(builder), inputs(inputs), opset(opset),
        convertTensor(std::move(convertTensor)) {}

  const onnx::NodeProto &node;
  mlir::Location loc;
  mlir::OpBuilder &builder;
  /// One entry per ONNX input; null for an omitted optional input.
  llvm::ArrayRef<mlir::Value> inputs;
  /// Opset version of the node's domain.
  int64_t opset;
  /// Converts a TensorProto (Constant's value) like an initializer.
  TensorConverter convertTensor;

  mlir::Value input(unsigned i) const {
    return i < inputs.size() ? inputs[i] : mlir::Value();
  }
  unsigned numOutputs() const { return node.output_size(); }

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t defaultValue) const;
  float attrFloat(llvm::StringRef name, float defaultValue) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef def) const;
  std::optional<llvm::SmallVector<int64_t>>
  attrInts(llvm::StringRef name) const;

  /// Error about this node; the location names the node.
  mlir::InFlightDiagnostic error() const;

  /// Requires input `i` to be present.
  mlir::FailureOr<mlir::Value> required(unsigned i, llvm::StringRef what) const;
  /// Integer values of a constant input, or an error saying it must be one.
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  constInts(unsigned i, llvm::StringRef what) const;

  /// Requires input `i` to be present and ranked.
  mlir::FailureOr<mlir::Value> ranked(unsigned i, llvm::StringRef what) const;
  /// Requires input `i` to be a 1-D integer tensor (a shape or index list).
  mlir::FailureOr<mlir::Value> indexList(unsigned i, llvm::StringRef what,
                                         bool requireI64) const;

  /// Placeholder type for results whose type inference runs after creation.
  mlir::Type placeholder() const {
    return mlir::UnrankedTensorType::get(builder.getF32Type());
  }
  /// Runs type inference on a freshly created op, replacing placeholder
  /// result types; erases the op and fails if inference rejects it.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  finish(mlir::Operation *op) const;
};

using NodeImporterFn =
    std::function<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(
        NodeContext &)>;

struct NodeImporter {
  NodeImporterFn fn;
  /// Lowest opset of the op's domain whose semantics `fn` implements.
  int64_t minOpset;
};

/// The op table: "<domain>::<op_type>" (domain "" is ai.onnx) to importer.
const llvm::StringMap<NodeImporter> &getNodeImporters();
/// Adds the elementwise math, logic and activation importers (issue 16).
void registerMathImporters(llvm::StringMap<NodeImporter> &table);
/// Adds the shape, index and reduction ops (ONNXIndexImporters.cpp).
void registerIndexImporters(llvm::StringMap<NodeImporter> &table);
/// Adds the com.microsoft LLM ops (ONNXMicrosoftImporters.cpp).
void registerMicrosoftImporters(llvm::StringMap<NodeImporter> &table);

/// Checks `node` (the `index`th of its graph) against the ONNX schema of its
/// op in force at `opset` of its domain ("" is ai.onnx): input and output
/// counts, required attributes and attribute types. Emits one error per
/// problem at `loc`; unknown attributes of contrib domains only warn.
mlir::LogicalResult checkNodeSchema(const onnx::NodeProto &node, int64_t index,
                                    llvm::StringRef domain, int64_t opset,
                                    mlir::Location loc);

/// Maps an ONNX TensorProto.DataType to an MLIR element type; null if the
/// type is unsupported (string, complex, ...).
mlir::Type convertElementType(int32_t dataType, mlir::MLIRContext *context);
/// Name of an ONNX data type for messages.
llvm::StringRef dataTypeName(int32_t dataType);

} // namespace quantopt::onnx_import

#endif // QUANTOPT_LIB_IMPORT_ONNX_IMPORTERIMPL_H
