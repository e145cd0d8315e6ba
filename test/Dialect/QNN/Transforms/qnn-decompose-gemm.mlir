// RUN: quant-opt %s --qnn-decompose-gemm --split-input-file | FileCheck %s

// qnn-decompose-gemm rewrites `alpha * A' * B' + beta * C` into transpose,
// matmul, mul by a rank-0 constant and add.

// Tests the plain case (no C, alpha = beta = 1): a single matmul.
// CHECK-LABEL: func @no_c
// CHECK-SAME: (%[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<16x8xf32>)
// CHECK-NOT: qnn.gemm
// CHECK-NOT: qnn.transpose
// CHECK: %[[M:.*]] = qnn.matmul %[[A]], %[[B]] : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
// CHECK-NOT: qnn.mul
// CHECK: return %[[M]]
func.func @no_c(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %0 = qnn.gemm %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests C with alpha = beta = 1: matmul + add, no multiplications.
// CHECK-LABEL: func @with_c
// CHECK-SAME: (%[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<16x8xf32>, %[[C:.*]]: tensor<8xf32>)
// CHECK: %[[M:.*]] = qnn.matmul %[[A]], %[[B]] : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
// CHECK-NOT: qnn.mul
// CHECK: %[[R:.*]] = qnn.add %[[M]], %[[C]] : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: return %[[R]]
func.func @with_c(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = qnn.gemm %a, %b, %c : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests trans_a/trans_b (2-D transposes), alpha and beta != 1 (mul by
// rank-0 constants) and a dynamic M.
// CHECK-LABEL: func @trans_alpha_beta
// CHECK-SAME: (%[[A:.*]]: tensor<16x?xf32>, %[[B:.*]]: tensor<8x16xf32>, %[[C:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[ALPHA:.*]] = qnn.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[BETA:.*]] = qnn.constant dense<2.000000e+00> : tensor<f32>
// CHECK-DAG: %[[AT:.*]] = qnn.transpose %[[A]] {perm = array<i64: 1, 0>} : tensor<16x?xf32> -> tensor<?x16xf32>
// CHECK-DAG: %[[BT:.*]] = qnn.transpose %[[B]] {perm = array<i64: 1, 0>} : tensor<8x16xf32> -> tensor<16x8xf32>
// CHECK: %[[M:.*]] = qnn.matmul %[[AT]], %[[BT]] : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
// CHECK: %[[MA:.*]] = qnn.mul %[[M]], %[[ALPHA]] : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xf32>
// CHECK: %[[CB:.*]] = qnn.mul %[[C]], %[[BETA]] : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
// CHECK: %[[R:.*]] = qnn.add %[[MA]], %[[CB]] : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
// CHECK: return %[[R]]
func.func @trans_alpha_beta(%a: tensor<16x?xf32>, %b: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<?x8xf32> {
  %0 = qnn.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, trans_a = true, trans_b = true} : (tensor<16x?xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Tests that only trans_b transposes only B, and that the scalar constant
// has the operands' element type (f16).
// CHECK-LABEL: func @trans_b_f16
// CHECK-SAME: (%[[A:.*]]: tensor<?x16xf16>, %[[B:.*]]: tensor<8x16xf16>)
// CHECK-DAG: %[[ALPHA:.*]] = qnn.constant dense<3.000000e+00> : tensor<f16>
// CHECK-DAG: %[[BT:.*]] = qnn.transpose %[[B]] {perm = array<i64: 1, 0>} : tensor<8x16xf16> -> tensor<16x8xf16>
// CHECK-NOT: qnn.transpose %[[A]]
// CHECK: %[[M:.*]] = qnn.matmul %[[A]], %[[BT]] : (tensor<?x16xf16>, tensor<16x8xf16>) -> tensor<?x8xf16>
// CHECK: %[[R:.*]] = qnn.mul %[[M]], %[[ALPHA]] : (tensor<?x8xf16>, tensor<f16>) -> tensor<?x8xf16>
// CHECK: return %[[R]]
func.func @trans_b_f16(%a: tensor<?x16xf16>, %b: tensor<8x16xf16>) -> tensor<?x8xf16> {
  %0 = qnn.gemm %a, %b {alpha = 3.0 : f32, trans_b = true} : (tensor<?x16xf16>, tensor<8x16xf16>) -> tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}

// -----

// Tests that beta = 0 drops C entirely, and that the gemm's more static
// declared result type (4x8 for a dynamic M) is kept on the replacement.
// CHECK-LABEL: func @beta_zero
// CHECK-SAME: (%[[A:.*]]: tensor<?x16xf32>, %[[B:.*]]: tensor<16x8xf32>, %[[C:.*]]: tensor<8xf32>)
// CHECK-NOT: qnn.add
// CHECK: %[[M:.*]] = qnn.matmul %[[A]], %[[B]] : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
// CHECK-NOT: qnn.add
// CHECK: return %[[M]] : tensor<4x8xf32>
func.func @beta_zero(%a: tensor<?x16xf32>, %b: tensor<16x8xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = qnn.gemm %a, %b, %c {beta = 0.0 : f32} : (tensor<?x16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that a gemm with an unranked operand is left alone.
// CHECK-LABEL: func @unranked_not_decomposed
// CHECK: qnn.gemm
// CHECK-NOT: qnn.matmul
func.func @unranked_not_decomposed(%a: tensor<*xf32>, %b: tensor<16x8xf32>) -> tensor<?x?xf32> {
  %0 = qnn.gemm %a, %b : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
