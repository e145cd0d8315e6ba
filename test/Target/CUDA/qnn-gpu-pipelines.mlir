// Tests that the GPU target's pipelines are registered with typed options
// and print (--dump-pass-pipeline) as the passes compileForCUDA runs:
// convert-qnn-to-gpu before the generic lowering, the host passes in the
// kernel pipeline, qnn-attach-nvvm-target before the NVVM lowering in the
// device pipeline; and that the printed kernel pipeline parses back into
// the same pipeline.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-lower-pipeline{chip=sm_89 kernel=w8a8})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=LOWER
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_80 opt-level=2})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_75})' -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2> %t.registered
// RUN: quant-opt %s --pass-pipeline='ROUNDTRIP' --dump-pass-pipeline -o /dev/null 2> %t.parsed
// RUN: diff %t.registered %t.parsed

// LOWER: convert-qnn-to-gpu{chip=sm_89 kernel=w8a8 stages=4 w4a8-min-m=0}
// LOWER: qnn-evaluate-dequantize
// LOWER: qnn-lower-to-cpu{kernel-library=false}
// LOWER: qnn-materialize-gpu-constants
// KERNEL: one-shot-bufferize
// KERNEL: convert-bufferization-to-memref
// KERNEL-NEXT: qnn-materialize-gpu-launches
// KERNEL-NEXT: func.func(
// KERNEL-NEXT: qnn-prepare-gpu-loops
// KERNEL-NEXT: convert-linalg-to-parallel-loops
// KERNEL-NEXT: canonicalize
// KERNEL-NEXT: qnn-tile-gpu-parallel-loops
// KERNEL-NEXT: gpu-map-parallel-loops
// KERNEL-NEXT: convert-parallel-loops-to-gpu
// KERNEL-NEXT: canonicalize
// KERNEL-NEXT: qnn-convert-gpu-host-memory
// KERNEL: gpu-kernel-outlining
// KERNEL: qnn-check-gpu-host-data-access
// KERNEL: gpu-async-region
// DEVICE: qnn-attach-nvvm-target{O=2 chip=sm_80}
// DEVICE-NEXT: gpu.module(
// DEVICE: convert-gpu-to-nvvm
// DEVICE: reconcile-unrealized-casts
// BADCHIP: 'sm_75' is not a valid value; valid values are: sm_80, sm_86, sm_89, sm_90
module {
}
