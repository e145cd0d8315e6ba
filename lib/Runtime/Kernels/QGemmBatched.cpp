//===- QGemmBatched.cpp - Integer matmul of two activations --------------===//
//
// Part of the QuantOpt project.
//
// qk_qgemm_batched packs each right-hand matrix at run time with the same
// packing the compiler uses for constant weights, then runs qk_qgemm on it,
// so both paths share one micro-kernel and one epilogue.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Runtime/Kernels.h"

#include "KernelsInternal.h"

#include <cstdint>
#include <vector>

extern "C" void qk_qgemm_batched(const void *A, const void *B, void *C,
                                 int64_t batch, int64_t M, int64_t K, int64_t N,
                                 int32_t a_signed, const void *a_zero_point,
                                 const float *a_scale, int32_t b_signed,
                                 const void *b_zero_point, const float *b_scale,
                                 int32_t out_type, const float *out_scale,
                                 const void *out_zero_point) {
  int32_t zb = b_signed ? *static_cast<const int8_t *>(b_zero_point)
                        : *static_cast<const uint8_t *>(b_zero_point);
  std::vector<int32_t> zeroPoints(N, zb);
  std::vector<float> scales(N, *b_scale);
  int64_t packedBytes = qk_qgemm_packed_size(K, N);
  int64_t outBytes = out_type == 0 ? sizeof(float) : 1;
  const auto *a = static_cast<const int8_t *>(A);
  const auto *b = static_cast<const int8_t *>(B);
  auto *c = static_cast<int8_t *>(C);
  // Batch items (attention heads) in parallel; each one is small, so its
  // own qk_qgemm stays on the thread that runs it.
  quantopt::kernels::parallelFor(
      batch, batch > 1 ? quantopt::kernels::numThreads() : 1, [&](int64_t i) {
        // 64-byte aligned, as the packed layout requires; per thread.
        void *packed = quantopt::kernels::scratch(
            quantopt::kernels::kScratchPackedB, packedBytes);
        if (!packed)
          return; // reported by scratch()
        qk_qgemm_pack_b(b + i * K * N, b_signed, K, N, zeroPoints.data(),
                        scales.data(), nullptr, packed);
        qk_qgemm(a + i * M * K, M, a_signed, a_zero_point, a_scale,
                 /*a_per_row=*/0, packed, /*activation=*/0, out_type, out_scale,
                 out_zero_point, c + i * M * N * outBytes);
      });
}
