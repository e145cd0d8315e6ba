// Tests that convert-qnn-to-gpu{kernel=...} makes the per-matmul kernel choice. auto takes
// the scheme's kernel (int4 weight-only -> w4a16, 8-bit -> w8a8); forcing
// generic leaves every matmul to the generic lowering and records each in
// the module's qnn.gpu_fallbacks (the manifest's kernel_choices); forcing
// w8a8 runs an int4 weight-only matmul with per-channel scales as W4A8
// (per-token dynamic quantization, then the 8-bit kernel, then the bias);
// a forced kernel a matmul cannot take is an error naming it.
// RUN: quant-opt %s --convert-qnn-to-gpu | FileCheck %s --check-prefix=AUTO
// RUN: quant-opt %s --convert-qnn-to-gpu="kernel=generic" | FileCheck %s --check-prefix=GENERIC
// RUN: not quant-opt %s --convert-qnn-to-gpu="kernel=fast" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: quant-opt %s --convert-qnn-to-gpu="kernel=w8a8" | FileCheck %s --check-prefix=W4A8
// Errors of forced choices: convert-qnn-to-gpu-kernel-choice-errors.mlir.

// AUTO-LABEL: func.func @per_channel(
// AUTO: call @quantopt_launch_qgpu_w4a16_f16({{.*}}name = "w4a16"
// AUTO-NOT: qnn.gpu_fallbacks
// GENERIC: module attributes {qnn.gpu_fallbacks = [{choice = "generic", node = "wo", reason = "forced by kernel=generic"}]}
// GENERIC: qnn.weight_only_matmul {{.*}}qnn.gpu_fallback = "forced by kernel=generic"
// GENERIC-NOT: gpu.module
// W4A8-LABEL: func.func @per_channel(
// W4A8-NOT: qnn.weight_only_matmul
// W4A8-NOT: qnn.dynamic_quantize
// W4A8: call @quantopt_launch_qgpu_dynq_rows(
// W4A8: call @quantopt_launch_qgpu_w8a8_u8({{.*}}reason = "W4A8 forced by kernel=w8a8 on an int4 weight-only matmul
// W4A8: qnn.add %{{.*}}, %{{.*}} : (tensor<?x32xf32>, tensor<32xf32>)
// BAD: 'fast' is not a valid value; valid values are: auto, w4a16, w8a8, w8a8-wgmma, generic
func.func @per_channel(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf32>
  %b = qnn.constant dense<1.0> : tensor<32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s bias(%b) : (tensor<?x64xf32>, tensor<64x32xi4>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x32xf32> loc("wo")
  return %0 : tensor<?x32xf32>
}

