// RUN: quant-opt %s --qnn-cpu-convert | FileCheck %s
// RUN: quant-opt %s --qnn-cpu-convert --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
//
// Round trip of the textual pipeline: the printed pipeline fed back through
// --pass-pipeline gives the same IR.
// RUN: quant-opt %s --qnn-cpu-convert --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | tail -n +2 | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE \
// RUN:   | FileCheck %s

// PIPELINE: Pass Manager with 4 passes:
// PIPELINE-NEXT: builtin.module(
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     qnn-evaluate-dequantize
// PIPELINE-NEXT:   ),
// PIPELINE-NEXT:   convert-qnn-to-cpu{kernel-library=true},
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     canonicalize{{{.*}}}
// PIPELINE-NEXT:   ),
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     cse
// PIPELINE-NEXT:   )
// PIPELINE-NEXT: )

// Tests that the first half of the CPU compile leaves tensors: the W8A8
// matmul becomes a destination-style qk_qgemm kernel call that writes a
// fresh tensor.empty and reads the weight packed into a resource blob, with
// a workspace sized at run time by qk_qgemm_workspace_bytes, and
// the relu after it a linalg.generic over the call's result; no qnn op is
// left.
// CHECK-LABEL: func.func @w8a8(
// CHECK-SAME:    %[[X:.*]]: tensor<4x16xi8>) -> tensor<4x8xf32>
// CHECK-DAG:     %[[PACKED:.*]] = arith.constant dense_resource<packed.qgemm> : tensor<576xi8>
// CHECK-DAG:     %[[INIT:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK:         %[[MM:.*]] = qnn_cpu.kernel_call "qk_qgemm" ins(%[[X]], {{.*}}%[[PACKED]], {{.*}}) outs(%[[INIT]] : tensor<4x8xf32>) out_position 11 workspace(%{{.*}} : tensor<?xi8>) -> tensor<4x8xf32>
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} ins(%[[MM]] : tensor<4x8xf32>)
// CHECK:           arith.maximumf
// CHECK:         return %[[R]] : tensor<4x8xf32>
// CHECK-NOT:     qnn.
func.func @w8a8(%x: tensor<4x16xi8>) -> tensor<4x8xf32> {
  %w = qnn.constant dense<3> : tensor<16x8xi8>
  %sa = qnn.constant dense<0.5> : tensor<f32>
  %za = qnn.constant dense<0> : tensor<i8>
  %sw = qnn.constant dense<0.25> : tensor<8xf32>
  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sw : (tensor<4x16xi8>, tensor<16x8xi8>, tensor<f32>, tensor<i8>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = qnn.relu %0 : tensor<4x8xf32> -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}
