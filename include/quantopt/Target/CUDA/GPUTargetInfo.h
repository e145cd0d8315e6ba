//===- GPUTargetInfo.h - The facts about each supported GPU -----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The one place for what QuantOpt knows about a GPU: its name, compute
// capability, SM count, the tensor-core and copy features the hand-written
// kernels need, shared memory and the PTX ISA its code is emitted for. The
// GPU lowering (convert-qnn-to-gpu: kernel choice, split-K) and the CUDA
// target (NVVM target, manifest) both read it. Also the typed `chip` and
// `kernel` pass options (an unknown value is rejected by the option parser
// with the list of the valid ones).
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_GPUTARGETINFO_H
#define QUANTOPT_TARGET_CUDA_GPUTARGETINFO_H

#include "quantopt/Dialect/QNN/Transforms/QuantScheme.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/ErrorHandling.h"

#include <cstdint>
#include <optional>
#include <string>

namespace quantopt {

/// The GPUs quant-compile --target accepts.
enum class GPUChip { SM80, SM86, SM89, SM90 };

/// The kernel of every quantized matmul (convert-qnn-to-gpu's `kernel`).
enum class GPUKernel { Auto, W4A16, W8A8, W8A8WGMMA, Generic };

struct GPUTargetInfo {
  GPUChip chip;
  /// "sm_90".
  llvm::StringLiteral name;
  /// 90 for sm_90.
  int computeCapability;
  /// Streaming multiprocessors of the reference part (A100, A10/RTX 3090
  /// class, L40/RTX 4090 class, H100 SXM): sizes the W4A16 kernel's split-K.
  int64_t smCount;
  /// Largest dynamic shared memory of one block (opt-in), in bytes.
  int64_t maxSharedMemoryPerBlock;
  /// cp.async, ldmatrix and int8/f16/bf16 mma.sync (sm_80+).
  bool cpAsync;
  /// float8 e4m3 mma.sync and cvt (sm_89+).
  bool fp8;
  /// Warpgroup MMA (wgmma), on the arch-specific target only (sm_90a).
  bool wgmma;
  /// The PTX ISA of the chip's code: 8.0 (CUDA 12.0) is what mma.sync,
  /// ldmatrix and cp.async need; fp8 mma.sync (e4m3) needs 8.4 (CUDA 12.4).
  llvm::StringLiteral ptxFeatures;

  /// "sm_90a": the arch-specific target that wgmma code needs.
  std::string archSpecificName() const { return name.str() + "a"; }
};

/// Every supported GPU, oldest first.
inline llvm::ArrayRef<GPUTargetInfo> getGPUTargets() {
  static const GPUTargetInfo targets[] = {
      {GPUChip::SM80, "sm_80", 80, 108, 166912, true, false, false, "+ptx80"},
      {GPUChip::SM86, "sm_86", 86, 84, 101376, true, false, false, "+ptx80"},
      {GPUChip::SM89, "sm_89", 89, 128, 101376, true, true, false, "+ptx84"},
      {GPUChip::SM90, "sm_90", 90, 132, 232448, true, true, true, "+ptx84"},
  };
  return targets;
}

inline const GPUTargetInfo &getGPUTargetInfo(GPUChip chip) {
  for (const GPUTargetInfo &t : getGPUTargets())
    if (t.chip == chip)
      return t;
  llvm_unreachable("every GPUChip has a GPUTargetInfo");
}

/// The target named `name` ("sm_90"), or null.
inline const GPUTargetInfo *lookupGPUTarget(llvm::StringRef name) {
  for (const GPUTargetInfo &t : getGPUTargets())
    if (t.name == name)
      return &t;
  return nullptr;
}

/// The option spelling of `kernel` ("w8a8-wgmma").
inline llvm::StringRef stringifyGPUKernel(GPUKernel kernel) {
  switch (kernel) {
  case GPUKernel::Auto:
    return "auto";
  case GPUKernel::W4A16:
    return "w4a16";
  case GPUKernel::W8A8:
    return "w8a8";
  case GPUKernel::W8A8WGMMA:
    return "w8a8-wgmma";
  case GPUKernel::Generic:
    return "generic";
  }
  llvm_unreachable("unknown GPUKernel");
}

/// The kernel spelled `name`, or std::nullopt.
inline std::optional<GPUKernel> parseGPUKernel(llvm::StringRef name) {
  for (GPUKernel k : {GPUKernel::Auto, GPUKernel::W4A16, GPUKernel::W8A8,
                      GPUKernel::W8A8WGMMA, GPUKernel::Generic})
    if (stringifyGPUKernel(k) == name)
      return k;
  return std::nullopt;
}

} // namespace quantopt

// The spellings of the enums, for the pass and pipeline options.
#define QUANTOPT_GPU_CHIP_VALUES                                               \
  ::llvm::cl::values(                                                          \
      clEnumValN(::quantopt::GPUChip::SM80, "sm_80", "A100 (Ampere)"),         \
      clEnumValN(::quantopt::GPUChip::SM86, "sm_86", "A10, RTX 30xx"),         \
      clEnumValN(::quantopt::GPUChip::SM89, "sm_89", "L4, L40, RTX 40xx"),     \
      clEnumValN(::quantopt::GPUChip::SM90, "sm_90", "H100, H200 (Hopper)"))
#define QUANTOPT_GPU_KERNEL_VALUES                                             \
  ::llvm::cl::values(                                                          \
      clEnumValN(::quantopt::GPUKernel::Auto, "auto",                          \
                 "from the scheme and the target"),                            \
      clEnumValN(::quantopt::GPUKernel::W4A16, "w4a16", "the W4A16 kernel"),   \
      clEnumValN(::quantopt::GPUKernel::W8A8, "w8a8",                          \
                 "the int8 kernel (int4 weight-only matmuls as W4A8)"),        \
      clEnumValN(::quantopt::GPUKernel::W8A8WGMMA, "w8a8-wgmma",               \
                 "as w8a8 on the sm_90a warpgroup-MMA kernel"),                \
      clEnumValN(::quantopt::GPUKernel::Generic, "generic",                    \
                 "no hand-written kernel"))

template <>
struct mlir::detail::PassOptions::GenericOptionParser<quantopt::GPUChip>
    : public quantopt::qnn::ListingEnumParser<quantopt::GPUChip> {
  using quantopt::qnn::ListingEnumParser<quantopt::GPUChip>::ListingEnumParser;
};
template <>
struct mlir::detail::PassOptions::GenericOptionParser<quantopt::GPUKernel>
    : public quantopt::qnn::ListingEnumParser<quantopt::GPUKernel> {
  using quantopt::qnn::ListingEnumParser<
      quantopt::GPUKernel>::ListingEnumParser;
};

#endif // QUANTOPT_TARGET_CUDA_GPUTARGETINFO_H
