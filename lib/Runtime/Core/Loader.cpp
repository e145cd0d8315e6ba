//===- Loader.cpp - Map, validate and load a bundle -----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Loading a bundle checks everything docs/CPUBackend.md lists before any
// byte of it is trusted, in the order that gives the most useful message
// first: the header (magic, version, file size), the section table (bounds,
// checksum), every section (bounds, alignment, overlap, checksum), the
// manifest (JSON, schema), the weights (inside `weights`), the target (the
// architecture and the CPU features of this host; for a CUDA bundle the
// driver, the device and its compute capability, see CUDA/CudaBundle.cpp), and
// finally the native code, which is dlopen'ed from a memfd and must export the
// entry symbol (a CUDA bundle's loads its GPU code while it is dlopen'ed). See
// Loader.h for which file holds which check.
//
// Every message starts with the bundle path, names the section or manifest
// field, and ends with what to do about it.
//
//===----------------------------------------------------------------------===//

#include "Loader.h"
#include "Device.h"

#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

qrt_bundle::~qrt_bundle() {
  if (dlHandle && device)
    device->unloadNativeCode(*this);
  else if (dlHandle)
    dlclose(dlHandle);
  dlHandle = nullptr;
  // After the native code: its global destructors may call the device.
  device.reset();
  if (nativeFd >= 0)
    ::close(nativeFd);
}

std::string quantopt::runtime::hex(uint64_t value) {
  return "0x" + utohexstr(value);
}

std::string quantopt::runtime::printable(StringRef bytes) {
  std::string out;
  raw_string_ostream os(out);
  printEscapedString(bytes, os);
  return out;
}

std::string quantopt::runtime::quoted(StringRef text) {
  return ("'" + text + "'").str();
}

//===----------------------------------------------------------------------===//
// File and sections
//===----------------------------------------------------------------------===//

bool Loader::mapFile() {
  // readRegularFile opens without blocking and refuses anything but a
  // regular file (a FIFO would hang, /dev/zero would never end, a directory
  // has no bytes), then maps or reads exactly the size fstat reported.
  Expected<std::unique_ptr<MemoryBuffer>> buffer =
      readRegularFile(path, "bundle");
  if (!buffer) {
    std::string message = toString(buffer.takeError());
    // FileSafety's message names the file type and what to pass instead.
    if (sys::fs::exists(path) && !sys::fs::is_regular_file(path))
      return fail(QRT_ERROR_IO, message);
    return fail(QRT_ERROR_IO, "cannot open the bundle: " + message +
                                  "; check the path and its permissions");
  }
  std::unique_ptr<MemoryBuffer> file = std::move(*buffer);
  uint64_t size = file->getBufferSize();
  if (size < fmt::kHeaderSize)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "file is " + Twine(size) + " bytes, smaller than the " +
                    Twine(fmt::kHeaderSize) +
                    "-byte bundle header; the file is truncated or not a "
                    "bundle: " +
                    kRecompile);
  // A small file is read into the heap rather than mapped; the weights are
  // used in place and must keep the alignment the layout gives them.
  if (reinterpret_cast<uintptr_t>(file->getBufferStart()) %
          fmt::kSectionAlignment !=
      0) {
    std::unique_ptr<WritableMemoryBuffer> aligned =
        WritableMemoryBuffer::getNewUninitMemBuffer(
            size, path, Align(fmt::kSectionAlignment));
    if (!aligned)
      return fail(QRT_ERROR_OUT_OF_MEMORY,
                  "cannot allocate " + Twine(size) + " bytes for the bundle");
    std::memcpy(aligned->getBufferStart(), file->getBufferStart(), size);
    file = std::move(aligned);
  }
  bundle->file = std::move(file);
  bundle->fileData =
      reinterpret_cast<const uint8_t *>(bundle->file->getBufferStart());
  bundle->fileSize = size;
  return true;
}

bool Loader::checkHeaderAndSections() {
  const uint8_t *data = bundle->fileData;
  uint64_t fileSize = bundle->fileSize;
  fmt::Header header = fmt::decodeHeader(data);

  if (std::memcmp(header.magic, fmt::kMagic, sizeof(fmt::kMagic)) != 0)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "not a QuantOpt bundle (bad magic \"" +
                    printable(StringRef(header.magic, 8)) +
                    "\", expected \"QOPTBNDL\"); pass a .qob file written "
                    "by quant-compile");
  if (header.formatVersion != fmt::kFormatVersion)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "unsupported bundle format version " +
                    Twine(header.formatVersion) +
                    " (this runtime reads version " +
                    Twine(fmt::kFormatVersion) + "); " + kRecompile +
                    " of the same QuantOpt release as this runtime");
  if (header.fileSize != fileSize)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                Twine(header.fileSize > fileSize ? "file is truncated"
                                                 : "file has trailing bytes") +
                    ": the header says " + Twine(header.fileSize) +
                    " bytes, the file has " + Twine(fileSize) + "; " +
                    kCorrupted);
  if (header.numSections == 0 || header.numSections > fmt::kMaxSections)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "section table: " + Twine(header.numSections) +
                    " sections (expected 1 to " + Twine(fmt::kMaxSections) +
                    "); " + kCorrupted);
  uint64_t tableSize = header.numSections * fmt::kSectionEntrySize;
  if (header.tableOffset < fmt::kHeaderSize || header.tableOffset > fileSize ||
      tableSize > fileSize - header.tableOffset)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "section table at offset " + Twine(header.tableOffset) + " (" +
                    Twine(tableSize) + " bytes) lies outside the " +
                    Twine(fileSize) + "-byte file or inside the header; " +
                    kCorrupted);
  ArrayRef<uint8_t> table(data + header.tableOffset, tableSize);
  uint64_t tableChecksum = xxh3_64bits(table);
  if (tableChecksum != header.headerChecksum)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "section table checksum mismatch (stored " +
                    hex(header.headerChecksum) + ", computed " +
                    hex(tableChecksum) + "); " + kCorrupted);

  // Bounds, names and alignment of each section.
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  ranges.push_back(
      {0, header.tableOffset + tableSize, "the header and section table"});
  for (uint32_t i = 0; i < header.numSections; ++i) {
    fmt::SectionEntry entry =
        fmt::decodeSectionEntry(table.data() + i * fmt::kSectionEntrySize);
    StringRef name = fmt::sectionName(entry);
    bool padded = llvm::all_of(
        StringRef(entry.name, fmt::kSectionNameSize).drop_front(name.size()),
        [](char c) { return c == '\0'; });
    if (name.empty() || !padded ||
        !llvm::all_of(name, [](char c) { return isPrint(c); }))
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  "section table entry " + Twine(i) +
                      " has an invalid name \"" +
                      printable(StringRef(entry.name, fmt::kSectionNameSize)) +
                      "\"; " + kCorrupted);
    std::string where = ("section '" + name + "'").str();
    if (!sections.try_emplace(name, entry).second)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  where + " appears twice in the section table; " + kCorrupted);
    if (entry.offset > fileSize || entry.size > fileSize - entry.offset)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  where + " (offset " + Twine(entry.offset) + ", size " +
                      Twine(entry.size) + ") lies outside the " +
                      Twine(fileSize) + "-byte file; " + kCorrupted);
    if (entry.offset % fmt::kSectionAlignment != 0)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  where + " offset " + Twine(entry.offset) +
                      " is not a multiple of " + Twine(fmt::kSectionAlignment) +
                      "; " + kCorrupted);
    if (entry.size != 0)
      ranges.push_back({entry.offset, entry.offset + entry.size, where});
  }

  // Overlap: sorted by start, each range must end before the next begins.
  llvm::sort(ranges, [](const Range &a, const Range &b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  ranges[i - 1].name + " [" + Twine(ranges[i - 1].begin) +
                      ", " + Twine(ranges[i - 1].end) + ") overlaps " +
                      ranges[i].name + " [" + Twine(ranges[i].begin) + ", " +
                      Twine(ranges[i].end) + "); " + kCorrupted);

  for (StringRef required :
       {fmt::kManifestSection, fmt::kWeightsSection, fmt::kNativeSection})
    if (!sections.count(required))
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  "missing section '" + required + "'; " + kRecompile);

  // Checksums, in table order so that the first corrupted section is named.
  for (uint32_t i = 0; i < header.numSections; ++i) {
    fmt::SectionEntry entry =
        fmt::decodeSectionEntry(table.data() + i * fmt::kSectionEntrySize);
    uint64_t checksum =
        xxh3_64bits(ArrayRef<uint8_t>(data + entry.offset, entry.size));
    if (checksum != entry.checksum)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  "checksum mismatch in section '" + fmt::sectionName(entry) +
                      "' (stored " + hex(entry.checksum) + ", computed " +
                      hex(checksum) + "); " + kCorrupted);
  }
  return true;
}

std::unique_ptr<qrt_bundle> Loader::load() {
  bundle = std::make_unique<qrt_bundle>();
  bundle->path = path;
  if (!mapFile() || !checkHeaderAndSections() || !parseManifest())
    return nullptr;
  bundle->device = createDevice(bundle->targetKind);
  if (!bundle->device->prepare(*bundle, failure))
    return nullptr;
  if (!loadNativeCode())
    return nullptr;
  return std::move(bundle);
}

std::unique_ptr<qrt_bundle> quantopt::runtime::loadBundle(StringRef path,
                                                          Failure &failure) {
  return Loader(path, failure).load();
}
