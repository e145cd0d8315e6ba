// RUN: quant-opt %s --split-input-file --qnn-quantize-weights -verify-diagnostics | FileCheck %s

// qnn-quantize-weights evaluates qnn.quantize of a constant weight with
// constant parameters (RTN: q = saturate(rint(w / s) + z), ties to even) and
// replaces it by a constant of the storage type; the float weight is erased.

// Tests round half to even and saturation on an inline (<= 64 elements) i8
// result, scale 1:
//   0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0,
//   -1.5 -> -2, -2.5 -> -2, 200 -> 127 (saturated), -300 -> -128 (saturated).
// CHECK-LABEL: func @rtn_ties_i8
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG: %[[Q:.*]] = qnn.constant dense<{{\[\[}}0, 2, 2, 0], [-2, -2, 127, -128]]> : tensor<2x4xi8>
// CHECK-NOT: qnn.quantize
// CHECK-NOT: tensor<2x4xf32>>
// CHECK: %[[D:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
// CHECK: return %[[D]]
func.func @rtn_ties_i8() -> tensor<2x4xf32> {
  %w = qnn.constant dense<[[0.5, 1.5, 2.5, -0.5], [-1.5, -2.5, 200.0, -300.0]]> : tensor<2x4xf32>
  %s = qnn.constant dense<1.0> : tensor<f32>
  %q = qnn.quantize %w, %s : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xi8>
  %d = qnn.dequantize %q, %s : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

// Tests a per-group i4 weight (groups of 2 rows along K):
//   scales [[0.5, 2/7], [1.0, 1.5/7]]
//   group 0: 1/0.5 = 2, -2/(2/7) = -7, 3.5/0.5 = 7, 0.5/(2/7) = 1.75 -> 2
//   group 1: -7/1 = -7, 1/(1.5/7) = 4.67 -> 5, 0.75/1 -> 1, 1.5/(1.5/7) = 7
// CHECK-LABEL: func @per_group_i4
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}5.000000e-01, 0.285714298], [1.000000e+00, 0.214285716]]> : tensor<2x2xf32>
// CHECK-DAG: %[[Q:.*]] = qnn.constant dense<{{\[\[}}2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi4>
// CHECK-NOT: qnn.quantize
// CHECK: qnn.dequantize %[[Q]], %[[S]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xi4>, tensor<2x2xf32>) -> tensor<4x2xf32>
func.func @per_group_i4() -> tensor<4x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [3.5, 0.5], [-7.0, 1.0], [0.75, 1.5]]> : tensor<4x2xf32>
  %s = qnn.constant dense<[[0.5, 0.285714298], [1.0, 0.214285716]]> : tensor<2x2xf32>
  %q = qnn.quantize %w, %s {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xi4>
  %d = qnn.dequantize %q, %s {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xi4>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %d : tensor<4x2xf32>
}

// -----

// Tests per-channel ui4 with zero points (z = [0, 12]):
//   col 0, s = 4/15:   1/s = 3.75 -> 4,   4/s = 15 -> 15
//   col 1, s = 2.5/15: -2/s = -12 -> 0,   0.5/s = 3 -> 15
// CHECK-LABEL: func @per_channel_ui4_zero_points
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<[0.266666681, 0.166666672]> : tensor<2xf32>
// CHECK-DAG: %[[Z:.*]] = qnn.constant dense<[0, 12]> : tensor<2xui4>
// CHECK-DAG: %[[Q:.*]] = qnn.constant dense<{{\[\[}}4, 0], [15, 15]]> : tensor<2x2xui4>
// CHECK-NOT: qnn.quantize
// CHECK: qnn.dequantize %[[Q]], %[[S]], %[[Z]] : (tensor<2x2xui4>, tensor<2xf32>, tensor<2xui4>) -> tensor<2x2xf32>
func.func @per_channel_ui4_zero_points() -> tensor<2x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %s = qnn.constant dense<[0.266666681, 0.166666672]> : tensor<2xf32>
  %z = qnn.constant dense<[0, 12]> : tensor<2xui4>
  %q = qnn.quantize %w, %s, %z : (tensor<2x2xf32>, tensor<2xf32>, tensor<2xui4>) -> tensor<2x2xui4>
  %d = qnn.dequantize %q, %s, %z : (tensor<2x2xui4>, tensor<2xf32>, tensor<2xui4>) -> tensor<2x2xf32>
  return %d : tensor<2x2xf32>
}

// -----

// Tests that a result over 64 elements (8x9 = 72) becomes a dense_resource
// blob of the storage type, packed two i4 per byte with the lower-index
// element in the low nibble. The weight repeats -7, -4, -1, 2, 5 (scale 1),
// i.e. nibbles 9, C, F, 2, 5, so the bytes after the 4-byte alignment header
// 0x40000000 (64) are 0xC9 (-4 | -7), 0x2F (2 | -1), 0x95 (-7 | 5), 0xFC,
// 0x52, ...: 36 bytes for 72 elements. The float constant is gone.
// CHECK-LABEL: func @large_i4_blob
// CHECK-NOT: qnn.constant {{.*}} : tensor<8x9xf32>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG: %[[Q:.*]] = qnn.constant dense_resource<weight_q> : tensor<8x9xi4>
// CHECK-NOT: qnn.quantize
// CHECK-NOT: qnn.constant {{.*}} : tensor<8x9xf32>
// CHECK: qnn.dequantize %[[Q]], %[[S]] : (tensor<8x9xi4>, tensor<f32>) -> tensor<8x9xf32>
// CHECK: dialect_resources
// CHECK: weight_q: "0x40000000C92F95FC52C92F95FC52C92F95FC52C92F95FC52C92F95FC52C92F95FC52C92F95FC52C9"
func.func @large_i4_blob() -> tensor<8x9xf32> {
  %w = qnn.constant dense<[[-7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0, -1.0, 2.0], [5.0, -7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0, -1.0], [2.0, 5.0, -7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0], [-1.0, 2.0, 5.0, -7.0, -4.0, -1.0, 2.0, 5.0, -7.0], [-4.0, -1.0, 2.0, 5.0, -7.0, -4.0, -1.0, 2.0, 5.0], [-7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0, -1.0, 2.0], [5.0, -7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0, -1.0], [2.0, 5.0, -7.0, -4.0, -1.0, 2.0, 5.0, -7.0, -4.0]]> : tensor<8x9xf32>
  %s = qnn.constant dense<1.0> : tensor<f32>
  %q = qnn.quantize %w, %s : (tensor<8x9xf32>, tensor<f32>) -> tensor<8x9xi4>
  %d = qnn.dequantize %q, %s : (tensor<8x9xi4>, tensor<f32>) -> tensor<8x9xf32>
  return %d : tensor<8x9xf32>
}

// -----

// Tests a large i8 weight read from a dense_resource (fc_w, values
// 0.5 * [-7, -4, -1, 2, 5, ...], scale 0.5): the result is the blob fc_w_q
// with one byte per element (F9, FC, FF, 02, 05, ...) and fc_w is no longer
// used.
// CHECK-LABEL: func @large_i8_from_resource
// CHECK-NOT: dense_resource<fc_w>
// CHECK: %[[Q:.*]] = qnn.constant dense_resource<fc_w_q> : tensor<8x9xi8>
// CHECK-NOT: dense_resource<fc_w>
// CHECK: qnn.dequantize %[[Q]], %{{.*}} : (tensor<8x9xi8>, tensor<f32>) -> tensor<8x9xf32>
// CHECK: fc_w_q: "0x40000000F9FCFF0205F9FCFF0205
func.func @large_i8_from_resource() -> tensor<8x9xf32> {
  %w = qnn.constant dense_resource<fc_w> : tensor<8x9xf32>
  %s = qnn.constant dense<0.5> : tensor<f32>
  %q = qnn.quantize %w, %s : (tensor<8x9xf32>, tensor<f32>) -> tensor<8x9xi8>
  %d = qnn.dequantize %q, %s : (tensor<8x9xi8>, tensor<f32>) -> tensor<8x9xf32>
  return %d : tensor<8x9xf32>
}

{-#
  dialect_resources: {
    builtin: {
      fc_w: "0x04000000000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0000000BF0000803F00002040000060C0000000C0"
    }
  }
#-}

// -----

// Tests that a quantize of a non-constant (an activation) is left for run
// time.
// CHECK-LABEL: func @activation_untouched
// CHECK-SAME: (%[[X:.*]]: tensor<2x2xf32>)
// CHECK: %[[Q:.*]] = qnn.quantize %[[X]], %{{.*}} : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
// CHECK: qnn.dequantize %[[Q]]
func.func @activation_untouched(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %q = qnn.quantize %x, %s : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
  %d = qnn.dequantize %q, %s : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>
  return %d : tensor<2x2xf32>
}

// -----

// Tests (-verify-diagnostics) that a weight whose dense_resource has no blob
// (elided when the IR was printed) is an error that says the data is missing
// and how to get it, not a silent skip.
func.func @missing_blob() -> tensor<2x2xf32> {
  %w = qnn.constant dense_resource<missing> : tensor<2x2xf32>
  %s = qnn.constant dense<1.0> : tensor<f32>
  // expected-error @+1 {{'qnn.quantize' op cannot quantize weight 'tensor<2x2xf32>': its data is not available (weights elided when the IR was printed? re-import with --emit-weights)}}
  %q = qnn.quantize %w, %s : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
  %d = qnn.dequantize %q, %s : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>
  return %d : tensor<2x2xf32>
}
