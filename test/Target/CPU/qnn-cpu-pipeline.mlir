// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-cpu-pipeline)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-cpu-pipeline)' | FileCheck %s --check-prefix=LLVM

// Tests that the registered CPU pipeline expands to the passes compileForCPU
// runs, in order, as a textual pipeline of registered passes: qnn to
// tensors and kernel calls, fusion, bufferization, kernel-call lowering,
// deallocation, loops, approximations and the LLVM lowering.
// CHECK:      builtin.module(
// CHECK:        qnn-evaluate-dequantize
// CHECK:        convert-qnn-to-cpu{kernel-library=true}
// CHECK:        qnn-fuse-elementwise-bounded{max-body-ops=256}
// CHECK:        one-shot-bufferize
// CHECK:        qnn-lower-kernel-calls
// CHECK:        ownership-based-buffer-deallocation
// CHECK:        convert-linalg-to-loops
// CHECK:        qnn-approximate-math
// CHECK:        convert-func-to-llvm
// CHECK:        reconcile-unrealized-casts

// Tests that it takes a quantized matmul to the LLVM dialect.
// LLVM:       llvm.func @qk_qgemm(
// LLVM-LABEL: llvm.func @w8a8(
// LLVM:         llvm.call @qk_qgemm(
// LLVM-NOT:   qnn
func.func @w8a8(%x: tensor<4x16xi8>) -> tensor<4x8xf32> {
  %w = qnn.constant dense<3> : tensor<16x8xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<0> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<8xf32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sw : (tensor<4x16xi8>, tensor<16x8xi8>, tensor<f32>, tensor<i8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
