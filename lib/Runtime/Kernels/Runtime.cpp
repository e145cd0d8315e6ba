//===- Runtime.cpp - Dispatch, threads and workspaces of the kernels -----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// One process-wide llvm::StdThreadPool, created on first use and rebuilt
// when qk_set_num_threads changes the count. The caller of a kernel works
// too, so the pool holds numThreads - 1 workers.
//
//===----------------------------------------------------------------------===//

#include "KernelsInternal.h"
#include "quantopt/Runtime/Kernels.h"

#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

using namespace quantopt::kernels;

//===----------------------------------------------------------------------===//
// Packed headers
//===----------------------------------------------------------------------===//

void quantopt::kernels::writeHeader(void *packed, const char *magic,
                                    uint32_t version, uint32_t flags, int64_t K,
                                    int64_t N, int32_t bits,
                                    int64_t groupSize) {
  PackHeader h;
  std::memset(&h, 0, sizeof(h));
  std::memcpy(h.magic, magic, 8);
  h.version = version;
  h.flags = flags;
  h.K = K;
  h.N = N;
  h.bits = bits;
  h.groupSize = groupSize;
  std::memcpy(packed, &h, sizeof(h));
}

const PackHeader *quantopt::kernels::checkHeader(const void *packed,
                                                 const char *magic,
                                                 uint32_t version,
                                                 const char *kernel) {
  const auto *h = static_cast<const PackHeader *>(packed);
  if (std::memcmp(h->magic, magic, 8) == 0 && h->version == version)
    return h;
  reportError(QK_ERROR_BAD_PACKED_DATA, version, 0, kernel);
  return nullptr;
}

std::string
quantopt::kernels::checkPackedCommon(const PackHeader &h, int64_t size,
                                     uint32_t knownFlags,
                                     int64_t (*needed)(const PackHeader &h)) {
  constexpr int64_t kMaxDim = int64_t(1) << 31;
  if (h.K < 1 || h.K >= kMaxDim || h.N < 1 || h.N >= kMaxDim)
    return "its header says K = " + std::to_string(h.K) +
           ", N = " + std::to_string(h.N) + " (each must be in [1, 2^31))";
  if (h.flags & ~knownFlags)
    return "its header has unknown flags " + std::to_string(h.flags);
  int64_t bytes = needed(h);
  if (size < bytes)
    return "it is " + std::to_string(size) +
           " bytes, but its header (K = " + std::to_string(h.K) +
           ", N = " + std::to_string(h.N) + ") needs " + std::to_string(bytes);
  return "";
}

namespace {
const PackedLayout *const kPackedLayouts[] = {&kSGemmLayout, &kQGemmLayout,
                                              &kWeightOnlyLayout};
} // namespace

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int32_t> forcedIsa{0};

Isa detectIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return Isa::AVX512VNNI;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return Isa::AVX2;
  return Isa::Scalar;
}

Isa detectedIsa() {
  static const Isa isa = detectIsa();
  return isa;
}
} // namespace

Isa quantopt::kernels::activeIsa() {
  int32_t f = forcedIsa.load(std::memory_order_relaxed);
  return f ? static_cast<Isa>(f) : detectedIsa();
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

namespace {

/// Errors reported by kernels and generated code on this thread. A model
/// runs on the thread that called it (kernels fan out inside qk_* calls
/// only, and parallelFor hands its tasks' errors back to that thread), so
/// the runtime finds the errors of its run here.
struct ErrorSlot {
  int64_t count = 0;
  int32_t code = 0;
  int64_t value = 0, bound = 0;
  const char *what = nullptr;
  std::string message;

  void report(int32_t c, int64_t v, int64_t b, const char *w, int64_t n = 1) {
    if (count == 0) {
      code = c;
      value = v;
      bound = b;
      what = w;
    }
    count += n;
  }
};

thread_local ErrorSlot errorSlot;

/// The errors the tasks of one parallelFor reported on pool threads.
struct TaskErrors {
  std::mutex mutex;
  ErrorSlot first;
};

} // namespace

void quantopt::kernels::reportError(int32_t code, int64_t value, int64_t bound,
                                    const char *what) {
  errorSlot.report(code, value, bound, what);
}

namespace {
std::mutex poolMutex;
std::atomic<int> requestedThreads{0};
int poolWorkers = -1;
std::unique_ptr<llvm::StdThreadPool> pool;

int defaultThreads() {
  static const int n = std::max(
      1, static_cast<int>(llvm::hardware_concurrency().compute_thread_count()));
  return n;
}

/// The pool with numThreads() - 1 workers (never called for one thread).
llvm::StdThreadPool &getPool(int workers) {
  std::lock_guard<std::mutex> lock(poolMutex);
  if (!pool || poolWorkers != workers) {
    pool.reset();
    pool = std::make_unique<llvm::StdThreadPool>(
        llvm::hardware_concurrency(workers));
    poolWorkers = workers;
  }
  return *pool;
}
} // namespace

int quantopt::kernels::numThreads() {
  int n = requestedThreads.load(std::memory_order_relaxed);
  return n > 0 ? n : defaultThreads();
}

int quantopt::kernels::threadsFor(double work) {
  // ~2M multiply-adds is ~50 us on one core: below that a hand-off to the
  // pool costs more than it saves.
  int n = numThreads();
  if (work < 2.0e6)
    return 1;
  return std::max(1, std::min(n, static_cast<int>(work / 1.0e6)));
}

void quantopt::kernels::parallelFor(
    int64_t numTasks, int maxThreads,
    llvm::function_ref<void(int64_t task, int worker)> fn) {
  int64_t threads =
      std::min<int64_t>(std::min(maxThreads, numThreads()), numTasks);
  if (threads <= 1) {
    for (int64_t i = 0; i < numTasks; ++i)
      fn(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  TaskErrors errors;
  auto worker = [&](int id) {
    for (int64_t i = next.fetch_add(1); i < numTasks; i = next.fetch_add(1))
      fn(i, id);
  };
  // A pool thread hands its tasks' errors to the calling thread.
  auto pooled = [&](int id) {
    worker(id);
    ErrorSlot &slot = errorSlot;
    if (slot.count == 0)
      return;
    std::lock_guard<std::mutex> lock(errors.mutex);
    errors.first.report(slot.code, slot.value, slot.bound, slot.what,
                        slot.count);
    slot.count = 0;
  };
  llvm::StdThreadPool &p = getPool(numThreads() - 1);
  llvm::ThreadPoolTaskGroup group(p);
  for (int64_t t = 1; t < threads; ++t)
    group.async([&pooled, t] { pooled(static_cast<int>(t)); });
  worker(0);
  group.wait();
  if (errors.first.count > 0)
    errorSlot.report(errors.first.code, errors.first.value, errors.first.bound,
                     errors.first.what, errors.first.count);
}

//===----------------------------------------------------------------------===//
// Workspace
//===----------------------------------------------------------------------===//

int64_t quantopt::kernels::sizeAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t quantopt::kernels::sizeMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t quantopt::kernels::workspaceBytes(int64_t shared, int64_t perWorker,
                                          int64_t workers) {
  int64_t slice = sizeMul(ceilDiv(perWorker, kWorkspaceAlign), kWorkspaceAlign);
  return sizeAdd(sizeAdd(kWorkspaceAlign, roundUp(shared, kWorkspaceAlign)),
                 sizeMul(slice, std::max<int64_t>(workers, 1)));
}

Workspace quantopt::kernels::carveWorkspace(void *ptr, int64_t bytes,
                                            int64_t shared, int64_t perWorker,
                                            int wanted, const char *kernel) {
  Workspace w;
  auto addr = static_cast<int64_t>(reinterpret_cast<uintptr_t>(ptr));
  int64_t pad = roundUp(addr, kWorkspaceAlign) - addr;
  int64_t sharedBytes = roundUp(shared, kWorkspaceAlign);
  w.sliceBytes = roundUp(perWorker, kWorkspaceAlign);
  int64_t usable = ptr && bytes > pad ? bytes - pad - sharedBytes : -1;
  int64_t fit = usable < 0 ? 0
                : w.sliceBytes == 0
                    ? wanted
                    : std::min<int64_t>(wanted, usable / w.sliceBytes);
  if (fit < 1) {
    reportError(QK_ERROR_WORKSPACE_TOO_SMALL, bytes,
                workspaceBytes(shared, perWorker, 1), kernel);
    return Workspace();
  }
  w.shared = static_cast<char *>(ptr) + pad;
  w.slices = w.shared + sharedBytes;
  w.workers = static_cast<int>(fit);
  return w;
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

void qk_report_error(int32_t code, int64_t value, int64_t bound,
                     const char *what) {
  errorSlot.report(code, value, bound, what);
}

const char *qk_take_error_code(int32_t *code) {
  ErrorSlot &slot = errorSlot;
  if (code)
    *code = slot.count ? slot.code : 0;
  if (slot.count == 0)
    return nullptr;
  std::string what = slot.what ? slot.what : "generated code";
  char buf[256];
  const char *advice = "";
  if (slot.code == QK_ERROR_INDEX_OUT_OF_RANGE) {
    std::snprintf(buf, sizeof(buf),
                  ": index %lld is out of range for a dimension of size %lld "
                  "(valid indices are [%lld, %lld])",
                  static_cast<long long>(slot.value),
                  static_cast<long long>(slot.bound),
                  static_cast<long long>(-slot.bound),
                  static_cast<long long>(slot.bound - 1));
    advice = "; the input data is invalid for this model: check the "
             "indices fed to it";
  } else if (slot.code == QK_ERROR_OUT_OF_MEMORY) {
    std::snprintf(buf, sizeof(buf), ": out of memory allocating %lld bytes",
                  static_cast<long long>(slot.value));
    advice = "; free memory, or run smaller inputs or fewer threads";
  } else if (slot.code == QK_ERROR_WORKSPACE_TOO_SMALL) {
    std::snprintf(buf, sizeof(buf),
                  ": the caller's workspace of %lld bytes is too small (one "
                  "worker thread needs %lld)",
                  static_cast<long long>(slot.value),
                  static_cast<long long>(slot.bound));
    advice = "; the caller must pass at least the kernel's "
             "qk_*_workspace_bytes (a bug in the calling code: recompile "
             "the model with quant-compile)";
  } else if (slot.code == QK_ERROR_BAD_PACKED_DATA) {
    std::snprintf(buf, sizeof(buf),
                  ": a packed operand is not a layout version %lld blob of "
                  "this kernel",
                  static_cast<long long>(slot.value));
    advice = "; recompile the model with quant-compile";
  } else {
    std::snprintf(buf, sizeof(buf), ": run-time error %d (value %lld)",
                  static_cast<int>(slot.code),
                  static_cast<long long>(slot.value));
  }
  slot.message = what + buf;
  if (slot.count > 1)
    slot.message += "; " + std::to_string(slot.count - 1) +
                    (slot.code == QK_ERROR_INDEX_OUT_OF_RANGE
                         ? " more out-of-range reads in this run"
                         : " more errors in this run");
  slot.message += advice;
  slot.count = 0;
  return slot.message.c_str();
}

const char *qk_take_error(void) { return qk_take_error_code(nullptr); }

int32_t qk_check_packed(const void *blob, int64_t size,
                        const char *expected_kernel, char *reason,
                        int64_t reason_size) {
  auto refuse = [&](const std::string &why) {
    if (reason && reason_size > 0) {
      size_t n = std::min<size_t>(why.size(), reason_size - 1);
      std::memcpy(reason, why.data(), n);
      reason[n] = '\0';
    }
    return -1;
  };
  PackHeader h;
  std::memset(&h, 0, sizeof(h));
  if (blob && size >= kHeaderBytes)
    std::memcpy(&h, blob, sizeof(h));
  const PackedLayout *layout = nullptr;
  for (const PackedLayout *candidate : kPackedLayouts)
    if (std::memcmp(h.magic, candidate->magic, 8) == 0)
      layout = candidate;
  const PackedLayout *expected = nullptr;
  for (const PackedLayout *candidate : kPackedLayouts)
    if (expected_kernel && std::strcmp(expected_kernel, candidate->kernel) == 0)
      expected = candidate;
  if (!layout && !expected)
    return 0;
  if (expected && layout != expected)
    return refuse(std::string("it is not a packed operand of ") +
                  expected->kernel + " (its header magic is not '" +
                  expected->magic + "')");
  if (h.version != layout->version)
    return refuse(std::string("it is a '") + layout->magic +
                  "' blob of layout version " + std::to_string(h.version) +
                  ", but " + layout->kernel + " reads version " +
                  std::to_string(layout->version));
  std::string why = layout->check(h, size);
  if (!why.empty())
    return refuse(std::string("it is a packed operand of ") + layout->kernel +
                  ", but " + why);
  return 1;
}

void qk_set_num_threads(int32_t n) {
  requestedThreads.store(n > 0 ? n : 0, std::memory_order_relaxed);
}

int32_t qk_get_num_threads(void) { return numThreads(); }

const char *qk_isa(void) {
  switch (activeIsa()) {
  case Isa::AVX512VNNI:
    return "avx512vnni";
  case Isa::AVX2:
    return "avx2";
  default:
    return "scalar";
  }
}

int32_t qk_force_isa(int32_t isa) {
  if (isa < 0 || isa > 3)
    return 0;
  if (isa != 0 && isa > static_cast<int32_t>(detectedIsa()))
    return 0;
  forcedIsa.store(isa, std::memory_order_relaxed);
  return 1;
}

} // extern "C"
