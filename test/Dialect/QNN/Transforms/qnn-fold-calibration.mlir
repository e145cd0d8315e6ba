// RUN: rm -rf %t && split-file %s %t
// RUN: quant-opt %t/model.mlir --qnn-fold-calibration=table=%t/table.json | FileCheck %s --check-prefix=U8
// RUN: quant-opt %t/model.mlir --qnn-fold-calibration="table=%t/table.json activation-type=int8" | FileCheck %s --check-prefix=I8
// RUN: quant-opt %t/fp8.mlir --qnn-fold-calibration=table=%t/table.json | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %t/missing.mlir --qnn-fold-calibration=table=%t/table.json -verify-diagnostics
// RUN: not quant-opt %t/model.mlir --qnn-fold-calibration=table=%t/nonexistent.json 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not quant-opt %t/model.mlir --qnn-fold-calibration=table=%t/bad.json 2>&1 | FileCheck %s --check-prefix=BADTABLE
// RUN: not quant-opt %t/model.mlir --qnn-fold-calibration="table=%t/table.json activation-type=int4" 2>&1 | FileCheck %s --check-prefix=BADTYPE
// RUN: not quant-opt %t/model.mlir --qnn-fold-calibration 2>&1 | FileCheck %s --check-prefix=NOTABLE

// Tests that the range [-1, 3] of fc1/input becomes uint8 with
// scale = (3 - (-1)) / 255 = 0.0156862745 and zero point rint(1 / s) = 64
// (asymmetric, ONNX Runtime's default), and that the typed dequantize
// follows.
// U8-LABEL: func.func @main
// U8: %[[Q:.*]] = qnn.quantize %{{.*}} {qnn.calibration_key = "fc1/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<u8:f32, 0.015686{{[0-9]*}}:64>>
// U8: qnn.dequantize %[[Q]] : (tensor<2x4x!quant.uniform<u8:f32, 0.015686{{[0-9]*}}:64>>) -> tensor<2x4xf32>

// Tests that activation-type=int8 gives the symmetric scale max|r| / 127 =
// 3 / 127 = 0.023622 and no zero point.
// I8: qnn.quantize {{.*}} -> tensor<2x4x!quant.uniform<i8:f32, 0.023622{{[0-9]*}}>>

// Tests that the fp8 scheme's activation gets explicit E4M3FN parameters:
// scale = max|r| / 448 = 3 / 448 = 0.00669642864.
// FP8: %[[S:.*]] = qnn.constant dense<0.00669642{{[0-9]*}}> : tensor<f32>
// FP8: %[[Q:.*]] = qnn.quantize %{{.*}}, %[[S]] : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf8E4M3FN>
// FP8: qnn.dequantize %[[Q]], %[[S]] : (tensor<2x4xf8E4M3FN>, tensor<f32>) -> tensor<2x4xf32>

// NOFILE: qnn-fold-calibration: {{.*}}nonexistent.json
// BADTABLE: qnn-fold-calibration: {{.*}}bad.json
// BADTYPE: activation-type 'int4' is not valid; valid values are: uint8, int8
// NOTABLE: qnn-fold-calibration: no calibration table; pass table=<path to the JSON table>

//--- table.json
{
  "format": "quantopt-calibration-table",
  "version": 1,
  "method": "minmax",
  "options": {"symmetric": false, "moving_average": false, "averaging_constant": 0.01},
  "tensors": {"fc1/input": {"min": -1.0, "max": 3.0}}
}

//--- bad.json
{"format": "something-else", "version": 1}

//--- model.mlir
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = qnn.quantize %x {qnn.calibration_key = "fc1/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

//--- fp8.mlir
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = qnn.quantize %x {qnn.calibration_key = "fc1/input", qnn.storage_type = f8E4M3FN} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

//--- missing.mlir
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{no range for 'fc9/input' in calibration table}}
  %q = qnn.quantize %x {qnn.calibration_key = "fc9/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}
