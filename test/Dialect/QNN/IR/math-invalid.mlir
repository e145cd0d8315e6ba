// RUN: quant-opt %s -split-input-file -verify-diagnostics

// Verifier errors of the elementwise math, logic and activation ops of
// QNNMathOps.td; one case per message.

// Tests that boolean logic rejects non-boolean operands.
func.func @and_not_bool(%a: tensor<4xi8>) -> tensor<4xi8> {
  // expected-error @+1 {{expects boolean (i1) operands, got 'tensor<4xi8>'}}
  %0 = qnn.and %a, %a : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// Tests that not rejects a non-boolean operand.
func.func @not_float(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects a boolean (i1) operand, got 'tensor<4xf32>'}}
  %0 = qnn.not %a : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that bitwise ops reject floats.
func.func @bitwise_float(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects integer (8 to 64 bits) operands, got 'tensor<4xf32>'}}
  %0 = qnn.bitwise_and %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that bitwise_not rejects booleans.
func.func @bitwise_not_bool(%a: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{expects an integer operand of 8 to 64 bits, got 'tensor<4xi1>'}}
  %0 = qnn.bitwise_not %a : tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// Tests that bit_shift rejects floats.
func.func @bit_shift_float(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects integer (8 to 64 bits) operands, got 'tensor<4xf32>'}}
  %0 = qnn.bit_shift %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that bit_shift rejects an unknown direction.
func.func @bit_shift_direction(%a: tensor<4xui8>) -> tensor<4xui8> {
  // expected-error @+1 {{direction must be "left" or "right", got "up"}}
  %0 = qnn.bit_shift %a, %a {direction = "up"} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// Tests that mod rejects operands of different element types.
func.func @mod_mismatch(%a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{operands have different element types 'f32' and 'f16'}}
  %0 = qnn.mod %a, %b {fmod = true} : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that comparisons reject operands of different element types.
func.func @equal_mismatch(%a: tensor<4xf32>, %b: tensor<4xi32>) -> tensor<4xi1> {
  // expected-error @+1 {{operands have different element types 'f32' and 'i32'}}
  %0 = qnn.equal %a, %b : (tensor<4xf32>, tensor<4xi32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// Tests that is_nan rejects integers.
func.func @is_nan_int(%a: tensor<4xi32>) -> tensor<4xi1> {
  // expected-error @+1 {{expects a floating-point operand, got 'tensor<4xi32>'}}
  %0 = qnn.is_nan %a : tensor<4xi32> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

// Tests that comparisons reject operands whose shapes do not broadcast.
func.func @less_shapes(%a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<4xi1> {
  // expected-error @+2 {{operand shapes are not broadcast-compatible: [3] and 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.less %a, %b : (tensor<3xf32>, tensor<4xf32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}
