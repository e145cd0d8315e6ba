//===- QkBench.cpp - Machine limits and kernel timings --------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qk-bench prints one JSON object per line:
//  - {"kind":"peak",...}: int8 multiply-accumulate peak (independent
//    vpmaddwd on AVX2, vpdpbusd with AVX-512 VNNI), f32 FMA peak, per core
//    and for all threads;
//  - {"kind":"bandwidth",...}: DRAM read bandwidth, all threads streaming a
//    512 MiB buffer;
//  - {"kind":"qgemm"|"wo"|"sgemm",...}: median time of --iters runs after a
//    warm-up, with the fraction of the measured peak (qgemm, sgemm) or of
//    the bandwidth (wo: packed weight bytes / time).
//
// Usage: qk-bench [--threads T] [--iters N] [--no-limits | --limits-only]
//                 [--b7 (qgemm weights of 7 bits)]
//                 [--qgemm M,N,K]... [--wo M,N,K,bits,group]...
//                 [--sgemm M,N,K]...
// Without kernel options it runs the shapes of docs/CPUBackend.md's
// targets.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Runtime/Kernels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Runs fn(threadIndex) on `threads` threads at once and returns the wall
/// time.
double runThreads(int threads, const std::function<void(int)> &fn) {
  std::vector<std::thread> pool;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load())
        ;
      fn(t);
    });
  while (ready.load() < threads)
    ;
  start = Clock::now();
  go.store(true);
  for (auto &th : pool)
    th.join();
  return seconds(start, Clock::now());
}

//===----------------------------------------------------------------------===//
// Peaks
//===----------------------------------------------------------------------===//

constexpr int64_t kPeakIters = 20'000'000;

/// 12 independent vpmaddwd chains: 16 multiply-adds per instruction.
__attribute__((target("avx2"), noinline)) int64_t maddLoop(int64_t iters) {
  __m256i x[12];
  for (int i = 0; i < 12; ++i)
    x[i] = _mm256_set1_epi16(static_cast<short>(i + 1));
  const __m256i b = _mm256_set1_epi16(1);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) {
      x[i] = _mm256_madd_epi16(x[i], b);
      __asm__ volatile("" : "+x"(x[i]));
    }
  }
  __m256i s = x[0];
  for (int i = 1; i < 12; ++i)
    s = _mm256_add_epi32(s, x[i]);
  return _mm256_extract_epi32(s, 0);
}

/// The micro-kernel's pattern: acc += vpmaddwd(a, b), 12 accumulators.
__attribute__((target("avx2"), noinline)) int64_t maddAddLoop(int64_t iters) {
  __m256i acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm256_setzero_si256();
  __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5);
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile("" : "+x"(a), "+x"(b));
    for (int i = 0; i < 12; ++i)
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, b));
  }
  __m256i s = acc[0];
  for (int i = 1; i < 12; ++i)
    s = _mm256_add_epi32(s, acc[i]);
  return _mm256_extract_epi32(s, 0);
}

/// Throughput of vpmaddwd alone: 8 independent instructions per
/// iteration, written in asm so that the compiler neither keeps operands in
/// memory nor drops the unused results (with intrinsics on an array GCC
/// stored every result, which halved the measured rate).
__attribute__((target("avx2"), noinline)) int64_t maddIndepLoop(int64_t iters) {
  __m256i a0 = _mm256_set1_epi16(3), a1 = _mm256_set1_epi16(5);
  __m256i b = _mm256_set1_epi16(1);
  __m256i r0 = b, r1 = b, r2 = b, r3 = b, r4 = b, r5 = b, r6 = b, r7 = b;
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile("vpmaddwd %4, %5, %0\n\t"
                     "vpmaddwd %4, %6, %1\n\t"
                     "vpmaddwd %4, %5, %2\n\t"
                     "vpmaddwd %4, %6, %3\n\t"
                     : "=x"(r0), "=x"(r1), "=x"(r2), "=x"(r3)
                     : "x"(b), "x"(a0), "x"(a1));
    __asm__ volatile("vpmaddwd %4, %5, %0\n\t"
                     "vpmaddwd %4, %6, %1\n\t"
                     "vpmaddwd %4, %5, %2\n\t"
                     "vpmaddwd %4, %6, %3\n\t"
                     : "=x"(r4), "=x"(r5), "=x"(r6), "=x"(r7)
                     : "x"(b), "x"(a0), "x"(a1));
  }
  __m256i s = _mm256_add_epi32(_mm256_add_epi32(r0, r1),
                               _mm256_add_epi32(r2, r3));
  s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(r4, r5),
                                           _mm256_add_epi32(r6, r7)));
  return _mm256_extract_epi32(s, 0);
}

/// FMA throughput: 10 accumulators in registers (named, pinned by asm),
/// so 10 chains of latency ~4 cover 2 FMAs per cycle.
__attribute__((target("avx2,fma"), noinline)) float fmaRegLoop(int64_t iters) {
  __m256 x0 = _mm256_set1_ps(0.f), x1 = _mm256_set1_ps(1.f),
         x2 = _mm256_set1_ps(2.f), x3 = _mm256_set1_ps(3.f),
         x4 = _mm256_set1_ps(4.f), x5 = _mm256_set1_ps(5.f),
         x6 = _mm256_set1_ps(6.f), x7 = _mm256_set1_ps(7.f),
         x8 = _mm256_set1_ps(8.f), x9 = _mm256_set1_ps(9.f);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it) {
    x0 = _mm256_fmadd_ps(x0, a, b);
    x1 = _mm256_fmadd_ps(x1, a, b);
    x2 = _mm256_fmadd_ps(x2, a, b);
    x3 = _mm256_fmadd_ps(x3, a, b);
    x4 = _mm256_fmadd_ps(x4, a, b);
    x5 = _mm256_fmadd_ps(x5, a, b);
    x6 = _mm256_fmadd_ps(x6, a, b);
    x7 = _mm256_fmadd_ps(x7, a, b);
    x8 = _mm256_fmadd_ps(x8, a, b);
    x9 = _mm256_fmadd_ps(x9, a, b);
    __asm__("" : "+x"(x0), "+x"(x1), "+x"(x2), "+x"(x3), "+x"(x4), "+x"(x5),
            "+x"(x6), "+x"(x7), "+x"(x8), "+x"(x9));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x4, x5),
                                     _mm256_add_ps(x6, x7)));
  s = _mm256_add_ps(s, _mm256_add_ps(x8, x9));
  return _mm256_cvtss_f32(s);
}

/// 12 independent vpdpbusd chains: 64 multiply-adds per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) int64_t
dpbusdLoop(int64_t iters) {
  __m512i x[12];
  for (int i = 0; i < 12; ++i)
    x[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) {
      x[i] = _mm512_dpbusd_epi32(x[i], a, b);
      __asm__ volatile("" : "+v"(x[i]));
    }
  __m512i s = x[0];
  for (int i = 1; i < 12; ++i)
    s = _mm512_add_epi32(s, x[i]);
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  return lanes[0] + lanes[15];
}

/// 12 independent FMA chains: 16 flops per instruction.
__attribute__((target("avx2,fma"), noinline)) float fmaLoop(int64_t iters) {
  __m256 x[12];
  for (int i = 0; i < 12; ++i)
    x[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) {
      x[i] = _mm256_fmadd_ps(x[i], a, b);
      __asm__ volatile("" : "+x"(x[i]));
    }
  __m256 s = x[0];
  for (int i = 1; i < 12; ++i)
    s = _mm256_add_ps(s, x[i]);
  return _mm256_cvtss_f32(s);
}

std::atomic<int64_t> sink{0};

/// Best of 3 runs, in operations per second over all threads.
double peakRate(int threads, double opsPerIter,
                const std::function<int64_t(int64_t)> &loop) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double t = runThreads(threads, [&](int) { sink += loop(kPeakIters); });
    best = std::max(best, opsPerIter * kPeakIters * threads / t);
  }
  return best;
}

struct Limits {
  double macPeak = 0;   // int8 MAC/s, all threads
  double fmaPeak = 0;   // f32 flop/s, all threads
  double bandwidth = 0; // bytes/s
};

__attribute__((target("avx2"))) int64_t streamRead(const char *p,
                                                   size_t bytes) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256((const __m256i *)(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256((const __m256i *)(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256((const __m256i *)(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256((const __m256i *)(p + i + 96)));
  }
  s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  return _mm256_extract_epi64(s0, 0) + _mm256_extract_epi64(s0, 3);
}

Limits measureLimits(int threads) {
  Limits l;
  bool vnni = __builtin_cpu_supports("avx512vnni") &&
              __builtin_cpu_supports("avx512bw");
  auto madd = [](int64_t n) { return maddLoop(n); };
  auto dp = [](int64_t n) { return dpbusdLoop(n); };
  auto fma = [](int64_t n) { return static_cast<int64_t>(fmaLoop(n)); };
  const char *instr = vnni ? "vpdpbusd" : "vpmaddwd";
  double perInstr = vnni ? 64 * 12 : 16 * 12;
  std::function<int64_t(int64_t)> loop =
      vnni ? std::function<int64_t(int64_t)>(dp)
           : std::function<int64_t(int64_t)>(madd);
  double mac1 = peakRate(1, perInstr, loop);
  double macN = peakRate(threads, perInstr, loop);
  auto pair = [](int64_t n) { return maddAddLoop(n); };
  double pair1 = peakRate(1, 16 * 12, pair);
  if (!vnni) {
    // All three loops measure vpmaddwd throughput; the chained and the
    // madd + add forms have come out well below the independent one (GCC
    // spills their accumulator arrays), so the peak is the best of them.
    auto indep = [](int64_t n) { return maddIndepLoop(n); };
    mac1 = std::max({mac1, pair1, peakRate(1, 16 * 8, indep)});
    macN = std::max({macN, peakRate(threads, 16 * 12, pair),
                     peakRate(threads, 16 * 8, indep)});
  }
  auto fmaReg = [](int64_t n) { return static_cast<int64_t>(fmaRegLoop(n)); };
  double fma1 = std::max(peakRate(1, 16 * 12, fma), peakRate(1, 16 * 10, fmaReg));
  double fmaN = std::max(peakRate(threads, 16 * 12, fma),
                         peakRate(threads, 16 * 10, fmaReg));
  l.macPeak = macN;
  l.fmaPeak = fmaN;
  std::printf("{\"kind\":\"peak\",\"int8_instr\":\"%s\",\"threads\":%d,"
              "\"int8_gmacs_core\":%.1f,\"int8_gmacs_all\":%.1f,"
              "\"vpmaddwd_plus_vpaddd_gmacs_core\":%.1f,"
              "\"f32_gflops_core\":%.1f,\"f32_gflops_all\":%.1f}\n",
              instr, threads, mac1 / 1e9, macN / 1e9, pair1 / 1e9, fma1 / 1e9,
              fmaN / 1e9);
  std::fflush(stdout);

  const size_t bytes = size_t(512) << 20;
  char *buf = static_cast<char *>(std::aligned_alloc(4096, bytes));
  size_t slice = bytes / threads / 128 * 128;
  runThreads(threads,
             [&](int t) { std::memset(buf + t * slice, t + 1, slice); });
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    double t = runThreads(
        threads, [&](int i) { sink += streamRead(buf + i * slice, slice); });
    best = std::max(best, slice * threads / t);
  }
  std::free(buf);
  l.bandwidth = best;
  std::printf("{\"kind\":\"bandwidth\",\"threads\":%d,\"buffer_mib\":512,"
              "\"read_gbs\":%.2f}\n",
              threads, best / 1e9);
  std::fflush(stdout);
  return l;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

double medianTime(int iters, const std::function<void()> &fn) {
  fn(); // warm-up
  fn();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto a = Clock::now();
    fn();
    t.push_back(seconds(a, Clock::now()));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void *alignedAlloc(int64_t bytes) {
  return std::aligned_alloc(64, static_cast<size_t>((bytes + 63) / 64 * 64));
}

/// Weights of 7 bits (|b - 128| <= 64, as quantizers write them with
/// reduce_range) take qk_qgemm's vpmaddubsw path on AVX2.
bool weights7Bit = false;

void benchQGemm(int64_t M, int64_t N, int64_t K, int iters, const Limits &l) {
  std::vector<uint8_t> A(M * K), B(K * N);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = weights7Bit ? static_cast<uint8_t>(64 + (i * 13 + 1) % 128)
                       : static_cast<uint8_t>(i * 13 + 1);
  std::vector<float> bs(N, 0.01f);
  std::vector<int32_t> bias(N, 5);
  void *packed = alignedAlloc(qk_qgemm_packed_size(K, N));
  qk_qgemm_pack_b(B.data(), 1, K, N, nullptr, bs.data(), bias.data(), packed);
  std::vector<int8_t> C(M * N);
  uint8_t za = 128;
  float as = 0.02f, os = 0.1f;
  int8_t oz = 0;
  // The caller's workspace, allocated once, as generated code does per call.
  int64_t wsBytes = qk_qgemm_workspace_bytes(M, K, N);
  void *ws = alignedAlloc(wsBytes);
  double t = medianTime(iters, [&] {
    qk_qgemm(A.data(), M, 0, &za, &as, 0, packed, 1, 1, &os, &oz, C.data(), ws,
             wsBytes);
  });
  std::free(ws);
  double macs = double(M) * N * K / t;
  std::printf("{\"kind\":\"qgemm\",\"isa\":\"%s\",\"threads\":%d,\"M\":%lld,"
              "\"N\":%lld,\"K\":%lld,\"b7\":%s,\"ms\":%.3f,\"gops\":%.1f,"
              "\"gmacs\":%.1f,\"frac_peak\":%.3f}\n",
              qk_isa(), qk_get_num_threads(), (long long)M, (long long)N,
              (long long)K, weights7Bit ? "true" : "false", t * 1e3, 2 * macs / 1e9, macs / 1e9,
              l.macPeak > 0 ? macs / l.macPeak : 0.0);
  std::fflush(stdout);
  std::free(packed);
}

void benchWo(int64_t M, int64_t N, int64_t K, int bits, int64_t group,
             int iters, const Limits &l) {
  std::vector<int8_t> W(K * N);
  for (size_t i = 0; i < W.size(); ++i)
    W[i] = static_cast<int8_t>(bits == 4 ? int(i * 7 % 16) - 8
                                         : int(i * 13 % 256) - 128);
  int64_t G = group ? (K + group - 1) / group : 1;
  std::vector<float> sc(G * N, 0.01f);
  std::vector<int32_t> zp(G * N, 1);
  int64_t size = qk_wo_packed_size(K, N, bits, group);
  // Decode reads weights from DRAM (a model does not fit in L3): rotate
  // over copies totalling more than 3x the L3 size so no run finds its
  // weights cached.
  int64_t copies = std::max<int64_t>(2, (int64_t(96) << 20) / size + 1);
  std::vector<void *> packs(copies);
  packs[0] = alignedAlloc(size);
  qk_wo_pack(W.data(), 1, bits, K, N, group, sc.data(), zp.data(), packs[0]);
  for (int64_t i = 1; i < copies; ++i) {
    packs[i] = alignedAlloc(size);
    std::memcpy(packs[i], packs[0], static_cast<size_t>(size));
  }
  std::vector<float> A(M * K), C(M * N), bias(N, 0.5f);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = static_cast<float>(i % 17) * 0.1f - 0.8f;
  int64_t next = 0;
  int64_t wsBytes = qk_wo_workspace_bytes(M, K, bits, group);
  std::vector<char> ws(static_cast<size_t>(wsBytes));
  double t = medianTime(std::max(iters, 3 * static_cast<int>(copies)), [&] {
    qk_wo_matmul(A.data(), M, packs[next], bias.data(), C.data(), ws.data(),
                 wsBytes);
    next = (next + 1) % copies;
  });
  double gbs = size / t / 1e9;
  std::printf("{\"kind\":\"wo\",\"isa\":\"%s\",\"threads\":%d,\"M\":%lld,"
              "\"N\":%lld,\"K\":%lld,\"bits\":%d,\"group\":%lld,"
              "\"ms\":%.4f,\"packed_mb\":%.2f,\"gbs\":%.2f,"
              "\"frac_bw\":%.3f,\"gflops\":%.1f,\"frac_fma_peak\":%.3f}\n",
              qk_isa(), qk_get_num_threads(), (long long)M, (long long)N,
              (long long)K, bits, (long long)group, t * 1e3, size / 1e6, gbs,
              l.bandwidth > 0 ? gbs * 1e9 / l.bandwidth : 0.0,
              2.0 * M * N * K / t / 1e9,
              l.fmaPeak > 0 ? 2.0 * M * N * K / t / l.fmaPeak : 0.0);
  std::fflush(stdout);
  for (void *p : packs)
    std::free(p);
}

void benchSGemm(int64_t M, int64_t N, int64_t K, int iters, const Limits &l) {
  std::vector<float> A(M * K), B(K * N), C(M * N), bias(N, 0.1f);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = static_cast<float>(i % 13) * 0.01f;
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = static_cast<float>(i % 7) * 0.02f;
  void *packed = alignedAlloc(qk_sgemm_packed_size(K, N));
  qk_sgemm_pack_b(B.data(), K, N, packed);
  double t = medianTime(
      iters, [&] { qk_sgemm(A.data(), M, packed, bias.data(), 1, C.data()); });
  double flops = 2.0 * M * N * K / t;
  std::printf("{\"kind\":\"sgemm\",\"isa\":\"%s\",\"threads\":%d,\"M\":%lld,"
              "\"N\":%lld,\"K\":%lld,\"ms\":%.3f,\"gflops\":%.1f,"
              "\"frac_peak\":%.3f}\n",
              qk_isa(), qk_get_num_threads(), (long long)M, (long long)N,
              (long long)K, t * 1e3, flops / 1e9,
              l.fmaPeak > 0 ? flops / l.fmaPeak : 0.0);
  std::fflush(stdout);
  std::free(packed);
}

std::vector<int64_t> parseList(const char *s) {
  std::vector<int64_t> v;
  while (*s) {
    char *end;
    v.push_back(std::strtoll(s, &end, 10));
    s = *end == ',' ? end + 1 : end;
    if (end == s && *s)
      break;
  }
  return v;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: qk-bench [--threads T] [--iters N]"
               " [--no-limits | --limits-only] [--b7]\n"
               "  [--qgemm M,N,K]... [--wo M,N,K,bits,group]...\n"
               "  [--sgemm M,N,K]...\n");
  std::exit(2);
}

} // namespace

int main(int argc, char **argv) {
  int threads = 0, iters = 7;
  bool limits = true, limitsOnly = false;
  std::vector<std::vector<int64_t>> qgemms, wos, sgemms;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc)
        usage();
      return argv[++i];
    };
    if (a == "--threads")
      threads = std::atoi(next());
    else if (a == "--iters")
      iters = std::max(1, std::atoi(next()));
    else if (a == "--no-limits")
      limits = false;
    else if (a == "--limits-only")
      limitsOnly = true;
    else if (a == "--b7")
      weights7Bit = true;
    else if (a == "--qgemm")
      qgemms.push_back(parseList(next()));
    else if (a == "--wo")
      wos.push_back(parseList(next()));
    else if (a == "--sgemm")
      sgemms.push_back(parseList(next()));
    else
      usage();
  }
  for (auto &v : qgemms)
    if (v.size() != 3)
      usage();
  for (auto &v : wos)
    if (v.size() != 5)
      usage();
  for (auto &v : sgemms)
    if (v.size() != 3)
      usage();
  if (limitsOnly) {
    if (threads > 0)
      qk_set_num_threads(threads);
    measureLimits(qk_get_num_threads());
    return 0;
  }
  if (qgemms.empty() && wos.empty() && sgemms.empty()) {
    qgemms = {{256, 4096, 4096},
              {512, 4096, 4096},
              {2048, 4096, 4096},
              {256, 11008, 4096},
              {1, 4096, 4096}};
    for (int64_t m : {1, 16})
      for (auto nk :
           {std::vector<int64_t>{4096, 4096}, std::vector<int64_t>{11008, 4096},
            std::vector<int64_t>{4096, 11008}})
        for (int64_t g : {32, 128})
          wos.push_back({m, nk[0], nk[1], 4, g});
    wos.push_back({1, 4096, 4096, 8, 0});
    sgemms = {{512, 1024, 1024}, {1024, 4096, 1024}};
  }
  if (threads > 0)
    qk_set_num_threads(threads);
  int nt = qk_get_num_threads();
  Limits l;
  if (limits)
    l = measureLimits(nt);
  for (auto &v : qgemms)
    benchQGemm(v[0], v[1], v[2], iters, l);
  for (auto &v : wos)
    benchWo(v[0], v[1], v[2], static_cast<int>(v[3]), v[4], iters, l);
  for (auto &v : sgemms)
    benchSGemm(v[0], v[1], v[2], iters, l);
  return 0;
}
