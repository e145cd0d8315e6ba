//===- Passes.td - QuantOpt conversion passes --------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_PASSES
#define QUANTOPT_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def QNNLowerToCPUPass : Pass<"qnn-lower-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower the qnn dialect to linalg, tensor, arith and math, "
                "with matmuls as calls into the CPU kernel library";
  let description = [{
    Every qnn op becomes upstream tensor-level IR that one-shot bufferization
    and the standard LLVM lowering handle:

    - elementwise ops (with ONNX broadcasting), casts, quantize, dequantize,
      requantize and dynamic quantization become `linalg.generic`;
    - reductions, softmax, layer and RMS normalization become reductions
      and elementwise `linalg.generic`s;
    - layout ops become `tensor.reshape`, `linalg.transpose`,
      `tensor.insert_slice`/`extract_slice` or gathers (`tensor.extract`
      inside a `linalg.generic`);
    - `qnn.quantized_matmul` (int8 GEMM, fused epilogue),
      `qnn.weight_only_matmul` (int4/int8 weights) and float matmuls with a
      constant right operand become calls to the kernel library (`qk_*`,
      docs/CPUBackend.md). Their weights are packed at compile time into the
      layout the kernel reads, with column sums, scales and bias inside the
      packed blob. Float matmuls of two activations call the batched kernel;
      anything else (integer matmuls of activations, broadcast batch dims)
      becomes a `linalg.generic` contraction.

    Unsigned and sub-byte integer tensors become signless `i8`..`i64`
    tensors (the ops keep the signedness they need in their arithmetic).
    Dequantizations of constants are evaluated first (weights left in float
    by the quantization passes). FP8 tensors are not supported on the CPU:
    the pass fails with a diagnostic naming the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"kernelLibrary", "kernel-library", "bool", /*default=*/"true",
           "Lower matmuls to calls into the CPU kernel library; false makes "
           "every matmul a linalg contraction (weight-only weights "
           "dequantized at compile time), for targets whose generated code "
           "does not run on the host (the GPU)">
  ];
  let statistics = [
    Statistic<"numKernelCalls", "num-kernel-calls",
              "Number of matmuls lowered to kernel calls">
  ];
}

def QNNLowerToGPUPass : Pass<"qnn-lower-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower weight-only int4 matmuls to QuantOpt's W4A16 GPU "
                "kernel (cp.async, ldmatrix, mma.sync)";
  let description = [{
    The first step of the GPU target. Every `qnn.weight_only_matmul` with a
    constant 4-bit weight whose layout the kernel supports becomes, at the
    tensor level:

    - the activations as f16 (`arith.truncf` for f32 models; bf16
      activations keep their type and take the bf16 variant of the kernel),
      read as `[M, K]` rows;
    - the weights packed at compile time into the order the kernel's
      tensor-core fragments read (int8 resource constants: the nibbles
      `[N/64][K/128][8][32 lanes][4]` words, and the scale / zero words
      `[N/64][K/g][64]`), and the bias as f32;
    - a launch of `@quantopt_kernels::@qgpu_w4a16_f16` (or `_bf16`) on the
      addresses
      of buffers taken with `bufferization.to_buffer` and of a fresh output
      buffer, with a grid of `(N/64, split-K, ceil(M/16))` computed at run
      time from M (split-K only for M <= 64, chosen so that about four
      blocks per SM of the chip run at M = 1);
    - the result converted back to the model's element type and shape.

    The launch is a `func.call` of a private declaration carrying a
    `qgpu.kernel` attribute until `qnn-gpu-materialize-launches` turns it
    into a `gpu.launch_func` after bufferization: the ownership-based
    deallocation pipeline rejects ops with unknown memory effects, which
    `gpu.launch_func` is, and a call keeps every buffer alive and ordered.

    The kernel itself (lib/Conversion/QNNToGPU/W4A16Kernel.mlir, gpu, nvvm
    and llvm ops) is added once as `gpu.module @quantopt_kernels`; its
    `qgpu.unroll` loops are fully unrolled here. Matmuls the kernel cannot
    take (8-bit weights, group sizes other than 32/64/128 or multiples of
    128 and per-channel, K not a multiple of 8, non-constant weights) are
    left to `qnn-lower-to-cpu{kernel-library=false}`, which makes them
    generic contractions; each lowered op gets a `qnn.kernel` attribute on
    its launch naming the kernel and the reason.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target GPU (sm_80, sm_86, sm_89, sm_90): its SM count sizes "
           "split-K">,
    Option<"stages", "stages", "int64_t", /*default=*/"4",
           "Depth of the kernel's cp.async pipeline (2-12)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let statistics = [
    Statistic<"numW4A16", "num-w4a16-kernels",
              "Number of matmuls lowered to the W4A16 kernel">,
    Statistic<"numMMA8", "num-mma8-kernels",
              "Number of matmuls lowered to the W8A8 / FP8 kernel">,
    Statistic<"numDynamicQuantize", "num-dynamic-quantize-kernels",
              "Number of dynamic quantizations lowered to the fused kernel">
  ];
}

def QNNMaterializeGPULaunchesPass
    : Pass<"qnn-gpu-materialize-launches", "::mlir::ModuleOp"> {
  let summary = "Turn qnn-lower-to-gpu's launch calls into gpu.launch_func";
  let description = [{
    Runs after bufferization and deallocation. Each `func.call` of a private
    function with a `qgpu.kernel` symbol attribute, with operands
    `(grid x, y, z, block x, y, z : index, dynamic shared bytes : i32,
    kernel arguments...)`, becomes a `gpu.launch_func` of that kernel (its
    `qnn.kernel` description is kept); the declarations are erased.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // QUANTOPT_CONVERSION_PASSES
