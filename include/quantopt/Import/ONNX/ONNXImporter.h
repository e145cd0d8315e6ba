//===- ONNXImporter.h - ONNX model to QNN dialect -----------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Library API of the ONNX importer. `quant-translate --import-onnx` and
// `quant-compile` are thin wrappers around importONNXFile.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_IMPORT_ONNX_ONNXIMPORTER_H
#define QUANTOPT_IMPORT_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "quantopt/Support/FileSafety.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace quantopt {

struct ONNXImportOptions {
  /// Name of the function the graph becomes.
  std::string functionName = "main";
  /// Constants with at most this many elements become inline `dense`
  /// attributes (so shape arithmetic folds); larger ones `dense_resource`.
  int64_t inlineElementLimit = 64;
  /// When set, every external data file the model uses is added to it, so
  /// that a tool's outputs are checked against those files too.
  InputSet *inputFiles = nullptr;
};

/// Imports the ONNX model at `path` into a new module of `context`. External
/// data files are memory-mapped and must lie inside the model's directory.
/// Every problem is reported through the context's diagnostic engine (all
/// unsupported ops of the model in one error); returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp>
importONNXFile(llvm::StringRef path, mlir::MLIRContext *context,
               const ONNXImportOptions &options = {});

/// Prints diagnostics about models for people: `model.onnx: node 'fc1':
/// error: ...` (ONNX files have no line numbers, so locations are the file
/// and the node name).
class ModelDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  ModelDiagnosticHandler(mlir::MLIRContext *context, llvm::raw_ostream &os);
};

/// Registers the dialects the imported IR uses.
void registerONNXImportDialects(mlir::DialectRegistry &registry);

/// Highest ai.onnx opset whose semantics the importer knows; newer opsets
/// are accepted when they only add element types to the supported ops.
constexpr int64_t kMinONNXOpset = 13;
constexpr int64_t kMaxONNXOpset = 28;

} // namespace quantopt

#endif // QUANTOPT_IMPORT_ONNX_ONNXIMPORTER_H
