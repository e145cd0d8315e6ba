// RUN: quant-opt %s --qnn-insert-qdq=scheme=fp8 --qnn-quantize-weights | FileCheck %s
// RUN: quant-opt %s --qnn-insert-qdq=scheme=fp8 --qnn-lint-float-weights 2>&1 | FileCheck %s --check-prefix=LINT

// Tests that fp8 weights are evaluated too: per-channel E4M3FN scales
// max|col| / 448 = [4/448, 2/448] map [[1, -2], [4, 0.5]] to
// [[112, -448], [448, 112]], all exactly representable in E4M3FN, and the
// float weight is gone.
// CHECK-LABEL: func.func @f
// CHECK-DAG:   %[[W:.*]] = qnn.constant dense<{{\[}}[1.120000e+02, -4.480000e+02], [4.480000e+02, 1.120000e+02]]> : tensor<2x2xf8E4M3FN>
// CHECK-DAG:   %[[S:.*]] = qnn.constant dense<[0.00892857183, 0.00446428591]> : tensor<2xf32>
// CHECK:       qnn.dequantize %[[W]], %[[S]] : (tensor<2x2xf8E4M3FN>, tensor<2xf32>) -> tensor<2x2xf32>
// CHECK-NOT:   tensor<2x2xf32> = qnn.constant

// Tests that the lint reports a weight whose quantize was never evaluated.
// LINT: warning: {{.*}}float weight 'tensor<2x2xf32>' is still in the IR: its quantize was not evaluated (run qnn-quantize-weights)
func.func @f(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  return %0 : tensor<3x2xf32>
}
