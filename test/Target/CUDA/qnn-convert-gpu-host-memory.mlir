// Tests that host allocations a kernel or the caller sees become
// gpu.alloc, their copies gpu.memcpy and their deallocations gpu.dealloc,
// while a buffer no kernel sees stays in host memory, marked.
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(qnn-convert-gpu-host-memory))' | FileCheck %s

// CHECK-LABEL: func.func @device_buffers(
// CHECK-SAME: %[[X:.*]]: memref<16xf32>
// CHECK: %[[A:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: gpu.memcpy %[[A]], %[[X]] : memref<16xf32>, memref<16xf32>
// CHECK: %[[T:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: gpu.memcpy %[[T]], %[[A]]
// CHECK: gpu.dealloc %[[A]] : memref<16xf32>
// CHECK: %[[H:.*]] = memref.alloc() {quantopt.host_buffer} : memref<2xindex>
// CHECK: return %[[T]]
func.func @device_buffers(%x: memref<16xf32>) -> memref<16xf32> {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %t = memref.alloc() : memref<16xf32>
  memref.copy %a, %t : memref<16xf32> to memref<16xf32>
  memref.dealloc %a : memref<16xf32>
  %h = memref.alloc() : memref<2xindex>
  return %t : memref<16xf32>
}
