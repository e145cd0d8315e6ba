//===- OpImporterUtils.h - Helpers of the per-op ONNX importers -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// What the op importers (ONNXOpImporters.cpp, ONNXMathImporters.cpp,
// ONNXIndexImporters.cpp) build their qnn ops with: the REQUIRE macro, the
// generic `build`, importer factories for ops that map one to one, and the
// readers of attributes that every family uses. Private to lib/Import/ONNX.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_IMPORT_ONNX_OPIMPORTERUTILS_H
#define QUANTOPT_LIB_IMPORT_ONNX_OPIMPORTERUTILS_H

#include "ImporterImpl.h"

namespace quantopt::onnx_import {

/// What an op importer returns: the node's results, or failure after an
/// error was emitted.
using Results = mlir::FailureOr<llvm::SmallVector<mlir::Value>>;

/// Declares `var` as the value of `expr` (a FailureOr), or returns failure
/// from the enclosing importer; `expr` has already emitted the error.
#define REQUIRE(var, expr)                                                     \
  auto var##OrFailure = (expr);                                                \
  if (::mlir::failed(var##OrFailure))                                          \
    return ::mlir::failure();                                                  \
  auto var = *var##OrFailure;

/// Creates an `OpT` with `numResults` placeholder results and infers their
/// types (NodeContext::finish).
template <typename OpT, typename... Args>
Results build(NodeContext &c, unsigned numResults, Args &&...args) {
  llvm::SmallVector<mlir::Type> types(numResults, c.placeholder());
  auto op = OpT::create(c.builder, c.loc, mlir::TypeRange(types),
                        std::forward<Args>(args)...);
  return c.finish(op);
}

/// An ONNX op with one input X that is `OpT` of it.
template <typename OpT> NodeImporterFn unary() {
  return [](NodeContext &c) -> Results {
    REQUIRE(x, c.required(0, "X"));
    return build<OpT>(c, 1, x);
  };
}

/// An ONNX op with inputs A and B that is `OpT` of them.
template <typename OpT> NodeImporterFn binary() {
  return [](NodeContext &c) -> Results {
    REQUIRE(a, c.required(0, "A"));
    REQUIRE(b, c.required(1, "B"));
    return build<OpT>(c, 1, a, b);
  };
}

/// The 1..N inputs of a variadic ONNX op (Min, Max, Sum) folded pairwise,
/// left to right, with the broadcasting binary `OpT`.
template <typename OpT> Results variadic(NodeContext &c) {
  REQUIRE(acc, c.required(0, "data_0"));
  for (unsigned i = 1; i < c.inputs.size(); ++i) {
    REQUIRE(next, c.required(i, "data_i"));
    REQUIRE(r, build<OpT>(c, 1, acc, next));
    acc = r[0];
  }
  return llvm::SmallVector<mlir::Value>{acc};
}

/// The integer attribute `name` (default `def`) as a bool attribute.
inline mlir::BoolAttr flag(NodeContext &c, llvm::StringRef name, int64_t def) {
  return c.builder.getBoolAttr(c.attrInt(name, def) != 0);
}

inline mlir::IntegerAttr i64Attr(NodeContext &c, int64_t v) {
  return c.builder.getI64IntegerAttr(v);
}

/// The element type named by the data-type attribute `name` (Cast's `to`,
/// EyeLike's `dtype`), or an error naming an unsupported type.
mlir::FailureOr<mlir::Type> dataTypeAttr(NodeContext &c, llvm::StringRef name);

/// Verifies an op built with its result type given (not through `build`),
/// erasing it if it is invalid.
Results verified(mlir::Operation *op);

/// An ONNX Reduce* op: axes from the `axes` input from opset
/// `axesInputSince` on (they must be constants), from the attribute before.
template <typename OpT> NodeImporterFn reduction(int64_t axesInputSince) {
  return [axesInputSince](NodeContext &c) -> Results {
    REQUIRE(x, c.required(0, "data"));
    llvm::SmallVector<int64_t> axes;
    if (c.opset >= axesInputSince) {
      if (c.input(1)) {
        REQUIRE(a, c.constInts(1, "axes"));
        axes = a;
      }
    } else if (auto a = c.attrInts("axes")) {
      axes = *a;
    }
    return build<OpT>(c, 1, x, c.builder.getDenseI64ArrayAttr(axes),
                      flag(c, "keepdims", 1),
                      flag(c, "noop_with_empty_axes", 0));
  };
}

} // namespace quantopt::onnx_import

#endif // QUANTOPT_LIB_IMPORT_ONNX_OPIMPORTERUTILS_H
