// Tests that qnn-select-gpu-kernels records each matmul's kernel and the
// reason as qnn.gpu_kernel, honours forced kernels, chips and M buckets, and
// rejects a forced kernel a matmul cannot take.
// RUN: quant-opt %s --split-input-file --qnn-select-gpu-kernels | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnn-select-gpu-kernels="kernel=generic" | FileCheck %s --check-prefix=GENERIC
// RUN: quant-opt %s --split-input-file --qnn-select-gpu-kernels="chip=sm_80 w4a8-min-m=64" | FileCheck %s --check-prefix=SM80
// RUN: not quant-opt %s --split-input-file --qnn-select-gpu-kernels="kernel=w4a16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=W4A16

// Tests that an int4 weight-only matmul gets the W4A16 kernel (auto), the
// generic lowering with its reason (kernel=generic), and with w4a8-min-m the
// choice by row count, or W4A16 with the reason that choice does not apply.
// CHECK-LABEL: func.func @weight_only(
// CHECK: qnn.weight_only_matmul {{.*}}qnn.gpu_kernel = {name = "w4a16", reason = ""}
// CHECK: qnn.weight_only_matmul {{.*}}qnn.gpu_kernel = {name = "w4a16", reason = ""}
// GENERIC-LABEL: func.func @weight_only(
// GENERIC: qnn.gpu_kernel = {name = "generic", reason = "forced by kernel=generic"}
// SM80-LABEL: func.func @weight_only(
// SM80: qnn.weight_only_matmul {{.*}}qnn.gpu_kernel = {name = "w4a8-by-m", reason = "w4a8-min-m=64"}
// SM80: qnn.weight_only_matmul {{.*}}qnn.gpu_kernel = {name = "w4a16", reason = "W4A16 for every M: w4a8-min-m does not apply (grouped weight scales)"}
func.func @weight_only(%x: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s : (tensor<?x64xf32>, tensor<64x32xi4>, tensor<32xf32>) -> tensor<?x32xf32>
  %sg = qnn.constant dense<0.125> : tensor<2x32xf32>
  %1 = qnn.weight_only_matmul %x, %w, %sg {group_size = 32 : i64} : (tensor<?x64xf32>, tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<?x32xf32>
  return %0, %1 : tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// Tests that an 8-bit quantized matmul gets the W8A8 kernel, and that
// forcing the W4A16 kernel on it is an error naming it.
// CHECK-LABEL: func.func @int8(
// CHECK: qnn.quantized_matmul {{.*}}qnn.gpu_kernel = {name = "w8a8", reason = ""}
// W4A16: error: 'qnn.quantized_matmul' op cannot take the w4a16 kernel (forced by kernel=w4a16)
func.func @int8(%x: tensor<32x128xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> tensor<32x256xf32> {
  %w = qnn.constant dense<5> : tensor<128x256xi8>
  %sb = qnn.constant dense<0.5> : tensor<f32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<32x128xi8>, tensor<128x256xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
  return %0 : tensor<32x256xf32>
}

// -----

// Tests that dynamic quantization gets its fused kernel, e4m3 only where
// the chip converts to fp8 (sm_89+).
// CHECK-LABEL: func.func @dynq(
// CHECK: qnn.dynamic_quantize {{.*}}qnn.gpu_kernel = {name = "dynamic_quantize", reason = ""}
// SM80-LABEL: func.func @dynq(
// SM80: qnn.dynamic_quantize
// SM80-NOT: qnn.gpu_kernel
func.func @dynq(%x: tensor<?x64xf32>) -> (tensor<?x64xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>) {
  %q, %s, %z = qnn.dynamic_quantize %x {per_token = true, e4m3} : tensor<?x64xf32> -> tensor<?x64xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>
  return %q, %s, %z : tensor<?x64xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>
}
