// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu | FileCheck %s
// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --qnn-cpu-bufferize | FileCheck %s --check-prefix=BUF

// Tests that the int8 GEMM gets a workspace of the bytes its size function
// returns at run time for (M, K, N) = (rows of x, 16, 8): an i8 tensor.empty
// made before the call and passed as its workspace operand; after
// bufferization it is a plain allocation whose pointer and size are the
// call's last two arguments (the size folds to the size function's
// result), freed after the call.
// CHECK-DAG:   func.func private @qk_qgemm_workspace_bytes(i64, i64, i64) -> i64
// CHECK-LABEL: func.func @w8a8(
// CHECK:         %[[M:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK-DAG:     %[[K:.*]] = arith.constant 16 : i64
// CHECK-DAG:     %[[N:.*]] = arith.constant 8 : i64
// CHECK:         %[[BYTES:.*]] = call @qk_qgemm_workspace_bytes(%[[M]], %[[K]], %[[N]]) : (i64, i64, i64) -> i64
// CHECK:         %[[SIZE:.*]] = arith.index_cast %[[BYTES]] : i64 to index
// CHECK:         %[[WS:.*]] = tensor.empty(%[[SIZE]]) : tensor<?xi8>
// CHECK:         qnn_cpu.kernel_call "qk_qgemm" ins(%{{.*}}, %[[M]],
// CHECK-SAME:      out_position 11 workspace(%[[WS]] : tensor<?xi8>) -> tensor<?x8xi8>
// BUF-DAG:     func.func private @qk_qgemm(!llvm.ptr, i64, i32, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i32, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// BUF-LABEL:   func.func @w8a8(
// BUF:           %[[BYTES:.*]] = call @qk_qgemm_workspace_bytes(
// BUF:           %[[SIZE:.*]] = arith.index_cast %[[BYTES]] : i64 to index
// BUF:           %[[WS:.*]] = memref.alloc(%[[SIZE]]) {alignment = 64 : i64} : memref<?xi8>
// BUF:           %[[WI:.*]] = memref.extract_aligned_pointer_as_index %[[WS]] :
// BUF:           %[[WL:.*]] = arith.index_cast %[[WI]] : index to i64
// BUF:           %[[WP:.*]] = llvm.inttoptr %[[WL]] : i64 to !llvm.ptr
// BUF:           call @qk_qgemm(%{{.*}}, %[[WP]], %[[BYTES]])
// BUF-NOT:       memref.copy
// BUF:           memref.dealloc %[[WS]] :
func.func @w8a8(%x: tensor<?x16xui8>) -> tensor<?x8xi8> {
  %w = qnn.constant dense<3> : tensor<16x8xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<128> : tensor<ui8>
  %sw = qnn.constant dense<0.25> : tensor<8xf32>
  %so = qnn.constant dense<0.1> : tensor<f32>
  %zo = qnn.constant dense<0> : tensor<i8>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sw output(%so, %zo) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<f32>, tensor<ui8>, tensor<8xf32>, tensor<f32>, tensor<i8>) -> tensor<?x8xi8>
  return %0 : tensor<?x8xi8>
}

// -----

// Tests that the weight-only kernel's workspace is sized by M, K = 64, 4-bit
// weights and group size 32.
// CHECK-DAG:   func.func private @qk_wo_workspace_bytes(i64, i64, i32, i64) -> i64
// CHECK-LABEL: func.func @w4a16(
// CHECK-DAG:     %[[K:.*]] = arith.constant 64 : i64
// CHECK-DAG:     %[[BITS:.*]] = arith.constant 4 : i32
// CHECK-DAG:     %[[G:.*]] = arith.constant 32 : i64
// CHECK:         %[[BYTES:.*]] = call @qk_wo_workspace_bytes(%{{.*}}, %[[K]], %[[BITS]], %[[G]])
// CHECK:         %[[WS:.*]] = tensor.empty(%{{.*}}) : tensor<?xi8>
// CHECK:         qnn_cpu.kernel_call "qk_wo_matmul"
// CHECK-SAME:      out_position 4 workspace(%[[WS]] : tensor<?xi8>)
func.func @w4a16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = qnn.constant dense<-3> : tensor<64x8xi4>
  %s = qnn.constant dense<0.125> : tensor<2x8xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s {group_size = 32 : i64} : (tensor<?x64xf32>, tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Tests that the batched float and integer kernels get workspaces sized by
// (batch, M, K, N), and that qk_sgemm (no scratch) gets none.
// CHECK-LABEL: func.func @batched(
// CHECK:         call @qk_sgemm_batched_workspace_bytes(
// CHECK:         qnn_cpu.kernel_call "qk_sgemm_batched"
// CHECK-SAME:      out_position 2 workspace(%{{.*}} : tensor<?xi8>)
// CHECK:         call @qk_qgemm_batched_workspace_bytes(
// CHECK:         qnn_cpu.kernel_call "qk_qgemm_batched"
// CHECK-SAME:      out_position 2 workspace(%{{.*}} : tensor<?xi8>)
// CHECK:         qnn_cpu.kernel_call "qk_sgemm"
// CHECK-SAME:      outs(%{{.*}} : tensor<6x4xf32>) out_position 5 -> tensor<6x4xf32>
func.func @batched(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>, %qa: tensor<2x3x4xi8>, %qb: tensor<2x4x5xi8>) -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<2x3x4xf32>) {
  %0 = qnn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %s = qnn.constant dense<0.5> : tensor<f32>
  %z = qnn.constant dense<0> : tensor<i8>
  %1 = qnn.quantized_matmul %qa, %qb, %s, %z, %s rhs_zero_point(%z) : (tensor<2x3x4xi8>, tensor<2x4x5xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<2x3x5xf32>
  %w = qnn.constant dense<0.5> : tensor<4x4xf32>
  %2 = qnn.matmul %a, %w : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  return %0, %1, %2 : tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<2x3x4xf32>
}
