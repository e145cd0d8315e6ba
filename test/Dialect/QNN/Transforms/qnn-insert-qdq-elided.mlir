// RUN: quant-opt %s --qnn-insert-qdq -verify-diagnostics

// Tests that a weight whose data was elided when the IR was printed is an
// error naming the fix, not a layer silently left in float.
func.func @elided(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense_resource<elided_weight> : tensor<2x2xf32>
  // expected-error @+1 {{cannot quantize this layer: its weight's data is not available (weights are elided when IR is printed; import with quant-translate --emit-weights)}}
  %0 = qnn.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
