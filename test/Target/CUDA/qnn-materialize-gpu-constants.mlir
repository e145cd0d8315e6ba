// Tests that qnn-materialize-gpu-constants materializes constants on the device.
// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qnn-materialize-gpu-constants))' | FileCheck %s

// Tests that a splat tensor constant becomes a linalg.fill of a
// tensor.empty: a kernel fills device memory, nothing is stored.
// CHECK-LABEL: func.func @splat
// CHECK: %[[C:.*]] = arith.constant 1.500000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[C]] : f32) outs(%[[E]] : tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: return %[[F]]
func.func @splat() -> tensor<4x8xf32> {
  %c = arith.constant dense<1.5> : tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// -----

// Tests that a non-splat i1 constant becomes an i8 constant (a weight, one
// byte per bool) truncated by a linalg.generic, and that other constants
// stay.
// CHECK-LABEL: func.func @bools
// CHECK: %[[B:.*]] = arith.constant dense<[1, 0, 1, 1]> : tensor<4xi8>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xi1>
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<4xi8>) outs(%[[E]] : tensor<4xi1>)
// CHECK: arith.trunci %{{.*}} : i8 to i1
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: return %[[G]], %[[W]]
func.func @bools() -> (tensor<4xi1>, tensor<2xf32>) {
  %c = arith.constant dense<[true, false, true, true]> : tensor<4xi1>
  %w = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %c, %w : tensor<4xi1>, tensor<2xf32>
}
