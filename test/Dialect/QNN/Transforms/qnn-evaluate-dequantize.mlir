// RUN: quant-opt %s --qnn-evaluate-dequantize --canonicalize --split-input-file | FileCheck %s
// RUN: quant-opt %s --canonicalize --split-input-file | FileCheck %s --check-prefix=CANON

// Tests that dequantize of constants is evaluated with ONNX arithmetic,
// (q - z) * s: ([-128, 0, 127] - 3) * 0.5 = [-65.5, -1.5, 62], and blocked
// parameters along axis 1 with block 2: [[1, 2, 3]] with scales [[1, 10]] and
// zero points 0 gives [[1, 2, 30]].
// CHECK-LABEL: func.func @per_tensor
// CHECK: %[[C:.*]] = qnn.constant dense<[-6.550000e+01, -1.500000e+00, 6.200000e+01]> : tensor<3xf32>
// CHECK: return %[[C]]
// Tests that canonicalization alone never does this: a dequantized constant
// weight must stay quantized.
// CANON-LABEL: func.func @per_tensor
// CANON: qnn.dequantize
func.func @per_tensor() -> tensor<3xf32> {
  %q = qnn.constant dense<[-128, 0, 127]> : tensor<3xi8>
  %s = qnn.constant dense<0.5> : tensor<f32>
  %z = qnn.constant dense<3> : tensor<i8>
  %d = qnn.dequantize %q, %s, %z : (tensor<3xi8>, tensor<f32>, tensor<i8>) -> tensor<3xf32>
  return %d : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @blocked
// CHECK: %[[C:.*]] = qnn.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+01]]> : tensor<1x3xf32>
// CHECK: return %[[C]]
func.func @blocked() -> tensor<1x3xf32> {
  %q = qnn.constant dense<[[1, 2, 3]]> : tensor<1x3xi4>
  %s = qnn.constant dense<[[1.0, 10.0]]> : tensor<1x2xf32>
  %d = qnn.dequantize %q, %s {block_size = 2 : i64} : (tensor<1x3xi4>, tensor<1x2xf32>) -> tensor<1x3xf32>
  return %d : tensor<1x3xf32>
}

// -----

// Tests that a non-constant input is left alone.
// CHECK-LABEL: func.func @runtime
// CHECK: qnn.dequantize %arg0
func.func @runtime(%q: tensor<3xi8>) -> tensor<3xf32> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %d = qnn.dequantize %q, %s : (tensor<3xi8>, tensor<f32>) -> tensor<3xf32>
  return %d : tensor<3xf32>
}
