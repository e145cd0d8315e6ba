/*===- quantopt-c/Runtime.h - libquantrt C API --------------------*- C -*-===*\
|*                                                                            *|
|* Part of the QuantOpt project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The C API of libquantrt: load a QuantOpt bundle (.qob), inspect its        *|
|* inputs and outputs, run it on caller-provided buffers. See                 *|
|* docs/CPUBackend.md for the bundle format and the model entry ABI.          *|
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
|*    several threads at once on the same bundle.                             *|
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
  /* The native code could not be loaded (dlopen) or lacks its entry. */
  QRT_ERROR_NATIVE_CODE = 5,
  /* qrt_bundle_run: the inputs do not match the bundle's signature. */
  QRT_ERROR_INPUT = 6,
  /* The model returned results inconsistent with its manifest. */
  QRT_ERROR_MODEL_OUTPUT = 7,
  QRT_ERROR_OUT_OF_MEMORY = 8
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
  QRT_DTYPE_BOOL = 10 /* one byte, 0 or 1 */
} qrt_dtype;

#define QRT_NUM_DTYPES 11

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

/* Maps the bundle at `path`, validates all of it (magic, version, file size,
   section bounds and overlap, every checksum, the manifest schema, the
   weight bounds, the target architecture and CPU features of this host),
   loads its native code from memory and resolves the entry symbol. */
QRT_API qrt_status qrt_bundle_load(const char *path, qrt_bundle **bundle);

QRT_API void qrt_bundle_free(qrt_bundle *bundle);

/* The path the bundle was loaded from. */
QRT_API const char *qrt_bundle_path(const qrt_bundle *bundle);

/* The manifest JSON text exactly as stored (not NUL-terminated: use
   `size`; a NUL is nevertheless present at text[size]). */
QRT_API qrt_status qrt_bundle_manifest(const qrt_bundle *bundle,
                                       const char **text, size_t *size);

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

QRT_API qrt_status qrt_result_num_outputs(const qrt_result *result,
                                          int64_t *count);
/* Output `index` (manifest order) as a dense row-major tensor; the shape and
   data belong to `result`. `name` may be NULL. */
QRT_API qrt_status qrt_result_output(const qrt_result *result, int64_t index,
                                     const char **name, qrt_tensor *tensor);

/*===----------------------------------------------------------------------===*
 * Threads and kernels
 *===----------------------------------------------------------------------===*/

/* Thread count of the kernels (process-wide, all bundles); n >= 1. */
QRT_API qrt_status qrt_set_num_threads(int32_t n);
/* The kernel code path picked on this host ("avx512vnni", "avx2", "scalar"),
   or "none" when the runtime was built without the kernel library. */
QRT_API const char *qrt_kernel_isa(void);

#ifdef __cplusplus
}
#endif

#endif /* QUANTOPT_C_RUNTIME_H */
