// RUN: quant-opt %s --qnn-fold-quantized-matmul-params --canonicalize --split-input-file | FileCheck %s

// Tests that the zero-point correction goes into the i32 bias and the scales
// become one multiplier per output channel. Weight w = [[1, -2], [3, 4]]
// (K = 2, N = 2), lhs zero point 5, rhs zero point 0, bias [10, 20]:
//   bias'[n] = bias[n] - 5 * sum_k w[k, n] = [10 - 5*4, 20 - 5*2] = [-10, 10]
//   multiplier[n] = lhs_scale * rhs_scale[n] = 0.5 * [0.25, 2.0] = [0.125, 1.0]
// CHECK-LABEL: func.func @correction_and_multiplier
// CHECK-DAG:   %[[ONE:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG:   %[[ZERO:.*]] = qnn.constant dense<0> : tensor<i8>
// CHECK-DAG:   %[[M:.*]] = qnn.constant dense<[1.250000e-01, 1.000000e+00]> : tensor<2xf32>
// CHECK-DAG:   %[[B:.*]] = qnn.constant dense<[-10, 10]> : tensor<2xi32>
// CHECK:       qnn.quantized_matmul %{{.*}}, %{{.*}}, %[[ONE]], %[[ZERO]], %[[M]] bias(%[[B]]) : {{.*}} -> tensor<3x2xf32>
func.func @correction_and_multiplier(%a: tensor<3x2xi8>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1, -2], [3, 4]]> : tensor<2x2xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<5> : tensor<i8>
  %sw = qnn.constant dense<[0.25, 2.0]> : tensor<2xf32>
  %b = qnn.constant dense<[10, 20]> : tensor<2xi32>
  %y = qnn.quantized_matmul %a, %w, %sa, %za, %sw bias(%b) : (tensor<3x2xi8>, tensor<2x2xi8>, tensor<f32>, tensor<i8>, tensor<2xf32>, tensor<2xi32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Tests that a requantizing epilogue without activation also folds the
// output scale (multiplier 0.5 * 0.25 / 0.125 = 1.0), that a transposed
// [N, K] weight is read through its transpose (rows of the stored weight are
// the output channels: sums [3, 7]), and that a missing bias is created:
// bias' = -2 * [3, 7] = [-6, -14].
// CHECK-LABEL: func.func @requantize_transposed
// CHECK-DAG:   %[[ONE:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG:   %[[M:.*]] = qnn.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-DAG:   %[[B:.*]] = qnn.constant dense<[-6, -14]> : tensor<2xi32>
// CHECK:       qnn.quantized_matmul %{{.*}}, %{{.*}}, %[[ONE]], %{{.*}}, %[[M]] bias(%[[B]]) output(%[[ONE]], %{{.*}})
func.func @requantize_transposed(%a: tensor<3x2xi8>) -> tensor<3x2xi8> {
  %w = qnn.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %wt = qnn.transpose %w {perm = array<i64: 1, 0>} : tensor<2x2xi8> -> tensor<2x2xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<2> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %sy = qnn.constant dense<0.125> : tensor<f32>
  %zy = qnn.constant dense<0> : tensor<i8>
  %y = qnn.quantized_matmul %a, %wt, %sa, %za, %sw output(%sy, %zy) : (tensor<3x2xi8>, tensor<2x2xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<f32>, tensor<i8>) -> tensor<3x2xi8>
  return %y : tensor<3x2xi8>
}

// -----

// Tests that a gelu epilogue keeps its output scale (gelu needs the real
// value before requantization) and that an activation x activation matmul
// (no constant weight) is left alone.
// CHECK-LABEL: func.func @gelu_keeps_output_scale
// CHECK:       qnn.quantized_matmul {{.*}} output(%[[SY:.*]], %{{.*}}) {activation = "gelu"}
// CHECK-LABEL: func.func @activation_times_activation
// CHECK:       qnn.quantized_matmul %arg0, %arg1, %[[SA:[^,]*]], %[[ZA:[^,]*]], %{{[^ ]*}} :
func.func @gelu_keeps_output_scale(%a: tensor<3x2xi8>) -> tensor<3x2xi8> {
  %w = qnn.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<0> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %sy = qnn.constant dense<0.125> : tensor<f32>
  %zy = qnn.constant dense<0> : tensor<i8>
  %y = qnn.quantized_matmul %a, %w, %sa, %za, %sw output(%sy, %zy) {activation = "gelu"} : (tensor<3x2xi8>, tensor<2x2xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<f32>, tensor<i8>) -> tensor<3x2xi8>
  return %y : tensor<3x2xi8>
}
func.func @activation_times_activation(%a: tensor<3x2xi8>, %b: tensor<2x2xi8>) -> tensor<3x2xf32> {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<3> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %y = qnn.quantized_matmul %a, %b, %sa, %za, %sw : (tensor<3x2xi8>, tensor<2x2xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
