// Tests that with convert-qnn-to-gpu{kernel=...} a forced kernel that a matmul cannot take
// is an error on that matmul saying why and how to fix it.
// RUN: quant-opt %s --split-input-file --convert-qnn-to-gpu="kernel=w8a8" --verify-diagnostics -o /dev/null
// RUN: not quant-opt %s --split-input-file --convert-qnn-to-gpu="kernel=w4a16" -o /dev/null 2>&1 | FileCheck %s --check-prefix=W4A16
// The M buckets (w4a8-min-m) are a choice of kernel=auto, and a row count.
// RUN: not quant-opt %s --convert-qnn-to-gpu="kernel=w4a16 w4a8-min-m=128" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MINM
// RUN: not quant-opt %s --convert-qnn-to-gpu="w4a8-min-m=-2" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NEGM
// MINM: error: convert-qnn-to-gpu: w4a8-min-m must be 0 (off) or a positive row count with kernel=auto, got 128 with kernel=w4a16
// NEGM: error: convert-qnn-to-gpu: w4a8-min-m must be 0 (off) or a positive row count with kernel=auto, got -2 with kernel=auto

// W4A16: error: 'qnn.quantized_matmul' op cannot take the w4a16 kernel (forced by kernel=w4a16): its activations are quantized to 8 bits{{.*}}use --scheme=w4a16, or --gpu-kernel=auto (kernel=auto)
func.func @grouped(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<2x32xf32>
  // expected-error @+1 {{cannot take the w8a8 kernel (forced by kernel=w8a8, as W4A8 with per-token dynamic activations): its weight scales are grouped along K (group size 32), which the int8 kernel's per-channel epilogue cannot apply; use --gpu-kernel=auto (kernel=auto)}}
  %0 = qnn.weight_only_matmul %x, %w, %s {group_size = 32 : i64} : (tensor<?x64xf32>, tensor<64x32xi4>, tensor<2x32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @f16(%x: tensor<?x64xf16>) -> tensor<?x32xf16> {
  %w = qnn.constant dense<-3> : tensor<64x32xi4>
  %s = qnn.constant dense<0.125> : tensor<32xf16>
  // expected-error @+1 {{its activations are not f32}}
  %0 = qnn.weight_only_matmul %x, %w, %s : (tensor<?x64xf16>, tensor<64x32xi4>, tensor<32xf16>) -> tensor<?x32xf16>
  return %0 : tensor<?x32xf16>
}

// -----

func.func @w8a8(%q: tensor<?x64xi8>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<?x32xf32> {
  %w = arith.constant dense<3> : tensor<64x32xi8>
  %ws = arith.constant dense<0.5> : tensor<32xf32>
  %y = qnn.quantized_matmul %q, %w, %s, %z, %ws : (tensor<?x64xi8>, tensor<64x32xi8>, tensor<f32>, tensor<i8>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
