//===- KernelTestUtils.h - Helpers for the kernel unit tests ----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TEST_RUNTIME_KERNELS_KERNELTESTUTILS_H
#define QUANTOPT_TEST_RUNTIME_KERNELS_KERNELTESTUTILS_H

#include "quantopt/Runtime/Kernels.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace quantopt::kernels::test {

/// The ISA paths (qk_force_isa codes) this CPU can run.
inline std::vector<int> availableIsas() {
  std::vector<int> isas;
  for (int isa = 1; isa <= 3; ++isa)
    if (qk_force_isa(isa))
      isas.push_back(isa);
  qk_force_isa(0);
  return isas;
}

/// Runs `fn` once per available ISA and thread count (1 and 2), restoring
/// the defaults afterwards; `fn` gets a label for failure messages.
template <typename Fn> void forEachConfig(Fn fn) {
  for (int isa : availableIsas()) {
    for (int threads : {1, 2}) {
      qk_force_isa(isa);
      qk_set_num_threads(threads);
      fn(std::string("isa=") + qk_isa() +
         " threads=" + std::to_string(threads));
    }
  }
  qk_force_isa(0);
  qk_set_num_threads(0);
}

/// A 64-byte aligned buffer for packed blobs.
struct AlignedBuffer {
  explicit AlignedBuffer(int64_t bytes)
      : ptr(static_cast<char *>(std::aligned_alloc(
            64, static_cast<size_t>((bytes + 63) / 64 * 64)))) {}
  ~AlignedBuffer() { std::free(ptr); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  char *ptr;
};

/// A kernel workspace of exactly `bytes` (what the kernel's size function
/// returned) at an address that is not 64-byte aligned (the kernels align
/// it themselves), followed by guard bytes: intact() says whether the
/// kernel stayed inside the bytes it was given.
struct GuardedWorkspace {
  static constexpr int64_t kGuard = 256;
  static constexpr int64_t kMisalign = 8;
  static constexpr unsigned char kPattern = 0xA5;
  explicit GuardedWorkspace(int64_t bytes)
      : storage(static_cast<size_t>(bytes + kMisalign + kGuard + 64)),
        bytes(bytes) {
    auto addr = reinterpret_cast<uintptr_t>(storage.data());
    ptr = storage.data() + ((64 - addr % 64) % 64) + kMisalign;
    for (int64_t i = 0; i < kGuard; ++i)
      ptr[bytes + i] = static_cast<char>(kPattern);
  }
  bool intact() const {
    for (int64_t i = 0; i < kGuard; ++i)
      if (static_cast<unsigned char>(ptr[bytes + i]) != kPattern)
        return false;
    return true;
  }
  std::vector<char> storage;
  char *ptr;
  int64_t bytes;
};

/// The code of the error the last kernel call reported (0 if none); clears
/// the calling thread's error slot.
inline int32_t takeErrorCode() {
  int32_t code = 0;
  qk_take_error_code(&code);
  return code;
}

/// Small deterministic generator (xorshift), independent of <random>'s
/// distributions so that values do not change across standard libraries.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  /// Uniform integer in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  /// Uniform float in [lo, hi).
  float uniform(float lo, float hi) {
    return lo + (hi - lo) *
                    static_cast<float>((next() >> 40) * (1.0 / (1ull << 24)));
  }
};

} // namespace quantopt::kernels::test

#endif // QUANTOPT_TEST_RUNTIME_KERNELS_KERNELTESTUTILS_H
