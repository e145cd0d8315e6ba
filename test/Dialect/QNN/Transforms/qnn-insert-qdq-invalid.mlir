// Tests that bad qnn-insert-qdq options are rejected before the pass runs,
// with a message that names the option and lists the valid values or says
// what to change.

// Tests that an unknown scheme lists the valid schemes.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=w9a9' 2>&1 | FileCheck %s --check-prefix=SCHEME
// SCHEME: for the --scheme option: 'w9a9' is not a valid value; valid values are: w8a8, w8a16, w4a16, w4a8, fp8

// Tests that an unknown weight granularity lists the valid granularities.
// RUN: not quant-opt %s --qnn-insert-qdq='weight-granularity=foo' 2>&1 | FileCheck %s --check-prefix=GRAN
// GRAN: for the --weight-granularity option: 'foo' is not a valid value; valid values are: default, per-tensor, per-channel, per-group

// Tests that an unknown activation mode lists the valid modes.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=w8a8 activation-mode=x' 2>&1 | FileCheck %s --check-prefix=MODE
// MODE: for the --activation-mode option: 'x' is not a valid value; valid values are: static, dynamic

// Tests that an unknown activation granularity lists the valid values.
// RUN: not quant-opt %s --qnn-insert-qdq='activation-granularity=per-row' 2>&1 | FileCheck %s --check-prefix=AGRAN
// AGRAN: for the --activation-granularity option: 'per-row' is not a valid value; valid values are: per-tensor, per-token

// Tests that per-group weights need a positive group size.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=w8a16 weight-granularity=per-group group-size=0' 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: qnn-insert-qdq: group-size must be positive with weight-granularity=per-group

// Tests that the int4 default granularity (per group) also needs a positive
// group size.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=w4a16 group-size=-1' 2>&1 | FileCheck %s --check-prefix=GROUP4
// GROUP4: error: qnn-insert-qdq: group-size must be positive

// Tests that an exclude-nodes entry that is not a regex is reported with the
// entry and the regex error.
// RUN: not quant-opt %s --qnn-insert-qdq='exclude-nodes=lm_(' 2>&1 | FileCheck %s --check-prefix=REGEX
// REGEX: error: qnn-insert-qdq: exclude-nodes entry 'lm_(' is not a valid regex: parentheses not balanced

// Tests that per-token activation scales need dynamic quantization.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=w8a8 activation-mode=static activation-granularity=per-token' 2>&1 | FileCheck %s --check-prefix=TOKEN
// TOKEN: error: qnn-insert-qdq: activation-granularity=per-token needs activation-mode=dynamic

// Tests that fp8 weights cannot be asymmetric.
// RUN: not quant-opt %s --qnn-insert-qdq='scheme=fp8 symmetric=false' 2>&1 | FileCheck %s --check-prefix=FP8
// FP8: error: qnn-insert-qdq: fp8 weights are symmetric; remove symmetric=false

// No IR is produced in any of these runs.
// SCHEME-NOT: func.func
// GRAN-NOT: func.func
// MODE-NOT: func.func
// GROUP-NOT: func.func
// REGEX-NOT: func.func
// TOKEN-NOT: func.func
// FP8-NOT: func.func
func.func @f(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = qnn.constant dense<[[1.0, -2.0], [4.0, 0.5]]> : tensor<2x2xf32>
  %0 = qnn.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("fc1")
  return %0 : tensor<3x2xf32>
}

