// RUN: quant-opt %s --canonicalize --split-input-file | FileCheck %s

// Folders of the `qnn` ops: shape arithmetic on small integer constants folds,
// float math and anything dynamic does not.

// Tests that shape of a static tensor folds to a constant.
// CHECK-LABEL: func @shape_static
// CHECK-NOT: qnn.shape
// CHECK: %[[C:.*]] = qnn.constant dense<[2, 3, 4]> : tensor<3xi64>
// CHECK: return %[[C]]
func.func @shape_static(%x: tensor<2x3x4xf32>) -> tensor<3xi64> {
  %0 = qnn.shape %x : tensor<2x3x4xf32> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Tests that shape with start/end folds when only the selected dims are
// static, with negative start clamped as in ONNX.
// CHECK-LABEL: func @shape_static_range
// CHECK-DAG: %[[TAIL:.*]] = qnn.constant dense<[3, 4]> : tensor<2xi64>
// CHECK-DAG: %[[MID:.*]] = qnn.constant dense<3> : tensor<1xi64>
// CHECK: return %[[TAIL]], %[[MID]]
func.func @shape_static_range(%x: tensor<?x3x4xf32>) -> (tensor<2xi64>, tensor<1xi64>) {
  %0 = qnn.shape %x {start = -2 : i64} : tensor<?x3x4xf32> -> tensor<2xi64>
  %1 = qnn.shape %x {start = 1 : i64, end = -1 : i64} : tensor<?x3x4xf32> -> tensor<1xi64>
  return %0, %1 : tensor<2xi64>, tensor<1xi64>
}

// -----

// Tests that shape does not fold when a selected dim is dynamic.
// CHECK-LABEL: func @shape_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK: %[[S:.*]] = qnn.shape %[[X]] : tensor<?x3xf32> -> tensor<2xi64>
// CHECK: return %[[S]]
func.func @shape_dynamic(%x: tensor<?x3xf32>) -> tensor<2xi64> {
  %0 = qnn.shape %x : tensor<?x3xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Tests integer add, sub and mul folds, with a scalar and a row broadcast.
// CHECK-LABEL: func @int_add_sub_mul
// CHECK-NOT: qnn.add
// CHECK-NOT: qnn.sub
// CHECK-NOT: qnn.mul
// CHECK-DAG: %[[ADD:.*]] = qnn.constant dense<{{\[}}[11, 22], [13, 24]]> : tensor<2x2xi64>
// CHECK-DAG: %[[SUB:.*]] = qnn.constant dense<[-9, -8]> : tensor<2xi64>
// CHECK-DAG: %[[MUL:.*]] = qnn.constant dense<[10, 20]> : tensor<2xi64>
// CHECK: return %[[ADD]], %[[SUB]], %[[MUL]]
func.func @int_add_sub_mul() -> (tensor<2x2xi64>, tensor<2xi64>, tensor<2xi64>) {
  %a = qnn.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  %b = qnn.constant dense<[10, 20]> : tensor<2xi64>
  %c = qnn.constant dense<[1, 2]> : tensor<2xi64>
  %ten = qnn.constant dense<10> : tensor<i64>
  %0 = qnn.add %a, %b : (tensor<2x2xi64>, tensor<2xi64>) -> tensor<2x2xi64>
  %1 = qnn.sub %c, %ten : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %2 = qnn.mul %ten, %c : (tensor<i64>, tensor<2xi64>) -> tensor<2xi64>
  return %0, %1, %2 : tensor<2x2xi64>, tensor<2xi64>, tensor<2xi64>
}

// -----

// Tests integer div (truncating toward zero), min and max folds on i32,
// with a column broadcast.
// CHECK-LABEL: func @int_div_min_max
// CHECK-NOT: qnn.div
// CHECK-NOT: qnn.min
// CHECK-NOT: qnn.max
// CHECK-DAG: %[[DIV:.*]] = qnn.constant dense<{{\[}}[3, -3], [2, -2]]> : tensor<2x2xi32>
// CHECK-DAG: %[[MIN:.*]] = qnn.constant dense<{{\[}}[2, -7], [3, -7]]> : tensor<2x2xi32>
// CHECK-DAG: %[[MAX:.*]] = qnn.constant dense<{{\[}}[7, 2], [7, 3]]> : tensor<2x2xi32>
// CHECK: return %[[DIV]], %[[MIN]], %[[MAX]]
func.func @int_div_min_max() -> (tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>) {
  %a = qnn.constant dense<[7, -7]> : tensor<2xi32>
  %b = qnn.constant dense<[[2], [3]]> : tensor<2x1xi32>
  %0 = qnn.div %a, %b : (tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x2xi32>
  %1 = qnn.min %b, %a : (tensor<2x1xi32>, tensor<2xi32>) -> tensor<2x2xi32>
  %2 = qnn.max %a, %b : (tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x2xi32>
  return %0, %1, %2 : tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>
}

// -----

// Tests that integer division by zero is not folded.
// CHECK-LABEL: func @int_div_by_zero
// CHECK-DAG: %[[A:.*]] = qnn.constant dense<[6, 8]> : tensor<2xi64>
// CHECK-DAG: %[[B:.*]] = qnn.constant dense<[2, 0]> : tensor<2xi64>
// CHECK: %[[D:.*]] = qnn.div %[[A]], %[[B]]
// CHECK: return %[[D]]
func.func @int_div_by_zero() -> tensor<2xi64> {
  %a = qnn.constant dense<[6, 8]> : tensor<2xi64>
  %b = qnn.constant dense<[2, 0]> : tensor<2xi64>
  %0 = qnn.div %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Tests that a binary op with a non-constant operand is not folded.
// CHECK-LABEL: func @int_add_not_constant
// CHECK-SAME: (%[[X:.*]]: tensor<2xi64>)
// CHECK: %[[C:.*]] = qnn.constant dense<1> : tensor<2xi64>
// CHECK: %[[R:.*]] = qnn.add %[[X]], %[[C]]
// CHECK: return %[[R]]
func.func @int_add_not_constant(%x: tensor<2xi64>) -> tensor<2xi64> {
  %c = qnn.constant dense<1> : tensor<2xi64>
  %0 = qnn.add %x, %c : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Tests that float elementwise ops are never folded, even on constants.
// CHECK-LABEL: func @float_not_folded
// CHECK-DAG: %[[A:.*]] = qnn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = qnn.constant dense<4.000000e+00> : tensor<2xf32>
// CHECK: %[[ADD:.*]] = qnn.add %[[A]], %[[B]]
// CHECK: %[[MUL:.*]] = qnn.mul %[[ADD]], %[[B]]
// CHECK: %[[DIV:.*]] = qnn.div %[[MUL]], %[[A]]
// CHECK: %[[SQRT:.*]] = qnn.sqrt %[[DIV]]
// CHECK: %[[POW:.*]] = qnn.pow %[[SQRT]], %[[B]]
// CHECK: return %[[POW]]
func.func @float_not_folded() -> tensor<2xf32> {
  %a = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = qnn.constant dense<4.0> : tensor<2xf32>
  %0 = qnn.add %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = qnn.mul %0, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %2 = qnn.div %1, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %3 = qnn.sqrt %2 : tensor<2xf32> -> tensor<2xf32>
  %4 = qnn.pow %3, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %4 : tensor<2xf32>
}

// -----

// Tests that an integer pow of constants is not folded (pow has no folder).
// CHECK-LABEL: func @int_pow_not_folded
// CHECK: qnn.pow
func.func @int_pow_not_folded() -> tensor<2xi64> {
  %a = qnn.constant dense<[2, 3]> : tensor<2xi64>
  %0 = qnn.pow %a, %a : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Tests that cast of an i64 constant to i32 folds (sign preserved), and
// that an i64 constant widened from ui8 is zero-extended.
// CHECK-LABEL: func @cast_int_constant
// CHECK-NOT: qnn.cast
// CHECK-DAG: %[[N:.*]] = qnn.constant dense<[-1, 2, 7]> : tensor<3xi32>
// CHECK-DAG: %[[U:.*]] = qnn.constant dense<[255, 1]> : tensor<2xi64>
// CHECK: return %[[N]], %[[U]]
func.func @cast_int_constant() -> (tensor<3xi32>, tensor<2xi64>) {
  %a = qnn.constant dense<[-1, 2, 7]> : tensor<3xi64>
  %u = qnn.constant dense<[255, 1]> : tensor<2xui8>
  %0 = qnn.cast %a : tensor<3xi64> -> tensor<3xi32>
  %1 = qnn.cast %u : tensor<2xui8> -> tensor<2xi64>
  return %0, %1 : tensor<3xi32>, tensor<2xi64>
}

// -----

// Tests that a cast to the input's own type folds away, and that a cast of
// a non-constant to another type stays.
// CHECK-LABEL: func @cast_identity
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
// CHECK: %[[H:.*]] = qnn.cast %[[X]] : tensor<?x4xf32> -> tensor<?x4xf16>
// CHECK: return %[[X]], %[[H]]
func.func @cast_identity(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf16>) {
  %0 = qnn.cast %x : tensor<?x4xf32> -> tensor<?x4xf32>
  %1 = qnn.cast %x : tensor<?x4xf32> -> tensor<?x4xf16>
  return %0, %1 : tensor<?x4xf32>, tensor<?x4xf16>
}

// -----

// Tests that a float constant cast is not folded.
// CHECK-LABEL: func @cast_float_not_folded
// CHECK: qnn.cast %{{.*}} : tensor<2xf32> -> tensor<2xi32>
func.func @cast_float_not_folded() -> tensor<2xi32> {
  %a = qnn.constant dense<[1.5, 2.5]> : tensor<2xf32>
  %0 = qnn.cast %a : tensor<2xf32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// Tests that reshape, squeeze and unsqueeze of constants fold to reshaped
// constants.
// CHECK-LABEL: func @reshape_constants
// CHECK-NOT: qnn.reshape
// CHECK-NOT: qnn.squeeze
// CHECK-NOT: qnn.unsqueeze
// CHECK-DAG: %[[R:.*]] = qnn.constant dense<{{\[}}[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<[7, 8]> : tensor<2xi64>
// CHECK-DAG: %[[U:.*]] = qnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK: return %[[R]], %[[S]], %[[U]]
func.func @reshape_constants() -> (tensor<2x3xi64>, tensor<2xi64>, tensor<1x1xf32>) {
  %a = qnn.constant dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>
  %shape = qnn.constant dense<[2, -1]> : tensor<2xi64>
  %0 = qnn.reshape %a, %shape : (tensor<6xi64>, tensor<2xi64>) -> tensor<2x3xi64>
  %b = qnn.constant dense<[[7], [8]]> : tensor<2x1xi64>
  %1 = qnn.squeeze %b : tensor<2x1xi64> -> tensor<2xi64>
  %c = qnn.constant dense<0.5> : tensor<f32>
  %2 = qnn.unsqueeze %c {axes = array<i64: 0, 1>} : tensor<f32> -> tensor<1x1xf32>
  return %0, %1, %2 : tensor<2x3xi64>, tensor<2xi64>, tensor<1x1xf32>
}

// -----

// Tests that reshape to the identical static type folds away, while a
// reshape between dynamic types does not.
// CHECK-LABEL: func @reshape_identity
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<?x3xf32>, %[[S:.*]]: tensor<2xi64>)
// CHECK: %[[D:.*]] = qnn.reshape %[[Y]], %[[S]] : (tensor<?x3xf32>, tensor<2xi64>) -> tensor<?x3xf32>
// CHECK: return %[[X]], %[[D]]
func.func @reshape_identity(%x: tensor<2x3xf32>, %y: tensor<?x3xf32>, %s: tensor<2xi64>) -> (tensor<2x3xf32>, tensor<?x3xf32>) {
  %0 = qnn.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %1 = qnn.reshape %y, %s : (tensor<?x3xf32>, tensor<2xi64>) -> tensor<?x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<?x3xf32>
}

// -----

// Tests that concat of 1-D constants folds.
// CHECK-LABEL: func @concat_constants
// CHECK-NOT: qnn.concat
// CHECK: %[[C:.*]] = qnn.constant dense<[1, 2, 3, -1]> : tensor<4xi64>
// CHECK: return %[[C]]
func.func @concat_constants() -> tensor<4xi64> {
  %a = qnn.constant dense<[1, 2]> : tensor<2xi64>
  %b = qnn.constant dense<3> : tensor<1xi64>
  %c = qnn.constant dense<-1> : tensor<1xi64>
  %0 = qnn.concat %a, %b, %c {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// Tests that concat with a non-constant input does not fold.
// CHECK-LABEL: func @concat_not_constant
// CHECK-SAME: (%[[X:.*]]: tensor<1xi64>)
// CHECK: %[[R:.*]] = qnn.concat %{{.*}}, %[[X]]
// CHECK: return %[[R]]
func.func @concat_not_constant(%x: tensor<1xi64>) -> tensor<3xi64> {
  %a = qnn.constant dense<[1, 2]> : tensor<2xi64>
  %0 = qnn.concat %a, %x {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Tests that slice of a 1-D constant folds, with a negative start and with a
// negative step.
// CHECK-LABEL: func @slice_constant
// CHECK-NOT: qnn.slice
// CHECK-DAG: %[[TAIL:.*]] = qnn.constant dense<[40, 50]> : tensor<2xi64>
// CHECK-DAG: %[[REV:.*]] = qnn.constant dense<[40, 20]> : tensor<2xi64>
// CHECK: return %[[TAIL]], %[[REV]]
func.func @slice_constant() -> (tensor<2xi64>, tensor<2xi64>) {
  %a = qnn.constant dense<[10, 20, 30, 40, 50]> : tensor<5xi64>
  %start = qnn.constant dense<-2> : tensor<1xi64>
  %end = qnn.constant dense<100> : tensor<1xi64>
  %0 = qnn.slice %a, %start, %end : (tensor<5xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %s3 = qnn.constant dense<3> : tensor<1xi32>
  %e0 = qnn.constant dense<0> : tensor<1xi32>
  %step = qnn.constant dense<-2> : tensor<1xi32>
  %1 = qnn.slice %a, %s3, %e0 steps %step : (tensor<5xi64>, tensor<1xi32>, tensor<1xi32>, tensor<1xi32>) -> tensor<2xi64>
  return %0, %1 : tensor<2xi64>, tensor<2xi64>
}

// -----

// Tests that gather of a 1-D constant folds, with a negative index and with
// scalar (rank-0) indices.
// CHECK-LABEL: func @gather_constant
// CHECK-NOT: qnn.gather
// CHECK-DAG: %[[G:.*]] = qnn.constant dense<[4, 1]> : tensor<2xi64>
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<2> : tensor<i64>
// CHECK: return %[[G]], %[[S]]
func.func @gather_constant() -> (tensor<2xi64>, tensor<i64>) {
  %a = qnn.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %i = qnn.constant dense<[-1, 0]> : tensor<2xi64>
  %j = qnn.constant dense<1> : tensor<i32>
  %0 = qnn.gather %a, %i : (tensor<4xi64>, tensor<2xi64>) -> tensor<2xi64>
  %1 = qnn.gather %a, %j : (tensor<4xi64>, tensor<i32>) -> tensor<i64>
  return %0, %1 : tensor<2xi64>, tensor<i64>
}

// -----

// (An out-of-range constant gather index is a verifier error; see
// gather-indices.mlir.)

// Tests the typical shape arithmetic chain: the static part of a dynamic
// shape is gathered and concatenated into a constant reshape target.
// CHECK-LABEL: func @shape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x8xf32>)
// CHECK: %[[T:.*]] = qnn.constant dense<[32, -1]> : tensor<2xi64>
// CHECK: %[[R:.*]] = qnn.reshape %[[X]], %[[T]]
// CHECK: return %[[R]]
func.func @shape_chain(%x: tensor<?x4x8xf32>) -> tensor<?x?xf32> {
  %s = qnn.shape %x {start = 1 : i64} : tensor<?x4x8xf32> -> tensor<2xi64>
  %i0 = qnn.constant dense<0> : tensor<1xi64>
  %i1 = qnn.constant dense<1> : tensor<1xi64>
  %d0 = qnn.gather %s, %i0 : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %d1 = qnn.gather %s, %i1 : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %p = qnn.mul %d0, %d1 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %m = qnn.constant dense<-1> : tensor<1xi64>
  %t = qnn.concat %p, %m {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %0 = qnn.reshape %x, %t : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that qnn.requantize of constants folds with the exact ONNX arithmetic
// of its DequantizeLinear -> QuantizeLinear chain: q * 0.5 = [0.5, 1.5,
// -2.5, 63.5] rounds half to even to [0, 2, -2, 64], then saturation at the
// output type's range clamps 64 + 100 to 127.
// CHECK-LABEL: func @requantize_folds
// CHECK: %[[C:.*]] = qnn.constant dense<[100, 102, 98, 127]> : tensor<4xi8>
// CHECK: return %[[C]]
func.func @requantize_folds() -> tensor<4xi8> {
  %q = qnn.constant dense<[1, 3, -5, 127]> : tensor<4xi8>
  %si = qnn.constant dense<0.5> : tensor<f32>
  %zi = qnn.constant dense<0> : tensor<i8>
  %so = qnn.constant dense<1.0> : tensor<f32>
  %zo = qnn.constant dense<100> : tensor<i8>
  %r = qnn.requantize %q, %si, %zi, %so, %zo : (tensor<4xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  return %r : tensor<4xi8>
}
