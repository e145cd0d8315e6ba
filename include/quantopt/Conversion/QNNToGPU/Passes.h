//===- Passes.h - Passes of the GPU lowering --------------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOGPU_PASSES_H
#define QUANTOPT_CONVERSION_QNNTOGPU_PASSES_H

#include "quantopt/Target/CUDA/GPUTargetInfo.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace quantopt {

#define GEN_PASS_DECL
#include "quantopt/Conversion/QNNToGPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantopt/Conversion/QNNToGPU/Passes.h.inc"

} // namespace quantopt

#endif // QUANTOPT_CONVERSION_QNNTOGPU_PASSES_H
