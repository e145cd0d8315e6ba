// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --cse | FileCheck %s

// The ops of QNNMathOps.td: one broadcast linalg.generic each.

// Tests that a comparison reads both operands with ONNX broadcasting and
// writes an i1 tensor (an ordered float predicate: false on NaN).
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[LAST:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @less(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2x3xi1>
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[LAST]], #[[ID]]]
// CHECK-SAME:      ins(%[[X]], %[[Y]] : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3xi1>)
// CHECK:         ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: i1):
// CHECK:           %[[LT:.*]] = arith.cmpf olt, %[[A]], %[[B]] : f32
// CHECK:           linalg.yield %[[LT]] : i1
func.func @less(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xi1> {
  %0 = qnn.less %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  return %0 : tensor<2x3xi1>
}

// -----

// Tests that an unsigned comparison uses an unsigned predicate.
// CHECK-LABEL: func.func @greater_unsigned(
// CHECK:         arith.cmpi ugt, %{{.*}}, %{{.*}} : i8
func.func @greater_unsigned(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xi1> {
  %0 = qnn.greater %x, %y : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// Tests that Mod with fmod = 0 on signed integers gives the remainder the
// divisor's sign: remsi, then the divisor added where the signs differ and
// the remainder is not zero.
// CHECK-LABEL: func.func @mod_python(
// CHECK:         ^bb0(%[[A:.*]]: i32, %[[B:.*]]: i32, %{{.*}}: i32):
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK:           %[[R:.*]] = arith.remsi %[[A]], %[[B]] : i32
// CHECK:           %[[RNEG:.*]] = arith.cmpi slt, %[[R]], %[[ZERO]] : i32
// CHECK:           %[[BNEG:.*]] = arith.cmpi slt, %[[B]], %[[ZERO]] : i32
// CHECK:           %[[NZ:.*]] = arith.cmpi ne, %[[R]], %[[ZERO]] : i32
// CHECK:           %[[DIFF:.*]] = arith.xori %[[RNEG]], %[[BNEG]] : i1
// CHECK:           %[[FIX:.*]] = arith.andi %[[NZ]], %[[DIFF]] : i1
// CHECK:           %[[SUM:.*]] = arith.addi %[[R]], %[[B]] : i32
// CHECK:           %[[SEL:.*]] = arith.select %[[FIX]], %[[SUM]], %[[R]] : i32
// CHECK:           linalg.yield %[[SEL]] : i32
func.func @mod_python(%x: tensor<4xi32>, %y: tensor<4xi32>) -> tensor<4xi32> {
  %0 = qnn.mod %x, %y : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Tests that Mod with fmod = 1 on f16 is C fmod computed in f32 and
// rounded back once.
// CHECK-LABEL: func.func @mod_fmod_f16(
// CHECK:         ^bb0(%[[A:.*]]: f16, %[[B:.*]]: f16, %{{.*}}: f16):
// CHECK-DAG:       %[[A32:.*]] = arith.extf %[[A]] : f16 to f32
// CHECK-DAG:       %[[B32:.*]] = arith.extf %[[B]] : f16 to f32
// CHECK:           %[[R:.*]] = arith.remf %[[A32]], %[[B32]] : f32
// CHECK:           %[[R16:.*]] = arith.truncf %[[R]] : f32 to f16
// CHECK:           linalg.yield %[[R16]] : f16
func.func @mod_fmod_f16(%x: tensor<4xf16>, %y: tensor<4xf16>) -> tensor<4xf16> {
  %0 = qnn.mod %x, %y {fmod = true} : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// Tests that boolean not is an xor with true, and that is_inf with only
// detect_negative compares with -inf alone.
// CHECK-LABEL: func.func @not_and_is_inf(
// CHECK:         %[[TRUE:.*]] = arith.constant true
// CHECK:         arith.xori %{{.*}}, %[[TRUE]] : i1
// CHECK:         %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:         arith.cmpf oeq, %{{.*}}, %[[NINF]] : f32
// CHECK-NOT:     0x7F800000
func.func @not_and_is_inf(%b: tensor<4xi1>, %x: tensor<4xf32>) -> (tensor<4xi1>, tensor<4xi1>) {
  %0 = qnn.not %b : tensor<4xi1> -> tensor<4xi1>
  %1 = qnn.is_inf %x {detect_positive = false} : tensor<4xf32> -> tensor<4xi1>
  return %0, %1 : tensor<4xi1>, tensor<4xi1>
}

// -----

// Tests that round is round-half-to-even and that an activation uses its
// attribute: leaky_relu selects alpha * x below zero.
// CHECK-LABEL: func.func @round_and_leaky_relu(
// CHECK:         math.roundeven %{{.*}} : f32
// CHECK:         ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-DAG:       %[[ALPHA:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG:       %[[NEG:.*]] = arith.cmpf olt, %[[X]], %{{.*}} : f32
// CHECK-DAG:       %[[SCALED:.*]] = arith.mulf %[[ALPHA]], %[[X]] : f32
// CHECK:           arith.select %[[NEG]], %[[SCALED]], %[[X]] : f32
func.func @round_and_leaky_relu(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = qnn.round %x : tensor<4xf32> -> tensor<4xf32>
  %1 = qnn.leaky_relu %x {alpha = 0.25 : f32} : tensor<4xf32> -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// Tests that a signed right shift is arithmetic and that a shift amount
// outside [0, 8) (an unsigned compare, so negative amounts too) gives the
// sign fill: -1 for a negative value, else 0 (ONNX BitShift-28).
// CHECK-LABEL: func.func @shift_right_signed(
// CHECK:         ^bb0(%[[X:.*]]: i8, %[[Y:.*]]: i8, %{{.*}}: i8):
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0 : i8
// CHECK-DAG:       %[[WIDTH:.*]] = arith.constant 8 : i8
// CHECK-DAG:       %[[M1:.*]] = arith.constant -1 : i8
// CHECK-DAG:       %[[OOB:.*]] = arith.cmpi uge, %[[Y]], %[[WIDTH]] : i8
// CHECK-DAG:       %[[SHIFTED:.*]] = arith.shrsi %[[X]], %[[Y]] : i8
// CHECK-DAG:       %[[NEG:.*]] = arith.cmpi slt, %[[X]], %[[ZERO]] : i8
// CHECK-DAG:       %[[FILL:.*]] = arith.select %[[NEG]], %[[M1]], %[[ZERO]] : i8
// CHECK:           %[[R:.*]] = arith.select %[[OOB]], %[[FILL]], %[[SHIFTED]] : i8
// CHECK:           linalg.yield %[[R]] : i8
func.func @shift_right_signed(%x: tensor<4xi8>, %y: tensor<4xi8>) -> tensor<4xi8> {
  %0 = qnn.bit_shift %x, %y {direction = "right"} : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}
