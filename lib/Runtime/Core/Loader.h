//===- Loader.h - The bundle loader's pieces
//--------------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The loader of qrt_bundle_load, one class whose checks are spread over
// files by responsibility (all private to libquantrt):
//
//   Loader.cpp       the order of the checks, the file and its sections;
//   Manifest.cpp     the manifest schema, the target and this host's CPU;
//   Weights.cpp      the weight table, and the packed headers of the
//                    kernel blobs among the weights;
//   ElfSymbols.cpp   the dynamic symbols of section 'native' (no dlopen);
//   AbiDescriptor.cpp the code's own record of what it was compiled for,
//                    compared with the manifest;
//   NativeCode.cpp   dlopen of section 'native' from a memfd, through the
//                    bundle's Device.
//
// Every check returns false after calling fail(), so a load unwinds with
// one message, which starts with the bundle path, names the section or
// manifest field, and ends with what to do about it.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_LOADER_H
#define QUANTOPT_LIB_RUNTIME_CORE_LOADER_H

#include "RuntimeImpl.h"

#include "quantopt/Runtime/BundleFormat.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/JSON.h"

#include <memory>
#include <string>

namespace quantopt {
namespace runtime {

constexpr const char *kRecompile = "recompile the model with quant-compile";
constexpr const char *kCorrupted =
    "the file is corrupted: copy it again or recompile the model with "
    "quant-compile";

/// "0x1f" for messages.
std::string hex(uint64_t value);
/// Printable rendering of raw bytes for messages (the magic, a name).
std::string printable(llvm::StringRef bytes);
/// 'text' for messages about names and dtypes.
std::string quoted(llvm::StringRef text);

/// Fails with "manifest field '<where>' <what>; recompile ...".
#define QRT_FIELD_ERROR(where, what)                                           \
  fail(QRT_ERROR_INVALID_BUNDLE, "manifest field '" + llvm::Twine(where) +     \
                                     "' " + what + "; " + kRecompile)

class Loader {
public:
  Loader(llvm::StringRef path, Failure &failure)
      : path(path), failure(failure) {}

  std::unique_ptr<qrt_bundle> load();

private:
  bool fail(qrt_status status, const llvm::Twine &message) {
    failure.status = status;
    failure.message = (path + ": " + message).str();
    return false;
  }

  // Loader.cpp
  bool mapFile();
  bool checkHeaderAndSections();
  // Manifest.cpp
  bool parseManifest();
  bool parseTensorSpec(const llvm::json::Value &value, const std::string &where,
                       TensorSpec &spec);
  bool checkTarget(const llvm::json::Object &manifest);
  bool checkCudaTarget(const llvm::json::Object &target);
  // Weights.cpp
  bool parseWeights(const llvm::json::Object &manifest);
  bool checkPackedWeights(const llvm::json::Object &manifest);
  // AbiDescriptor.cpp
  bool checkABI(const llvm::json::Object &manifest);
  bool checkABITensors(const llvm::json::Object &abi, bool isInput);
  bool checkABIWeights(const llvm::json::Object &abi);
  bool mismatch(const llvm::Twine &field, const llvm::Twine &manifestValue,
                const llvm::Twine &codeValue);
  bool badDescriptor(const llvm::Twine &what);
  // NativeCode.cpp
  bool loadNativeCode();
  bool dlopenNativeCode();

  std::string path;
  Failure &failure;
  std::unique_ptr<qrt_bundle> bundle;
  llvm::StringMap<bundle::SectionEntry> sections;
  /// The entry's st_value in the code's dynamic symbol table: after
  /// dlopen, the entry must resolve to exactly this address of the code.
  uint64_t entryValue = 0;
};

} // namespace runtime
} // namespace quantopt

#endif // QUANTOPT_LIB_RUNTIME_CORE_LOADER_H
