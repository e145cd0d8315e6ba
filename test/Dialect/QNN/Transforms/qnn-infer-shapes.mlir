// RUN: quant-opt %s --qnn-infer-shapes --split-input-file | FileCheck %s

// qnn-infer-shapes replaces each result type by the more static of its
// declared and inferred types, in program order, and updates the function's
// result types to match.

// Tests that unranked results become ranked and propagate through a chain,
// and that the function result type follows.
// CHECK-LABEL: func @unranked_to_ranked
// CHECK-SAME: (%[[X:.*]]: tensor<2x?xf32>, %[[B:.*]]: tensor<4x1x1xf32>) -> tensor<4x2x?xf32>
// CHECK: %[[R:.*]] = qnn.relu %[[X]] : tensor<2x?xf32> -> tensor<2x?xf32>
// CHECK: %[[A:.*]] = qnn.add %[[R]], %[[B]] : (tensor<2x?xf32>, tensor<4x1x1xf32>) -> tensor<4x2x?xf32>
// CHECK: return %[[A]] : tensor<4x2x?xf32>
func.func @unranked_to_ranked(%x: tensor<2x?xf32>, %b: tensor<4x1x1xf32>) -> tensor<*xf32> {
  %0 = qnn.relu %x : tensor<2x?xf32> -> tensor<*xf32>
  %1 = qnn.add %0, %b : (tensor<*xf32>, tensor<4x1x1xf32>) -> tensor<*xf32>
  return %1 : tensor<*xf32>
}

// -----

// Tests that a declared type more static than the inferred one is kept.
// CHECK-LABEL: func @keeps_more_static
// CHECK: qnn.relu %{{.*}} : tensor<?x4xf32> -> tensor<3x4xf32>
// CHECK: qnn.exp %{{.*}} : tensor<3x4xf32> -> tensor<3x4xf32>
// CHECK: return %{{.*}} : tensor<3x4xf32>
func.func @keeps_more_static(%x: tensor<?x4xf32>) -> tensor<?x?xf32> {
  %0 = qnn.relu %x : tensor<?x4xf32> -> tensor<3x4xf32>
  %1 = qnn.exp %0 : tensor<3x4xf32> -> tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// -----

// Tests that a constant reshape target with 0 (copy the input dim) and -1
// (inferred from the element count) gives a static result.
// CHECK-LABEL: func @reshape_zero_minus_one
// CHECK-SAME: -> tensor<2x12xf32>
// CHECK: %[[R:.*]] = qnn.reshape %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
// CHECK: return %[[R]] : tensor<2x12xf32>
func.func @reshape_zero_minus_one(%x: tensor<2x3x4xf32>) -> tensor<*xf32> {
  %c = qnn.constant dense<[0, -1]> : tensor<2xi64>
  %0 = qnn.reshape %x, %c : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// Tests that -1 stays dynamic when the input has a dynamic dim, while the
// 0 entry still copies the (static) input dim.
// CHECK-LABEL: func @reshape_minus_one_dynamic
// CHECK: qnn.reshape %{{.*}}, %{{.*}} : (tensor<?x3x4xf32>, tensor<3xi64>) -> tensor<?x3x4xf32>
func.func @reshape_minus_one_dynamic(%x: tensor<?x3x4xf32>) -> tensor<?x?x?xf32> {
  %c = qnn.constant dense<[-1, 0, 4]> : tensor<3xi64>
  %0 = qnn.reshape %x, %c : (tensor<?x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// -----

// Tests that a non-constant reshape target gives the rank from the shape
// operand's length.
// CHECK-LABEL: func @reshape_runtime_target
// CHECK: qnn.reshape %{{.*}}, %{{.*}} : (tensor<24xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
func.func @reshape_runtime_target(%x: tensor<24xf32>, %s: tensor<3xi64>) -> tensor<*xf32> {
  %0 = qnn.reshape %x, %s : (tensor<24xf32>, tensor<3xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

// Tests that ? becomes static once a constant shape feeds expand.
// CHECK-LABEL: func @expand_constant_shape
// CHECK-SAME: -> tensor<2x3x4xf32>
// CHECK: qnn.expand %{{.*}}, %{{.*}} : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
func.func @expand_constant_shape(%x: tensor<3x1xf32>) -> tensor<?x?x?xf32> {
  %c = qnn.constant dense<[2, 1, 4]> : tensor<3xi64>
  %0 = qnn.expand %x, %c : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// -----

// Tests that cast, quantize and dequantize keep the input shape and their
// own element type.
// CHECK-LABEL: func @keeps_input_shape
// CHECK-SAME: -> (tensor<4x?xi32>, tensor<4x?xf32>)
// CHECK: %[[C:.*]] = qnn.cast %{{.*}} : tensor<4x?xf32> -> tensor<4x?xi32>
// CHECK: %[[Q:.*]] = qnn.quantize %{{.*}}, %{{.*}} : (tensor<4x?xf32>, tensor<f32>) -> tensor<4x?xui8>
// CHECK: %[[D:.*]] = qnn.dequantize %[[Q]], %{{.*}} : (tensor<4x?xui8>, tensor<f32>) -> tensor<4x?xf32>
// CHECK: return %[[C]], %[[D]] : tensor<4x?xi32>, tensor<4x?xf32>
func.func @keeps_input_shape(%x: tensor<4x?xf32>, %s: tensor<f32>) -> (tensor<*xi32>, tensor<*xf32>) {
  %0 = qnn.cast %x : tensor<4x?xf32> -> tensor<*xi32>
  %1 = qnn.quantize %x, %s : (tensor<4x?xf32>, tensor<f32>) -> tensor<*xui8>
  %2 = qnn.dequantize %1, %s : (tensor<*xui8>, tensor<f32>) -> tensor<*xf32>
  return %0, %2 : tensor<*xi32>, tensor<*xf32>
}

// -----

// Tests that a typed quantize keeps the !quant element type.
// CHECK-LABEL: func @typed_quantize
// CHECK: qnn.quantize %{{.*}} : (tensor<2x3xf32>) -> tensor<2x3x!quant.uniform<i8:f32, 5.000000e-01:3>>
func.func @typed_quantize(%x: tensor<2x3xf32>) -> tensor<*x!quant.uniform<i8:f32, 0.5:3>> {
  %0 = qnn.quantize %x : (tensor<2x3xf32>) -> tensor<*x!quant.uniform<i8:f32, 0.5:3>>
  return %0 : tensor<*x!quant.uniform<i8:f32, 0.5:3>>
}

// -----

// Tests multi-result refinement (layer_norm statistics, split) and a matmul
// fed by refined values.
// CHECK-LABEL: func @multi_result
// CHECK: qnn.layer_norm %{{.*}}, %{{.*}} : (tensor<2x6xf32>, tensor<6xf32>) -> (tensor<2x6xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
// CHECK: qnn.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 2, 4>} : tensor<2x6xf32> -> tensor<2x2xf32>, tensor<2x4xf32>
// CHECK: qnn.matmul %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
func.func @multi_result(%x: tensor<2x6xf32>, %s: tensor<6xf32>, %w: tensor<4x5xf32>) -> tensor<*xf32> {
  %0:3 = qnn.layer_norm %x, %s : (tensor<2x6xf32>, tensor<6xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
  %1:2 = qnn.split %x {axis = 1 : i64, sizes = array<i64: 2, 4>} : tensor<2x6xf32> -> tensor<2x?xf32>, tensor<?x?xf32>
  %2 = qnn.matmul %1#1, %w : (tensor<?x?xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  return %2 : tensor<*xf32>
}

// -----

// Tests that a constant slice and a squeeze/unsqueeze pair become static.
// CHECK-LABEL: func @slice_squeeze
// CHECK-SAME: -> tensor<3x4xf32>
// CHECK: qnn.slice %{{.*}}, %{{.*}}, %{{.*}} : (tensor<10x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x4xf32>
// CHECK: qnn.unsqueeze %{{.*}} {axes = array<i64: 0>} : tensor<3x4xf32> -> tensor<1x3x4xf32>
// CHECK: qnn.squeeze %{{.*}} {axes = array<i64: 0>} : tensor<1x3x4xf32> -> tensor<3x4xf32>
func.func @slice_squeeze(%x: tensor<10x4xf32>) -> tensor<?x?xf32> {
  %s = qnn.constant dense<2> : tensor<1xi64>
  %e = qnn.constant dense<5> : tensor<1xi64>
  %0 = qnn.slice %x, %s, %e : (tensor<10x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?xf32>
  %1 = qnn.unsqueeze %0 {axes = array<i64: 0>} : tensor<?x?xf32> -> tensor<?x?x?xf32>
  %2 = qnn.squeeze %1 {axes = array<i64: 0>} : tensor<?x?x?xf32> -> tensor<?x?xf32>
  return %2 : tensor<?x?xf32>
}
