// RUN: quant-opt %s --canonicalize --split-input-file | FileCheck %s

// Folders and type inference of the shape-building ops of QNNIndexOps.td:
// the Shape -> Gather -> Range / ConstantOfShape chains of LLM mask
// construction become constants when the shapes are static, and stay ops
// (with dynamic result dims) when they are not.

// Tests that range with constant operands folds to its sequence.
// CHECK-LABEL: func @range_static
// CHECK-NOT: qnn.range
// CHECK: %[[C:.*]] = qnn.constant dense<[10, 7, 4, 1]> : tensor<4xi64>
// CHECK: return %[[C]]
func.func @range_static() -> tensor<4xi64> {
  %s = qnn.constant dense<10> : tensor<i64>
  %l = qnn.constant dense<-1> : tensor<i64>
  %d = qnn.constant dense<-3> : tensor<i64>
  %0 = qnn.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// Tests that the Shape -> Gather -> Range chain of a static tensor folds.
// CHECK-LABEL: func @shape_gather_range
// CHECK-NOT: qnn.range
// CHECK: %[[C:.*]] = qnn.constant dense<[0, 1, 2]> : tensor<3xi64>
// CHECK: return %[[C]]
func.func @shape_gather_range(%x: tensor<2x3xf32>) -> tensor<3xi64> {
  %s = qnn.shape %x : tensor<2x3xf32> -> tensor<2xi64>
  %i = qnn.constant dense<1> : tensor<i64>
  %n = qnn.gather %s, %i : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %z = qnn.constant dense<0> : tensor<i64>
  %o = qnn.constant dense<1> : tensor<i64>
  %0 = qnn.range %z, %n, %o : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Tests that a range whose limit is a run-time dim stays an op with a
// dynamic length.
// CHECK-LABEL: func @range_dynamic
// CHECK: %[[N:.*]] = qnn.gather
// CHECK: qnn.range %{{.*}}, %[[N]], %{{.*}} : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
func.func @range_dynamic(%x: tensor<1x?xf32>) -> tensor<?xi64> {
  %s = qnn.shape %x : tensor<1x?xf32> -> tensor<2xi64>
  %i = qnn.constant dense<1> : tensor<i64>
  %n = qnn.gather %s, %i : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %z = qnn.constant dense<0> : tensor<i64>
  %o = qnn.constant dense<1> : tensor<i64>
  %0 = qnn.range %z, %n, %o : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// Tests that constant_of_shape of a constant shape folds to a splat.
// CHECK-LABEL: func @constant_of_shape_static
// CHECK-NOT: qnn.constant_of_shape
// CHECK: %[[C:.*]] = qnn.constant dense<0xFF800000> : tensor<2x3xf32>
// CHECK: return %[[C]]
func.func @constant_of_shape_static() -> tensor<2x3xf32> {
  %s = qnn.constant dense<[2, 3]> : tensor<2xi64>
  %0 = qnn.constant_of_shape %s {value = dense<0xFF800000> : tensor<1xf32>} : tensor<2xi64> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Tests that constant_of_shape of a shape with a run-time entry does not
// fold.
// CHECK-LABEL: func @constant_of_shape_dynamic
// CHECK: qnn.constant_of_shape %{{.*}} {value = dense<1> : tensor<1xi64>} : tensor<2xi64> -> tensor<?x?xi64>
func.func @constant_of_shape_dynamic(%s: tensor<2xi64>) -> tensor<?x?xi64> {
  %0 = qnn.constant_of_shape %s {value = dense<1> : tensor<1xi64>} : tensor<2xi64> -> tensor<?x?xi64>
  return %0 : tensor<?x?xi64>
}

// -----

// Tests that size folds for a static shape only.
// CHECK-LABEL: func @size
// CHECK-DAG: %[[C:.*]] = qnn.constant dense<24> : tensor<i64>
// CHECK-DAG: %[[D:.*]] = qnn.size %{{.*}} : tensor<?x4xf32> -> tensor<i64>
// CHECK: return %[[C]], %[[D]]
func.func @size(%x: tensor<2x3x4xf32>, %y: tensor<?x4xf32>) -> (tensor<i64>, tensor<i64>) {
  %0 = qnn.size %x : tensor<2x3x4xf32> -> tensor<i64>
  %1 = qnn.size %y : tensor<?x4xf32> -> tensor<i64>
  return %0, %1 : tensor<i64>, tensor<i64>
}
