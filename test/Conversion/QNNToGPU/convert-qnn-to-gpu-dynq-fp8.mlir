// Tests that convert-qnn-to-gpu quantizes dynamic float8 E4M3FN activations
// for the fp8 kernel
// (the fp8 scheme with activation-mode=dynamic). qnn.dynamic_quantize
// {e4m3} becomes one fused kernel that computes each row's (per token) or
// the tensor's (per tensor: block partials, then every block folds them)
// absmax, the scale (absmax / 448, 1 where that is 0) and the e4m3
// bytes (cvt.rn.satfinite: round to nearest even, saturating as ONNX
// QuantizeLinear with saturate). The fp8 tensor-core kernel then takes the
// per-token scales by address and applies them per output row (aPerRow = 1).
// On sm_80 neither exists (no e4m3 conversion or fp8 tensor cores): the op
// stays for the generic lowering. The PTX assembles for sm_89 and sm_90 and
// holds no uint8 quantization kernel.
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_90 | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_90 --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_89 --canonicalize | quant-translate --emit-ptx --target sm_89 - | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @per_token(
// CHECK-NOT: qnn.dynamic_quantize
// CHECK: %[[Q:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xi8>
// CHECK: %[[S:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1xf32>
// CHECK: call @quantopt_launch_qgpu_dynq_rows_e4m3(
// CHECK-SAME: reason = "per-token float8 e4m3 range and quantization fused, one 256-thread block per row"
// CHECK: %[[SA:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x1xf32> to memref<?x1xf32>
// CHECK: %[[SAP:.*]] = memref.extract_aligned_pointer_as_index %[[SA]]
// CHECK: %[[SAI:.*]] = arith.index_cast %[[SAP]] : index to i64
// The activation scale by address; after N, K and Npad: numKT = 1,
// aPerRow = 1, bPerCol = 1, no activation, f32 output.
// CHECK: call @quantopt_launch_qgpu_fp8_e4m3({{.*}}, %[[SAI]], %c0_i64, %{{.*}}, %c0_i64, %c0_i64, %{{.*}}, %c96_i32, %c64_i32{{(_[0-9]+)?}}, %c128_i32, %c1_i32, %c1_i32{{(_[0-9]+)?}}, %c1_i32{{(_[0-9]+)?}}, %c0_i32, %c0_i32{{(_[0-9]+)?}})
// CHECK-SAME: reason = "float8 e4m3 activations x e4m3 weights {{.*}}per-token activation scale, per-column weight scale, epilogue: none, f32 output"
// CHECK-NOT: qnn.
// CHECK: return
func.func @per_token(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %q, %s, %z = qnn.dynamic_quantize %x {per_token = true, e4m3} : tensor<?x64xf32> -> tensor<?x64xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>
  %a = qnn.dequantize %q, %s {axis = 1 : i64, block_size = 64 : i64} : (tensor<?x64xf8E4M3FN>, tensor<?x1xf32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<96xf32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<96xf32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc")
  return %y : tensor<?x96xf32>
}

// CHECK-LABEL: func.func @per_tensor(
// CHECK-NOT: qnn.dynamic_quantize
// CHECK: call @quantopt_launch_qgpu_dynq_partials(
// CHECK: call @quantopt_launch_qgpu_dynq_tensor_e4m3(
// CHECK-SAME: reason = "per-tensor float8 e4m3 quantization
// numKT = 1, then aPerRow = bPerCol = act = output type = 0.
// CHECK: call @quantopt_launch_qgpu_fp8_e4m3({{.*}}, %c128_i32, %c1_i32, %c0_i32{{(_[0-9]+)?}}, %c0_i32{{(_[0-9]+)?}}, %c0_i32{{(_[0-9]+)?}}, %c0_i32{{(_[0-9]+)?}})
// CHECK-SAME: reason = "{{.*}}per-tensor activation scale, per-tensor weight scale
func.func @per_tensor(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %q, %s, %z = qnn.dynamic_quantize %x {e4m3} : tensor<?x64xf32> -> tensor<?x64xf8E4M3FN>, tensor<f32>, tensor<f8E4M3FN>
  %a = qnn.dequantize %q, %s : (tensor<?x64xf8E4M3FN>, tensor<f32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc2")
  return %y : tensor<?x96xf32>
}

// A per-token scale blocked along K with another block size is not one
// scale per row: the kernel does not take it (generic, with the reason).
// CHECK-LABEL: func.func @blocked_not_per_row(
// CHECK: qnn.matmul {{.*}}qnn.gpu_fallback = "fp8 scales the kernel does not take (it needs per-tensor or per-token activation
func.func @blocked_not_per_row(%x: tensor<?x64xf8E4M3FN>, %s: tensor<?x2xf32>) -> tensor<?x96xf32> {
  %a = qnn.dequantize %x, %s {axis = 1 : i64, block_size = 32 : i64} : (tensor<?x64xf8E4M3FN>, tensor<?x2xf32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc3")
  return %y : tensor<?x96xf32>
}

// A single static scale blocked along K on a dynamic number of rows is
// not one scale per row (the kernel would read past it): generic.
// CHECK-LABEL: func.func @static_scale_dynamic_rows(
// CHECK: qnn.matmul {{.*}}qnn.gpu_fallback = "fp8 scales the kernel does not take
func.func @static_scale_dynamic_rows(%x: tensor<?x64xf8E4M3FN>, %s: tensor<1x1xf32>) -> tensor<?x96xf32> {
  %a = qnn.dequantize %x, %s {axis = 1 : i64, block_size = 64 : i64} : (tensor<?x64xf8E4M3FN>, tensor<1x1xf32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc4")
  return %y : tensor<?x96xf32>
}

// CHECK: gpu.module @quantopt_kernels
// CHECK-DAG: gpu.func @qgpu_dynq_rows_e4m3(
// CHECK-DAG: gpu.func @qgpu_dynq_partials(
// CHECK-DAG: gpu.func @qgpu_dynq_tensor_e4m3(
// CHECK-NOT: gpu.func @qgpu_dynq_rows(
// CHECK-NOT: func.func

// SM80-LABEL: func.func @per_token(
// SM80: qnn.dynamic_quantize %{{.*}} {e4m3, per_token = true}
// SM80: qnn.matmul {{.*}}qnn.gpu_fallback = "fp8 tensor cores need sm_89 or sm_90 (target sm_80)"
// SM80-NOT: gpu.func @qgpu_dynq

// PTX-NOT: .entry qgpu_dynq_rows(
// PTX-LABEL: .entry qgpu_dynq_rows_e4m3(
// PTX: shfl.sync.bfly.b32
// PTX: min.NaN.f32
// PTX: max.NaN.f32
// PTX: neg.f32
// PTX: max.NaN.f32 {{.*}}, 0f00000000;
// PTX: div.rn.f32 %[[S:r[0-9]+]], {{.*}}, 0f43E00000;
// PTX: setp.eq.f32 {{.*}}, %[[S]], 0f00000000;
// PTX: div.rn.f32
// PTX: cvt.rn.satfinite.e4m3x2.f32
// PTX: st.global.b8
// PTX-LABEL: .entry qgpu_dynq_partials(
// PTX-LABEL: .entry qgpu_dynq_tensor_e4m3(
// PTX: div.rn.f32 {{.*}}, 0f43E00000;
// PTX: cvt.rn.satfinite.e4m3x2.f32
// PTX-NOT: .entry qgpu_dynq_tensor(
