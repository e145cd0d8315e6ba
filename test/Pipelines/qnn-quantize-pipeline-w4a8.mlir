// RUN: rm -rf %t && split-file %s %t
// RUN: quant-opt %t/model.mlir --qnn-quantize-pipeline="scheme=w4a8 weight-granularity=per-channel calibration-table=%t/table.json" 2>&1 | FileCheck %s
// RUN: quant-opt %t/model.mlir --qnn-quantize-pipeline="scheme=w4a8 calibration-table=%t/table.json" 2>&1 | FileCheck %s --check-prefix=GROUPED

// Tests that W4A8 with per-channel int4 weights becomes one integer matmul
// with a packed int4 weight: the weight 0.25 everywhere gives scale 0.25/7
// and values 7; fc1/input in [-1, 3] gives uint8 zero point 64, so the
// zero-point correction read from the packed blob is -64 * 16 * 7 = -7168.
// CHECK: remark: no float weights materialized from quantized data in @main
// CHECK-DAG: %[[B:.*]] = qnn.constant dense<-7168> : tensor<8xi32>
// CHECK-DAG: %[[W:.*]] = qnn.constant dense_resource<{{.*}}> : tensor<16x8xi4>
// CHECK:     qnn.quantized_matmul %{{.*}}, %[[W]], %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B]]) : (tensor<4x16xui8>, tensor<16x8xi4>, tensor<f32>, tensor<ui8>, tensor<8xf32>, tensor<8xi32>) -> tensor<4x8xf32>

// Tests that W4A8 with the default per-group int4 weights is not fused (an
// integer matmul with per-group weight scales needs a per-group
// accumulation) and that the lint says so rather than passing silently.
// GROUPED: warning: {{.*}}float weight 'tensor<16x8xf32>' is materialized from quantized data
// GROUPED: qnn.matmul

//--- table.json
{"format": "quantopt-calibration-table", "version": 1, "method": "minmax",
 "options": {"symmetric": false, "moving_average": false, "averaging_constant": 0.01},
 "tensors": {"fc1/input": {"min": -1.0, "max": 3.0}}}

//--- model.mlir
func.func @main(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %w = qnn.constant dense<0.25> : tensor<16x8xf32>
  %0 = qnn.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32> loc("fc1")
  return %0 : tensor<4x8xf32>
}
