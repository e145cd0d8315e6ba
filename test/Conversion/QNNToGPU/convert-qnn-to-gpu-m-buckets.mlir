// Tests that convert-qnn-to-gpu{w4a8-min-m=N} makes the M-dependent kernel choice of int4
// weight-only matmuls with per-channel scales. A static M decides at compile
// time (M >= N: W4A8, i.e. per-token dynamic uint8 activations and the int8
// kernel; M < N: the W4A16 kernel); a dynamic M becomes an scf.if on the
// run-time row count (the product of every dimension but the last) holding
// both lowerings, each launch's reason naming its bucket. Matmuls the int8
// kernel cannot take keep W4A16 for every M, with the reason. Without the
// option (0) the choice does not depend on M (convert-qnn-to-gpu-kernel-choice).
// RUN: quant-opt %s --convert-qnn-to-gpu="w4a8-min-m=128" | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu="w4a8-min-m=128" --canonicalize | quant-translate --emit-ptx --target sm_90 - | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @dynamic_m(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf32>
// CHECK: %[[D0:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[R0:.*]] = arith.muli %{{.*}}, %[[D0]] : index
// CHECK: %[[D1:.*]] = tensor.dim %[[X]], %c1
// CHECK: %[[ROWS:.*]] = arith.muli %[[R0]], %[[D1]] : index
// CHECK: %[[BIG:.*]] = arith.cmpi uge, %[[ROWS]], %c128 : index
// CHECK: %[[Y:.*]] = scf.if %[[BIG]] -> (tensor<?x?x32xf32>) {
// CHECK:   func.call @quantopt_launch_qgpu_dynq_rows(
// CHECK:   func.call @quantopt_launch_qgpu_w8a8_u8({{.*}}reason = "M >= 128 (w4a8-min-m, run-time branch): W4A8, the activations quantized per token at run time; uint8 activations x int8 weights
// CHECK:   %[[B:.*]] = qnn.add %{{.*}}, %{{.*}} : (tensor<?x?x32xf32>, tensor<32xf32>)
// CHECK:   scf.yield %[[B]] : tensor<?x?x32xf32>
// CHECK: } else {
// CHECK-NOT: qgpu_dynq
// CHECK:   func.call @quantopt_launch_qgpu_w4a16_f16({{.*}}reason = "M < 128 (w4a8-min-m, run-time branch); int4 weights
// CHECK:   scf.yield
// CHECK: }
// CHECK: return %[[Y]]
func.func @dynamic_m(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf32>
  %b = qnn.constant dense<1.0> : tensor<32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s bias(%b) : (tensor<?x?x64xf32>, tensor<64x32xi4>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32> loc("wo")
  return %0 : tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @static_large(
// CHECK-NOT: scf.if
// CHECK: call @quantopt_launch_qgpu_w8a8_u8({{.*}}reason = "M >= 128 (w4a8-min-m, M = 256): W4A8
// CHECK-NOT: qgpu_w4a16
// CHECK: return
func.func @static_large(%x: tensor<4x64x64xf32>) -> tensor<4x64x32xf32> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s : (tensor<4x64x64xf32>, tensor<64x32xi4>, tensor<32xf32>) -> tensor<4x64x32xf32> loc("large")
  return %0 : tensor<4x64x32xf32>
}

// CHECK-LABEL: func.func @static_small(
// CHECK-NOT: scf.if
// CHECK-NOT: qgpu_dynq
// CHECK: call @quantopt_launch_qgpu_w4a16_f16({{.*}}reason = "M < 128 (w4a8-min-m, M = 127); int4 weights
// CHECK: return
func.func @static_small(%x: tensor<127x64xf32>) -> tensor<127x32xf32> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s : (tensor<127x64xf32>, tensor<64x32xi4>, tensor<32xf32>) -> tensor<127x32xf32> loc("small")
  return %0 : tensor<127x32xf32>
}

// Grouped scales (and K = 24, not a multiple of 16): W4A16 for every M.
// CHECK-LABEL: func.func @not_eligible(
// CHECK-NOT: scf.if
// CHECK: call @quantopt_launch_qgpu_w4a16_f16({{.*}}reason = "W4A16 for every M: w4a8-min-m does not apply (grouped weight scales); int4 weights, group 32
// CHECK: call @quantopt_launch_qgpu_w4a16_f16({{.*}}reason = "W4A16 for every M: w4a8-min-m does not apply (K is not a multiple of 16); int4 weights
// CHECK: return
func.func @not_eligible(%x: tensor<?x64xf32>, %x2: tensor<?x24xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<2x32xf32>
  %0 = qnn.weight_only_matmul %x, %w, %s {group_size = 32 : i64} : (tensor<?x64xf32>, tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<?x32xf32> loc("grouped")
  %w2 = qnn.constant dense<-3> : tensor<24x32xi4>
  %s2 = qnn.constant dense<0.125> : tensor<32xf32>
  %1 = qnn.weight_only_matmul %x2, %w2, %s2 : (tensor<?x24xf32>, tensor<24x32xi4>, tensor<32xf32>) -> tensor<?x32xf32> loc("k24")
  return %0, %1 : tensor<?x32xf32>, tensor<?x32xf32>
}

// PTX-DAG: .entry qgpu_w4a16_f16(
// PTX-DAG: .entry qgpu_w8a8_u8(
// PTX-DAG: .entry qgpu_dynq_rows(
