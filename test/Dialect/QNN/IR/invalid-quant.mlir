// RUN: quant-opt %s -split-input-file -verify-diagnostics

// Verifier and type-inference errors of the `qnn` quantization ops; one case
// per message.

// Tests that quantize rejects parameters given both by a !quant type and by a
// scale operand.
func.func @quantize_params_twice(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{quantization parameters are given twice: by the !quant type '!quant.uniform<i8:f32, 5.000000e-01>' and by scale/zero-point operands; use one form}}
  %0 = qnn.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<4x!quant.uniform<i8:f32, 0.5>>
}

// -----

// Tests that the !quant type's expressed type is the float side's type.
func.func @quantize_expressed_type(%x: tensor<4xf16>) -> tensor<4x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{the !quant type expresses 'f32' but the real-valued side is 'f16'}}
  %0 = qnn.quantize %x : (tensor<4xf16>) -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<4x!quant.uniform<i8:f32, 0.5>>
}

// -----

// Tests that the dequantize typed form checks the expressed type too.
func.func @dequantize_expressed_type(%q: tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4xbf16> {
  // expected-error @+1 {{the !quant type expresses 'f32' but the real-valued side is 'bf16'}}
  %0 = qnn.dequantize %q : (tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// Tests that the explicit form needs a scale.
func.func @quantize_missing_scale(%x: tensor<4xf32>) -> tensor<4xi8> {
  // expected-error @+1 {{missing scale: give scale (and zero point) operands, or use a !quant.uniform element type}}
  %0 = qnn.quantize %x : (tensor<4xf32>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// Tests that dequantize also needs a scale.
func.func @dequantize_missing_scale(%q: tensor<4xui8>) -> tensor<4xf32> {
  // expected-error @+1 {{missing scale}}
  %0 = qnn.dequantize %q : (tensor<4xui8>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that quantize rejects i32 as a storage type.
func.func @quantize_storage_i32(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xi32> {
  // expected-error @+1 {{unsupported quantized element type 'i32'; valid storage types are i8, ui8, i16, ui16, i4, ui4, f8E4M3FN, f8E5M2}}
  %0 = qnn.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Tests that quantize rejects explicitly signed integers as a storage type.
func.func @quantize_storage_si8(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xsi8> {
  // expected-error @+1 {{unsupported quantized element type 'si8'}}
  %0 = qnn.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xsi8>
  return %0 : tensor<4xsi8>
}

// -----

// Tests that dequantize rejects a float input without !quant type.
func.func @dequantize_storage_f16(%q: tensor<4xf16>, %s: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+1 {{unsupported quantized element type 'f16'}}
  %0 = qnn.dequantize %q, %s : (tensor<4xf16>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that the real-valued side of quantize is float (or i32).
func.func @quantize_integer_input(%x: tensor<4xi16>, %s: tensor<f32>) -> tensor<4xi8> {
  // expected-error @+1 {{the real-valued side must have a float element type, got 'i16'}}
  %0 = qnn.quantize %x, %s : (tensor<4xi16>, tensor<f32>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// Tests that quantize keeps the shape.
func.func @quantize_shape(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<8xi8> {
  // expected-error @+1 {{input and result shapes differ: 'tensor<4xf32>' vs 'tensor<8xi8>'}}
  %0 = qnn.quantize %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<8xi8>
  return %0 : tensor<8xi8>
}

// -----

// Tests that the scale has a float element type.
func.func @quantize_integer_scale(%x: tensor<4xf32>, %s: tensor<i32>) -> tensor<4xi8> {
  // expected-error @+1 {{scale must have a float element type, got 'i32'}}
  %0 = qnn.quantize %x, %s : (tensor<4xf32>, tensor<i32>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// Tests that the zero point has the storage type.
func.func @quantize_zero_point_type(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<4xi8> {
  // expected-error @+1 {{zero point element type 'ui8' must equal the quantized element type 'i8'}}
  %0 = qnn.quantize %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

// Tests that the dequantize zero point has the input's storage type.
func.func @dequantize_zero_point_type(%q: tensor<4xui4>, %s: tensor<f32>, %z: tensor<i4>) -> tensor<4xf32> {
  // expected-error @+1 {{zero point element type 'i4' must equal the quantized element type 'ui4'}}
  %0 = qnn.dequantize %q, %s, %z : (tensor<4xui4>, tensor<f32>, tensor<i4>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that the zero point has the scale's shape.
func.func @quantize_zero_point_shape(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %z: tensor<4xi8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{zero point shape 'tensor<4xi8>' must match the scale shape 'tensor<8xf32>'}}
  %0 = qnn.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<8xf32>, tensor<4xi8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// Tests that block_size is non-negative.
func.func @quantize_negative_block_size(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{block_size must be >= 0, got -1}}
  %0 = qnn.quantize %x, %s {block_size = -1 : i64} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// Tests that the per-axis axis is in range.
func.func @quantize_axis(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{axis 2 is out of range for 'tensor<4x8xi8>'; valid axes are [-2, 2)}}
  %0 = qnn.quantize %x, %s {axis = 2 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// Tests that a per-axis scale (block_size = 0) is 1-D.
func.func @quantize_per_axis_rank(%x: tensor<4x8xf32>, %s: tensor<4x2xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{per-axis scale must be 1-D, got 'tensor<4x2xf32>'; for blocked quantization set block_size}}
  %0 = qnn.quantize %x, %s : (tensor<4x8xf32>, tensor<4x2xf32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// Tests that a per-axis scale has one entry per element of the (default)
// axis 1.
func.func @quantize_per_axis_size(%x: tensor<4x8xf32>, %s: tensor<4xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{per-axis scale has 4 elements but dimension 1 of 'tensor<4x8xi8>' has size 8}}
  %0 = qnn.quantize %x, %s : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

// Tests the per-axis scale size on dequantize with an explicit axis.
func.func @dequantize_per_axis_size(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{per-axis scale has 8 elements but dimension 0 of 'tensor<4x8xi8>' has size 4}}
  %0 = qnn.dequantize %q, %s {axis = 0 : i64} : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that a blocked scale has the data's rank.
func.func @quantize_blocked_rank(%x: tensor<4x40xf32>, %s: tensor<3xf32>) -> tensor<4x40xi4> {
  // expected-error @+1 {{blocked scale must have the rank of the data (2), got 'tensor<3xf32>'}}
  %0 = qnn.quantize %x, %s {block_size = 16 : i64} : (tensor<4x40xf32>, tensor<3xf32>) -> tensor<4x40xi4>
  return %0 : tensor<4x40xi4>
}

// -----

// Tests that a blocked scale has ceil(dim / block_size) entries on the axis.
func.func @quantize_blocked_axis_dim(%x: tensor<4x40xf32>, %s: tensor<4x2xf32>) -> tensor<4x40xi4> {
  // expected-error @+1 {{blocked scale dimension 1 is 2 but must be 3 (data 'tensor<4x40xi4>', block_size 16)}}
  %0 = qnn.quantize %x, %s {block_size = 16 : i64} : (tensor<4x40xf32>, tensor<4x2xf32>) -> tensor<4x40xi4>
  return %0 : tensor<4x40xi4>
}

// -----

// Tests that a blocked scale matches the data on the other dimensions.
func.func @dequantize_blocked_other_dim(%q: tensor<4x40xi4>, %s: tensor<2x3xf32>) -> tensor<4x40xf32> {
  // expected-error @+1 {{blocked scale dimension 0 is 2 but must be 4 (data 'tensor<4x40xi4>', block_size 16)}}
  %0 = qnn.dequantize %q, %s {block_size = 16 : i64} : (tensor<4x40xi4>, tensor<2x3xf32>) -> tensor<4x40xf32>
  return %0 : tensor<4x40xf32>
}

// -----

// Tests that a per-tensor dynamic_quantize's scale result is rank 0.
func.func @dynamic_quantize_scale_shape(%x: tensor<4x8xf32>) -> tensor<4x8xui8> {
  // expected-error @+2 {{inferred type(s) 'tensor<4x8xui8>', 'tensor<f32>', 'tensor<ui8>' are incompatible with return type(s) of operation 'tensor<4x8xui8>', 'tensor<1xf32>', 'tensor<ui8>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:3 = qnn.dynamic_quantize %x : tensor<4x8xf32> -> tensor<4x8xui8>, tensor<1xf32>, tensor<ui8>
  return %0#0 : tensor<4x8xui8>
}

// -----

// Tests that matmul_integer's lhs zero point has lhs's element type.
func.func @matmul_integer_lhs_zp(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %z: tensor<i8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{lhs zero point element type 'i8' must equal lhs's 'ui8'}}
  %0 = qnn.matmul_integer %a, %b lhs_zero_point(%z) : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<i8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// Tests that matmul_integer's rhs zero point has rhs's element type.
func.func @matmul_integer_rhs_zp(%a: tensor<2x4xui8>, %b: tensor<4x3xi8>, %z: tensor<ui8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{rhs zero point element type 'ui8' must equal rhs's 'i8'}}
  %0 = qnn.matmul_integer %a, %b rhs_zero_point(%z) : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// Tests that matmul_integer checks the contraction dimension.
func.func @matmul_integer_k(%a: tensor<2x4xui8>, %b: tensor<5x3xi8>) -> tensor<2x3xi32> {
  // expected-error @+2 {{matmul contraction dimensions differ: lhs 'tensor<2x4xui8>' has K = 4 but rhs 'tensor<5x3xi8>' has K = 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.matmul_integer %a, %b : (tensor<2x4xui8>, tensor<5x3xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

// Tests that qlinear_matmul's a_zero_point has a's element type.
func.func @qlinear_a_zp(%a: tensor<2x4xui8>, %s: tensor<f32>, %az: tensor<i8>, %b: tensor<4x3xui8>, %bz: tensor<ui8>, %yz: tensor<ui8>) -> tensor<2x3xui8> {
  // expected-error @+1 {{a_zero_point element type 'i8' must equal a's 'ui8'}}
  %0 = qnn.qlinear_matmul %a, %s, %az, %b, %s, %bz, %s, %yz : (tensor<2x4xui8>, tensor<f32>, tensor<i8>, tensor<4x3xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  return %0 : tensor<2x3xui8>
}

// -----

// Tests that qlinear_matmul's b_zero_point has b's element type.
func.func @qlinear_b_zp(%a: tensor<2x4xui8>, %s: tensor<f32>, %az: tensor<ui8>, %b: tensor<4x3xi8>, %bz: tensor<ui8>, %yz: tensor<ui8>) -> tensor<2x3xui8> {
  // expected-error @+1 {{b_zero_point element type 'ui8' must equal b's 'i8'}}
  %0 = qnn.qlinear_matmul %a, %s, %az, %b, %s, %bz, %s, %yz : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xi8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  return %0 : tensor<2x3xui8>
}

// -----

// Tests that qlinear_matmul's scales are float.
func.func @qlinear_scale_type(%a: tensor<2x4xui8>, %s: tensor<f32>, %z: tensor<ui8>, %b: tensor<4x3xui8>, %bs: tensor<i32>) -> tensor<2x3xui8> {
  // expected-error @+1 {{scales must have a float element type, got 'i32'}}
  %0 = qnn.qlinear_matmul %a, %s, %z, %b, %bs, %z, %s, %z : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xui8>, tensor<i32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  return %0 : tensor<2x3xui8>
}

// -----

// Tests that qlinear_matmul's result has y_zero_point's element type.
func.func @qlinear_result_type(%a: tensor<2x4xui8>, %s: tensor<f32>, %z: tensor<ui8>, %b: tensor<4x3xui8>, %yz: tensor<i8>) -> tensor<2x3xui8> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x3xi8>' are incompatible with return type(s) of operation 'tensor<2x3xui8>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.qlinear_matmul %a, %s, %z, %b, %s, %z, %s, %yz : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<i8>) -> tensor<2x3xui8>
  return %0 : tensor<2x3xui8>
}

// -----

// Tests that matmul_nbits' bits is in [2, 8].
func.func @nbits_bits(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{bits must be in [2, 8], got 9}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, bits = 9 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' block_size is a power of 2.
func.func @nbits_block_size_pow2(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{block_size must be a power of 2 and >= 16, got 24}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 24 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' block_size is at least 16.
func.func @nbits_block_size_small(%x: tensor<2x32xf32>, %w: tensor<8x4x4xui8>, %s: tensor<32xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{block_size must be a power of 2 and >= 16, got 8}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 8 : i64} : (tensor<2x32xf32>, tensor<8x4x4xui8>, tensor<32xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' K and N are positive.
func.func @nbits_n_zero(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{K and N must be positive, got K = 32, N = 0}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 0 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' input is float.
func.func @nbits_integer_input(%x: tensor<2x32xi32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x8xi32> {
  // expected-error @+1 {{input must have a float element type, got 'i32'}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xi32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x8xi32>
  return %0 : tensor<2x8xi32>
}

// -----

// Tests that matmul_nbits' input has K as its last dimension.
func.func @nbits_input_k(%x: tensor<2x64xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{input's last dimension is 64 but K = 32}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x64xf32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' packed weight shape is [N, ceil(K / block_size),
// block_size * bits / 8].
func.func @nbits_weight_shape(%x: tensor<2x32xf32>, %w: tensor<8x2x16xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{packed weight must have shape [N, ceil(K / block_size), block_size * bits / 8] = [8, 2, 8], got 'tensor<8x2x16xui8>'}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x16xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' packed weight is 3-D.
func.func @nbits_weight_rank(%x: tensor<2x32xf32>, %w: tensor<8x16xui8>, %s: tensor<16xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{packed weight must have shape [N, ceil(K / block_size), block_size * bits / 8] = [8, 2, 8], got 'tensor<8x16xui8>'}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x16xui8>, tensor<16xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' scales have the input's element type.
func.func @nbits_scales_type(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf16>) -> tensor<2x8xf32> {
  // expected-error @+1 {{scales element type 'f16' must equal the input's 'f32'}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf16>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits has N * ceil(K / block_size) scales.
func.func @nbits_scales_count(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{scales must have N * ceil(K / block_size) = 16 elements, got 'tensor<8xf32>'}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' bias has shape [N].
func.func @nbits_bias_shape(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>, %b: tensor<4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{bias must have shape [N] = [8], got 'tensor<4xf32>'}}
  %0 = qnn.matmul_nbits %x, %w, %s bias(%b) {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Tests that matmul_nbits' result has N as its last dimension.
func.func @nbits_result_n(%x: tensor<2x32xf32>, %w: tensor<8x2x8xui8>, %s: tensor<16xf32>) -> tensor<2x4xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x8xf32>' are incompatible with return type(s) of operation 'tensor<2x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.matmul_nbits %x, %w, %s {K = 32 : i64, N = 8 : i64, block_size = 16 : i64} : (tensor<2x32xf32>, tensor<8x2x8xui8>, tensor<16xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @requantize_per_axis(%q: tensor<4xi8>, %s: tensor<4xf32>, %z: tensor<i8>, %so: tensor<f32>) -> tensor<4xi8> {
  // expected-error @+1 {{parameters must be per tensor (one element)}}
  %r = qnn.requantize %q, %s, %z, %so, %z : (tensor<4xi8>, tensor<4xf32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  return %r : tensor<4xi8>
}

// -----

func.func @requantize_zp_type(%q: tensor<4xi8>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<4xui8> {
  // expected-error @+1 {{input zero point element type must equal the input's 'i8'}}
  %r = qnn.requantize %q, %s, %z, %s, %z : (tensor<4xi8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
  return %r : tensor<4xui8>
}

// -----

func.func @per_row_lhs_scale_wrong_shape(%a: tensor<3x4xui8>, %w: tensor<4x2xi8>, %s: tensor<2x1xf32>, %z: tensor<ui8>, %sw: tensor<f32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{lhs scale and zero point must be per tensor (one element) or per row (the lhs shape with a last dimension of 1)}}
  %y = qnn.quantized_matmul %a, %w, %s, %z, %sw : (tensor<3x4xui8>, tensor<4x2xi8>, tensor<2x1xf32>, tensor<ui8>, tensor<f32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @per_token_unranked(%x: tensor<*xf32>) {
  // expected-error @+2 {{per-token dynamic quantization needs a ranked input of rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %q, %s, %z = qnn.dynamic_quantize %x {per_token = true} : tensor<*xf32> -> tensor<*xui8>, tensor<f32>, tensor<ui8>
  return
}
