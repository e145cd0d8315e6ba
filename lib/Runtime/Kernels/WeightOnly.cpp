//===- WeightOnly.cpp - int4/int8 weight-only matmul, f32 activations
//------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// out[m,n] = sum_k a[m,k] * (w[k,n] - zp[g,n]) * scale[g,n] (+ bias[n]).
//
// Choice: weights are dequantized in registers and multiplied in f32 (FMA);
// activations are NOT quantized to int8. The contract asks for f32 accuracy
// (~1e-5 of sum |a| |w|); int8 activations cost ~1/256 relative, so integer
// dot products are ruled out by the numerics, and at M = 1 (decode) the
// kernel is bound by the weight stream anyway: f32 decode of 4-bit weights
// needs ~3 vector ops per 8 weights, which two cores retire faster than
// DRAM delivers the bytes.
//
// Packed layout (ISA independent): column blocks of 8; per block, per
// group g: the group's weights in 32-byte chunks (8 lanes = 8 columns, one
// 32-bit word per lane holding 8 4-bit or 4 8-bit values of consecutive k,
// value j at bit bits*j, stored unsigned: w + 8 / w + 128 for signed
// weights), then 8 f32 scales, then (with zero points) 8 f32 offsets
// -zp' * scale. A group is padded to whole chunks; padding contributes 0
// because the matching activations are 0.
//
// Decode without shifts: (lane & (mask << bits*p)) converts exactly to
// w * 2^(bits*p), so the kernel multiplies by an activation pre-scaled by
// 2^-(bits*p) (exact) and needs one and + one cvtdq2ps + one FMA per 8
// weights; the upper 16 bits of a lane are shifted down once per chunk.
// Per group: partial = sum_k a'[k] * w_u[k]; out += scale * partial +
// offset * sum_k a[k] (sum over the group, precomputed per call).
//
//===----------------------------------------------------------------------===//

#include "KernelsInternal.h"
#include "quantopt/Runtime/Kernels.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

using namespace quantopt::kernels;

namespace {

constexpr char kMagic[8] = "QKWONLY";
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagZeroPoints = 1;
constexpr uint32_t kFlagSigned = 2;

struct WoLayout {
  int64_t K, N;
  int bits;
  int64_t gs;  // group size (K for per channel)
  int64_t G;   // groups
  int64_t kpc; // k per 32-bit lane word (8 or 4)
  int64_t cpg; // chunks per group
  bool hasZp;
  int64_t Nb; // column blocks of 8
  int64_t groupBytes() const { return cpg * 32 + 32 + (hasZp ? 32 : 0); }
  int64_t blockBytes() const { return G * groupBytes(); }
  int64_t size() const { return kHeaderBytes + Nb * blockBytes(); }
  int64_t kPadded() const { return G * cpg * kpc; }
};

WoLayout layoutFor(int64_t K, int64_t N, int bits, int64_t groupSize,
                   bool hasZp) {
  WoLayout l;
  l.K = K;
  l.N = N;
  l.bits = bits;
  l.gs = groupSize > 0 ? groupSize : std::max<int64_t>(K, 1);
  l.G = std::max<int64_t>(1, ceilDiv(K, l.gs));
  l.kpc = 32 / bits;
  l.cpg = ceilDiv(l.gs, l.kpc);
  l.hasZp = hasZp;
  l.Nb = ceilDiv(N, 8);
  return l;
}

/// Per-call activations: a'[m][g*cpg*kpc + j] = a * 2^-(bits * (j % H)),
/// H = 16 / bits, zero padded; sums[m][g] = sum of the group's a.
struct WoActs {
  const float *a;   // [M][kPadded]
  const float *sum; // [M][G]
  int64_t lda;
};

/// Bytes of the prepared activations (the kernel's whole workspace).
int64_t activationBytes(int64_t M, const WoLayout &l) {
  return sizeAdd(sizeMul(sizeMul(M, sizeAdd(l.kPadded(), l.G)), 4), 64);
}

/// Prepares the activations in `buf` (activationBytes, 64-byte aligned).
WoActs prepareActivations(const float *A, int64_t M, const WoLayout &l,
                          float *buf) {
  int64_t kp = l.kPadded();
  float *sums = buf + M * kp;
  int64_t H = 16 / l.bits;
  float pow2[8];
  for (int p = 0; p < 8; ++p)
    pow2[p] = std::ldexp(1.0f, -l.bits * (p % H));
  for (int64_t m = 0; m < M; ++m) {
    const float *src = A + m * l.K;
    float *dst = buf + m * kp;
    for (int64_t g = 0; g < l.G; ++g) {
      float s = 0.0f;
      for (int64_t j = 0; j < l.cpg * l.kpc; ++j) {
        int64_t k = g * l.gs + j;
        bool valid = j < l.gs && k < l.K;
        float v = valid ? src[k] : 0.0f;
        s += v;
        dst[g * l.cpg * l.kpc + j] = v * pow2[j % l.kpc];
      }
      sums[m * l.G + g] = s;
    }
  }
  return WoActs{buf, sums, kp};
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

/// Scalar: one column block, rows [m0, m0+rows).
void blockScalar(const WoLayout &l, const char *blk, const WoActs &acts,
                 int64_t m0, int64_t rows, float *out /*[rows][8]*/,
                 float negZp) {
  const uint32_t mask = (1u << l.bits) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    const float *a = acts.a + (m0 + r) * acts.lda;
    for (int c = 0; c < 8; ++c) {
      float total = 0.0f;
      for (int64_t g = 0; g < l.G; ++g) {
        const char *gp = blk + g * l.groupBytes();
        float partial = 0.0f;
        for (int64_t ch = 0; ch < l.cpg; ++ch) {
          uint32_t word;
          std::memcpy(&word, gp + ch * 32 + c * 4, 4);
          for (int64_t j = 0; j < l.kpc; ++j) {
            // Undo the kernel's 2^-(bits*p) pre-scaling exactly.
            uint32_t shifted = word & (mask << (l.bits * (j % (16 / l.bits))));
            if (j >= 16 / l.bits)
              shifted = (word >> 16) & (mask << (l.bits * (j % (16 / l.bits))));
            partial +=
                a[(g * l.cpg + ch) * l.kpc + j] * static_cast<float>(shifted);
          }
        }
        float scale, offset;
        std::memcpy(&scale, gp + l.cpg * 32 + c * 4, 4);
        if (l.hasZp)
          std::memcpy(&offset, gp + l.cpg * 32 + 32 + c * 4, 4);
        else
          offset = negZp * scale;
        total += scale * partial + offset * acts.sum[(m0 + r) * l.G + g];
      }
      out[r * 8 + c] = total;
    }
  }
}

/// AVX2: R rows x NB column blocks (NB blocks `blockStride` bytes apart),
/// S independent partial sums per block to hide FMA latency.
template <int BITS, int R, int NB, int S>
QK_AVX2 void blockAVX2(const WoLayout &l, const char *blk, int64_t blockStride,
                       const WoActs &acts, int64_t m0, float *out /*[R][NB*8]*/,
                       float negZp) {
  constexpr int H = 16 / BITS;
  constexpr int KPC = 32 / BITS;
  constexpr uint32_t kMask = (1u << BITS) - 1;
  __m256i masks[H];
#pragma GCC unroll 16
  for (int p = 0; p < H; ++p)
    masks[p] = _mm256_set1_epi32(static_cast<int>(kMask << (BITS * p)));
  __m256 total[R][NB];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int b = 0; b < NB; ++b)
      total[r][b] = _mm256_setzero_ps();
  const int64_t groupBytes = l.groupBytes();
  const __m256 vNegZp = _mm256_set1_ps(negZp);
  for (int64_t g = 0; g < l.G; ++g) {
    __m256 acc[R][NB][S];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int b = 0; b < NB; ++b)
#pragma GCC unroll 16
        for (int s = 0; s < S; ++s)
          acc[r][b][s] = _mm256_setzero_ps();
    const float *a0 = acts.a + m0 * acts.lda + g * l.cpg * KPC;
    for (int64_t ch = 0; ch < l.cpg; ++ch) {
      const float *a = a0 + ch * KPC;
      __m256i v[NB][2];
#pragma GCC unroll 16
      for (int b = 0; b < NB; ++b) {
        v[b][0] = _mm256_load_si256((
            const __m256i *)(blk + b * blockStride + g * groupBytes + ch * 32));
        v[b][1] = _mm256_srli_epi32(v[b][0], 16);
      }
#pragma GCC unroll 16
      for (int j = 0; j < KPC; ++j) {
        __m256 w[NB];
#pragma GCC unroll 16
        for (int b = 0; b < NB; ++b)
          w[b] =
              _mm256_cvtepi32_ps(_mm256_and_si256(v[b][j / H], masks[j % H]));
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const __m256 va = _mm256_broadcast_ss(a + r * acts.lda + j);
#pragma GCC unroll 16
          for (int b = 0; b < NB; ++b)
            acc[r][b][j % S] = _mm256_fmadd_ps(va, w[b], acc[r][b][j % S]);
        }
      }
    }
#pragma GCC unroll 16
    for (int b = 0; b < NB; ++b) {
      const char *gp = blk + b * blockStride + g * groupBytes;
      const __m256 scale = _mm256_load_ps((const float *)(gp + l.cpg * 32));
      const __m256 offset =
          l.hasZp ? _mm256_load_ps((const float *)(gp + l.cpg * 32 + 32))
                  : _mm256_mul_ps(vNegZp, scale);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        __m256 partial = acc[r][b][0];
#pragma GCC unroll 16
        for (int s = 1; s < S; ++s)
          partial = _mm256_add_ps(partial, acc[r][b][s]);
        total[r][b] = _mm256_fmadd_ps(scale, partial, total[r][b]);
        total[r][b] = _mm256_fmadd_ps(
            offset, _mm256_broadcast_ss(acts.sum + (m0 + r) * l.G + g),
            total[r][b]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int b = 0; b < NB; ++b)
      _mm256_storeu_ps(out + r * NB * 8 + b * 8, total[r][b]);
}

using BlockFn = void (*)(const WoLayout &, const char *, int64_t,
                         const WoActs &, int64_t, float *, float);

template <int BITS> struct BlockTable {
  // [rows 1..4][nb 1..2]
  static constexpr BlockFn fns[5][3] = {
      {nullptr, nullptr, nullptr},
      {nullptr, blockAVX2<BITS, 1, 1, 4>, blockAVX2<BITS, 1, 2, 4>},
      {nullptr, blockAVX2<BITS, 2, 1, 2>, blockAVX2<BITS, 2, 2, 2>},
      {nullptr, blockAVX2<BITS, 3, 1, 2>, blockAVX2<BITS, 3, 1, 2>},
      {nullptr, blockAVX2<BITS, 4, 1, 2>, blockAVX2<BITS, 4, 1, 2>}};
};

/// Column blocks [b0, b0+nb) for every row.
void runBlocks(const WoLayout &l, const char *blocks, const WoActs &acts,
               int64_t M, const float *bias, float *C, float negZp, Isa isa,
               int64_t b0, int64_t nb) {
  alignas(32) float tmp[4 * 16];
  for (int64_t b = b0; b < b0 + nb;) {
    // Two column blocks at once share the activation broadcasts when
    // every row group has at most two rows.
    int64_t nbHere = isa != Isa::Scalar && M <= 2 && b + 1 < b0 + nb ? 2 : 1;
    for (int64_t m0 = 0; m0 < M;) {
      int64_t rows = std::min<int64_t>(4, M - m0);
      const char *blk = blocks + b * l.blockBytes();
      if (isa == Isa::Scalar) {
        blockScalar(l, blk, acts, m0, rows, tmp, negZp);
      } else {
        BlockFn fn = l.bits == 4 ? BlockTable<4>::fns[rows][nbHere]
                                 : BlockTable<8>::fns[rows][nbHere];
        fn(l, blk, l.blockBytes(), acts, m0, tmp, negZp);
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < nbHere * 8; ++c) {
          int64_t n = b * 8 + c;
          if (n >= l.N)
            break;
          float v = tmp[r * nbHere * 8 + c];
          C[(m0 + r) * l.N + n] = bias ? v + bias[n] : v;
        }
      }
      m0 += rows;
    }
    b += nbHere;
  }
}

} // namespace

extern "C" {

int64_t qk_wo_packed_size(int64_t K, int64_t N, int32_t bits,
                          int64_t group_size) {
  // Sized with zero points so that the size does not depend on them.
  return layoutFor(K, N, bits, group_size, true).size();
}

void qk_wo_pack(const void *W, int32_t w_signed, int32_t bits, int64_t K,
                int64_t N, int64_t group_size, const float *scales,
                const int32_t *zero_points, void *packed) {
  WoLayout l = layoutFor(K, N, bits, group_size, zero_points != nullptr);
  writeHeader(packed, kMagic, kVersion,
              (zero_points ? kFlagZeroPoints : 0) |
                  (w_signed ? kFlagSigned : 0),
              K, N, bits, group_size);
  char *blocks = static_cast<char *>(packed) + kHeaderBytes;
  std::memset(blocks, 0, static_cast<size_t>(l.Nb * l.blockBytes()));
  int32_t offset = w_signed ? 1 << (bits - 1) : 0;
  for (int64_t cb = 0; cb < l.Nb; ++cb) {
    for (int64_t g = 0; g < l.G; ++g) {
      char *gp = blocks + cb * l.blockBytes() + g * l.groupBytes();
      for (int c = 0; c < 8; ++c) {
        int64_t n = cb * 8 + c;
        if (n >= N)
          continue;
        for (int64_t j = 0; j < l.gs; ++j) {
          int64_t k = g * l.gs + j;
          if (k >= K)
            break;
          int32_t w = w_signed ? static_cast<const int8_t *>(W)[k * N + n]
                               : static_cast<const uint8_t *>(W)[k * N + n];
          uint32_t u = static_cast<uint32_t>(w + offset) & ((1u << bits) - 1);
          int64_t ch = j / l.kpc, pos = j % l.kpc;
          uint32_t word;
          std::memcpy(&word, gp + ch * 32 + c * 4, 4);
          word |= u << (bits * pos);
          std::memcpy(gp + ch * 32 + c * 4, &word, 4);
        }
        float s = group_size > 0 ? scales[g * N + n] : scales[n];
        std::memcpy(gp + l.cpg * 32 + c * 4, &s, 4);
        if (zero_points) {
          int32_t zp = group_size > 0 ? zero_points[g * N + n] : zero_points[n];
          float off = -static_cast<float>(zp + offset) * s;
          std::memcpy(gp + l.cpg * 32 + 32 + c * 4, &off, 4);
        }
      }
    }
  }
}

int64_t qk_wo_workspace_bytes(int64_t M, int64_t K, int32_t bits,
                              int64_t group_size) {
  if (M <= 0 || K < 0 || (bits != 4 && bits != 8) || group_size < 0)
    return 0;
  return workspaceBytes(
      activationBytes(M, layoutFor(K, 1, bits, group_size, false)), 0, 0);
}

void qk_wo_matmul(const float *A, int64_t M, const void *packed,
                  const float *bias, float *C, void *workspace,
                  int64_t workspace_bytes) {
  const PackHeader *header =
      checkHeader(packed, kMagic, kVersion, "qk_wo_matmul");
  if (!header)
    return;
  const PackHeader &h = *header;
  bool hasZp = h.flags & kFlagZeroPoints;
  WoLayout l = layoutFor(h.K, h.N, h.bits, h.groupSize, hasZp);
  if (M <= 0 || l.N <= 0)
    return;
  float negZp =
      (h.flags & kFlagSigned) ? -static_cast<float>(1 << (h.bits - 1)) : 0.0f;
  // Only shared bytes; checked before anything is written.
  Workspace ws = carveWorkspace(workspace, workspace_bytes,
                                activationBytes(M, l), 0, 1, "qk_wo_matmul");
  if (!ws.workers)
    return;
  WoActs acts =
      prepareActivations(A, M, l, reinterpret_cast<float *>(ws.shared));
  const char *blocks = static_cast<const char *>(packed) + kHeaderBytes;
  Isa isa = activeIsa();
  int threads = threadsFor(static_cast<double>(M) * l.N * l.K);
  // Tasks of 8 column blocks (64 columns): enough to balance two or more
  // threads, few enough that the hand-out costs nothing.
  int64_t perTask = threads > 1 ? 8 : l.Nb;
  int64_t tasks = ceilDiv(l.Nb, perTask);
  parallelFor(tasks, threads, [&](int64_t t, int) {
    int64_t b0 = t * perTask;
    runBlocks(l, blocks, acts, M, bias, C, negZp, isa, b0,
              std::min(perTask, l.Nb - b0));
  });
}

} // extern "C"

const PackedLayout quantopt::kernels::kWeightOnlyLayout = {
    kMagic, kVersion, "qk_wo_matmul",
    [](const PackHeader &h, int64_t size) -> std::string {
      if (h.bits != 4 && h.bits != 8)
        return "its header says " + std::to_string(h.bits) +
               "-bit weights (the layout has 4 or 8)";
      if (h.groupSize < 0 || h.groupSize >= (int64_t(1) << 31))
        return "its header has group size " + std::to_string(h.groupSize);
      return checkPackedCommon(
          h, size, kFlagZeroPoints | kFlagSigned, [](const PackHeader &h) {
            return qk_wo_packed_size(h.K, h.N, h.bits, h.groupSize);
          });
    }};
