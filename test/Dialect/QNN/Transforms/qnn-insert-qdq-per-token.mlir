// RUN: quant-opt %s --qnn-insert-qdq='scheme=w8a8 activation-mode=dynamic activation-granularity=per-token' | FileCheck %s
// RUN: quant-opt %s --qnn-insert-qdq='scheme=w8a8 activation-mode=dynamic activation-granularity=per-token' \
// RUN:   --qnn-quantize-weights --qnn-fuse-quantized-matmul --canonicalize | FileCheck %s --check-prefix=FUSED
// RUN: quant-opt %s --qnn-insert-qdq='scheme=fp8 activation-mode=dynamic activation-granularity=per-token' \
// RUN:   --qnn-quantize-weights --qnn-fuse-quantized-matmul --canonicalize | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %s --qnn-insert-qdq='scheme=fp8 activation-mode=dynamic' | FileCheck %s --check-prefix=FP8T

// Tests that dynamic per-token W8A8 quantizes each activation row at run time
// (scale and zero point of shape [M, 1]) and dequantizes it as ONNX blocked
// DequantizeLinear along the last axis with one block per row (block_size =
// K = 4), and that fusion keeps the per-row parameters as the integer
// matmul's lhs scale and zero point.
// CHECK-LABEL: func.func @per_token
// CHECK:       %[[Q:.*]], %[[S:.*]], %[[Z:.*]] = qnn.dynamic_quantize %arg0 {per_token = true} : tensor<3x4xf32> -> tensor<3x4xui8>, tensor<3x1xf32>, tensor<3x1xui8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[Q]], %[[S]], %[[Z]] {block_size = 4 : i64} : (tensor<3x4xui8>, tensor<3x1xf32>, tensor<3x1xui8>) -> tensor<3x4xf32>
// CHECK:       qnn.matmul %[[D]], %{{.*}} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>

// FUSED-LABEL: func.func @per_token
// FUSED:       %[[Q:.*]], %[[S:.*]], %[[Z:.*]] = qnn.dynamic_quantize %arg0 {per_token = true}
// FUSED:       qnn.quantized_matmul %[[Q]], %{{.*}}, %[[S]], %[[Z]], %{{.*}} : (tensor<3x4xui8>, tensor<4x2xi8>, tensor<3x1xf32>, tensor<3x1xui8>, tensor<2xf32>) -> tensor<3x2xf32>
// Tests that the fp8 scheme with dynamic activations quantizes each row
// (or the tensor) to e4m3 at run time: the dequantize takes the scale and
// no zero point (always 0 for e4m3), and the integer fusion leaves the
// pair alone (the fp8 kernel matches it on the GPU; the CPU dequantizes).
// FP8-LABEL: func.func @per_token
// FP8:       %[[Q:.*]], %[[S:.*]], %{{.*}} = qnn.dynamic_quantize %arg0 {e4m3, per_token = true} : tensor<3x4xf32> -> tensor<3x4xf8E4M3FN>, tensor<3x1xf32>, tensor<3x1xf8E4M3FN>
// FP8:       %[[D:.*]] = qnn.dequantize %[[Q]], %[[S]] {block_size = 4 : i64} : (tensor<3x4xf8E4M3FN>, tensor<3x1xf32>) -> tensor<3x4xf32>
// FP8:       qnn.matmul %[[D]], %{{.*}} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// FP8T-LABEL: func.func @per_token
// FP8T:       %[[Q:.*]], %[[S:.*]], %{{.*}} = qnn.dynamic_quantize %arg0 {e4m3} : tensor<3x4xf32> -> tensor<3x4xf8E4M3FN>, tensor<f32>, tensor<f8E4M3FN>
// FP8T:       qnn.dequantize %[[Q]], %[[S]] : (tensor<3x4xf8E4M3FN>, tensor<f32>) -> tensor<3x4xf32>
func.func @per_token(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [3.5, 0.5], [-7.0, 1.0], [0.75, 1.5]]> : tensor<4x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
