//===- Passes.td - QuantOpt conversion passes --------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_PASSES
#define QUANTOPT_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertQNNToCPUPass : Pass<"convert-qnn-to-cpu", "::mlir::ModuleOp"> {
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
      constant right operand become `qnn_cpu.kernel_call` ops, calls of
      the kernel library (`qk_*`, docs/CPUBackend.md) in destination-passing
      style that one-shot bufferization understands and
      `qnn-lower-kernel-calls` turns into `func.call`s. Their weights are
      packed at compile time into the layout the kernel reads, with column
      sums, scales and bias inside the
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
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::quantopt::qnn_cpu::QNNCPUDialect"
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

//===----------------------------------------------------------------------===//
// GPU (lib/Conversion/QNNToGPU)
//===----------------------------------------------------------------------===//

def ConvertQNNToGPUPass : Pass<"convert-qnn-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower quantized matmuls and dynamic quantization to "
                "QuantOpt's GPU kernels (W4A16, W8A8, dynamic quantize)";
  let description = [{
    The first step of the GPU target. It chooses a kernel for every
    quantized matmul and rewrites it, at the tensor level, into a launch of
    a hand-written kernel on buffer addresses:

    - `qnn.weight_only_matmul` with constant int4 weights: the W4A16 kernel
      (`@qgpu_w4a16_f16` / `_bf16`; f32 activations are rounded to f16),
      the weights packed at compile time into the order its tensor-core
      fragments read, split-K for M <= 64 sized by the chip's SM count;
    - `qnn.quantized_matmul` with a constant 8-bit (or int4) weight: the
      W8A8 kernel (`@qgpu_w8a8_u8` / `_s8`: mma.sync m16n8k32, 128x128
      tiles, cp.async pipeline, the op's epilogue fused: zero points,
      bias, scales, relu/gelu/silu, the next layer's quantize); with
      `kernel=w8a8-wgmma` (chip sm_90) its sm_90a warpgroup-MMA variant
      (`@qgpu_w8a8_wg_u8` / `_s8`: wgmma m64n128k32 on descriptor-addressed
      K-major shared tiles, the same epilogue);
    - fp8 layers, `matmul(dequantize(e4m3), dequantize(constant e4m3))`,
      on sm_89/sm_90: `@qgpu_fp8_e4m3` (e4m3 mma.sync, f32 accumulation,
      bias and activation fused);
    - `qnn.dynamic_quantize`: the fused range + quantization kernels
      (`@qgpu_dynq_rows` per token, `@qgpu_dynq_partials` and
      `@qgpu_dynq_tensor` per tensor), so W8A8 needs no calibration.

    The `kernel` option forces the choice: `generic` leaves every matmul
    to `convert-qnn-to-cpu{kernel-library=false}`; `w8a8` also runs int4
    weight-only matmuls with per-channel scales as W4A8 (per-token dynamic
    activations); `w8a8-wgmma` the same on the warpgroup variant;
    `w4a16` only the W4A16 kernel. A forced kernel a matmul
    cannot take is an error naming the matmul. Matmuls `auto` cannot give a
    kernel keep a `qnn.gpu_fallback` reason and are listed (node, reason)
    in the module's `qnn.gpu_fallbacks`, which the manifest reports.

    Launches are `func.call`s of private declarations carrying a
    `qgpu.kernel` attribute (and `qnn.kernel`: the choice and its reason)
    until `qnn-materialize-gpu-launches` turns them into
    `gpu.launch_func` after bufferization. The kernels' MLIR sources
    (lib/Conversion/QNNToGPU/*.mlir) are added once to
    `gpu.module @quantopt_kernels`, their helpers inlined and their
    `qgpu.unroll` loops unrolled.
  }];
  let options = [
    Option<"chip", "chip", "::quantopt::GPUChip",
           /*default=*/"::quantopt::GPUChip::SM90",
           "Target GPU: its SM count sizes split-K, its features decide "
           "which kernels exist", "QUANTOPT_GPU_CHIP_VALUES">,
    Option<"stages", "stages", "int64_t", /*default=*/"4",
           "Depth of the kernel's cp.async pipeline (2-12)">,
    Option<"kernel", "kernel", "::quantopt::GPUKernel",
           /*default=*/"::quantopt::GPUKernel::Auto",
           "Kernel for every quantized matmul: auto (from the scheme and the "
           "target), or forced: w4a16, w8a8 (int4 weight-only matmuls become "
           "W4A8 with per-token dynamic activations), w8a8-wgmma (as w8a8 on "
           "the sm_90a warpgroup-MMA kernel; chip sm_90), generic",
           "QUANTOPT_GPU_KERNEL_VALUES">,
    Option<"w4a8MinM", "w4a8-min-m", "int64_t", /*default=*/"0",
           "With kernel=auto, the M bucket boundary of per-channel int4 "
           "weight-only matmuls: with at least this many rows they run as "
           "W4A8 on the int8 kernel (activations quantized per token at run "
           "time), with fewer on the W4A16 kernel; decided at compile time "
           "for a static M and by a run-time branch on M otherwise. 0 (the "
           "default): W4A16 for every M">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::quantopt::qnn::QNNDialect"
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
    : Pass<"qnn-materialize-gpu-launches", "::mlir::ModuleOp"> {
  let summary = "Turn convert-qnn-to-gpu's launch calls into gpu.launch_func";
  let description = [{
    Runs after bufferization and deallocation. Each `func.call` of a private
    function with a `qgpu.kernel` symbol attribute, with operands
    `(grid x, y, z, block x, y, z : index, dynamic shared bytes : i32,
    kernel arguments...)`, becomes a `gpu.launch_func` of that kernel (its
    `qnn.kernel` description is kept); the declarations are erased.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

//===----------------------------------------------------------------------===//
// CPU target passes (after convert-qnn-to-cpu)
//===----------------------------------------------------------------------===//

def QNNLowerKernelCallsPass
    : Pass<"qnn-lower-kernel-calls", "::mlir::ModuleOp"> {
  let summary = "Turn bufferized qnn_cpu.kernel_call ops into calls of the "
                "qk_* kernels";
  let description = [{
    Runs after one-shot bufferization. Each `qnn_cpu.kernel_call` on
    buffers becomes a `func.call` of its `qk_*` kernel (declared once,
    private, in the module): buffers are passed as `!llvm.ptr` to their
    aligned data (`memref.extract_aligned_pointer_as_index`), other operands
    as they are, the outputs at the op's `out_position`. A kernel call still
    on tensors is an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect"
  ];
}

def QNNApproximateMathPass : Pass<"qnn-approximate-math"> {
  let summary = "Vectorizable polynomial approximations of erf, tanh and exp";
  let description = [{
    Replaces `math.erf`, `math.tanh` and `math.exp` by MLIR's polynomial
    approximations, so that loops of GELU, softmax and sigmoid vectorize
    instead of calling libm per element (within a few ulp of libm in f32,
    checked end to end against onnxruntime in test/e2e). On the GPU it also
    avoids libdevice.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def QNNFuseElementwiseBoundedPass
    : Pass<"qnn-fuse-elementwise-bounded", "::mlir::func::FuncOp"> {
  let summary = "Linalg elementwise fusion with a bound on the fused body size";
  let description = [{
    Upstream's linalg elementwise fusion (the same patterns, reshape
    propagation and folds, top-down) with a bound on the size of a fused
    body. Unbounded, fusing a chain of n elementwise ops clones a body that
    grows by one op per step: O(n^2) (a 20,000-op chain took 250 s). With
    the bound a chain becomes loops of at most `max-body-ops` ops each,
    which costs a memory round trip per bound-sized segment and nothing
    else.
  }];
  let options = [
    Option<"maxBodyOps", "max-body-ops", "int64_t", /*default=*/"256",
           "Largest fused body (ops in the producer's and the consumer's "
           "bodies together)">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // QUANTOPT_CONVERSION_PASSES
