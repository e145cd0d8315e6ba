//===- SGemm.cpp - f32 GEMM with a bias and activation epilogue -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Packed B: panels of 16 columns, [N/16][K][16] floats (zero padded). The
// AVX2 micro-kernel holds a 6 x 16 tile in 12 ymm accumulators and reads A
// in place (one broadcast per row and k). K is blocked by 256 so a B slice
// (16 KiB) stays in L1 while the row tiles of a task sweep over it; partial
// sums live in C between K blocks and the epilogue (bias, activation) runs
// with the last block.
//
//===----------------------------------------------------------------------===//

#include "KernelsInternal.h"
#include "quantopt/Runtime/Kernels.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

using namespace quantopt::kernels;

namespace {

constexpr char kMagic[8] = "QKSGEMM";
constexpr uint32_t kVersion = 1;
constexpr int64_t kPanel = 16;
constexpr int64_t kKc = 256;
constexpr int64_t kNc = 256;
constexpr int64_t kMc = 72;

int64_t packedBytes(int64_t K, int64_t N) {
  return kHeaderBytes + roundUp(N, kPanel) * K * 4;
}

void packPanels(const float *B, int64_t K, int64_t N, int64_t ldb,
                float *panels) {
  int64_t np = ceilDiv(N, kPanel);
  for (int64_t p = 0; p < np; ++p) {
    float *dst = panels + p * K * kPanel;
    int64_t n0 = p * kPanel;
    int64_t cols = std::min(kPanel, N - n0);
    for (int64_t k = 0; k < K; ++k) {
      const float *src = B + k * ldb + n0;
      int64_t c = 0;
      for (; c < cols; ++c)
        dst[k * kPanel + c] = src[c];
      for (; c < kPanel; ++c)
        dst[k * kPanel + c] = 0.0f;
    }
  }
}

struct SProblem {
  const float *A;
  int64_t M, K, N;
  const float *panels;
  const float *bias;
  int32_t act;
  float *C;
};

/// Epilogue on a finished row segment of C.
void finishScalar(float *c, const float *bias, int64_t cols, int32_t act) {
  for (int64_t j = 0; j < cols; ++j) {
    float v = c[j] + (bias ? bias[j] : 0.0f);
    c[j] = applyActivation(v, act);
  }
}

void microScalar(const SProblem &p, int64_t m0, int mr, int64_t n0, int cols,
                 int64_t k0, int64_t kc, bool accumulate, bool last) {
  const float *bp = p.panels + (n0 / kPanel) * p.K * kPanel + k0 * kPanel;
  for (int i = 0; i < mr; ++i) {
    const float *a = p.A + (m0 + i) * p.K + k0;
    float *c = p.C + (m0 + i) * p.N + n0;
    for (int j = 0; j < cols; ++j) {
      float s = accumulate ? c[j] : 0.0f;
      for (int64_t k = 0; k < kc; ++k)
        s += a[k] * bp[k * kPanel + j];
      c[j] = s;
    }
    if (last)
      finishScalar(c, p.bias ? p.bias + n0 : nullptr, cols, p.act);
  }
}

template <int MR>
QK_AVX2 void microAVX2(const SProblem &p, int64_t m0, int64_t n0, int cols,
                       int64_t k0, int64_t kc, bool accumulate, bool last) {
  const float *bp = p.panels + (n0 / kPanel) * p.K * kPanel + k0 * kPanel;
  const float *a = p.A + m0 * p.K + k0;
  const int64_t lda = p.K;
  static_assert(MR >= 1 && MR <= 6, "6 rows at most");
  // Named accumulators pinned to registers: with an array, GCC stored
  // every accumulator to the stack after each FMA (12 stores per k, twice
  // the FMA time).
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
         c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00,
         c51 = c00;
  auto row = [](const float *ai, __m256 b0, __m256 b1, __m256 &lo, __m256 &hi)
                 QK_AVX2 {
                   const __m256 va = _mm256_broadcast_ss(ai);
                   lo = _mm256_fmadd_ps(va, b0, lo);
                   hi = _mm256_fmadd_ps(va, b1, hi);
                 };
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(bp + k * kPanel);
    const __m256 b1 = _mm256_loadu_ps(bp + k * kPanel + 8);
    row(a + k, b0, b1, c00, c01);
    if constexpr (MR > 1)
      row(a + lda + k, b0, b1, c10, c11);
    if constexpr (MR > 2)
      row(a + 2 * lda + k, b0, b1, c20, c21);
    if constexpr (MR > 3)
      row(a + 3 * lda + k, b0, b1, c30, c31);
    if constexpr (MR > 4)
      row(a + 4 * lda + k, b0, b1, c40, c41);
    if constexpr (MR > 5)
      row(a + 5 * lda + k, b0, b1, c50, c51);
    __asm__(""
            : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20), "+x"(c21),
              "+x"(c30), "+x"(c31), "+x"(c40), "+x"(c41), "+x"(c50), "+x"(c51));
  }
  __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                      {c30, c31}, {c40, c41}, {c50, c51}};
  alignas(32) float tmp[16];
  for (int i = 0; i < MR; ++i) {
    float *c = p.C + (m0 + i) * p.N + n0;
    __m256 r0 = acc[i][0], r1 = acc[i][1];
    if (cols == kPanel) {
      if (accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(c));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(c + 8));
      }
      if (last && p.bias) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(p.bias + n0));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(p.bias + n0 + 8));
      }
      if (last && p.act == ActRelu) {
        r0 = _mm256_max_ps(r0, _mm256_setzero_ps());
        r1 = _mm256_max_ps(r1, _mm256_setzero_ps());
      }
      _mm256_storeu_ps(c, r0);
      _mm256_storeu_ps(c + 8, r1);
      if (last && (p.act == ActGelu || p.act == ActSilu))
        for (int j = 0; j < cols; ++j)
          c[j] = applyActivation(c[j], p.act);
      continue;
    }
    _mm256_store_ps(tmp, r0);
    _mm256_store_ps(tmp + 8, r1);
    for (int j = 0; j < cols; ++j)
      c[j] = accumulate ? c[j] + tmp[j] : tmp[j];
    if (last)
      finishScalar(c, p.bias ? p.bias + n0 : nullptr, cols, p.act);
  }
}

using MicroFn = void (*)(const SProblem &, int64_t, int64_t, int, int64_t,
                         int64_t, bool, bool);
const MicroFn microAVX2Table[7] = {nullptr,      microAVX2<1>, microAVX2<2>,
                                   microAVX2<3>, microAVX2<4>, microAVX2<5>,
                                   microAVX2<6>};

/// C for rows [m0, m0+rows) and columns [n0, n0+cols).
void runBlock(const SProblem &p, Isa isa, int64_t m0, int64_t rows, int64_t n0,
              int64_t cols) {
  if (p.K == 0) {
    for (int64_t m = m0; m < m0 + rows; ++m) {
      float *c = p.C + m * p.N + n0;
      std::fill(c, c + cols, 0.0f);
      finishScalar(c, p.bias ? p.bias + n0 : nullptr, cols, p.act);
    }
    return;
  }
  for (int64_t k0 = 0; k0 < p.K; k0 += kKc) {
    int64_t kc = std::min(kKc, p.K - k0);
    bool accumulate = k0 > 0, last = k0 + kc >= p.K;
    for (int64_t n = n0; n < n0 + cols; n += kPanel) {
      int nc = static_cast<int>(std::min(kPanel, n0 + cols - n));
      for (int64_t m = m0; m < m0 + rows; m += 6) {
        int mr = static_cast<int>(std::min<int64_t>(6, m0 + rows - m));
        if (isa == Isa::Scalar)
          microScalar(p, m, mr, n, nc, k0, kc, accumulate, last);
        else
          microAVX2Table[mr](p, m, n, nc, k0, kc, accumulate, last);
      }
    }
  }
}

void runSGemm(const SProblem &p, int maxThreads) {
  Isa isa = activeIsa();
  int threads =
      std::min(maxThreads, threadsFor(static_cast<double>(p.M) * p.N * p.K));
  int64_t mc = std::min<int64_t>(kMc, p.M);
  int64_t mBlocks = ceilDiv(p.M, mc);
  int64_t nc = kNc;
  if (threads > 1 && mBlocks < 4 * threads)
    nc = std::max(
        kPanel,
        std::min(kNc,
                 roundUp(ceilDiv(p.N, ceilDiv(4 * threads, mBlocks)), kPanel)));
  int64_t nBlocks = ceilDiv(p.N, nc);
  parallelFor(mBlocks * nBlocks, threads, [&](int64_t t, int) {
    int64_t m0 = t / nBlocks * mc, n0 = t % nBlocks * nc;
    runBlock(p, isa, m0, std::min(mc, p.M - m0), n0, std::min(nc, p.N - n0));
  });
}

/// Packed panels of one [K,N] right operand of qk_sgemm_batched (and 64
/// bytes the micro-kernel may read past the last panel).
int64_t panelBytes(int64_t K, int64_t N) {
  return sizeAdd(sizeMul(sizeMul(roundUp(N, kPanel), K), 4), 64);
}

/// How qk_sgemm_batched spreads its work. Many small products (attention
/// heads): one product per task on `threads` threads, each with its own
/// packed panels. Few large ones: each product uses every thread and one
/// set of panels.
struct BatchedPlan {
  bool perItem;
  int threads;
};

BatchedPlan planBatched(int64_t batch, int64_t M, int64_t K, int64_t N) {
  double work = static_cast<double>(M) * N * K;
  int threads = threadsFor(work * batch);
  return BatchedPlan{threads > 1 && batch >= threads && work < 64.0e6, threads};
}

} // namespace

extern "C" {

int64_t qk_sgemm_packed_size(int64_t K, int64_t N) { return packedBytes(K, N); }

void qk_sgemm_pack_b(const float *B, int64_t K, int64_t N, void *packed) {
  writeHeader(packed, kMagic, kVersion, 0, K, N);
  packPanels(
      B, K, N, N,
      reinterpret_cast<float *>(static_cast<char *>(packed) + kHeaderBytes));
}

void qk_sgemm(const float *A, int64_t M, const void *packedB, const float *bias,
              int32_t activation, float *C) {
  const PackHeader *header = checkHeader(packedB, kMagic, kVersion, "qk_sgemm");
  if (!header)
    return;
  const PackHeader &h = *header;
  if (M <= 0 || h.N <= 0)
    return;
  SProblem p{A,
             M,
             h.K,
             h.N,
             reinterpret_cast<const float *>(
                 static_cast<const char *>(packedB) + kHeaderBytes),
             bias,
             activation,
             C};
  runSGemm(p, numThreads());
}

void qk_sgemm_batched(const float *A, const float *B, float *C, int64_t batch,
                      int64_t M, int64_t K, int64_t N, int64_t strideA,
                      int64_t strideB, int64_t strideC, void *workspace,
                      int64_t workspace_bytes) {
  if (batch <= 0 || M <= 0 || N <= 0)
    return;
  BatchedPlan plan = planBatched(batch, M, K, N);
  // One slice of packed panels per worker; checked before anything is
  // written, so the call fails whole or not at all.
  Workspace ws =
      carveWorkspace(workspace, workspace_bytes, 0, panelBytes(K, N),
                     plan.perItem ? plan.threads : 1, "qk_sgemm_batched");
  if (!ws.workers)
    return;
  auto one = [&](int64_t b, int worker, int threads) {
    auto *panels = reinterpret_cast<float *>(ws.slice(worker));
    packPanels(B + b * strideB, K, N, N, panels);
    SProblem p{A + b * strideA, M,       K,       N,
               panels,          nullptr, ActNone, C + b * strideC};
    runSGemm(p, threads);
  };
  if (plan.perItem) {
    parallelFor(batch, ws.workers,
                [&](int64_t b, int worker) { one(b, worker, 1); });
    return;
  }
  for (int64_t b = 0; b < batch; ++b)
    one(b, 0, numThreads());
}

int64_t qk_sgemm_batched_workspace_bytes(int64_t batch, int64_t M, int64_t K,
                                         int64_t N) {
  if (batch <= 0 || M <= 0 || N <= 0)
    return 0;
  BatchedPlan plan = planBatched(batch, M, K, N);
  return workspaceBytes(0, panelBytes(K, N), plan.perItem ? plan.threads : 1);
}

} // extern "C"

const PackedLayout quantopt::kernels::kSGemmLayout = {
    kMagic, kVersion, "qk_sgemm", [](const PackHeader &h, int64_t size) {
      return checkPackedCommon(
          h, size, /*knownFlags=*/0,
          [](const PackHeader &h) { return qk_sgemm_packed_size(h.K, h.N); });
    }};
