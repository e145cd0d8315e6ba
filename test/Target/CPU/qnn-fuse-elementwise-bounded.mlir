// RUN: quant-opt %s --split-input-file --qnn-fuse-elementwise-bounded | FileCheck %s
// RUN: quant-opt %s --split-input-file --qnn-fuse-elementwise-bounded=max-body-ops=3 | FileCheck %s --check-prefix=BOUND

#id = affine_map<(d0) -> (d0)>

// Tests that a chain of elementwise generics fuses into one, and that with
// a bound smaller than the fused body the chain is left in pieces.
// CHECK-LABEL: func.func @chain(
// CHECK:         linalg.generic
// CHECK:           arith.addf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
// BOUND-LABEL: func.func @chain(
// BOUND-COUNT-2: linalg.generic
func.func @chain(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%0 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %1 : tensor<8xf32>
}
