// Tests that the GPU target's pipelines are registered with typed options
// and print (--dump-pass-pipeline) as the passes compileForCUDA runs:
// convert-qnn-to-gpu before the generic lowering, the host passes in the
// kernel pipeline, upstream nvvm-attach-target with the chip's PTX ISA then
// qnn-specialize-nvvm-target in the device pipeline.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-lower-pipeline{chip=sm_89 kernel=w8a8})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_80 opt-level=2})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_75})' -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADCHIP

// LOWER: convert-qnn-to-gpu{chip=sm_89 kernel=w8a8 stages=4 w4a8-min-m=0}
// LOWER-SAME: func.func(qnn-evaluate-dequantize)
// LOWER-SAME: qnn-lower-to-cpu{kernel-library=false}
// LOWER-SAME: func.func(qnn-materialize-gpu-constants)
// KERNEL: one-shot-bufferize
// KERNEL-SAME: qnn-materialize-gpu-launches
// KERNEL-SAME: func.func(qnn-prepare-gpu-loops,convert-linalg-to-parallel-loops,canonicalize{{.*}},qnn-tile-gpu-parallel-loops,gpu-map-parallel-loops,convert-parallel-loops-to-gpu,canonicalize{{.*}},qnn-convert-gpu-host-memory)
// KERNEL-SAME: gpu-kernel-outlining
// KERNEL-SAME: func.func(qnn-check-gpu-host-data-access,gpu-async-region
// DEVICE: nvvm-attach-target{chip=sm_80 fast=false features=+ptx80 ftz=false module= O=2 ptxas-cmd-options= triple=nvptx64-nvidia-cuda}
// DEVICE-SAME: qnn-specialize-nvvm-target
// DEVICE-SAME: gpu.module(
// DEVICE-SAME: convert-gpu-to-nvvm
// BADCHIP: 'sm_75' is not a valid value; valid values are: sm_80, sm_86, sm_89, sm_90
module {
}
