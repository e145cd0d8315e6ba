// RUN: quant-opt %s --split-input-file --verify-diagnostics

// Tests that the verifiers of the shape, index and reduction ops reject
// malformed IR with a message saying what is wrong.

func.func @range_mixed_types(%a: tensor<i64>, %b: tensor<i32>) -> tensor<?xi64> {
  // expected-error @+1 {{start, limit and delta must share an element type}}
  %0 = qnn.range %a, %b, %a : (tensor<i64>, tensor<i32>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

func.func @range_zero_delta(%a: tensor<i64>) -> tensor<?xi64> {
  %d = qnn.constant dense<0> : tensor<i64>
  // expected-error @+1 {{delta must not be 0}}
  %0 = qnn.range %a, %a, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

func.func @constant_of_shape_two_values(%s: tensor<2xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{value must have exactly one element}}
  %0 = qnn.constant_of_shape %s {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xi64> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @trilu_vector(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{input must have rank >= 2}}
  %0 = qnn.trilu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @cumsum_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2 (valid: [-2, 1])}}
  %0 = qnn.cumsum %x {axis = 2 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @pad_mode(%x: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{mode must be constant, reflect, edge or wrap, got 'mirror'}}
  %0 = qnn.pad %x {pads = array<i64: 1, 1>, mode = "mirror"} : (tensor<2xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @scatter_reduction(%d: tensor<4xf32>, %i: tensor<1x1xi64>, %u: tensor<1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduction must be none, add, mul, max or min, got 'sub'}}
  %0 = qnn.scatter_nd %d, %i, %u {reduction = "sub"} : (tensor<4xf32>, tensor<1x1xi64>, tensor<1xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_elements_rank(%d: tensor<2x3xf32>, %i: tensor<3xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{must have the same rank}}
  %0 = qnn.gather_elements %d, %i : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_min_repeated(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{axis -1 is repeated in axes}}
  %0 = qnn.reduce_min %x {axes = array<i64: 1, -1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @log_softmax_int(%x: tensor<2x3xi32>) -> tensor<2x3xi32> {
  // expected-error @+1 {{needs a floating-point input}}
  %0 = qnn.log_softmax %x : tensor<2x3xi32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}
