// Tests that convert-qnn-to-gpu turns qnn.dynamic_quantize into the fused dynamic
// quantization kernels (range and quantization in one pass over the data
// on the device, no host round trip): one block per row per token, or two
// launches (block partials, then every block folds them and quantizes) per
// tensor. The outputs are fresh device buffers that the W8A8 kernel reads
// by address. The kernels assemble for sm_80 and sm_90, with NaN-propagating
// min/max, IEEE division and round-half-even as the CPU lowering.
// RUN: quant-opt %s --convert-qnn-to-gpu | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_80" --canonicalize | quant-translate --emit-ptx --target sm_80 - | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @per_token(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf32>
// CHECK-NOT: qnn.dynamic_quantize
// CHECK-DAG: %[[D0:.*]] = tensor.dim %[[X]], %c0
// CHECK-DAG: %[[D1:.*]] = tensor.dim %[[X]], %c1
// CHECK: %[[ROWS:.*]] = arith.muli %{{.*}}, %[[D1]] : index
// CHECK: %[[Q:.*]] = memref.alloc(%[[D0]], %[[D1]]) {alignment = 64 : i64} : memref<?x?x64xi8>
// CHECK: %[[S:.*]] = memref.alloc(%[[D0]], %[[D1]]) {alignment = 64 : i64} : memref<?x?x1xf32>
// CHECK: %[[Z:.*]] = memref.alloc(%[[D0]], %[[D1]]) {alignment = 64 : i64} : memref<?x?x1xi8>
// CHECK: %[[GRID:.*]] = arith.maxui %[[ROWS]], %{{.*}} : index
// CHECK: call @quantopt_launch_qgpu_dynq_rows(%[[GRID]], %{{.*}}, %{{.*}}, %c256, %{{.*}}, %{{.*}}, %c64_i32,
// CHECK-SAME: qnn.kernel = {name = "dynamic_quantize", reason = "per-token
// The per-token scale feeds the W8A8 kernel by address, per row.
// CHECK: call @quantopt_launch_qgpu_w8a8_u8(
// CHECK-SAME: reason = "uint8 activations x int8 weights{{.*}}per-token activation scale
func.func @per_token(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %w = arith.constant dense<3> : tensor<64x32xi8>
  %ws = arith.constant dense<0.5> : tensor<32xf32>
  %q, %s, %z = qnn.dynamic_quantize %x {per_token = true} : tensor<?x?x64xf32> -> tensor<?x?x64xui8>, tensor<?x?x1xf32>, tensor<?x?x1xui8>
  %y = qnn.quantized_matmul %q, %w, %s, %z, %ws : (tensor<?x?x64xui8>, tensor<64x32xi8>, tensor<?x?x1xf32>, tensor<?x?x1xui8>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @per_tensor(
// CHECK-NOT: qnn.dynamic_quantize
// CHECK: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<4x?x32xi8>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<f32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<i8>
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[P0:.*]] = arith.ceildivui %[[N]], %c256
// CHECK: %[[P1:.*]] = arith.minui %[[P0]], %c1024
// CHECK: %[[PARTS:.*]] = arith.maxui %[[P1]], %{{.*}} : index
// CHECK: %[[SCRATCH:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2048xf32>
// CHECK: call @quantopt_launch_qgpu_dynq_partials(%[[PARTS]],
// CHECK: call @quantopt_launch_qgpu_dynq_tensor(
// CHECK-SAME: reason = "per-tensor uint8 quantization
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : tensor<4x?x32xi8> to tensor<4x?x32xui8>
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : tensor<i8> to tensor<ui8>
func.func @per_tensor(%x: tensor<4x?x32xf32>) -> (tensor<4x?x32xui8>, tensor<f32>, tensor<ui8>) {
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<4x?x32xf32> -> tensor<4x?x32xui8>, tensor<f32>, tensor<ui8>
  return %q, %s, %z : tensor<4x?x32xui8>, tensor<f32>, tensor<ui8>
}

// CHECK: gpu.module @quantopt_kernels
// CHECK-DAG: gpu.func @qgpu_dynq_rows(
// CHECK-DAG: gpu.func @qgpu_dynq_partials(
// CHECK-DAG: gpu.func @qgpu_dynq_tensor(
// The helpers are inlined into the kernels: no func.func is left in the
// kernel module (the host bufferization would walk into it).
// CHECK-NOT: func.func

// PTX-LABEL: .entry qgpu_dynq_rows(
// PTX: shfl.sync.bfly.b32 {{.*}}, 16, 31, -1;
// PTX: min.NaN.f32
// PTX: max.NaN.f32
// PTX: bar.sync 0;
// PTX: div.rn.f32 {{.*}}, 0f437F0000;
// PTX: cvt.rni.f32.f32
// PTX: st.global.b8
// PTX-LABEL: .entry qgpu_dynq_partials(
// PTX: shfl.sync.bfly.b32
// PTX-LABEL: .entry qgpu_dynq_tensor(
// PTX: shfl.sync.bfly.b32
// PTX: cvt.rni.f32.f32
// PTX-LABEL: .entry qgpu_w8a8_u8(
