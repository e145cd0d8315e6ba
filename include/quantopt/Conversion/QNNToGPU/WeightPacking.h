//===- WeightPacking.h - Weights in the GPU kernels' layouts ----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Compile-time packing of constant weights into the order the hand-written
// GPU kernels' tensor-core fragments read (docs/GPUBackend.md). Plain data
// in, bytes out: no MLIR IR, so the layouts are unit-tested on their own
// (test/unit/GPUWeightPackingTest.cpp) against the numpy layout replays of
// test/gpu/w4a16_layout.py and mma8_layout.py.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOGPU_WEIGHTPACKING_H
#define QUANTOPT_CONVERSION_QNNTOGPU_WEIGHTPACKING_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace quantopt::qgpu {

/// Columns per block and k per pipeline stage of the W4A16 kernel.
constexpr int64_t kW4BlockN = 64, kW4BlockK = 128;
/// Tile sizes of the 8-bit kernel (MMA8Kernel.mlir).
constexpr int64_t kMMA8BlockM = 128, kMMA8BlockN = 128, kMMA8BlockK = 64;

/// `v` rounded to f16 (or bf16) to nearest even, as bits; `overflow` is set
/// when the result is infinite or NaN.
uint16_t toHalfBits(float v, bool &overflow, bool bf16 = false);

/// A weight in the W4A16 kernel's layout (docs/GPUBackend.md, "W4A16
/// kernel").
struct PackedW4 {
  int64_t K, N, Kpad, Npad, group;
  /// uint32 [Npad/64][Kpad/128][8 steps][32 lanes][4 groups]: for the
  /// column group j (16 columns) of block nb and the k16 step t of k-tile
  /// kt, lane l (q = l % 4, r = l / 4) holds the nibbles of (k, n) =
  /// (2q, r), (2q+8, r), (2q, r+8), (2q+8, r+8) in bits 0-15 (4 bits each,
  /// in that order) and those of k + 1 in bits 16-31 (k relative to the
  /// step, n to the group). A block's k-tile is 4 KiB, contiguous.
  std::vector<char> words;
  /// uint32 [Npad/64][Kpad/group][8 r][8 i] for column 8i + r of the block:
  /// f16 scale in bits 0-15, f16 (1024 + zero point) in bits 16-31 (bf16
  /// kernel: bf16 scale and bf16 (128 + zero point)); padding has scale 0.
  std::vector<char> scales;
};

/// Packs a [K, N] int4 weight (values as bytes, `isSigned` for i4) with
/// scales and zero points in the qnn op's layouts (`group` 0: per channel,
/// or one scale). Returns std::nullopt with `why` set when the kernel
/// cannot take it (group size, a scale outside the f16 range).
std::optional<PackedW4>
packW4(llvm::ArrayRef<int8_t> w, bool isSigned, llvm::ArrayRef<float> scales,
       const std::optional<std::vector<int64_t>> &zeroPoints, int64_t K,
       int64_t N, int64_t group, bool bf16, std::string &why);

/// A [K, N] 8-bit weight in the 8-bit kernel's layout (docs/GPUBackend.md):
/// bytes [Npad/128][Kpad/64][ks 2][wn 4][h 2][lane 32][t 2][reg 2][4], where
/// byte j of register reg of n8 tile 2h + t of warp column wn holds
/// B'[k][n] for k = 64 kt + 32 ks + 4 (lane % 4) + 16 reg + j and
/// n = 128 nb + 32 wn + 8 (2h + t) + lane / 4 (zero outside [K, N]); and
/// the column terms [Npad] i32 colsum(B') then [Npad] i32 bias. The
/// warpgroup kernel's image (`wgmma`) is K-major core matrices instead:
/// [Npad/128][Kpad/64][k / 16][n][k % 16].
struct PackedMMA8 {
  int64_t Kpad, Npad;
  std::vector<char> words;
  std::vector<char> columns;
};

/// Packs `values` ([K, N], row-major, already minus their zero point).
PackedMMA8 packMMA8(llvm::ArrayRef<int8_t> values, int64_t K, int64_t N,
                    llvm::ArrayRef<int32_t> bias, bool wgmma);

/// The byte offset of B'[k][n] in PackedMMA8::words.
int64_t mma8Offset(int64_t k, int64_t n, int64_t Kpad, bool wgmma);

} // namespace quantopt::qgpu

#endif // QUANTOPT_CONVERSION_QNNTOGPU_WEIGHTPACKING_H
