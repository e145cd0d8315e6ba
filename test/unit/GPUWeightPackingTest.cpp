//===- GPUWeightPackingTest.cpp - GPU weight layouts ----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The packers of lib/Conversion/QNNToGPU/WeightPacking.cpp against the
// layouts as test/gpu/w4a16_layout.py and mma8_layout.py write them (numpy
// reshapes and transposes, replayed here as nested loops in the packed
// order), and round trips through an unpacker.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/QNNToGPU/WeightPacking.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace quantopt::qgpu;

namespace {

std::vector<int8_t> randomWeights(int64_t K, int64_t N, int lo, int hi,
                                  unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> w(K * N);
  for (int8_t &v : w)
    v = static_cast<int8_t>(d(rng));
  return w;
}

uint32_t word(const std::vector<char> &bytes, int64_t i) {
  uint32_t w;
  std::memcpy(&w, bytes.data() + 4 * i, 4);
  return w;
}

// mma8_layout.pack_weights: w.reshape(Kp/64, 2, 2, 4, 4, Np/128, 4, 2, 2, 8)
// [kt, ks, reg, q, j, nb, wn, h, t, g] transposed to
// [nb, kt, ks, wn, h, g, q, t, reg, j].
TEST(GPUWeightPacking, MMA8MatchesNumpyLayout) {
  const int64_t K = 96, N = 200;
  std::vector<int8_t> w = randomWeights(K, N, -128, 127, 1);
  PackedMMA8 p = packMMA8(w, K, N, {}, /*wgmma=*/false);
  ASSERT_EQ(p.Kpad, 128);
  ASSERT_EQ(p.Npad, 256);
  ASSERT_EQ(static_cast<int64_t>(p.words.size()), p.Kpad * p.Npad);
  int64_t i = 0;
  for (int64_t nb = 0; nb < p.Npad / 128; ++nb)
    for (int64_t kt = 0; kt < p.Kpad / 64; ++kt)
      for (int64_t ks = 0; ks < 2; ++ks)
        for (int64_t wn = 0; wn < 4; ++wn)
          for (int64_t h = 0; h < 2; ++h)
            for (int64_t g = 0; g < 8; ++g)
              for (int64_t q = 0; q < 4; ++q)
                for (int64_t t = 0; t < 2; ++t)
                  for (int64_t reg = 0; reg < 2; ++reg)
                    for (int64_t j = 0; j < 4; ++j, ++i) {
                      int64_t k = 64 * kt + 32 * ks + 16 * reg + 4 * q + j;
                      int64_t n = 128 * nb + 32 * wn + 16 * h + 8 * t + g;
                      int8_t expect = k < K && n < N ? w[k * N + n] : 0;
                      ASSERT_EQ(static_cast<int8_t>(p.words[i]), expect)
                          << "k " << k << " n " << n;
                    }
}

// mma8_layout.pack_weights_wg: [nb][kt][kc][n 128][j 16], k = 64 kt +
// 16 kc + j.
TEST(GPUWeightPacking, MMA8WarpgroupMatchesNumpyLayout) {
  const int64_t K = 64, N = 130;
  std::vector<int8_t> w = randomWeights(K, N, -128, 127, 2);
  PackedMMA8 p = packMMA8(w, K, N, {}, /*wgmma=*/true);
  int64_t i = 0;
  for (int64_t nb = 0; nb < p.Npad / 128; ++nb)
    for (int64_t kt = 0; kt < p.Kpad / 64; ++kt)
      for (int64_t kc = 0; kc < 4; ++kc)
        for (int64_t nn = 0; nn < 128; ++nn)
          for (int64_t j = 0; j < 16; ++j, ++i) {
            int64_t k = 64 * kt + 16 * kc + j, n = 128 * nb + nn;
            int8_t expect = k < K && n < N ? w[k * N + n] : 0;
            ASSERT_EQ(static_cast<int8_t>(p.words[i]), expect);
          }
}

// mma8_layout.pack_columns: [Npad] column sums, then [Npad] bias.
TEST(GPUWeightPacking, MMA8ColumnTerms) {
  const int64_t K = 32, N = 3;
  std::vector<int8_t> w = randomWeights(K, N, -128, 127, 3);
  std::vector<int32_t> bias = {7, -9, 1 << 20};
  PackedMMA8 p = packMMA8(w, K, N, bias, /*wgmma=*/false);
  for (int64_t n = 0; n < p.Npad; ++n) {
    int32_t sum = 0;
    for (int64_t k = 0; n < N && k < K; ++k)
      sum += w[k * N + n];
    EXPECT_EQ(static_cast<int32_t>(word(p.columns, n)), sum);
    EXPECT_EQ(static_cast<int32_t>(word(p.columns, p.Npad + n)),
              n < N ? bias[n] : 0);
  }
}

// w4a16_layout.pack_weights: words [nb][kt][t % 8][lane][j % 4], lane l
// (q = l % 4, r = l / 4) with nibbles (2q, r), (2q+8, r), (2q, r+8),
// (2q+8, r+8) in bits 0-15 and k + 1 in bits 16-31. Unpacked back to the
// weight, every element is found once.
TEST(GPUWeightPacking, W4A16RoundTrip) {
  const int64_t K = 136, N = 72;
  std::vector<int8_t> w = randomWeights(K, N, -8, 7, 4);
  std::vector<float> scales(N, 0.5f);
  std::string why;
  std::optional<PackedW4> p =
      packW4(w, /*isSigned=*/true, scales, std::nullopt, K, N, /*group=*/0,
             /*bf16=*/false, why);
  ASSERT_TRUE(p) << why;
  ASSERT_EQ(p->Kpad, 256);
  ASSERT_EQ(p->Npad, 128);
  std::vector<int> seen(p->Kpad * p->Npad, -1);
  const int fields[4][3] = {{0, 0, 0}, {4, 8, 0}, {8, 0, 8}, {12, 8, 8}};
  int64_t T = p->Kpad / 16, i = 0;
  for (int64_t nb = 0; nb < p->Npad / 64; ++nb)
    for (int64_t kt = 0; kt < T / 8; ++kt)
      for (int64_t ts = 0; ts < 8; ++ts)
        for (int64_t l = 0; l < 32; ++l)
          for (int64_t jj = 0; jj < 4; ++jj, ++i) {
            uint32_t v = word(p->words, i);
            int64_t t = 8 * kt + ts, j = 4 * nb + jj, q = l % 4, r = l / 4;
            for (const auto &f : fields)
              for (int hi = 0; hi < 2; ++hi) {
                int64_t k = 16 * t + 2 * q + f[1] + hi, n = 16 * j + r + f[2];
                int nib = (v >> (f[0] + 16 * hi)) & 0xF;
                ASSERT_EQ(seen[k * p->Npad + n], -1);
                seen[k * p->Npad + n] = nib;
              }
          }
  for (int64_t k = 0; k < p->Kpad; ++k)
    for (int64_t n = 0; n < p->Npad; ++n) {
      int expect = k < K && n < N ? w[k * N + n] + 8 : 0;
      ASSERT_EQ(seen[k * p->Npad + n], expect) << "k " << k << " n " << n;
    }
}

// w4a16_layout.pack_scales: [nb][g][r][i] for column 8i + r; f16 scale in
// bits 0-15, f16 (1024 + zero) in 16-31; padding scale 0, zero 1024.
TEST(GPUWeightPacking, W4A16Scales) {
  const int64_t K = 128, N = 10, group = 64;
  std::vector<int8_t> w(K * N, 3);
  std::vector<float> scales(2 * N);
  for (int64_t i = 0; i < 2 * N; ++i)
    scales[i] = 0.25f * static_cast<float>(i + 1);
  std::optional<std::vector<int64_t>> zps = std::vector<int64_t>{2};
  std::string why;
  std::optional<PackedW4> p = packW4(w, /*isSigned=*/false, scales, zps, K, N,
                                     group, /*bf16=*/false, why);
  ASSERT_TRUE(p) << why;
  bool overflow = false;
  for (int64_t g = 0; g < 2; ++g)
    for (int64_t col = 0; col < 64; ++col) {
      uint32_t v = word(p->scales, g * 64 + (col % 8) * 8 + col / 8);
      uint16_t s = col < N ? toHalfBits(scales[g * N + col], overflow) : 0;
      uint16_t z = toHalfBits(col < N ? 1026.0f : 1024.0f, overflow);
      EXPECT_EQ(v & 0xFFFF, s) << "group " << g << " column " << col;
      EXPECT_EQ(v >> 16, z) << "group " << g << " column " << col;
    }
  EXPECT_FALSE(overflow);
}

TEST(GPUWeightPacking, W4A16Rejects) {
  std::vector<int8_t> w(64 * 8, 1);
  std::string why;
  EXPECT_FALSE(packW4(w, true, std::vector<float>(8, 1.0f), std::nullopt, 64, 8,
                      /*group=*/48, false, why));
  EXPECT_NE(why.find("group size 48"), std::string::npos);
  why.clear();
  EXPECT_FALSE(packW4(w, true, std::vector<float>(8, 1e6f), std::nullopt, 64, 8,
                      0, false, why));
  EXPECT_EQ(why, "a scale outside the f16 range");
}

TEST(GPUWeightPacking, HalfBits) {
  bool overflow = false;
  EXPECT_EQ(toHalfBits(1.0f, overflow), 0x3C00);
  EXPECT_EQ(toHalfBits(1024.0f, overflow), 0x6400);
  EXPECT_EQ(toHalfBits(1.0f, overflow, /*bf16=*/true), 0x3F80);
  // Ties to even: 1 + 2^-11 rounds down to 1 in f16.
  EXPECT_EQ(toHalfBits(1.0f + 1.0f / 2048.0f, overflow), 0x3C00);
  EXPECT_FALSE(overflow);
  toHalfBits(70000.0f, overflow);
  EXPECT_TRUE(overflow);
}

} // namespace
