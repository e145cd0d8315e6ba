// Tests that a small integer constant that a data kernel reads (here through a
// shape-looking elementwise op into a matmul) is a device weight, not host
// shape data: it becomes a weight argument and both kernels read it on the
// device (it used to stay a host global the kernels could not read).
// RUN: quant-translate --emit-gpu-mlir %s | FileCheck %s

// CHECK: func.func @quantopt_model(%[[W:.*]]: memref<4x4xi32>, %{{.*}}: memref<?x4xf32>)
// CHECK-NOT: memref.get_global
// CHECK: gpu.launch_func {{.*}} args({{.*}}%[[W]] : memref<4x4xi32>
#m2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @model(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %k = arith.constant dense<[[1,2,3,4],[5,6,7,8],[1,2,3,4],[5,6,7,9]]> : tensor<4x4xi32>
  %e = tensor.empty() : tensor<4x4xi32>
  %l = linalg.generic {indexing_maps = [#m2, #m2], iterator_types = ["parallel", "parallel"]} ins(%k : tensor<4x4xi32>) outs(%e : tensor<4x4xi32>) {
  ^bb0(%a: i32, %o: i32):
    %t = arith.muli %a, %a : i32
    linalg.yield %t : i32
  } -> tensor<4x4xi32>
  %d = tensor.dim %x, %c0 : tensor<?x4xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty(%d) : tensor<?x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %l : tensor<?x4xf32>, tensor<4x4xi32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
