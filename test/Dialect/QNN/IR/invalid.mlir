// RUN: quant-opt %s -split-input-file -verify-diagnostics

// Verifier and type-inference errors of the non-quantization `qnn` ops; one
// case per message. Type-inference errors are followed by the generic
// "failed to infer returned types" error of InferTypeOpInterface.
// Quantization ops are in invalid-quant.mlir.

// Tests that gelu rejects an unknown approximation.
func.func @gelu_bad_approximate(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "fast"}}
  %0 = qnn.gelu %x {approximate = "fast"} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that a binary op rejects operands of different element types.
func.func @add_element_type_mismatch(%a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{operands have different element types 'f32' and 'f16'; insert a qnn.cast}}
  %0 = qnn.add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that pow rejects a non-integer, non-float base.
func.func @pow_complex(%a: tensor<4xcomplex<f32>>, %b: tensor<4xf32>) -> tensor<4xcomplex<f32>> {
  // expected-error @+1 {{base and exponent must have integer or float element types, got 'complex<f32>' and 'f32'}}
  %0 = qnn.pow %a, %b : (tensor<4xcomplex<f32>>, tensor<4xf32>) -> tensor<4xcomplex<f32>>
  return %0 : tensor<4xcomplex<f32>>
}

// -----

// Tests that non-broadcastable operand shapes are a type-inference error.
func.func @mul_not_broadcastable(%a: tensor<3x4xf32>, %b: tensor<5xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{operand shapes are not broadcast-compatible: [3, 4] and 'tensor<5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.mul %a, %b : (tensor<3x4xf32>, tensor<5xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Tests that where requires both branches to share an element type.
func.func @where_element_type_mismatch(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xi32>) -> tensor<4xf32> {
  // expected-error @+1 {{operands have different element types 'f32' and 'i32'}}
  %0 = qnn.where %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xi32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that cast cannot change the shape.
func.func @cast_shape_change(%a: tensor<4xf32>) -> tensor<2x2xi32> {
  // expected-error @+1 {{result shape of 'tensor<2x2xi32>' differs from the input shape of 'tensor<4xf32>'; cast only changes the element type}}
  %0 = qnn.cast %a : tensor<4xf32> -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

// Tests that matmul rejects mismatched contraction dimensions.
func.func @matmul_k_mismatch(%a: tensor<3x4xf32>, %b: tensor<5x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{matmul contraction dimensions differ: lhs 'tensor<3x4xf32>' has K = 4 but rhs 'tensor<5x2xf32>' has K = 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.matmul %a, %b : (tensor<3x4xf32>, tensor<5x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that matmul batch dimensions must broadcast.
func.func @matmul_batch_mismatch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x2xf32>) -> tensor<?x3x2xf32> {
  // expected-error @+2 {{matmul batch dimensions of 'tensor<2x3x4xf32>' and 'tensor<3x4x2xf32>' are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x2xf32>) -> tensor<?x3x2xf32>
  return %0 : tensor<?x3x2xf32>
}

// -----

// Tests that matmul rejects rank-0 operands.
func.func @matmul_rank0(%a: tensor<f32>, %b: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+2 {{matmul operands must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.matmul %a, %b : (tensor<f32>, tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Tests that matmul operands share one element type.
func.func @matmul_element_type_mismatch(%a: tensor<3x4xf32>, %b: tensor<4x2xi32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{operands have different element types 'f32' and 'i32'}}
  %0 = qnn.matmul %a, %b : (tensor<3x4xf32>, tensor<4x2xi32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that gemm A and B share one element type.
func.func @gemm_element_type_mismatch(%a: tensor<4x8xf32>, %b: tensor<8x2xf16>) -> tensor<4x2xf32> {
  // expected-error @+1 {{operands have different element types 'f32' and 'f16'}}
  %0 = qnn.gemm %a, %b : (tensor<4x8xf32>, tensor<8x2xf16>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// Tests that gemm C has the element type of A.
func.func @gemm_c_element_type(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>, %c: tensor<2xf16>) -> tensor<4x2xf32> {
  // expected-error @+1 {{bias C has element type 'f16' but A has 'f32'}}
  %0 = qnn.gemm %a, %b, %c : (tensor<4x8xf32>, tensor<8x2xf32>, tensor<2xf16>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// Tests that gemm operands must be 2-D.
func.func @gemm_not_2d(%a: tensor<2x4x8xf32>, %b: tensor<8x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+2 {{gemm operands must be 2-D, got 'tensor<2x4x8xf32>' and 'tensor<8x2xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.gemm %a, %b : (tensor<2x4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// Tests that softmax rejects an axis out of range.
func.func @softmax_axis(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 2 is out of range for 'tensor<4x8xf32>'; valid axes are [-2, 2)}}
  %0 = qnn.softmax %a {axis = 2 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that layer_norm's scale has the input's element type.
func.func @layer_norm_scale_type(%x: tensor<4x8xf32>, %s: tensor<8xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{scale element type 'f16' differs from the input's 'f32'}}
  %0:3 = qnn.layer_norm %x, %s : (tensor<4x8xf32>, tensor<8xf16>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %0#0 : tensor<4x8xf32>
}

// -----

// Tests that layer_norm's bias has the input's element type.
func.func @layer_norm_bias_type(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %b: tensor<8xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{bias element type 'f16' differs from the input's 'f32'}}
  %0:3 = qnn.layer_norm %x, %s, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf16>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %0#0 : tensor<4x8xf32>
}

// -----

// Tests that layer_norm rejects an axis out of range.
func.func @layer_norm_axis(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 2 is out of range for 'tensor<4x8xf32>'; valid axes are [-2, 2)}}
  %0:3 = qnn.layer_norm %x, %s {axis = 2 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %0#0 : tensor<4x8xf32>
}

// -----

// Tests that layer_norm's mean result must have the normalized dims set to 1.
func.func @layer_norm_mean_shape(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<4x8xf32>', 'tensor<4x1xf32>', 'tensor<4x1xf32>' are incompatible with return type(s) of operation 'tensor<4x8xf32>', 'tensor<4x8xf32>', 'tensor<4x1xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:3 = qnn.layer_norm %x, %s : (tensor<4x8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>)
  return %0#0 : tensor<4x8xf32>
}

// -----

// Tests that rms_norm's scale has the input's element type.
func.func @rms_norm_scale_type(%x: tensor<4x8xf32>, %s: tensor<8xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{scale element type 'f16' differs from the input's 'f32'}}
  %0 = qnn.rms_norm %x, %s : (tensor<4x8xf32>, tensor<8xf16>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that rms_norm rejects a negative axis out of range.
func.func @rms_norm_axis(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis -3 is out of range for 'tensor<4x8xf32>'; valid axes are [-2, 2)}}
  %0 = qnn.rms_norm %x, %s {axis = -3 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Tests that a reduction rejects an axis out of range.
func.func @reduce_axis(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = qnn.reduce_sum %x {axes = array<i64: 2>} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// Tests that a reduction rejects an axis given twice (1 and -1).
func.func @reduce_repeated_axis(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{axis -1 is repeated in axes}}
  %0 = qnn.reduce_max %x {axes = array<i64: 1, -1>} : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// Tests that a reduction result must match the reduced shape.
func.func @reduce_result_conflict(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<?x1xf32>' are incompatible with return type(s) of operation 'tensor<?x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.reduce_mean %x {axes = array<i64: 1>} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Tests that reshape preserves the element count.
func.func @reshape_element_count(%x: tensor<4x8xf32>, %s: tensor<2xi64>) -> tensor<5x6xf32> {
  // expected-error @+1 {{cannot reshape 'tensor<4x8xf32>' (32 elements) to 'tensor<5x6xf32>' (30 elements)}}
  %0 = qnn.reshape %x, %s : (tensor<4x8xf32>, tensor<2xi64>) -> tensor<5x6xf32>
  return %0 : tensor<5x6xf32>
}

// -----

// Tests that a reshape target has at most one -1.
func.func @reshape_two_minus_one(%x: tensor<4x8xf32>) -> tensor<?x?xf32> {
  %s = qnn.constant dense<[-1, -1]> : tensor<2xi64>
  // expected-error @+2 {{reshape target has more than one -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.reshape %x, %s : (tensor<4x8xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that a 0 in the reshape target must name an input dimension.
func.func @reshape_zero_beyond_rank(%x: tensor<32xf32>) -> tensor<?x?xf32> {
  %s = qnn.constant dense<[4, 0]> : tensor<2xi64>
  // expected-error @+2 {{reshape target copies dimension 1 (value 0) but the input has rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.reshape %x, %s : (tensor<32xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that a reshape target rejects negative sizes other than -1.
func.func @reshape_negative(%x: tensor<32xf32>) -> tensor<?x?xf32> {
  %s = qnn.constant dense<[4, -2]> : tensor<2xi64>
  // expected-error @+2 {{reshape target dimension -2 is invalid; use -1 to infer a dimension}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.reshape %x, %s : (tensor<32xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that -1 must divide the element count.
func.func @reshape_indivisible(%x: tensor<32xf32>) -> tensor<?x?xf32> {
  %s = qnn.constant dense<[5, -1]> : tensor<2xi64>
  // expected-error @+2 {{cannot reshape 'tensor<32xf32>' (32 elements) to a shape with 5 elements times an inferred -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.reshape %x, %s : (tensor<32xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that transpose's perm must be a permutation.
func.func @transpose_not_permutation(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{perm [0, 0, 1] is not a permutation of [0, 3)}}
  %0 = qnn.transpose %x {perm = array<i64: 0, 0, 1>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Tests that transpose's perm has one entry per dimension.
func.func @transpose_perm_size(%x: tensor<2x3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{transpose perm has 2 entries but the input has rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3x4xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that concat inputs share one element type.
func.func @concat_element_types(%a: tensor<2xf32>, %b: tensor<2xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{inputs have different element types 'f32' and 'f16'}}
  %0 = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that concat inputs share one rank.
func.func @concat_ranks(%a: tensor<2xf32>, %b: tensor<2x2xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{concat inputs must have the same rank}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that concat rejects an axis out of range.
func.func @concat_axis(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{concat axis 1 is out of range for rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that concat needs an input.
func.func @concat_no_inputs() -> tensor<4xf32> {
  // expected-error @+1 {{needs at least one input}}
  %0 = qnn.concat {axis = 0 : i64} : () -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that a concat result must have the summed size.
func.func @concat_result_conflict(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x9xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x8xf32>' are incompatible with return type(s) of operation 'tensor<2x9xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x9xf32>
  return %0 : tensor<2x9xf32>
}

// -----

// Tests that split rejects an axis out of range.
func.func @split_axis(%x: tensor<4x10xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for 'tensor<4x10xf32>'}}
  %0:2 = qnn.split %x {axis = 2 : i64, sizes = array<i64: 3, 7>} : tensor<4x10xf32> -> tensor<4x3xf32>, tensor<4x7xf32>
  return %0#0 : tensor<4x3xf32>
}

// -----

// Tests that split has one size per result.
func.func @split_size_count(%x: tensor<4x10xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{has 2 results but 3 sizes}}
  %0:2 = qnn.split %x {axis = 1 : i64, sizes = array<i64: 3, 3, 4>} : tensor<4x10xf32> -> tensor<4x3xf32>, tensor<4x3xf32>
  return %0#0 : tensor<4x3xf32>
}

// -----

// Tests that split sizes are non-negative.
func.func @split_negative_size(%x: tensor<4x10xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{split sizes must be non-negative, got -1}}
  %0:2 = qnn.split %x {axis = 1 : i64, sizes = array<i64: 3, -1>} : tensor<4x10xf32> -> tensor<4x3xf32>, tensor<4x?xf32>
  return %0#0 : tensor<4x3xf32>
}

// -----

// Tests that split sizes add up to the split dimension.
func.func @split_sizes_sum(%x: tensor<4x10xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{split sizes add up to 9 but dimension 1 of 'tensor<4x10xf32>' has size 10}}
  %0:2 = qnn.split %x {axis = 1 : i64, sizes = array<i64: 3, 6>} : tensor<4x10xf32> -> tensor<4x3xf32>, tensor<4x6xf32>
  return %0#0 : tensor<4x3xf32>
}

// -----

// Tests that slice's starts and ends have the same length.
func.func @slice_lengths(%x: tensor<8xf32>, %s: tensor<1xi64>, %e: tensor<2xi64>) -> tensor<?xf32> {
  // expected-error @+1 {{starts, ends, axes and steps must have the same length, got 1 and 2}}
  %0 = qnn.slice %x, %s, %e : (tensor<8xf32>, tensor<1xi64>, tensor<2xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// Tests that a constant slice step must not be 0.
func.func @slice_zero_step(%x: tensor<8xf32>) -> tensor<?xf32> {
  %s = qnn.constant dense<0> : tensor<1xi64>
  %st = qnn.constant dense<0> : tensor<1xi64>
  // expected-error @+2 {{slice step must not be 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.slice %x, %s, %s steps %st : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// Tests that a constant slice axis must be in range.
func.func @slice_axis(%x: tensor<8xf32>) -> tensor<?xf32> {
  %s = qnn.constant dense<0> : tensor<1xi64>
  %a = qnn.constant dense<1> : tensor<1xi64>
  // expected-error @+2 {{slice axis 1 is out of range for 'tensor<8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.slice %x, %s, %s axes %a : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// Tests that gather rejects an axis out of range.
func.func @gather_axis(%d: tensor<8x4xf32>, %i: tensor<2xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{axis 2 is out of range for 'tensor<8x4xf32>'; valid axes are [-2, 2)}}
  %0 = qnn.gather %d, %i {axis = 2 : i64} : (tensor<8x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Tests that squeeze only removes dimensions of size 1.
func.func @squeeze_non_one(%x: tensor<1x4xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{cannot squeeze axis 1 of 'tensor<1x4xf32>': its size is 4, not 1}}
  %0 = qnn.squeeze %x {axes = array<i64: 1>} : tensor<1x4xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

// Tests that squeeze rejects an axis out of range.
func.func @squeeze_axis(%x: tensor<1x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = qnn.squeeze %x {axes = array<i64: 2>} : tensor<1x4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that unsqueeze needs at least one axis.
func.func @unsqueeze_empty(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{axes must not be empty}}
  %0 = qnn.unsqueeze %x {axes = array<i64>} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Tests that unsqueeze rejects a repeated axis.
func.func @unsqueeze_repeated(%x: tensor<4xf32>) -> tensor<1x1x4xf32> {
  // expected-error @+2 {{unsqueeze axis 0 is out of range or repeated for result rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.unsqueeze %x {axes = array<i64: 0, 0>} : tensor<4xf32> -> tensor<1x1x4xf32>
  return %0 : tensor<1x1x4xf32>
}

// -----

// Tests that unsqueeze rejects an axis beyond the result rank.
func.func @unsqueeze_axis(%x: tensor<4xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{unsqueeze axis 2 is out of range or repeated for result rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.unsqueeze %x {axes = array<i64: 2>} : tensor<4xf32> -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

// Tests that expand rejects a target that the input cannot broadcast to.
func.func @expand_incompatible(%x: tensor<3x4xf32>) -> tensor<3x5xf32> {
  %s = qnn.constant dense<[3, 5]> : tensor<2xi64>
  // expected-error @+2 {{cannot expand 'tensor<3x4xf32>': dimension 4 does not broadcast to 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.expand %x, %s : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// Tests that a unary result type may not conflict with the input shape.
func.func @relu_result_shape_conflict(%a: tensor<3x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{'qnn.relu' op inferred type(s) 'tensor<3x4xf32>' are incompatible with return type(s) of operation 'tensor<4x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.relu %a : tensor<3x4xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Tests that a unary result type may not change the element type.
func.func @relu_result_element_conflict(%a: tensor<3x4xf32>) -> tensor<3x4xf16> {
  // expected-error @+2 {{'qnn.relu' op inferred type(s) 'tensor<3x4xf32>' are incompatible with return type(s) of operation 'tensor<3x4xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.relu %a : tensor<3x4xf32> -> tensor<3x4xf16>
  return %0 : tensor<3x4xf16>
}

// -----

// Tests that a broadcast result may be more static but not conflicting.
func.func @add_result_conflict(%a: tensor<3x?xf32>, %b: tensor<4xf32>) -> tensor<3x5xf32> {
  // expected-error @+2 {{'qnn.add' op inferred type(s) 'tensor<3x4xf32>' are incompatible with return type(s) of operation 'tensor<3x5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.add %a, %b : (tensor<3x?xf32>, tensor<4xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// Tests that shape's result length is the input rank.
func.func @shape_result_conflict(%a: tensor<3x4xf32>) -> tensor<3xi64> {
  // expected-error @+2 {{'qnn.shape' op inferred type(s) 'tensor<2xi64>' are incompatible with return type(s) of operation 'tensor<3xi64>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = qnn.shape %a : tensor<3x4xf32> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}
