// Tests that with convert-qnn-to-gpu an fp8 layer of the fp8 scheme, matmul(dequantize(e4m3
// activations), dequantize(constant e4m3 weight)), becomes a launch of the
// fp8 tensor-core kernel (qgpu_fp8_e4m3: mma.sync m16n8k32 e4m3 x e4m3 ->
// f32) on sm_89/sm_90, the weight packed like the int8 kernel's and the
// scales passed as device blobs; on sm_80 it stays generic with the reason.
// A following add of a constant per-column f32 bias and relu / gelu (erf) /
// silu fuse into the kernel's epilogue. Its PTX (ISA 8.4) assembles for
// sm_89 and sm_90.
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_90 | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_90 --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: quant-opt %s --convert-qnn-to-gpu=chip=sm_89 --canonicalize | quant-translate --emit-ptx --target sm_89 - | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @fp8_layer(
// CHECK-NOT: qnn.matmul
// CHECK: %[[A:.*]] = qnn.quantize %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<f32>) -> tensor<?x64xf8E4M3FN>
// CHECK: builtin.unrealized_conversion_cast %[[A]] : tensor<?x64xf8E4M3FN> to tensor<?x64xi8>
// CHECK: arith.constant dense_resource<fc.fp8> : tensor<8192xi8>
// CHECK: call @quantopt_launch_qgpu_fp8_e4m3(
// CHECK-SAME: name = "fp8", reason = "float8 e4m3 activations x e4m3 weights on fp8 tensor cores{{.*}}per-column weight scale, epilogue: none, f32 output"
// CHECK-NOT: qnn.dequantize

// CHECK-LABEL: func.func @fp8_bias_gelu(
// CHECK: %[[C:.*]] = arith.constant dense_resource<fc2.fp8_columns> : tensor<1024xi8>
// The act argument (2: gelu) before the output type.
// CHECK: call @quantopt_launch_qgpu_fp8_e4m3({{.*}}, %c2_i32, %c0_i32{{.*}}) {{.*}}reason = "{{.*}}per-tensor weight scale, epilogue: bias + gelu, f32 output"
// CHECK-NOT: qnn.add
// CHECK-NOT: qnn.gelu
// CHECK: return

// The next layer's quantize to e4m3 fuses too (output type 3: e4m3 bytes,
// the output scale as a blob), so e4m3 activations flow between layers.
// CHECK-LABEL: func.func @fp8_bias_relu_requant(
// CHECK: arith.constant dense_resource<fc3.output_scale> : tensor<64xi8>
// CHECK: call @quantopt_launch_qgpu_fp8_e4m3({{.*}}, %c1_i32{{(_[0-9]+)?}}, %c3_i32) {{.*}}reason = "{{.*}}epilogue: bias + relu + the next layer's e4m3 quantize"
// CHECK: %[[Q:.*]] = builtin.unrealized_conversion_cast %{{.*}} : tensor<?x96xi8> to tensor<?x96xf8E4M3FN>
// CHECK-NOT: qnn.quantize
// CHECK: return %[[Q]]
// SM80: module attributes {qnn.gpu_fallbacks = [{choice = "generic", node = "fc", reason = "fp8 tensor cores need sm_89 or sm_90 (target sm_80)"}, {choice = "generic", node = "fc2",
// SM80: qnn.matmul {{.*}}qnn.gpu_fallback = "fp8 tensor cores need sm_89 or sm_90 (target sm_80)"
// PTX: .version 8.4
// PTX-LABEL: .entry qgpu_fp8_e4m3(
// PTX: cp.async.cg.shared.global
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32
// PTX: cvt.rn.satfinite.e4m3x2.f32
func.func @fp8_layer(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %sa = qnn.constant dense<0.03125> : tensor<f32>
  %qa = qnn.quantize %x, %sa : (tensor<?x64xf32>, tensor<f32>) -> tensor<?x64xf8E4M3FN>
  %a = qnn.dequantize %qa, %sa : (tensor<?x64xf8E4M3FN>, tensor<f32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<96xf32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<96xf32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc")
  return %y : tensor<?x96xf32>
}

func.func @fp8_bias_gelu(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %sa = qnn.constant dense<0.03125> : tensor<f32>
  %qa = qnn.quantize %x, %sa : (tensor<?x64xf32>, tensor<f32>) -> tensor<?x64xf8E4M3FN>
  %a = qnn.dequantize %qa, %sa : (tensor<?x64xf8E4M3FN>, tensor<f32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc2")
  %b = qnn.constant dense<0.125> : tensor<96xf32>
  %yb = qnn.add %y, %b : (tensor<?x96xf32>, tensor<96xf32>) -> tensor<?x96xf32>
  %g = qnn.gelu %yb : tensor<?x96xf32> -> tensor<?x96xf32>
  return %g : tensor<?x96xf32>
}


func.func @fp8_bias_relu_requant(%x: tensor<?x64xf32>) -> tensor<?x96xf8E4M3FN> {
  %sa = qnn.constant dense<0.03125> : tensor<f32>
  %qa = qnn.quantize %x, %sa : (tensor<?x64xf32>, tensor<f32>) -> tensor<?x64xf8E4M3FN>
  %a = qnn.dequantize %qa, %sa : (tensor<?x64xf8E4M3FN>, tensor<f32>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32> loc("fc3")
  %b = qnn.constant dense<0.125> : tensor<96xf32>
  %yb = qnn.add %y, %b : (tensor<?x96xf32>, tensor<96xf32>) -> tensor<?x96xf32>
  %r = qnn.relu %yb : tensor<?x96xf32> -> tensor<?x96xf32>
  %so = qnn.constant dense<0.5> : tensor<f32>
  %q = qnn.quantize %r, %so : (tensor<?x96xf32>, tensor<f32>) -> tensor<?x96xf8E4M3FN>
  return %q : tensor<?x96xf8E4M3FN>
}

// A zero point the compiler cannot see (a run-time value) is not taken:
// generic, with the reason.
// CHECK-LABEL: func.func @fp8_runtime_zero_point(
// CHECK: qnn.matmul {{.*}}qnn.gpu_fallback = "fp8 scales the kernel does not take
// The kernel module, after the functions.
// CHECK: gpu.func @qgpu_fp8_e4m3(
// CHECK: llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32
func.func @fp8_runtime_zero_point(%x: tensor<?x64xf32>, %z: tensor<f8E4M3FN>) -> tensor<?x96xf32> {
  %sa = qnn.constant dense<0.03125> : tensor<f32>
  %qa = qnn.quantize %x, %sa, %z : (tensor<?x64xf32>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<?x64xf8E4M3FN>
  %a = qnn.dequantize %qa, %sa, %z : (tensor<?x64xf8E4M3FN>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<?x64xf32>
  %w = qnn.constant dense<1.5> : tensor<64x96xf8E4M3FN>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %wd = qnn.dequantize %w, %sw : (tensor<64x96xf8E4M3FN>, tensor<f32>) -> tensor<64x96xf32>
  %y = qnn.matmul %a, %wd : (tensor<?x64xf32>, tensor<64x96xf32>) -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

// The bias is the columns blob's second half ([Npad] f32 after [Npad]
// unused words): 0.125 = 0x3E000000 for the 96 columns, 0 for the padding
// (the blob starts with its alignment, 64).
// CHECK: fc2.fp8_columns: "0x40000000{{(0{128}){8}()}}{{(0000003E){96}()}}{{(0{128}){2}()}}"
