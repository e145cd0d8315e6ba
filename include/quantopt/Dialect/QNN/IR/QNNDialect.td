//===- QNNDialect.td - QNN graph dialect definition --------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_TD
#define QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_TD

include "mlir/IR/OpBase.td"

def QNN_Dialect : Dialect {
  let name = "qnn";
  let cppNamespace = "::quantopt::qnn";
  let summary = "Tensor-level graph dialect for quantized neural networks";
  let description = [{
    The `qnn` dialect is QuantOpt's graph-level IR. Its ops are normalized
    ONNX-like tensor ops (one spelling per operation) plus the quantization
    ops that give integer and low-bit formats exact ONNX semantics.

    Conventions shared by every op:

    * Values are tensors, ranked or unranked; a `?` dimension is a dynamic
      dimension (batch, sequence). Most ops implement
      `InferTypeOpInterface`, so their result types are computed from the
      operands; a result may carry a *more static* type than the one inferred
      (for example, a shape declared by the ONNX model), never a conflicting
      one.
    * Elementwise binary ops broadcast with NumPy (ONNX multidirectional)
      rules.
    * Negative `axis` values count from the back, as in ONNX.
    * Quantized storage types: `i8`, `ui8`, `i16`, `ui16`, `i4`, `ui4` and
      the FP8 builtin types `f8E4M3FN` and `f8E5M2`. When scales and zero
      points are compile-time constants they may instead be carried in the
      upstream `!quant.uniform` element type (per tensor, per axis or
      sub-channel/blocked). FP8 has no `!quant.uniform` storage in LLVM 22,
      so FP8 tensors always use the builtin float8 element types with explicit
      scale operands.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::quant::QuantDialect"
  ];
  let hasConstantMaterializer = 1;
}

#endif // QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_TD
