// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a16' | FileCheck %s --check-prefix=W8A16
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a8' | FileCheck %s --check-prefix=W8A8
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w4a16 group-size=2' | FileCheck %s --check-prefix=W4A16
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w4a8 group-size=2' | FileCheck %s --check-prefix=W4A8
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=fp8' | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a16 symmetric=false' | FileCheck %s --check-prefix=ASYM8
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w4a16 group-size=2 symmetric=false' | FileCheck %s --check-prefix=ASYM4
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a16 weight-granularity=per-tensor' | FileCheck %s --check-prefix=TENSOR
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w4a16 weight-granularity=per-channel' | FileCheck %s --check-prefix=W4CHAN
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a8 activation-mode=dynamic' | FileCheck %s --check-prefix=DYN
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a8 exclude-nodes=lm_.*' | FileCheck %s --check-prefix=EXCL
// RUN: quant-opt %s --split-input-file --qnn-insert-qdq='scheme=w8a8 exclude-op-types=qnn.matmul' | FileCheck %s --check-prefix=EXTYPE

// qnn-insert-qdq replaces the constant weight of a qnn.matmul by
// dequantize(quantize(w)) of a [K, N] resource copy of it, with parameters
// computed from the weight (symmetric: s = max|w| / qmax with qmax = 127 for
// int8, 7 for int4, 448 for f8E4M3FN; asymmetric: the range [min, max] is
// widened to contain 0, s = (max - min) / (2^bits - 1), z = rint(-min / s)).

// Weight of @per_channel, [K = 2, N = 2]:
//   [[1.0, -2.0],
//    [4.0,  0.5]]
// Columns: max|col 0| = 4, max|col 1| = 2.
//   int8 per channel:  [4/127, 2/127]   = [0.0314960629, 0.0157480314]
//   fp8 per channel:   [4/448, 2/448]   = [0.00892857183, 0.00446428591]
//   int8 per tensor:   4/127            = 0.0314960629
//   int4 per channel:  [4/7, 2/7]       = [0.571428597, 0.285714298]
//   int4 per group of 2 rows (one group): [[4/7, 2/7]]
//   ui8 asymmetric: col 0 range [0, 4] -> s = 4/255 = 0.0156862754, z = 0;
//                   col 1 range [-2, 0.5] -> s = 2.5/255 = 0.00980392192,
//                   z = rint(2 / s) = rint(204.0) = 204.
//   ui4 asymmetric per group of 2 (one group): col 0 s = 4/15 = 0.266666681,
//                   z = 0; col 1 s = 2.5/15 = 0.166666672, z = rint(12) = 12.

// Tests per-channel int8 weights (w8a16): i8 storage, scale [N] on axis 1
// (the default, so not printed), the float weight copied into a resource, and
// no activation quantization.
// W8A16-LABEL: func @per_channel
// W8A16-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// W8A16-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// W8A16-DAG: %[[S:.*]] = qnn.constant dense<[0.0314960629, 0.0157480314]> : tensor<2xf32>
// W8A16: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xi8>
// W8A16: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
// W8A16-NOT: qnn.quantize
// W8A16: %[[M:.*]] = qnn.matmul %[[X]], %[[DQ]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// W8A16: return %[[M]]
// W8A16: weight_kn: "0x400000000000803F000000C0000080400000003F"

// Tests w8a8: the same int8 weight plus a static activation pair whose
// `!quant.calibrated` range is filled in by calibration under the key
// "<node name>/input".
// W8A8-LABEL: func @per_channel
// W8A8-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// W8A8-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// W8A8-DAG: %[[S:.*]] = qnn.constant dense<[0.0314960629, 0.0157480314]> : tensor<2xf32>
// W8A8: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xi8>
// W8A8: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
// W8A8: %[[XQ:.*]] = qnn.quantize %[[X]] {qnn.calibration_key = "fc1/input"} : (tensor<3x2xf32>) -> tensor<3x2x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
// W8A8: %[[XDQ:.*]] = qnn.dequantize %[[XQ]] : (tensor<3x2x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<3x2xf32>
// W8A8: %[[M:.*]] = qnn.matmul %[[XDQ]], %[[DQ]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// W8A8: return %[[M]]

// Tests fp8: f8E4M3FN storage, scales max|col| / 448, and a static
// activation pair.
// FP8-LABEL: func @per_channel
// FP8-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// FP8-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// FP8-DAG: %[[S:.*]] = qnn.constant dense<[0.00892857183, 0.00446428591]> : tensor<2xf32>
// FP8: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf8E4M3FN>
// FP8: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<2x2xf8E4M3FN>, tensor<2xf32>) -> tensor<2x2xf32>
// FP8: %[[XQ:.*]] = qnn.quantize %[[X]] {qnn.calibration_key = "fc1/input", qnn.storage_type = f8E4M3FN} : (tensor<3x2xf32>) -> tensor<3x2x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
// FP8: %[[XDQ:.*]] = qnn.dequantize %[[XQ]]
// FP8: qnn.matmul %[[XDQ]], %[[DQ]]

// Tests per-tensor int8: one scalar scale for the whole weight.
// TENSOR-LABEL: func @per_channel
// TENSOR-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// TENSOR-DAG: %[[S:.*]] = qnn.constant dense<0.0314960629> : tensor<f32>
// TENSOR: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
// TENSOR: qnn.dequantize %[[Q]], %[[S]] : (tensor<2x2xi8>, tensor<f32>) -> tensor<2x2xf32>

// Tests int4 with an explicit per-channel granularity (not the int4 default
// per-group): scale [N], no block_size.
// W4CHAN-LABEL: func @per_channel
// W4CHAN-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// W4CHAN-DAG: %[[S:.*]] = qnn.constant dense<[0.571428597, 0.285714298]> : tensor<2xf32>
// W4CHAN: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xi4>
// W4CHAN: qnn.dequantize %[[Q]], %[[S]] : (tensor<2x2xi4>, tensor<2xf32>) -> tensor<2x2xf32>

// Tests asymmetric int8 weights: ui8 storage and a ui8 zero point per
// channel on both the quantize and the dequantize.
// ASYM8-LABEL: func @per_channel
// ASYM8-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// ASYM8-DAG: %[[S:.*]] = qnn.constant dense<[0.0156862754, 0.00980392192]> : tensor<2xf32>
// ASYM8-DAG: %[[Z:.*]] = qnn.constant dense<[0, 204]> : tensor<2xui8>
// ASYM8: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]], %[[Z]] : (tensor<2x2xf32>, tensor<2xf32>, tensor<2xui8>) -> tensor<2x2xui8>
// ASYM8: qnn.dequantize %[[Q]], %[[S]], %[[Z]] : (tensor<2x2xui8>, tensor<2xf32>, tensor<2xui8>) -> tensor<2x2xf32>

// Tests asymmetric int4 weights: ui4 storage, [K/G, N] scales and zero
// points.
// ASYM4-LABEL: func @per_channel
// ASYM4-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}0.266666681, 0.166666672]]> : tensor<1x2xf32>
// ASYM4-DAG: %[[Z:.*]] = qnn.constant dense<{{\[\[}}0, 12]]> : tensor<1x2xui4>
// ASYM4: %[[Q:.*]] = qnn.quantize %{{.*}}, %[[S]], %[[Z]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<2x2xf32>, tensor<1x2xf32>, tensor<1x2xui4>) -> tensor<2x2xui4>
// ASYM4: qnn.dequantize %[[Q]], %[[S]], %[[Z]] {axis = 0 : i64, block_size = 2 : i64}

// Tests that the excluded-by-name run still quantizes a layer whose name
// does not match (fc1).
// EXCL-LABEL: func @per_channel
// EXCL: qnn.quantize {{.*}} -> tensor<2x2xi8>
// EXCL: qnn.quantize %{{.*}} {qnn.calibration_key = "fc1/input"}

// Tests that exclude-op-types=qnn.matmul keeps every matmul in float.
// EXTYPE-LABEL: func @per_channel
// EXTYPE-NOT: qnn.quantize
// EXTYPE-NOT: qnn.dequantize
// EXTYPE: qnn.matmul %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<2x2xf32>)
func.func @per_channel(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  return %0 : tensor<3x2xf32>
}

// -----

// Weight of @per_group, [K = 4, N = 2], groups of 2 rows along K:
//   group 0: [[ 1.0, -2.0],     max|col| = [3.5, 2.0]
//             [ 3.5,  0.5]]
//   group 1: [[-7.0,  1.0],     max|col| = [7.0, 1.5]
//             [ 0.75, 1.5]]
//   int4 symmetric: [[3.5/7, 2/7], [7/7, 1.5/7]]
//                 = [[0.5, 0.285714298], [1.0, 0.214285716]]
//   ui4 asymmetric: group 0 col 0 [0, 3.5]   -> s = 3.5/15 = 0.233333334, z = 0
//                   group 0 col 1 [-2, 0.5]  -> s = 2.5/15 = 0.166666672, z = 12
//                   group 1 col 0 [-7, 0.75] -> s = 7.75/15 = 0.516666651,
//                                               z = rint(7 / s) = rint(13.55) = 14
//                   group 1 col 1 [0, 1.5]   -> s = 1.5/15 = 0.1, z = 0

// Tests per-group int4 weights (w4a16): i4 storage, scale [K/G, N] blocked
// along axis 0 with block_size = G, and no activation quantization.
// W4A16-LABEL: func @per_group
// W4A16-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// W4A16-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<4x2xf32>
// W4A16-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}5.000000e-01, 0.285714298], [1.000000e+00, 0.214285716]]> : tensor<2x2xf32>
// W4A16: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xi4>
// W4A16: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xi4>, tensor<2x2xf32>) -> tensor<4x2xf32>
// W4A16-NOT: qnn.quantize
// W4A16: %[[M:.*]] = qnn.matmul %[[X]], %[[DQ]]
// W4A16: return %[[M]]

// Tests w4a8: int4 per-group weight and a static int8 activation pair.
// W4A8-LABEL: func @per_group
// W4A8-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// W4A8-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}5.000000e-01, 0.285714298], [1.000000e+00, 0.214285716]]> : tensor<2x2xf32>
// W4A8: %[[Q:.*]] = qnn.quantize %{{.*}}, %[[S]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xi4>
// W4A8: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] {axis = 0 : i64, block_size = 2 : i64}
// W4A8: %[[XQ:.*]] = qnn.quantize %[[X]] {qnn.calibration_key = "fc2/input"} : (tensor<3x4xf32>) -> tensor<3x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>
// W4A8: %[[XDQ:.*]] = qnn.dequantize %[[XQ]] : (tensor<3x4x!quant.calibrated<f32<-3.4028234663852886E+38:3.4028234663852886E+38>>>) -> tensor<3x4xf32>
// W4A8: qnn.matmul %[[XDQ]], %[[DQ]]

// Tests per-group asymmetric int4: ui4 zero points per group and channel.
// ASYM4-LABEL: func @per_group
// ASYM4-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}0.233333334, 0.166666672], [0.516666651, 1.000000e-01]]> : tensor<2x2xf32>
// ASYM4-DAG: %[[Z:.*]] = qnn.constant dense<{{\[\[}}0, 12], [14, 0]]> : tensor<2x2xui4>
// ASYM4: %[[Q:.*]] = qnn.quantize %{{.*}}, %[[S]], %[[Z]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<2x2xui4>) -> tensor<4x2xui4>
// ASYM4: qnn.dequantize %[[Q]], %[[S]], %[[Z]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xui4>, tensor<2x2xf32>, tensor<2x2xui4>) -> tensor<4x2xf32>
func.func @per_group(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [3.5, 0.5], [-7.0, 1.0], [0.75, 1.5]]> : tensor<4x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("fc2")
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that K = 3 with groups of 2 gives ceil(3/2) = 2 groups, the last one
// partial: group 0 {1.0, -3.5} -> 3.5/7 = 0.5, group 1 {0.7} -> 0.7/7 = 0.1.
// W4A16-LABEL: func @partial_group
// W4A16-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}5.000000e-01], [1.000000e-01]]> : tensor<2x1xf32>
// W4A16: qnn.quantize %{{.*}}, %[[S]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<3x1xf32>, tensor<2x1xf32>) -> tensor<3x1xi4>
func.func @partial_group(%x: tensor<3x3xf32>) -> tensor<3x1xf32> {
  %w = qnn.constant dense<[[1.0], [-3.5], [0.7]]> : tensor<3x1xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x3xf32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

// Weight behind a transpose (gemm trans_b), stored [N = 2, K = 4]:
//   [[1.0, -2.0,  3.0, 0.5],
//    [4.0,  0.5, -1.0, 2.0]]
// The quantized weight is the [K, N] transpose
//   [[1.0, 4.0], [-2.0, 0.5], [3.0, -1.0], [0.5, 2.0]]
// so the per-channel scales are over the stored rows: [3/127, 4/127] =
// [0.0236220472, 0.0314960629], and the resource holds the transposed
// values (little-endian f32 after the 4-byte alignment header 0x40000000):
//   1.0 = 0000803F, 4.0 = 00008040, -2.0 = 000000C0, 0.5 = 0000003F,
//   3.0 = 00004040, -1.0 = 000080BF, 0.5 = 0000003F, 2.0 = 00000040.

// Tests that the transpose is folded into a [K, N] weight.
// W8A16-LABEL: func @trans_b
// W8A16-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// W8A16-DAG: %[[W:.*]] = qnn.constant dense_resource<weight_kn> : tensor<4x2xf32>
// W8A16-DAG: %[[S:.*]] = qnn.constant dense<[0.0236220472, 0.0314960629]> : tensor<2xf32>
// W8A16: %[[Q:.*]] = qnn.quantize %[[W]], %[[S]] : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xi8>
// W8A16: %[[DQ:.*]] = qnn.dequantize %[[Q]], %[[S]] : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
// W8A16: %[[M:.*]] = qnn.matmul %[[X]], %[[DQ]] : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// W8A16: return %[[M]]
// W8A16: weight_kn: "0x400000000000803F00008040000000C00000003F00004040000080BF0000003F00000040"

// Tests asymmetric per-group int4 on the transposed weight:
//   group 0 col 0 {1, -2} -> s = 3/15 = 0.2, z = rint(2/0.2) = 10;
//   group 0 col 1 {4, 0.5} -> s = 4/15 = 0.266666681, z = 0;
//   group 1 col 0 {3, 0.5} -> s = 0.2, z = 0;
//   group 1 col 1 {-1, 2} -> s = 0.2, z = rint(1/0.2) = 5.
// ASYM4-LABEL: func @trans_b
// ASYM4-DAG: %[[S:.*]] = qnn.constant dense<{{\[\[}}2.000000e-01, 0.266666681], [2.000000e-01, 2.000000e-01]]> : tensor<2x2xf32>
// ASYM4-DAG: %[[Z:.*]] = qnn.constant dense<{{\[\[}}10, 0], [0, 5]]> : tensor<2x2xui4>
// ASYM4: qnn.quantize %{{.*}}, %[[S]], %[[Z]] {axis = 0 : i64, block_size = 2 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<2x2xui4>) -> tensor<4x2xui4>
func.func @trans_b(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0, 3.0, 0.5], [4.0, 0.5, -1.0, 2.0]]> : tensor<2x4xf32>
  %t = qnn.transpose %w {perm = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  %0 = qnn.matmul %x, %t : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests that an activation x activation matmul (attention scores) has no
// constant weight and is left untouched, activations included.
// W8A8-LABEL: func @act_act
// W8A8-SAME: (%[[A:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<4x2xf32>)
// W8A8-NOT: qnn.quantize
// W8A8-NOT: qnn.dequantize
// W8A8: %[[M:.*]] = qnn.matmul %[[A]], %[[B]] : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// W8A8-NEXT: return %[[M]]

// DYN-LABEL: func @act_act
// DYN-NOT: qnn.dynamic_quantize
// DYN: qnn.matmul %arg0, %arg1
func.func @act_act(%a: tensor<3x4xf32>, %b: tensor<4x2xf32>) -> tensor<3x2xf32> {
  %0 = qnn.matmul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Tests dynamic activations: qnn.dynamic_quantize (uint8, per tensor, range
// at run time) followed by a dequantize with its scale and zero point.
// DYN-LABEL: func @dynamic
// DYN-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// DYN: %[[DQ:.*]] = qnn.dequantize %{{.*}} : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
// DYN-NOT: !quant.calibrated
// DYN: %[[XQ:.*]], %[[XS:.*]], %[[XZ:.*]] = qnn.dynamic_quantize %[[X]] : tensor<3x2xf32> -> tensor<3x2xui8>, tensor<f32>, tensor<ui8>
// DYN: %[[XDQ:.*]] = qnn.dequantize %[[XQ]], %[[XS]], %[[XZ]] : (tensor<3x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<3x2xf32>
// DYN: %[[M:.*]] = qnn.matmul %[[XDQ]], %[[DQ]]
// DYN: return %[[M]]
func.func @dynamic(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  return %0 : tensor<3x2xf32>
}

// -----

// Tests exclusion by node name: `lm_.*` matches the location name of the
// second matmul, which stays in float (weight and activation), while fc1 is
// quantized.
// EXCL-LABEL: func @exclude_by_name
// EXCL-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// EXCL-DAG: %[[W2:.*]] = qnn.constant dense<{{\[\[}}2.000000e+00, 1.000000e+00], [-1.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// EXCL: %[[DQ:.*]] = qnn.dequantize %{{.*}} : (tensor<2x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
// EXCL: qnn.quantize %[[X]] {qnn.calibration_key = "fc1/input"}
// EXCL: %[[H:.*]] = qnn.matmul %{{.*}}, %[[DQ]]
// EXCL-NOT: qnn.quantize
// EXCL-NOT: qnn.dequantize
// EXCL: %[[Y:.*]] = qnn.matmul %[[H]], %[[W2]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
// EXCL: return %[[Y]]

// Tests that without exclusions both layers are quantized, with their own
// resources and scales (w2 = [[2, 1], [-1, 3]]: [2/127, 3/127]).
// W8A16-LABEL: func @exclude_by_name
// W8A16: qnn.constant dense_resource<weight_kn> : tensor<2x2xf32>
// W8A16: qnn.constant dense<[0.0314960629, 0.0157480314]> : tensor<2xf32>
// W8A16: qnn.dequantize
// W8A16: qnn.constant dense_resource<weight_kn_1> : tensor<2x2xf32>
// W8A16: qnn.constant dense<[0.0157480314, 0.0236220472]> : tensor<2xf32>
// W8A16: qnn.dequantize

// Tests that exclude-op-types applies to every matmul.
// EXTYPE-LABEL: func @exclude_by_name
// EXTYPE-NOT: qnn.quantize
// EXTYPE-NOT: qnn.dequantize
// EXTYPE: return
func.func @exclude_by_name(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w1 = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %w2 = qnn.constant dense<[[2.0, 1.0], [-1.0, 3.0]]> : tensor<2x2xf32>
  %0 = qnn.matmul %x, %w1 : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  %1 = qnn.matmul %0, %w2 : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("lm_head")
  return %1 : tensor<3x2xf32>
}
