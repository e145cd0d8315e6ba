//===- RuntimeImpl.h - libquantrt internals ---------------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The objects behind the C API's opaque handles. Private to libquantrt: the
// library exports only the C API (and the kernels), see CMakeLists.txt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_RUNTIMEIMPL_H
#define QUANTOPT_LIB_RUNTIME_CORE_RUNTIMEIMPL_H

#include "quantopt-c/Runtime.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"

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

} // namespace runtime
} // namespace quantopt

/// A loaded, validated bundle.
struct qrt_bundle {
  std::string path;
  llvm::sys::fs::mapped_file_region mapping;
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

/// Checks the inputs and runs the model (Run.cpp).
std::unique_ptr<qrt_result> runBundle(const qrt_bundle &bundle,
                                      const qrt_tensor *inputs,
                                      int64_t numInputs, Failure &failure);

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
