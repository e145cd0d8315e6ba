//===- WeightOnlyTest.cpp - qk_wo_matmul against a double reference -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Tolerance: the kernel computes, per group, s * sum_k a * w_u (w_u the
// stored unsigned value, w + 8 or w + 128 for signed weights) and
// subtracts s * zp' * sum_k a (zp' likewise offset), all in f32 with
// blocked partial sums. Each of those sums has a rounding error of a few
// f32 ulps of its magnitude, s * sum |a| * (|w_u| + |zp'|), so the bound is
// 1e-5 of that (about 80 ulps: generous for K in the thousands, and still
// 1000x tighter than what int8 activations would give). It is never below
// 1e-5 of the contract's sum |a| |w - zp| s.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace quantopt::kernels::test;

namespace {

struct WoCase {
  int64_t M, N, K;
  int bits;
  bool wSigned;
  int64_t group;
  bool zp, bias;
};

void checkCase(const WoCase &c, uint64_t seed) {
  Rng rng(seed);
  int64_t lo = c.wSigned ? -(1 << (c.bits - 1)) : 0;
  int64_t hi = c.wSigned ? (1 << (c.bits - 1)) - 1 : (1 << c.bits) - 1;
  int64_t off = c.wSigned ? 1 << (c.bits - 1) : 0;
  std::vector<int8_t> W(c.K * c.N);
  std::vector<int32_t> w(c.K * c.N);
  for (size_t i = 0; i < W.size(); ++i) {
    w[i] = static_cast<int32_t>(rng.range(lo, hi));
    W[i] = static_cast<int8_t>(w[i]);
  }
  int64_t gs = c.group ? c.group : c.K;
  int64_t G = c.group ? (c.K + c.group - 1) / c.group : 1;
  std::vector<float> sc(G * c.N);
  std::vector<int32_t> zp(G * c.N, 0);
  for (auto &s : sc)
    s = rng.uniform(0.001f, 0.05f);
  if (c.zp)
    for (auto &z : zp)
      z = static_cast<int32_t>(rng.range(lo, hi));
  std::vector<float> A(c.M * c.K), bias(c.N);
  for (auto &a : A)
    a = rng.uniform(-2.0f, 2.0f);
  for (auto &b : bias)
    b = rng.uniform(-1.0f, 1.0f);

  std::vector<double> ref(c.M * c.N), tol(c.M * c.N);
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      double s = c.bias ? bias[n] : 0.0, mag = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        int64_t g = k / gs;
        double scale = sc[g * c.N + n];
        int32_t z = zp[g * c.N + n];
        double a = A[m * c.K + k];
        s += a * (w[k * c.N + n] - z) * scale;
        mag += std::fabs(a) * scale *
               (std::fabs(double(w[k * c.N + n] + off)) +
                std::fabs(double(z + off)));
      }
      ref[m * c.N + n] = s;
      tol[m * c.N + n] = 1e-5 * mag + 1e-6 * std::fabs(s) + 1e-7;
    }

  AlignedBuffer packed(qk_wo_packed_size(c.K, c.N, c.bits, c.group));
  qk_wo_pack(W.data(), c.wSigned, c.bits, c.K, c.N, c.group, sc.data(),
             c.zp ? zp.data() : nullptr, packed.ptr);
  forEachConfig([&](const std::string &config) {
    std::vector<float> C(c.M * c.N, -777.0f);
    GuardedWorkspace ws(qk_wo_workspace_bytes(c.M, c.K, c.bits, c.group));
    qk_wo_matmul(A.data(), c.M, packed.ptr, c.bias ? bias.data() : nullptr,
                 C.data(), ws.ptr, ws.bytes);
    EXPECT_TRUE(ws.intact()) << config;
    EXPECT_EQ(takeErrorCode(), 0) << config;
    int failures = 0;
    for (int64_t i = 0; i < c.M * c.N && failures < 5; ++i) {
      if (std::fabs(C[i] - ref[i]) <= tol[i])
        continue;
      ++failures;
      ADD_FAILURE() << config << " M=" << c.M << " N=" << c.N << " K=" << c.K
                    << " bits=" << c.bits << " signed=" << c.wSigned
                    << " group=" << c.group << " zp=" << c.zp << " at ("
                    << i / c.N << "," << i % c.N << "): got " << C[i]
                    << " expected " << ref[i] << " tol " << tol[i];
    }
  });
}

} // namespace

// Tests int4 and int8, signed and unsigned, per channel and groups of
// 32/64/128 with K not a multiple of the group, awkward M and N.
TEST(WeightOnly, ShapesAndOptions) {
  const int64_t Ms[] = {1, 2, 3, 5, 16, 17};
  const int64_t Ns[] = {1, 3, 17, 33, 100};
  const int64_t Ks[] = {1, 33, 100, 257};
  uint64_t seed = 1;
  for (int bits : {4, 8})
    for (int64_t group : {0, 32, 64, 128})
      for (int64_t K : Ks)
        for (int64_t N : Ns) {
          int64_t M = Ms[seed % 6];
          WoCase c{M,
                   N,
                   K,
                   bits,
                   (seed & 1) != 0,
                   group,
                   (seed & 2) != 0,
                   (seed & 4) != 0};
          checkCase(c, seed++);
        }
}

// Tests the decode shapes, large enough for several tasks per thread.
TEST(WeightOnly, DecodeShapes) {
  checkCase({1, 1000, 1024, 4, true, 32, true, true}, 101);
  checkCase({1, 520, 2000, 4, false, 128, true, false}, 102);
  checkCase({4, 333, 1500, 8, true, 0, false, true}, 103);
  checkCase({16, 260, 700, 4, true, 64, false, true}, 104);
}

// Tests odd group sizes that do not fill whole 32-bit words.
TEST(WeightOnly, OddGroupSizes) {
  checkCase({3, 19, 50, 4, true, 12, true, true}, 201);
  checkCase({2, 9, 31, 8, false, 6, true, false}, 202);
  checkCase({1, 8, 7, 4, false, 3, false, false}, 203);
}
