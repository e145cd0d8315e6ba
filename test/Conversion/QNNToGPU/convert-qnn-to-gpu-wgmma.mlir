// Tests that with convert-qnn-to-gpu{kernel=w8a8-wgmma} 8-bit matmuls take the sm_90a
// warpgroup variant of the int8 kernel (qgpu_w8a8_wg_u8 / _s8:
// wgmma.mma_async m64n128k32 on K-major shared tiles described by matrix
// descriptors, the int8 kernel's epilogue), the weight packed in the
// kernel's shared-memory image. The module is built for sm_90a (warpgroup
// MMA exists nowhere else) and its PTX assembles; other chips are refused.
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90 kernel=w8a8-wgmma" | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90 kernel=w8a8-wgmma" --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX
// RUN: not quant-opt %s --convert-qnn-to-gpu="chip=sm_80 kernel=w8a8-wgmma" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SM80

// CHECK-LABEL: func.func @per_token_gelu_requant(
// CHECK: arith.constant dense_resource<gelu_layer.w8a8> : tensor<8192xi8>
// CHECK: call @quantopt_launch_qgpu_w8a8_wg_u8({{.*}}reason = "uint8 activations x int8 weights on int8 tensor cores (sm_90a warpgroup MMA wgmma m64n128k32, forced by kernel=w8a8-wgmma, 128x128 tiles
// CHECK-LABEL: func.func @per_tensor(
// CHECK: call @quantopt_launch_qgpu_w8a8_wg_s8(
// CHECK: gpu.func @qgpu_w8a8_wg_s8(
// The descriptors' leading (K) and stride (M/N) byte offsets: 2048 and 128.
// CHECK: arith.constant 34368126976 : i64
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 32>, D[<s32>, <one>, <wrapped>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: gpu.func @qgpu_w8a8_wg_u8(
// CHECK: nvvm.wgmma.mma_async {{.*}}A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
// SM80: kernel=w8a8-wgmma needs chip sm_90 (warpgroup MMA is sm_90a only), got sm_80
// PTX: .target sm_90a
// PTX-LABEL: .entry qgpu_w8a8_wg_s8(
// PTX: fence.proxy.async.shared::cta
// PTX: cp.async.cg.shared.global
// PTX: wgmma.fence.sync.aligned
// PTX: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8
// PTX: wgmma.commit_group.sync.aligned
// PTX: wgmma.wait_group.sync.aligned 0
func.func @per_token_gelu_requant(%x: tensor<?x8x64xui8>, %sa: tensor<?x8x1xf32>, %za: tensor<?x8x1xui8>) -> tensor<?x8x96xi8> {
  %w = qnn.constant dense<-3> : tensor<64x96xi8>
  %sb = qnn.constant dense<0.01> : tensor<96xf32>
  %b = qnn.constant dense<7> : tensor<96xi32>
  %so = qnn.constant dense<0.05> : tensor<f32>
  %zo = qnn.constant dense<3> : tensor<i8>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb bias(%b) output(%so, %zo) {activation = "gelu"} : (tensor<?x8x64xui8>, tensor<64x96xi8>, tensor<?x8x1xf32>, tensor<?x8x1xui8>, tensor<96xf32>, tensor<96xi32>, tensor<f32>, tensor<i8>) -> tensor<?x8x96xi8> loc("gelu_layer")
  return %0 : tensor<?x8x96xi8>
}

func.func @per_tensor(%x: tensor<32x128xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> tensor<32x256xf32> {
  %w = qnn.constant dense<5> : tensor<128x256xi8>
  %sb = qnn.constant dense<0.5> : tensor<f32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<32x128xi8>, tensor<128x256xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
  return %0 : tensor<32x256xf32>
}
