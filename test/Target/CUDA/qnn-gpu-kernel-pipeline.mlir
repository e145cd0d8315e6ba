// Tests that qnn-gpu-kernel-pipeline (steps 3-5 of the GPU target) prints
// (--dump-pass-pipeline) as the passes compileForCUDA runs, the host passes
// in place, and that the printed pipeline parses back into the same one.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2> %t.registered
// RUN: tail -n +2 %t.registered | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE --dump-pass-pipeline -o /dev/null 2> %t.parsed
// RUN: diff %t.registered %t.parsed

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
module {
}
