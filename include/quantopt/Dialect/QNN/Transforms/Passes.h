//===- Passes.h - QNN transformation passes -----------------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_H
#define QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_H

#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Transforms/QuantScheme.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace quantopt::qnn {

#define GEN_PASS_DECL
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"

/// Patterns forming qnn.weight_only_matmul from matmul(x, dequantize(w)).
void populateFuseWeightOnlyMatMulPatterns(mlir::RewritePatternSet &patterns);
/// Patterns forming qnn.quantized_matmul (W8A8) from Q/DQ around matmuls.
void populateFuseIntegerMatMulPatterns(mlir::RewritePatternSet &patterns);
/// Patterns moving DQ forward / Q backward through layout ops and folding
/// Q/DQ chains.
void populatePropagateQDQPatterns(mlir::RewritePatternSet &patterns);

/// Patterns rewriting qnn.gemm into transpose/matmul/mul/add.
void populateDecomposeGemmPatterns(mlir::RewritePatternSet &patterns);

/// Refines the result types of every op in `func` from type inference. Uses
/// outside the qnn dialect keep their old type through tensor.cast. When
/// `updateSignature` is set the function's result types follow the refined
/// return operands; otherwise they are cast back. Returns failure (after
/// emitting an error) when a declared type conflicts with the inferred one.
mlir::LogicalResult inferShapes(mlir::func::FuncOp func, bool updateSignature,
                                int64_t *numRefined = nullptr);

#define GEN_PASS_REGISTRATION
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"

} // namespace quantopt::qnn

#endif // QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_H
