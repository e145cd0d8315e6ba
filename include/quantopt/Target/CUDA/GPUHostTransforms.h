//===- GPUHostTransforms.h - Host-side rewrites of the GPU target -*- C++ -*-=//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The steps of the CUDA target (docs/GPUBackend.md) that upstream MLIR does
// not provide: keeping constants off the host, mapping every loop nest of
// the model function onto a 1-D grid of 256-thread blocks, turning host
// memory ops into GPU runtime ops and rejecting what is left on the host.
// Each is a pass over the model's func.func.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H
#define QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace quantopt {

/// Threads per block of the generated elementwise / loop kernels.
constexpr int64_t kGPUBlockSize = 256;

/// Tensor level: splat constants become linalg.fill of an empty tensor (a
/// kernel fills device memory; nothing is stored in the bundle) and
/// non-splat i1 constants become i8 constants (weights) truncated by a
/// linalg.generic, so that every remaining tensor constant can be a weight.
std::unique_ptr<mlir::Pass> createGPUMaterializeConstantsPass();

/// Buffer level, before convert-linalg-to-parallel-loops: shape arithmetic
/// (isHostShapeComputation) becomes host loops, linalg ops without a
/// parallel dimension (rank 0, full reductions) are wrapped in a
/// one-iteration scf.parallel so that they run on the device too, and
/// memref.copy between non-identity layouts becomes linalg.copy (a kernel).
std::unique_ptr<mlir::Pass> createGPUPrepareLoopsPass();

/// Collapses every outermost scf.parallel to one dimension and tiles it by
/// kGPUBlockSize without min/max bounds, so that gpu-map-parallel-loops maps
/// the outer loop to blocks (grid.x) and the inner one to threads
/// (block.x).
std::unique_ptr<mlir::Pass> createGPUTileParallelLoopsPass();

/// memref.alloc/alloca -> gpu.alloc, memref.dealloc -> gpu.dealloc,
/// memref.copy -> gpu.memcpy in host functions (outside gpu.launch).
std::unique_ptr<mlir::Pass> createGPUHostMemoryToRuntimePass();

/// After kernel outlining: fails, naming the op and its ONNX node, if a
/// host function still reads or writes memref data or holds a constant
/// buffer in host memory.
std::unique_ptr<mlir::Pass> createGPUCheckHostDataAccessPass();

/// Whether `op` is shape arithmetic that runs on the host: a linalg op on
/// small static integer tensors or buffers (at most 64 elements), none of
/// them an argument of the model function (those are device data).
bool isHostShapeComputation(mlir::Operation *op);

/// Registers the passes above (quant-translate, tests).
void registerGPUHostTransformPasses();

} // namespace quantopt

#endif // QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H
