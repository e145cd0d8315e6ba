// RUN: quant-opt %s --qnn-lower-kernel-calls | FileCheck %s

// Tests that a kernel call on buffers becomes a call of the kernel, declared
// once: buffers are passed as pointers to their aligned data, scalars and
// pointers as they are, the output at out_position.
// CHECK:       func.func private @qk_sgemm(!llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr)
// CHECK-LABEL: func.func @sgemm(
// CHECK-SAME:    %[[A:.*]]: memref<4x16xf32>, %[[W:.*]]: memref<64xi8>, %[[OUT:.*]]: memref<4x8xf32>, %[[M:.*]]: i64, %[[ACT:.*]]: i32)
// CHECK:         %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK:         %[[AI:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK:         %[[AL:.*]] = arith.index_cast %[[AI]] : index to i64
// CHECK:         %[[AP:.*]] = llvm.inttoptr %[[AL]] : i64 to !llvm.ptr
// CHECK:         %[[WI:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:         %[[WP:.*]] = llvm.inttoptr
// CHECK:         %[[OI:.*]] = memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK:         %[[OP:.*]] = llvm.inttoptr
// CHECK:         call @qk_sgemm(%[[AP]], %[[M]], %[[WP]], %[[NULL]], %[[ACT]], %[[OP]])
// CHECK-NOT:     qnn_cpu.kernel_call
func.func @sgemm(%a: memref<4x16xf32>, %w: memref<64xi8>, %out: memref<4x8xf32>, %m: i64, %act: i32) {
  %null = llvm.mlir.zero : !llvm.ptr
  qnn_cpu.kernel_call "qk_sgemm" ins(%a, %m, %w, %null, %act : memref<4x16xf32>, i64, memref<64xi8>, !llvm.ptr, i32) outs(%out : memref<4x8xf32>) out_position 5
  qnn_cpu.kernel_call "qk_sgemm" ins(%a, %m, %w, %null, %act : memref<4x16xf32>, i64, memref<64xi8>, !llvm.ptr, i32) outs(%out : memref<4x8xf32>) out_position 5
  return
}
