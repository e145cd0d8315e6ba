// RUN: quant-opt %s --qnn-instrument-calibration -split-input-file -verify-diagnostics | FileCheck %s

// Tests that each tensor marked for calibration becomes an extra result of
// the entry function, named by its calibration key, once per key, and that
// the original results stay first.
// CHECK-LABEL: func.func @entry(
// CHECK-SAME:    %[[X:.*]]: tensor<2x4xf32>, %[[Y:.*]]: tensor<2x4xf32>)
// CHECK-SAME:    -> (tensor<2x4xf32>, tensor<2x4xf32> {qnn.calibration_key = "fc1/input"}, tensor<2x4xf32> {qnn.calibration_key = "fc2/input"})
// CHECK:         return %{{.*}}, %[[X]], %[[Y]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
func.func @entry(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = qnn.quantize %x {qnn.calibration_key = "fc1/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  %q2 = qnn.quantize %x {qnn.calibration_key = "fc1/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d2 = qnn.dequantize %q2 : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  %q3 = qnn.quantize %y {qnn.calibration_key = "fc2/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d3 = qnn.dequantize %q3 : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  %s = qnn.add %d, %d2 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = qnn.add %s, %d3 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}

// -----

// Tests that a called function keeps its signature and says why.
// CHECK-LABEL: func.func @callee(
// CHECK-SAME:    -> tensor<2x4xf32>
// expected-warning @+1 {{not instrumented for calibration: @callee is called}}
func.func @callee(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = qnn.quantize %x {qnn.calibration_key = "fc1/input"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}
func.func @caller(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %r = func.call @callee(%x) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
