// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// Round trip of the `qnn` quantization ops in both the custom and the
// generic form.

//===----------------------------------------------------------------------===//
// quantize / dequantize with explicit scale and zero-point operands
//===----------------------------------------------------------------------===//

// Tests per-tensor quantize/dequantize with a rank-0 scale, with and without
// a zero point, on every storage type.
// CHECK-LABEL: func @qdq_per_tensor_storage_types
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x8xf32>, %[[S:[^:]*]]: tensor<f32>
func.func @qdq_per_tensor_storage_types(
    %x: tensor<?x8xf32>, %s: tensor<f32>, %zi8: tensor<i8>, %zui8: tensor<ui8>,
    %zi4: tensor<i4>, %zui4: tensor<ui4>, %zi16: tensor<i16>)
    -> (tensor<?x8xi8>, tensor<?x8xui8>, tensor<?x8xi4>, tensor<?x8xui4>,
        tensor<?x8xi16>, tensor<?x8xf8E4M3FN>, tensor<?x8xf8E5M2>, tensor<?x8xf32>) {
  // CHECK: %[[Q0:.*]] = qnn.quantize %[[X]], %[[S]], %{{.*}} : (tensor<?x8xf32>, tensor<f32>, tensor<i8>) -> tensor<?x8xi8>
  // CHECK: %[[Q1:.*]] = qnn.quantize %[[X]], %[[S]], %{{.*}} : (tensor<?x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<?x8xui8>
  // CHECK: %[[Q2:.*]] = qnn.quantize %[[X]], %[[S]], %{{.*}} : (tensor<?x8xf32>, tensor<f32>, tensor<i4>) -> tensor<?x8xi4>
  // CHECK: %[[Q3:.*]] = qnn.quantize %[[X]], %[[S]], %{{.*}} : (tensor<?x8xf32>, tensor<f32>, tensor<ui4>) -> tensor<?x8xui4>
  // CHECK: %[[Q4:.*]] = qnn.quantize %[[X]], %[[S]], %{{.*}} : (tensor<?x8xf32>, tensor<f32>, tensor<i16>) -> tensor<?x8xi16>
  // CHECK: %[[Q5:.*]] = qnn.quantize %[[X]], %[[S]] : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf8E4M3FN>
  // CHECK: %[[Q6:.*]] = qnn.quantize %[[X]], %[[S]] {saturate = false} : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf8E5M2>
  // CHECK: %[[D:.*]] = qnn.dequantize %[[Q1]], %[[S]], %{{.*}} : (tensor<?x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<?x8xf32>
  // CHECK: return %[[Q0]], %[[Q1]], %[[Q2]], %[[Q3]], %[[Q4]], %[[Q5]], %[[Q6]], %[[D]]
  %0 = qnn.quantize %x, %s, %zi8 : (tensor<?x8xf32>, tensor<f32>, tensor<i8>) -> tensor<?x8xi8>
  %1 = qnn.quantize %x, %s, %zui8 : (tensor<?x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<?x8xui8>
  %2 = qnn.quantize %x, %s, %zi4 : (tensor<?x8xf32>, tensor<f32>, tensor<i4>) -> tensor<?x8xi4>
  %3 = qnn.quantize %x, %s, %zui4 : (tensor<?x8xf32>, tensor<f32>, tensor<ui4>) -> tensor<?x8xui4>
  %4 = qnn.quantize %x, %s, %zi16 : (tensor<?x8xf32>, tensor<f32>, tensor<i16>) -> tensor<?x8xi16>
  %5 = qnn.quantize %x, %s : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf8E4M3FN>
  %6 = qnn.quantize %x, %s {saturate = false} : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf8E5M2>
  %7 = qnn.dequantize %1, %s, %zui8 : (tensor<?x8xui8>, tensor<f32>, tensor<ui8>) -> tensor<?x8xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<?x8xi8>, tensor<?x8xui8>, tensor<?x8xi4>, tensor<?x8xui4>, tensor<?x8xi16>, tensor<?x8xf8E4M3FN>, tensor<?x8xf8E5M2>, tensor<?x8xf32>
}

// Tests that a one-element 1-D scale is per tensor, and that dequantize
// accepts an i32 input (bias) and f8 inputs.
// CHECK-LABEL: func @qdq_per_tensor_1d
func.func @qdq_per_tensor_1d(%x: tensor<4x8xf16>, %s: tensor<1xf16>, %z: tensor<1xi8>,
                             %b: tensor<8xi32>, %bs: tensor<f32>, %f8: tensor<4x8xf8E4M3FN>)
    -> (tensor<4x8xi8>, tensor<8xf32>, tensor<4x8xf16>) {
  // CHECK: %[[Q:.*]] = qnn.quantize %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x8xf16>, tensor<1xf16>, tensor<1xi8>) -> tensor<4x8xi8>
  // CHECK: %[[B:.*]] = qnn.dequantize %{{.*}}, %{{.*}} : (tensor<8xi32>, tensor<f32>) -> tensor<8xf32>
  // CHECK: %[[F:.*]] = qnn.dequantize %{{.*}}, %{{.*}} : (tensor<4x8xf8E4M3FN>, tensor<1xf16>) -> tensor<4x8xf16>
  // CHECK: return %[[Q]], %[[B]], %[[F]]
  %0 = qnn.quantize %x, %s, %z : (tensor<4x8xf16>, tensor<1xf16>, tensor<1xi8>) -> tensor<4x8xi8>
  %1 = qnn.dequantize %b, %bs : (tensor<8xi32>, tensor<f32>) -> tensor<8xf32>
  %2 = qnn.dequantize %f8, %s : (tensor<4x8xf8E4M3FN>, tensor<1xf16>) -> tensor<4x8xf16>
  return %0, %1, %2 : tensor<4x8xi8>, tensor<8xf32>, tensor<4x8xf16>
}

// Tests per-axis quantize/dequantize: the default axis 1 and an explicit
// axis 0, on a dynamic dim.
// CHECK-LABEL: func @qdq_per_axis
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x8xf32>, %[[S8:[^:]*]]: tensor<8xf32>, %[[Z8:[^:]*]]: tensor<8xi8>, %[[SD:[^:]*]]: tensor<?xf32>)
func.func @qdq_per_axis(%x: tensor<?x8xf32>, %s8: tensor<8xf32>, %z8: tensor<8xi8>, %sd: tensor<?xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xui4>) {
  // CHECK: %[[Q:.*]] = qnn.quantize %[[X]], %[[S8]], %[[Z8]] : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xi8>) -> tensor<?x8xi8>
  // CHECK: %[[D:.*]] = qnn.dequantize %[[Q]], %[[S8]], %[[Z8]] {axis = -1 : i64} : (tensor<?x8xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<?x8xf32>
  // CHECK: %[[Q0:.*]] = qnn.quantize %[[X]], %[[SD]] {axis = 0 : i64} : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xui4>
  // CHECK: return %[[D]], %[[Q0]]
  %0 = qnn.quantize %x, %s8, %z8 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xi8>) -> tensor<?x8xi8>
  %1 = qnn.dequantize %0, %s8, %z8 {axis = -1 : i64} : (tensor<?x8xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<?x8xf32>
  %2 = qnn.quantize %x, %sd {axis = 0 : i64} : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xui4>
  return %1, %2 : tensor<?x8xf32>, tensor<?x8xui4>
}

// Tests blocked quantize/dequantize: the scale has the data's rank and
// ceil(dim / block_size) entries along the axis (ceil(40 / 16) = 3); the
// axis may be negative.
// CHECK-LABEL: func @qdq_blocked
// CHECK-SAME: (%[[W:[^:]*]]: tensor<8x40xf32>, %[[S:[^:]*]]: tensor<8x3xf32>, %[[Z:[^:]*]]: tensor<8x3xi4>)
func.func @qdq_blocked(%w: tensor<8x40xf32>, %s: tensor<8x3xf32>, %z: tensor<8x3xi4>) -> tensor<8x40xf32> {
  // CHECK: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]], %[[Z]] {block_size = 16 : i64} : (tensor<8x40xf32>, tensor<8x3xf32>, tensor<8x3xi4>) -> tensor<8x40xi4>
  // CHECK: %[[D:.*]] = qnn.dequantize %[[Q]], %[[S]], %[[Z]] {axis = -1 : i64, block_size = 16 : i64} : (tensor<8x40xi4>, tensor<8x3xf32>, tensor<8x3xi4>) -> tensor<8x40xf32>
  // CHECK: return %[[D]]
  %0 = qnn.quantize %w, %s, %z {block_size = 16 : i64} : (tensor<8x40xf32>, tensor<8x3xf32>, tensor<8x3xi4>) -> tensor<8x40xi4>
  %1 = qnn.dequantize %0, %s, %z {axis = -1 : i64, block_size = 16 : i64} : (tensor<8x40xi4>, tensor<8x3xf32>, tensor<8x3xi4>) -> tensor<8x40xf32>
  return %1 : tensor<8x40xf32>
}

//===----------------------------------------------------------------------===//
// quantize / dequantize with !quant.uniform element types
//===----------------------------------------------------------------------===//

// Tests the typed per-tensor form: parameters live in the element type and
// there are no scale/zero-point operands.
// CHECK-LABEL: func @qdq_typed_per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
func.func @qdq_typed_per_tensor(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // CHECK: %[[Q:.*]] = qnn.quantize %[[X]] : (tensor<?x4xf32>) -> tensor<?x4x!quant.uniform<i8:f32, 5.000000e-01:3>>
  // CHECK: %[[D:.*]] = qnn.dequantize %[[Q]] : (tensor<?x4x!quant.uniform<i8:f32, 5.000000e-01:3>>) -> tensor<?x4xf32>
  // CHECK: return %[[D]]
  %0 = qnn.quantize %x : (tensor<?x4xf32>) -> tensor<?x4x!quant.uniform<i8:f32, 0.5:3>>
  %1 = qnn.dequantize %0 : (tensor<?x4x!quant.uniform<i8:f32, 0.5:3>>) -> tensor<?x4xf32>
  return %1 : tensor<?x4xf32>
}

// Tests the typed per-axis form.
// CHECK-LABEL: func @qdq_typed_per_axis
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
func.func @qdq_typed_per_axis(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // CHECK: %[[Q:.*]] = qnn.quantize %[[X]] : (tensor<3x2xf32>) -> tensor<3x2x!quant.uniform<i8:f32:1, {5.000000e-01,2.500000e-01}>>
  // CHECK: %[[D:.*]] = qnn.dequantize %[[Q]] : (tensor<3x2x!quant.uniform<i8:f32:1, {5.000000e-01,2.500000e-01}>>) -> tensor<3x2xf32>
  // CHECK: return %[[D]]
  %0 = qnn.quantize %x : (tensor<3x2xf32>) -> tensor<3x2x!quant.uniform<i8:f32:1, {0.5,0.25}>>
  %1 = qnn.dequantize %0 : (tensor<3x2x!quant.uniform<i8:f32:1, {0.5,0.25}>>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

//===----------------------------------------------------------------------===//
// Quantized compute ops
//===----------------------------------------------------------------------===//

// Tests that dynamic_quantize round-trips with its three results.
// CHECK-LABEL: func @dynamic_quantize
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>)
func.func @dynamic_quantize(%x: tensor<?x16xf32>) -> (tensor<?x16xui8>, tensor<f32>, tensor<ui8>) {
  // CHECK: %[[Q:.*]], %[[S:.*]], %[[Z:.*]] = qnn.dynamic_quantize %[[X]] : tensor<?x16xf32> -> tensor<?x16xui8>, tensor<f32>, tensor<ui8>
  // CHECK: return %[[Q]], %[[S]], %[[Z]]
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<?x16xf32> -> tensor<?x16xui8>, tensor<f32>, tensor<ui8>
  return %q, %s, %z : tensor<?x16xui8>, tensor<f32>, tensor<ui8>
}

// Tests matmul_integer with no zero point, only one, and both.
// CHECK-LABEL: func @matmul_integer
// CHECK-SAME: (%[[A:[^:]*]]: tensor<?x16xui8>, %[[B:[^:]*]]: tensor<16x8xi8>, %[[ZA:[^:]*]]: tensor<ui8>, %[[ZB:[^:]*]]: tensor<8xi8>)
func.func @matmul_integer(%a: tensor<?x16xui8>, %b: tensor<16x8xi8>, %za: tensor<ui8>, %zb: tensor<8xi8>)
    -> (tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x8xi32>) {
  // CHECK: %[[M0:.*]] = qnn.matmul_integer %[[A]], %[[B]] : (tensor<?x16xui8>, tensor<16x8xi8>) -> tensor<?x8xi32>
  // CHECK: %[[M1:.*]] = qnn.matmul_integer %[[A]], %[[B]] lhs_zero_point(%[[ZA]]) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<ui8>) -> tensor<?x8xi32>
  // CHECK: %[[M2:.*]] = qnn.matmul_integer %[[A]], %[[B]] rhs_zero_point(%[[ZB]]) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<8xi8>) -> tensor<?x8xi32>
  // CHECK: %[[M3:.*]] = qnn.matmul_integer %[[A]], %[[B]] lhs_zero_point(%[[ZA]]) rhs_zero_point(%[[ZB]]) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<ui8>, tensor<8xi8>) -> tensor<?x8xi32>
  // CHECK: return %[[M0]], %[[M1]], %[[M2]], %[[M3]]
  %0 = qnn.matmul_integer %a, %b : (tensor<?x16xui8>, tensor<16x8xi8>) -> tensor<?x8xi32>
  %1 = qnn.matmul_integer %a, %b lhs_zero_point(%za) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<ui8>) -> tensor<?x8xi32>
  %2 = qnn.matmul_integer %a, %b rhs_zero_point(%zb) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<8xi8>) -> tensor<?x8xi32>
  %3 = qnn.matmul_integer %a, %b lhs_zero_point(%za) rhs_zero_point(%zb) : (tensor<?x16xui8>, tensor<16x8xi8>, tensor<ui8>, tensor<8xi8>) -> tensor<?x8xi32>
  return %0, %1, %2, %3 : tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x8xi32>, tensor<?x8xi32>
}

// Tests qlinear_matmul: the result element type is that of y_zero_point and
// the batch dimension broadcasts.
// CHECK-LABEL: func @qlinear_matmul
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x?x16xui8>, %[[AS:[^:]*]]: tensor<f32>, %[[AZ:[^:]*]]: tensor<ui8>, %[[B:[^:]*]]: tensor<16x8xi8>, %[[BS:[^:]*]]: tensor<8xf32>, %[[BZ:[^:]*]]: tensor<8xi8>, %[[YS:[^:]*]]: tensor<f32>, %[[YZ:[^:]*]]: tensor<i8>)
func.func @qlinear_matmul(%a: tensor<2x?x16xui8>, %as: tensor<f32>, %az: tensor<ui8>,
                          %b: tensor<16x8xi8>, %bs: tensor<8xf32>, %bz: tensor<8xi8>,
                          %ys: tensor<f32>, %yz: tensor<i8>) -> tensor<2x?x8xi8> {
  // CHECK: %[[Y:.*]] = qnn.qlinear_matmul %[[A]], %[[AS]], %[[AZ]], %[[B]], %[[BS]], %[[BZ]], %[[YS]], %[[YZ]] : (tensor<2x?x16xui8>, tensor<f32>, tensor<ui8>, tensor<16x8xi8>, tensor<8xf32>, tensor<8xi8>, tensor<f32>, tensor<i8>) -> tensor<2x?x8xi8>
  // CHECK: return %[[Y]]
  %0 = qnn.qlinear_matmul %a, %as, %az, %b, %bs, %bz, %ys, %yz : (tensor<2x?x16xui8>, tensor<f32>, tensor<ui8>, tensor<16x8xi8>, tensor<8xf32>, tensor<8xi8>, tensor<f32>, tensor<i8>) -> tensor<2x?x8xi8>
  return %0 : tensor<2x?x8xi8>
}

// Tests matmul_nbits (K = 40, N = 8, 4 bits, block_size 16: weight
// [8, 3, 8], 24 scales) bare and with zero_points, g_idx and bias (the
// default bits = 4 is not printed).
// CHECK-LABEL: func @matmul_nbits
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x40xf32>, %[[W:[^:]*]]: tensor<8x3x8xui8>, %[[S:[^:]*]]: tensor<24xf32>, %[[Z:[^:]*]]: tensor<8x2xui8>, %[[G:[^:]*]]: tensor<40xi32>, %[[B:[^:]*]]: tensor<8xf32>)
func.func @matmul_nbits(%x: tensor<?x?x40xf32>, %w: tensor<8x3x8xui8>, %s: tensor<24xf32>,
                        %z: tensor<8x2xui8>, %g: tensor<40xi32>, %b: tensor<8xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  // CHECK: %[[M0:.*]] = qnn.matmul_nbits %[[X]], %[[W]], %[[S]] {K = 40 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<?x?x40xf32>, tensor<8x3x8xui8>, tensor<24xf32>) -> tensor<?x?x8xf32>
  // CHECK: %[[M1:.*]] = qnn.matmul_nbits %[[X]], %[[W]], %[[S]] zero_points(%[[Z]]) g_idx(%[[G]]) bias(%[[B]]) {K = 40 : i64, N = 8 : i64, accuracy_level = 4 : i64, block_size = 16 : i64} : (tensor<?x?x40xf32>, tensor<8x3x8xui8>, tensor<24xf32>, tensor<8x2xui8>, tensor<40xi32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  // CHECK: return %[[M0]], %[[M1]]
  %0 = qnn.matmul_nbits %x, %w, %s {K = 40 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<?x?x40xf32>, tensor<8x3x8xui8>, tensor<24xf32>) -> tensor<?x?x8xf32>
  %1 = qnn.matmul_nbits %x, %w, %s zero_points(%z) g_idx(%g) bias(%b) {K = 40 : i64, N = 8 : i64, bits = 4 : i64, block_size = 16 : i64, accuracy_level = 4 : i64} : (tensor<?x?x40xf32>, tensor<8x3x8xui8>, tensor<24xf32>, tensor<8x2xui8>, tensor<40xi32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %0, %1 : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// Tests matmul_nbits with 8 bits and only a bias (weight [4, 1, 32]).
// CHECK-LABEL: func @matmul_nbits_8bit_bias
func.func @matmul_nbits_8bit_bias(%x: tensor<32xf16>, %w: tensor<4x1x32xui8>, %s: tensor<4x1xf16>, %b: tensor<4xf16>) -> tensor<4xf16> {
  // CHECK: %[[M:.*]] = qnn.matmul_nbits %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) {K = 32 : i64, N = 4 : i64, bits = 8 : i64, block_size = 32 : i64} : (tensor<32xf16>, tensor<4x1x32xui8>, tensor<4x1xf16>, tensor<4xf16>) -> tensor<4xf16>
  // CHECK: return %[[M]]
  %0 = qnn.matmul_nbits %x, %w, %s bias(%b) {K = 32 : i64, N = 4 : i64, bits = 8 : i64, block_size = 32 : i64} : (tensor<32xf16>, tensor<4x1x32xui8>, tensor<4x1xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}
