// RUN: quant-opt %s --qnn-infer-shapes --split-input-file -verify-diagnostics

// A declared type that is compatible with its operands as written but
// conflicts once an earlier result has been refined is an error naming the op
// and both types.

// Tests a conflict that appears after reshape's result becomes 2x12.
func.func @conflict_after_reshape(%x: tensor<24xf32>) -> tensor<3x12xf32> {
  %c = qnn.constant dense<[2, 12]> : tensor<2xi64>
  %0 = qnn.reshape %x, %c : (tensor<24xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  // expected-error @+1 {{'qnn.relu' op result type 'tensor<3x12xf32>' conflicts with the inferred type 'tensor<2x12xf32>'; fix the declared shape in the model}}
  %1 = qnn.relu %0 : tensor<?x?xf32> -> tensor<3x12xf32>
  return %1 : tensor<3x12xf32>
}

// -----

// Tests a conflict on a matmul whose operand became static.
func.func @conflict_matmul(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = qnn.relu %x : tensor<2x3xf32> -> tensor<?x?xf32>
  // expected-error @+1 {{'qnn.matmul' op result type 'tensor<3x4xf32>' conflicts with the inferred type 'tensor<2x4xf32>'}}
  %1 = qnn.matmul %0, %w : (tensor<?x?xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// -----

// Tests that an inference error exposed by refinement (K mismatch) is
// reported by the pass.
func.func @k_mismatch_after_refinement(%x: tensor<2x3xf32>, %w: tensor<5x4xf32>) -> tensor<?x4xf32> {
  %0 = qnn.relu %x : tensor<2x3xf32> -> tensor<?x?xf32>
  // expected-error @+1 {{matmul contraction dimensions differ: lhs 'tensor<2x3xf32>' has K = 3 but rhs 'tensor<5x4xf32>' has K = 5}}
  %1 = qnn.matmul %0, %w : (tensor<?x?xf32>, tensor<5x4xf32>) -> tensor<?x4xf32>
  return %1 : tensor<?x4xf32>
}
