// RUN: quant-opt %s --qnn-fuse-quantized-matmul --split-input-file | FileCheck %s

//===----------------------------------------------------------------------===//
// Forming qnn.quantized_matmul
//===----------------------------------------------------------------------===//

// Tests that matmul(dequantize(int8 activation), dequantize(int8 constant
// weight)) with a per-tensor activation and per-output-channel weight scales
// becomes an integer matmul on the int8 values; the all-zero weight zero
// point (symmetric weights) is dropped and the dequantizes disappear.
// CHECK-LABEL: func @w8a8_per_channel
// CHECK-SAME: (%[[A:[^:]*]]: tensor<?x4xi8>)
// CHECK-DAG:   %[[W:.*]] = qnn.constant dense_resource<fc_w> : tensor<4x3xi8>
// CHECK-DAG:   %[[SA:.*]] = qnn.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[ZA:.*]] = qnn.constant dense<-3> : tensor<i8>
// CHECK-DAG:   %[[SW:.*]] = qnn.constant dense<[2.500000e-01, 5.000000e-01, 1.000000e+00]> : tensor<3xf32>
// CHECK-NOT:   qnn.dequantize
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[W]], %[[SA]], %[[ZA]], %[[SW]] : (tensor<?x4xi8>, tensor<4x3xi8>, tensor<f32>, tensor<i8>, tensor<3xf32>) -> tensor<?x3xf32>
// CHECK-NOT:   qnn.matmul
// CHECK:       return %[[R]]
func.func @w8a8_per_channel(%a: tensor<?x4xi8>) -> tensor<?x3xf32> {
  %w = qnn.constant dense_resource<fc_w> : tensor<4x3xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<-3> : tensor<i8>
  %sw = qnn.constant dense<[0.25, 0.5, 1.0]> : tensor<3xf32>
  %zw = qnn.constant dense<0> : tensor<3xi8>
  %da = qnn.dequantize %a, %sa, %za : (tensor<?x4xi8>, tensor<f32>, tensor<i8>) -> tensor<?x4xf32>
  %dw = qnn.dequantize %w, %sw, %zw : (tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<4x3xf32>
  %r = qnn.matmul %da, %dw : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  return %r : tensor<?x3xf32>
}

{-#
  dialect_resources: {
    builtin: {
      fc_w: "0x01000000010203040506070809FAFBFC"
    }
  }
#-}

// -----

// Tests uint8 activations without a zero point (0 is materialized, the op
// needs one) times a per-tensor weight with a non-zero zero point, which is
// kept.
// CHECK-LABEL: func @w8a8_uint8_per_tensor
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xui8>, %[[W:[^:]*]]: tensor<4x3xi8>)
// CHECK-DAG:   %[[SA:.*]] = qnn.constant dense<1.250000e-01> : tensor<f32>
// CHECK-DAG:   %[[ZA:.*]] = qnn.constant dense<0> : tensor<ui8>
// CHECK-DAG:   %[[SW:.*]] = qnn.constant dense<2.500000e-01> : tensor<1xf32>
// CHECK-DAG:   %[[ZW:.*]] = qnn.constant dense<5> : tensor<1xi8>
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[W]], %[[SA]], %[[ZA]], %[[SW]] rhs_zero_point(%[[ZW]]) : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<1xf32>, tensor<1xi8>) -> tensor<2x3xf32>
// CHECK:       return %[[R]]
func.func @w8a8_uint8_per_tensor(%a: tensor<2x4xui8>, %w: tensor<4x3xi8>) -> tensor<2x3xf32> {
  %sa = qnn.constant dense<0.125> : tensor<f32>
  %sw = qnn.constant dense<0.25> : tensor<1xf32>
  %zw = qnn.constant dense<5> : tensor<1xi8>
  %da = qnn.dequantize %a, %sa : (tensor<2x4xui8>, tensor<f32>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw, %zw : (tensor<4x3xi8>, tensor<1xf32>, tensor<1xi8>) -> tensor<4x3xf32>
  %r = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Tests that an activation x activation matmul (attention scores Q K^T) with
// per-tensor parameters on both sides is an integer matmul too.
// CHECK-LABEL: func @w8a8_attention_scores
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x2x8x16xi8>, %[[K:[^:]*]]: tensor<1x2x16x8xi8>)
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[Q]], %[[K]], %{{.*}}, %{{.*}}, %{{.*}} rhs_zero_point(%{{.*}}) : (tensor<1x2x8x16xi8>, tensor<1x2x16x8xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<1x2x8x8xf32>
// CHECK:       return %[[R]]
func.func @w8a8_attention_scores(%q: tensor<1x2x8x16xi8>, %k: tensor<1x2x16x8xi8>) -> tensor<1x2x8x8xf32> {
  %s0 = qnn.constant dense<0.02> : tensor<f32>
  %z0 = qnn.constant dense<4> : tensor<i8>
  %s1 = qnn.constant dense<0.03> : tensor<f32>
  %z1 = qnn.constant dense<-7> : tensor<i8>
  %dq = qnn.dequantize %q, %s0, %z0 : (tensor<1x2x8x16xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x8x16xf32>
  %dk = qnn.dequantize %k, %s1, %z1 : (tensor<1x2x16x8xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x16x8xf32>
  %r = qnn.matmul %dq, %dk : (tensor<1x2x8x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}

// -----

// Tests that dynamically quantized activations (qnn.dynamic_quantize: the
// scale and zero point are known before the matmul runs) fuse, but a
// constant bias is not absorbed: quantizing it needs the activation scale
// at compile time.
// CHECK-LABEL: func @w8a8_dynamic_activation
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x4xf32>, %[[W:[^:]*]]: tensor<4x3xi8>)
// CHECK:       %[[Q:.*]], %[[S:.*]], %[[Z:.*]] = qnn.dynamic_quantize %[[X]]
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[Q]], %[[W]], %[[S]], %[[Z]], %{{.*}} : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:       %[[B:.*]] = qnn.add %[[R]], %{{.*}}
// CHECK:       return %[[B]]
func.func @w8a8_dynamic_activation(%x: tensor<2x4xf32>, %w: tensor<4x3xi8>) -> tensor<2x3xf32> {
  %sw = qnn.constant dense<[0.25, 0.5, 1.0]> : tensor<3xf32>
  %bias = qnn.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %q, %s, %z = qnn.dynamic_quantize %x : tensor<2x4xf32> -> tensor<2x4xui8>, tensor<f32>, tensor<ui8>
  %da = qnn.dequantize %q, %s, %z : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
  %r = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %b = qnn.add %r, %bias : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %b : tensor<2x3xf32>
}

// -----

// Tests that calibrated activations in the typed form (!quant.uniform, as
// qnn-fold-calibration writes them) are spelled with explicit scale and
// zero-point constants so that they fuse; the unsigned type gives ui8
// storage.
// CHECK-LABEL: func @w8a8_typed_activation
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x4xf32>, %[[W:[^:]*]]: tensor<4x3xi8>)
// CHECK-DAG:   %[[S:.*]] = qnn.constant dense<1.250000e-01> : tensor<f32>
// CHECK-DAG:   %[[Z:.*]] = qnn.constant dense<200> : tensor<ui8>
// CHECK:       %[[Q:.*]] = qnn.quantize %[[X]], %[[S]], %[[Z]] {{.*}}: (tensor<2x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[Q]], %[[W]], %[[S]], %[[Z]], %{{.*}} : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<f32>) -> tensor<2x3xf32>
// CHECK:       return %[[R]]
func.func @w8a8_typed_activation(%x: tensor<2x4xf32>, %w: tensor<4x3xi8>) -> tensor<2x3xf32> {
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x3xi8>, tensor<f32>) -> tensor<4x3xf32>
  %q = qnn.quantize %x {qnn.calibration_key = "fc"} : (tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<u8:f32, 0.125:200>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.uniform<u8:f32, 0.125:200>>) -> tensor<2x4xf32>
  %r = qnn.matmul %d, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Tests that a narrow-range type ([-127, 127]) keeps its typed form and is
// not fused: an explicit quantize saturates to the full storage range
// [-128, 127], so the spelling change would alter values.
// CHECK-LABEL: func @typed_narrow_range_not_fused
// CHECK:       %[[Q:.*]] = qnn.quantize %{{.*}} : (tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8<-127:127>:f32, 5.000000e-01>>
// CHECK:       %[[D:.*]] = qnn.dequantize %[[Q]]
// CHECK:       %[[R:.*]] = qnn.matmul %[[D]]
// CHECK:       return %[[R]]
func.func @typed_narrow_range_not_fused(%x: tensor<2x4xf32>, %w: tensor<4x3xi8>) -> tensor<2x3xf32> {
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x3xi8>, tensor<f32>) -> tensor<4x3xf32>
  %q = qnn.quantize %x : (tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %d = qnn.dequantize %q : (tensor<2x4x!quant.uniform<i8<-127:127>:f32, 0.5>>) -> tensor<2x4xf32>
  %r = qnn.matmul %d, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

//===----------------------------------------------------------------------===//
// The epilogue: bias, activation, output quantization
//===----------------------------------------------------------------------===//

// -----

// Tests the full epilogue: a constant f32 bias becomes i32 with scale
// s_a * s_w[n] = [0.125, 0.25, 0.5, 1.0], rounded half to even
// ([2.5, -1.5, 2.5, 2.5] -> [2, -2, 2, 2]); the relu and the next layer's
// quantize are absorbed and the result is int8.
// CHECK-LABEL: func @w8a8_bias_relu_requantize
// CHECK-SAME: (%[[A:[^:]*]]: tensor<?x4xi8>, %[[W:[^:]*]]: tensor<4x4xi8>)
// CHECK-DAG:   %[[SA:.*]] = qnn.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[ZA:.*]] = qnn.constant dense<1> : tensor<i8>
// CHECK-DAG:   %[[SW:.*]] = qnn.constant dense<[2.500000e-01, 5.000000e-01, 1.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK-DAG:   %[[B:.*]] = qnn.constant dense<[2, -2, 2, 2]> : tensor<4xi32>
// CHECK-DAG:   %[[SY:.*]] = qnn.constant dense<1.000000e-01> : tensor<f32>
// CHECK-DAG:   %[[ZY:.*]] = qnn.constant dense<-128> : tensor<i8>
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[W]], %[[SA]], %[[ZA]], %[[SW]] bias(%[[B]]) output(%[[SY]], %[[ZY]]) {activation = "relu"} : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<f32>, tensor<i8>, tensor<4xf32>, tensor<4xi32>, tensor<f32>, tensor<i8>) -> tensor<?x4xi8>
// CHECK-NOT:   qnn.add
// CHECK-NOT:   qnn.relu
// CHECK-NOT:   qnn.quantize
// CHECK:       return %[[R]]
func.func @w8a8_bias_relu_requantize(%a: tensor<?x4xi8>, %w: tensor<4x4xi8>) -> tensor<?x4xi8> {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<1> : tensor<i8>
  %sw = qnn.constant dense<[0.25, 0.5, 1.0, 2.0]> : tensor<4xf32>
  %bias = qnn.constant dense<[0.3125, -0.375, 1.25, 2.5]> : tensor<4xf32>
  %sy = qnn.constant dense<0.1> : tensor<f32>
  %zy = qnn.constant dense<-128> : tensor<i8>
  %da = qnn.dequantize %a, %sa, %za : (tensor<?x4xi8>, tensor<f32>, tensor<i8>) -> tensor<?x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x4xi8>, tensor<4xf32>) -> tensor<4x4xf32>
  %mm = qnn.matmul %da, %dw : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %b = qnn.add %bias, %mm : (tensor<4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %r = qnn.relu %b : tensor<?x4xf32> -> tensor<?x4xf32>
  %y = qnn.quantize %r, %sy, %zy : (tensor<?x4xf32>, tensor<f32>, tensor<i8>) -> tensor<?x4xi8>
  return %y : tensor<?x4xi8>
}

// -----

// Tests that an ONNX Runtime QDQ bias, dequantize(b : i32, s_a * s_w, 0), is
// taken as the i32 bias as it is, and that gelu (exact erf form) is
// absorbed.
// CHECK-LABEL: func @w8a8_ort_bias_gelu
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xi8>, %[[W:[^:]*]]: tensor<4x2xi8>, %[[B:[^:]*]]: tensor<2xi32>)
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[W]], %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B]]) {activation = "gelu"} : (tensor<2x4xi8>, tensor<4x2xi8>, tensor<f32>, tensor<i8>, tensor<2xf32>, tensor<2xi32>) -> tensor<2x2xf32>
// CHECK:       return %[[R]]
func.func @w8a8_ort_bias_gelu(%a: tensor<2x4xi8>, %w: tensor<4x2xi8>, %b: tensor<2xi32>) -> tensor<2x2xf32> {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<0> : tensor<i8>
  %sw = qnn.constant dense<[0.25, 0.75]> : tensor<2xf32>
  %zw = qnn.constant dense<0> : tensor<2xi8>
  %sb = qnn.constant dense<[0.125, 0.375]> : tensor<2xf32>
  %zb = qnn.constant dense<0> : tensor<2xi32>
  %da = qnn.dequantize %a, %sa, %za : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw, %zw : (tensor<4x2xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<4x2xf32>
  %db = qnn.dequantize %b, %sb, %zb {axis = 0 : i64} : (tensor<2xi32>, tensor<2xf32>, tensor<2xi32>) -> tensor<2xf32>
  %mm = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %add = qnn.add %mm, %db : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %g = qnn.gelu %add : tensor<2x2xf32> -> tensor<2x2xf32>
  return %g : tensor<2x2xf32>
}

// -----

// Tests that an i32 bias dequantized with another scale than s_a * s_w is not
// absorbed (it would change the values), and that silu is absorbed while a
// tanh-approximated gelu is not (the op's gelu is the erf form).
// CHECK-LABEL: func @w8a8_bias_scale_mismatch
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %{{.*}} {activation = "silu"}
// CHECK:       %[[M:.*]] = qnn.quantized_matmul %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}} : (
// CHECK:       %[[ADD:.*]] = qnn.add %[[M]], %{{.*}}
// CHECK:       %[[G:.*]] = qnn.gelu %[[ADD]] {approximate = "tanh"}
// CHECK:       return %[[R]], %[[G]]
func.func @w8a8_bias_scale_mismatch(%a: tensor<2x4xi8>, %w: tensor<4x2xi8>, %b: tensor<2xi32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %sb = qnn.constant dense<0.25> : tensor<f32>
  %da = qnn.dequantize %a, %sa : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x2xi8>, tensor<f32>) -> tensor<4x2xf32>
  %db = qnn.dequantize %b, %sb : (tensor<2xi32>, tensor<f32>) -> tensor<2xf32>
  %mm0 = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %s = qnn.silu %mm0 : tensor<2x2xf32> -> tensor<2x2xf32>
  %mm1 = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %add = qnn.add %mm1, %db : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %g = qnn.gelu %add {approximate = "tanh"} : tensor<2x2xf32> -> tensor<2x2xf32>
  return %s, %g : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// Tests that the epilogue only grows over values nobody else reads: the
// float matmul result is also returned, so neither the bias nor the
// quantize is absorbed; and a bias after the activation stays an add.
// CHECK-LABEL: func @w8a8_extra_users
// CHECK:       %[[M:.*]] = qnn.quantized_matmul %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}} : (
// CHECK:       %[[ADD:.*]] = qnn.add %[[M]], %{{.*}}
// CHECK:       %[[Q:.*]] = qnn.quantize %[[M]], %{{.*}} :
// CHECK:       %[[RELU:.*]] = qnn.quantized_matmul %{{.*}} {activation = "relu"}
// CHECK:       %[[ADD2:.*]] = qnn.add %[[RELU]], %{{.*}}
// CHECK:       return %[[M]], %[[ADD]], %[[Q]], %[[ADD2]]
func.func @w8a8_extra_users(%a: tensor<2x4xi8>, %w: tensor<4x2xi8>)
    -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi8>, tensor<2x2xf32>) {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %bias = qnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %da = qnn.dequantize %a, %sa : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x2xi8>, tensor<f32>) -> tensor<4x2xf32>
  %mm = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %add = qnn.add %mm, %bias : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %q = qnn.quantize %mm, %sa : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
  %mm2 = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %r = qnn.relu %mm2 : tensor<2x2xf32> -> tensor<2x2xf32>
  %add2 = qnn.add %r, %bias : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %mm, %add, %q, %add2 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi8>, tensor<2x2xf32>
}

//===----------------------------------------------------------------------===//
// Not fused
//===----------------------------------------------------------------------===//

// -----

// Tests that a per-axis activation scale (per K here) is not fused: the
// integer matmul needs one activation scale.
// CHECK-LABEL: func @no_fusion_per_axis_activation
// CHECK-NOT:   qnn.quantized_matmul
// CHECK:       qnn.matmul
func.func @no_fusion_per_axis_activation(%a: tensor<2x4xi8>, %w: tensor<4x3xi8>) -> tensor<2x3xf32> {
  %sa = qnn.constant dense<[0.5, 0.25, 0.125, 1.0]> : tensor<4xf32>
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %da = qnn.dequantize %a, %sa : (tensor<2x4xi8>, tensor<4xf32>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x3xi8>, tensor<f32>) -> tensor<4x3xf32>
  %r = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Tests that activation parameters that are neither constants nor from a
// qnn.dynamic_quantize (function arguments) are not fused.
// CHECK-LABEL: func @no_fusion_runtime_params
// CHECK-NOT:   qnn.quantized_matmul
// CHECK:       qnn.matmul
func.func @no_fusion_runtime_params(%a: tensor<2x4xi8>, %w: tensor<4x3xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> tensor<2x3xf32> {
  %sw = qnn.constant dense<0.25> : tensor<f32>
  %da = qnn.dequantize %a, %sa, %za : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sw : (tensor<4x3xi8>, tensor<f32>) -> tensor<4x3xf32>
  %r = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Tests that weight scales per K row (axis 0) are not fused into the int8
// op, while an int4 weight with a per-tensor scale is (W4A8).
// CHECK-LABEL: func @no_fusion_weight_layout
// CHECK:       qnn.matmul
// CHECK:       qnn.quantized_matmul %{{.*}}, %{{.*}} : (tensor<2x4xi8>, tensor<4x3xi4>, {{.*}}) -> tensor<2x3xf32>
func.func @no_fusion_weight_layout(%a: tensor<2x4xi8>, %w: tensor<4x3xi8>, %w4: tensor<4x3xi4>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %sk = qnn.constant dense<[0.5, 0.25, 0.125, 1.0]> : tensor<4xf32>
  %da = qnn.dequantize %a, %sa : (tensor<2x4xi8>, tensor<f32>) -> tensor<2x4xf32>
  %dw = qnn.dequantize %w, %sk {axis = 0 : i64} : (tensor<4x3xi8>, tensor<4xf32>) -> tensor<4x3xf32>
  %dw4 = qnn.dequantize %w4, %sa : (tensor<4x3xi4>, tensor<f32>) -> tensor<4x3xf32>
  %r0 = qnn.matmul %da, %dw : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %r1 = qnn.matmul %da, %dw4 : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %r0, %r1 : tensor<2x3xf32>, tensor<2x3xf32>
}

//===----------------------------------------------------------------------===//
// ONNX integer matmuls
//===----------------------------------------------------------------------===//

// -----

// Tests that QLinearMatMul is the fused op with an output quantization.
// CHECK-LABEL: func @qlinear_matmul
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xui8>, %[[SA:[^:]*]]: tensor<f32>, %[[ZA:[^:]*]]: tensor<ui8>, %[[B:[^:]*]]: tensor<4x3xi8>, %[[SB:[^:]*]]: tensor<3xf32>, %[[ZB:[^:]*]]: tensor<3xi8>, %[[SY:[^:]*]]: tensor<f32>, %[[ZY:[^:]*]]: tensor<ui8>)
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[B]], %[[SA]], %[[ZA]], %[[SB]] rhs_zero_point(%[[ZB]]) output(%[[SY]], %[[ZY]]) : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
// CHECK:       return %[[R]]
func.func @qlinear_matmul(%a: tensor<2x4xui8>, %sa: tensor<f32>, %za: tensor<ui8>,
                          %b: tensor<4x3xi8>, %sb: tensor<3xf32>, %zb: tensor<3xi8>,
                          %sy: tensor<f32>, %zy: tensor<ui8>) -> tensor<2x3xui8> {
  %r = qnn.qlinear_matmul %a, %sa, %za, %b, %sb, %zb, %sy, %zy : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  return %r : tensor<2x3xui8>
}

// -----

// Tests ONNX Runtime's dynamic-quantization spelling, matmul_integer then a
// cast to f32 and a multiply by a_scale * b_scale: the combined scale is the
// rhs scale and the lhs scale is 1 (acc * 1 * s[n] is acc * s[n] exactly).
// CHECK-LABEL: func @matmul_integer_scaled
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xui8>, %[[ZA:[^:]*]]: tensor<ui8>, %[[B:[^:]*]]: tensor<4x3xi8>, %[[S:[^:]*]]: tensor<3xf32>)
// CHECK-DAG:   %[[ONE:.*]] = qnn.constant dense<1.000000e+00> : tensor<f32>
// CHECK:       %[[R:.*]] = qnn.quantized_matmul %[[A]], %[[B]], %[[ONE]], %[[ZA]], %[[S]] : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:       return %[[R]]
func.func @matmul_integer_scaled(%a: tensor<2x4xui8>, %za: tensor<ui8>, %b: tensor<4x3xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  %acc = qnn.matmul_integer %a, %b lhs_zero_point(%za) : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>) -> tensor<2x3xi32>
  %f = qnn.cast %acc : tensor<2x3xi32> -> tensor<2x3xf32>
  %r = qnn.mul %f, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
