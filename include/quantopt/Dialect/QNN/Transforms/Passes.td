//===- Passes.td - QNN transformation passes ---------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD
#define QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def QNNInferShapesPass : Pass<"qnn-infer-shapes", "::mlir::ModuleOp"> {
  let summary = "Refine result shapes from operands and constant shape values";
  let description = [{
    Re-runs result type inference of every `qnn` op in program order and
    replaces each result type by the more static of its current and inferred
    types (unranked becomes ranked, `?` becomes a size), then updates the
    function's result types. Run after canonicalization has folded shape
    arithmetic (`qnn.shape`, `gather`, `concat` on constants) so that
    `reshape`/`expand`/`slice` targets become constants.

    Uses outside the `qnn` dialect (calls, other dialects' ops) keep the
    type they had through a `tensor.cast`, and a function that is called
    somewhere keeps its signature (its returned values are cast back), so
    the IR stays valid.

    A conflict between a declared and an inferred type is an error naming
    the op and both types.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numRefined", "num-refined", "Number of result types refined">
  ];
}

def QNNDecomposeGemmPass : Pass<"qnn-decompose-gemm", "::mlir::func::FuncOp"> {
  let summary = "Rewrite qnn.gemm into transpose, matmul, mul and add";
  let description = [{
    `alpha * A' * B' + beta * C` becomes `qnn.transpose` (when `trans_a` /
    `trans_b`), `qnn.matmul`, `qnn.mul` by a scalar constant (when alpha or
    beta differs from 1) and `qnn.add`, so that every later pass sees one
    spelling of a linear layer.
  }];
  let statistics = [
    Statistic<"numDecomposed", "num-decomposed", "Number of gemm ops rewritten">
  ];
}

#endif // QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD
