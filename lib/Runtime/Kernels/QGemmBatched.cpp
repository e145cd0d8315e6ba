//===- QGemmBatched.cpp - Integer matmul of two activations --------------===//
//
// Part of the QuantOpt project.
//
// qk_qgemm_batched packs each right-hand matrix at run time with the same
// packing the compiler uses for constant weights, then runs qk_qgemm on it,
// so both paths share one micro-kernel and one epilogue. Everything lives
// in the caller's workspace: the per-column zero points and scales (shared),
// and per worker thread a packed right operand and qk_qgemm's workspace.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Runtime/Kernels.h"

#include "KernelsInternal.h"

#include <algorithm>
#include <cstdint>

using namespace quantopt::kernels;

namespace {

/// Many small batch items (attention heads): items in parallel, each on the
/// thread that runs it. Few large ones: one after another, each on every
/// thread.
struct BatchedPlan {
  bool perItem;
  /// Workers of the batch loop (1 unless perItem) and of each qk_qgemm.
  int workers, innerThreads;
  int64_t shared, slice;
};

BatchedPlan planFor(int64_t batch, int64_t M, int64_t K, int64_t N) {
  double work = static_cast<double>(M) * N * K;
  BatchedPlan p;
  p.perItem = batch > 1 && work < 64.0e6;
  p.workers =
      p.perItem ? static_cast<int>(std::min<int64_t>(numThreads(), batch)) : 1;
  p.innerThreads = p.perItem ? 1 : threadsFor(work);
  // zero points (int32) and scales (f32) per column.
  p.shared = 2 * roundUp(sizeMul(N, 4), 64);
  p.slice = sizeAdd(roundUp(qk_qgemm_packed_size(K, N), 64),
                    qgemmWorkspaceBytes(M, K, N, p.innerThreads));
  return p;
}

} // namespace

extern "C" {

int64_t qk_qgemm_batched_workspace_bytes(int64_t batch, int64_t M, int64_t K,
                                         int64_t N) {
  if (batch <= 0 || M <= 0 || N <= 0)
    return 0;
  BatchedPlan p = planFor(batch, M, K, N);
  return workspaceBytes(p.shared, p.slice, p.workers);
}

void qk_qgemm_batched(const void *A, const void *B, void *C, int64_t batch,
                      int64_t M, int64_t K, int64_t N, int32_t a_signed,
                      const void *a_zero_point, const float *a_scale,
                      int32_t b_signed, const void *b_zero_point,
                      const float *b_scale, int32_t out_type,
                      const float *out_scale, const void *out_zero_point,
                      void *workspace, int64_t workspace_bytes) {
  if (batch <= 0 || M <= 0 || N <= 0)
    return;
  BatchedPlan p = planFor(batch, M, K, N);
  Workspace ws = carveWorkspace(workspace, workspace_bytes, p.shared, p.slice,
                                p.workers, "qk_qgemm_batched");
  if (!ws.workers)
    return;
  int32_t zb = b_signed ? *static_cast<const int8_t *>(b_zero_point)
                        : *static_cast<const uint8_t *>(b_zero_point);
  auto *zeroPoints = reinterpret_cast<int32_t *>(ws.shared);
  auto *scales = reinterpret_cast<float *>(ws.shared + p.shared / 2);
  std::fill(zeroPoints, zeroPoints + N, zb);
  std::fill(scales, scales + N, *b_scale);
  int64_t packedBytes = roundUp(qk_qgemm_packed_size(K, N), 64);
  int64_t outBytes = out_type == 0 ? sizeof(float) : 1;
  const auto *a = static_cast<const int8_t *>(A);
  const auto *b = static_cast<const int8_t *>(B);
  auto *c = static_cast<int8_t *>(C);
  auto one = [&](int64_t i, int worker) {
    // 64-byte aligned, as the packed layout requires.
    char *packed = ws.slice(worker);
    qk_qgemm_pack_b(b + i * K * N, b_signed, K, N, zeroPoints, scales, nullptr,
                    packed);
    qgemmImpl(a + i * M * K, M, a_signed, a_zero_point, a_scale,
              /*a_per_row=*/0, packed, /*activation=*/0, out_type, out_scale,
              out_zero_point, c + i * M * N * outBytes, packed + packedBytes,
              ws.sliceBytes - packedBytes, p.perItem ? 1 : numThreads());
  };
  if (p.perItem) {
    parallelFor(batch, ws.workers, one);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    one(i, 0);
}

} // extern "C"
