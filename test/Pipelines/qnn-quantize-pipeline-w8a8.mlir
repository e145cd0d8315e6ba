// RUN: rm -rf %t && split-file %s %t
// RUN: quant-opt %t/model.mlir --qnn-quantize-pipeline="scheme=w8a8 calibration-table=%t/table.json" 2>&1 | FileCheck %s
// RUN: quant-opt %t/model.mlir --qnn-quantize-pipeline="scheme=w8a8" 2>&1 | FileCheck %s --check-prefix=NOTABLE

// Tests that static W8A8 with a calibration table ends as one integer matmul
// with everything constant precomputed. fc1/input in [-1, 3] gives uint8
// scale 4/255 and zero point 64; the weight 0.25 everywhere gives per-channel
// int8 scale 0.25/127 and values 127. The bias 0.5 becomes
// rint(0.5 / (s_a * s_w)) = 16192, and the zero-point correction
// -64 * (16 * 127) = -130048 is added: -113856. The multiplier is
// s_a * s_w = 3.0878e-05 and the lhs zero point 0.
// CHECK: remark: no float weights materialized from quantized data in @main
// CHECK-LABEL: func.func @main
// CHECK-DAG:   %[[ONE:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG:   %[[B:.*]] = qnn.constant dense<-113856> : tensor<8xi32>
// CHECK-DAG:   %[[M:.*]] = qnn.constant dense<3.08784947E-5> : tensor<8xf32>
// CHECK-DAG:   %[[Z0:.*]] = qnn.constant dense<0> : tensor<ui8>
// CHECK-DAG:   %[[SA:.*]] = qnn.constant dense<0.0156862754> : tensor<f32>
// CHECK-DAG:   %[[ZA:.*]] = qnn.constant dense<64> : tensor<ui8>
// CHECK:       %[[XQ:.*]] = qnn.quantize %arg0, %[[SA]], %[[ZA]] {{.*}} -> tensor<4x16xui8>
// CHECK:       %[[Y:.*]] = qnn.quantized_matmul %[[XQ]], %{{.*}}, %[[ONE]], %[[Z0]], %[[M]] bias(%[[B]]) {activation = "relu"} : {{.*}} -> tensor<4x8xf32>
// CHECK:       return %[[Y]]

// Tests that without a table the static activation keeps its calibration
// placeholder and the weight stays a dequantized int8 constant, which the
// lint reports instead of passing silently.
// NOTABLE: warning: {{.*}}float weight 'tensor<16x8xf32>' is materialized from quantized data
// NOTABLE: !quant.calibrated

//--- table.json
{"format": "quantopt-calibration-table", "version": 1, "method": "minmax",
 "options": {"symmetric": false, "moving_average": false, "averaging_constant": 0.01},
 "tensors": {"fc1/input": {"min": -1.0, "max": 3.0}}}

//--- model.mlir
func.func @main(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %w = qnn.constant dense<0.25> : tensor<16x8xf32>
  %b = qnn.constant dense<0.5> : tensor<8xf32>
  %0 = qnn.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32> loc("fc1")
  %1 = qnn.add %0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = qnn.relu %1 : tensor<4x8xf32> -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}
