// Tests that qnn-check-gpu-host-data-access rejects host reads of device data.
// RUN: quant-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qnn-check-gpu-host-data-access))' --verify-diagnostics | FileCheck %s

// Tests that host code reading device data is an error naming the op.
func.func @reads(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{'memref.load' reads tensor data on the host, which is not supported by the GPU target}}
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// Tests that host code that only allocates, copies and launches passes,
// and that private functions are not checked.
// CHECK-LABEL: func.func @ok(
// CHECK: gpu.memcpy
func.func @ok(%x: memref<4xf32>) -> memref<4xf32> {
  %a = gpu.alloc () : memref<4xf32>
  gpu.memcpy %a, %x : memref<4xf32>, memref<4xf32>
  return %a : memref<4xf32>
}
// CHECK-LABEL: func.func private @helper(
func.func private @helper(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}
