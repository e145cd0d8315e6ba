//===- WeightPacking.cpp - Weights in the GPU kernels' layouts ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/QNNToGPU/WeightPacking.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/MathExtras.h"

#include <cstring>

using namespace quantopt;
using namespace quantopt::qgpu;

uint16_t qgpu::toHalfBits(float v, bool &overflow, bool bf16) {
  llvm::APFloat f(v);
  bool lost = false;
  f.convert(bf16 ? llvm::APFloat::BFloat() : llvm::APFloat::IEEEhalf(),
            llvm::APFloat::rmNearestTiesToEven, &lost);
  overflow |= f.isInfinity() || f.isNaN();
  return static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
}

std::optional<PackedW4>
qgpu::packW4(llvm::ArrayRef<int8_t> w, bool isSigned,
             llvm::ArrayRef<float> scales,
             const std::optional<std::vector<int64_t>> &zeroPoints, int64_t K,
             int64_t N, int64_t group, bool bf16, std::string &why) {
  int64_t eff = group;
  if (group == 0 || group % 128 == 0)
    eff = 128; // per channel, per tensor or coarse groups: replicated
  else if (group != 32 && group != 64 && group != 128) {
    why = "group size " + std::to_string(group) +
          " (the kernel takes 32, 64, 128, multiples of 128, per channel)";
    return std::nullopt;
  }
  PackedW4 p;
  p.K = K;
  p.N = N;
  p.group = eff;
  p.Kpad = (K + kW4BlockK - 1) / kW4BlockK * kW4BlockK;
  p.Npad = (N + kW4BlockN - 1) / kW4BlockN * kW4BlockN;
  int64_t offset = isSigned ? 8 : 0;
  auto u = [&](int64_t k, int64_t n) -> uint32_t {
    if (k >= K || n >= N)
      return 0;
    return static_cast<uint32_t>(w[k * N + n] + offset) & 0xF;
  };
  int64_t T = p.Kpad / 16, J = p.Npad / 16;
  std::vector<uint32_t> words(J * T * 32);
  static const int fields[4][3] = {{0, 0, 0}, {4, 8, 0}, {8, 0, 8}, {12, 8, 8}};
  for (int64_t j = 0; j < J; ++j)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t l = 0; l < 32; ++l) {
        int64_t q = l % 4, r = l / 4;
        uint32_t word = 0;
        for (const auto &f : fields) {
          int64_t k = 16 * t + 2 * q + f[1], n = 16 * j + r + f[2];
          word |= u(k, n) << f[0];
          word |= u(k + 1, n) << (f[0] + 16);
        }
        // [nb][kt][t % 8][l][j % 4]
        int64_t nb = j / 4, kt = t / 8;
        words[((((nb * (T / 8) + kt) * 8 + t % 8) * 32 + l) * 4) + j % 4] =
            word;
      }
  p.words.resize(words.size() * 4);
  std::memcpy(p.words.data(), words.data(), p.words.size());

  int64_t groupsPad = p.Kpad / eff;
  std::vector<uint32_t> sw(p.Npad / kW4BlockN * groupsPad * kW4BlockN);
  bool overflow = false;
  // The magic number of the kernel's int4 -> float trick: 2^10 for f16
  // (mantissa step 1 in [1024, 2048)), 2^7 for bf16 ([128, 256)).
  float base = bf16 ? 128.0f : 1024.0f;
  uint16_t padZero = toHalfBits(base, overflow, bf16);
  for (int64_t nb = 0; nb < p.Npad / kW4BlockN; ++nb)
    for (int64_t g = 0; g < groupsPad; ++g)
      for (int64_t jj = 0; jj < kW4BlockN; ++jj) {
        int64_t n = nb * kW4BlockN + jj, k = g * eff;
        uint32_t word = uint32_t(padZero) << 16;
        if (n < N && k < K) {
          int64_t idx = scales.size() == 1 ? 0
                        : group == 0       ? n
                                           : (k / group) * N + n;
          float zp = static_cast<float>(offset);
          if (zeroPoints)
            zp += static_cast<float>(
                (*zeroPoints)[zeroPoints->size() == 1 ? 0 : idx]);
          word = toHalfBits(scales[idx], overflow, bf16) |
                 (uint32_t(toHalfBits(base + zp, overflow, bf16)) << 16);
        }
        // [nb][g][r][i] for the block's column jj = 8i + r.
        sw[(nb * groupsPad + g) * kW4BlockN + (jj % 8) * 8 + jj / 8] = word;
      }
  if (overflow) {
    why = "a scale outside the f16 range";
    return std::nullopt;
  }
  p.scales.resize(sw.size() * 4);
  std::memcpy(p.scales.data(), sw.data(), p.scales.size());
  return p;
}

int64_t qgpu::mma8Offset(int64_t k, int64_t n, int64_t Kpad, bool wgmma) {
  int64_t numKT = Kpad / kMMA8BlockK;
  int64_t nb = n / 128, nn = n % 128, wn = nn / 32, nt = nn % 32 / 8;
  int64_t kt = k / 64, kk = k % 64, ks = kk / 32, k32 = kk % 32;
  // The warpgroup kernel's shared-memory image (MMA8WGKernel.mlir):
  // K-major core matrices, [k / 16][n][k % 16] within the k-tile.
  if (wgmma)
    return (nb * numKT + kt) * 8192 + (kk / 16) * 2048 + nn * 16 + kk % 16;
  int64_t reg = k32 / 16, q = k32 % 16 / 4, j = k32 % 4;
  int64_t lane = (nn % 8) * 4 + q, h = nt / 2, t = nt % 2;
  return (nb * numKT + kt) * 8192 +
         ((((ks * 4 + wn) * 2 + h) * 32 + lane) * 2 + t) * 8 + reg * 4 + j;
}

PackedMMA8 qgpu::packMMA8(llvm::ArrayRef<int8_t> values, int64_t K, int64_t N,
                          llvm::ArrayRef<int32_t> bias, bool wgmma) {
  PackedMMA8 p;
  p.Kpad = llvm::alignTo(K, kMMA8BlockK);
  p.Npad = llvm::alignTo(N, kMMA8BlockN);
  p.words.assign(p.Npad * p.Kpad, 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      p.words[mma8Offset(k, n, p.Kpad, wgmma)] =
          static_cast<char>(values[k * N + n]);
  std::vector<int32_t> cols(2 * p.Npad, 0);
  for (int64_t n = 0; n < N; ++n) {
    uint32_t sum = 0;
    for (int64_t k = 0; k < K; ++k)
      sum += static_cast<uint32_t>(static_cast<int32_t>(values[k * N + n]));
    cols[n] = static_cast<int32_t>(sum);
    cols[p.Npad + n] = bias.empty() ? 0 : bias[n];
  }
  p.columns.resize(cols.size() * 4);
  std::memcpy(p.columns.data(), cols.data(), p.columns.size());
  return p;
}
