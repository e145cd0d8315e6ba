//===- QGemm.cpp - int8 GEMM with a fused requantizing epilogue -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qk_qgemm: C = epilogue(sum_k (a - za) * (b - zb)), int32 accumulation
// exact on every path.
//
// Packed B (ISA independent, so a blob packed at compile time runs on any
// CPU): panels of 16 columns; inside a panel, k in quads: for each quad q
// 64 bytes, column c at bytes [4c, 4c+4) holding b'[4q..4q+3][c]. B is
// stored signed: b' = b for int8, b - 128 for uint8, with zb' = zb - 128,
// so (b - zb) = (b' - zb') for both. After the panels, per column (N
// rounded to 16): zb', colTerm = K * zb' - sum_k b', bias, b_scale.
//
// AVX2 and scalar: A is packed per block of rows into int16 (a - za), in
// tiles of 5 (AVX2) or 6 (scalar) rows, interleaved per k quad; vpmaddwd on the
// int16 operands gives exact pair sums (vpmaddubsw would saturate). raw = sum
// (a-za) b', acc = raw - zb' * rowsum(a - za).
//
// AVX2 with 7-bit weights: when every stored b' lies in [-64, 64] (the
// packer checks and sets kFlagB7; onnxruntime's quantizer writes such
// weights with reduce_range, which it recommends on AVX2), a u8 x s8 pair
// sum is at most 2 * 255 * 64 = 32640, so vpmaddubsw cannot saturate and
// the VNNI scheme below runs exactly on AVX2: vpmaddubsw (u8 a' x s8 b'),
// vpmaddwd with ones, vpaddd. That is 32 multiply-adds per 3 instructions
// against 16 per 2 with int16 operands, measured ~1.3x faster on Zen 3.
//
// AVX-512 VNNI: vpdpbusd needs u8 x s8: A is packed as a' = a (uint8) or
// a + 128 (int8) in tiles of 8 rows, with za' likewise;
// sum (a'-za')(b'-zb') = raw - zb' * rowsum(a') + za' * colTerm. All
// corrections are exact in wrapping 32-bit arithmetic.
//
// Blocking: a task is (block of rows, block of up to 256 columns); it packs
// its rows once, then for each 1024-deep K slice runs the micro-kernel over
// every (column half-panel, row tile) pair so a B slice stays in L1 while
// the row tiles stream from L2; raw sums go to an int32 tile buffer, and
// the epilogue runs once per output row segment at the end. The packed rows
// and the tile live in the worker's slice of the caller's workspace; a
// worker keeps its packed rows from one task to the next of the same call
// (tasks are handed out row block by row block), so a row block is packed
// once per worker, not once per column block.
//
//===----------------------------------------------------------------------===//

#include "KernelsInternal.h"
#include "quantopt/Runtime/Kernels.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <utility>

using namespace quantopt::kernels;

namespace {

constexpr char kMagic[8] = "QKQGEMM";
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagUnsignedB = 1;
/// Every stored b' is in [-64, 64]: the AVX2 u8 x s8 path is exact.
constexpr uint32_t kFlagB7 = 2;
constexpr int64_t kPanel = 16;
/// K quads per cache block (1024 k).
constexpr int64_t kKcQuads = 256;
/// Columns per task.
constexpr int64_t kNc = 256;
/// Rows of an A tile per path. AVX2: 5 rows x 8 columns keep 10
/// accumulators, 2 B vectors, the A broadcast and a product in the 16 ymm
/// registers (6 rows spilled 7 accumulators to the stack every k quad).
constexpr int kMrScalar = 6;
constexpr int kMrAVX2 = 5;
constexpr int kMrVNNI = 8;
/// AVX2 u8 x s8: 4 rows x 16 columns = 8 accumulators, 2 B vectors, the
/// broadcast, the ones and 2 products.
constexpr int kMrAVX2U8 = 4;

struct QLayout {
  int64_t K, N, Kq, Np;
  int64_t panelBytes() const { return Kq * 64; }
  int64_t panelsOffset() const { return kHeaderBytes; }
  int64_t colOffset() const { return kHeaderBytes + Np / kPanel * Kq * 64; }
  int64_t size() const { return colOffset() + 4 * Np * 4; }
};

QLayout layoutFor(int64_t K, int64_t N) {
  return QLayout{K, N, ceilDiv(K, 4), roundUp(N, kPanel)};
}

/// Per-column data of a packed blob.
struct QColumns {
  const int32_t *zb;
  const int32_t *colTerm;
  const int32_t *bias;
  const float *bscale;
};

QColumns columnsOf(const void *packed, const QLayout &l) {
  const char *c = static_cast<const char *>(packed) + l.colOffset();
  return QColumns{reinterpret_cast<const int32_t *>(c),
                  reinterpret_cast<const int32_t *>(c + 4 * l.Np),
                  reinterpret_cast<const int32_t *>(c + 8 * l.Np),
                  reinterpret_cast<const float *>(c + 12 * l.Np)};
}

/// Everything the epilogue needs besides the raw sums.
struct QEpilogue {
  QColumns cols;
  int32_t act;
  int32_t outType;
  float outScale;
  int32_t outZp;
  void *C;
  int64_t ldc;
};

//===----------------------------------------------------------------------===//
// Epilogue
//===----------------------------------------------------------------------===//

/// One output element; the reference every vector epilogue must match bit
/// for bit.
inline void epilogueOne(const QEpilogue &e, int32_t raw, int64_t m, int64_t n,
                        int32_t rs, int32_t zaEff, float ascale) {
  uint32_t acc =
      static_cast<uint32_t>(raw) -
      static_cast<uint32_t>(e.cols.zb[n]) * static_cast<uint32_t>(rs) +
      static_cast<uint32_t>(zaEff) * static_cast<uint32_t>(e.cols.colTerm[n]) +
      static_cast<uint32_t>(e.cols.bias[n]);
  float r = static_cast<float>(static_cast<int32_t>(acc)) * ascale;
  r = r * e.cols.bscale[n];
  r = applyActivation(r, e.act);
  if (e.outType == 0) {
    static_cast<float *>(e.C)[m * e.ldc + n] = r;
    return;
  }
  float t = std::nearbyint(r / e.outScale);
  // Same clamp (and NaN -> low end) as the vector max/min below.
  t = t > -1024.0f ? t : -1024.0f;
  t = t < 1024.0f ? t : 1024.0f;
  int32_t q = static_cast<int32_t>(t) + e.outZp;
  if (e.outType == 1) {
    q = std::min(127, std::max(-128, q));
    static_cast<int8_t *>(e.C)[m * e.ldc + n] = static_cast<int8_t>(q);
  } else {
    q = std::min(255, std::max(0, q));
    static_cast<uint8_t *>(e.C)[m * e.ldc + n] = static_cast<uint8_t>(q);
  }
}

void epilogueRowScalar(const QEpilogue &e, const int32_t *raw, int64_t m,
                       int64_t n0, int64_t cols, int32_t rs, int32_t zaEff,
                       float ascale) {
  for (int64_t j = 0; j < cols; ++j)
    epilogueOne(e, raw[j], m, n0 + j, rs, zaEff, ascale);
}

QK_AVX2 void epilogueRowAVX2(const QEpilogue &e, const int32_t *raw, int64_t m,
                             int64_t n0, int64_t cols, int32_t rs,
                             int32_t zaEff, float ascale) {
  int64_t j = 0;
  // erf/exp have no vector form here: gelu/silu go through the scalar
  // reference so that every path agrees exactly.
  if (e.act == ActNone || e.act == ActRelu) {
    const __m256i vrs = _mm256_set1_epi32(rs);
    const __m256i vza = _mm256_set1_epi32(zaEff);
    const __m256 vas = _mm256_set1_ps(ascale);
    const __m256 zero = _mm256_setzero_ps();
    const __m256 vos = _mm256_set1_ps(e.outScale);
    const __m256 lo = _mm256_set1_ps(-1024.0f), hi = _mm256_set1_ps(1024.0f);
    const __m256i vzp = _mm256_set1_epi32(e.outZp);
    const __m256i qlo = _mm256_set1_epi32(e.outType == 1 ? -128 : 0);
    const __m256i qhi = _mm256_set1_epi32(e.outType == 1 ? 127 : 255);
    for (; j + 8 <= cols; j += 8) {
      int64_t n = n0 + j;
      __m256i acc = _mm256_loadu_si256((const __m256i *)(raw + j));
      __m256i zb = _mm256_loadu_si256((const __m256i *)(e.cols.zb + n));
      __m256i ct = _mm256_loadu_si256((const __m256i *)(e.cols.colTerm + n));
      __m256i bias = _mm256_loadu_si256((const __m256i *)(e.cols.bias + n));
      acc = _mm256_sub_epi32(acc, _mm256_mullo_epi32(zb, vrs));
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(vza, ct));
      acc = _mm256_add_epi32(acc, bias);
      __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), vas);
      r = _mm256_mul_ps(r, _mm256_loadu_ps(e.cols.bscale + n));
      if (e.act == ActRelu)
        r = _mm256_max_ps(r, zero);
      if (e.outType == 0) {
        _mm256_storeu_ps(static_cast<float *>(e.C) + m * e.ldc + n, r);
        continue;
      }
      __m256 t = _mm256_round_ps(_mm256_div_ps(r, vos),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      t = _mm256_max_ps(t, lo);
      t = _mm256_min_ps(t, hi);
      __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(t), vzp);
      q = _mm256_min_epi32(_mm256_max_epi32(q, qlo), qhi);
      __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(q),
                                    _mm256_extracti128_si256(q, 1));
      __m128i p8 = e.outType == 1 ? _mm_packs_epi16(p16, p16)
                                  : _mm_packus_epi16(p16, p16);
      _mm_storel_epi64((__m128i *)(static_cast<uint8_t *>(e.C) + m * e.ldc + n),
                       p8);
    }
  }
  for (; j < cols; ++j)
    epilogueOne(e, raw[j], m, n0 + j, rs, zaEff, ascale);
}

//===----------------------------------------------------------------------===//
// A packing
//===----------------------------------------------------------------------===//

/// Parameters of A for one call.
struct QA {
  const void *A;
  int64_t M, K;
  bool isSigned;
  const void *zp;
  const float *scale;
  bool perRow;

  int32_t value(int64_t m, int64_t k) const {
    return isSigned ? static_cast<const int8_t *>(A)[m * K + k]
                    : static_cast<const uint8_t *>(A)[m * K + k];
  }
  int32_t zeroPoint(int64_t m) const {
    if (!zp)
      return 0;
    int64_t i = perRow ? m : 0;
    return isSigned ? static_cast<const int8_t *>(zp)[i]
                    : static_cast<const uint8_t *>(zp)[i];
  }
  float scaleOf(int64_t m) const { return scale[perRow ? m : 0]; }
};

/// int16 (a - za) for rows [m0, m0+rows), tiles of `mr` rows:
/// tile t, quad q, row i, j -> dst[((t * Kq + q) * mr + i) * 4 + j].
/// rs[i] = sum_k (a - za); zaEff = 0.
void packAInt16(const QA &a, int64_t m0, int64_t rows, int64_t Kq, int mr,
                int16_t *dst, int32_t *rs, int32_t *zaEff) {
  int64_t tiles = ceilDiv(rows, mr);
  for (int64_t t = 0; t < tiles; ++t) {
    int16_t *tile = dst + t * Kq * mr * 4;
    for (int i = 0; i < mr; ++i) {
      int64_t r = t * mr + i;
      if (r >= rows) {
        for (int64_t q = 0; q < Kq; ++q)
          std::memset(tile + (q * mr + i) * 4, 0, 8);
        continue;
      }
      int64_t m = m0 + r;
      int32_t za = a.zeroPoint(m);
      int32_t sum = 0;
      int16_t *out = tile + i * 4;
      if (a.isSigned) {
        const int8_t *src = static_cast<const int8_t *>(a.A) + m * a.K;
        for (int64_t k = 0; k < a.K; ++k) {
          int32_t v = src[k] - za;
          sum += v;
          out[(k >> 2) * mr * 4 + (k & 3)] = static_cast<int16_t>(v);
        }
      } else {
        const uint8_t *src = static_cast<const uint8_t *>(a.A) + m * a.K;
        for (int64_t k = 0; k < a.K; ++k) {
          int32_t v = src[k] - za;
          sum += v;
          out[(k >> 2) * mr * 4 + (k & 3)] = static_cast<int16_t>(v);
        }
      }
      for (int64_t k = a.K; k < Kq * 4; ++k)
        out[(k >> 2) * mr * 4 + (k & 3)] = 0;
      rs[r] = sum;
      zaEff[r] = 0;
    }
  }
}

/// packAInt16 for AVX2: 16 k at a time, same layout and sums.
QK_AVX2 void packAInt16AVX2(const QA &a, int64_t m0, int64_t rows, int64_t Kq,
                            int mr, int16_t *dst, int32_t *rs, int32_t *zaEff) {
  int64_t tiles = ceilDiv(rows, mr);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t t = 0; t < tiles; ++t) {
    int16_t *tile = dst + t * Kq * mr * 4;
    for (int i = 0; i < mr; ++i) {
      int64_t r = t * mr + i;
      int16_t *out = tile + i * 4;
      const int64_t qs = int64_t(mr) * 4; // int16 between quads of a row
      if (r >= rows) {
        for (int64_t q = 0; q < Kq; ++q)
          std::memset(out + q * qs, 0, 8);
        continue;
      }
      int64_t m = m0 + r;
      const __m256i vza = _mm256_set1_epi16(static_cast<short>(a.zeroPoint(m)));
      __m256i vsum = _mm256_setzero_si256();
      const char *src = static_cast<const char *>(a.A) + m * a.K;
      int64_t k = 0;
      for (; k + 16 <= a.K; k += 16) {
        __m128i raw = _mm_loadu_si128((const __m128i *)(src + k));
        __m256i v =
            a.isSigned ? _mm256_cvtepi8_epi16(raw) : _mm256_cvtepu8_epi16(raw);
        v = _mm256_sub_epi16(v, vza);
        vsum = _mm256_add_epi32(vsum, _mm256_madd_epi16(v, ones));
        __m128i lo = _mm256_castsi256_si128(v);
        __m128i hi = _mm256_extracti128_si256(v, 1);
        int16_t *o = out + (k >> 2) * qs;
        _mm_storel_epi64((__m128i *)o, lo);
        _mm_storeh_pd((double *)(o + qs), _mm_castsi128_pd(lo));
        _mm_storel_epi64((__m128i *)(o + 2 * qs), hi);
        _mm_storeh_pd((double *)(o + 3 * qs), _mm_castsi128_pd(hi));
      }
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(vsum),
                                 _mm256_extracti128_si256(vsum, 1));
      s4 = _mm_hadd_epi32(s4, s4);
      s4 = _mm_hadd_epi32(s4, s4);
      int32_t sum = _mm_cvtsi128_si32(s4);
      for (; k < a.K; ++k) {
        int32_t v = a.value(m, k) - a.zeroPoint(m);
        sum += v;
        out[(k >> 2) * qs + (k & 3)] = static_cast<int16_t>(v);
      }
      for (; k < Kq * 4; ++k)
        out[(k >> 2) * qs + (k & 3)] = 0;
      rs[r] = sum;
      zaEff[r] = 0;
    }
  }
}

/// uint8 a' (a, or a + 128 for int8) for the VNNI path, same tiling.
/// rs[i] = sum_k a'; zaEff = za'.
void packAUint8(const QA &a, int64_t m0, int64_t rows, int64_t Kq, int mr,
                uint8_t *dst, int32_t *rs, int32_t *zaEff) {
  int64_t tiles = ceilDiv(rows, mr);
  uint8_t flip = a.isSigned ? 0x80 : 0;
  for (int64_t t = 0; t < tiles; ++t) {
    uint8_t *tile = dst + t * Kq * mr * 4;
    for (int i = 0; i < mr; ++i) {
      int64_t r = t * mr + i;
      if (r >= rows) {
        for (int64_t q = 0; q < Kq; ++q)
          std::memset(tile + (q * mr + i) * 4, 0, 4);
        continue;
      }
      int64_t m = m0 + r;
      const uint8_t *src = static_cast<const uint8_t *>(a.A) + m * a.K;
      uint8_t *out = tile + i * 4;
      int32_t sum = 0;
      for (int64_t k = 0; k < a.K; ++k) {
        uint8_t v = src[k] ^ flip;
        sum += v;
        out[(k >> 2) * mr * 4 + (k & 3)] = v;
      }
      for (int64_t k = a.K; k < Kq * 4; ++k)
        out[(k >> 2) * mr * 4 + (k & 3)] = 0;
      rs[r] = sum;
      zaEff[r] = a.zeroPoint(m) + (a.isSigned ? 128 : 0);
    }
  }
}

//===----------------------------------------------------------------------===//
// Micro-kernels: raw[i][c] (+)= sum over kq quads
//===----------------------------------------------------------------------===//

/// Scalar: `mr` rows (tile of `mrStride`) x 16 columns of one panel.
void microScalar(const int16_t *A, int mrStride, int mr, const int8_t *B,
                 int64_t kq, int32_t *tile, int64_t ldt, int cols,
                 bool accumulate) {
  for (int i = 0; i < mr; ++i) {
    for (int c = 0; c < cols; ++c) {
      int32_t sum = accumulate ? tile[i * ldt + c] : 0;
      for (int64_t q = 0; q < kq; ++q) {
        const int16_t *a = A + (q * mrStride + i) * 4;
        const int8_t *b = B + q * 64 + c * 4;
        sum += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
      }
      tile[i * ldt + c] = sum;
    }
  }
}

template <int MR>
QK_AVX2 inline void storeRowAVX2(__m256i lo, __m256i hi, int32_t *out,
                                 bool accumulate) {
  __m256i s = _mm256_hadd_epi32(lo, hi);
  s = _mm256_permute4x64_epi64(s, 0xD8);
  if (accumulate)
    s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i *)out));
  _mm256_storeu_si256((__m256i *)out, s);
}

/// AVX2: MR rows x 8 columns (one half of a panel: B already offset by
/// 0 or 32 bytes). Per quad: two 16-byte loads widened to int16 hold 4
/// columns x 4 k each; vpmaddwd against the row's 4 k broadcast gives pair
/// sums that a final hadd folds. The accumulators are named variables, not
/// an array: GCC kept an array's elements in memory (a store per
/// accumulator and quad).
template <int MR>
QK_AVX2 void microAVX2(const int16_t *A, const int8_t *B, int64_t kq,
                       int32_t *tile, int64_t ldt, bool accumulate) {
  constexpr int kStride = kMrAVX2;
  static_assert(MR >= 1 && MR <= 5, "5 rows at most");
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00,
          c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  auto row = [](const int16_t *a, __m256i b0, __m256i b1, __m256i &lo,
                __m256i &hi) QK_AVX2 {
    int64_t av;
    std::memcpy(&av, a, 8);
    const __m256i va = _mm256_set1_epi64x(av);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(va, b0));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(va, b1));
  };
  for (int64_t q = 0; q < kq; ++q) {
    const __m256i b0 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(B + q * 64)));
    const __m256i b1 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128((const __m128i *)(B + q * 64 + 16)));
    const int16_t *a = A + q * kStride * 4;
    row(a, b0, b1, c00, c01);
    if constexpr (MR > 1)
      row(a + 4, b0, b1, c10, c11);
    if constexpr (MR > 2)
      row(a + 8, b0, b1, c20, c21);
    if constexpr (MR > 3)
      row(a + 12, b0, b1, c30, c31);
    if constexpr (MR > 4)
      row(a + 16, b0, b1, c40, c41);
    // Pins the accumulators to registers across iterations (GCC otherwise
    // hoists the broadcasts and spills accumulators).
    __asm__(""
            : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20), "+x"(c21),
              "+x"(c30), "+x"(c31), "+x"(c40), "+x"(c41));
  }
  storeRowAVX2<MR>(c00, c01, tile, accumulate);
  if constexpr (MR > 1)
    storeRowAVX2<MR>(c10, c11, tile + ldt, accumulate);
  if constexpr (MR > 2)
    storeRowAVX2<MR>(c20, c21, tile + 2 * ldt, accumulate);
  if constexpr (MR > 3)
    storeRowAVX2<MR>(c30, c31, tile + 3 * ldt, accumulate);
  if constexpr (MR > 4)
    storeRowAVX2<MR>(c40, c41, tile + 4 * ldt, accumulate);
}

/// AVX2, 7-bit B: MR rows x 16 columns (a full panel). Per quad: the two
/// 32-byte halves of the panel hold 8 columns x 4 k each; vpmaddubsw with
/// the row's 4 u8 k broadcast gives 16-bit pair sums (exact, see above),
/// vpmaddwd with ones folds them to the column sums.
template <int MR>
QK_AVX2 void microAVX2U8(const uint8_t *A, const int8_t *B, int64_t kq,
                         int32_t *tile, int64_t ldt, bool accumulate) {
  static_assert(MR >= 1 && MR <= 4, "4 rows at most");
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00,
          c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  auto row = [ones](const uint8_t *a, __m256i b0, __m256i b1, __m256i &lo,
                    __m256i &hi) QK_AVX2 {
    int32_t av;
    std::memcpy(&av, a, 4);
    const __m256i va = _mm256_set1_epi32(av);
    lo = _mm256_add_epi32(
        lo, _mm256_madd_epi16(_mm256_maddubs_epi16(va, b0), ones));
    hi = _mm256_add_epi32(
        hi, _mm256_madd_epi16(_mm256_maddubs_epi16(va, b1), ones));
  };
  for (int64_t q = 0; q < kq; ++q) {
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)(B + q * 64));
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)(B + q * 64 + 32));
    const uint8_t *a = A + q * kMrAVX2U8 * 4;
    row(a, b0, b1, c00, c01);
    if constexpr (MR > 1)
      row(a + 4, b0, b1, c10, c11);
    if constexpr (MR > 2)
      row(a + 8, b0, b1, c20, c21);
    if constexpr (MR > 3)
      row(a + 12, b0, b1, c30, c31);
    __asm__(""
            : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20), "+x"(c21),
              "+x"(c30), "+x"(c31));
  }
  auto store = [accumulate](int32_t *out, __m256i lo, __m256i hi) QK_AVX2 {
    if (accumulate) {
      lo = _mm256_add_epi32(lo, _mm256_loadu_si256((const __m256i *)out));
      hi = _mm256_add_epi32(hi, _mm256_loadu_si256((const __m256i *)(out + 8)));
    }
    _mm256_storeu_si256((__m256i *)out, lo);
    _mm256_storeu_si256((__m256i *)(out + 8), hi);
  };
  store(tile, c00, c01);
  if constexpr (MR > 1)
    store(tile + ldt, c10, c11);
  if constexpr (MR > 2)
    store(tile + 2 * ldt, c20, c21);
  if constexpr (MR > 3)
    store(tile + 3 * ldt, c30, c31);
}

using MicroAVX2U8Fn = void (*)(const uint8_t *, const int8_t *, int64_t,
                               int32_t *, int64_t, bool);
const MicroAVX2U8Fn microAVX2U8Table[kMrAVX2U8 + 1] = {
    nullptr, microAVX2U8<1>, microAVX2U8<2>, microAVX2U8<3>, microAVX2U8<4>};

using MicroAVX2Fn = void (*)(const int16_t *, const int8_t *, int64_t,
                             int32_t *, int64_t, bool);
const MicroAVX2Fn microAVX2Table[kMrAVX2 + 1] = {nullptr,      microAVX2<1>,
                                                 microAVX2<2>, microAVX2<3>,
                                                 microAVX2<4>, microAVX2<5>};

/// AVX-512 VNNI: MR rows x 16 columns (a full panel), one vpdpbusd per row
/// and quad.
template <int MR>
QK_AVX512VNNI void microVNNI(const uint8_t *A, const int8_t *B, int64_t kq,
                             int32_t *tile, int64_t ldt, bool accumulate) {
  constexpr int kStride = 8;
  __m512i acc[MR];
  for (int i = 0; i < MR; ++i)
    acc[i] = _mm512_setzero_si512();
  for (int64_t q = 0; q < kq; ++q) {
    const __m512i b = _mm512_loadu_si512((const void *)(B + q * 64));
    const uint8_t *a = A + q * kStride * 4;
    for (int i = 0; i < MR; ++i) {
      int32_t av;
      std::memcpy(&av, a + i * 4, 4);
      acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_set1_epi32(av), b);
    }
  }
  for (int i = 0; i < MR; ++i) {
    int32_t *out = tile + i * ldt;
    __m512i s = acc[i];
    if (accumulate)
      s = _mm512_add_epi32(s, _mm512_loadu_si512((const void *)out));
    _mm512_storeu_si512((void *)out, s);
  }
}

using MicroVNNIFn = void (*)(const uint8_t *, const int8_t *, int64_t,
                             int32_t *, int64_t, bool);
const MicroVNNIFn microVNNITable[9] = {
    nullptr,      microVNNI<1>, microVNNI<2>, microVNNI<3>, microVNNI<4>,
    microVNNI<5>, microVNNI<6>, microVNNI<7>, microVNNI<8>};

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

struct QTask {
  const QA *a;
  const QLayout *l;
  const int8_t *panels;
  const QEpilogue *e;
  const Workspace *ws;
  Isa isa;
  bool u8; // A packed as u8 (VNNI, or AVX2 with 7-bit B)
  int mr;
  int64_t mc, nc, nBlocks;
};

/// Rows of A per task (a multiple of mr): the packed rows of one K slice
/// (~8 bytes per quad and row) should stay in L2 (1 MiB here) next to the
/// B slices; only one slice of them is live at a time.
int64_t rowsPerTask(int64_t M, int64_t Kq, int mr) {
  int64_t rowBytes = std::max<int64_t>(1, std::min(Kq, kKcQuads) * 8);
  int64_t mc = std::max<int64_t>(mr, (384 * 1024 / rowBytes) / mr * mr);
  mc = std::min<int64_t>(mc, 96 / mr * mr);
  return std::min(mc, roundUp(M, mr));
}

/// A worker's slice of the workspace: a 64-byte record of the rows it holds
/// packed, the packed rows of its task (int16 or u8 quads) with their row
/// sums and effective zero points, and the int32 tile of raw sums.
struct QSlice {
  int64_t bufOffset, tileOffset, bytes;
};

QSlice sliceFor(int64_t mc, int64_t Kq, int64_t N, int mr, bool u8) {
  int64_t rows = roundUp(mc, mr);
  int64_t aBytes = sizeMul(sizeMul(rows, Kq), 4 * (u8 ? 1 : 2));
  int64_t bufBytes =
      sizeAdd(roundUp(aBytes, 64), 2 * 4 * roundUp(rows, 16) + 64);
  int64_t tileBytes = sizeMul(rows, roundUp(std::min(kNc, N), kPanel) * 4);
  QSlice q;
  q.bufOffset = 64;
  q.tileOffset = sizeAdd(q.bufOffset, roundUp(bufBytes, 64));
  q.bytes = sizeAdd(q.tileOffset, tileBytes);
  return q;
}

/// The packed-row record at the start of a worker's slice.
struct PackedRows {
  int64_t m0;
};

void runTask(const QTask &t, int64_t task, int worker) {
  const QLayout &l = *t.l;
  int64_t m0 = task / t.nBlocks * t.mc;
  int64_t n0 = task % t.nBlocks * t.nc;
  int64_t rows = std::min(t.mc, t.a->M - m0);
  int64_t cols = std::min(t.nc, l.N - n0);
  int64_t colsP = roundUp(cols, kPanel);
  int64_t tiles = ceilDiv(rows, t.mr);
  int64_t ldt = colsP;

  QSlice q = sliceFor(t.mc, l.Kq, l.N, t.mr, t.u8);
  char *slice = t.ws->slice(worker);
  auto *packedRows = reinterpret_cast<PackedRows *>(slice);
  char *buf = slice + q.bufOffset;
  auto *tile = reinterpret_cast<int32_t *>(slice + q.tileOffset);
  int64_t aBytes = tiles * t.mr * l.Kq * 4 * (t.u8 ? 1 : 2);
  int32_t *rs = reinterpret_cast<int32_t *>(buf + roundUp(aBytes, 64));
  int32_t *zaEff = rs + roundUp(rows, 16);

  // The worker's previous task had the same rows: they are still packed.
  if (packedRows->m0 != m0) {
    if (t.u8)
      packAUint8(*t.a, m0, rows, l.Kq, t.mr, reinterpret_cast<uint8_t *>(buf),
                 rs, zaEff);
    else if (t.isa == Isa::AVX2)
      packAInt16AVX2(*t.a, m0, rows, l.Kq, t.mr,
                     reinterpret_cast<int16_t *>(buf), rs, zaEff);
    else
      packAInt16(*t.a, m0, rows, l.Kq, t.mr, reinterpret_cast<int16_t *>(buf),
                 rs, zaEff);
    packedRows->m0 = m0;
  }

  for (int64_t q0 = 0; q0 < l.Kq; q0 += kKcQuads) {
    int64_t kq = std::min(kKcQuads, l.Kq - q0);
    bool accumulate = q0 > 0;
    for (int64_t p = 0; p < colsP / kPanel; ++p) {
      const int8_t *bp = t.panels + ((n0 / kPanel + p) * l.Kq + q0) * 64;
      for (int64_t ti = 0; ti < tiles; ++ti) {
        int mr = static_cast<int>(std::min<int64_t>(t.mr, rows - ti * t.mr));
        int32_t *tp = tile + ti * t.mr * ldt + p * kPanel;
        if (t.isa == Isa::AVX512VNNI) {
          const uint8_t *ap =
              reinterpret_cast<const uint8_t *>(buf) + (ti * l.Kq + q0) * 8 * 4;
          microVNNITable[mr](ap, bp, kq, tp, ldt, accumulate);
        } else if (t.u8) {
          const uint8_t *ap = reinterpret_cast<const uint8_t *>(buf) +
                              (ti * l.Kq + q0) * kMrAVX2U8 * 4;
          microAVX2U8Table[mr](ap, bp, kq, tp, ldt, accumulate);
        } else if (t.isa == Isa::AVX2) {
          const int16_t *ap = reinterpret_cast<const int16_t *>(buf) +
                              (ti * l.Kq + q0) * kMrAVX2 * 4;
          microAVX2Table[mr](ap, bp, kq, tp, ldt, accumulate);
          microAVX2Table[mr](ap, bp + 32, kq, tp + 8, ldt, accumulate);
        } else {
          const int16_t *ap = reinterpret_cast<const int16_t *>(buf) +
                              (ti * l.Kq + q0) * kMrScalar * 4;
          microScalar(ap, kMrScalar, mr, bp, kq, tp, ldt, kPanel, accumulate);
        }
      }
    }
  }

  for (int64_t r = 0; r < rows; ++r) {
    int64_t m = m0 + r;
    if (t.isa == Isa::Scalar)
      epilogueRowScalar(*t.e, tile + r * ldt, m, n0, cols, rs[r], zaEff[r],
                        t.a->scaleOf(m));
    else
      epilogueRowAVX2(*t.e, tile + r * ldt, m, n0, cols, rs[r], zaEff[r],
                      t.a->scaleOf(m));
  }
}

} // namespace

int64_t quantopt::kernels::qgemmWorkspaceBytes(int64_t M, int64_t K, int64_t N,
                                               int threads) {
  if (M <= 0 || N <= 0)
    return 0;
  int64_t Kq = ceilDiv(std::max<int64_t>(K, 0), 4);
  // Any path may run it: the largest slice of them.
  int64_t slice = 0;
  for (auto [mr, u8] : {std::pair{kMrScalar, false},
                        {kMrAVX2, false},
                        {kMrAVX2U8, true},
                        {kMrVNNI, true}})
    slice =
        std::max(slice, sliceFor(rowsPerTask(M, Kq, mr), Kq, N, mr, u8).bytes);
  return workspaceBytes(0, slice, threads);
}

void quantopt::kernels::qgemmImpl(const void *A, int64_t M, int32_t a_signed,
                                  const void *a_zero_point,
                                  const float *a_scale, int32_t a_per_row,
                                  const void *packedB, int32_t activation,
                                  int32_t out_type, const float *out_scale,
                                  const void *out_zero_point, void *C,
                                  void *workspace, int64_t workspace_bytes,
                                  int maxThreads) {
  const PackHeader *header = checkHeader(packedB, kMagic, kVersion, "qk_qgemm");
  if (!header)
    return;
  const PackHeader &h = *header;
  QLayout l = layoutFor(h.K, h.N);
  if (M <= 0 || l.N <= 0)
    return;
  QA a{A, M, l.K, a_signed != 0, a_zero_point, a_scale, a_per_row != 0};
  QEpilogue e;
  e.cols = columnsOf(packedB, l);
  e.act = activation;
  e.outType = out_type;
  e.outScale = out_type ? out_scale[0] : 1.0f;
  e.outZp = 0;
  if (out_type == 1 && out_zero_point)
    e.outZp = *static_cast<const int8_t *>(out_zero_point);
  else if (out_type == 2 && out_zero_point)
    e.outZp = *static_cast<const uint8_t *>(out_zero_point);
  e.C = C;
  e.ldc = l.N;

  QTask t;
  t.a = &a;
  t.l = &l;
  t.panels = static_cast<const int8_t *>(packedB) + l.panelsOffset();
  t.e = &e;
  t.isa = activeIsa();
  t.u8 =
      t.isa == Isa::AVX512VNNI || (t.isa == Isa::AVX2 && (h.flags & kFlagB7));
  t.mr = t.isa == Isa::AVX512VNNI ? kMrVNNI
         : t.u8                   ? kMrAVX2U8
         : t.isa == Isa::AVX2     ? kMrAVX2
                                  : kMrScalar;
  int64_t mc = rowsPerTask(M, l.Kq, t.mr);
  int threads =
      std::min(maxThreads, threadsFor(static_cast<double>(M) * l.N * l.K));
  // Each worker's slice; checked before anything is written.
  Workspace ws = carveWorkspace(workspace, workspace_bytes, 0,
                                sliceFor(mc, l.Kq, l.N, t.mr, t.u8).bytes,
                                std::max(threads, 1), "qk_qgemm");
  if (!ws.workers)
    return;
  threads = ws.workers;
  for (int w = 0; w < ws.workers; ++w)
    reinterpret_cast<PackedRows *>(ws.slice(w))->m0 = -1;
  t.ws = &ws;
  // Enough tasks for the threads: split rows first, then columns.
  int64_t mBlocks = ceilDiv(M, mc);
  int64_t nc = kNc;
  if (threads > 1 && mBlocks < 4 * threads) {
    int64_t want = ceilDiv(4 * threads, mBlocks);
    nc = std::max<int64_t>(kPanel,
                           std::min(kNc, roundUp(ceilDiv(l.N, want), kPanel)));
  }
  t.mc = mc;
  t.nc = nc;
  t.nBlocks = ceilDiv(l.N, nc);
  parallelFor(mBlocks * t.nBlocks, threads,
              [&](int64_t task, int worker) { runTask(t, task, worker); });
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

int64_t qk_qgemm_packed_size(int64_t K, int64_t N) {
  return layoutFor(K, N).size();
}

void qk_qgemm_pack_b(const void *B, int32_t b_signed, int64_t K, int64_t N,
                     const int32_t *b_zero_point, const float *b_scale,
                     const int32_t *bias, void *packed) {
  QLayout l = layoutFor(K, N);
  int8_t *panels = static_cast<int8_t *>(packed) + l.panelsOffset();
  std::memset(panels, 0, static_cast<size_t>(l.colOffset() - l.panelsOffset()));
  int32_t offset = b_signed ? 0 : 128;
  bool b7 = true;
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t n = 0; n < N; ++n) {
      int32_t v = b_signed ? static_cast<const int8_t *>(B)[k * N + n]
                           : static_cast<const uint8_t *>(B)[k * N + n];
      panels[((n / kPanel) * l.Kq + k / 4) * 64 + (n % kPanel) * 4 + k % 4] =
          static_cast<int8_t>(v - offset);
      b7 = b7 && v - offset >= -64 && v - offset <= 64;
    }
  }
  writeHeader(packed, kMagic, kVersion,
              (b_signed ? 0 : kFlagUnsignedB) | (b7 ? kFlagB7 : 0), K, N);
  char *c = static_cast<char *>(packed) + l.colOffset();
  auto *zb = reinterpret_cast<int32_t *>(c);
  auto *colTerm = reinterpret_cast<int32_t *>(c + 4 * l.Np);
  auto *bs = reinterpret_cast<int32_t *>(c + 8 * l.Np);
  auto *sc = reinterpret_cast<float *>(c + 12 * l.Np);
  for (int64_t n = 0; n < l.Np; ++n) {
    if (n >= N) {
      zb[n] = colTerm[n] = bs[n] = 0;
      sc[n] = 0.0f;
      continue;
    }
    uint32_t colSum = 0;
    for (int64_t k = 0; k < K; ++k)
      colSum +=
          static_cast<uint32_t>(panels[((n / kPanel) * l.Kq + k / 4) * 64 +
                                       (n % kPanel) * 4 + k % 4]);
    int32_t z = (b_zero_point ? b_zero_point[n] : 0) - offset;
    zb[n] = z;
    colTerm[n] = static_cast<int32_t>(
        static_cast<uint32_t>(K) * static_cast<uint32_t>(z) - colSum);
    bs[n] = bias ? bias[n] : 0;
    sc[n] = b_scale[n];
  }
}

void qk_qgemm(const void *A, int64_t M, int32_t a_signed,
              const void *a_zero_point, const float *a_scale, int32_t a_per_row,
              const void *packedB, int32_t activation, int32_t out_type,
              const float *out_scale, const void *out_zero_point, void *C,
              void *workspace, int64_t workspace_bytes) {
  qgemmImpl(A, M, a_signed, a_zero_point, a_scale, a_per_row, packedB,
            activation, out_type, out_scale, out_zero_point, C, workspace,
            workspace_bytes, numThreads());
}

int64_t qk_qgemm_workspace_bytes(int64_t M, int64_t K, int64_t N) {
  if (M <= 0 || N <= 0)
    return 0;
  return qgemmWorkspaceBytes(
      M, K, N,
      threadsFor(static_cast<double>(M) * N * std::max<int64_t>(K, 0)));
}

} // extern "C"

const PackedLayout quantopt::kernels::kQGemmLayout = {
    kMagic, kVersion, "qk_qgemm", [](const PackHeader &h, int64_t size) {
      return checkPackedCommon(
          h, size, kFlagUnsignedB | kFlagB7,
          [](const PackHeader &h) { return qk_qgemm_packed_size(h.K, h.N); });
    }};
