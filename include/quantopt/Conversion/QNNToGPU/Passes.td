//===- Passes.td - Passes of the GPU lowering --------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// convert-qnn-to-gpu and qnn-materialize-gpu-launches are in
// quantopt/Conversion/Passes.td; this file holds the GPU lowering's own
// analysis steps.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOGPU_PASSES
#define QUANTOPT_CONVERSION_QNNTOGPU_PASSES

include "mlir/Pass/PassBase.td"

def QNNSelectGPUKernelsPass
    : Pass<"qnn-select-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Record the GPU kernel of every quantized matmul and "
                "dynamic quantization";
  let description = [{
    The kernel choice of `convert-qnn-to-gpu` as its own step: every fp8
    matmul (`matmul(dequantize(e4m3), dequantize(constant e4m3))`),
    `qnn.weight_only_matmul`, `qnn.quantized_matmul` and
    `qnn.dynamic_quantize` without one gets `qnn.gpu_kernel = {name,
    reason}`: `fp8`, `w4a16`, `w4a8` (W4A8 forced by `kernel=w8a8`),
    `w4a8-by-m` (`w4a8-min-m`: decided by the row count, at compile time
    or by a run-time branch), `w8a8`, `w8a8-wgmma`, `dynamic_quantize`, or
    `generic` with the reason (forced by `kernel=generic`, no fp8 tensor
    cores on the chip). A forced kernel an op cannot take is an error
    naming the op. `convert-qnn-to-gpu` lowers by the attribute (and runs
    this selection, with its own options, on ops that have none); checks
    that need the weights' values (group sizes, f16 range of scales, zero
    points) stay with the lowering, which falls back with their reason.
  }];
  let options = [
    Option<"chip", "chip", "::quantopt::GPUChip",
           /*default=*/"::quantopt::GPUChip::SM90", "Target GPU",
           "QUANTOPT_GPU_CHIP_VALUES">,
    Option<"kernel", "kernel", "::quantopt::GPUKernel",
           /*default=*/"::quantopt::GPUKernel::Auto",
           "Kernel for every quantized matmul (as convert-qnn-to-gpu)",
           "QUANTOPT_GPU_KERNEL_VALUES">,
    Option<"w4a8MinM", "w4a8-min-m", "int64_t", /*default=*/"0",
           "As convert-qnn-to-gpu's w4a8-min-m (0: off)">
  ];
}

#endif // QUANTOPT_CONVERSION_QNNTOGPU_PASSES
