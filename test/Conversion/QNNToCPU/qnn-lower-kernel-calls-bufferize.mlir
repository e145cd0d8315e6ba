// RUN: quant-opt %s --qnn-cpu-bufferize | FileCheck %s --check-prefix=BUF

// Tests that one-shot bufferization (qnn-cpu-bufferize, which runs
// qnn-lower-kernel-calls right after it) gives a kernel call on tensors an
// output buffer of its own (the tensor.empty it writes) and reads its
// inputs in place; the output goes to the middle of the arguments here.
// BUF-LABEL: func.func @batched(
// BUF-SAME:    %[[A:.*]]: memref<2x3x4xf32>, %[[B:.*]]: memref<2x4x5xf32>, %[[N:.*]]: i64)
// BUF:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x5xf32>
// BUF:         %[[AI:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// BUF:         %[[BI:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// BUF:         %[[OI:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// BUF:         %[[OP:.*]] = llvm.inttoptr
// BUF:         call @qk_sgemm_batched(%{{.*}}, %{{.*}}, %[[OP]], %[[N]])
// BUF:         return %[[OUT]]
func.func @batched(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>, %n: i64) -> tensor<2x3x5xf32> {
  %init = tensor.empty() : tensor<2x3x5xf32>
  %r = qnn_cpu.kernel_call "qk_sgemm_batched" ins(%a, %b, %n : tensor<2x3x4xf32>, tensor<2x4x5xf32>, i64) outs(%init : tensor<2x3x5xf32>) out_position 2 -> tensor<2x3x5xf32>
  return %r : tensor<2x3x5xf32>
}
