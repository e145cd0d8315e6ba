// Tests that qnn-gpu-lower-pipeline (step 1 of the GPU target) is
// registered with typed options and prints (--dump-pass-pipeline) as the
// passes compileForCUDA runs: convert-qnn-to-gpu before the generic
// lowering, then qnn-materialize-gpu-constants.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-lower-pipeline{chip=sm_89 kernel=w8a8})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=LOWER
//
// Round trip: the printed pipeline parses back into the same one.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-lower-pipeline{chip=sm_89 kernel=w8a8})' --dump-pass-pipeline -o /dev/null 2> %t.registered
// RUN: tail -n +2 %t.registered | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE --dump-pass-pipeline -o /dev/null 2> %t.parsed
// RUN: diff %t.registered %t.parsed

// LOWER: convert-qnn-to-gpu{chip=sm_89 kernel=w8a8 stages=4 w4a8-min-m=0}
// LOWER: qnn-evaluate-dequantize
// LOWER: convert-qnn-to-cpu{kernel-library=false}
// LOWER: qnn-materialize-gpu-constants
module {
}
