// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --verify-diagnostics

// Tests that float8 E5M2 data is rejected with a diagnostic naming the op
// (the CPU backend carries E4M3FN as bytes; E5M2 is not implemented).
func.func @fp8(%x: tensor<4xf32>) -> tensor<4xf8E5M2> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  // expected-error @+2 {{float8 E5M2 tensors are not supported by the CPU backend (E4M3FN is)}}
  // expected-error @+1 {{failed to legalize operation 'qnn.constant'}}
  %z = qnn.constant dense<0.0> : tensor<f8E5M2>
  %0 = qnn.quantize %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<f8E5M2>) -> tensor<4xf8E5M2>
  return %0 : tensor<4xf8E5M2>
}

// -----

// Tests that an activation that was never calibrated asks for calibration
// data instead of compiling with a made-up range.
func.func @uncalibrated(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{activation range is not calibrated: give calibration data (quant-compile --calib-data) or use activation-mode=dynamic}}
  // expected-error @+1 {{failed to legalize operation 'qnn.quantize'}}
  %0 = qnn.quantize %x : (tensor<4xf32>) -> tensor<4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
  %1 = qnn.dequantize %0 : (tensor<4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// Tests that a gemm, which qnn-decompose-gemm rewrites away, names the pass
// to run first instead of only failing to legalize.
func.func @gemm(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qnn.gemm' op has no CPU lowering: run --qnn-decompose-gemm (part of --qnn-normalize) before convert-qnn-to-cpu}}
  %0 = qnn.gemm %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
