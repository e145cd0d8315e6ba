//===- Passes.h - Passes and pipelines of the CUDA target -------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_PASSES_H
#define QUANTOPT_TARGET_CUDA_PASSES_H

#include "quantopt/Target/CUDA/GPUTargetInfo.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace quantopt {

#define GEN_PASS_DECL
#include "quantopt/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantopt/Target/CUDA/Passes.h.inc"

/// Registers the passes above, the GPU pipelines (qnn-gpu-*-pipeline,
/// CUDATarget.h) and the upstream passes those pipelines use, so that
/// `quant-opt --dump-pass-pipeline` output parses back.
void registerCUDATargetPasses();

} // namespace quantopt

#endif // QUANTOPT_TARGET_CUDA_PASSES_H
