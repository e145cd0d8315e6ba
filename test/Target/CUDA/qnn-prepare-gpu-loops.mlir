// Tests that qnn-prepare-gpu-loops prepares every linalg op to run on the device.
// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qnn-prepare-gpu-loops))' | FileCheck %s

// Tests that a linalg op without a parallel dimension (a full reduction to
// a 0-d buffer) is moved into a one-thread gpu.launch, so that it runs on
// the device.
// CHECK-LABEL: func.func @full_reduction(
// CHECK-SAME: %[[X:.*]]: memref<8xf32>, %[[OUT:.*]]: memref<f32>)
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[X]] : memref<8xf32>) outs(%[[OUT]] : memref<f32>)
// CHECK: gpu.terminator
func.func @full_reduction(%x: memref<8xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%x : memref<8xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Tests that a host memref.copy from a strided view becomes a linalg.copy
// (a kernel) rather than a copy the runtime cannot do.
// CHECK-LABEL: func.func @strided_copy(
// CHECK: %[[V:.*]] = memref.subview
// CHECK: linalg.copy ins(%[[V]] : memref<4x8xf32, strided<[16, 1]>>) outs(%{{.*}} : memref<4x8xf32>)
// CHECK-NOT: memref.copy
func.func @strided_copy(%x: memref<8x8xf32>, %y: memref<4x8xf32>) {
  %v = memref.subview %x[0, 0] [4, 8] [2, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[16, 1]>>
  memref.copy %v, %y : memref<4x8xf32, strided<[16, 1]>> to memref<4x8xf32>
  return
}
