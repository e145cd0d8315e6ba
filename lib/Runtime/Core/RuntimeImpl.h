//===- RuntimeImpl.h - libquantrt internals ---------------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The objects behind the C API's opaque handles. Private to libquantrt: the
// library exports only the C API, the kernels and the GPU runtime calls, see
// CMakeLists.txt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_RUNTIMEIMPL_H
#define QUANTOPT_LIB_RUNTIME_CORE_RUNTIMEIMPL_H

#include "quantopt-c/Runtime.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace quantopt {
namespace runtime {

/// An error on its way to qrt_last_error().
struct Failure {
  qrt_status status;
  std::string message;
};

/// Signature of one input or output from the manifest.
struct TensorSpec {
  std::string name;
  qrt_dtype dtype;
  llvm::SmallVector<int64_t> shape;
  /// One per dim; empty string for an unnamed dim.
  std::vector<std::string> dimNames;
  /// dimNames as C strings (NULL where unnamed), for qrt_tensor_info.
  std::vector<const char *> dimNamePtrs;
};

/// One weight blob; `data` points into the mapped weights section.
struct WeightSpec {
  std::string name;
  qrt_dtype dtype;
  llvm::SmallVector<int64_t> shape;
  uint64_t offset = 0;
  uint64_t size = 0;
  const uint8_t *data = nullptr;
};

using EntryFn = void (*)(void **);

class Device;

} // namespace runtime
} // namespace quantopt

/// A loaded, validated bundle.
struct qrt_bundle {
  std::string path;
  /// The whole file, mapped (or, when small, read into an aligned buffer).
  std::unique_ptr<llvm::MemoryBuffer> file;
  const uint8_t *fileData = nullptr;
  uint64_t fileSize = 0;

  std::string manifestText;
  std::string entryName;
  std::vector<quantopt::runtime::TensorSpec> inputs;
  std::vector<quantopt::runtime::TensorSpec> outputs;
  std::vector<quantopt::runtime::WeightSpec> weights;

  void *dlHandle = nullptr;
  /// The memfd the native code was loaded from. It stays open while the
  /// code is loaded: dlopen identifies objects by path, so another bundle
  /// must never get the same /proc/self/fd/N while this one is loaded.
  int nativeFd = -1;
  quantopt::runtime::EntryFn entry = nullptr;

  /// Manifest "target.kind": QRT_DEVICE_CPU or QRT_DEVICE_CUDA.
  qrt_device targetKind = QRT_DEVICE_CPU;
  /// CUDA bundles: "target.chip" ("sm_90") and "target.compute_capability"
  /// (90).
  std::string cudaChip;
  int cudaCapability = 0;
  /// Where the model runs (Device.h), made from targetKind once the
  /// manifest is parsed; never null in a loaded bundle.
  std::unique_ptr<quantopt::runtime::Device> device;

  ~qrt_bundle();
};

/// One output owned by a result.
struct QrtResultOutput {
  std::string name;
  qrt_dtype dtype;
  llvm::SmallVector<int64_t> shape;
  /// What to free() (may be null for an empty tensor).
  void *allocation = nullptr;
  /// First element, row-major contiguous.
  void *data = nullptr;
};

struct qrt_result {
  std::vector<QrtResultOutput> outputs;
  ~qrt_result();
};

namespace quantopt {
namespace runtime {

/// Loads and validates the bundle at `path` (Loader.cpp).
std::unique_ptr<qrt_bundle> loadBundle(llvm::StringRef path, Failure &failure);

/// Checks the inputs and runs the model (Run.cpp, through the bundle's
/// Device).
std::unique_ptr<qrt_result> runBundle(const qrt_bundle &bundle,
                                      const qrt_tensor *inputs,
                                      int64_t numInputs, Failure &failure);

/// Times `iterations` runs after `warmup` untimed ones (Run.cpp, through
/// the bundle's Device). `timesMs` receives one entry per timed run.
bool benchmarkBundle(const qrt_bundle &bundle, const qrt_tensor *inputs,
                     int64_t numInputs, int32_t warmup, int32_t iterations,
                     bool flushL2, double *timesMs, Failure &failure);

//===----------------------------------------------------------------------===//
// Pieces of a run shared by the devices (Run.cpp)
//===----------------------------------------------------------------------===//

/// Fails a check or run of `bundle`: `message` prefixed by the bundle path.
bool failRun(const qrt_bundle &bundle, Failure &failure, qrt_status status,
             const llvm::Twine &message);

/// The caller's inputs of one run, checked against the manifest.
struct CheckedInputs {
  /// Named dim -> value, bound from the inputs.
  llvm::StringMap<int64_t> dimValues;
  /// Byte size of each input.
  llvm::SmallVector<uint64_t> bytes;
};

/// Checks count, dtype, rank, static dims and named dims of `inputs`.
bool checkInputs(const qrt_bundle &bundle, const qrt_tensor *inputs,
                 int64_t count, CheckedInputs &checked, Failure &failure);

/// Number of 64-bit words of a rank-`rank` memref descriptor.
inline size_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

/// Fills a dense row-major memref descriptor of `shape` over `data`.
void fillDescriptor(int64_t *words, const void *data,
                    llvm::ArrayRef<int64_t> shape);

/// One output descriptor the entry filled in, decoded.
struct RawOutput {
  /// The descriptor's `allocated` pointer (what to free).
  void *allocated = nullptr;
  /// The first element (aligned + offset).
  const uint8_t *start = nullptr;
  llvm::SmallVector<int64_t> sizes, strides;
  /// Dense row-major.
  bool contiguous = true;
  uint64_t bytes = 0;
};

/// Decodes every output descriptor of the result area `area` into `raws`
/// and checks the shapes against the manifest and `dimValues`. Returns
/// false, with the first inconsistency in `error`, if they do not match
/// (`raws` is complete either way, for freeing).
bool decodeOutputs(const qrt_bundle &bundle, llvm::ArrayRef<int64_t> area,
                   const llvm::StringMap<int64_t> &dimValues,
                   llvm::SmallVectorImpl<RawOutput> &raws, std::string &error);

/// The QRT_ERROR_MODEL_OUTPUT message for a decodeOutputs error.
std::string modelOutputMessage(llvm::StringRef error);

/// Copies a strided tensor into a dense row-major buffer.
void copyStrided(const uint8_t *src, llvm::ArrayRef<int64_t> sizes,
                 llvm::ArrayRef<int64_t> strides, size_t elementSize,
                 uint8_t *dst);

/// The manifest spelling of `dtype`, or "?" if invalid.
const char *dtypeName(qrt_dtype dtype);
/// Bytes per element, 0 if invalid.
size_t dtypeSize(qrt_dtype dtype);
/// Parses a manifest dtype name.
bool parseDType(llvm::StringRef name, qrt_dtype &dtype);
/// "[-1, 64]"-style rendering of a shape.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace runtime
} // namespace quantopt

#endif // QUANTOPT_LIB_RUNTIME_CORE_RUNTIMEIMPL_H
