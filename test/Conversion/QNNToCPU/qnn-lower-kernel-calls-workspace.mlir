// RUN: quant-opt %s --qnn-cpu-bufferize | FileCheck %s

// Tests that a kernel call's workspace is written in place, never read: two
// calls given the same workspace tensor share one allocation (no copy), its
// aligned pointer and size in bytes passed as each call's last two
// arguments, and it is freed after the last call.
// CHECK:       func.func private @qk_fake(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-LABEL: func.func @shared(
// CHECK-SAME:    %{{.*}}: memref<4xf32>, %[[BYTES:.*]]: index)
// CHECK:         %[[WS:.*]] = memref.alloc(%[[BYTES]]) {alignment = 64 : i64} : memref<?xi8>
// CHECK-NOT:     memref.alloc(%[[BYTES]])
// CHECK:         %[[WI:.*]] = memref.extract_aligned_pointer_as_index %[[WS]] :
// CHECK:         %[[WL:.*]] = arith.index_cast %[[WI]] : index to i64
// CHECK:         %[[WP:.*]] = llvm.inttoptr %[[WL]] : i64 to !llvm.ptr
// CHECK:         %[[SIZE:.*]] = arith.index_cast %[[BYTES]] : index to i64
// CHECK:         call @qk_fake(%{{.*}}, %{{.*}}, %[[WP]], %[[SIZE]])
// CHECK:         call @qk_fake(%{{.*}}, %{{.*}}, %[[WP]], %[[SIZE]])
// CHECK-NOT:     memref.copy
// CHECK:         memref.dealloc %[[WS]] :
func.func @shared(%a: tensor<4xf32>, %bytes: index) -> (tensor<4xf32>, tensor<4xf32>) {
  %ws = tensor.empty(%bytes) : tensor<?xi8>
  %i1 = tensor.empty() : tensor<4xf32>
  %r1 = qnn_cpu.kernel_call "qk_fake" ins(%a : tensor<4xf32>) outs(%i1 : tensor<4xf32>) out_position 1 workspace(%ws : tensor<?xi8>) -> tensor<4xf32>
  %i2 = tensor.empty() : tensor<4xf32>
  %r2 = qnn_cpu.kernel_call "qk_fake" ins(%r1 : tensor<4xf32>) outs(%i2 : tensor<4xf32>) out_position 1 workspace(%ws : tensor<?xi8>) -> tensor<4xf32>
  return %r1, %r2 : tensor<4xf32>, tensor<4xf32>
}
