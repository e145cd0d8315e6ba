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
// Each is a pass over the model's func.func (Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H
#define QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace quantopt {

/// Threads per block of the generated elementwise / loop kernels.
constexpr int64_t kGPUBlockSize = 256;

// The passes (qnn-materialize-gpu-constants, qnn-prepare-gpu-loops,
// qnn-tile-gpu-parallel-loops, qnn-convert-gpu-host-memory,
// qnn-check-gpu-host-data-access) are declared in Passes.h.

/// Whether `op` is shape arithmetic that runs on the host: a linalg op on
/// small static integer tensors or buffers (at most 64 elements), none of
/// them an argument of the model function (those are device data).
bool isHostShapeComputation(mlir::Operation *op);

} // namespace quantopt

#endif // QUANTOPT_TARGET_CUDA_GPUHOSTTRANSFORMS_H
