// RUN: quant-opt %s --qnn-cpu-convert -o %t.converted.mlir
// RUN: quant-opt %t.converted.mlir --qnn-cpu-bufferize | FileCheck %s
// RUN: quant-opt %t.converted.mlir --qnn-cpu-bufferize --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
//
// Round trip of the textual pipeline: the printed pipeline (one-shot
// bufferization's options included) fed back through --pass-pipeline gives
// the same IR.
// RUN: quant-opt %t.converted.mlir --qnn-cpu-bufferize --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | tail -n +2 | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %t.converted.mlir --pass-pipeline=PIPELINE \
// RUN:   | FileCheck %s

// PIPELINE: builtin.module(
// PIPELINE-NEXT:   one-shot-bufferize{{{.*}}bufferize-function-boundaries=true{{.*}}function-boundary-type-conversion=identity-layout-map{{.*}}},
// PIPELINE-NEXT:   qnn-lower-kernel-calls,
// PIPELINE:        ownership-based-buffer-deallocation
// PIPELINE:        convert-bufferization-to-memref
// PIPELINE-NEXT: )

// Tests that bufferization gives the function identity-layout memrefs, the
// kernel call's destination a 64-byte aligned allocation, and that
// qnn-lower-kernel-calls then calls qk_qgemm with raw pointers to the
// input, the packed weight global and that allocation, which the relu then
// updates in place and the function returns; the kernel's workspace (its
// pointer and byte size last) is an allocation of its own, freed before
// the function returns.
// CHECK:       func.func private @qk_qgemm(!llvm.ptr, i64, i32, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK:       memref.global "private" constant @[[G:.*]] : memref<576xi8> = dense_resource<packed.qgemm> {alignment = 64 : i64}
// CHECK-LABEL: func.func @w8a8(
// CHECK-SAME:    %[[X:.*]]: memref<4x16xi8>) -> memref<4x8xf32>
// CHECK-DAG:     %[[W:.*]] = memref.get_global @[[G]] : memref<576xi8>
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// CHECK-DAG:     %[[WS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi8>
// CHECK-DAG:     memref.extract_aligned_pointer_as_index %[[X]]
// CHECK-DAG:     memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-DAG:     memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK:         call @qk_qgemm(
// CHECK:         linalg.generic {{.*}} ins(%[[OUT]] : memref<4x8xf32>) outs(%[[OUT]] : memref<4x8xf32>)
// CHECK:         memref.dealloc %[[WS]] : memref<?xi8>
// CHECK:         return %[[OUT]] : memref<4x8xf32>
// CHECK-NOT:     qnn_cpu.kernel_call
// CHECK-NOT:     tensor.
func.func @w8a8(%x: tensor<4x16xi8>) -> tensor<4x8xf32> {
  %w = qnn.constant dense<3> : tensor<16x8xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<0> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<8xf32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sw : (tensor<4x16xi8>, tensor<16x8xi8>, tensor<f32>, tensor<i8>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = qnn.relu %0 : tensor<4x8xf32> -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}
