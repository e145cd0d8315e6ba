// RUN: quant-opt %s --split-input-file --verify-diagnostics

// Tests that constant gather indices outside [-dim, dim) are verifier
// errors (ONNX Gather does not clamp), whatever front end made the IR.
func.func @past_end(%x: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %i = qnn.constant dense<[0, 3]> : tensor<2xi64>
  // expected-error @+1 {{'qnn.gather' op index 3 (element 1 of the constant indices) is out of range for axis 0 of 'tensor<3x4xf32>', which has size 3; Gather indices must be in [-3, 2]}}
  %0 = qnn.gather %x, %i : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @negative_past_dim(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %i = qnn.constant dense<[-5]> : tensor<1xi32>
  // expected-error @+1 {{index -5 (element 0 of the constant indices) is out of range for axis 1}}
  %0 = qnn.gather %x, %i {axis = -1 : i64} : (tensor<3x4xf32>, tensor<1xi32>) -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

// In-range negative indices and dynamic dims (checked at run time) verify.
func.func @valid(%x: tensor<3x4xf32>, %y: tensor<?x4xf32>) -> (tensor<2x4xf32>, tensor<1x4xf32>) {
  %i = qnn.constant dense<[-3, 2]> : tensor<2xi64>
  %0 = qnn.gather %x, %i : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %j = qnn.constant dense<[100]> : tensor<1xi64>
  %1 = qnn.gather %y, %j : (tensor<?x4xf32>, tensor<1xi64>) -> tensor<1x4xf32>
  return %0, %1 : tensor<2x4xf32>, tensor<1x4xf32>
}
