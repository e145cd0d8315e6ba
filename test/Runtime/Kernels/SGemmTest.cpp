//===- SGemmTest.cpp - qk_sgemm against a double reference ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Tolerance: any order of f32 summation of K products has an error below
// gamma_K * sum |a||b| with gamma_K ~ K * 2^-24 (the kernel blocks K, which
// only lowers the bound); the activations add at most a few ulps and have
// slopes below 1.2, hence 1.2 * (K + 2) * 2^-24 * sum |a||b| + 4 ulp.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace quantopt::kernels::test;

namespace {

double refAct(double x, int act) {
  switch (act) {
  case 1:
    return x > 0 ? x : 0;
  case 2:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case 3:
    return x / (1 + std::exp(-x));
  default:
    return x;
  }
}

void reference(const std::vector<float> &A, const std::vector<float> &B,
               const float *bias, int act, int64_t M, int64_t N, int64_t K,
               std::vector<double> &ref, std::vector<double> &tol) {
  ref.assign(M * N, 0);
  tol.assign(M * N, 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0, mag = bias ? std::fabs(bias[n]) : 0;
      for (int64_t k = 0; k < K; ++k) {
        s += double(A[m * K + k]) * B[k * N + n];
        mag += std::fabs(double(A[m * K + k]) * B[k * N + n]);
      }
      ref[m * N + n] = refAct(s, act);
      tol[m * N + n] = 1.2 * (K + 2) * 0x1p-24 * mag +
                       4 * 0x1p-24 * std::fabs(ref[m * N + n]) + 1e-30;
    }
}

void expectClose(const std::vector<float> &got, const std::vector<double> &ref,
                 const std::vector<double> &tol, const std::string &what) {
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i)
    if (!(std::fabs(got[i] - ref[i]) <= tol[i])) {
      ++failures;
      ADD_FAILURE() << what << " at " << i << ": got " << got[i] << " expected "
                    << ref[i] << " tol " << tol[i];
    }
}

std::vector<float> random(int64_t n, Rng &rng) {
  std::vector<float> v(n);
  for (auto &x : v)
    x = rng.uniform(-1.0f, 1.0f);
  return v;
}

} // namespace

// Tests awkward shapes with every activation, with and without bias.
TEST(SGemm, ShapesAndActivations) {
  const int64_t sizes[] = {1, 3, 17, 33, 64, 100, 257};
  Rng rng(7);
  int index = 0;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) {
        int act = index % 4;
        bool hasBias = (index / 4) % 2;
        ++index;
        std::vector<float> A = random(M * K, rng), B = random(K * N, rng),
                           bias = random(N, rng);
        std::vector<double> ref, tol;
        reference(A, B, hasBias ? bias.data() : nullptr, act, M, N, K, ref,
                  tol);
        AlignedBuffer packed(qk_sgemm_packed_size(K, N));
        qk_sgemm_pack_b(B.data(), K, N, packed.ptr);
        forEachConfig([&](const std::string &config) {
          std::vector<float> C(M * N, -5.0f);
          qk_sgemm(A.data(), M, packed.ptr, hasBias ? bias.data() : nullptr,
                   act, C.data());
          expectClose(
              C, ref, tol,
              config + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                  " K=" + std::to_string(K) + " act=" + std::to_string(act));
        });
      }
}

// Tests K deeper than one cache block.
TEST(SGemm, DeepK) {
  Rng rng(8);
  int64_t M = 70, N = 300, K = 1100;
  std::vector<float> A = random(M * K, rng), B = random(K * N, rng),
                     bias = random(N, rng);
  std::vector<double> ref, tol;
  reference(A, B, bias.data(), 1, M, N, K, ref, tol);
  AlignedBuffer packed(qk_sgemm_packed_size(K, N));
  qk_sgemm_pack_b(B.data(), K, N, packed.ptr);
  forEachConfig([&](const std::string &config) {
    std::vector<float> C(M * N);
    qk_sgemm(A.data(), M, packed.ptr, bias.data(), 1, C.data());
    expectClose(C, ref, tol, config);
  });
}

// Tests the batched form with strides larger than the matrices, for few
// large and many small products.
TEST(SGemm, Batched) {
  Rng rng(9);
  for (int64_t batch : {1, 3, 9}) {
    int64_t M = batch == 1 ? 130 : 17, N = batch == 1 ? 140 : 33,
            K = batch == 1 ? 300 : 64;
    int64_t sA = M * K + 5, sB = K * N + 3, sC = M * N + 7;
    std::vector<float> A = random(batch * sA, rng), B = random(batch * sB, rng);
    forEachConfig([&](const std::string &config) {
      std::vector<float> C(batch * sC, -3.0f);
      GuardedWorkspace ws(qk_sgemm_batched_workspace_bytes(batch, M, K, N));
      qk_sgemm_batched(A.data(), B.data(), C.data(), batch, M, K, N, sA, sB, sC,
                       ws.ptr, ws.bytes);
      EXPECT_TRUE(ws.intact()) << config;
      EXPECT_EQ(takeErrorCode(), 0) << config;
      for (int64_t b = 0; b < batch; ++b) {
        std::vector<float> a(A.begin() + b * sA, A.begin() + b * sA + M * K);
        std::vector<float> bb(B.begin() + b * sB, B.begin() + b * sB + K * N);
        std::vector<double> ref, tol;
        reference(a, bb, nullptr, 0, M, N, K, ref, tol);
        std::vector<float> c(C.begin() + b * sC, C.begin() + b * sC + M * N);
        expectClose(c, ref, tol, config + " batch " + std::to_string(b));
        // The gap between matrices is untouched.
        if (b + 1 < batch) {
          EXPECT_EQ(C[b * sC + M * N], -3.0f);
        }
      }
    });
  }
}
