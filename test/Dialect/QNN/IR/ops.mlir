// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// Round trip of the non-quantization `qnn` ops in both the custom and the
// generic form. Quantization ops are in quant-ops.mlir.

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

// Tests that a dense constant and a dense_resource constant round-trip, and
// that the resource blob is kept.
// CHECK-LABEL: func @constants
func.func @constants() -> (tensor<2xi64>, tensor<2x2xf32>) {
  // CHECK: %[[D:.*]] = qnn.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: %[[R:.*]] = qnn.constant dense_resource<fc1.weight> : tensor<2x2xf32>
  // CHECK: return %[[D]], %[[R]]
  %0 = qnn.constant dense<[1, 2]> : tensor<2xi64>
  %1 = qnn.constant dense_resource<fc1.weight> : tensor<2x2xf32>
  return %0, %1 : tensor<2xi64>, tensor<2x2xf32>
}

// Tests that shape round-trips with its default and explicit start/end.
// CHECK-LABEL: func @shape
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x8xf32>)
func.func @shape(%x: tensor<?x4x8xf32>) -> (tensor<3xi64>, tensor<2xi64>) {
  // CHECK: %[[ALL:.*]] = qnn.shape %[[X]] : tensor<?x4x8xf32> -> tensor<3xi64>
  // CHECK: %[[PART:.*]] = qnn.shape %[[X]] {end = 3 : i64, start = 1 : i64} : tensor<?x4x8xf32> -> tensor<2xi64>
  // CHECK: return %[[ALL]], %[[PART]]
  %0 = qnn.shape %x : tensor<?x4x8xf32> -> tensor<3xi64>
  %1 = qnn.shape %x {start = 1 : i64, end = 3 : i64} : tensor<?x4x8xf32> -> tensor<2xi64>
  return %0, %1 : tensor<3xi64>, tensor<2xi64>
}

//===----------------------------------------------------------------------===//
// Elementwise math
//===----------------------------------------------------------------------===//

// Tests that every unary op round-trips, chained so that each one is used,
// including gelu with its default and its tanh approximation.
// CHECK-LABEL: func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
func.func @unary(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // CHECK: %[[V0:.*]] = qnn.sqrt %[[X]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V1:.*]] = qnn.reciprocal %[[V0]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V2:.*]] = qnn.neg %[[V1]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V3:.*]] = qnn.exp %[[V2]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V4:.*]] = qnn.log %[[V3]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V5:.*]] = qnn.abs %[[V4]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V6:.*]] = qnn.erf %[[V5]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V7:.*]] = qnn.tanh %[[V6]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V8:.*]] = qnn.sigmoid %[[V7]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V9:.*]] = qnn.relu %[[V8]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V10:.*]] = qnn.silu %[[V9]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V11:.*]] = qnn.gelu %[[V10]] : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: %[[V12:.*]] = qnn.gelu %[[V11]] {approximate = "tanh"} : tensor<?x8xf32> -> tensor<?x8xf32>
  // CHECK: return %[[V12]]
  %0 = qnn.sqrt %x : tensor<?x8xf32> -> tensor<?x8xf32>
  %1 = qnn.reciprocal %0 : tensor<?x8xf32> -> tensor<?x8xf32>
  %2 = qnn.neg %1 : tensor<?x8xf32> -> tensor<?x8xf32>
  %3 = qnn.exp %2 : tensor<?x8xf32> -> tensor<?x8xf32>
  %4 = qnn.log %3 : tensor<?x8xf32> -> tensor<?x8xf32>
  %5 = qnn.abs %4 : tensor<?x8xf32> -> tensor<?x8xf32>
  %6 = qnn.erf %5 : tensor<?x8xf32> -> tensor<?x8xf32>
  %7 = qnn.tanh %6 : tensor<?x8xf32> -> tensor<?x8xf32>
  %8 = qnn.sigmoid %7 : tensor<?x8xf32> -> tensor<?x8xf32>
  %9 = qnn.relu %8 : tensor<?x8xf32> -> tensor<?x8xf32>
  %10 = qnn.silu %9 : tensor<?x8xf32> -> tensor<?x8xf32>
  %11 = qnn.gelu %10 : tensor<?x8xf32> -> tensor<?x8xf32>
  %12 = qnn.gelu %11 {approximate = "tanh"} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %12 : tensor<?x8xf32>
}

// Tests that a unary result may be more static than its input and that an
// unranked operand is accepted.
// CHECK-LABEL: func @unary_refined
func.func @unary_refined(%x: tensor<?x8xf32>, %u: tensor<*xf16>) -> (tensor<2x8xf32>, tensor<*xf16>) {
  // CHECK: qnn.relu %{{.*}} : tensor<?x8xf32> -> tensor<2x8xf32>
  // CHECK: qnn.exp %{{.*}} : tensor<*xf16> -> tensor<*xf16>
  %0 = qnn.relu %x : tensor<?x8xf32> -> tensor<2x8xf32>
  %1 = qnn.exp %u : tensor<*xf16> -> tensor<*xf16>
  return %0, %1 : tensor<2x8xf32>, tensor<*xf16>
}

// Tests that every binary op round-trips with broadcasting (including a
// dynamic dimension broadcast against 1) and that pow accepts an exponent of
// another element type.
// CHECK-LABEL: func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<?x1x8xf32>, %[[B:.*]]: tensor<4x1xf32>, %[[E:.*]]: tensor<i32>)
func.func @binary(%a: tensor<?x1x8xf32>, %b: tensor<4x1xf32>, %e: tensor<i32>) -> tensor<?x4x8xf32> {
  // CHECK: %[[ADD:.*]] = qnn.add %[[A]], %[[B]] : (tensor<?x1x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  // CHECK: %[[SUB:.*]] = qnn.sub %[[ADD]], %[[B]] : (tensor<?x4x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  // CHECK: %[[MUL:.*]] = qnn.mul %[[B]], %[[SUB]] : (tensor<4x1xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
  // CHECK: %[[DIV:.*]] = qnn.div %[[MUL]], %[[A]] : (tensor<?x4x8xf32>, tensor<?x1x8xf32>) -> tensor<?x4x8xf32>
  // CHECK: %[[POW:.*]] = qnn.pow %[[DIV]], %[[E]] : (tensor<?x4x8xf32>, tensor<i32>) -> tensor<?x4x8xf32>
  // CHECK: %[[MIN:.*]] = qnn.min %[[POW]], %[[A]] : (tensor<?x4x8xf32>, tensor<?x1x8xf32>) -> tensor<?x4x8xf32>
  // CHECK: %[[MAX:.*]] = qnn.max %[[MIN]], %[[B]] : (tensor<?x4x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  // CHECK: return %[[MAX]]
  %0 = qnn.add %a, %b : (tensor<?x1x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  %1 = qnn.sub %0, %b : (tensor<?x4x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  %2 = qnn.mul %b, %1 : (tensor<4x1xf32>, tensor<?x4x8xf32>) -> tensor<?x4x8xf32>
  %3 = qnn.div %2, %a : (tensor<?x4x8xf32>, tensor<?x1x8xf32>) -> tensor<?x4x8xf32>
  %4 = qnn.pow %3, %e : (tensor<?x4x8xf32>, tensor<i32>) -> tensor<?x4x8xf32>
  %5 = qnn.min %4, %a : (tensor<?x4x8xf32>, tensor<?x1x8xf32>) -> tensor<?x4x8xf32>
  %6 = qnn.max %5, %b : (tensor<?x4x8xf32>, tensor<4x1xf32>) -> tensor<?x4x8xf32>
  return %6 : tensor<?x4x8xf32>
}

// Tests that a binary op with two dynamic dims and an integer element type
// round-trips, with a result more static than inferred.
// CHECK-LABEL: func @binary_dynamic
func.func @binary_dynamic(%a: tensor<?x?xi64>, %b: tensor<?xi64>) -> (tensor<?x?xi64>, tensor<3x5xi64>) {
  // CHECK: qnn.add %{{.*}}, %{{.*}} : (tensor<?x?xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  // CHECK: qnn.mul %{{.*}}, %{{.*}} : (tensor<?x?xi64>, tensor<?xi64>) -> tensor<3x5xi64>
  %0 = qnn.add %a, %b : (tensor<?x?xi64>, tensor<?xi64>) -> tensor<?x?xi64>
  %1 = qnn.mul %a, %b : (tensor<?x?xi64>, tensor<?xi64>) -> tensor<3x5xi64>
  return %0, %1 : tensor<?x?xi64>, tensor<3x5xi64>
}

// Tests that where broadcasts its three operands.
// CHECK-LABEL: func @where
// CHECK-SAME: (%[[C:.*]]: tensor<4x1xi1>, %[[L:.*]]: tensor<8xf32>, %[[R:.*]]: tensor<f32>)
func.func @where(%c: tensor<4x1xi1>, %l: tensor<8xf32>, %r: tensor<f32>) -> tensor<4x8xf32> {
  // CHECK: %[[W:.*]] = qnn.where %[[C]], %[[L]], %[[R]] : (tensor<4x1xi1>, tensor<8xf32>, tensor<f32>) -> tensor<4x8xf32>
  // CHECK: return %[[W]]
  %0 = qnn.where %c, %l, %r : (tensor<4x1xi1>, tensor<8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// Tests that cast round-trips to an integer type and to f8E4M3FN with and
// without saturation (saturate = true is the default and not printed).
// CHECK-LABEL: func @cast
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
func.func @cast(%x: tensor<?x4xf32>) -> (tensor<?x4xi32>, tensor<?x4xf8E4M3FN>, tensor<?x4xf8E4M3FN>) {
  // CHECK: %[[I:.*]] = qnn.cast %[[X]] : tensor<?x4xf32> -> tensor<?x4xi32>
  // CHECK: %[[F8S:.*]] = qnn.cast %[[X]] : tensor<?x4xf32> -> tensor<?x4xf8E4M3FN>
  // CHECK: %[[F8:.*]] = qnn.cast %[[X]] {saturate = false} : tensor<?x4xf32> -> tensor<?x4xf8E4M3FN>
  // CHECK: return %[[I]], %[[F8S]], %[[F8]]
  %0 = qnn.cast %x : tensor<?x4xf32> -> tensor<?x4xi32>
  %1 = qnn.cast %x {saturate = true} : tensor<?x4xf32> -> tensor<?x4xf8E4M3FN>
  %2 = qnn.cast %x {saturate = false} : tensor<?x4xf32> -> tensor<?x4xf8E4M3FN>
  return %0, %1, %2 : tensor<?x4xi32>, tensor<?x4xf8E4M3FN>, tensor<?x4xf8E4M3FN>
}

//===----------------------------------------------------------------------===//
// Linear algebra and neural-network ops
//===----------------------------------------------------------------------===//

// Tests that matmul round-trips with broadcast batch dimensions and with 1-D
// operands on either side.
// CHECK-LABEL: func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<2x1x?x16xf32>, %[[B:.*]]: tensor<3x16x8xf32>, %[[V:.*]]: tensor<16xf32>)
func.func @matmul(%a: tensor<2x1x?x16xf32>, %b: tensor<3x16x8xf32>, %v: tensor<16xf32>)
    -> (tensor<2x3x?x8xf32>, tensor<3x8xf32>, tensor<2x1x?xf32>, tensor<f32>) {
  // CHECK: %[[BATCH:.*]] = qnn.matmul %[[A]], %[[B]] : (tensor<2x1x?x16xf32>, tensor<3x16x8xf32>) -> tensor<2x3x?x8xf32>
  // CHECK: %[[VM:.*]] = qnn.matmul %[[V]], %[[B]] : (tensor<16xf32>, tensor<3x16x8xf32>) -> tensor<3x8xf32>
  // CHECK: %[[MV:.*]] = qnn.matmul %[[A]], %[[V]] : (tensor<2x1x?x16xf32>, tensor<16xf32>) -> tensor<2x1x?xf32>
  // CHECK: %[[DOT:.*]] = qnn.matmul %[[V]], %[[V]] : (tensor<16xf32>, tensor<16xf32>) -> tensor<f32>
  // CHECK: return %[[BATCH]], %[[VM]], %[[MV]], %[[DOT]]
  %0 = qnn.matmul %a, %b : (tensor<2x1x?x16xf32>, tensor<3x16x8xf32>) -> tensor<2x3x?x8xf32>
  %1 = qnn.matmul %v, %b : (tensor<16xf32>, tensor<3x16x8xf32>) -> tensor<3x8xf32>
  %2 = qnn.matmul %a, %v : (tensor<2x1x?x16xf32>, tensor<16xf32>) -> tensor<2x1x?xf32>
  %3 = qnn.matmul %v, %v : (tensor<16xf32>, tensor<16xf32>) -> tensor<f32>
  return %0, %1, %2, %3 : tensor<2x3x?x8xf32>, tensor<3x8xf32>, tensor<2x1x?xf32>, tensor<f32>
}

// Tests that gemm round-trips without C and with C, alpha, beta and both
// transpose flags.
// CHECK-LABEL: func @gemm
// CHECK-SAME: (%[[A:.*]]: tensor<?x16xf32>, %[[B:.*]]: tensor<16x8xf32>, %[[AT:.*]]: tensor<16x?xf32>, %[[BT:.*]]: tensor<8x16xf32>, %[[C:.*]]: tensor<8xf32>)
func.func @gemm(%a: tensor<?x16xf32>, %b: tensor<16x8xf32>, %at: tensor<16x?xf32>, %bt: tensor<8x16xf32>, %c: tensor<8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  // CHECK: %[[G0:.*]] = qnn.gemm %[[A]], %[[B]] : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  // CHECK: %[[G1:.*]] = qnn.gemm %[[AT]], %[[BT]], %[[C]] {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, trans_a = true, trans_b = true} : (tensor<16x?xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: return %[[G0]], %[[G1]]
  %0 = qnn.gemm %a, %b : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  %1 = qnn.gemm %at, %bt, %c {alpha = 0.5 : f32, beta = 2.0 : f32, trans_a = true, trans_b = true} : (tensor<16x?xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// Tests that softmax round-trips with the default and an explicit axis.
// CHECK-LABEL: func @softmax
func.func @softmax(%x: tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x?x8xf32>) {
  // CHECK: %[[S0:.*]] = qnn.softmax %{{.*}} : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  // CHECK: %[[S1:.*]] = qnn.softmax %{{.*}} {axis = 1 : i64} : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  // CHECK: return %[[S0]], %[[S1]]
  %0 = qnn.softmax %x : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  %1 = qnn.softmax %x {axis = 1 : i64} : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %0, %1 : tensor<2x?x8xf32>, tensor<2x?x8xf32>
}

// Tests that layer_norm round-trips with its three results, with and without
// bias; mean and inv_std_dev are f32 with the normalized dims set to 1.
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x8xf16>, %[[S:.*]]: tensor<8xf16>, %[[B:.*]]: tensor<8xf16>)
func.func @layer_norm(%x: tensor<2x?x8xf16>, %s: tensor<8xf16>, %b: tensor<8xf16>)
    -> (tensor<2x?x8xf16>, tensor<2x?x1xf32>, tensor<2x?x1xf32>, tensor<2x?x8xf16>, tensor<2x1x1xf32>) {
  // Multi-result ops print their results under their ODS names.
  // CHECK: %[[N0:.*]], %[[N1:.*]], %[[N2:.*]] = qnn.layer_norm %[[X]], %[[S]], %[[B]] : (tensor<2x?x8xf16>, tensor<8xf16>, tensor<8xf16>) -> (tensor<2x?x8xf16>, tensor<2x?x1xf32>, tensor<2x?x1xf32>)
  // CHECK: %[[M0:.*]], %{{.*}}, %[[M2:.*]] = qnn.layer_norm %[[X]], %[[S]] {axis = 1 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x?x8xf16>, tensor<8xf16>) -> (tensor<2x?x8xf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  // CHECK: return %[[N0]], %[[N1]], %[[N2]], %[[M0]], %[[M2]]
  %0:3 = qnn.layer_norm %x, %s, %b : (tensor<2x?x8xf16>, tensor<8xf16>, tensor<8xf16>) -> (tensor<2x?x8xf16>, tensor<2x?x1xf32>, tensor<2x?x1xf32>)
  %1:3 = qnn.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x?x8xf16>, tensor<8xf16>) -> (tensor<2x?x8xf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  return %0#0, %0#1, %0#2, %1#0, %1#2 : tensor<2x?x8xf16>, tensor<2x?x1xf32>, tensor<2x?x1xf32>, tensor<2x?x8xf16>, tensor<2x1x1xf32>
}

// Tests that rms_norm round-trips with default and explicit attributes.
// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[S:.*]]: tensor<8xf32>)
func.func @rms_norm(%x: tensor<?x8xf32>, %s: tensor<8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  // CHECK: %[[R0:.*]] = qnn.rms_norm %[[X]], %[[S]] : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: %[[R1:.*]] = qnn.rms_norm %[[X]], %[[S]] {axis = 0 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: return %[[R0]], %[[R1]]
  %0 = qnn.rms_norm %x, %s : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %1 = qnn.rms_norm %x, %s {axis = 0 : i64, epsilon = 1.0e-6 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// Tests that the reductions round-trip with keepdims (default), keepdims =
// false, empty axes (reduce everything) and noop_with_empty_axes.
// CHECK-LABEL: func @reduce
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x8xf32>)
func.func @reduce(%x: tensor<2x?x8xf32>)
    -> (tensor<2x?x1xf32>, tensor<?xf32>, tensor<1x1x1xf32>, tensor<f32>, tensor<2x?x8xf32>) {
  // CHECK: %[[M:.*]] = qnn.reduce_mean %[[X]] {axes = array<i64: -1>} : tensor<2x?x8xf32> -> tensor<2x?x1xf32>
  // CHECK: %[[S:.*]] = qnn.reduce_sum %[[X]] {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x?x8xf32> -> tensor<?xf32>
  // CHECK: %[[A:.*]] = qnn.reduce_max %[[X]] : tensor<2x?x8xf32> -> tensor<1x1x1xf32>
  // CHECK: %[[B:.*]] = qnn.reduce_sum %[[X]] {keepdims = false} : tensor<2x?x8xf32> -> tensor<f32>
  // CHECK: %[[N:.*]] = qnn.reduce_mean %[[X]] {noop_with_empty_axes = true} : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  // CHECK: return %[[M]], %[[S]], %[[A]], %[[B]], %[[N]]
  %0 = qnn.reduce_mean %x {axes = array<i64: -1>} : tensor<2x?x8xf32> -> tensor<2x?x1xf32>
  %1 = qnn.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x?x8xf32> -> tensor<?xf32>
  %2 = qnn.reduce_max %x : tensor<2x?x8xf32> -> tensor<1x1x1xf32>
  %3 = qnn.reduce_sum %x {keepdims = false} : tensor<2x?x8xf32> -> tensor<f32>
  %4 = qnn.reduce_mean %x {noop_with_empty_axes = true} : tensor<2x?x8xf32> -> tensor<2x?x8xf32>
  return %0, %1, %2, %3, %4 : tensor<2x?x1xf32>, tensor<?xf32>, tensor<1x1x1xf32>, tensor<f32>, tensor<2x?x8xf32>
}

//===----------------------------------------------------------------------===//
// Tensor layout ops
//===----------------------------------------------------------------------===//

// Tests that reshape round-trips with a constant shape (0 and -1 entries), a
// run-time shape, and allowzero.
// CHECK-LABEL: func @reshape
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>, %[[S:.*]]: tensor<2xi64>)
func.func @reshape(%x: tensor<2x3x4xf32>, %s: tensor<2xi64>) -> (tensor<2x12xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
  // CHECK: %[[C:.*]] = qnn.constant dense<[0, -1]> : tensor<2xi64>
  // CHECK: %[[R0:.*]] = qnn.reshape %[[X]], %[[C]] : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  // CHECK: %[[R1:.*]] = qnn.reshape %[[X]], %[[S]] : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  // CHECK: %[[R2:.*]] = qnn.reshape %[[X]], %[[S]] {allowzero = true} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  %c = qnn.constant dense<[0, -1]> : tensor<2xi64>
  %0 = qnn.reshape %x, %c : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  %1 = qnn.reshape %x, %s : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %2 = qnn.reshape %x, %s {allowzero = true} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0, %1, %2 : tensor<2x12xf32>, tensor<?x?xf32>, tensor<?x?xf32>
}

// Tests that transpose round-trips and permutes the (dynamic) dims.
// CHECK-LABEL: func @transpose
// CHECK-SAME: (%[[X:.*]]: tensor<?x3x4xf32>)
func.func @transpose(%x: tensor<?x3x4xf32>) -> tensor<4x?x3xf32> {
  // CHECK: %[[T:.*]] = qnn.transpose %[[X]] {perm = array<i64: 2, 0, 1>} : tensor<?x3x4xf32> -> tensor<4x?x3xf32>
  // CHECK: return %[[T]]
  %0 = qnn.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<?x3x4xf32> -> tensor<4x?x3xf32>
  return %0 : tensor<4x?x3xf32>
}

// Tests that concat round-trips with three inputs and a negative axis, and
// that a dynamic input makes the concatenated dim dynamic.
// CHECK-LABEL: func @concat
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x5xf32>, %[[C:.*]]: tensor<2x?xf32>)
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %c: tensor<2x?xf32>) -> (tensor<2x8xf32>, tensor<2x?xf32>) {
  // CHECK: %[[C0:.*]] = qnn.concat %[[A]], %[[B]] {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  // CHECK: %[[C1:.*]] = qnn.concat %[[A]], %[[B]], %[[C]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: return %[[C0]], %[[C1]]
  %0 = qnn.concat %a, %b {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %1 = qnn.concat %a, %b, %c {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
  return %0, %1 : tensor<2x8xf32>, tensor<2x?xf32>
}

// Tests that split round-trips with several results (one of them empty).
// CHECK-LABEL: func @split
// CHECK-SAME: (%[[X:.*]]: tensor<?x10xf32>)
func.func @split(%x: tensor<?x10xf32>) -> (tensor<?x3xf32>, tensor<?x7xf32>, tensor<?x0xf32>) {
  // CHECK: %[[S:.*]]:3 = qnn.split %[[X]] {axis = 1 : i64, sizes = array<i64: 3, 7, 0>} : tensor<?x10xf32> -> tensor<?x3xf32>, tensor<?x7xf32>, tensor<?x0xf32>
  // CHECK: return %[[S]]#0, %[[S]]#1, %[[S]]#2
  %0:3 = qnn.split %x {axis = 1 : i64, sizes = array<i64: 3, 7, 0>} : tensor<?x10xf32> -> tensor<?x3xf32>, tensor<?x7xf32>, tensor<?x0xf32>
  return %0#0, %0#1, %0#2 : tensor<?x3xf32>, tensor<?x7xf32>, tensor<?x0xf32>
}

// Tests that slice round-trips without axes/steps, with axes only and with
// axes and (negative) steps.
// CHECK-LABEL: func @slice
// CHECK-SAME: (%[[X:.*]]: tensor<8x?xf32>)
func.func @slice(%x: tensor<8x?xf32>) -> (tensor<3x?xf32>, tensor<8x?xf32>, tensor<2x?xf32>) {
  // CHECK-DAG: %[[S:.*]] = qnn.constant dense<1> : tensor<1xi64>
  // CHECK-DAG: %[[E:.*]] = qnn.constant dense<4> : tensor<1xi64>
  // CHECK-DAG: %[[AX:.*]] = qnn.constant dense<1> : tensor<1xi32>
  // CHECK-DAG: %[[AX0:.*]] = qnn.constant dense<0> : tensor<1xi64>
  // CHECK-DAG: %[[ST:.*]] = qnn.constant dense<-2> : tensor<1xi64>
  // CHECK: %[[R0:.*]] = qnn.slice %[[X]], %[[S]], %[[E]] : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x?xf32>
  // CHECK: %[[R1:.*]] = qnn.slice %[[X]], %[[S]], %[[E]] axes %[[AX]] : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi32>) -> tensor<8x?xf32>
  // CHECK: %[[R2:.*]] = qnn.slice %[[X]], %[[E]], %[[S]] axes %[[AX0]] steps %[[ST]] : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x?xf32>
  // CHECK: return %[[R0]], %[[R1]], %[[R2]]
  %s = qnn.constant dense<1> : tensor<1xi64>
  %e = qnn.constant dense<4> : tensor<1xi64>
  %ax = qnn.constant dense<1> : tensor<1xi32>
  %ax0 = qnn.constant dense<0> : tensor<1xi64>
  %st = qnn.constant dense<-2> : tensor<1xi64>
  %0 = qnn.slice %x, %s, %e : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x?xf32>
  %1 = qnn.slice %x, %s, %e axes %ax : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi32>) -> tensor<8x?xf32>
  %2 = qnn.slice %x, %e, %s axes %ax0 steps %st : (tensor<8x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x?xf32>
  return %0, %1, %2 : tensor<3x?xf32>, tensor<8x?xf32>, tensor<2x?xf32>
}

// Tests that gather round-trips as an embedding lookup (axis 0) and on an
// explicit axis with scalar indices.
// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[D:.*]]: tensor<100x16xf32>, %[[I:.*]]: tensor<?x8xi64>, %[[J:.*]]: tensor<i32>)
func.func @gather(%d: tensor<100x16xf32>, %i: tensor<?x8xi64>, %j: tensor<i32>) -> (tensor<?x8x16xf32>, tensor<100xf32>) {
  // CHECK: %[[G0:.*]] = qnn.gather %[[D]], %[[I]] : (tensor<100x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
  // CHECK: %[[G1:.*]] = qnn.gather %[[D]], %[[J]] {axis = 1 : i64} : (tensor<100x16xf32>, tensor<i32>) -> tensor<100xf32>
  // CHECK: return %[[G0]], %[[G1]]
  %0 = qnn.gather %d, %i : (tensor<100x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
  %1 = qnn.gather %d, %j {axis = 1 : i64} : (tensor<100x16xf32>, tensor<i32>) -> tensor<100xf32>
  return %0, %1 : tensor<?x8x16xf32>, tensor<100xf32>
}

// Tests that squeeze (all size-1 dims, and explicit axes) and unsqueeze
// round-trip.
// CHECK-LABEL: func @squeeze_unsqueeze
// CHECK-SAME: (%[[X:.*]]: tensor<1x?x1x4xf32>)
func.func @squeeze_unsqueeze(%x: tensor<1x?x1x4xf32>) -> (tensor<?x4xf32>, tensor<?x1x4xf32>, tensor<1x1x?x1x4x1xf32>) {
  // CHECK: %[[S0:.*]] = qnn.squeeze %[[X]] : tensor<1x?x1x4xf32> -> tensor<?x4xf32>
  // CHECK: %[[S1:.*]] = qnn.squeeze %[[X]] {axes = array<i64: 0>} : tensor<1x?x1x4xf32> -> tensor<?x1x4xf32>
  // CHECK: %[[U:.*]] = qnn.unsqueeze %[[X]] {axes = array<i64: 0, -1>} : tensor<1x?x1x4xf32> -> tensor<1x1x?x1x4x1xf32>
  // CHECK: return %[[S0]], %[[S1]], %[[U]]
  %0 = qnn.squeeze %x : tensor<1x?x1x4xf32> -> tensor<?x4xf32>
  %1 = qnn.squeeze %x {axes = array<i64: 0>} : tensor<1x?x1x4xf32> -> tensor<?x1x4xf32>
  %2 = qnn.unsqueeze %x {axes = array<i64: 0, -1>} : tensor<1x?x1x4xf32> -> tensor<1x1x?x1x4x1xf32>
  return %0, %1, %2 : tensor<?x4xf32>, tensor<?x1x4xf32>, tensor<1x1x?x1x4x1xf32>
}

// Tests that expand round-trips with a constant shape that adds a leading
// dimension and with a run-time shape.
// CHECK-LABEL: func @expand
// CHECK-SAME: (%[[X:.*]]: tensor<3x1xf32>, %[[S:.*]]: tensor<3xi64>)
func.func @expand(%x: tensor<3x1xf32>, %s: tensor<3xi64>) -> (tensor<2x3x4xf32>, tensor<?x3x?xf32>) {
  // CHECK: %[[C:.*]] = qnn.constant dense<[2, 1, 4]> : tensor<3xi64>
  // CHECK: %[[E0:.*]] = qnn.expand %[[X]], %[[C]] : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  // CHECK: %[[E1:.*]] = qnn.expand %[[X]], %[[S]] : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<?x3x?xf32>
  // CHECK: return %[[E0]], %[[E1]]
  %c = qnn.constant dense<[2, 1, 4]> : tensor<3xi64>
  %0 = qnn.expand %x, %c : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  %1 = qnn.expand %x, %s : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<?x3x?xf32>
  return %0, %1 : tensor<2x3x4xf32>, tensor<?x3x?xf32>
}

// The blob of @constants: a 4-byte alignment header then four f32 values.
// CHECK: dialect_resources
// CHECK-NEXT: builtin
// CHECK-NEXT: fc1.weight: "0x040000000000803F000000400000404000008040"
{-#
  dialect_resources: {
    builtin: {
      fc1.weight: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
