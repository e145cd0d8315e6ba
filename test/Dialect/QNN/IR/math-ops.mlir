// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// Round trip of the elementwise math, logic and activation ops of
// QNNMathOps.td in the custom and the generic form.

// Tests that comparisons give i1 of the broadcast shape and that boolean
// logic takes and gives i1.
// CHECK-LABEL: func @compare_and_logic
// CHECK-SAME:    (%[[A:.*]]: tensor<2x3xi32>, %[[B:.*]]: tensor<3xi32>)
// CHECK:         %[[EQ:.*]] = qnn.equal %[[A]], %[[B]] : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi1>
// CHECK:         %[[LT:.*]] = qnn.less %[[A]], %[[B]] : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi1>
// CHECK:         %[[OR:.*]] = qnn.or %[[EQ]], %[[LT]] : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
// CHECK:         %[[NOT:.*]] = qnn.not %[[OR]] : tensor<2x3xi1> -> tensor<2x3xi1>
// CHECK:         return %[[NOT]]
func.func @compare_and_logic(%a: tensor<2x3xi32>, %b: tensor<3xi32>) -> tensor<2x3xi1> {
  %0 = qnn.equal %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi1>
  %1 = qnn.less %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi1>
  %2 = qnn.or %0, %1 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %3 = qnn.not %2 : tensor<2x3xi1> -> tensor<2x3xi1>
  return %3 : tensor<2x3xi1>
}

// Tests that the attributes of mod, bit_shift, is_inf and the parametric
// activations round-trip, and that default values are not printed.
// CHECK-LABEL: func @attributes
// CHECK:         qnn.mod %{{.*}}, %{{.*}} {fmod = true} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK:         qnn.bit_shift %{{.*}}, %{{.*}} {direction = "right"} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
// CHECK:         qnn.is_inf %{{.*}} {detect_positive = false} : tensor<4xf32> -> tensor<4xi1>
// CHECK:         qnn.hard_sigmoid %{{.*}} {alpha = 5.000000e-01 : f32} : tensor<4xf32> -> tensor<4xf32>
// CHECK:         qnn.elu %{{.*}} : tensor<4xf32> -> tensor<4xf32>
func.func @attributes(%x: tensor<4xf32>, %u: tensor<4xui8>) -> (tensor<4xf32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) {
  %0 = qnn.mod %x, %x {fmod = true} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = qnn.bit_shift %u, %u {direction = "right"} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %2 = qnn.is_inf %x {detect_positive = false} : tensor<4xf32> -> tensor<4xi1>
  %3 = qnn.hard_sigmoid %x {alpha = 0.5 : f32} : tensor<4xf32> -> tensor<4xf32>
  %4 = qnn.elu %x {alpha = 1.0 : f32} : tensor<4xf32> -> tensor<4xf32>
  return %0, %1, %2, %3, %4 : tensor<4xf32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xf32>
}
