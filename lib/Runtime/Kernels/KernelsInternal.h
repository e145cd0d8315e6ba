//===- KernelsInternal.h - Shared helpers of the kernel library -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/Runtime/Kernels: the packed-blob header, ISA dispatch, the
// process-wide thread pool, per-thread scratch and the scalar activations
// every path shares (so that f32 epilogues agree bit for bit).
//
// ISA-specific code is compiled with per-function target attributes (never
// with -mavx2 for a whole file) so that the library runs on any x86-64 CPU
// and inline functions from headers are never emitted with AVX2 code.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_KERNELS_KERNELSINTERNAL_H
#define QUANTOPT_LIB_RUNTIME_KERNELS_KERNELSINTERNAL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#define QK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QK_AVX512VNNI                                                          \
  __attribute__((                                                              \
      target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

namespace quantopt::kernels {

//===----------------------------------------------------------------------===//
// Packed blobs
//===----------------------------------------------------------------------===//

/// Every packed blob starts with this 64-byte header.
struct PackHeader {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  int64_t K;
  int64_t N;
  int32_t bits;
  int32_t reserved0;
  int64_t groupSize;
  int64_t reserved1[2];
};
static_assert(sizeof(PackHeader) == 64, "packed header must be 64 bytes");

constexpr int64_t kHeaderBytes = 64;

inline int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t ceilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

/// Writes a header with `magic` (7 characters + NUL).
void writeHeader(void *packed, const char *magic, uint32_t version,
                 uint32_t flags, int64_t K, int64_t N, int32_t bits = 0,
                 int64_t groupSize = 0);
/// Checks magic and version. On a mismatch, reports
/// QK_ERROR_BAD_PACKED_DATA naming `kernel` to the calling thread's error
/// slot and returns null: the kernel returns without writing its output and
/// the run fails with the message. (The loader checks every packed blob of
/// a bundle first, see qk_check_packed; this is the last line.)
const PackHeader *checkHeader(const void *packed, const char *magic,
                              uint32_t version, const char *kernel);

/// Reports a kernel error to the calling thread's error slot (see
/// qk_report_error); `what` must outlive the run (a string constant).
/// Errors reported on a pool thread inside parallelFor reach the thread
/// that called parallelFor.
void reportError(int32_t code, int64_t value, int64_t bound, const char *what);

/// A kernel's packed layout: its header magic and version, and a check of a
/// header against the size of the blob it starts (the loader's check of
/// every packed weight, qk_check_packed).
struct PackedLayout {
  /// 7 characters + NUL.
  const char *magic;
  uint32_t version;
  /// The kernel that reads the layout ("qk_sgemm").
  const char *kernel;
  /// Empty if `h` (magic and version already matched) describes a blob of
  /// `size` bytes that the kernel can run, else what is wrong.
  std::string (*check)(const PackHeader &h, int64_t size);
};

/// SGemm.cpp, QGemm.cpp, WeightOnly.cpp.
extern const PackedLayout kSGemmLayout, kQGemmLayout, kWeightOnlyLayout;

/// The checks every layout shares: K and N in [1, 2^31), the flags within
/// `knownFlags`, and `size` at least `needed` bytes (needed is computed only
/// when the dims are valid). Empty if they hold.
std::string checkPackedCommon(const PackHeader &h, int64_t size,
                              uint32_t knownFlags,
                              int64_t (*needed)(const PackHeader &h));

//===----------------------------------------------------------------------===//
// Dispatch and threads
//===----------------------------------------------------------------------===//

enum class Isa : int32_t { Scalar = 1, AVX2 = 2, AVX512VNNI = 3 };

/// The path kernels take now (forced or detected).
Isa activeIsa();

/// Threads kernels may use.
int numThreads();

/// Runs fn(0 .. numTasks-1) on up to `maxThreads` threads (the caller
/// included); tasks are handed out dynamically. maxThreads <= 1 or a single
/// task runs inline.
void parallelFor(int64_t numTasks, int maxThreads,
                 llvm::function_ref<void(int64_t)> fn);

/// Threads worth using for `work` multiply-adds (small problems stay on
/// the caller: a hand-off costs tens of microseconds).
int threadsFor(double work);

/// Per-thread 64-byte-aligned scratch; `slot` selects one of a few
/// independent buffers. Contents are unspecified. Null if it cannot be
/// allocated: then QK_ERROR_OUT_OF_MEMORY has been reported (the caller
/// returns without computing, and the run fails with QRT_ERROR_OUT_OF_MEMORY).
void *scratch(int slot, size_t bytes);

/// The scratch slots: packed A rows and the int32 tile of qk_qgemm, the
/// run-time packed B of qk_sgemm_batched and qk_qgemm_batched, and the
/// prepared activations of qk_wo_matmul.
enum ScratchSlot : int {
  kScratchQGemmA = 0,
  kScratchQGemmTile = 1,
  kScratchSGemmPanels = 2,
  kScratchWeightOnlyActs = 3,
  kScratchPackedB = 4,
  kNumScratchSlots = 5
};

//===----------------------------------------------------------------------===//
// Activations (shared scalar definitions)
//===----------------------------------------------------------------------===//

enum Activation : int32_t {
  ActNone = 0,
  ActRelu = 1,
  ActGelu = 2,
  ActSilu = 3
};

inline float applyActivation(float r, int32_t act) {
  switch (act) {
  case ActRelu:
    return r > 0.0f ? r : 0.0f;
  case ActGelu:
    return 0.5f * r * (1.0f + std::erf(r * 0.70710678118654752440f));
  case ActSilu:
    return r / (1.0f + std::exp(-r));
  default:
    return r;
  }
}

} // namespace quantopt::kernels

#endif // QUANTOPT_LIB_RUNTIME_KERNELS_KERNELSINTERNAL_H
