// Tests that the GPU lowering (quant-compile --target sm_XX up to kernel
// outlining) turns a matmul + bias + tanh into kernels launched on one
// stream: buffers are gpu.alloc'ed, every loop nest is a 1-D grid of
// 256-thread blocks, and the host function touches no tensor data.
// RUN: quant-translate --emit-gpu-mlir %s | FileCheck %s
// RUN: quant-translate --emit-ptx --target sm_90 %s | FileCheck %s --check-prefix=PTX
// RUN: quant-translate --emit-ptx --target sm_80 %s | FileCheck %s --check-prefix=PTX80

#map = affine_map<(d0, d1) -> (d0, d1)>
#mapb = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @quantopt_model
// CHECK-SAME: (%[[B:.*]]: memref<32xf32>, %[[X:.*]]: memref<?x64xf32>) -> memref<?x32xf32>
// CHECK-NOT: memref.load
// CHECK-NOT: memref.store
// The splat weight is filled on the device, not stored in the bundle.
// CHECK: %[[W:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] () : memref<64x32xf32>
// CHECK: gpu.launch_func async {{.*}} blocks in (%c8, %c1, %c1) threads in (%c256, %c1, %c1) args({{.*}}%[[W]] : memref<64x32xf32>)
// CHECK: %[[OUT:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%{{.*}}) : memref<?x32xf32>
// CHECK: gpu.launch_func async
// CHECK: gpu.launch_func async
// CHECK-SAME: %[[X]] : memref<?x64xf32>, %[[W]] : memref<64x32xf32>, %[[OUT]] : memref<?x32xf32>
// CHECK: gpu.launch_func async
// CHECK-SAME: %[[OUT]] : memref<?x32xf32>, %[[B]] : memref<32xf32>
// CHECK: gpu.dealloc async [%{{.*}}] %[[W]]
// CHECK: gpu.wait [
// CHECK-NEXT: return %[[OUT]]
// CHECK: gpu.module @quantopt_model_kernel
// CHECK: gpu.func @quantopt_model_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: gpu.block_id x
// CHECK: gpu.thread_id x
// CHECK: math.tanh

// PTX: // gpu.module @quantopt_model_kernel
// PTX: .target sm_90
// PTX: .address_size 64
// PTX: .visible .entry quantopt_model_kernel(
// PTX80: .target sm_80
// PTX80: .visible .entry quantopt_model_kernel(
func.func @model(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.5]> : tensor<32xf32>
  %d = tensor.dim %x, %c0 : tensor<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%d) : tensor<?x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>) outs(%f : tensor<?x32xf32>) -> tensor<?x32xf32>
  %r = linalg.generic {indexing_maps = [#map, #mapb, #map], iterator_types = ["parallel", "parallel"]} ins(%m, %b : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}
