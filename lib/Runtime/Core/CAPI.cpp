//===- CAPI.cpp - The libquantrt C API ------------------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Thin C entry points over the loader (Loader.cpp), the bundle's Device
// (Device.h) and Run.cpp: argument checks, the thread-local last error, and
// the kernel library's thread and ISA hooks.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "Generate.h"
#include "RuntimeImpl.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>

#if QUANTOPT_HAVE_KERNELS
#include "quantopt/Runtime/Kernels.h"
#endif

using namespace llvm;
using namespace quantopt::runtime;

static thread_local std::string lastError;

static qrt_status setError(qrt_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

static qrt_status invalidArgument(const char *function, const char *what) {
  return setError(QRT_ERROR_INVALID_ARGUMENT,
                  std::string(function) + ": " + what);
}

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

static const char *const kDTypeNames[QRT_NUM_DTYPES] = {
    "float32", "float16", "int8",   "uint8",  "int16", "uint16",
    "int32",   "int64",   "uint32", "uint64", "bool",  "float64"};
static const size_t kDTypeSizes[QRT_NUM_DTYPES] = {4, 2, 1, 1, 2, 2,
                                                   4, 8, 4, 8, 1, 8};

const char *quantopt::runtime::dtypeName(qrt_dtype dtype) {
  unsigned index = static_cast<unsigned>(dtype);
  return index < QRT_NUM_DTYPES ? kDTypeNames[index] : "?";
}

size_t quantopt::runtime::dtypeSize(qrt_dtype dtype) {
  unsigned index = static_cast<unsigned>(dtype);
  return index < QRT_NUM_DTYPES ? kDTypeSizes[index] : 0;
}

bool quantopt::runtime::parseDType(StringRef name, qrt_dtype &dtype) {
  for (unsigned i = 0; i < QRT_NUM_DTYPES; ++i)
    if (name == kDTypeNames[i]) {
      dtype = static_cast<qrt_dtype>(i);
      return true;
    }
  return false;
}

std::string quantopt::runtime::formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

const char *qrt_last_error(void) { return lastError.c_str(); }

const char *qrt_status_name(qrt_status status) {
  switch (status) {
  case QRT_OK:
    return "QRT_OK";
  case QRT_ERROR_INVALID_ARGUMENT:
    return "QRT_ERROR_INVALID_ARGUMENT";
  case QRT_ERROR_IO:
    return "QRT_ERROR_IO";
  case QRT_ERROR_INVALID_BUNDLE:
    return "QRT_ERROR_INVALID_BUNDLE";
  case QRT_ERROR_UNSUPPORTED_CPU:
    return "QRT_ERROR_UNSUPPORTED_CPU";
  case QRT_ERROR_NATIVE_CODE:
    return "QRT_ERROR_NATIVE_CODE";
  case QRT_ERROR_INPUT:
    return "QRT_ERROR_INPUT";
  case QRT_ERROR_MODEL_OUTPUT:
    return "QRT_ERROR_MODEL_OUTPUT";
  case QRT_ERROR_OUT_OF_MEMORY:
    return "QRT_ERROR_OUT_OF_MEMORY";
  case QRT_ERROR_UNSUPPORTED_DEVICE:
    return "QRT_ERROR_UNSUPPORTED_DEVICE";
  }
  return "QRT_ERROR_UNKNOWN";
}

int32_t qrt_api_version(void) { return QRT_API_VERSION; }

const char *qrt_dtype_name(qrt_dtype dtype) {
  return static_cast<unsigned>(dtype) < QRT_NUM_DTYPES ? dtypeName(dtype)
                                                       : nullptr;
}

size_t qrt_dtype_size(qrt_dtype dtype) { return dtypeSize(dtype); }

qrt_status qrt_dtype_from_name(const char *name, qrt_dtype *dtype) {
  if (!name || !dtype)
    return invalidArgument("qrt_dtype_from_name", "NULL argument");
  if (!parseDType(name, *dtype))
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    std::string("unknown dtype \"") + name +
                        "\"; use one of float32 float16 int8 uint8 int16 "
                        "uint16 int32 int64 uint32 uint64 bool float64");
  return QRT_OK;
}

/// The generated code allocates its intermediate tensors with malloc on
/// every run. With glibc's default, blocks of 128 KiB and more are fresh
/// mmaps, so every run page-faults and zeroes them again (about 10% of a
/// transformer block's time). Keeping large blocks in the heap changes the
/// whole process's allocator, so it is the application's choice
/// (qrt_tune_allocator), never a side effect of loading a bundle.
qrt_status qrt_tune_allocator(void) {
#if defined(__GLIBC__)
  if (mallopt(M_MMAP_THRESHOLD, 256 << 20) != 1 ||
      mallopt(M_TRIM_THRESHOLD, 512 << 20) != 1)
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    "qrt_tune_allocator: mallopt refused the settings");
  return QRT_OK;
#else
  return setError(QRT_ERROR_INVALID_ARGUMENT,
                  "qrt_tune_allocator: only glibc's malloc can be tuned");
#endif
}

qrt_status qrt_bundle_load(const char *path, qrt_bundle **bundle) {
  if (!path || !bundle)
    return invalidArgument("qrt_bundle_load", "NULL path or bundle pointer");
  Failure failure{QRT_OK, {}};
  std::unique_ptr<qrt_bundle> loaded = loadBundle(path, failure);
  if (!loaded)
    return setError(failure.status, std::move(failure.message));
  *bundle = loaded.release();
  return QRT_OK;
}

void qrt_bundle_free(qrt_bundle *bundle) { delete bundle; }

const char *qrt_bundle_path(const qrt_bundle *bundle) {
  return bundle ? bundle->path.c_str() : "";
}

qrt_status qrt_bundle_manifest(const qrt_bundle *bundle, const char **text,
                               size_t *size) {
  if (!bundle || !text || !size)
    return invalidArgument("qrt_bundle_manifest", "NULL argument");
  *text = bundle->manifestText.c_str();
  *size = bundle->manifestText.size();
  return QRT_OK;
}

qrt_status qrt_bundle_device(const qrt_bundle *bundle, qrt_device *device) {
  if (!bundle || !device)
    return invalidArgument("qrt_bundle_device", "NULL argument");
  *device = bundle->device->kind();
  return QRT_OK;
}

qrt_status qrt_bundle_num_inputs(const qrt_bundle *bundle, int64_t *count) {
  if (!bundle || !count)
    return invalidArgument("qrt_bundle_num_inputs", "NULL argument");
  *count = bundle->inputs.size();
  return QRT_OK;
}

qrt_status qrt_bundle_num_outputs(const qrt_bundle *bundle, int64_t *count) {
  if (!bundle || !count)
    return invalidArgument("qrt_bundle_num_outputs", "NULL argument");
  *count = bundle->outputs.size();
  return QRT_OK;
}

static qrt_status tensorInfo(const char *function,
                             const std::vector<TensorSpec> &specs,
                             int64_t index, qrt_tensor_info *info) {
  if (!info)
    return invalidArgument(function, "NULL info pointer");
  if (index < 0 || static_cast<size_t>(index) >= specs.size())
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    std::string(function) + ": index " + std::to_string(index) +
                        " out of range [0, " + std::to_string(specs.size()) +
                        ")");
  const TensorSpec &spec = specs[index];
  info->name = spec.name.c_str();
  info->dtype = spec.dtype;
  info->rank = spec.shape.size();
  info->shape = spec.shape.data();
  info->dim_names = spec.dimNamePtrs.data();
  return QRT_OK;
}

qrt_status qrt_bundle_input_info(const qrt_bundle *bundle, int64_t index,
                                 qrt_tensor_info *info) {
  if (!bundle)
    return invalidArgument("qrt_bundle_input_info", "NULL bundle");
  return tensorInfo("qrt_bundle_input_info", bundle->inputs, index, info);
}

qrt_status qrt_bundle_output_info(const qrt_bundle *bundle, int64_t index,
                                  qrt_tensor_info *info) {
  if (!bundle)
    return invalidArgument("qrt_bundle_output_info", "NULL bundle");
  return tensorInfo("qrt_bundle_output_info", bundle->outputs, index, info);
}

qrt_status qrt_bundle_find_input(const qrt_bundle *bundle, const char *name,
                                 int64_t *index) {
  if (!bundle || !name || !index)
    return invalidArgument("qrt_bundle_find_input", "NULL argument");
  for (size_t i = 0; i < bundle->inputs.size(); ++i)
    if (bundle->inputs[i].name == name) {
      *index = i;
      return QRT_OK;
    }
  std::string names;
  for (const TensorSpec &spec : bundle->inputs)
    names += (names.empty() ? "'" : ", '") + spec.name + "'";
  return setError(QRT_ERROR_INVALID_ARGUMENT,
                  bundle->path + ": the model has no input named '" + name +
                      "'; its inputs are " + names);
}

qrt_status qrt_bundle_run(qrt_bundle *bundle, const qrt_tensor *inputs,
                          int64_t num_inputs, qrt_result **result) {
  if (!bundle || !result)
    return invalidArgument("qrt_bundle_run", "NULL bundle or result pointer");
  Failure failure{QRT_OK, {}};
  std::unique_ptr<qrt_result> output =
      runBundle(*bundle, inputs, num_inputs, failure);
  if (!output)
    return setError(failure.status, std::move(failure.message));
  *result = output.release();
  return QRT_OK;
}

void qrt_result_free(qrt_result *result) { delete result; }

qrt_status qrt_bundle_set_cuda_graph(qrt_bundle *bundle, int32_t enable) {
  if (!bundle)
    return invalidArgument("qrt_bundle_set_cuda_graph", "NULL bundle");
  Failure failure{QRT_OK, {}};
  if (!bundle->device->setGraphs(*bundle, enable != 0, failure))
    return setError(failure.status, std::move(failure.message));
  return QRT_OK;
}

qrt_status qrt_bundle_benchmark(qrt_bundle *bundle, const qrt_tensor *inputs,
                                int64_t num_inputs, int32_t warmup,
                                int32_t iterations, int32_t flush_l2,
                                double *times_ms) {
  if (!bundle || (iterations > 0 && !times_ms))
    return invalidArgument("qrt_bundle_benchmark",
                           "NULL bundle or times_ms pointer");
  if (warmup < 0 || iterations < 1)
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    "qrt_bundle_benchmark: warmup " + std::to_string(warmup) +
                        " must be >= 0 and iterations " +
                        std::to_string(iterations) + " >= 1");
  Failure failure{QRT_OK, {}};
  if (!benchmarkBundle(*bundle, inputs, num_inputs, warmup, iterations,
                       flush_l2 != 0, times_ms, failure))
    return setError(failure.status, std::move(failure.message));
  return QRT_OK;
}

qrt_status qrt_result_num_outputs(const qrt_result *result, int64_t *count) {
  if (!result || !count)
    return invalidArgument("qrt_result_num_outputs", "NULL argument");
  *count = result->outputs.size();
  return QRT_OK;
}

qrt_status qrt_result_output(const qrt_result *result, int64_t index,
                             const char **name, qrt_tensor *tensor) {
  if (!result || !tensor)
    return invalidArgument("qrt_result_output", "NULL argument");
  if (index < 0 || static_cast<size_t>(index) >= result->outputs.size())
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    "qrt_result_output: index " + std::to_string(index) +
                        " out of range [0, " +
                        std::to_string(result->outputs.size()) + ")");
  const QrtResultOutput &output = result->outputs[index];
  if (name)
    *name = output.name.c_str();
  tensor->dtype = output.dtype;
  tensor->rank = output.shape.size();
  tensor->shape = output.shape.data();
  tensor->data = output.data;
  return QRT_OK;
}

void qrt_generate_options_init(qrt_generate_options *options) {
  if (options)
    defaultGenerateOptions(*options);
}

qrt_status qrt_generator_create(qrt_bundle *bundle,
                                const qrt_generate_options *options,
                                qrt_generator **generator) {
  if (!bundle || !generator)
    return invalidArgument("qrt_generator_create",
                           "NULL bundle or generator pointer");
  qrt_generate_options defaults;
  defaultGenerateOptions(defaults);
  Failure failure{QRT_OK, {}};
  std::unique_ptr<qrt_generator> made;
  made = createGenerator(*bundle, options ? *options : defaults, failure);
  if (!made)
    return setError(failure.status, std::move(failure.message));
  *generator = made.release();
  return QRT_OK;
}

void qrt_generator_free(qrt_generator *generator) { delete generator; }

qrt_status qrt_generator_prefill(qrt_generator *generator,
                                 const int64_t *prompt, int64_t prompt_len,
                                 int64_t *token) {
  if (!generator || !token)
    return invalidArgument("qrt_generator_prefill",
                           "NULL generator or token pointer");
  Failure failure{QRT_OK, {}};
  int64_t next = 0;
  if (!generatorPrefill(*generator, prompt, prompt_len, next, failure))
    return setError(failure.status, std::move(failure.message));
  *token = next;
  return QRT_OK;
}

qrt_status qrt_generator_step(qrt_generator *generator, int64_t *token) {
  if (!generator || !token)
    return invalidArgument("qrt_generator_step",
                           "NULL generator or token pointer");
  Failure failure{QRT_OK, {}};
  int64_t next = 0;
  if (!generatorStep(*generator, next, failure))
    return setError(failure.status, std::move(failure.message));
  *token = next;
  return QRT_OK;
}

qrt_status qrt_generator_generate(qrt_generator *generator,
                                  const int64_t *prompt, int64_t prompt_len,
                                  qrt_token_callback callback, void *user_data,
                                  int64_t *tokens, int64_t capacity,
                                  int64_t *count) {
  if (!generator)
    return invalidArgument("qrt_generator_generate", "NULL generator");
  Failure failure{QRT_OK, {}};
  int64_t produced = 0;
  if (!generatorGenerate(*generator, prompt, prompt_len, callback, user_data,
                         tokens, capacity, produced, failure))
    return setError(failure.status, std::move(failure.message));
  if (count)
    *count = produced;
  return QRT_OK;
}

qrt_status qrt_generator_stats(const qrt_generator *generator,
                               qrt_generate_stats *stats) {
  if (!generator || !stats)
    return invalidArgument("qrt_generator_stats", "NULL argument");
  *stats = generator->stats;
  return QRT_OK;
}

qrt_status qrt_set_num_threads(int32_t n) {
  if (n < 1)
    return setError(QRT_ERROR_INVALID_ARGUMENT,
                    "qrt_set_num_threads: thread count " + std::to_string(n) +
                        " must be >= 1");
#if QUANTOPT_HAVE_KERNELS
  qk_set_num_threads(n);
#endif
  return QRT_OK;
}

const char *qrt_kernel_isa(void) {
#if QUANTOPT_HAVE_KERNELS
  return qk_isa();
#else
  return "none";
#endif
}

qrt_status qrt_cuda_device_name(char *buffer, size_t size) {
  if (!buffer || size == 0)
    return invalidArgument("qrt_cuda_device_name", "NULL or empty buffer");
  Failure failure{QRT_OK, {}};
  std::string name;
  if (!cudaDeviceName(name, failure))
    return setError(failure.status, std::move(failure.message));
  size_t n = std::min(name.size(), size - 1);
  std::memcpy(buffer, name.data(), n);
  buffer[n] = '\0';
  return QRT_OK;
}

} // extern "C"
