// Tests that every gpu.module gets the chip's NVVM target (its PTX ISA:
// +ptx80 on sm_80, +ptx84 for the fp8 chips), replacing a target already
// there, and that the module holding the warpgroup-MMA kernel
// (nvvm.wgmma.mma_async) gets the arch-specific target sm_90a.
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90 kernel=w8a8-wgmma" --qnn-attach-nvvm-target="chip=sm_90" | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90" --qnn-attach-nvvm-target="chip=sm_90 O=2" | FileCheck %s --check-prefix=SYNC
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_80" --qnn-attach-nvvm-target="chip=sm_80" | FileCheck %s --check-prefix=SM80

// CHECK-DAG: gpu.module @quantopt_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx84">]
// CHECK-DAG: gpu.module @other [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx84">]
// SYNC-DAG: gpu.module @quantopt_kernels [#nvvm.target<chip = "sm_90", features = "+ptx84">]
// SYNC-DAG: gpu.module @other [#nvvm.target<chip = "sm_90", features = "+ptx84">]
// SM80-DAG: gpu.module @quantopt_kernels [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">]
// SM80-DAG: gpu.module @other [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">]
module {
  gpu.module @other [#nvvm.target<chip = "sm_75">] {
  }
  func.func @per_tensor(%x: tensor<32x128xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> tensor<32x256xf32> {
    %w = qnn.constant dense<5> : tensor<128x256xi8>
    %sb = qnn.constant dense<0.5> : tensor<f32>
    %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<32x128xi8>, tensor<128x256xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
    return %0 : tensor<32x256xf32>
  }
}
