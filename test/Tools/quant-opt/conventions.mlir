// quant-opt follows the mlir-opt command-line conventions.

// A textual pass pipeline runs the same pass as its registered flag.
// RUN: quant-opt %s --pass-pipeline='builtin.module(qnn-infer-shapes)' | FileCheck %s
// RUN: quant-opt %s --qnn-infer-shapes | FileCheck %s

// IR printing after each pass (on stderr) with the pass's banner.
// RUN: quant-opt %s --qnn-infer-shapes --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=PRINT

// Pass timing (on stderr).
// RUN: quant-opt %s --qnn-infer-shapes --mlir-timing -o /dev/null 2>&1 | FileCheck %s --check-prefix=TIMING

// A pass failure writes a reproducer: the input IR plus the pipeline, in an
// external_resources block, which --run-reproducer replays to the same error.
// RUN: rm -f %t.repro.mlir
// RUN: not quant-opt %s --pass-pipeline='builtin.module(func.func(canonicalize),qnn-infer-shapes)' \
// RUN:   --mlir-pass-pipeline-crash-reproducer=%t.repro.mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=FAIL
// RUN: FileCheck %s --check-prefix=REPRO < %t.repro.mlir
// RUN: not quant-opt %t.repro.mlir --run-reproducer -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPLAY

// CHECK-LABEL: func @refined
// CHECK-SAME: -> tensor<4x8xf32>
// CHECK: qnn.relu %{{.*}} : tensor<4x8xf32> -> tensor<4x8xf32>

// PRINT: // -----// IR Dump After QNNInferShapesPass (qnn-infer-shapes) //----- //
// PRINT-NEXT: module {
// PRINT-NEXT: func.func @refined(%{{.*}}: tensor<4x8xf32>) -> tensor<4x8xf32>
// PRINT: func.func @late_conflict

// TIMING: Execution time report
// TIMING: Total Execution Time:
// TIMING: Parser
// TIMING-NEXT: QNNInferShapesPass
// TIMING: Output

// FAIL: error: 'qnn.relu' op result type 'tensor<3x8xf32>' conflicts with the inferred type 'tensor<2x12xf32>'
// FAIL: Pipeline failed while executing [`QNNInferShapesPass` on 'builtin.module' operation]: reproducer generated at

// The reproducer holds the IR as it was before the pipeline (shape not yet
// folded) and the full pipeline.
// REPRO: func.func @late_conflict
// REPRO: qnn.shape
// REPRO: external_resources
// REPRO-NEXT: mlir_reproducer
// REPRO-NEXT: pipeline: "builtin.module(func.func(canonicalize{{.*}}), qnn-infer-shapes)"

// REPLAY: error: 'qnn.relu' op result type 'tensor<3x8xf32>' conflicts with the inferred type 'tensor<2x12xf32>'

func.func @refined(%x: tensor<4x8xf32>) -> tensor<*xf32> {
  %0 = qnn.relu %x : tensor<4x8xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// Valid as written and under qnn-infer-shapes alone (the reshape target is
// not a constant), but once canonicalize has folded the shape the reshape
// becomes 2x12 and the relu's declared 3x8 conflicts.
func.func @late_conflict(%x: tensor<2x12xf32>, %y: tensor<24xf32>) -> tensor<3x8xf32> {
  %s = qnn.shape %x : tensor<2x12xf32> -> tensor<2xi64>
  %0 = qnn.reshape %y, %s : (tensor<24xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  %1 = qnn.relu %0 : tensor<?x?xf32> -> tensor<3x8xf32>
  return %1 : tensor<3x8xf32>
}
