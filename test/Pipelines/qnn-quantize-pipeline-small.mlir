// RUN: quant-opt %s --qnn-quantize-pipeline='scheme=w4a16 group-size=2' 2>&1 | FileCheck %s
// RUN: quant-opt %s --qnn-quantize-pipeline='scheme=w8a16' 2>&1 | FileCheck %s --check-prefix=W8

// Tests that a small weight (inline, not a resource blob) is quantized and
// fused like a large one: no folder may turn dequantize(int constant) back
// into a float weight. int4 symmetric groups of 2 rows: column maxima
// |3.5| and |2.0| in rows 0-1, |7.0| and |1.5| in rows 2-3, over 7.
// CHECK: remark: no float weights materialized from quantized data in @f
// CHECK-DAG: %[[S:.*]] = qnn.constant dense<{{\[}}[5.000000e-01, 0.285714298], [1.000000e+00, 0.214285716]]> : tensor<2x2xf32>
// CHECK-DAG: %[[W:.*]] = qnn.constant dense<{{\[}}[2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi4>
// CHECK: qnn.weight_only_matmul %arg0, %[[W]], %[[S]] {group_size = 2 : i64}
// CHECK-NOT: qnn.matmul
// CHECK-NOT: tensor<4x2xf32>

// W8: remark: no float weights materialized from quantized data in @f
// W8: qnn.weight_only_matmul %arg0, %{{.*}} : (tensor<2x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [3.5, 0.5], [-7.0, 1.0], [0.75, 1.5]]> : tensor<4x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
