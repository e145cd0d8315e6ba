/*===- quantopt-c/Runtime.h - libquantrt C API --------------------*- C -*-===*\
|*                                                                            *|
|* Part of the QuantOpt project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The C API of libquantrt: load a QuantOpt bundle (.qob), inspect its        *|
|* inputs and outputs, run it on caller-provided buffers. See                 *|
|* docs/CPUBackend.md for the bundle format and the model entry ABI, and      *|
|* docs/Runtime.md for CUDA bundles.                                          *|
|*                                                                            *|
|* Conventions:                                                               *|
|*  - Every function that can fail returns a qrt_status; QRT_OK is 0. On      *|
|*    failure, qrt_last_error() returns a message naming the bundle, the      *|
|*    section, field or input at fault and how to fix it. The message is      *|
|*    thread-local and stays valid until the next failing call on the same    *|
|*    thread. Out parameters are left untouched on failure.                   *|
|*  - No function throws, aborts or prints.                                   *|
|*  - Handles are opaque; free them with the matching *_free function         *|
|*    (NULL is accepted and ignored).                                         *|
|*  - Strings and arrays returned from a handle stay valid until the handle   *|
|*    is freed.                                                               *|
|*  - A loaded bundle is immutable: qrt_bundle_run may be called from         *|
|*    several threads at once on the same bundle. CPU bundles then run        *|
|*    concurrently; runs of one CUDA bundle are serialized by a mutex of the  *|
|*    bundle (each run uses the bundle's stream), runs of different CUDA      *|
|*    bundles proceed concurrently.                                           *|
|*  - CUDA bundles (manifest target "cuda") take and return host memory like  *|
|*    CPU bundles: the runtime copies inputs to the GPU and outputs back.     *|
|*    The CUDA driver (libcuda.so.1, or $QUANTOPT_CUDA_LIBRARY) is loaded     *|
|*    with dlopen only when a CUDA bundle is loaded; the device is            *|
|*    $QUANTOPT_CUDA_DEVICE (default 0), used through its primary context.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef QUANTOPT_C_RUNTIME_H
#define QUANTOPT_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define QRT_API
#else
#define QRT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API; bumped on incompatible changes. */
#define QRT_API_VERSION 1

/*===----------------------------------------------------------------------===*
 * Status codes and errors
 *===----------------------------------------------------------------------===*/

typedef enum qrt_status {
  QRT_OK = 0,
  /* A NULL handle or pointer, an index out of range, a bad thread count. */
  QRT_ERROR_INVALID_ARGUMENT = 1,
  /* The bundle file could not be opened or mapped. */
  QRT_ERROR_IO = 2,
  /* The file is not a valid bundle: header, sections, checksums, manifest,
     weights. */
  QRT_ERROR_INVALID_BUNDLE = 3,
  /* The bundle needs an architecture or CPU feature this host lacks. */
  QRT_ERROR_UNSUPPORTED_CPU = 4,
  /* The native code could not be loaded (dlopen) or lacks its entry; for
     CUDA bundles also: the GPU code could not be loaded, or a CUDA call
     failed during a run (the message names the call and the CUresult). */
  QRT_ERROR_NATIVE_CODE = 5,
  /* qrt_bundle_run: the inputs do not match the bundle's signature. */
  QRT_ERROR_INPUT = 6,
  /* The model returned results inconsistent with its manifest. */
  QRT_ERROR_MODEL_OUTPUT = 7,
  /* Host or device memory ran out. */
  QRT_ERROR_OUT_OF_MEMORY = 8,
  /* A CUDA bundle cannot run here: no CUDA driver, no device, or a device
     whose compute capability is lower than the bundle's. */
  QRT_ERROR_UNSUPPORTED_DEVICE = 9
} qrt_status;

/* The message of the last failing call on this thread ("" if none). */
QRT_API const char *qrt_last_error(void);

/* A short constant name of `status` ("QRT_ERROR_INPUT", ...). */
QRT_API const char *qrt_status_name(qrt_status status);

/* QRT_API_VERSION of the library actually loaded. */
QRT_API int32_t qrt_api_version(void);

/*===----------------------------------------------------------------------===*
 * Element types
 *===----------------------------------------------------------------------===*/

typedef enum qrt_dtype {
  QRT_DTYPE_FLOAT32 = 0,
  QRT_DTYPE_FLOAT16 = 1,
  QRT_DTYPE_INT8 = 2,
  QRT_DTYPE_UINT8 = 3,
  QRT_DTYPE_INT16 = 4,
  QRT_DTYPE_UINT16 = 5,
  QRT_DTYPE_INT32 = 6,
  QRT_DTYPE_INT64 = 7,
  QRT_DTYPE_UINT32 = 8,
  QRT_DTYPE_UINT64 = 9,
  QRT_DTYPE_BOOL = 10, /* one byte, 0 or 1 */
  QRT_DTYPE_FLOAT64 = 11
} qrt_dtype;

#define QRT_NUM_DTYPES 12

/* The manifest spelling of `dtype` ("float32", ...), or NULL if invalid. */
QRT_API const char *qrt_dtype_name(qrt_dtype dtype);
/* Bytes per element of `dtype`, or 0 if invalid. */
QRT_API size_t qrt_dtype_size(qrt_dtype dtype);
/* Parses a manifest dtype name. */
QRT_API qrt_status qrt_dtype_from_name(const char *name, qrt_dtype *dtype);

/*===----------------------------------------------------------------------===*
 * Bundles
 *===----------------------------------------------------------------------===*/

typedef struct qrt_bundle qrt_bundle;

/* Where a bundle runs (manifest "target.kind"). */
typedef enum qrt_device {
  QRT_DEVICE_CPU = 0, /* "cpu": x86-64 code, host memory */
  QRT_DEVICE_CUDA = 1 /* "cuda": NVIDIA GPU code, device memory */
} qrt_device;

/* Maps the bundle at `path`, validates all of it (magic, version, file size,
   section bounds and overlap, every checksum, the manifest schema, the
   weight bounds, the target architecture and CPU features of this host),
   loads its native code from memory and resolves the entry symbol.
   CUDA bundles also load the CUDA driver, open the device, check its
   compute capability (QRT_ERROR_UNSUPPORTED_DEVICE), copy the weights to
   device memory once, create the bundle's stream and load the GPU code
   (through the native code's global constructor). */
QRT_API qrt_status qrt_bundle_load(const char *path, qrt_bundle **bundle);

QRT_API void qrt_bundle_free(qrt_bundle *bundle);

/* The path the bundle was loaded from. */
QRT_API const char *qrt_bundle_path(const qrt_bundle *bundle);

/* The manifest JSON text exactly as stored (not NUL-terminated: use
   `size`; a NUL is nevertheless present at text[size]). */
QRT_API qrt_status qrt_bundle_manifest(const qrt_bundle *bundle,
                                       const char **text, size_t *size);

/* Where the bundle runs. */
QRT_API qrt_status qrt_bundle_device(const qrt_bundle *bundle,
                                     qrt_device *device);

/* Signature of one input or output, as in the manifest. shape[i] is -1 for a
   dynamic dim; dim_names[i] is the dim's name or NULL. */
typedef struct qrt_tensor_info {
  const char *name;
  qrt_dtype dtype;
  int64_t rank;
  const int64_t *shape;
  const char *const *dim_names;
} qrt_tensor_info;

QRT_API qrt_status qrt_bundle_num_inputs(const qrt_bundle *bundle,
                                         int64_t *count);
QRT_API qrt_status qrt_bundle_num_outputs(const qrt_bundle *bundle,
                                          int64_t *count);
QRT_API qrt_status qrt_bundle_input_info(const qrt_bundle *bundle,
                                         int64_t index, qrt_tensor_info *info);
QRT_API qrt_status qrt_bundle_output_info(const qrt_bundle *bundle,
                                          int64_t index, qrt_tensor_info *info);
/* Index of the input named `name`; QRT_ERROR_INVALID_ARGUMENT if none. */
QRT_API qrt_status qrt_bundle_find_input(const qrt_bundle *bundle,
                                         const char *name, int64_t *index);

/*===----------------------------------------------------------------------===*
 * Running
 *===----------------------------------------------------------------------===*/

/* A dense row-major (C order) tensor. For inputs, `data` is owned by the
   caller and only read; it must stay valid during the run. */
typedef struct qrt_tensor {
  qrt_dtype dtype;
  int64_t rank;
  const int64_t *shape;
  const void *data;
} qrt_tensor;

typedef struct qrt_result qrt_result;

/* Runs the model. `inputs` holds exactly one tensor per bundle input, in
   manifest order. The inputs are checked first (count, dtype, rank, every
   static dim, named dynamic dims equal across inputs); a mismatch is
   QRT_ERROR_INPUT with a message naming the input, the dim and the expected
   and given values. On success `*result` owns the outputs. */
QRT_API qrt_status qrt_bundle_run(qrt_bundle *bundle, const qrt_tensor *inputs,
                                  int64_t num_inputs, qrt_result **result);

QRT_API void qrt_result_free(qrt_result *result);

/* CUDA bundles: with `enable` != 0, runs capture the model's GPU work into a
   CUDA graph (stream capture, relaxed mode) for the current input shapes
   once and replay it afterwards; a run with other input shapes captures a
   new graph. The inputs are copied into fixed device buffers the graph
   reads; the outputs the graph allocates are copied out and freed after
   every replay. Off by default. QRT_ERROR_INVALID_ARGUMENT for a CPU
   bundle. */
QRT_API qrt_status qrt_bundle_set_cuda_graph(qrt_bundle *bundle,
                                             int32_t enable);

/* Times `iterations` runs of the model on `inputs` (checked as for
   qrt_bundle_run) after `warmup` untimed ones; times_ms[i] receives the
   time of run i in milliseconds (`iterations` entries). Outputs are
   computed and discarded.
    - CPU bundles: wall-clock time of each whole run (steady clock);
      `flush_l2` is ignored.
    - CUDA bundles: the inputs are copied to the device once; each run is
      enqueued as [L2 flush: a memset of a 256 MiB scratch buffer, if
      `flush_l2`] + event + model (graph replay if CUDA graphs are on) +
      event, all runs asynchronously, then one synchronize; times are CUDA
      event times (GPU time, without host copies). The model's own stream
      synchronizations are skipped while it is timed. */
QRT_API qrt_status qrt_bundle_benchmark(qrt_bundle *bundle,
                                        const qrt_tensor *inputs,
                                        int64_t num_inputs, int32_t warmup,
                                        int32_t iterations, int32_t flush_l2,
                                        double *times_ms);

QRT_API qrt_status qrt_result_num_outputs(const qrt_result *result,
                                          int64_t *count);
/* Output `index` (manifest order) as a dense row-major tensor; the shape and
   data belong to `result`. `name` may be NULL. */
QRT_API qrt_status qrt_result_output(const qrt_result *result, int64_t index,
                                     const char **name, qrt_tensor *tensor);

/*===----------------------------------------------------------------------===*
 * Text generation (token ids in, token ids out)
 *===----------------------------------------------------------------------===*/

/* The decode loop of a causal language model bundle, batch 1 (docs/Runtime.md,
   "Generation"). The bundle must have an int64 input "input_ids" [batch,
   seq] and a float32 output "logits" [batch, seq, vocab] (or [batch,
   vocab]). Its other inputs must be:
    - "attention_mask" (int64 [batch, total]): fed all ones over past + new;
    - "position_ids" (int64 [batch, seq]): fed past .. past + seq - 1;
    - past key/value caches: an input whose name starts with
      "past_key_values" or "past" (past_key_values.0.key, past_key_0,
      past.0.value, ...) pairs with the output named by replacing that
      prefix with "present" (present.0.key, present_key_0, present.0.value);
      both must have the same dtype and rank, and the past's sequence axis
      is its one dynamic dim besides dim 0 (the batch). The first run gets
      empty pasts (sequence length 0); every later run gets the previous
      run's presents as its pasts, read in place from the previous result
      (no copy by the generator) and fed only the newly sampled token.
   A bundle without past inputs re-runs the whole sequence at every step.
   Sampling: temperature == 0 is greedy (the first index of the largest
   logit); otherwise the logits are divided by the temperature, restricted
   to the top_k largest (ties: lower token id first; 0 = no limit), then to
   the smallest set of those, largest first, whose probabilities (softmax in
   float64) sum to at least top_p, and one token is drawn from that set
   renormalized, with std::mt19937_64 seeded with `seed` (u = (x >> 11) *
   2^-53 in [0, 1)): the same seed, options and bundle give the same tokens.
   top_k == 1 is greedy. Logits with a NaN fail the step
   (QRT_ERROR_MODEL_OUTPUT). A generator is not thread-safe; it keeps the
   bundle, which must outlive it. */
typedef struct qrt_generator qrt_generator;

typedef struct qrt_generate_options {
  /* Tokens to generate at most, >= 1 (default 64). */
  int64_t max_new_tokens;
  /* >= 0; 0 is greedy (default 0). */
  double temperature;
  /* >= 0; 0 keeps every token (default 0). */
  int64_t top_k;
  /* In (0, 1]; 1 keeps every token (default 1). */
  double top_p;
  /* Seed of the sampler (default 0). */
  uint64_t seed;
  /* Tokens that end generation (included in the output); may be NULL when
     num_eos_ids is 0. Copied by qrt_generator_create. */
  const int64_t *eos_ids;
  int64_t num_eos_ids;
} qrt_generate_options;

/* Why a generation ended. */
typedef enum qrt_stop_reason {
  QRT_STOP_NONE = 0,           /* not ended (between steps) */
  QRT_STOP_MAX_NEW_TOKENS = 1, /* max_new_tokens were generated */
  QRT_STOP_EOS = 2,            /* an EOS token was generated */
  QRT_STOP_CALLBACK = 3        /* the token callback returned nonzero */
} qrt_stop_reason;

typedef struct qrt_generate_stats {
  int64_t prompt_tokens;
  /* Tokens generated, the first one (sampled from the prefill) included. */
  int64_t generated_tokens;
  /* The prompt's run and the first token's sampling, in milliseconds. */
  double prefill_ms;
  /* The later steps (one run and one sampling each) and their count. */
  double decode_ms;
  int64_t decode_steps;
  /* Of prefill_ms + decode_ms: the time spent sampling (the NaN check,
     temperature, top-k, top-p and the draw, or the greedy argmax). */
  double sample_ms;
  /* 1 when the bundle's past/present caches are used, 0 when every step
     re-runs the whole sequence. */
  int32_t uses_kv_cache;
  /* A qrt_stop_reason. */
  int32_t stop_reason;
} qrt_generate_stats;

/* Called with every generated token, in order (EOS included); returning
   nonzero stops the generation after that token. */
typedef int32_t (*qrt_token_callback)(void *user_data, int64_t token);

/* Fills `options` with the defaults above. */
QRT_API void qrt_generate_options_init(qrt_generate_options *options);

/* Checks the options and the bundle's signature (see above) and makes a
   generator. QRT_ERROR_INVALID_ARGUMENT for a bad option,
   QRT_ERROR_INPUT for a bundle that is not a causal LM this loop can
   drive (the message names the input or output at fault). */
QRT_API qrt_status qrt_generator_create(qrt_bundle *bundle,
                                        const qrt_generate_options *options,
                                        qrt_generator **generator);

QRT_API void qrt_generator_free(qrt_generator *generator);

/* Starts a new sequence: runs the prompt (prompt_len >= 1 ids in [0,
   vocab)) on empty caches and samples the first token into `*token`.
   Resets the statistics. */
QRT_API qrt_status qrt_generator_prefill(qrt_generator *generator,
                                         const int64_t *prompt,
                                         int64_t prompt_len, int64_t *token);

/* Feeds the last sampled token and samples the next into `*token`. Needs a
   prefill first. Stop conditions are the caller's business here. */
QRT_API qrt_status qrt_generator_step(qrt_generator *generator, int64_t *token);

/* Prefill, then steps until max_new_tokens, an EOS token or the callback
   (may be NULL) stops it. The generated tokens go to `tokens` (may be NULL;
   otherwise `capacity` must be >= max_new_tokens) and their count to
   `*count` (may be NULL). */
QRT_API qrt_status qrt_generator_generate(qrt_generator *generator,
                                          const int64_t *prompt,
                                          int64_t prompt_len,
                                          qrt_token_callback callback,
                                          void *user_data, int64_t *tokens,
                                          int64_t capacity, int64_t *count);

/* The statistics of the current (or last) sequence. */
QRT_API qrt_status qrt_generator_stats(const qrt_generator *generator,
                                       qrt_generate_stats *stats);

/*===----------------------------------------------------------------------===*
 * Threads and kernels
 *===----------------------------------------------------------------------===*/

/* Thread count of the kernels (process-wide, all bundles); n >= 1. */
QRT_API qrt_status qrt_set_num_threads(int32_t n);
/* The kernel code path picked on this host ("avx512vnni", "avx2", "scalar"),
   or "none" when the runtime was built without the kernel library. */
QRT_API const char *qrt_kernel_isa(void);

/* Opt-in, process-wide: tunes glibc's malloc for the generated code, which
   allocates its intermediate tensors on every run (M_MMAP_THRESHOLD 256 MiB,
   M_TRIM_THRESHOLD 512 MiB: large blocks stay in the heap instead of being
   mapped, page-faulted and zeroed again each run). This changes the
   allocator of the whole process, so loading a bundle never does it; call
   it once, before running, if the process is yours to tune. Fails with
   QRT_ERROR_INVALID_ARGUMENT where the C library is not glibc. */
QRT_API qrt_status qrt_tune_allocator(void);

/*===----------------------------------------------------------------------===*
 * CUDA
 *===----------------------------------------------------------------------===*/

/* Writes the name of the CUDA device CUDA bundles run on
   ($QUANTOPT_CUDA_DEVICE, default 0) into `buffer` (NUL-terminated,
   truncated to `size` - 1 characters), loading the CUDA driver if needed.
   QRT_ERROR_UNSUPPORTED_DEVICE, with the reason, when there is no usable
   driver or device. */
QRT_API qrt_status qrt_cuda_device_name(char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* QUANTOPT_C_RUNTIME_H */
