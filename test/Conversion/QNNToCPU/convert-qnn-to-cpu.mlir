// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --cse | FileCheck %s
// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu=kernel-library=false | FileCheck %s --check-prefix=NOKERNEL

// Tests that elementwise ops become one linalg.generic each with ONNX
// broadcasting: the [4] operand is read along the last dim and the result's
// dynamic batch dim comes from the operand that has it.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[LAST:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @broadcast_add(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>, %[[Y:.*]]: tensor<4xf32>)
// CHECK:         %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x4xf32>
// CHECK:         %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?x4xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[LAST]], #[[ID]]]
// CHECK-SAME:      ins(%[[X]], %[[Y]] : tensor<?x4xf32>, tensor<4xf32>)
// CHECK:           arith.addf
// CHECK-NOT:     qnn.
func.func @broadcast_add(%x: tensor<?x4xf32>, %y: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = qnn.add %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Tests that a float matmul with a constant weight and a constant bias add
// becomes one kernel call of the packed f32 GEMM, with the weight packed at
// compile time into an i8 blob and the bias fused: no add is left. The
// output is a tensor.empty the call writes (destination-passing style),
// passed as the kernel's sixth argument.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: tensor<?x16xf32>)
// CHECK-DAG:     %[[W:.*]] = arith.constant dense_resource<{{.*}}> : tensor<{{[0-9]+}}xi8>
// CHECK-DAG:     %[[B:.*]] = arith.constant dense_resource<{{.*}}> : tensor<32xi8>
// CHECK-DAG:     %[[ACT:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[M:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK-DAG:     %[[OUT:.*]] = tensor.empty(%{{.*}}) : tensor<?x8xf32>
// CHECK:         %[[R:.*]] = qnn_cpu.kernel_call "qk_sgemm"
// CHECK-SAME:      ins(%[[X]], %[[M]], %[[W]], %[[B]], %[[ACT]] : tensor<?x16xf32>, i64, tensor<{{[0-9]+}}xi8>, tensor<32xi8>, i32)
// CHECK-SAME:      outs(%[[OUT]] : tensor<?x8xf32>) out_position 5 -> tensor<?x8xf32>
// CHECK-NOT:     arith.addf
// CHECK:         return %[[R]]
func.func @linear(%x: tensor<?x16xf32>) -> tensor<?x8xf32> {
  %w = qnn.constant dense<0.5> : tensor<16x8xf32>
  %b = qnn.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %0 = qnn.matmul %x, %w : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  %1 = qnn.add %0, %b : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %1 : tensor<?x8xf32>
}

// -----

// Tests that W8A8 becomes the int8 GEMM kernel: batch and sequence dims are
// flattened into M at run time, the int8 weight, its scales and the i32 bias
// go into one packed blob, and the activation parameters and the requantize
// parameters are passed by pointer. Arguments: A, M, a_signed = 0 (ui8),
// a_zp, a_scale, per_row = 0, packed B, activation = 1 (relu),
// out_type = 1 (int8), out_scale, out_zp, C.
// CHECK-LABEL: func.func @w8a8(
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : i32
// CHECK-DAG:     %[[A:.*]] = tensor.reshape %{{.*}}(%{{.*}}) : (tensor<?x?x16xi8>, tensor<2xindex>) -> tensor<?x16xi8>
// CHECK:         %[[R:.*]] = qnn_cpu.kernel_call "qk_qgemm"
// CHECK-SAME:      ins(%[[A]], %{{[^,]*}}, %[[C0]], %{{[^,]*}}, %{{[^,]*}}, %[[C0]], %{{[^,]*}}, %[[C1]], %[[C1]], %{{[^,]*}}, %{{[^,]*}} : tensor<?x16xi8>, i64,
// CHECK-SAME:      outs(%{{.*}} : tensor<?x8xi8>) out_position 11
// CHECK:         tensor.reshape %[[R]](%{{.*}}) : (tensor<?x8xi8>, tensor<3xindex>) -> tensor<?x?x8xi8>
func.func @w8a8(%x: tensor<?x?x16xui8>) -> tensor<?x?x8xi8> {
  %w = qnn.constant dense<3> : tensor<16x8xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<128> : tensor<ui8>
  %sw = qnn.constant dense<0.25> : tensor<8xf32>
  %bias = qnn.constant dense<7> : tensor<8xi32>
  %so = qnn.constant dense<0.1> : tensor<f32>
  %zo = qnn.constant dense<0> : tensor<i8>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sw bias(%bias) output(%so, %zo) {activation = "relu"} : (tensor<?x?x16xui8>, tensor<16x8xi8>, tensor<f32>, tensor<ui8>, tensor<8xf32>, tensor<8xi32>, tensor<f32>, tensor<i8>) -> tensor<?x?x8xi8>
  return %0 : tensor<?x?x8xi8>
}

// -----

// Tests that W4A16 becomes the weight-only kernel with the int4 weight, its
// per-group scales and the bias packed at compile time.
// CHECK-LABEL: func.func @w4a16(
// CHECK:         qnn_cpu.kernel_call "qk_wo_matmul"
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, i64, tensor<{{[0-9]+}}xi8>, tensor<32xi8>)
// CHECK-SAME:      outs(%{{.*}} : tensor<?x8xf32>) out_position 4
// CHECK-NOT:     qnn.
func.func @w4a16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = qnn.constant dense<-3> : tensor<64x8xi4>
  %s = qnn.constant dense<0.125> : tensor<2x8xf32>
  %b = qnn.constant dense<1.0> : tensor<8xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s bias(%b) {group_size = 32 : i64} : (tensor<?x64xf32>, tensor<64x8xi4>, tensor<2x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Tests that ONNX QuantizeLinear semantics are spelled out: divide, round
// half to even, add the zero point, saturate to [0, 255], for uint8 stored
// as signless i8.
// CHECK-LABEL: func.func @quantize(
// CHECK:         linalg.generic
// CHECK:           arith.divf
// CHECK:           math.roundeven
// CHECK:           arith.addf
// CHECK:           %[[QMIN:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:           arith.maximumf %{{.*}}, %[[QMIN]]
// CHECK:           arith.minimumf
// CHECK:           arith.fptosi %{{.*}} : f32 to i32
// CHECK:           arith.trunci %{{.*}} : i32 to i8
// CHECK:         return %{{.*}} : tensor<4xi8>
func.func @quantize(%x: tensor<4xf32>) -> tensor<4xui8> {
  %s = qnn.constant dense<0.5> : tensor<f32>
  %z = qnn.constant dense<10> : tensor<ui8>
  %0 = qnn.quantize %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// Tests that softmax is a max reduction, exp(x - max), a sum reduction and a
// division, over the softmax axis.
// CHECK-LABEL: func.func @softmax(
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:           arith.maximumf
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:           arith.addf
// CHECK:         linalg.generic
// CHECK:           arith.divf
func.func @softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = qnn.softmax %x : tensor<?x10xf32> -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// Tests that a float matmul of two activations with equal batch dims
// becomes the batched kernel, its output passed as the third argument.
// CHECK-LABEL: func.func @batched(
// CHECK:         qnn_cpu.kernel_call "qk_sgemm_batched"
// CHECK-SAME:      outs(%{{.*}} : tensor<2x3x5xf32>) out_position 2
func.func @batched(%x: tensor<2x3x4xf32>, %y: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  %0 = qnn.matmul %x, %y : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

// Tests that without the kernel library no kernel call is left: a constant
// weight is a linalg contraction as well.
// NOKERNEL-NOT: qnn_cpu.kernel_call
// NOKERNEL-LABEL: func.func @no_kernel(
// NOKERNEL:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
func.func @no_kernel(%x: tensor<?x16xf32>) -> tensor<?x8xf32> {
  %w = qnn.constant dense<0.5> : tensor<16x8xf32>
  %0 = qnn.matmul %x, %w : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
