// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --verify-diagnostics

// Errors of the CPU lowering of the QNNMathOps.td ops.

// Tests that a float-only op on an integer tensor is reported at the op.
func.func @sin_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+2 {{expects a floating-point operand on the CPU backend, got 'tensor<4xi32>'}}
  // expected-error @+1 {{failed to legalize operation 'qnn.sin'}}
  %0 = qnn.sin %x : tensor<4xi32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}
