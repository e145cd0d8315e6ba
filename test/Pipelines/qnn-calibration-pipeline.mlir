// RUN: quant-opt %s --qnn-calibration-pipeline=scheme=w8a8 | FileCheck %s
// RUN: quant-opt %s --qnn-calibration-pipeline=scheme=w8a8 --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
//
// Round trip of the textual pipeline: the printed pipeline (options
// included) fed back through --pass-pipeline gives the same IR.
// RUN: quant-opt %s --qnn-calibration-pipeline=scheme=w8a8 --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | tail -n +2 | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE \
// RUN:   | FileCheck %s

// PIPELINE: Pass Manager with 2 passes:
// PIPELINE-NEXT: builtin.module(
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     qnn-insert-qdq{{{.*}}activation-mode=static{{.*}}scheme=w8a8{{.*}}}
// PIPELINE-NEXT:   ),
// PIPELINE-NEXT:   qnn-instrument-calibration
// PIPELINE-NEXT: )

// Tests that the pipeline quant-compile runs before calibrating a static
// scheme marks the matmul's activation input for calibration (a quantize to
// !quant.calibrated keyed "<node>/input") and returns that tensor as an extra
// result named by its key, after the model's own result; the weight is
// quantized per channel, not calibrated.
// CHECK-LABEL: func.func @main(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4xf32>)
// CHECK-SAME:    -> (tensor<3x2xf32>, tensor<3x4xf32> {qnn.calibration_key = "matmul/input"})
// CHECK:         %[[WQ:.*]] = qnn.quantize %{{.*}}, %{{.*}} : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xi8>
// CHECK:         %[[WD:.*]] = qnn.dequantize %[[WQ]]
// CHECK:         %[[XQ:.*]] = qnn.quantize %[[X]] {qnn.calibration_key = "matmul/input"} : (tensor<3x4xf32>) -> tensor<3x4x!quant.calibrated
// CHECK:         %[[XD:.*]] = qnn.dequantize %[[XQ]]
// CHECK:         %[[M:.*]] = qnn.matmul %[[XD]], %[[WD]]
// CHECK:         %[[R:.*]] = qnn.relu %[[M]]
// CHECK:         return %[[R]], %[[X]] : tensor<3x2xf32>, tensor<3x4xf32>
func.func @main(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[0.5, -1.0], [0.25, 2.0], [1.0, 0.0], [-0.5, 0.75]]> : tensor<4x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %1 = qnn.relu %0 : tensor<3x2xf32> -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}
