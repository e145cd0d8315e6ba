// Tests that a call of a launch declaration (a private function with a
// qgpu.kernel attribute, as convert-qnn-to-gpu emits) becomes a
// gpu.launch_func of that kernel with the call's grid, block, dynamic
// shared memory and arguments, keeping the qnn.kernel description, and
// that the declaration is erased.
// RUN: quant-opt %s --qnn-materialize-gpu-launches | FileCheck %s

// CHECK-NOT: func.func private @quantopt_launch_k
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[P:.*]]: i64, %[[M:.*]]: index)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[S:.*]] = arith.constant 1024 : i32
// CHECK: gpu.launch_func @quantopt_kernels::@k blocks in (%[[M]], %[[C1]], %[[C1]]) threads in (%[[C128]], %[[C1]], %[[C1]]) dynamic_shared_memory_size %[[S]] args(%[[P]] : i64) {qnn.kernel = {name = "w4a16", reason = "a reason"}}
// CHECK-NOT: call
module attributes {gpu.container_module} {
  gpu.module @quantopt_kernels {
    gpu.func @k(%a: i64) kernel {
      gpu.return
    }
  }
  func.func private @quantopt_launch_k(index, index, index, index, index, index, i32, i64) attributes {qgpu.kernel = @quantopt_kernels::@k}
  func.func @f(%p: i64, %m: index) {
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %s = arith.constant 1024 : i32
    call @quantopt_launch_k(%m, %c1, %c1, %c128, %c1, %c1, %s, %p) {qnn.kernel = {name = "w4a16", reason = "a reason"}} : (index, index, index, index, index, index, i32, i64) -> ()
    return
  }
}
