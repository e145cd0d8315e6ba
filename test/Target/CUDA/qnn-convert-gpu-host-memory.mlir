// Tests that host allocations a kernel or the caller sees become
// gpu.alloc, copies into them gpu.memcpy and their deallocations
// gpu.dealloc, while a buffer nothing on the device sees stays in host
// memory, marked quantopt.host_buffer.
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(qnn-convert-gpu-host-memory))' | FileCheck %s

// CHECK-LABEL: func.func @device_buffers(
// CHECK-SAME: %[[X:.*]]: memref<16xf32>
// CHECK: %[[A:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: gpu.memcpy %[[A]], %[[X]] : memref<16xf32>, memref<16xf32>
// CHECK: %[[T:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: call @kernel(%[[T]])
// CHECK: gpu.dealloc %[[T]] : memref<16xf32>
// CHECK: memref.alloc() {quantopt.host_buffer} : memref<2xindex>
// CHECK: return %[[A]]
func.func private @kernel(memref<16xf32>)
func.func @device_buffers(%x: memref<16xf32>) -> memref<16xf32> {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %t = memref.alloc() : memref<16xf32>
  call @kernel(%t) : (memref<16xf32>) -> ()
  memref.dealloc %t : memref<16xf32>
  %h = memref.alloc() : memref<2xindex>
  return %a : memref<16xf32>
}
