// RUN: quant-opt %s --qnn-approximate-math | FileCheck %s

// Tests that erf, tanh and exp become polynomial approximations (no math
// call left) while other math ops stay.
// CHECK-LABEL: func.func @approximate(
// CHECK-NOT:     math.erf
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.exp
// CHECK:         math.sqrt
// CHECK:         return
func.func @approximate(%x: f32) -> f32 {
  %0 = math.erf %x : f32
  %1 = math.tanh %0 : f32
  %2 = math.exp %1 : f32
  %3 = math.sqrt %2 : f32
  return %3 : f32
}
