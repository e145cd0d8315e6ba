// convert-qnn-to-cpu: float8 E4M3FN values are carried as bytes (i8).
// Quantize divides by the scale, adds the zero point and encodes (round to
// nearest even on the f32 bits, subnormals by round(|x| * 2^9), saturation
// to 448 or NaN past it); dequantize decodes and multiplies. Constants keep
// their bytes. (Bit-exactness against onnxruntime / onnx.reference:
// test/e2e/check_fp8.py.)
// RUN: quant-opt %s --convert-qnn-to-cpu | FileCheck %s

// CHECK-LABEL: func.func @qdq(
// CHECK-SAME: %[[X:.*]]: tensor<?xf32>) -> tensor<?xf32>
// CHECK: %[[Z:.*]] = arith.constant dense<0> : tensor<i8>
// The quantize: x / s + decode(zp), then the encoding.
// CHECK: linalg.generic
// CHECK: arith.divf
// CHECK: arith.addf
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 524287 : i32
// CHECK: math.roundeven
// CHECK: arith.constant 126 : i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: } -> tensor<?xi8>
// The dequantize: decode (normal and subnormal), minus zp, times scale.
// CHECK: linalg.generic
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.constant 0.001953125 : f32
// CHECK: arith.constant 2143289344 : i32
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: } -> tensor<?xf32>
func.func @qdq(%x: tensor<?xf32>) -> tensor<?xf32> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %z = qnn.constant dense<0.0> : tensor<f8E4M3FN>
  %q = qnn.quantize %x, %s, %z : (tensor<?xf32>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<?xf8E4M3FN>
  %d = qnn.dequantize %q, %s, %z : (tensor<?xf8E4M3FN>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<?xf32>
  return %d : tensor<?xf32>
}

// Without saturation no clamp to 448: overflow becomes NaN (0x7F).
// CHECK-LABEL: func.func @no_saturate(
// CHECK-NOT: arith.minimumf
// CHECK: arith.constant 127 : i32
func.func @no_saturate(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %q = qnn.quantize %x, %s {saturate = false} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf8E4M3FN>
  return %q : tensor<4xf8E4M3FN>
}

// A constant keeps its encoding: 1.0 = 0x38, -2.0 = 0xC0, 448 = 0x7E.
// CHECK-LABEL: func.func @constant(
// CHECK: arith.constant dense<[56, -64, 126]> : tensor<3xi8>
func.func @constant() -> tensor<3xf32> {
  %w = qnn.constant dense<[1.0, -2.0, 448.0]> : tensor<3xf8E4M3FN>
  %s = qnn.constant dense<1.0> : tensor<f32>
  %d = qnn.dequantize %w, %s : (tensor<3xf8E4M3FN>, tensor<f32>) -> tensor<3xf32>
  return %d : tensor<3xf32>
}

// Dynamic e4m3 per token: each row's max |x| (maximumf from 0, so NaN
// propagates and an empty row gives 0), the scale max / 448 or 1 where that
// is 0, zero points 0, and the saturating encoding of x / scale with NaN as
// the canonical 0x7F (127).
// CHECK-LABEL: func.func @dynamic_per_token(
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: } -> tensor<?xf32>
// CHECK: linalg.generic
// CHECK: %[[S:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: arith.cmpf oeq, %[[S]], %{{.*}} : f32
// CHECK: arith.select
// CHECK: } -> tensor<?xf32>
// CHECK: linalg.generic
// CHECK: arith.constant 0 : i8
// CHECK: } -> tensor<?xi8>
// CHECK: linalg.generic
// CHECK: %[[V:.*]] = arith.divf
// CHECK: arith.cmpf uno, %[[V]], %[[V]] : f32
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK: math.roundeven
// CHECK: arith.select %{{.*}}, %c127_i8, %{{.*}} : i8
// CHECK: } -> tensor<?x8xi8>
// CHECK: tensor.reshape %{{.*}}(%{{.*}}) : (tensor<?xf32>, tensor<2xindex>) -> tensor<?x1xf32>
func.func @dynamic_per_token(%x: tensor<?x8xf32>) -> (tensor<?x8xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>) {
  %q, %s, %z = qnn.dynamic_quantize %x {per_token = true, e4m3} : tensor<?x8xf32> -> tensor<?x8xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>
  return %q, %s, %z : tensor<?x8xf8E4M3FN>, tensor<?x1xf32>, tensor<?x1xf8E4M3FN>
}
