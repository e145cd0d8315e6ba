// RUN: quant-opt %s --qnn-quantize-pipeline='scheme=w4a16 group-size=2' 2>/dev/null | FileCheck %s
// RUN: quant-opt %s --qnn-quantize-pipeline='scheme=w4a16 group-size=2' -o /dev/null 2>&1 | FileCheck %s --check-prefix=LINT
// RUN: quant-opt %s --qnn-quantize-pipeline='scheme=w4a16 group-size=2' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: not quant-opt %s --qnn-quantize-pipeline='scheme=w9a9' 2>&1 | FileCheck %s --check-prefix=BAD

// Tests the named quantization pipeline on a tiny static MLP exported as two
// gemms with trans_b and a bias: normalization decomposes the gemms,
// qnn-insert-qdq quantizes the transposed weights to int4 per group of 2
// rows, qnn-quantize-weights packs them (16x8 = 128 elements: resource
// blobs), and qnn-fuse-quantized-matmul forms qnn.weight_only_matmul with the
// bias absorbed. No float weight is left and the lint is clean.
//
// Weights are splats, so every group's scale is max|w| / 7:
//   w1 = 0.7  -> 0.1, w2 = -1.4 -> 0.2.
// [K/G, N] scales: fc1 K = 8 -> [4, 16]; fc2 K = 16 -> [8, 8].

// LINT: remark: no float weights materialized from quantized data in @mlp
// LINT-NOT: warning
// CHECK-LABEL: func @mlp
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: qnn.gemm
// CHECK-NOT: qnn.quantize
// CHECK-NOT: qnn.dequantize
// CHECK-NOT: qnn.matmul
// CHECK-NOT: qnn.constant {{.*}} : tensor<16x8xf32>
// CHECK-NOT: qnn.constant {{.*}} : tensor<8x16xf32>
// CHECK-DAG: %[[W1:.*]] = qnn.constant dense_resource<{{.*}}> : tensor<8x16xi4>
// CHECK-DAG: %[[S1:.*]] = qnn.constant dense<1.000000e-01> : tensor<4x16xf32>
// CHECK-DAG: %[[B1:.*]] = qnn.constant dense<2.500000e-01> : tensor<16xf32>
// CHECK-DAG: %[[W2:.*]] = qnn.constant dense_resource<{{.*}}> : tensor<16x8xi4>
// CHECK-DAG: %[[S2:.*]] = qnn.constant dense<2.000000e-01> : tensor<8x8xf32>
// CHECK-DAG: %[[B2:.*]] = qnn.constant dense<-1.000000e+00> : tensor<8xf32>
// CHECK: %[[H:.*]] = qnn.weight_only_matmul %[[X]], %[[W1]], %[[S1]] bias(%[[B1]]) {group_size = 2 : i64} : (tensor<2x8xf32>, tensor<8x16xi4>, tensor<4x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
// CHECK: %[[R:.*]] = qnn.relu %[[H]]
// CHECK: %[[Y:.*]] = qnn.weight_only_matmul %[[R]], %[[W2]], %[[S2]] bias(%[[B2]]) {group_size = 2 : i64} : (tensor<2x16xf32>, tensor<16x8xi4>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: qnn.matmul
// CHECK: return %[[Y]]
// The packed int4 blobs: 0.7 / 0.1 = 7 -> 0x77 per byte; -1.4 / 0.2 = -7
// -> nibble 9 -> 0x99 per byte (after the 64-byte alignment header).
// CHECK: dialect_resources
// CHECK-DAG: "0x4000000077777777
// CHECK-DAG: "0x4000000099999999

// Tests that the pipeline prints with the pass options as given.
// PIPELINE: builtin.module(
// PIPELINE: qnn-decompose-gemm
// PIPELINE: qnn-infer-shapes
// PIPELINE: cse
// PIPELINE: func.func(
// PIPELINE-NEXT: qnn-insert-qdq{{{.*}}group-size=2 scheme=w4a16 symmetric=true weight-granularity=default}
// PIPELINE-NEXT: qnn-quantize-weights
// PIPELINE-NEXT: qnn-propagate-qdq
// PIPELINE-NEXT: qnn-fuse-quantized-matmul
// PIPELINE: qnn-lint-float-weights{fail=false}

// Tests that a bad scheme fails and lists the valid schemes.
// BAD: for the --scheme option: 'w9a9' is not a valid value; valid values are: w8a8, w8a16, w4a16, w4a8, fp8
// BAD-NOT: func.func

func.func @mlp(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w1 = qnn.constant dense<0.7> : tensor<16x8xf32>
  %b1 = qnn.constant dense<0.25> : tensor<16xf32>
  %w2 = qnn.constant dense<-1.4> : tensor<8x16xf32>
  %b2 = qnn.constant dense<-1.0> : tensor<8xf32>
  %0 = qnn.gemm %x, %w1, %b1 {trans_b = true} : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32> loc("fc1")
  %1 = qnn.relu %0 : tensor<2x16xf32> -> tensor<2x16xf32>
  %2 = qnn.gemm %1, %w2, %b2 {trans_b = true} : (tensor<2x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<2x8xf32> loc("fc2")
  return %2 : tensor<2x8xf32>
}
