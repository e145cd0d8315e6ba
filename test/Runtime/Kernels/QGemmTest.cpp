//===- QGemmTest.cpp - qk_qgemm against an int64 reference ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Every ISA path, at 1 and 2 threads, against a reference that accumulates
// in int64 straight from the unpacked operands. Integer outputs and f32
// outputs without a transcendental activation must match bit for bit; gelu
// and silu go through erf/exp, whose implementations may differ between the
// library and the test, so they get 2 ulp relative + 1e-6 absolute.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace quantopt::kernels::test;

namespace {

struct QCase {
  int64_t M = 1, N = 1, K = 1;
  bool aSigned = false, bSigned = true;
  bool aPerRow = false, aZp = true, bZp = false, bias = true;
  int32_t act = 0, outType = 0;
  float outScale = 0.05f;
  int32_t outZp = 0;
  std::vector<int32_t> A, B;   // values (stored as bytes)
  std::vector<int32_t> za, zb; // zero points
  std::vector<float> as, bs;   // scales
  std::vector<int32_t> biasV;
};

float refActivation(float r, int32_t act) {
  switch (act) {
  case 1:
    return r > 0.0f ? r : 0.0f;
  case 2:
    return 0.5f * r * (1.0f + std::erf(r * 0.70710678118654752440f));
  case 3:
    return r / (1.0f + std::exp(-r));
  default:
    return r;
  }
}

void fillRandom(QCase &c, Rng &rng) {
  auto val = [&](bool s) {
    return s ? rng.range(-128, 127) : rng.range(0, 255);
  };
  c.A.resize(c.M * c.K);
  c.B.resize(c.K * c.N);
  for (auto &v : c.A)
    v = static_cast<int32_t>(val(c.aSigned));
  for (auto &v : c.B)
    v = static_cast<int32_t>(val(c.bSigned));
  int64_t rows = c.aPerRow ? c.M : 1;
  c.za.assign(rows, 0);
  c.as.resize(rows);
  for (int64_t i = 0; i < rows; ++i) {
    if (c.aZp)
      c.za[i] = static_cast<int32_t>(val(c.aSigned));
    c.as[i] = rng.uniform(0.001f, 0.02f);
  }
  c.zb.assign(c.N, 0);
  c.bs.resize(c.N);
  c.biasV.assign(c.N, 0);
  for (int64_t n = 0; n < c.N; ++n) {
    if (c.bZp)
      c.zb[n] = static_cast<int32_t>(val(c.bSigned));
    c.bs[n] = rng.uniform(0.001f, 0.02f);
    if (c.bias)
      c.biasV[n] = static_cast<int32_t>(rng.range(-20000, 20000));
  }
}

/// Reference output as f32 (out_type 0) or integers stored in floats.
std::vector<float> reference(const QCase &c) {
  std::vector<float> out(c.M * c.N);
  for (int64_t m = 0; m < c.M; ++m) {
    int64_t ra = c.aPerRow ? m : 0;
    for (int64_t n = 0; n < c.N; ++n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < c.K; ++k)
        acc += static_cast<int64_t>(c.A[m * c.K + k] - c.za[ra]) *
               (c.B[k * c.N + n] - c.zb[n]);
      acc += c.biasV[n];
      float r = static_cast<float>(static_cast<int32_t>(acc)) * c.as[ra];
      r = r * c.bs[n];
      r = refActivation(r, c.act);
      if (c.outType == 0) {
        out[m * c.N + n] = r;
        continue;
      }
      double q = std::nearbyint(static_cast<double>(r / c.outScale)) + c.outZp;
      double lo = c.outType == 1 ? -128 : 0, hi = c.outType == 1 ? 127 : 255;
      out[m * c.N + n] = static_cast<float>(std::fmin(hi, std::fmax(lo, q)));
    }
  }
  return out;
}

/// Packs and runs the kernel, returning the output as floats.
std::vector<float> run(const QCase &c) {
  std::vector<uint8_t> a(c.A.size()), b(c.B.size());
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<uint8_t>(c.A[i]);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<uint8_t>(c.B[i]);
  std::vector<uint8_t> za(c.za.size());
  for (size_t i = 0; i < za.size(); ++i)
    za[i] = static_cast<uint8_t>(c.za[i]);
  AlignedBuffer packed(qk_qgemm_packed_size(c.K, c.N));
  qk_qgemm_pack_b(b.data(), c.bSigned, c.K, c.N, c.bZp ? c.zb.data() : nullptr,
                  c.bs.data(), c.bias ? c.biasV.data() : nullptr, packed.ptr);
  uint8_t outZp = static_cast<uint8_t>(c.outZp);
  std::vector<float> out(c.M * c.N);
  // Exactly the bytes the size function asks for, with a guard after them.
  GuardedWorkspace ws(qk_qgemm_workspace_bytes(c.M, c.K, c.N));
  auto finish = [&] {
    EXPECT_TRUE(ws.intact()) << "qk_qgemm wrote past its workspace";
    EXPECT_EQ(takeErrorCode(), 0);
  };
  if (c.outType == 0) {
    qk_qgemm(a.data(), c.M, c.aSigned, c.aZp ? za.data() : nullptr, c.as.data(),
             c.aPerRow, packed.ptr, c.act, 0, nullptr, nullptr, out.data(),
             ws.ptr, ws.bytes);
    finish();
    return out;
  }
  std::vector<uint8_t> q(c.M * c.N);
  qk_qgemm(a.data(), c.M, c.aSigned, c.aZp ? za.data() : nullptr, c.as.data(),
           c.aPerRow, packed.ptr, c.act, c.outType, &c.outScale, &outZp,
           q.data(), ws.ptr, ws.bytes);
  finish();
  for (size_t i = 0; i < q.size(); ++i)
    out[i] = c.outType == 1 ? static_cast<float>(static_cast<int8_t>(q[i]))
                            : static_cast<float>(q[i]);
  return out;
}

void check(const QCase &c, const std::string &what) {
  std::vector<float> ref = reference(c);
  forEachConfig([&](const std::string &config) {
    std::vector<float> got = run(c);
    int failures = 0;
    for (int64_t i = 0; i < c.M * c.N && failures < 5; ++i) {
      bool ok;
      if (c.outType == 0 && (c.act == 2 || c.act == 3))
        ok = std::fabs(got[i] - ref[i]) <=
             2 * 1.2e-7f * std::fabs(ref[i]) + 1e-6f;
      else
        ok = std::memcmp(&got[i], &ref[i], 4) == 0;
      if (!ok) {
        ++failures;
        ADD_FAILURE() << what << " " << config << " M=" << c.M << " N=" << c.N
                      << " K=" << c.K << " at (" << i / c.N << "," << i % c.N
                      << "): got " << got[i] << " expected " << ref[i];
      }
    }
  });
}

} // namespace

// Tests every shape combination from a list of awkward sizes, each with a
// different mix of signedness, zero points, bias, activation and output.
TEST(QGemm, ShapesAndOptions) {
  const int64_t sizes[] = {1, 3, 17, 33, 64, 100, 257};
  Rng rng(1);
  int index = 0;
  for (int64_t M : sizes) {
    for (int64_t N : sizes) {
      for (int64_t K : sizes) {
        QCase c;
        c.M = M;
        c.N = N;
        c.K = K;
        c.aSigned = index & 1;
        c.bSigned = (index >> 1) & 1;
        c.aPerRow = (index >> 2) & 1;
        c.aZp = rng.range(0, 3) != 0;
        c.bZp = rng.range(0, 1) != 0;
        c.bias = rng.range(0, 1) != 0;
        c.act = static_cast<int32_t>(index % 4);
        c.outType = static_cast<int32_t>((index / 4) % 3);
        c.outScale = rng.uniform(0.05f, 2.0f);
        c.outZp = static_cast<int32_t>(c.outType == 1 ? rng.range(-20, 20)
                                                      : rng.range(100, 150));
        fillRandom(c, rng);
        check(c, "case " + std::to_string(index));
        ++index;
      }
    }
  }
}

// Tests weights whose stored values fit in [-64, 64] (int8 in [-64, 64],
// uint8 in [64, 192]): the packer flags them and AVX2 then multiplies with
// vpmaddubsw, which cannot saturate for them. Every option combination, on
// every ISA path this CPU has, against the same reference.
TEST(QGemm, SevenBitWeights) {
  const int64_t sizes[] = {1, 5, 17, 64, 100};
  Rng rng(7);
  int index = 0;
  for (int64_t M : sizes) {
    for (int64_t N : {int64_t(1), int64_t(16), int64_t(33), int64_t(48)}) {
      for (int64_t K :
           {int64_t(1), int64_t(4), int64_t(31), int64_t(300), int64_t(1100)}) {
        QCase c;
        c.M = M;
        c.N = N;
        c.K = K;
        c.aSigned = index & 1;
        c.bSigned = (index >> 1) & 1;
        c.aPerRow = (index >> 2) & 1;
        c.bZp = (index >> 3) & 1;
        c.act = static_cast<int32_t>(index % 4);
        c.outType = static_cast<int32_t>((index / 4) % 3);
        c.outScale = rng.uniform(0.05f, 2.0f);
        c.outZp = static_cast<int32_t>(c.outType == 1 ? rng.range(-20, 20)
                                                      : rng.range(100, 150));
        fillRandom(c, rng);
        for (auto &v : c.B)
          v = static_cast<int32_t>(c.bSigned ? rng.range(-64, 64)
                                             : rng.range(64, 192));
        // The extremes, so that the largest pair sums occur.
        c.B[0] = c.bSigned ? -64 : 64;
        c.B.back() = c.bSigned ? 64 : 192;
        check(c, "7-bit case " + std::to_string(index));
        ++index;
      }
    }
  }
}

// Tests K deeper than one cache block and enough rows and columns for
// several row and column blocks per thread.
TEST(QGemm, LargeBlocks) {
  Rng rng(2);
  for (int outType : {0, 1, 2}) {
    QCase c;
    c.M = 203;
    c.N = 530;
    c.K = 2501;
    c.aSigned = outType == 1;
    c.bSigned = outType != 2;
    c.aPerRow = outType == 2;
    c.bZp = true;
    c.act = outType == 0 ? 0 : 1;
    c.outType = outType;
    c.outScale = 0.5f;
    c.outZp = outType == 2 ? 128 : 3;
    fillRandom(c, rng);
    for (auto &s : c.as)
      s *= 0.01f;
    check(c, "outType " + std::to_string(outType));
  }
}

// Tests that requantization saturates at both ends for int8 and uint8.
TEST(QGemm, Saturation) {
  Rng rng(3);
  for (int outType : {1, 2}) {
    QCase c;
    c.M = 13;
    c.N = 37;
    c.K = 70;
    c.outType = outType;
    c.outScale = 1e-3f;
    c.outZp = outType == 1 ? -5 : 7;
    fillRandom(c, rng);
    check(c, "saturation outType " + std::to_string(outType));
  }
}

// Tests round-half-to-even: with unit scales and out_scale 2, every odd
// accumulator lands exactly on x.5.
TEST(QGemm, TiesRoundToEven) {
  for (int outType : {1, 2}) {
    QCase c;
    c.M = 7;
    c.N = 41;
    c.K = 5;
    c.aSigned = true;
    c.bSigned = true;
    c.aZp = false;
    c.bias = true;
    c.outType = outType;
    c.outScale = 2.0f;
    c.outZp = outType == 1 ? 0 : 128;
    Rng rng(4);
    fillRandom(c, rng);
    for (auto &v : c.A)
      v = static_cast<int32_t>(rng.range(-3, 3));
    for (auto &v : c.B)
      v = static_cast<int32_t>(rng.range(-3, 3));
    for (auto &s : c.as)
      s = 1.0f;
    int ties = 0;
    for (int64_t n = 0; n < c.N; ++n) {
      c.bs[n] = 1.0f;
      c.biasV[n] = static_cast<int32_t>(rng.range(-40, 40));
    }
    std::vector<float> ref = reference(c);
    (void)ref;
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) {
        int64_t acc = c.biasV[n];
        for (int64_t k = 0; k < c.K; ++k)
          acc += c.A[m * c.K + k] * c.B[k * c.N + n];
        ties += (acc & 1) != 0;
      }
    EXPECT_GT(ties, 50);
    check(c, "ties");
    // Spot check the rule itself: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
    EXPECT_EQ(std::nearbyint(2.5f), 2.0f);
    EXPECT_EQ(std::nearbyint(3.5f), 4.0f);
    EXPECT_EQ(std::nearbyint(-2.5f), -2.0f);
  }
}

// Tests the extreme products: uint8 255 against int8 -128 with zero points
// at the opposite ends, where a saturating vpmaddubsw would be wrong.
TEST(QGemm, ExtremeValues) {
  for (bool aSigned : {false, true}) {
    for (bool bSigned : {false, true}) {
      QCase c;
      c.M = 9;
      c.N = 35;
      c.K = 131;
      c.aSigned = aSigned;
      c.bSigned = bSigned;
      c.aZp = true;
      c.bZp = true;
      c.bias = false;
      Rng rng(5);
      fillRandom(c, rng);
      for (size_t i = 0; i < c.A.size(); ++i)
        c.A[i] = aSigned ? (i % 3 ? 127 : -128) : (i % 3 ? 255 : 0);
      for (size_t i = 0; i < c.B.size(); ++i)
        c.B[i] = bSigned ? (i % 5 ? -128 : 127) : (i % 5 ? 0 : 255);
      c.za[0] = aSigned ? -128 : 0;
      for (auto &z : c.zb)
        z = bSigned ? 127 : 255;
      check(c, "extreme");
    }
  }
}

// Tests that the dispatcher reports a path and refuses unknown ones.
TEST(QGemm, Dispatch) {
  std::string isa = qk_isa();
  EXPECT_TRUE(isa == "scalar" || isa == "avx2" || isa == "avx512vnni");
  EXPECT_EQ(qk_force_isa(1), 1);
  EXPECT_STREQ(qk_isa(), "scalar");
  EXPECT_EQ(qk_force_isa(7), 0);
  EXPECT_EQ(qk_force_isa(0), 1);
  EXPECT_EQ(std::string(qk_isa()), isa);
}
