// RUN: quant-opt %s --qnn-fuse-quantized-pipeline | FileCheck %s
// RUN: quant-opt %s --qnn-fuse-quantized-pipeline --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
//
// Round trip of the textual pipeline: the printed pipeline fed back through
// --pass-pipeline gives the same IR.
// RUN: quant-opt %s --qnn-fuse-quantized-pipeline --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | tail -n +2 | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE \
// RUN:   | FileCheck %s

// PIPELINE: Pass Manager with 1 passes:
// PIPELINE-NEXT: builtin.module(
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     qnn-propagate-qdq,
// PIPELINE-NEXT:     qnn-fuse-quantized-matmul,
// PIPELINE-NEXT:     qnn-fold-quantized-matmul-params,
// PIPELINE-NEXT:     canonicalize{{{.*}}},
// PIPELINE-NEXT:     cse
// PIPELINE-NEXT:   )
// PIPELINE-NEXT: )

// Tests that a model quantized elsewhere (a constant int8 weight behind a
// dequantize, as a QDQ export has it) becomes a weight-only matmul that reads
// the integer weight and its scales, with no dequantize or float matmul left:
// what `quant-compile --scheme=float` runs so that such a model still gets
// integer kernels.
// CHECK-LABEL: func.func @qdq_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4xf32>)
// CHECK-DAG:     %[[W:.*]] = qnn.constant dense<{{\[\[}}2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi8>
// CHECK-DAG:     %[[S:.*]] = qnn.constant dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
// CHECK-NOT:     qnn.dequantize
// CHECK:         %[[R:.*]] = qnn.weight_only_matmul %[[X]], %[[W]], %[[S]] : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT:    return %[[R]]
func.func @qdq_matmul(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[2, -7], [7, 2], [-7, 5], [1, 7]]> : tensor<4x2xi8>
  %s = qnn.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %d = qnn.dequantize %w, %s {axis = 1 : i64} : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %0 = qnn.matmul %x, %d : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
