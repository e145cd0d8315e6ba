// Tests that qnn-gpu-device-pipeline (the device half of step 6) is
// registered with typed options (an unknown chip is rejected with the valid
// ones listed) and prints as qnn-attach-nvvm-target then the NVVM lowering
// of every gpu.module.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_80 opt-level=2})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_75})' -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADCHIP
//
// Round trip: the printed pipeline parses back into the same one.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-gpu-device-pipeline{chip=sm_80 opt-level=2})' --dump-pass-pipeline -o /dev/null 2> %t.registered
// RUN: tail -n +2 %t.registered | tr -d '\n' \
// RUN:   | xargs -0 -I PIPELINE quant-opt %s --pass-pipeline=PIPELINE --dump-pass-pipeline -o /dev/null 2> %t.parsed
// RUN: diff %t.registered %t.parsed

// DEVICE: qnn-attach-nvvm-target{O=2 chip=sm_80}
// DEVICE-NEXT: gpu.module(
// DEVICE: convert-gpu-to-nvvm
// DEVICE: reconcile-unrealized-casts
// BADCHIP: 'sm_75' is not a valid value; valid values are: sm_80, sm_86, sm_89, sm_90
module {
}
