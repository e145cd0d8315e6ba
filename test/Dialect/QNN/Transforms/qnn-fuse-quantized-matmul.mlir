// RUN: quant-opt %s --split-input-file --qnn-fuse-quantized-matmul | FileCheck %s

// Weight-only part of qnn-fuse-quantized-matmul: matmul(x, dequantize(w_q))
// with a constant integer [K, N] weight and float activations becomes
// qnn.weight_only_matmul (dequantization inside the op), and a following add
// of a constant [N] bias is absorbed. The W8A8 patterns are tested
// elsewhere.

// Tests a per-group i4 weight (scale [K/G, N] blocked along axis 0): the
// fused op carries group_size = block_size and the bias add is absorbed.
// CHECK-LABEL: func @per_group_i4_bias
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK-DAG: %[[W:.*]] = qnn.constant dense<{{\[\[}}2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi4>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}5.000000e-01, 2.500000e-01], [1.000000e+00, 1.250000e-01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[B:.*]] = qnn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.matmul
// CHECK-NOT: qnn.add
// CHECK: %[[R:.*]] = qnn.weight_only_matmul %[[X]], %[[W]], %[[S]] bias(%[[B]]) {group_size = 2 : i64} : (tensor<3x4xf32>, tensor<4x2xi4>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @per_group_i4_bias(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi4>
  %s = qnn.constant dense<[[0.5, 0.25], [1.0, 0.125]]> : tensor<2x2xf32>
  %d = qnn.dequantize %w, %s {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xi4>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %b = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = qnn.add %0, %b : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// Tests a per-channel ui4 weight with zero points (scale [N] on axis 1):
// group_size 0 is the default and is not printed, the zero points are
// carried, and a bias on the left of the add is absorbed too.
// CHECK-LABEL: func @per_channel_zero_points
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG: %[[W:.*]] = qnn.constant dense<{{\[\[}}4, 0], [15, 15]]> : tensor<2x2xui4>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<[2.500000e-01, 1.250000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[Z:.*]] = qnn.constant dense<[0, 12]> : tensor<2xui4>
// CHECK-DAG: %[[B:.*]] = qnn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NOT: qnn.add
// CHECK: %[[R:.*]] = qnn.weight_only_matmul %[[X]], %[[W]], %[[S]] zero_points(%[[Z]]) bias(%[[B]]) : (tensor<3x2xf32>, tensor<2x2xui4>, tensor<2xf32>, tensor<2xui4>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NOT: group_size
// CHECK: return %[[R]]
func.func @per_channel_zero_points(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[4, 0], [15, 15]]> : tensor<2x2xui4>
  %s = qnn.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %z = qnn.constant dense<[0, 12]> : tensor<2xui4>
  %d = qnn.dequantize %w, %s, %z : (tensor<2x2xui4>, tensor<2xf32>, tensor<2xui4>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %b = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = qnn.add %b, %0 : (tensor<2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// Tests a per-tensor i8 weight on a batched (3-D) activation, without bias.
// CHECK-LABEL: func @per_tensor_i8_batched
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x2xf32>)
// CHECK-DAG: %[[W:.*]] = qnn.constant dense<{{\[\[}}4, 0], [-15, 15]]> : tensor<2x2xi8>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[R:.*]] = qnn.weight_only_matmul %[[X]], %[[W]], %[[S]] : (tensor<2x3x2xf32>, tensor<2x2xi8>, tensor<f32>) -> tensor<2x3x2xf32>
// CHECK: return %[[R]]
func.func @per_tensor_i8_batched(%x: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %w = qnn.constant dense<[[4, 0], [-15, 15]]> : tensor<2x2xi8>
  %s = qnn.constant dense<0.25> : tensor<f32>
  %d = qnn.dequantize %w, %s : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<2x3x2xf32>, tensor<2x2xf32>) -> tensor<2x3x2xf32>
  return %0 : tensor<2x3x2xf32>
}

// -----

// Tests that scales per K row (axis 0, block_size 0) are not a weight-only
// layout: no qnn.weight_only_matmul is formed.
// CHECK-LABEL: func @per_row_not_fused
// CHECK-NOT: qnn.weight_only_matmul
// CHECK: qnn.matmul
func.func @per_row_not_fused(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[4, 0], [15, 15]]> : tensor<2x2xi8>
  %s = qnn.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %d = qnn.dequantize %w, %s {axis = 0 : i64} : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that a weight that is not a constant (a function argument) is not
// fused: the dequantize and matmul stay.
// CHECK-LABEL: func @non_constant_weight
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>, %[[WQ:.*]]: tensor<2x2xi8>)
// CHECK-NOT: qnn.weight_only_matmul
// CHECK: %[[D:.*]] = qnn.dequantize %[[WQ]], %{{.*}} : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
// CHECK: %[[M:.*]] = qnn.matmul %[[X]], %[[D]]
// CHECK: return %[[M]]
func.func @non_constant_weight(%x: tensor<3x2xf32>, %w: tensor<2x2xi8>) -> tensor<3x2xf32> {
  %s = qnn.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %d = qnn.dequantize %w, %s : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that an add whose constant is not a [N] per-channel bias (here a
// full [M, N] tensor) is not absorbed: the matmul is fused, the add stays.
// CHECK-LABEL: func @bias_wrong_shape
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-DAG: %[[C:.*]] = qnn.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: %[[M:.*]] = qnn.weight_only_matmul %[[X]], %{{.*}}, %{{.*}} : (tensor<3x2xf32>, tensor<2x2xi8>, tensor<f32>) -> tensor<3x2xf32>
// CHECK-NOT: bias(
// CHECK: %[[R:.*]] = qnn.add %[[M]], %[[C]] : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK: return %[[R]]
func.func @bias_wrong_shape(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[4, 0], [15, 15]]> : tensor<2x2xi8>
  %s = qnn.constant dense<0.25> : tensor<f32>
  %d = qnn.dequantize %w, %s : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %b = qnn.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %1 = qnn.add %0, %b : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// Tests that a bias add is not absorbed when the matmul result has another
// use (the un-biased value is still needed).
// CHECK-LABEL: func @bias_multi_use
// CHECK: %[[M:.*]] = qnn.weight_only_matmul
// CHECK-NOT: bias(
// CHECK: %[[R:.*]] = qnn.add %[[M]], %{{.*}}
// CHECK: return %[[R]], %[[M]]
func.func @bias_multi_use(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = qnn.constant dense<[[4, 0], [15, 15]]> : tensor<2x2xi8>
  %s = qnn.constant dense<0.25> : tensor<f32>
  %d = qnn.dequantize %w, %s : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %b = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = qnn.add %0, %b : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %1, %0 : tensor<3x2xf32>, tensor<3x2xf32>
}
