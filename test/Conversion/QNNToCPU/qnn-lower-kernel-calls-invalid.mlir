// RUN: quant-opt %s --split-input-file --verify-diagnostics --qnn-lower-kernel-calls

// Tests that a kernel call still on tensors is an error.
func.func @tensors(%a: tensor<4xf32>) -> tensor<4xf32> {
  %init = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{is still on tensors: run one-shot bufferization first}}
  %r = qnn_cpu.kernel_call "qk_copy" ins(%a : tensor<4xf32>) outs(%init : tensor<4xf32>) out_position 1 -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Tests that the output position must fall inside the call's arguments.
func.func @position(%a: memref<4xf32>, %o: memref<4xf32>) {
  // expected-error @+1 {{out_position 3 is outside the 2 call arguments}}
  qnn_cpu.kernel_call "qk_copy" ins(%a : memref<4xf32>) outs(%o : memref<4xf32>) out_position 3
  return
}

// -----

// Tests that a workspace must be a 1-d i8 buffer (its size in bytes is
// passed to the kernel).
func.func @workspace(%a: memref<4xf32>, %o: memref<4xf32>, %ws: memref<8xf32>) {
  // expected-error @+1 {{workspace must be a contiguous 1-d i8 tensor or buffer (its size in bytes is passed to the kernel), not 'memref<8xf32>'}}
  qnn_cpu.kernel_call "qk_copy" ins(%a : memref<4xf32>) outs(%o : memref<4xf32>) out_position 1 workspace(%ws : memref<8xf32>)
  return
}
