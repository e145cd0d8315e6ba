/*===- Kernels.h - QuantOpt CPU kernel library C ABI --------------*- C -*-===*\
|*                                                                            *|
|* Part of the QuantOpt project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The C ABI of the CPU kernel library; docs/CPUBackend.md is the contract.   *|
|* Generated code calls these functions (resolved when the model's shared     *|
|* object is dlopen'ed); the compiler calls the packing functions at compile  *|
|* time. Packed blobs are private to the library: they start with a 64-byte   *|
|* header (magic, layout version, K, N, flags) that every kernel checks, and  *|
|* their layout does not depend on the ISA the kernels run with, so a blob    *|
|* packed on one machine runs on any other.                                   *|
|*                                                                            *|
|* All buffers are row-major and contiguous. Packed blobs must be 64-byte     *|
|* aligned. Every function is thread safe; kernels may run concurrently.      *|
|*                                                                            *|
|* The kernels never allocate memory: a kernel that needs scratch memory      *|
|* takes a workspace from its caller (the last two arguments: a pointer and   *|
|* its size in bytes, any alignment) of at least the bytes its                *|
|* qk_*_workspace_bytes function returns for the same shapes. Workspaces of   *|
|* concurrent calls must not overlap; one may be reused by calls that run     *|
|* one after another. Its contents are unspecified before and after a call.   *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef QUANTOPT_RUNTIME_KERNELS_H
#define QUANTOPT_RUNTIME_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define QK_API __attribute__((visibility("default")))
#else
#define QK_API
#endif

/*===----------------------------------------------------------------------===*/
/* Threads and dispatch                                                       */
/*===----------------------------------------------------------------------===*/

/// Sets the number of threads all kernels use (default: hardware
/// concurrency). Values < 1 restore the default. Problems too small to
/// amortize a hand-off always run on the calling thread.
QK_API void qk_set_num_threads(int32_t n);

/// Returns the current thread count.
QK_API int32_t qk_get_num_threads(void);

/// Which code path the dispatcher picked: "avx512vnni", "avx2" or "scalar".
QK_API const char *qk_isa(void);

/// Forces a path (for tests): 0 = auto, 1 = scalar, 2 = avx2,
/// 3 = avx512vnni. Returns 0 (and changes nothing) if the CPU cannot run it,
/// 1 otherwise. Process wide; not meant to be changed while kernels run.
QK_API int32_t qk_force_isa(int32_t isa);

/*===----------------------------------------------------------------------===*/
/* Run-time errors of generated code                                          */
/*===----------------------------------------------------------------------===*/

/// A gather index outside [-bound, bound).
#define QK_ERROR_INDEX_OUT_OF_RANGE 1
/// Memory ran out (value: the bytes). The kernels no longer report it (they
/// do not allocate); kept for callers and the runtime's status mapping.
#define QK_ERROR_OUT_OF_MEMORY 2
/// A packed operand whose header is not the kernel's layout (value: the
/// layout version the kernel reads); `what` names the kernel.
#define QK_ERROR_BAD_PACKED_DATA 3
/// A kernel was given a workspace too small for even one worker thread
/// (value: the bytes given, bound: the bytes one worker needs); `what`
/// names the kernel. A bug of the caller, who must pass at least the
/// kernel's qk_*_workspace_bytes.
#define QK_ERROR_WORKSPACE_TOO_SMALL 4

/// Called by generated code when input data makes an op invalid (e.g. a
/// run-time Gather index out of range). The code goes on without reading
/// out of bounds; the error is kept in a per-thread slot (the first one and
/// a count) until qk_take_error. `what` names the node ("node 'g': Gather on
/// axis 0"); it must outlive the call (generated code passes a constant).
QK_API void qk_report_error(int32_t code, int64_t value, int64_t bound,
                            const char *what);

/// The message of the first error reported on this thread since the last
/// call, or NULL if none; clears the slot. The string stays valid until the
/// next call on this thread.
QK_API const char *qk_take_error(void);

/// qk_take_error, and the QK_ERROR_* code of the first error in *code (0 if
/// none; code may be NULL). The kernels report QK_ERROR_BAD_PACKED_DATA and
/// QK_ERROR_WORKSPACE_TOO_SMALL here too (they never print or abort): a
/// kernel that reports one returns without writing its output, and it
/// checks both before it writes anything, so it never fails midway. Errors
/// reported on the kernels' pool threads reach the thread that called the
/// kernel.
QK_API const char *qk_take_error_code(int32_t *code);

/// Checks a blob of `size` bytes that may be a packed operand (for the
/// runtime's loader; generated code never calls it). Returns 0 if it does
/// not start with the magic of any kernel's packed layout, 1 if it does and
/// its header (layout version, K, N, flags, bits) fits the blob's size, -1
/// if not, with the reason in `reason` (NUL-terminated, at most
/// `reason_size` bytes). If `expected_kernel` is not NULL ("qk_sgemm",
/// "qk_qgemm", "qk_wo_matmul"), the blob must be a packed operand of that
/// kernel: any other magic is -1 too.
QK_API int32_t qk_check_packed(const void *blob, int64_t size,
                               const char *expected_kernel, char *reason,
                               int64_t reason_size);

/*===----------------------------------------------------------------------===*/
/* Float GEMM: C[M,N] = act(A[M,K] @ B[K,N] + bias[N])                        */
/*===----------------------------------------------------------------------===*/

/// Bytes needed by qk_sgemm_pack_b for a [K,N] right operand.
QK_API int64_t qk_sgemm_packed_size(int64_t K, int64_t N);

/// Packs B[K,N] (f32) into `packed` (qk_sgemm_packed_size bytes, 64-byte
/// aligned).
QK_API void qk_sgemm_pack_b(const float *B, int64_t K, int64_t N, void *packed);

/// C[M,N] = act(A[M,K] @ B + bias); activation as for qk_qgemm.
QK_API void qk_sgemm(const float *A, int64_t M, const void *packedB,
                     const float *bias /* [N] or NULL */, int32_t activation,
                     float *C);

/// Unpacked right operand (activations times activations, e.g. attention):
/// C[b] = A[b] @ B[b] for b < batch, each [M,K] @ [K,N] contiguous, the
/// b-th matrices starting at A + b*strideA, B + b*strideB, C + b*strideC
/// (strides in elements). The right operands are packed at run time into
/// the workspace.
QK_API void qk_sgemm_batched(const float *A, const float *B, float *C,
                             int64_t batch, int64_t M, int64_t K, int64_t N,
                             int64_t strideA, int64_t strideB, int64_t strideC,
                             void *workspace, int64_t workspace_bytes);

/// Workspace bytes qk_sgemm_batched needs for these shapes with the current
/// thread count (every worker thread it may use). Pure apart from reading
/// the thread count; never fails (saturates at INT64_MAX).
QK_API int64_t qk_sgemm_batched_workspace_bytes(int64_t batch, int64_t M,
                                                int64_t K, int64_t N);

/*===----------------------------------------------------------------------===*/
/* int8 GEMM with fused epilogue (qnn.quantized_matmul)                       */
/*===----------------------------------------------------------------------===*/

/// Bytes needed by qk_qgemm_pack_b for a [K,N] right operand.
QK_API int64_t qk_qgemm_packed_size(int64_t K, int64_t N);

/// Packs B[K,N], one value per byte (int8 if b_signed else uint8; int4
/// weights are unpacked to bytes by the compiler), together with
/// b_zero_point ([N] int32 or NULL = 0), b_scale ([N]; a per-tensor scale
/// is expanded by the caller) and bias ([N] int32 or NULL).
QK_API void qk_qgemm_pack_b(const void *B, int32_t b_signed, int64_t K,
                            int64_t N, const int32_t *b_zero_point,
                            const float *b_scale, const int32_t *bias,
                            void *packed);

/// C[M,N] from A[M,K] (int8 if a_signed else uint8) and a packed B.
/// a_zero_point (same signedness as A, one byte per entry) and a_scale have
/// one entry, or M entries if a_per_row. out_type: 0 = f32, 1 = int8,
/// 2 = uint8; for 1/2, out_scale and out_zero_point (one entry; the zero
/// point is one byte of the output type) requantize. Numerics:
///   acc = sum_k (a - za) * (b - zb[n]) + bias[n]             (int32, exact)
///   r   = activation((float(acc) * a_scale) * b_scale[n])  (f32, this order)
///   out = r, or saturate(round_half_even(r / out_scale) + out_zp)
/// activation: 0 none, 1 relu (r > 0 ? r : +0), 2 gelu (erf form,
/// 0.5 * r * (1 + erf(r / sqrt(2)))), 3 silu (r / (1 + exp(-r))).
/// A workspace of qk_qgemm_workspace_bytes(M, K, N) bytes holds the packed
/// rows of A and the int32 tiles of each worker thread.
QK_API void qk_qgemm(const void *A, int64_t M, int32_t a_signed,
                     const void *a_zero_point, const float *a_scale,
                     int32_t a_per_row, const void *packedB, int32_t activation,
                     int32_t out_type, const float *out_scale,
                     const void *out_zero_point, void *C, void *workspace,
                     int64_t workspace_bytes);

/// Workspace bytes qk_qgemm needs for A [M,K] and a packed [K,N] right
/// operand with the current thread count, on any ISA path. Pure apart from
/// reading the thread count; never fails (saturates at INT64_MAX).
QK_API int64_t qk_qgemm_workspace_bytes(int64_t M, int64_t K, int64_t N);

/// Integer matmul of two activations (attention in a QDQ model): for each
/// b < batch, C[b] = qgemm(A[b] [M,K], B[b] [K,N]) with per-tensor
/// parameters (one byte zero point of each operand's signedness, one scale),
/// no bias, no activation, and the output of `out_type` as for qk_qgemm.
/// The right operand is packed at run time (O(K*N) per batch item next to
/// the O(M*K*N) product). Matrices are contiguous and back to back.
QK_API void qk_qgemm_batched(const void *A, const void *B, void *C,
                             int64_t batch, int64_t M, int64_t K, int64_t N,
                             int32_t a_signed, const void *a_zero_point,
                             const float *a_scale, int32_t b_signed,
                             const void *b_zero_point, const float *b_scale,
                             int32_t out_type, const float *out_scale,
                             const void *out_zero_point, void *workspace,
                             int64_t workspace_bytes);

/// Workspace bytes qk_qgemm_batched needs (the run-time packed right
/// operands and qk_qgemm's workspace of each worker thread), as
/// qk_qgemm_workspace_bytes.
QK_API int64_t qk_qgemm_batched_workspace_bytes(int64_t batch, int64_t M,
                                                int64_t K, int64_t N);

/*===----------------------------------------------------------------------===*/
/* Weight-only matmul (qnn.weight_only_matmul): f32 activations               */
/*===----------------------------------------------------------------------===*/

/// Bytes needed by qk_wo_pack. bits is 4 or 8; group_size 0 means per
/// channel, else a group of group_size consecutive k shares a scale.
QK_API int64_t qk_wo_packed_size(int64_t K, int64_t N, int32_t bits,
                                 int64_t group_size);

/// Packs W[K,N] (one value per byte, signed if w_signed; 4-bit values are
/// -8..7 or 0..15) with scales ([N] if group_size is 0, else
/// [ceil(K/group_size), N]) and zero_points (same shape, or NULL).
QK_API void qk_wo_pack(const void *W, int32_t w_signed, int32_t bits, int64_t K,
                       int64_t N, int64_t group_size, const float *scales,
                       const int32_t *zero_points, void *packed);

/// out[m,n] = sum_k A[m,k] * ((w[k,n] - zp[g,n]) * scale[g,n]) (+ bias[n]),
/// in f32 (summation order is the kernel's; see the tolerance notes in the
/// unit tests). The workspace holds the prepared activations.
QK_API void qk_wo_matmul(const float *A, int64_t M, const void *packed,
                         const float *bias /* [N] or NULL */, float *C,
                         void *workspace, int64_t workspace_bytes);

/// Workspace bytes qk_wo_matmul needs for A [M,K] and weights packed with
/// `bits` and `group_size` (as for qk_wo_pack). Pure; never fails.
QK_API int64_t qk_wo_workspace_bytes(int64_t M, int64_t K, int32_t bits,
                                     int64_t group_size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QUANTOPT_RUNTIME_KERNELS_H */
