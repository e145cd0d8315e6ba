// Tests that qnn-gpu-kernel-pipeline (steps 3-5 of the GPU target) prints
// (--dump-pass-pipeline) as the passes compileForCUDA runs, the host passes
// in place, and that the printed pipeline parses back into the same one.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-kernel-pipeline)' --dump-pass-pipeline -o /dev/null 2> %t.registered
// RUN: quant-opt %s --pass-pipeline='builtin.module(one-shot-bufferize{allow-return-allocs-from-loops=false allow-unknown-ops=false analysis-fuzzer-seed=0 analysis-heuristic=bottom-up buffer-alignment=64 bufferize-function-boundaries=true check-parallel-regions=true copy-before-write=false  dump-alias-sets=false function-boundary-type-conversion=identity-layout-map must-infer-memory-space=false  print-conflicts=false test-analysis-only=false unknown-type-conversion=identity-layout-map use-encoding-for-memory-space=false},canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},expand-realloc{emit-deallocs=false},canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},ownership-based-buffer-deallocation{private-function-dynamic-ownership=false},canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},buffer-deallocation-simplification,bufferization-lower-deallocations,cse,canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},convert-bufferization-to-memref,qnn-materialize-gpu-launches,func.func(qnn-prepare-gpu-loops,convert-linalg-to-parallel-loops,canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},qnn-tile-gpu-parallel-loops,gpu-map-parallel-loops{mapping-policy=outermost-first},convert-parallel-loops-to-gpu,canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true},qnn-convert-gpu-host-memory),gpu-kernel-outlining{data-layout-str=},func.func(qnn-check-gpu-host-data-access),func.func(gpu-async-region),func.func(canonicalize{  max-iterations=10 max-num-rewrites=-1 region-simplify=normal test-convergence=false top-down=true}))' --dump-pass-pipeline -o /dev/null 2> %t.parsed
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
