//===- KernelsInternal.h - Shared helpers of the kernel library -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/Runtime/Kernels: the packed-blob header, ISA dispatch, the
// process-wide thread pool, the carving of caller-provided workspaces and
// the scalar activations
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

/// Runs fn(task, worker) for task in 0 .. numTasks-1 on up to `maxThreads`
/// threads (the caller included); tasks are handed out dynamically.
/// `worker` is in [0, min(maxThreads, numThreads(), numTasks)) and names
/// the thread running the task for the whole call (0 is the caller), so a
/// task can use the worker's slice of the kernel's workspace. maxThreads
/// <= 1 or a single task runs inline as worker 0.
void parallelFor(int64_t numTasks, int maxThreads,
                 llvm::function_ref<void(int64_t task, int worker)> fn);

/// Threads worth using for `work` multiply-adds (small problems stay on
/// the caller: a hand-off costs tens of microseconds).
int threadsFor(double work);

//===----------------------------------------------------------------------===//
// Workspace
//===----------------------------------------------------------------------===//
//
// The kernels never allocate: the caller passes a workspace (pointer and
// bytes) of at least the kernel's qk_*_workspace_bytes. A kernel aligns it
// to 64 bytes, keeps `shared` bytes for the whole call and gives each
// worker thread `perWorker` bytes (indexed by parallelFor's worker id).
//

constexpr int64_t kWorkspaceAlign = 64;

/// a + b and a * b for non-negative sizes, saturating at INT64_MAX (the
/// size functions never overflow; an absurd size fails to allocate).
int64_t sizeAdd(int64_t a, int64_t b);
int64_t sizeMul(int64_t a, int64_t b);

/// The bytes a size function returns: alignment padding, `shared`, and
/// `workers` slices of `perWorker` bytes (each rounded up to 64).
int64_t workspaceBytes(int64_t shared, int64_t perWorker, int64_t workers);

/// A workspace, aligned, cut into a shared part and per-worker slices.
struct Workspace {
  char *shared = nullptr;
  char *slices = nullptr;
  int64_t sliceBytes = 0;
  /// Workers the workspace covers (at most the `wanted` of carve).
  int workers = 0;
  char *slice(int worker) const { return slices + worker * sliceBytes; }
};

/// Cuts `bytes` at `ptr` into `shared` bytes and up to `wanted` worker
/// slices of `perWorker` bytes. If it cannot hold the shared part and one
/// slice, reports QK_ERROR_WORKSPACE_TOO_SMALL naming `kernel` (value: the
/// bytes given, bound: the bytes one worker needs) and returns workers = 0:
/// the kernel returns without writing its output. A workspace that covers
/// fewer than `wanted` workers (qk_set_num_threads raised the count after
/// the caller sized it) makes the kernel use fewer threads, not fail.
Workspace carveWorkspace(void *ptr, int64_t bytes, int64_t shared,
                         int64_t perWorker, int wanted, const char *kernel);

/// qk_qgemm on at most `maxThreads` threads (qk_qgemm_batched runs one per
/// batch item on its worker thread), and the bytes of its workspace for
/// `threads` worker threads on any ISA path (QGemm.cpp).
void qgemmImpl(const void *A, int64_t M, int32_t a_signed,
               const void *a_zero_point, const float *a_scale,
               int32_t a_per_row, const void *packedB, int32_t activation,
               int32_t out_type, const float *out_scale,
               const void *out_zero_point, void *C, void *workspace,
               int64_t workspace_bytes, int maxThreads);
int64_t qgemmWorkspaceBytes(int64_t M, int64_t K, int64_t N, int threads);

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
