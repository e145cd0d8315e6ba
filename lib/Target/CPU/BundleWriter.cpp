//===- BundleWriter.cpp - Write .qob bundles ------------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CPU/BundleWriter.h"

#include "quantopt/Runtime/BundleFormat.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <cstring>

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

std::string
quantopt::serializeBundleSections(ArrayRef<BundleSection> sections) {
  uint64_t tableOffset = fmt::kHeaderSize;
  uint64_t tableSize = sections.size() * fmt::kSectionEntrySize;
  SmallVector<fmt::SectionEntry> entries;
  uint64_t end = tableOffset + tableSize;
  for (const BundleSection &section : sections) {
    fmt::SectionEntry entry;
    size_t length =
        std::min<size_t>(section.name.size(), fmt::kSectionNameSize);
    std::memcpy(entry.name, section.name.data(), length);
    entry.offset = fmt::alignTo(end, fmt::kSectionAlignment);
    entry.size = section.bytes.size();
    entry.checksum = xxh3_64bits(section.bytes);
    end = entry.offset + entry.size;
    entries.push_back(entry);
  }

  std::string file(end, '\0');
  auto *data = reinterpret_cast<uint8_t *>(file.data());
  for (auto [section, entry] : llvm::zip(sections, entries)) {
    if (!section.bytes.empty())
      std::memcpy(data + entry.offset, section.bytes.data(),
                  section.bytes.size());
  }
  for (auto [i, entry] : llvm::enumerate(entries))
    fmt::encodeSectionEntry(entry,
                            data + tableOffset + i * fmt::kSectionEntrySize);

  fmt::Header header;
  std::memcpy(header.magic, fmt::kMagic, sizeof(fmt::kMagic));
  header.formatVersion = fmt::kFormatVersion;
  header.numSections = sections.size();
  header.fileSize = end;
  header.tableOffset = tableOffset;
  header.headerChecksum =
      xxh3_64bits(ArrayRef<uint8_t>(data + tableOffset, tableSize));
  fmt::encodeHeader(header, data);
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
