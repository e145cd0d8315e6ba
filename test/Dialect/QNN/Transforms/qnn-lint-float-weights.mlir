// RUN: quant-opt %s --split-input-file --qnn-lint-float-weights -verify-diagnostics
// RUN: not quant-opt %s --split-input-file --qnn-lint-float-weights='fail=true' 2>&1 | FileCheck %s --check-prefix=FAIL

// qnn-lint-float-weights reports every dequantize of a constant whose float
// result is consumed by an op other than a fused quantized op (the float
// weight would exist in memory at run time). Warnings by default, errors with
// fail=true; a clean function gets a remark.

// Tests that a dequantized constant weight feeding a plain qnn.matmul is
// reported on the dequantize, with the consumer op name, and a note on the
// consumer.
// FAIL: error: float weight 'tensor<2x2xf32>' is materialized from quantized data: its dequantize feeds 'qnn.matmul', which is not a fused quantized op (run qnn-fuse-quantized-matmul, or the layer's pattern is not supported)
// FAIL: note: consumed here
func.func @dequantized_weight(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[4, 0], [15, 15]]> : tensor<2x2xi8>
  %s = qnn.constant dense<[0.25, 0.125]> : tensor<2xf32>
  // expected-warning @+1 {{float weight 'tensor<2x2xf32>' is materialized from quantized data: its dequantize feeds 'qnn.matmul', which is not a fused quantized op (run qnn-fuse-quantized-matmul, or the layer's pattern is not supported)}}
  %d = qnn.dequantize %w, %s : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
  // expected-note @+1 {{consumed here}}
  %0 = qnn.matmul %x, %d : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that the consumer named is whatever op uses the float weight (here
// a transpose, whose layout could not be folded into a fused op).
// FAIL: error: float weight 'tensor<4x2xf32>' is materialized from quantized data: its dequantize feeds 'qnn.transpose'
func.func @dequantized_weight_transpose(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1, 2], [3, 4], [5, 6], [7, 7]]> : tensor<4x2xi4>
  %s = qnn.constant dense<0.5> : tensor<f32>
  // expected-warning @+1 {{its dequantize feeds 'qnn.transpose'}}
  %d = qnn.dequantize %w, %s : (tensor<4x2xi4>, tensor<f32>) -> tensor<4x2xf32>
  // expected-note @+1 {{consumed here}}
  %t = qnn.transpose %d {perm = array<i64: 1, 0>} : tensor<4x2xf32> -> tensor<2x4xf32>
  %t2 = qnn.transpose %t {perm = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  %0 = qnn.matmul %x, %t2 : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that a function with only fused quantized ops (no float weight) gets
// the clean remark, and that a dequantized activation (not a constant) is
// not reported.
// FAIL-NOT: error:
// FAIL: remark: no float weights materialized from quantized data in @clean
// expected-remark @+1 {{no float weights materialized from quantized data in @clean}}
func.func @clean(%x: tensor<3x2xf32>, %xq: tensor<3x2xi8>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = qnn.constant dense<[[4, 0], [7, -7]]> : tensor<2x2xi4>
  %s = qnn.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %b = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s bias(%b) : (tensor<3x2xf32>, tensor<2x2xi4>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %xs = qnn.constant dense<0.5> : tensor<f32>
  %xd = qnn.dequantize %xq, %xs : (tensor<3x2xi8>, tensor<f32>) -> tensor<3x2xf32>
  return %0, %xd : tensor<3x2xf32>, tensor<3x2xf32>
}
