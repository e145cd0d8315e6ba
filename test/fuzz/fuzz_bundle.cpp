//===- fuzz_bundle.cpp - libFuzzer target: libquantrt's bundle loader -----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Loads the fuzz input with qrt_bundle_load, in one of two modes:
//
//  - an input that starts with the bundle magic is the whole file. The
//    loader checks the xxh3 checksums of the section table and of every
//    section before it parses anything, so mutations mostly exercise the
//    header and section table checks;
//  - any other input is the text of the `manifest` section. It is laid out
//    by the real bundle writer (serializeBundleSections) next to the other
//    sections of a template bundle compiled by quant-compile, with correct
//    checksums, so the manifest parser and the checks after it are reached.
//    The native code is always the template's: random bytes are never
//    dlopen'ed.
//
// A bundle that loads is queried through the C API, so that the strings and
// shapes the loader stored are read back (and checked by ASan).
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "quantopt-c/Runtime.h"
#include "quantopt/Runtime/BundleFormat.h"
#include "quantopt/Target/CPU/BundleWriter.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace fmt = quantopt::bundle;

namespace {

/// The sections of the template bundle, in file order.
std::vector<std::pair<std::string, std::string>> *templateSections;

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "fuzz_bundle: %s\n", message.c_str());
  std::abort();
}

/// Splits the template bundle into its sections. It is a file we compiled,
/// so anything unexpected is a setup error, not a finding.
void loadTemplate() {
  const char *path = std::getenv("QUANTOPT_FUZZ_BUNDLE_TEMPLATE");
  if (!path)
    path = QUANTOPT_FUZZ_BUNDLE_TEMPLATE;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    die(std::string("cannot read the template bundle ") + path);
  llvm::StringRef bytes = (*buffer)->getBuffer();
  const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
  if (bytes.size() < fmt::kHeaderSize)
    die("the template bundle is too short");
  fmt::Header header = fmt::decodeHeader(data);
  if (header.tableOffset +
          uint64_t(header.numSections) * fmt::kSectionEntrySize >
      bytes.size())
    die("the template bundle's section table is out of bounds");
  templateSections = new std::vector<std::pair<std::string, std::string>>();
  for (uint32_t i = 0; i < header.numSections; ++i) {
    fmt::SectionEntry entry = fmt::decodeSectionEntry(
        data + header.tableOffset + i * fmt::kSectionEntrySize);
    if (entry.offset + entry.size > bytes.size())
      die("a template bundle section is out of bounds");
    templateSections->emplace_back(fmt::sectionName(entry).str(),
                                   bytes.substr(entry.offset, entry.size));
  }
}

/// The template with its manifest replaced by `manifest`.
std::string withManifest(llvm::StringRef manifest) {
  std::vector<quantopt::BundleSection> sections;
  for (const auto &[name, bytes] : *templateSections) {
    llvm::StringRef content = name == fmt::kManifestSection ? manifest : bytes;
    sections.push_back(
        {name, llvm::ArrayRef<uint8_t>(
                   reinterpret_cast<const uint8_t *>(content.data()),
                   content.size())});
  }
  return quantopt::serializeBundleSections(sections);
}

/// Reads back everything the C API exposes about a loaded bundle.
void query(const qrt_bundle *bundle) {
  // Reads through a volatile so that the accesses are not optimized away.
  volatile size_t sink = 0;
  const char *manifest = nullptr;
  size_t manifestSize = 0;
  if (qrt_bundle_manifest(bundle, &manifest, &manifestSize) != QRT_OK)
    die("a loaded bundle has no manifest");
  for (size_t i = 0; i < manifestSize; ++i)
    sink += static_cast<unsigned char>(manifest[i]);
  for (bool inputs : {true, false}) {
    int64_t count = 0;
    if ((inputs ? qrt_bundle_num_inputs
                : qrt_bundle_num_outputs)(bundle, &count) != QRT_OK)
      die("a loaded bundle has no tensor count");
    for (int64_t i = 0; i < count; ++i) {
      qrt_tensor_info info;
      if ((inputs ? qrt_bundle_input_info
                  : qrt_bundle_output_info)(bundle, i, &info) != QRT_OK)
        die("a loaded bundle has no info for one of its tensors");
      sink += std::strlen(info.name);
      for (int64_t d = 0; d < info.rank; ++d) {
        sink += static_cast<size_t>(info.shape[d]);
        if (info.dim_names && info.dim_names[d])
          sink += std::strlen(info.dim_names[d]);
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  loadTemplate();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static quantopt::fuzz::InputFile file("input.qob");
  static const bool verbose = std::getenv("QUANTOPT_FUZZ_VERBOSE");
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);
  const std::string *path;
  if (input.starts_with(llvm::StringRef(fmt::kMagic, sizeof(fmt::kMagic)))) {
    path = &file.write(data, size);
  } else {
    std::string bundleBytes = withManifest(input);
    path = &file.write(reinterpret_cast<const uint8_t *>(bundleBytes.data()),
                       bundleBytes.size());
  }
  qrt_bundle *bundle = nullptr;
  if (qrt_bundle_load(path->c_str(), &bundle) == QRT_OK) {
    if (!bundle)
      die("qrt_bundle_load succeeded without a bundle");
    query(bundle);
    qrt_bundle_free(bundle);
  } else if (bundle) {
    die("qrt_bundle_load failed but returned a bundle");
  } else if (verbose) {
    // To see which check rejects the seeds: QUANTOPT_FUZZ_VERBOSE=1
    // fuzz_bundle -runs=0 test/fuzz/bundle/seeds.
    std::fprintf(stderr, "fuzz_bundle: %s\n", qrt_last_error());
  }
  return 0;
}
