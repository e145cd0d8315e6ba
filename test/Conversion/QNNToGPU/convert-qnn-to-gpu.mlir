// Tests that with convert-qnn-to-gpu an int4 weight-only matmul becomes a launch of the
// W4A16 kernel with compile-time packed weights; the kernel module uses
// cp.async, ldmatrix and mma.sync, and its PTX assembles for sm_80/sm_90.
// RUN: quant-opt %s --convert-qnn-to-gpu | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_80" --canonicalize | quant-translate --emit-ptx --target sm_80 - | FileCheck %s --check-prefix=PTX80
// RUN: quant-opt %s --convert-qnn-to-gpu --qnn-materialize-gpu-launches | FileCheck %s --check-prefix=LAUNCH

// The launch stands as a call until after bufferization.
// CHECK:       func.func private @quantopt_launch_qgpu_w4a16_f16(index, index, index, index, index, index, i32, i64, i64, i64, i64, i64, i64, i32, i32, i32, i32, i32, i32, i32, i32) attributes {qgpu.kernel = @quantopt_kernels::@qgpu_w4a16_f16}
// CHECK-LABEL: func.func @w4a16(
// CHECK-SAME:      %[[X:.*]]: tensor<2x?x64xf32>
// CHECK:         linalg.generic
// CHECK:           arith.truncf %{{.*}} : f32 to f16
// CHECK:         arith.constant dense_resource<{{.*}}w4a16> : tensor<4096xi8>
// CHECK:         arith.constant dense_resource<{{.*}}w4a16_scales> : tensor<1024xi8>
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<2x?x8xf16>
// CHECK:         call @quantopt_launch_qgpu_w4a16_f16({{.*}}) {qnn.kernel = {name = "w4a16", reason = "int4 weights, group 32, 1-way split-K
// CHECK:         bufferization.to_tensor %{{.*}} restrict writable : memref<2x?x8xf16>
// CHECK:         arith.extf %{{.*}} : f16 to f32
// CHECK-NOT:     qnn.weight_only_matmul
func.func @w4a16(%x: tensor<2x?x64xf32>) -> tensor<2x?x8xf32> {
  %w = qnn.constant dense<-3> : tensor<64x8xi4>
  %s = qnn.constant dense<0.125> : tensor<2x8xf32>
  %b = qnn.constant dense<1.0> : tensor<8xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s bias(%b) {group_size = 32 : i64} : (tensor<2x?x64xf32>, tensor<64x8xi4>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  return %0 : tensor<2x?x8xf32>
}

// bf16 activations take the bf16 kernel directly (no conversion), with
// bf16 scale words.
// CHECK-LABEL: func.func @w4a16_bf16(
// CHECK-NOT:     arith.truncf
// CHECK:         call @quantopt_launch_qgpu_w4a16_bf16({{.*}}) {qnn.kernel = {name = "w4a16_bf16"
// CHECK-NOT:     arith.extf
func.func @w4a16_bf16(%x: tensor<?x256xbf16>) -> tensor<?x72xbf16> {
  %w = qnn.constant dense<5> : tensor<256x72xui4>
  %s = qnn.constant dense<0.125> : tensor<4x72xbf16>
  %z = qnn.constant dense<3> : tensor<4x72xui4>
  %0 = qnn.weight_only_matmul %x, %w, %s zero_points(%z) {group_size = 64 : i64} : (tensor<?x256xbf16>, tensor<256x72xui4>, tensor<4x72xbf16>, tensor<4x72xui4>) -> tensor<?x72xbf16>
  return %0 : tensor<?x72xbf16>
}

// Cases the kernel does not take stay for the generic lowering, with the
// reason.
// CHECK-LABEL: func.func @fallbacks(
// CHECK:         qnn.weight_only_matmul {{.*}} {group_size = 16 : i64, qnn.gpu_fallback = "group size 16 (the kernel takes 32, 64, 128, multiples of 128, per channel)"}
// CHECK:         qnn.weight_only_matmul {{.*}} {qnn.gpu_fallback = "8-bit weights (the GPU kernel is int4)"}
// CHECK:         qnn.weight_only_matmul {{.*}} {qnn.gpu_fallback = "K = 12 is not a multiple of 8"}
func.func @fallbacks(%x: tensor<4x64xf32>, %y: tensor<4x12xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %w = qnn.constant dense<1> : tensor<64x8xi4>
  %s = qnn.constant dense<0.5> : tensor<4x8xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s {group_size = 16 : i64} : (tensor<4x64xf32>, tensor<64x8xi4>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %w8 = qnn.constant dense<1> : tensor<64x8xi8>
  %s8 = qnn.constant dense<0.5> : tensor<8xf32>
  %1 = qnn.weight_only_matmul %x, %w8, %s8 : (tensor<4x64xf32>, tensor<64x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  %w12 = qnn.constant dense<1> : tensor<12x8xi4>
  %2 = qnn.weight_only_matmul %y, %w12, %s8 : (tensor<4x12xf32>, tensor<12x8xi4>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// The kernel module: a 4-stage cp.async pipeline, ldmatrix for A, and the
// tensor-core MMAs, unrolled (two k16 steps x eight n8 tiles per warp).
// CHECK:       gpu.module @quantopt_kernels
// CHECK:         llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32
// CHECK:         gpu.func @qgpu_w4a16_f16(
// CHECK-COUNT-2: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK:         nvvm.cp.async.commit.group
// CHECK:         nvvm.cp.async.wait.group 3
// CHECK:         nvvm.ldmatrix
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK:         nvvm.ldmatrix
// CHECK-COUNT-8: nvvm.mma.sync

// LAUNCH: gpu.launch_func @quantopt_kernels::@qgpu_w4a16_f16 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %{{.*}} args(
// LAUNCH-SAME: {qnn.kernel = {name = "w4a16"
// LAUNCH-NOT: quantopt_launch_

// PTX: .target sm_90
// PTX: .extern .shared .align 128 .b8 qgpu_dynamic_smem[];
// PTX: .visible .entry qgpu_w4a16_f16(
// PTX: cp.async.wait_group{{[[:space:]]+}}3;
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-COUNT-8: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-COUNT-8: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{.*}};
// PTX: cp.async.commit_group;
// PTX: atom.global.add.u32
// PTX: .visible .entry qgpu_w4a16_bf16(
// PTX-COUNT-8: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32

// PTX80: .target sm_80
// PTX80: .visible .entry qgpu_w4a16_f16(
// PTX80: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX80: .visible .entry qgpu_w4a16_bf16(
// PTX80: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
