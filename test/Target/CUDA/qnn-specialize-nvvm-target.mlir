// Tests that after upstream nvvm-attach-target, the gpu.module holding the
// warpgroup-MMA kernel (nvvm.wgmma.mma_async) gets the arch-specific target
// sm_90a, every other parameter kept, and that modules without wgmma keep
// the chip's target.
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90 kernel=w8a8-wgmma" --nvvm-attach-target="chip=sm_90 features=+ptx84 O=3" --qnn-specialize-nvvm-target | FileCheck %s
// RUN: quant-opt %s --convert-qnn-to-gpu="chip=sm_90" --nvvm-attach-target="chip=sm_90 features=+ptx84 O=3" --qnn-specialize-nvvm-target | FileCheck %s --check-prefix=SYNC

// CHECK-DAG: gpu.module @quantopt_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx84">]
// CHECK-DAG: gpu.module @other [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx84">]
// SYNC-DAG: gpu.module @quantopt_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx84">]
// SYNC-DAG: gpu.module @other [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx84">]
module {
  gpu.module @other {
  }
  func.func @per_tensor(%x: tensor<32x128xi8>, %sa: tensor<f32>, %za: tensor<i8>) -> tensor<32x256xf32> {
    %w = qnn.constant dense<5> : tensor<128x256xi8>
    %sb = qnn.constant dense<0.5> : tensor<f32>
    %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb : (tensor<32x128xi8>, tensor<128x256xi8>, tensor<f32>, tensor<i8>, tensor<f32>) -> tensor<32x256xf32>
    return %0 : tensor<32x256xf32>
  }
}
