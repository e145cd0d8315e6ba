//===- Passes.td - QuantOpt conversion passes --------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_PASSES
#define QUANTOPT_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def QNNLowerToCPUPass : Pass<"qnn-lower-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower the qnn dialect to linalg, tensor, arith and math, "
                "with matmuls as calls into the CPU kernel library";
  let description = [{
    Every qnn op becomes upstream tensor-level IR that one-shot bufferization
    and the standard LLVM lowering handle:

    - elementwise ops (with ONNX broadcasting), casts, quantize, dequantize,
      requantize and dynamic quantization become `linalg.generic`;
    - reductions, softmax, layer and RMS normalization become reductions
      and elementwise `linalg.generic`s;
    - layout ops become `tensor.reshape`, `linalg.transpose`,
      `tensor.insert_slice`/`extract_slice` or gathers (`tensor.extract`
      inside a `linalg.generic`);
    - `qnn.quantized_matmul` (int8 GEMM, fused epilogue),
      `qnn.weight_only_matmul` (int4/int8 weights) and float matmuls with a
      constant right operand become calls to the kernel library (`qk_*`,
      docs/CPUBackend.md). Their weights are packed at compile time into the
      layout the kernel reads, with column sums, scales and bias inside the
      packed blob. Float matmuls of two activations call the batched kernel;
      anything else (integer matmuls of activations, broadcast batch dims)
      becomes a `linalg.generic` contraction.

    Unsigned and sub-byte integer tensors become signless `i8`..`i64`
    tensors (the ops keep the signedness they need in their arithmetic).
    Dequantizations of constants are evaluated first (weights left in float
    by the quantization passes). FP8 tensors are not supported on the CPU:
    the pass fails with a diagnostic naming the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect"
  ];
  let statistics = [
    Statistic<"numKernelCalls", "num-kernel-calls",
              "Number of matmuls lowered to kernel calls">
  ];
}

#endif // QUANTOPT_CONVERSION_PASSES
