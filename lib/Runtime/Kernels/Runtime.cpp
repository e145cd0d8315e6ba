//===- Runtime.cpp - Dispatch, threads and scratch of the kernels ---------===//
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

const PackHeader &quantopt::kernels::checkHeader(const void *packed,
                                                 const char *magic,
                                                 uint32_t version,
                                                 const char *kernel) {
  const auto &h = *static_cast<const PackHeader *>(packed);
  if (std::memcmp(h.magic, magic, 8) != 0 || h.version != version) {
    std::fprintf(stderr,
                 "quantopt kernels: %s: the packed operand is not a layout "
                 "version %u '%s' blob (recompile the model with "
                 "quant-compile)\n",
                 kernel, version, magic);
    std::abort();
  }
  return h;
}

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

void quantopt::kernels::parallelFor(int64_t numTasks, int maxThreads,
                                    llvm::function_ref<void(int64_t)> fn) {
  int64_t threads =
      std::min<int64_t>(std::min(maxThreads, numThreads()), numTasks);
  if (threads <= 1) {
    for (int64_t i = 0; i < numTasks; ++i)
      fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t i = next.fetch_add(1); i < numTasks; i = next.fetch_add(1))
      fn(i);
  };
  llvm::StdThreadPool &p = getPool(numThreads() - 1);
  llvm::ThreadPoolTaskGroup group(p);
  for (int64_t t = 1; t < threads; ++t)
    group.async(worker);
  worker();
  group.wait();
}

//===----------------------------------------------------------------------===//
// Scratch
//===----------------------------------------------------------------------===//

namespace {
struct ScratchBuffer {
  void *ptr = nullptr;
  size_t size = 0;
  ~ScratchBuffer() { std::free(ptr); }
};
constexpr int kScratchSlots = 4;
thread_local ScratchBuffer scratchBuffers[kScratchSlots];
} // namespace

void *quantopt::kernels::scratch(int slot, size_t bytes) {
  ScratchBuffer &b = scratchBuffers[slot];
  if (b.size < bytes) {
    std::free(b.ptr);
    size_t size = std::max<size_t>(roundUp(bytes, 4096), 64 * 1024);
    b.ptr = std::aligned_alloc(64, size);
    if (!b.ptr) {
      std::fprintf(stderr, "quantopt kernels: out of memory (%zu bytes)\n",
                   size);
      std::abort();
    }
    b.size = size;
  }
  return b.ptr;
}

//===----------------------------------------------------------------------===//
// Error slot
//===----------------------------------------------------------------------===//

namespace {

/// Errors reported by generated code on this thread. A model runs on the
/// thread that called it (kernels fan out inside qk_* calls only), so the
/// runtime finds the errors of its run here.
struct ErrorSlot {
  int64_t count = 0;
  int32_t code = 0;
  int64_t value = 0, bound = 0;
  const char *what = nullptr;
  std::string message;
};

thread_local ErrorSlot errorSlot;

} // namespace

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

void qk_report_error(int32_t code, int64_t value, int64_t bound,
                     const char *what) {
  ErrorSlot &slot = errorSlot;
  if (slot.count++ == 0) {
    slot.code = code;
    slot.value = value;
    slot.bound = bound;
    slot.what = what;
  }
}

const char *qk_take_error(void) {
  ErrorSlot &slot = errorSlot;
  if (slot.count == 0)
    return nullptr;
  std::string what = slot.what ? slot.what : "generated code";
  char buf[256];
  if (slot.code == QK_ERROR_INDEX_OUT_OF_RANGE)
    std::snprintf(buf, sizeof(buf),
                  ": index %lld is out of range for a dimension of size %lld "
                  "(valid indices are [%lld, %lld])",
                  static_cast<long long>(slot.value),
                  static_cast<long long>(slot.bound),
                  static_cast<long long>(-slot.bound),
                  static_cast<long long>(slot.bound - 1));
  else
    std::snprintf(buf, sizeof(buf), ": run-time error %d (value %lld)",
                  static_cast<int>(slot.code),
                  static_cast<long long>(slot.value));
  slot.message = what + buf;
  if (slot.count > 1)
    slot.message += "; " + std::to_string(slot.count - 1) +
                    " more out-of-range reads in this run";
  slot.message += "; the input data is invalid for this model: check the "
                  "indices fed to it";
  slot.count = 0;
  return slot.message.c_str();
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
