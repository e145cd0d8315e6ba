// RUN: quant-opt %s --qnn-normalize --split-input-file | FileCheck %s
// RUN: quant-opt %s --qnn-normalize --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
//
// Round trip of the textual pipeline: the printed pipeline (without its
// "Pass Manager with" header, joined into one line) fed back through
// --pass-pipeline gives the same IR.
// RUN: quant-opt %s --qnn-normalize --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | tail -n +2 | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --split-input-file --pass-pipeline=PIPELINE \
// RUN:   | FileCheck %s

// PIPELINE: Pass Manager with 5 passes:
// PIPELINE-NEXT: builtin.module(
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     qnn-decompose-gemm,
// PIPELINE-NEXT:     canonicalize{{{.*}}max-iterations=10{{.*}}}
// PIPELINE-NEXT:   ),
// PIPELINE-NEXT:   qnn-infer-shapes,
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     canonicalize{{{.*}}}
// PIPELINE-NEXT:   ),
// PIPELINE-NEXT:   qnn-infer-shapes,
// PIPELINE-NEXT:   func.func(
// PIPELINE-NEXT:     cse
// PIPELINE-NEXT:   )
// PIPELINE-NEXT: )

// Tests that Shape -> Gather -> Concat -> Reshape shape arithmetic folds to a
// constant target, that the reshape and everything after it (gemm decomposed
// into matmul + add, relu) become static, and that the function result type
// follows.
// CHECK-LABEL: func @static_graph
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<16xf32>) -> tensor<2x16xf32>
// CHECK-NOT: qnn.shape
// CHECK-NOT: qnn.gather
// CHECK-NOT: qnn.concat
// CHECK: %[[T:.*]] = qnn.constant dense<[2, -1]> : tensor<2xi64>
// CHECK: %[[R:.*]] = qnn.reshape %[[X]], %[[T]] : (tensor<2x4x8xf32>, tensor<2xi64>) -> tensor<2x32xf32>
// CHECK: %[[M:.*]] = qnn.matmul %[[R]], %[[W]] : (tensor<2x32xf32>, tensor<32x16xf32>) -> tensor<2x16xf32>
// CHECK: %[[A:.*]] = qnn.add %[[M]], %[[B]] : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
// CHECK: %[[Y:.*]] = qnn.relu %[[A]] : tensor<2x16xf32> -> tensor<2x16xf32>
// CHECK: return %[[Y]] : tensor<2x16xf32>
func.func @static_graph(%x: tensor<2x4x8xf32>, %w: tensor<32x16xf32>, %b: tensor<16xf32>) -> tensor<*xf32> {
  %s = qnn.shape %x : tensor<2x4x8xf32> -> tensor<3xi64>
  %i0 = qnn.constant dense<0> : tensor<1xi64>
  %d0 = qnn.gather %s, %i0 : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
  %m = qnn.constant dense<-1> : tensor<1xi64>
  %t = qnn.concat %d0, %m {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = qnn.reshape %x, %t : (tensor<2x4x8xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %g = qnn.gemm %r, %w, %b : (tensor<?x?xf32>, tensor<32x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %y = qnn.relu %g : tensor<?x16xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// Tests a dynamic batch: the trailing static dims are taken with shape
// {start = 1}, gathered, multiplied and concatenated after -1, so the
// reshape becomes ?x32 and the batch stays dynamic. Duplicate constants are
// merged.
// CHECK-LABEL: func @dynamic_batch
// CHECK-SAME: (%[[X:.*]]: tensor<?x4x8xf32>) -> tensor<?x32xf32>
// CHECK-NOT: qnn.shape
// CHECK-NOT: qnn.gather
// CHECK-NOT: qnn.mul
// CHECK: %[[T:.*]] = qnn.constant dense<[-1, 32]> : tensor<2xi64>
// CHECK-NOT: qnn.constant
// CHECK: %[[R:.*]] = qnn.reshape %[[X]], %[[T]] : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<?x32xf32>
// CHECK: %[[E:.*]] = qnn.exp %[[R]] : tensor<?x32xf32> -> tensor<?x32xf32>
// CHECK: return %[[E]] : tensor<?x32xf32>
func.func @dynamic_batch(%x: tensor<?x4x8xf32>) -> tensor<*xf32> {
  %s = qnn.shape %x {start = 1 : i64} : tensor<?x4x8xf32> -> tensor<2xi64>
  %i0 = qnn.constant dense<0> : tensor<1xi64>
  %i1 = qnn.constant dense<1> : tensor<1xi64>
  %d1 = qnn.gather %s, %i0 : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %d2 = qnn.gather %s, %i1 : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %p = qnn.mul %d1, %d2 : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %m = qnn.constant dense<-1> : tensor<1xi64>
  %t = qnn.concat %m, %p {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = qnn.reshape %x, %t : (tensor<?x4x8xf32>, tensor<2xi64>) -> tensor<*xf32>
  %e = qnn.exp %r : tensor<*xf32> -> tensor<*xf32>
  return %e : tensor<*xf32>
}
