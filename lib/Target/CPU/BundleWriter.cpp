//===- BundleWriter.cpp - Write .qob bundles ------------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CPU/BundleWriter.h"

#include "quantopt/Runtime/BundleFormat.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>

using namespace llvm;
using namespace quantopt;
namespace fmt = quantopt::bundle;

/// Offsets of the weights in the `weights` section, in order.
/// (fmt::layoutWeights, which the code generator's ABI descriptor uses too.)
static SmallVector<uint64_t> weightOffsets(ArrayRef<BundleWeight> weights) {
  SmallVector<uint64_t> sizes, offsets(weights.size());
  for (const BundleWeight &weight : weights)
    sizes.push_back(weight.bytes.size());
  fmt::layoutWeights(sizes, offsets.data());
  return offsets;
}

Expected<json::Object>
quantopt::completeManifest(json::Object manifest,
                           ArrayRef<BundleWeight> weights) {
  StringSet<> names;
  json::Array entries;
  SmallVector<uint64_t> offsets = weightOffsets(weights);
  for (auto [weight, offset] : llvm::zip(weights, offsets)) {
    std::optional<uint64_t> elementSize = fmt::dtypeSize(weight.dtype);
    if (!elementSize)
      return createStringError("weight '" + weight.name +
                               "': unknown dtype \"" + weight.dtype + "\"");
    uint64_t expected = *elementSize;
    json::Array shape;
    for (int64_t dim : weight.shape) {
      if (dim < 0)
        return createStringError("weight '" + weight.name +
                                 "': negative dim in its shape");
      expected *= dim;
      shape.push_back(dim);
    }
    if (expected != weight.bytes.size())
      return createStringError(
          "weight '" + weight.name + "': " + Twine(weight.bytes.size()) +
          " bytes given, dtype and shape make " + Twine(expected));
    if (!names.insert(weight.name).second)
      return createStringError("weight '" + weight.name + "' appears twice");
    entries.push_back(
        json::Object{{"name", weight.name},
                     {"dtype", weight.dtype},
                     {"shape", std::move(shape)},
                     {"offset", static_cast<int64_t>(offset)},
                     {"size", static_cast<int64_t>(weight.bytes.size())}});
  }
  manifest["format"] = fmt::kManifestFormat;
  manifest["format_version"] = fmt::kManifestFormatVersion;
  manifest["weights"] = std::move(entries);
  return std::move(manifest);
}

std::string quantopt::packWeights(ArrayRef<BundleWeight> weights) {
  std::string section;
  for (auto [weight, offset] : llvm::zip(weights, weightOffsets(weights))) {
    section.resize(offset, '\0');
    section.append(reinterpret_cast<const char *>(weight.bytes.data()),
                   weight.bytes.size());
  }
  return section;
}

namespace {

/// The header and section table of sections with these names, sizes and
/// checksums, laid out after them in order; `entries` gets where each
/// section starts.
std::string encodeHead(ArrayRef<StringRef> names, ArrayRef<uint64_t> sizes,
                       ArrayRef<uint64_t> checksums,
                       SmallVectorImpl<fmt::SectionEntry> &entries,
                       uint64_t &fileSize) {
  uint64_t tableOffset = fmt::kHeaderSize;
  uint64_t tableSize = names.size() * fmt::kSectionEntrySize;
  uint64_t end = tableOffset + tableSize;
  for (auto [name, size, checksum] : llvm::zip(names, sizes, checksums)) {
    fmt::SectionEntry entry;
    size_t length = std::min<size_t>(name.size(), fmt::kSectionNameSize);
    std::memcpy(entry.name, name.data(), length);
    entry.offset = fmt::alignTo(end, fmt::kSectionAlignment);
    entry.size = size;
    entry.checksum = checksum;
    end = entry.offset + entry.size;
    entries.push_back(entry);
  }
  std::string head(tableOffset + tableSize, '\0');
  auto *data = reinterpret_cast<uint8_t *>(head.data());
  for (auto [i, entry] : llvm::enumerate(entries))
    fmt::encodeSectionEntry(entry,
                            data + tableOffset + i * fmt::kSectionEntrySize);
  fmt::Header header;
  std::memcpy(header.magic, fmt::kMagic, sizeof(fmt::kMagic));
  header.formatVersion = fmt::kFormatVersion;
  header.numSections = names.size();
  header.fileSize = end;
  header.tableOffset = tableOffset;
  header.headerChecksum =
      xxh3_64bits(ArrayRef<uint8_t>(data + tableOffset, tableSize));
  fmt::encodeHeader(header, data);
  fileSize = end;
  return head;
}

} // namespace

std::string
quantopt::serializeBundleSections(ArrayRef<BundleSection> sections) {
  SmallVector<StringRef> names;
  SmallVector<uint64_t> sizes, checksums;
  for (const BundleSection &section : sections) {
    names.push_back(section.name);
    sizes.push_back(section.bytes.size());
    checksums.push_back(xxh3_64bits(section.bytes));
  }
  SmallVector<fmt::SectionEntry> entries;
  uint64_t end = 0;
  std::string file = encodeHead(names, sizes, checksums, entries, end);
  file.resize(end, '\0');
  auto *data = reinterpret_cast<uint8_t *>(file.data());
  for (auto [section, entry] : llvm::zip(sections, entries)) {
    if (!section.bytes.empty())
      std::memcpy(data + entry.offset, section.bytes.data(),
                  section.bytes.size());
  }
  return file;
}

Expected<std::string>
quantopt::serializeBundle(json::Object manifest, ArrayRef<BundleWeight> weights,
                          ArrayRef<uint8_t> nativeObject) {
  Expected<json::Object> completed =
      completeManifest(std::move(manifest), weights);
  if (!completed)
    return completed.takeError();
  std::string manifestText;
  raw_string_ostream os(manifestText);
  os << formatv("{0:2}", json::Value(std::move(*completed)));
  os.flush();
  std::string weightBytes = packWeights(weights);
  auto bytes = [](StringRef s) {
    return ArrayRef<uint8_t>(s.bytes_begin(), s.size());
  };
  BundleSection sections[] = {
      {fmt::kManifestSection.str(), bytes(manifestText)},
      {fmt::kWeightsSection.str(), bytes(weightBytes)},
      {fmt::kNativeSection.str(), nativeObject}};
  return serializeBundleSections(sections);
}

Error quantopt::writeBundle(StringRef path, json::Object manifest,
                            ArrayRef<BundleWeight> weights,
                            ArrayRef<uint8_t> nativeObject) {
  Expected<std::string> file =
      serializeBundle(std::move(manifest), weights, nativeObject);
  if (!file)
    return file.takeError();
  // writeToOutput writes a temporary file next to `path` and renames it
  // into place only when everything was written.
  return writeToOutput(path, [&](raw_ostream &os) -> Error {
    os << *file;
    return Error::success();
  });
}

//===----------------------------------------------------------------------===//
// Streaming
//===----------------------------------------------------------------------===//

namespace {

/// xxh3_64 of the first `size` bytes of the file `fd`, mapped rather than
/// read into memory. The one-shot hash needs the bytes contiguous, so the
/// whole range is mapped; a helper thread keeps dropping the mapping's
/// resident pages while the hash reads them (a read-only private file
/// mapping reads a dropped page back from the file when touched again, so
/// this is always correct), so that hashing a section of any size keeps
/// only a few MB resident.
Expected<uint64_t> hashFileRange(int fd, uint64_t size) {
  if (size == 0)
    return xxh3_64bits(ArrayRef<uint8_t>());
  std::error_code ec;
  sys::fs::mapped_file_region region(sys::fs::convertFDToNativeFile(fd),
                                     sys::fs::mapped_file_region::readonly,
                                     size, 0, ec);
  if (ec)
    return createStringError("cannot map the weights for their checksum: " +
                             ec.message());
  auto *base = reinterpret_cast<const uint8_t *>(region.const_data());
#ifdef MADV_DONTNEED
  std::atomic<bool> done{false};
  std::thread dropper([&] {
    while (!done.load(std::memory_order_relaxed)) {
      ::madvise(const_cast<uint8_t *>(base), size, MADV_DONTNEED);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  uint64_t hash = xxh3_64bits(ArrayRef<uint8_t>(base, size));
  done = true;
  dropper.join();
  return hash;
#else
  return xxh3_64bits(ArrayRef<uint8_t>(base, size));
#endif
}

/// Copies the first `size` bytes of the file `fd` to `os` through a small
/// buffer.
Error copyFile(int fd, uint64_t size, raw_ostream &os) {
  std::vector<char> buffer(8 << 20);
  uint64_t done = 0;
  while (done < size) {
    size_t want = std::min<uint64_t>(buffer.size(), size - done);
    Expected<size_t> got = sys::fs::readNativeFileSlice(
        sys::fs::convertFDToNativeFile(fd),
        MutableArrayRef<char>(buffer.data(), want), done);
    if (!got)
      return got.takeError();
    if (*got == 0)
      return createStringError("the weights' temporary file is short");
    os.write(buffer.data(), *got);
    done += *got;
  }
  return Error::success();
}

} // namespace

Error quantopt::writeBundleStreamed(raw_ostream &os, json::Object manifest,
                                    ArrayRef<BundleWeight> weights,
                                    ArrayRef<uint8_t> nativeObject,
                                    function_ref<void(size_t index)> written) {
  Expected<json::Object> completed =
      completeManifest(std::move(manifest), weights);
  if (!completed)
    return completed.takeError();
  std::string manifestText;
  raw_string_ostream manifestOS(manifestText);
  manifestOS << formatv("{0:2}", json::Value(std::move(*completed)));
  manifestOS.flush();

  // The weights section first, into a temporary file: its checksum goes
  // into the table at the start of the bundle, so it must be known before
  // the bundle is written, and the weights must not be held in memory
  // (they are as large as the model). Each weight is handed back
  // (`written`) as soon as it is in the file.
  SmallVector<uint64_t> offsets = weightOffsets(weights);
  SmallString<128> spillPath;
  int fd = -1;
  if (std::error_code ec = sys::fs::createTemporaryFile("quantopt-weights",
                                                        "bin", fd, spillPath))
    return createStringError("cannot create a temporary file for the "
                             "weights: " +
                             ec.message());
  FileRemover remover(spillPath);
  uint64_t weightsSize = 0;
  {
    raw_fd_ostream spill(fd, /*shouldClose=*/false);
    for (auto [i, weight, offset] : llvm::enumerate(weights, offsets)) {
      spill.write_zeros(offset - weightsSize);
      spill.write(reinterpret_cast<const char *>(weight.bytes.data()),
                  weight.bytes.size());
      weightsSize = offset + weight.bytes.size();
      spill.flush();
      if (written)
        written(i);
    }
    spill.flush();
    if (spill.has_error()) {
      std::error_code ec = spill.error();
      spill.clear_error();
      sys::fs::closeFile(fd);
      return createStringError(Twine("cannot write the weights to ") +
                               spillPath + ": " + ec.message() +
                               " (is the temporary directory full? set "
                               "TMPDIR to a larger one)");
    }
  }
  llvm::scope_exit closeFd([&] { ::close(fd); });
  Expected<uint64_t> weightsChecksum = hashFileRange(fd, weightsSize);
  if (!weightsChecksum)
    return weightsChecksum.takeError();

  StringRef names[] = {fmt::kManifestSection, fmt::kWeightsSection,
                       fmt::kNativeSection};
  uint64_t sizes[] = {manifestText.size(), weightsSize, nativeObject.size()};
  uint64_t checksums[] = {xxh3_64bits(manifestText), *weightsChecksum,
                          xxh3_64bits(nativeObject)};
  SmallVector<fmt::SectionEntry> entries;
  uint64_t fileSize = 0;
  std::string head = encodeHead(names, sizes, checksums, entries, fileSize);
  os << head;
  uint64_t pos = head.size();
  auto padTo = [&](uint64_t offset) {
    os.write_zeros(offset - pos);
    pos = offset;
  };
  padTo(entries[0].offset);
  os << manifestText;
  pos += manifestText.size();
  padTo(entries[1].offset);
  if (Error e = copyFile(fd, weightsSize, os))
    return e;
  pos += weightsSize;
  padTo(entries[2].offset);
  os.write(reinterpret_cast<const char *>(nativeObject.data()),
           nativeObject.size());
  return Error::success();
}
