// Tests that the GPU target's errors that need no model file name the op
// and its ONNX node.

// Tests that host code reading tensor data (a scalar computed at run time
// and needed on the host) is rejected with the op and its ONNX node.
// RUN: not quant-translate --emit-gpu-mlir %s 2>&1 | FileCheck %s
// CHECK: node 'scale_read': error: 'memref.load' of ONNX node 'scale_read' reads tensor data on the host, which is not supported by the GPU target
// CHECK: mapping the model to GPU kernels failed

// Tests that an unknown GPU is rejected with the valid ones listed.
// RUN: not quant-translate --emit-ptx --target sm_75 %s 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: unknown --target 'sm_75'; valid: sm_80, sm_86, sm_89, sm_90
func.func @model(%x: tensor<4xf32>, %i: tensor<1xindex>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.extract %i[%c0] : tensor<1xindex> loc("scale_read")
  %e = tensor.empty(%n) : tensor<?xf32>
  %v = tensor.extract %x[%c0] : tensor<4xf32>
  %f = linalg.fill ins(%v : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  return %f : tensor<?xf32>
}
