// Tests that with convert-qnn-to-gpu 8-bit integer matmuls with a constant weight become
// launches of the W8A8 tensor-core kernel (qgpu_w8a8_u8 / _s8, by the
// activations' signedness) with the weight packed at compile time; the
// scales, zero points and requantization parameters are passed as device
// pointers. The kernels' PTX uses cp.async, ldmatrix and
// mma.sync.m16n8k32 and assembles for sm_80 and sm_90.
// RUN: quant-opt %s --convert-qnn-to-gpu | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_80" --canonicalize | quant-translate --emit-ptx --target sm_80 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu="stages=3" | FileCheck %s --check-prefix=STAGES

// CHECK-LABEL: func.func @per_token_gelu_requant(
// CHECK:         arith.constant dense_resource<gelu_layer.w8a8> : tensor<8192xi8>
// CHECK:         arith.constant dense_resource<gelu_layer.w8a8_columns> : tensor<1024xi8>
// CHECK:         memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x8x96xi8>
// CHECK:         call @quantopt_launch_qgpu_w8a8_u8({{.*}}) {qnn.kernel = {name = "w8a8", reason = "uint8 activations x int8 weights on int8 tensor cores (mma.sync m16n8k32, 128x128 tiles, 4-stage cp.async), per-token activation scale, epilogue: gelu, requantized output"}}
// CHECK:         bufferization.to_tensor %{{.*}} restrict writable : memref<?x8x96xi8>
// CHECK-NOT:     qnn.quantized_matmul
func.func @per_token_gelu_requant(%x: tensor<?x8x64xui8>, %sa: tensor<?x8x1xf32>, %za: tensor<?x8x1xui8>) -> tensor<?x8x96xi8> {
  %w = qnn.constant dense<-3> : tensor<64x96xi8>
  %sb = qnn.constant dense<0.01> : tensor<96xf32>
  %b = qnn.constant dense<7> : tensor<96xi32>
  %so = qnn.constant dense<0.05> : tensor<f32>
  %zo = qnn.constant dense<3> : tensor<i8>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb bias(%b) output(%so, %zo) {activation = "gelu"} : (tensor<?x8x64xui8>, tensor<64x96xi8>, tensor<?x8x1xf32>, tensor<?x8x1xui8>, tensor<96xf32>, tensor<96xi32>, tensor<f32>, tensor<i8>) -> tensor<?x8x96xi8> loc("gelu_layer")
  return %0 : tensor<?x8x96xi8>
}

// Signed activations with per-tensor parameters and f32 output; a uint8
// weight with zero point 128 and a 4-bit weight are taken as int8.
// CHECK-LABEL: func.func @per_tensor(
// CHECK:         call @quantopt_launch_qgpu_w8a8_s8({{.*}}) {qnn.kernel = {name = "w8a8", reason = "int8 activations x int8 weights {{.*}}per-tensor activation scale, epilogue: none, f32 output"}}
// CHECK:         call @quantopt_launch_qgpu_w8a8_s8({{.*}}) {qnn.kernel = {name = "w8a8", reason = "{{.*}}epilogue: relu, f32 output"}}
// CHECK:         call @quantopt_launch_qgpu_w8a8_s8({{.*}}) {qnn.kernel = {name = "w8a8", reason = "{{.*}}epilogue: silu, f32 output"}}
func.func @per_tensor(%x: tensor<32x128xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> (tensor<32x256xf32>, tensor<32x256xf32>, tensor<32x256xf32>) {
  %w = qnn.constant dense<5> : tensor<128x256xi8>
  %sb = qnn.constant dense<0.5> : tensor<f32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<32x128xi8>, tensor<128x256xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
  %wu = qnn.constant dense<200> : tensor<128x256xui8>
  %zu = qnn.constant dense<128> : tensor<ui8>
  %1 = qnn.quantized_matmul %x, %wu, %sa, %za, %sb rhs_zero_point(%zu) {activation = "relu"} : (tensor<32x128xi8>, tensor<128x256xui8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<ui8>) -> tensor<32x256xf32>
  %w4 = qnn.constant dense<-7> : tensor<128x256xi4>
  %2 = qnn.quantized_matmul %x, %w4, %sa, %za, %sb {activation = "silu"} : (tensor<32x128xi8>, tensor<128x256xi4>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
  return %0, %1, %2 : tensor<32x256xf32>, tensor<32x256xf32>, tensor<32x256xf32>
}

// Cases the kernel does not take stay for the generic lowering, with the
// reason.
// CHECK-LABEL: func.func @fallbacks(
// CHECK:         qnn.quantized_matmul {{.*}}qnn.gpu_fallback = "K = 40 is not a multiple of 16 (the kernel copies 16-byte rows)"
// CHECK:         qnn.quantized_matmul {{.*}}qnn.gpu_fallback = "a weight zero point that takes weight - zero point out of int8 (column 0)"
// CHECK:         qnn.quantized_matmul {{.*}}qnn.gpu_fallback = "a right operand that is not a constant weight (activation x activation), or a non-constant weight zero point or bias"
func.func @fallbacks(%x: tensor<4x40xi8>, %y: tensor<4x64xi8>, %act: tensor<64x8xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %w = qnn.constant dense<1> : tensor<40x8xi8>
  %sb = qnn.constant dense<0.5> : tensor<f32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<4x40xi8>, tensor<40x8xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<4x8xf32>
  %wu = qnn.constant dense<250> : tensor<64x8xui8>
  %zu = qnn.constant dense<0> : tensor<ui8>
  %1 = qnn.quantized_matmul %y, %wu, %sa, %za, %sb rhs_zero_point(%zu) : (tensor<4x64xi8>, tensor<64x8xui8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<ui8>) -> tensor<4x8xf32>
  %2 = qnn.quantized_matmul %y, %act, %sa, %za, %sb : (tensor<4x64xi8>, tensor<64x8xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// PTX-DAG: .visible .entry qgpu_w8a8_u8(
// PTX-DAG: .visible .entry qgpu_w8a8_s8(
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: cp.async.wait_group 2
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// PTX-DAG: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32
// PTX-DAG: cvt.rni.f32.f32
// PTX-NOT: ld.local

// STAGES: nvvm.cp.async.wait.group 1
