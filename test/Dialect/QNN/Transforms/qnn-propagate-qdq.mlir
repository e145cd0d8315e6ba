// RUN: quant-opt %s --qnn-propagate-qdq --split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// Dequantize moves forward through layout ops
//===----------------------------------------------------------------------===//

// Tests that a per-tensor dequantize moves below a reshape: the reshape
// moves int8 data and keeps its shape operand.
// CHECK-LABEL: func @dq_through_reshape
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<4x8xi8>, %[[S:[^:]*]]: tensor<f32>, %[[Z:[^:]*]]: tensor<i8>)
// CHECK-DAG:   %[[SHAPE:.*]] = qnn.constant dense<[2, 16]> : tensor<2xi64>
// CHECK:       %[[R:.*]] = qnn.reshape %[[Q]], %[[SHAPE]] : (tensor<4x8xi8>, tensor<2xi64>) -> tensor<2x16xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[R]], %[[S]], %[[Z]] : (tensor<2x16xi8>, tensor<f32>, tensor<i8>) -> tensor<2x16xf32>
// CHECK:       return %[[D]]
func.func @dq_through_reshape(%q: tensor<4x8xi8>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<2x16xf32> {
  %shape = qnn.constant dense<[2, 16]> : tensor<2xi64>
  %d = qnn.dequantize %q, %s, %z : (tensor<4x8xi8>, tensor<f32>, tensor<i8>) -> tensor<4x8xf32>
  %r = qnn.reshape %d, %shape : (tensor<4x8xf32>, tensor<2xi64>) -> tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}

// -----

// Tests that a per-axis dequantize moves below a transpose with its axis
// permuted: axis 1 of [4, 8] becomes axis 0 of [8, 4].
// CHECK-LABEL: func @dq_through_transpose_per_axis
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<4x8xi8>, %[[S:[^:]*]]: tensor<8xf32>, %[[Z:[^:]*]]: tensor<8xi8>)
// CHECK:       %[[T:.*]] = qnn.transpose %[[Q]] {perm = array<i64: 1, 0>} : tensor<4x8xi8> -> tensor<8x4xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[T]], %[[S]], %[[Z]] {axis = 0 : i64} : (tensor<8x4xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<8x4xf32>
// CHECK:       return %[[D]]
func.func @dq_through_transpose_per_axis(%q: tensor<4x8xi8>, %s: tensor<8xf32>, %z: tensor<8xi8>) -> tensor<8x4xf32> {
  %d = qnn.dequantize %q, %s, %z : (tensor<4x8xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<4x8xf32>
  %t = qnn.transpose %d {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return %t : tensor<8x4xf32>
}

// -----

// Tests that a per-axis dequantize moves below a reshape that keeps the
// quantized dimension whole (8 stays one dimension, with 4 elements before
// it), and that its axis is renumbered (given as -1, becomes 2).
// CHECK-LABEL: func @dq_through_reshape_axis_survives
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<4x8xi8>, %[[S:[^:]*]]: tensor<8xf32>)
// CHECK:       %[[R:.*]] = qnn.reshape %[[Q]], %{{.*}} : (tensor<4x8xi8>, tensor<3xi64>) -> tensor<2x2x8xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[R]], %[[S]] {axis = 2 : i64} : (tensor<2x2x8xi8>, tensor<8xf32>) -> tensor<2x2x8xf32>
// CHECK:       return %[[D]]
func.func @dq_through_reshape_axis_survives(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> tensor<2x2x8xf32> {
  %shape = qnn.constant dense<[2, 2, 8]> : tensor<3xi64>
  %d = qnn.dequantize %q, %s {axis = -1 : i64} : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = qnn.reshape %d, %shape : (tensor<4x8xf32>, tensor<3xi64>) -> tensor<2x2x8xf32>
  return %r : tensor<2x2x8xf32>
}

// -----

// Tests that a per-axis dequantize stays above a reshape that splits the
// quantized dimension: its scales would have to be repeated, not renumbered.
// CHECK-LABEL: func @dq_reshape_splits_axis
// CHECK:       %[[D:.*]] = qnn.dequantize %{{.*}}, %{{.*}} : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK:       %[[R:.*]] = qnn.reshape %[[D]], %{{.*}} : (tensor<4x8xf32>, tensor<3xi64>) -> tensor<4x2x4xf32>
// CHECK:       return %[[R]]
func.func @dq_reshape_splits_axis(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> tensor<4x2x4xf32> {
  %shape = qnn.constant dense<[4, 2, 4]> : tensor<3xi64>
  %d = qnn.dequantize %q, %s : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = qnn.reshape %d, %shape : (tensor<4x8xf32>, tensor<3xi64>) -> tensor<4x2x4xf32>
  return %r : tensor<4x2x4xf32>
}

// -----

// Tests that squeeze and unsqueeze renumber a per-axis dimension: axis 2 of
// [1, 4, 8] is axis 1 after squeezing dim 0, and axis 2 again after
// inserting a dim at 0 (axis 1 is the default and not printed). The
// dequantize keeps its other user.
// CHECK-LABEL: func @dq_through_squeeze_unsqueeze
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x4x8xui8>, %[[S:[^:]*]]: tensor<8xf32>, %[[Z:[^:]*]]: tensor<8xui8>)
// CHECK-DAG:   %[[SQ:.*]] = qnn.squeeze %[[Q]] {axes = array<i64: 0>} : tensor<1x4x8xui8> -> tensor<4x8xui8>
// CHECK-DAG:   %[[D0:.*]] = qnn.dequantize %[[Q]], %[[S]], %[[Z]] {axis = 2 : i64} : (tensor<1x4x8xui8>, tensor<8xf32>, tensor<8xui8>) -> tensor<1x4x8xf32>
// CHECK:       %[[D1:.*]] = qnn.dequantize %[[SQ]], %[[S]], %[[Z]] : (tensor<4x8xui8>, tensor<8xf32>, tensor<8xui8>) -> tensor<4x8xf32>
// CHECK:       %[[U:.*]] = qnn.unsqueeze %[[Q]] {axes = array<i64: 0>} : tensor<1x4x8xui8> -> tensor<1x1x4x8xui8>
// CHECK:       %[[D2:.*]] = qnn.dequantize %[[U]], %[[S]], %[[Z]] {axis = 3 : i64} : (tensor<1x1x4x8xui8>, tensor<8xf32>, tensor<8xui8>) -> tensor<1x1x4x8xf32>
// CHECK:       return %[[D1]], %[[D2]], %[[D0]]
func.func @dq_through_squeeze_unsqueeze(%q: tensor<1x4x8xui8>, %s: tensor<8xf32>, %z: tensor<8xui8>)
    -> (tensor<4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x4x8xf32>) {
  %d = qnn.dequantize %q, %s, %z {axis = 2 : i64} : (tensor<1x4x8xui8>, tensor<8xf32>, tensor<8xui8>) -> tensor<1x4x8xf32>
  %sq = qnn.squeeze %d {axes = array<i64: 0>} : tensor<1x4x8xf32> -> tensor<4x8xf32>
  %u = qnn.unsqueeze %d {axes = array<i64: 0>} : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %sq, %u, %d : tensor<4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x4x8xf32>
}

// -----

// Tests that a slice moves int8 data when it does not touch the quantized
// axis, and that a slice of the quantized axis leaves the dequantize in
// place (its scales would have to be sliced too).
// CHECK-LABEL: func @dq_through_slice
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<4x8xi8>, %[[S:[^:]*]]: tensor<8xf32>)
// CHECK-DAG:   %[[AX0:.*]] = qnn.constant dense<0> : tensor<1xi64>
// CHECK-DAG:   %[[AX1:.*]] = qnn.constant dense<1> : tensor<1xi64>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK:       %[[SL:.*]] = qnn.slice %[[Q]], %{{.*}}, %{{.*}} axes %[[AX0]] : (tensor<4x8xi8>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x8xi8>
// CHECK:       %[[D0:.*]] = qnn.dequantize %[[SL]], %[[S]] : (tensor<2x8xi8>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK:       %[[KEPT:.*]] = qnn.slice %[[D]], %{{.*}}, %{{.*}} axes %[[AX1]] : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x2xf32>
// CHECK:       return %[[D0]], %[[KEPT]]
func.func @dq_through_slice(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<4x2xf32>) {
  %start = qnn.constant dense<1> : tensor<1xi64>
  %end = qnn.constant dense<3> : tensor<1xi64>
  %ax0 = qnn.constant dense<0> : tensor<1xi64>
  %ax1 = qnn.constant dense<1> : tensor<1xi64>
  %d = qnn.dequantize %q, %s : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  %0 = qnn.slice %d, %start, %end axes %ax0 : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x8xf32>
  %1 = qnn.slice %d, %start, %end axes %ax1 : (tensor<4x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x2xf32>
  return %0, %1 : tensor<2x8xf32>, tensor<4x2xf32>
}

// -----

// Tests that an embedding lookup gathers int8 rows: gather on the data of a
// per-tensor dequantize, indices untouched.
// CHECK-LABEL: func @dq_through_gather
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<100x16xi8>, %[[S:[^:]*]]: tensor<f32>, %[[Z:[^:]*]]: tensor<i8>, %[[I:[^:]*]]: tensor<?x8xi64>)
// CHECK:       %[[G:.*]] = qnn.gather %[[Q]], %[[I]] : (tensor<100x16xi8>, tensor<?x8xi64>) -> tensor<?x8x16xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[G]], %[[S]], %[[Z]] : (tensor<?x8x16xi8>, tensor<f32>, tensor<i8>) -> tensor<?x8x16xf32>
// CHECK:       return %[[D]]
func.func @dq_through_gather(%q: tensor<100x16xi8>, %s: tensor<f32>, %z: tensor<i8>, %i: tensor<?x8xi64>) -> tensor<?x8x16xf32> {
  %d = qnn.dequantize %q, %s, %z : (tensor<100x16xi8>, tensor<f32>, tensor<i8>) -> tensor<100x16xf32>
  %g = qnn.gather %d, %i : (tensor<100x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
  return %g : tensor<?x8x16xf32>
}

// -----

// Tests that a per-axis gather moves when it gathers another axis: the
// quantized axis 1 of [100, 16] becomes axis 2 behind the [?, 8] indices.
// CHECK-LABEL: func @dq_through_gather_per_axis
// CHECK:       %[[G:.*]] = qnn.gather %{{.*}}, %{{.*}} : (tensor<100x16xi8>, tensor<?x8xi64>) -> tensor<?x8x16xi8>
// CHECK:       qnn.dequantize %[[G]], %{{.*}} {axis = 2 : i64} : (tensor<?x8x16xi8>, tensor<16xf32>) -> tensor<?x8x16xf32>
func.func @dq_through_gather_per_axis(%q: tensor<100x16xi8>, %s: tensor<16xf32>, %i: tensor<?x8xi64>) -> tensor<?x8x16xf32> {
  %d = qnn.dequantize %q, %s : (tensor<100x16xi8>, tensor<16xf32>) -> tensor<100x16xf32>
  %g = qnn.gather %d, %i : (tensor<100x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
  return %g : tensor<?x8x16xf32>
}

// -----

// Tests that a concat of inputs dequantized with the same constant
// parameters (equal values, distinct constants) concatenates int8 data.
// CHECK-LABEL: func @dq_through_concat
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xi8>, %[[B:[^:]*]]: tensor<3x4xi8>)
// CHECK-DAG:   %[[S:.*]] = qnn.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[Z:.*]] = qnn.constant dense<3> : tensor<i8>
// CHECK:       %[[C:.*]] = qnn.concat %[[A]], %[[B]] {axis = 0 : i64} : (tensor<2x4xi8>, tensor<3x4xi8>) -> tensor<5x4xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[C]], %[[S]], %[[Z]] : (tensor<5x4xi8>, tensor<f32>, tensor<i8>) -> tensor<5x4xf32>
// CHECK:       return %[[D]]
func.func @dq_through_concat(%a: tensor<2x4xi8>, %b: tensor<3x4xi8>) -> tensor<5x4xf32> {
  %s0 = qnn.constant dense<0.5> : tensor<f32>
  %z0 = qnn.constant dense<3> : tensor<i8>
  %s1 = qnn.constant dense<0.5> : tensor<1xf32>
  %z1 = qnn.constant dense<3> : tensor<1xi8>
  %da = qnn.dequantize %a, %s0, %z0 : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
  %db = qnn.dequantize %b, %s1, %z1 : (tensor<3x4xi8>, tensor<1xf32>, tensor<1xi8>) -> tensor<3x4xf32>
  %c = qnn.concat %da, %db {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  return %c : tensor<5x4xf32>
}

// -----

// Tests that a concat of inputs with different scales stays in float.
// CHECK-LABEL: func @dq_concat_different_scales
// CHECK:       %[[DA:.*]] = qnn.dequantize
// CHECK:       %[[DB:.*]] = qnn.dequantize
// CHECK:       qnn.concat %[[DA]], %[[DB]] {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
func.func @dq_concat_different_scales(%a: tensor<2x4xi8>, %b: tensor<3x4xi8>) -> tensor<5x4xf32> {
  %s0 = qnn.constant dense<0.5> : tensor<f32>
  %s1 = qnn.constant dense<0.25> : tensor<f32>
  %da = qnn.dequantize %a, %s0 : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
  %db = qnn.dequantize %b, %s1 : (tensor<3x4xi8>, tensor<f32>) -> tensor<3x4xf32>
  %c = qnn.concat %da, %db {axis = 0 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
  return %c : tensor<5x4xf32>
}

// -----

// Tests that a typed (!quant.uniform) per-tensor dequantize moves below a
// transpose, while a per-axis !quant type whose dimension would be
// renumbered stays: layout ops keep their input's element type.
// CHECK-LABEL: func @dq_typed_through_transpose
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x3x!quant.uniform<i8:f32, 5.000000e-01:3>>, %[[B:[^:]*]]: tensor<2x3x!quant.uniform<i8:f32:1, {{.*}}>>)
// CHECK:       %[[DB:.*]] = qnn.dequantize %[[B]]
// CHECK:       %[[TA:.*]] = qnn.transpose %[[A]] {perm = array<i64: 1, 0>} : tensor<2x3x!quant.uniform<i8:f32, 5.000000e-01:3>> -> tensor<3x2x!quant.uniform<i8:f32, 5.000000e-01:3>>
// CHECK:       %[[DA:.*]] = qnn.dequantize %[[TA]] : (tensor<3x2x!quant.uniform<i8:f32, 5.000000e-01:3>>) -> tensor<3x2xf32>
// CHECK:       %[[TB:.*]] = qnn.transpose %[[DB]] {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK:       return %[[DA]], %[[TB]]
func.func @dq_typed_through_transpose(%a: tensor<2x3x!quant.uniform<i8:f32, 0.5:3>>,
                                      %b: tensor<2x3x!quant.uniform<i8:f32:1, {0.5, 0.25, 0.125}>>)
    -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %da = qnn.dequantize %a : (tensor<2x3x!quant.uniform<i8:f32, 0.5:3>>) -> tensor<2x3xf32>
  %db = qnn.dequantize %b : (tensor<2x3x!quant.uniform<i8:f32:1, {0.5, 0.25, 0.125}>>) -> tensor<2x3xf32>
  %ta = qnn.transpose %da {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %tb = qnn.transpose %db {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %ta, %tb : tensor<3x2xf32>, tensor<3x2xf32>
}

//===----------------------------------------------------------------------===//
// Quantize moves backward through layout ops
//===----------------------------------------------------------------------===//

// -----

// Tests that a per-axis quantize moves above a transpose that only it uses,
// with the axis mapped back (axis 0 of [8, 4] is axis 1 of [4, 8]), and
// keeps its saturate attribute.
// CHECK-LABEL: func @q_through_transpose
// CHECK-SAME: (%[[X:[^:]*]]: tensor<4x8xf32>, %[[S:[^:]*]]: tensor<8xf32>)
// CHECK:       %[[Q:.*]] = qnn.quantize %[[X]], %[[S]] {saturate = false} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf8E4M3FN>
// CHECK:       %[[T:.*]] = qnn.transpose %[[Q]] {perm = array<i64: 1, 0>} : tensor<4x8xf8E4M3FN> -> tensor<8x4xf8E4M3FN>
// CHECK:       return %[[T]]
func.func @q_through_transpose(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<8x4xf8E4M3FN> {
  %t = qnn.transpose %x {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  %q = qnn.quantize %t, %s {axis = 0 : i64, saturate = false} : (tensor<8x4xf32>, tensor<8xf32>) -> tensor<8x4xf8E4M3FN>
  return %q : tensor<8x4xf8E4M3FN>
}

// -----

// Tests that a per-tensor quantize of a concat quantizes each input.
// CHECK-LABEL: func @q_through_concat
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xf32>, %[[B:[^:]*]]: tensor<2x4xf32>, %[[S:[^:]*]]: tensor<f32>, %[[Z:[^:]*]]: tensor<ui8>)
// CHECK:       %[[QA:.*]] = qnn.quantize %[[A]], %[[S]], %[[Z]] : (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
// CHECK:       %[[QB:.*]] = qnn.quantize %[[B]], %[[S]], %[[Z]] : (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
// CHECK:       %[[C:.*]] = qnn.concat %[[QA]], %[[QB]] {axis = 1 : i64} : (tensor<2x4xui8>, tensor<2x4xui8>) -> tensor<2x8xui8>
// CHECK:       return %[[C]]
func.func @q_through_concat(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<2x8xui8> {
  %c = qnn.concat %a, %b {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %q = qnn.quantize %c, %s, %z : (tensor<2x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x8xui8>
  return %q : tensor<2x8xui8>
}

// -----

// Tests that a quantize does not move above a layout op whose float result
// has another user: the float reshape would stay and the work would double.
// CHECK-LABEL: func @q_layout_has_other_user
// CHECK:       %[[R:.*]] = qnn.reshape %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<32xf32>
// CHECK:       %[[Q:.*]] = qnn.quantize %[[R]], %{{.*}}, %{{.*}} : (tensor<32xf32>, tensor<f32>, tensor<i8>) -> tensor<32xi8>
// CHECK:       return %[[Q]], %[[R]]
func.func @q_layout_has_other_user(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i8>) -> (tensor<32xi8>, tensor<32xf32>) {
  %shape = qnn.constant dense<32> : tensor<1xi64>
  %r = qnn.reshape %x, %shape : (tensor<4x8xf32>, tensor<1xi64>) -> tensor<32xf32>
  %q = qnn.quantize %r, %s, %z : (tensor<32xf32>, tensor<f32>, tensor<i8>) -> tensor<32xi8>
  return %q, %r : tensor<32xi8>, tensor<32xf32>
}

//===----------------------------------------------------------------------===//
// Q/DQ chains
//===----------------------------------------------------------------------===//

// -----

// Tests that quantize(dequantize(q)) with the same constant parameters is q,
// here as ONNX Runtime writes it around a reshape and a transpose: the int8
// value flows through both layout ops and one dequantize remains.
// CHECK-LABEL: func @ort_layout_sandwich
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x8x32xf32>)
// CHECK-DAG:   %[[S:.*]] = qnn.constant dense<2.500000e-02> : tensor<f32>
// CHECK-DAG:   %[[Z:.*]] = qnn.constant dense<-3> : tensor<i8>
// CHECK:       %[[Q:.*]] = qnn.quantize %[[X]], %[[S]], %[[Z]]
// CHECK:       %[[R:.*]] = qnn.reshape %[[Q]], %{{.*}} : (tensor<1x8x32xi8>, tensor<4xi64>) -> tensor<1x8x2x16xi8>
// CHECK:       %[[T:.*]] = qnn.transpose %[[R]] {perm = array<i64: 0, 2, 1, 3>} : tensor<1x8x2x16xi8> -> tensor<1x2x8x16xi8>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[T]], %[[S]], %[[Z]] : (tensor<1x2x8x16xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x8x16xf32>
// CHECK:       return %[[D]]
func.func @ort_layout_sandwich(%x: tensor<1x8x32xf32>) -> tensor<1x2x8x16xf32> {
  %s = qnn.constant dense<0.025> : tensor<f32>
  %z = qnn.constant dense<-3> : tensor<i8>
  %shape = qnn.constant dense<[1, 8, 2, 16]> : tensor<4xi64>
  %0 = qnn.quantize %x, %s, %z : (tensor<1x8x32xf32>, tensor<f32>, tensor<i8>) -> tensor<1x8x32xi8>
  %1 = qnn.dequantize %0, %s, %z : (tensor<1x8x32xi8>, tensor<f32>, tensor<i8>) -> tensor<1x8x32xf32>
  %2 = qnn.reshape %1, %shape : (tensor<1x8x32xf32>, tensor<4xi64>) -> tensor<1x8x2x16xf32>
  %3 = qnn.quantize %2, %s, %z : (tensor<1x8x2x16xf32>, tensor<f32>, tensor<i8>) -> tensor<1x8x2x16xi8>
  %4 = qnn.dequantize %3, %s, %z : (tensor<1x8x2x16xi8>, tensor<f32>, tensor<i8>) -> tensor<1x8x2x16xf32>
  %5 = qnn.transpose %4 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x8x2x16xf32> -> tensor<1x2x8x16xf32>
  %6 = qnn.quantize %5, %s, %z : (tensor<1x2x8x16xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x8x16xi8>
  %7 = qnn.dequantize %6, %s, %z : (tensor<1x2x8x16xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x8x16xf32>
  return %7 : tensor<1x2x8x16xf32>
}

// -----

// Tests that dequantize(quantize(x)) is fake quantization and survives: it
// rounds and clamps x.
// CHECK-LABEL: func @fake_quant_survives
// CHECK-SAME: (%[[X:[^:]*]]: tensor<8xf32>)
// CHECK:       %[[Q:.*]] = qnn.quantize %[[X]]
// CHECK:       %[[D:.*]] = qnn.dequantize %[[Q]]
// CHECK:       return %[[D]]
func.func @fake_quant_survives(%x: tensor<8xf32>) -> tensor<8xf32> {
  %s = qnn.constant dense<0.1> : tensor<f32>
  %z = qnn.constant dense<0> : tensor<i8>
  %q = qnn.quantize %x, %s, %z : (tensor<8xf32>, tensor<f32>, tensor<i8>) -> tensor<8xi8>
  %d = qnn.dequantize %q, %s, %z : (tensor<8xi8>, tensor<f32>, tensor<i8>) -> tensor<8xf32>
  return %d : tensor<8xf32>
}

// -----

// Tests that a chain with different scales and one with run-time parameters
// are not cancelled (only identical constants prove identity): both become
// one qnn.requantize carrying the chain's arithmetic, with explicit zero
// zero points.
// CHECK-LABEL: func @chain_not_cancelled
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<8xi8>, %[[RS:[^:]*]]: tensor<f32>)
// CHECK-DAG:   %[[S0:.*]] = qnn.constant dense<1.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[S1:.*]] = qnn.constant dense<2.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[Z:.*]] = qnn.constant dense<0> : tensor<i8>
// CHECK:       %[[Q0:.*]] = qnn.requantize %[[Q]], %[[S0]], %[[Z]], %[[S1]], %[[Z]] :
// CHECK:       %[[Q1:.*]] = qnn.requantize %[[Q]], %[[RS]], %[[Z]], %[[RS]], %[[Z]] :
// CHECK:       return %[[Q0]], %[[Q1]]
func.func @chain_not_cancelled(%q: tensor<8xi8>, %rs: tensor<f32>) -> (tensor<8xi8>, tensor<8xi8>) {
  %s0 = qnn.constant dense<0.1> : tensor<f32>
  %s1 = qnn.constant dense<0.2> : tensor<f32>
  %d0 = qnn.dequantize %q, %s0 : (tensor<8xi8>, tensor<f32>) -> tensor<8xf32>
  %q0 = qnn.quantize %d0, %s1 : (tensor<8xf32>, tensor<f32>) -> tensor<8xi8>
  %d1 = qnn.dequantize %q, %rs : (tensor<8xi8>, tensor<f32>) -> tensor<8xf32>
  %q1 = qnn.quantize %d1, %rs : (tensor<8xf32>, tensor<f32>) -> tensor<8xi8>
  return %q0, %q1 : tensor<8xi8>, tensor<8xi8>
}

// -----

// Tests that a saturating E5M2 round trip is kept (an infinity would come
// back as the largest finite value) while E4M3FN, which has no infinity,
// cancels, and that a typed chain with one !quant type cancels.
// CHECK-LABEL: func @chain_float8_and_typed
// CHECK-SAME: (%[[A:[^:]*]]: tensor<8xf8E5M2>, %[[B:[^:]*]]: tensor<8xf8E4M3FN>, %[[C:[^:]*]]: tensor<8x!quant.uniform<i8:f32, 5.000000e-01:3>>)
// CHECK:       %[[D:.*]] = qnn.dequantize %[[A]]
// CHECK:       %[[Q:.*]] = qnn.quantize %[[D]]
// CHECK:       return %[[Q]], %[[B]], %[[C]]
func.func @chain_float8_and_typed(%a: tensor<8xf8E5M2>, %b: tensor<8xf8E4M3FN>, %c: tensor<8x!quant.uniform<i8:f32, 0.5:3>>)
    -> (tensor<8xf8E5M2>, tensor<8xf8E4M3FN>, tensor<8x!quant.uniform<i8:f32, 0.5:3>>) {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %da = qnn.dequantize %a, %s : (tensor<8xf8E5M2>, tensor<f32>) -> tensor<8xf32>
  %qa = qnn.quantize %da, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8xf8E5M2>
  %db = qnn.dequantize %b, %s : (tensor<8xf8E4M3FN>, tensor<f32>) -> tensor<8xf32>
  %qb = qnn.quantize %db, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8xf8E4M3FN>
  %dc = qnn.dequantize %c : (tensor<8x!quant.uniform<i8:f32, 0.5:3>>) -> tensor<8xf32>
  %qc = qnn.quantize %dc : (tensor<8xf32>) -> tensor<8x!quant.uniform<i8:f32, 0.5:3>>
  return %qa, %qb, %qc : tensor<8xf8E5M2>, tensor<8xf8E4M3FN>, tensor<8x!quant.uniform<i8:f32, 0.5:3>>
}

// -----

// Tests that calibration placeholders (!quant.calibrated) stay where the
// calibrator observes them.
// CHECK-LABEL: func @calibrated_stays
// CHECK:       %[[T:.*]] = qnn.transpose %{{.*}} : tensor<4x8xf32> -> tensor<8x4xf32>
// CHECK:       qnn.quantize %[[T]] {qnn.calibration_key = "k"}
func.func @calibrated_stays(%x: tensor<4x8xf32>) -> tensor<8x4x!quant.calibrated<f32<-1.0:1.0>>> {
  %t = qnn.transpose %x {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  %q = qnn.quantize %t {qnn.calibration_key = "k"} : (tensor<8x4xf32>) -> tensor<8x4x!quant.calibrated<f32<-1.0:1.0>>>
  return %q : tensor<8x4x!quant.calibrated<f32<-1.0:1.0>>>
}
