// RUN: quant-opt %s --convert-qnn-to-cpu --qnn-cpu-lower-to-llvm | FileCheck %s
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-cpu-pipeline)' | FileCheck %s

// Tests that the CPU pipeline ends in the LLVM dialect only: bufferized
// with identity layouts at the function boundary (memref descriptors as
// arguments and result), the kernel called through a raw pointer, the
// intermediate buffer freed, and the result returned to the caller.
// CHECK:       llvm.func @qk_sgemm(!llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr)
// CHECK-LABEL: llvm.func @mlp(
// CHECK:         llvm.call @malloc
// CHECK:         llvm.call @qk_sgemm(
// CHECK:         llvm.intr.maximum
// CHECK:         llvm.call @qk_sgemm(
// CHECK:         llvm.call @free
// CHECK:         llvm.return %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK-NOT:   memref.
// CHECK-NOT:   tensor.
// CHECK-NOT:   linalg.
func.func @mlp(%x: tensor<?x16xf32>) -> tensor<?x4xf32> {
  %w1 = qnn.constant dense<0.5> : tensor<16x8xf32>
  %w2 = qnn.constant dense<0.25> : tensor<8x4xf32>
  %0 = qnn.matmul %x, %w1 : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  %1 = qnn.relu %0 : tensor<?x8xf32> -> tensor<?x8xf32>
  %2 = qnn.matmul %1, %w2 : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
  return %2 : tensor<?x4xf32>
}
