//===- QGemmBatchedTest.cpp - qk_qgemm_batched vs a reference -------------===//
//
// Part of the QuantOpt project.
//
// The reference is written here from the documented semantics (int64
// accumulation of zero-point-corrected products, then (float(acc) * sa) * sb
// and ONNX QuantizeLinear); int8/uint8 outputs must match exactly, f32
// outputs bit for bit (the same two float multiplications in the same
// order).
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace quantopt::kernels::test;

struct Case {
  int64_t batch, m, k, n;
  bool aSigned, bSigned;
  int32_t outType; // 0 f32, 1 int8, 2 uint8
};

class QGemmBatched : public ::testing::TestWithParam<Case> {};

TEST_P(QGemmBatched, MatchesReference) {
  const Case c = GetParam();
  std::mt19937 rng(42);
  auto byte = [&](bool isSigned) {
    return isSigned ? int(rng() % 256) - 128 : int(rng() % 256);
  };
  std::vector<int8_t> a(c.batch * c.m * c.k), b(c.batch * c.k * c.n);
  for (auto &v : a)
    v = static_cast<int8_t>(byte(c.aSigned));
  for (auto &v : b)
    v = static_cast<int8_t>(byte(c.bSigned));
  int8_t za = static_cast<int8_t>(c.aSigned ? -3 : 131);
  int8_t zb = static_cast<int8_t>(c.bSigned ? 5 : 120);
  float sa = 0.0173f, sb = 0.0091f, so = 0.37f;
  int8_t zo = static_cast<int8_t>(c.outType == 2 ? 128 : -2);
  int64_t outBytes = c.outType == 0 ? 4 : 1;
  auto value = [](int8_t v, bool isSigned) {
    return isSigned ? int64_t(v) : int64_t(uint8_t(v));
  };
  // Every ISA path and 1 or 2 threads, with exactly the workspace the size
  // function asks for.
  forEachConfig([&](const std::string &config) {
    SCOPED_TRACE(config);
    std::vector<uint8_t> out(c.batch * c.m * c.n * outBytes);
    GuardedWorkspace ws(
        qk_qgemm_batched_workspace_bytes(c.batch, c.m, c.k, c.n));
    qk_qgemm_batched(a.data(), b.data(), out.data(), c.batch, c.m, c.k, c.n,
                     c.aSigned, &za, &sa, c.bSigned, &zb, &sb, c.outType, &so,
                     &zo, ws.ptr, ws.bytes);
    ASSERT_TRUE(ws.intact());
    ASSERT_EQ(takeErrorCode(), 0);
    for (int64_t i = 0; i < c.batch; ++i)
      for (int64_t m = 0; m < c.m; ++m)
        for (int64_t n = 0; n < c.n; ++n) {
          int64_t acc = 0;
          for (int64_t k = 0; k < c.k; ++k)
            acc += (value(a[(i * c.m + m) * c.k + k], c.aSigned) -
                    value(za, c.aSigned)) *
                   (value(b[(i * c.k + k) * c.n + n], c.bSigned) -
                    value(zb, c.bSigned));
          float r = (float(int32_t(acc)) * sa) * sb;
          int64_t idx = (i * c.m + m) * c.n + n;
          if (c.outType == 0) {
            float got;
            std::memcpy(&got, &out[idx * 4], 4);
            ASSERT_EQ(got, r) << "b=" << i << " m=" << m << " n=" << n;
            continue;
          }
          bool outSigned = c.outType == 1;
          double q = std::nearbyint(double(r / so)) + value(zo, outSigned);
          q = std::min<double>(std::max<double>(q, outSigned ? -128 : 0),
                               outSigned ? 127 : 255);
          ASSERT_EQ(value(int8_t(out[idx]), outSigned), int64_t(q))
              << "b=" << i << " m=" << m << " n=" << n;
        }
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, QGemmBatched,
    ::testing::Values(Case{1, 1, 1, 1, false, true, 0},
                      Case{3, 8, 16, 8, false, true, 2},
                      Case{2, 17, 33, 13, true, true, 1},
                      Case{4, 32, 64, 32, false, false, 0},
                      Case{2, 64, 17, 100, true, false, 1}));

} // namespace
