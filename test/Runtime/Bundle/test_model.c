/*===- test_model.c - A hand-written model for the runtime tests ----------===*\
|*                                                                            *|
|* Part of the QuantOpt project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Implements the model entry ABI of docs/CPUBackend.md by hand, so that the  *|
|* runtime can be tested without the compiler. Compiled at test time with     *|
|* `cc -shared -fPIC`.                                                        *|
|*                                                                            *|
|*   weights: w float32 [4], b int64 [1]                                      *|
|*   inputs:  x float32 [batch, 4], k int32 [batch, 3]                        *|
|*   outputs: y  float32 [batch, 4] = x * w + 1         (malloc'ed)           *|
|*            s  float32 [batch]    = sum_n x[:, n]      (strided, offset 1)  *|
|*            t  int64   [batch]    = sum_n k[:, n] + b  (malloc'ed)          *|
|*            xa float32 [batch, 4] = x      (aliases the input buffer)       *|
|*            wa float32 [4]        = w      (aliases the weight buffer)      *|
|*                                                                            *|
|* With -DQUANTOPT_TEST_KERNEL=name, the model also calls the kernel          *|
|* function `name` (const char *name(void)), to test that qk_* symbols        *|
|* resolve against libquantrt when the code is loaded.                        *|
|* -DQUANTOPT_TEST_BAD_PACKED calls qk_sgemm with the weight w, which is not  *|
|* a packed operand; -DQUANTOPT_TEST_WORKSPACE_TOO_SMALL calls               *|
|* qk_sgemm_batched with a 16-byte workspace: the runs must fail with a       *|
|* status.                                                                    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <stdlib.h>

/* The ABI descriptor the compiler emits (BundleFormat.h). The bundle
 * writer overwrites the placeholder with the descriptor of the manifest it
 * packs; -DQUANTOPT_TEST_NO_ABI leaves it out, like code compiled before
 * descriptors existed. */
#ifndef QUANTOPT_TEST_NO_ABI
const char quantopt_abi[4096] = "QUANTOPT_TEST_ABI_PLACEHOLDER";
#endif

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} Memref1;

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} Memref2;

typedef struct {
  Memref2 y;
  Memref1 s;
  Memref1 t;
  Memref2 xa;
  Memref1 wa;
} Results;

#ifdef QUANTOPT_TEST_KERNEL
const char *QUANTOPT_TEST_KERNEL(void);
#endif
#ifdef QUANTOPT_TEST_BAD_PACKED
void qk_sgemm(const float *A, int64_t M, const void *packedB,
              const float *bias, int32_t activation, float *C);
#endif
#ifdef QUANTOPT_TEST_WORKSPACE_TOO_SMALL
void qk_sgemm_batched(const float *A, const float *B, float *C, int64_t batch,
                      int64_t M, int64_t K, int64_t N, int64_t strideA,
                      int64_t strideB, int64_t strideC, void *workspace,
                      int64_t workspace_bytes);
#endif

void quantopt_entry(void **args) {
  Results *r = (Results *)args[0];
  const Memref1 *w = (const Memref1 *)args[1];
  const Memref1 *b = (const Memref1 *)args[2];
  const Memref2 *x = (const Memref2 *)args[3];
  const Memref2 *k = (const Memref2 *)args[4];
  int64_t batch = x->sizes[0], n = x->sizes[1], m = k->sizes[1], i, j;
  const float *xd = (const float *)x->aligned + x->offset;
  const float *wd = (const float *)w->aligned + w->offset;
  const int32_t *kd = (const int32_t *)k->aligned + k->offset;
  int64_t bias = ((const int64_t *)b->aligned)[b->offset];
  float *y = (float *)malloc(sizeof(float) * (batch * n + 1));
  float *s = (float *)malloc(sizeof(float) * (2 * batch + 1));
  int64_t *t = (int64_t *)malloc(sizeof(int64_t) * (batch + 1));
#ifdef QUANTOPT_TEST_KERNEL
  if (!QUANTOPT_TEST_KERNEL())
    bias += 1000;
#endif
#ifdef QUANTOPT_TEST_BAD_PACKED
  qk_sgemm(xd, batch, wd, NULL, 0, y);
#endif
#ifdef QUANTOPT_TEST_WORKSPACE_TOO_SMALL
  /* A caller bug: 16 bytes where packing one 1 x n right operand needs more
     (qk_sgemm_batched_workspace_bytes). */
  {
    char workspace[16];
    qk_sgemm_batched(xd, wd, y, 1, 1, 1, n, 0, 0, 0, workspace,
                     (int64_t)sizeof(workspace));
  }
#endif
#ifdef QUANTOPT_TEST_BIAS_OFFSET
  bias += QUANTOPT_TEST_BIAS_OFFSET;
#endif

  for (i = 0; i < batch; ++i) {
    float sum = 0;
    int64_t isum = bias;
    for (j = 0; j < n; ++j) {
      float v = xd[i * x->strides[0] + j * x->strides[1]];
      y[i * n + j] = v * wd[j * w->strides[0]] + 1.0f;
      sum += v;
    }
    for (j = 0; j < m; ++j)
      isum += kd[i * k->strides[0] + j * k->strides[1]];
    s[1 + 2 * i] = sum;
    s[2 + 2 * i - 2] = -1.0f; /* padding between the strided elements */
    t[i] = isum;
  }

  r->y.allocated = y;
  r->y.aligned = y;
  r->y.offset = 0;
  r->y.sizes[0] = batch;
  r->y.sizes[1] = n;
  r->y.strides[0] = n;
  r->y.strides[1] = 1;

  r->s.allocated = s;
  r->s.aligned = s;
  r->s.offset = 1;
  r->s.sizes[0] = batch;
  r->s.strides[0] = 2;

  r->t.allocated = t;
  r->t.aligned = t;
  r->t.offset = 0;
  r->t.sizes[0] = batch;
  r->t.strides[0] = 1;

  r->xa = *x;
  r->wa = *w;
}
