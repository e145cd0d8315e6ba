// Tests that an outermost 2-D scf.parallel is collapsed to one dimension
// (4 x 300 = 1200 iterations) and tiled by the 256-thread block size
// without min/max bounds: an outer loop over blocks stepping by 256 and an
// inner loop over the block's threads.
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(qnn-tile-gpu-parallel-loops))' | FileCheck %s

// CHECK-LABEL: func.func @fill(
// CHECK-SAME: %[[X:.*]]: memref<4x300xf32>)
// The collapsed bound: 4 x 300.
// CHECK: arith.muli
// CHECK-NEXT: %[[N:.*]] = arith.muli %{{.*}}, %[[C300:.*]] : index
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[C256]] : index
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%[[N]]) step (%[[STEP]]) {
// CHECK-NEXT: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%[[STEP]]) step (%{{.*}}) {
// CHECK: %[[I:.*]] = arith.addi %[[T]], %[[B]] : index
// CHECK: arith.cmpi ult, %{{.*}}, %[[N]] : index
// CHECK: scf.if
// CHECK: %[[COL:.*]] = arith.remsi %[[I]], %[[C300]] : index
// CHECK: %[[ROW:.*]] = arith.divsi %[[I]], %[[C300]] : index
// CHECK: memref.store %{{.*}}, %[[X]][%[[ROW]], %[[COL]]] : memref<4x300xf32>
func.func @fill(%x: memref<4x300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c300 = arith.constant 300 : index
  %cst = arith.constant 2.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c300) step (%c1, %c1) {
    memref.store %cst, %x[%i, %j] : memref<4x300xf32>
  }
  return
}
