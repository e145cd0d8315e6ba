//===- WorkspaceTest.cpp - The kernels' caller-provided workspace --------===//
//
// Part of the QuantOpt project.
//
// The workspace contract (include/quantopt/Runtime/Kernels.h): a kernel
// given at least its qk_*_workspace_bytes never writes outside it and
// never reports an error, on every ISA path and thread count; a workspace
// too small for one worker is reported as QK_ERROR_WORKSPACE_TOO_SMALL
// before the output is touched; a workspace sized for fewer threads than
// the kernel now has makes it use fewer threads, with the same result.
// Results here are compared with the same kernel's output on a full
// workspace (integer outputs: bit for bit); the numerics themselves are
// checked against independent references in the other kernel tests.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace quantopt::kernels::test;

namespace {

/// A packed int8 [K,N] right operand of qk_qgemm with per-column scales.
struct QWeights {
  QWeights(int64_t K, int64_t N, Rng &rng)
      : packed(qk_qgemm_packed_size(K, N)) {
    std::vector<int8_t> B(K * N);
    for (auto &v : B)
      v = static_cast<int8_t>(rng.range(-128, 127));
    std::vector<float> scales(N, 0.01f);
    qk_qgemm_pack_b(B.data(), 1, K, N, nullptr, scales.data(), nullptr,
                    packed.ptr);
  }
  AlignedBuffer packed;
};

/// qk_qgemm of a random uint8 A [M,K] with int8 output into `C`, with a
/// workspace of `bytes` at `ws`.
void runQGemm(const std::vector<uint8_t> &A, int64_t M, const QWeights &w,
              std::vector<int8_t> &C, void *ws, int64_t bytes) {
  uint8_t za = 3;
  float sa = 0.02f, so = 0.5f;
  int8_t zo = 1;
  qk_qgemm(A.data(), M, 0, &za, &sa, 0, w.packed.ptr, 0, 1, &so, &zo, C.data(),
           ws, bytes);
}

std::vector<uint8_t> randomBytes(int64_t n, Rng &rng) {
  std::vector<uint8_t> v(n);
  for (auto &x : v)
    x = static_cast<uint8_t>(rng.range(0, 255));
  return v;
}

// Tests that every kernel reports an undersized workspace (none at all, or
// half of what one thread needs) as a status naming the kernel and leaves
// its output untouched.
TEST(Workspace, TooSmallIsReported) {
  Rng rng(5);
  const int64_t M = 40, K = 300, N = 70;
  qk_set_num_threads(1);
  std::vector<uint8_t> A = randomBytes(M * K, rng);
  QWeights w(K, N, rng);
  std::vector<float> Af(M * K, 0.5f), Bf(K * N, 0.25f);
  std::vector<int8_t> W(K * N, 3);
  std::vector<float> scales(N, 0.1f);
  AlignedBuffer woPacked(qk_wo_packed_size(K, N, 8, 0));
  qk_wo_pack(W.data(), 1, 8, K, N, 0, scales.data(), nullptr, woPacked.ptr);

  struct Kernel {
    const char *name;
    int64_t need;
    std::function<bool(void *, int64_t)> run; // true: output untouched
  };
  std::vector<Kernel> kernels = {
      {"qk_qgemm", qk_qgemm_workspace_bytes(M, K, N),
       [&](void *ws, int64_t bytes) {
         std::vector<int8_t> C(M * N, 99);
         runQGemm(A, M, w, C, ws, bytes);
         return C == std::vector<int8_t>(M * N, 99);
       }},
      {"qk_qgemm_batched", qk_qgemm_batched_workspace_bytes(2, M, K, N),
       [&](void *ws, int64_t bytes) {
         std::vector<uint8_t> A2(2 * M * K, 7), B2(2 * K * N, 9);
         std::vector<int8_t> C(2 * M * N, 99);
         uint8_t z = 1;
         float s = 0.1f;
         qk_qgemm_batched(A2.data(), B2.data(), C.data(), 2, M, K, N, 0, &z, &s,
                          0, &z, &s, 1, &s, &z, ws, bytes);
         return C == std::vector<int8_t>(2 * M * N, 99);
       }},
      {"qk_sgemm_batched", qk_sgemm_batched_workspace_bytes(1, M, K, N),
       [&](void *ws, int64_t bytes) {
         std::vector<float> C(M * N, -9.0f);
         qk_sgemm_batched(Af.data(), Bf.data(), C.data(), 1, M, K, N, 0, 0, 0,
                          ws, bytes);
         return C == std::vector<float>(M * N, -9.0f);
       }},
      {"qk_wo_matmul", qk_wo_workspace_bytes(M, K, 8, 0),
       [&](void *ws, int64_t bytes) {
         std::vector<float> C(M * N, -9.0f);
         qk_wo_matmul(Af.data(), M, woPacked.ptr, nullptr, C.data(), ws, bytes);
         return C == std::vector<float>(M * N, -9.0f);
       }},
  };
  for (const Kernel &k : kernels) {
    SCOPED_TRACE(k.name);
    ASSERT_GT(k.need, 0);
    for (int64_t bytes : {int64_t(0), k.need / 2}) {
      AlignedBuffer buf(bytes + 64);
      void *ptr = bytes ? buf.ptr : nullptr;
      EXPECT_TRUE(k.run(ptr, bytes))
          << "output written with " << bytes << " workspace bytes";
      int32_t code = 0;
      const char *msg = qk_take_error_code(&code);
      ASSERT_NE(msg, nullptr) << bytes << " workspace bytes not reported";
      EXPECT_EQ(code, QK_ERROR_WORKSPACE_TOO_SMALL);
      std::string text = msg;
      EXPECT_NE(text.find(std::string(k.name) + ": the caller's workspace of " +
                          std::to_string(bytes) + " bytes is too small"),
                std::string::npos)
          << text;
      EXPECT_NE(text.find("qk_*_workspace_bytes"), std::string::npos) << text;
    }
    // The size function's bytes work.
    GuardedWorkspace ws(k.need);
    EXPECT_FALSE(k.run(ws.ptr, ws.bytes));
    EXPECT_EQ(takeErrorCode(), 0);
    EXPECT_TRUE(ws.intact());
  }
  qk_set_num_threads(0);
}

// Tests that the size functions cover the largest call: over shapes that
// exercise the blocking edges, every ISA path and 1 or 5 threads (more
// than this machine's cores), a kernel given exactly its size function's
// bytes reports nothing and writes nothing past them.
TEST(Workspace, SizesCoverEveryPath) {
  Rng rng(11);
  for (int64_t M : {1, 5, 97})
    for (int64_t K : {1, 33, 1030})
      for (int64_t N : {1, 31, 300}) {
        std::vector<uint8_t> A = randomBytes(M * K, rng);
        QWeights w(K, N, rng);
        std::vector<float> Af(M * K, 0.5f), Bf(K * N, 0.25f);
        std::vector<int8_t> W(K * N, 3);
        std::vector<float> scales(N * ((K + 31) / 32), 0.1f);
        AlignedBuffer woPacked(qk_wo_packed_size(K, N, 4, 32));
        qk_wo_pack(W.data(), 1, 4, K, N, 32, scales.data(), nullptr,
                   woPacked.ptr);
        for (int isa : availableIsas())
          for (int threads : {1, 5}) {
            qk_force_isa(isa);
            qk_set_num_threads(threads);
            std::string where = "M=" + std::to_string(M) +
                                " K=" + std::to_string(K) +
                                " N=" + std::to_string(N) + " isa=" + qk_isa() +
                                " threads=" + std::to_string(threads);
            {
              std::vector<int8_t> C(M * N);
              GuardedWorkspace ws(qk_qgemm_workspace_bytes(M, K, N));
              runQGemm(A, M, w, C, ws.ptr, ws.bytes);
              EXPECT_TRUE(ws.intact()) << "qk_qgemm " << where;
              EXPECT_EQ(takeErrorCode(), 0) << "qk_qgemm " << where;
            }
            for (int64_t batch : {1, 3}) {
              std::vector<uint8_t> A2(batch * M * K, 200), B2(batch * K * N, 7);
              std::vector<int8_t> C(batch * M * N);
              uint8_t z = 1;
              float s = 0.1f;
              GuardedWorkspace ws(
                  qk_qgemm_batched_workspace_bytes(batch, M, K, N));
              qk_qgemm_batched(A2.data(), B2.data(), C.data(), batch, M, K, N,
                               0, &z, &s, 0, &z, &s, 1, &s, &z, ws.ptr,
                               ws.bytes);
              EXPECT_TRUE(ws.intact()) << "qk_qgemm_batched " << where;
              EXPECT_EQ(takeErrorCode(), 0) << "qk_qgemm_batched " << where;
            }
            for (int64_t batch : {1, 4}) {
              std::vector<float> A2(batch * M * K, 0.5f),
                  B2(batch * K * N, 0.25f), C(batch * M * N);
              GuardedWorkspace ws(
                  qk_sgemm_batched_workspace_bytes(batch, M, K, N));
              qk_sgemm_batched(A2.data(), B2.data(), C.data(), batch, M, K, N,
                               M * K, K * N, M * N, ws.ptr, ws.bytes);
              EXPECT_TRUE(ws.intact()) << "qk_sgemm_batched " << where;
              EXPECT_EQ(takeErrorCode(), 0) << "qk_sgemm_batched " << where;
            }
            {
              std::vector<float> C(M * N);
              GuardedWorkspace ws(qk_wo_workspace_bytes(M, K, 4, 32));
              qk_wo_matmul(Af.data(), M, woPacked.ptr, nullptr, C.data(),
                           ws.ptr, ws.bytes);
              EXPECT_TRUE(ws.intact()) << "qk_wo_matmul " << where;
              EXPECT_EQ(takeErrorCode(), 0) << "qk_wo_matmul " << where;
            }
          }
      }
  qk_force_isa(0);
  qk_set_num_threads(0);
}

// Tests that a workspace sized with one thread still works after the thread
// count is raised (the kernel then uses the workers it covers), with the
// same integer output as on a full workspace.
TEST(Workspace, SizedForFewerThreads) {
  Rng rng(3);
  const int64_t M = 256, K = 512, N = 512; // worth several threads
  std::vector<uint8_t> A = randomBytes(M * K, rng);
  QWeights w(K, N, rng);
  qk_set_num_threads(1);
  int64_t one = qk_qgemm_workspace_bytes(M, K, N);
  qk_set_num_threads(4);
  int64_t four = qk_qgemm_workspace_bytes(M, K, N);
  EXPECT_GT(four, one) << "the size covers every worker thread";
  std::vector<int8_t> full(M * N), narrow(M * N, 99);
  GuardedWorkspace wsFull(four), wsOne(one);
  runQGemm(A, M, w, full, wsFull.ptr, wsFull.bytes);
  runQGemm(A, M, w, narrow, wsOne.ptr, wsOne.bytes);
  EXPECT_EQ(takeErrorCode(), 0);
  EXPECT_TRUE(wsOne.intact());
  EXPECT_EQ(full, narrow);
  qk_set_num_threads(0);
}

} // namespace
