//===- Passes.td - Passes of the CUDA target ---------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The steps of the GPU target (docs/GPUBackend.md) that upstream MLIR does
// not provide. Everything the entry function sees is a device pointer, so
// the host code may only allocate, copy, launch and free: these passes keep
// data off the host.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_PASSES
#define QUANTOPT_TARGET_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def QNNMaterializeGPUConstantsPass
    : Pass<"qnn-materialize-gpu-constants", "::mlir::func::FuncOp"> {
  let summary = "Splat tensor constants to fills, i1 constants to i8 + trunci";
  let description = [{
    Tensor level. Splat constants become `linalg.fill` of a `tensor.empty`
    (a kernel fills device memory; nothing is stored in the bundle) and
    non-splat i1 constants become i8 constants (weights) truncated by a
    `linalg.generic`, so that every remaining tensor constant can be a
    weight.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def QNNPrepareGPULoopsPass
    : Pass<"qnn-prepare-gpu-loops", "::mlir::func::FuncOp"> {
  let summary = "Give loop-less linalg ops and strided copies a parallel loop";
  let description = [{
    Buffer level, before `convert-linalg-to-parallel-loops`: shape
    arithmetic (small static integer linalg ops that no data computation
    reads) becomes host loops, linalg ops without a parallel dimension
    (rank 0, full reductions) are wrapped in a one-thread `gpu.launch` so
    that they run on the device too, and `memref.copy` between non-identity
    layouts becomes `linalg.copy` (a kernel).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::scf::SCFDialect"
  ];
}

def QNNTileGPUParallelLoopsPass
    : Pass<"qnn-tile-gpu-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Collapse outermost scf.parallel loops to 1-D and tile them "
                "by the block size";
  let description = [{
    Every outermost `scf.parallel` (outside `gpu.launch`) is collapsed to
    one dimension and tiled by 256 (kGPUBlockSize) without min/max bounds,
    so that `gpu-map-parallel-loops` maps the outer loop to blocks (grid.x,
    room for 2^31 blocks) and the inner one to threads (block.x).
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def QNNConvertGPUHostMemoryPass
    : Pass<"qnn-convert-gpu-host-memory", "::mlir::func::FuncOp"> {
  let summary = "memref.alloc/alloca/dealloc/copy on the host to gpu.alloc/"
                "dealloc/memcpy";
  let description = [{
    In public host functions, outside `gpu.launch`: allocations that a
    kernel or the caller can see become `gpu.alloc` (stack allocations are
    freed at the end of their block), their deallocations `gpu.dealloc`,
    copies `gpu.memcpy`. Buffers no kernel sees (the shape arithmetic of
    dynamic reshapes) stay in host memory, marked `quantopt.host_buffer`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def QNNCheckGPUHostDataAccessPass
    : Pass<"qnn-check-gpu-host-data-access", "::mlir::func::FuncOp"> {
  let summary = "Reject host code that touches device data";
  let description = [{
    After kernel outlining: fails, naming the op and its ONNX node, if a
    public host function still reads or writes memref data (other than
    host buffers), passes memrefs to a host function, or holds a constant
    buffer in host memory.
  }];
}

def QNNAttachNVVMTargetPass
    : Pass<"qnn-attach-nvvm-target", "::mlir::ModuleOp"> {
  let summary = "Attach the chip's NVVM target to every gpu.module (sm_90a "
                "where it uses warpgroup MMA)";
  let description = [{
    Every `gpu.module` gets the `#nvvm.target` of `chip` (replacing any
    target already there): the triple `nvptx64-nvidia-cuda`, the chip, the
    PTX ISA its features need (GPUTargetInfo: 8.0, 8.4 for fp8) and the
    optimization level `O`. A module holding `nvvm.wgmma.mma_async` (the
    `kernel=w8a8-wgmma` kernel) gets the arch-specific chip (`sm_90a`), the
    only one its warpgroup MMA assembles for.

    Upstream `nvvm-attach-target` does the same for one chip but does not
    suffice here: it chooses modules by name (a regex), not by what they
    contain; it appends to the targets already there instead of replacing
    them; and a wgmma module given the plain `sm_90` target fails
    verification right away, so no later pass can specialize it.
  }];
  let options = [
    Option<"chip", "chip", "::quantopt::GPUChip",
           /*default=*/"::quantopt::GPUChip::SM90", "Target GPU",
           "QUANTOPT_GPU_CHIP_VALUES">,
    Option<"optLevel", "O", "unsigned", /*default=*/"3",
           "Optimization level of the device code (0-3)">
  ];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

#endif // QUANTOPT_TARGET_CUDA_PASSES
