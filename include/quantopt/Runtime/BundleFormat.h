//===- BundleFormat.h - The .qob bundle file layout -------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Constants and encoders/decoders of the bundle file layout, shared by the
// writer (lib/Target/CPU/BundleWriter.cpp) and the reader (libquantrt). The
// layout itself is specified in docs/CPUBackend.md:
//
//   header (64 bytes) | section table (48 bytes per section) | sections
//
// Every section starts at an offset aligned to 4096 so that the weights can
// be mapped and used in place. All integers are little-endian, whatever the
// host; the decoders go through llvm::support::endian so that a big-endian
// reader (not that we have one) would still read them right.
//
// Header only, LLVM Support only: libquantrt must not depend on MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_RUNTIME_BUNDLEFORMAT_H
#define QUANTOPT_RUNTIME_BUNDLEFORMAT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"

#include <cstdint>
#include <cstring>
#include <optional>

namespace quantopt {
namespace bundle {

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

inline constexpr char kMagic[8] = {'Q', 'O', 'P', 'T', 'B', 'N', 'D', 'L'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kHeaderSize = 64;
inline constexpr uint64_t kSectionEntrySize = 48;
inline constexpr uint64_t kSectionNameSize = 16;
/// Sections start at multiples of this (the page size), so the weights can
/// be used in place from the mapping.
inline constexpr uint64_t kSectionAlignment = 4096;
/// Every weight blob starts at a multiple of this within `weights`.
inline constexpr uint64_t kWeightAlignment = 64;
/// Upper bound on the number of sections a reader accepts; a corrupted count
/// must not make it allocate or scan gigabytes.
inline constexpr uint32_t kMaxSections = 64;

inline constexpr llvm::StringLiteral kManifestSection = "manifest";
inline constexpr llvm::StringLiteral kWeightsSection = "weights";
inline constexpr llvm::StringLiteral kNativeSection = "native";

/// Values of the manifest's "format" and "format_version" fields. Version 2:
/// the native code carries the ABI descriptor below; the loader refuses
/// version 1 bundles, whose code cannot be checked against the manifest.
inline constexpr llvm::StringLiteral kManifestFormat = "quantopt-bundle";
inline constexpr int64_t kManifestFormatVersion = 2;
/// The default entry symbol of the generated code.
inline constexpr llvm::StringLiteral kDefaultEntry = "quantopt_entry";

/// The ABI descriptor: a NUL-terminated JSON object that the code generator
/// emits into the native code as the exported constant `quantopt_abi`, so
/// that the code itself says what it was compiled for and an edited
/// manifest cannot make the runtime call it with something else:
///
///   {"abi_version": 1, "entry": "quantopt_entry", "target": {...},
///    "inputs": [...], "outputs": [...], "weights": [...]}
///
/// "target", "inputs" and "outputs" are the manifest's fields as the
/// compiler wrote them; "weights" lists, in the order of the code's weight
/// arguments, each weight's name, dtype, shape, offset and size. The loader
/// reads it from the ELF file (before any of the code runs) and requires
/// the manifest to agree with every field.
inline constexpr llvm::StringLiteral kABISymbol = "quantopt_abi";
inline constexpr int64_t kABIVersion = 1;
/// Upper bound on the descriptor's size a reader accepts.
inline constexpr uint64_t kMaxABISize = 16 << 20;

/// The element types a bundle tensor may have, in the manifest's spelling.
inline constexpr llvm::StringLiteral kDTypeNames[] = {
    "float32", "float16", "int8",   "uint8",  "int16", "uint16",
    "int32",   "int64",   "uint32", "uint64", "bool"};

/// Size in bytes of one element of `dtype`, or nullopt if it is not one of
/// kDTypeNames.
inline std::optional<uint64_t> dtypeSize(llvm::StringRef dtype) {
  return llvm::StringSwitch<std::optional<uint64_t>>(dtype)
      .Cases({"float32", "int32", "uint32"}, 4)
      .Cases({"float16", "int16", "uint16"}, 2)
      .Cases({"int8", "uint8", "bool"}, 1)
      .Cases({"int64", "uint64"}, 8)
      .Default(std::nullopt);
}

/// Rounds `value` up to a multiple of `alignment` (a power of two).
inline constexpr uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

/// The offset of each weight in `weights` given the byte sizes of all of
/// them, in order: each at the next multiple of kWeightAlignment. The writer
/// lays the section out this way and the code generator records the same
/// offsets in the ABI descriptor.
template <typename Sizes>
inline void layoutWeights(const Sizes &sizes, uint64_t *offsets) {
  uint64_t end = 0;
  for (uint64_t size : sizes) {
    end = alignTo(end, kWeightAlignment);
    *offsets++ = end;
    end += size;
  }
}

//===----------------------------------------------------------------------===//
// Header
//===----------------------------------------------------------------------===//

/// Byte offsets of the header fields.
namespace header_offset {
inline constexpr uint64_t kMagic = 0;
inline constexpr uint64_t kFormatVersion = 8;
inline constexpr uint64_t kNumSections = 12;
inline constexpr uint64_t kFileSize = 16;
inline constexpr uint64_t kTableOffset = 24;
inline constexpr uint64_t kHeaderChecksum = 32;
} // namespace header_offset

/// The decoded header. `headerChecksum` is the xxh3_64 of the section table
/// bytes (num_sections * kSectionEntrySize bytes at tableOffset).
struct Header {
  char magic[8] = {};
  uint32_t formatVersion = 0;
  uint32_t numSections = 0;
  uint64_t fileSize = 0;
  uint64_t tableOffset = 0;
  uint64_t headerChecksum = 0;
};

/// Decodes the header from the first kHeaderSize bytes at `data`.
inline Header decodeHeader(const uint8_t *data) {
  using namespace llvm::support::endian;
  Header h;
  std::memcpy(h.magic, data + header_offset::kMagic, sizeof(h.magic));
  h.formatVersion = read32le(data + header_offset::kFormatVersion);
  h.numSections = read32le(data + header_offset::kNumSections);
  h.fileSize = read64le(data + header_offset::kFileSize);
  h.tableOffset = read64le(data + header_offset::kTableOffset);
  h.headerChecksum = read64le(data + header_offset::kHeaderChecksum);
  return h;
}

/// Encodes `h` into kHeaderSize bytes at `out` (padding zeroed).
inline void encodeHeader(const Header &h, uint8_t *out) {
  using namespace llvm::support::endian;
  std::memset(out, 0, kHeaderSize);
  std::memcpy(out + header_offset::kMagic, h.magic, sizeof(h.magic));
  write32le(out + header_offset::kFormatVersion, h.formatVersion);
  write32le(out + header_offset::kNumSections, h.numSections);
  write64le(out + header_offset::kFileSize, h.fileSize);
  write64le(out + header_offset::kTableOffset, h.tableOffset);
  write64le(out + header_offset::kHeaderChecksum, h.headerChecksum);
}

//===----------------------------------------------------------------------===//
// Section table entries
//===----------------------------------------------------------------------===//

namespace section_offset {
inline constexpr uint64_t kName = 0;
inline constexpr uint64_t kOffset = 16;
inline constexpr uint64_t kSize = 24;
inline constexpr uint64_t kChecksum = 32;
inline constexpr uint64_t kReserved = 40;
} // namespace section_offset

/// A decoded section table entry. `name` holds the raw 16 bytes; use
/// sectionName() to get the NUL-terminated name.
struct SectionEntry {
  char name[kSectionNameSize] = {};
  uint64_t offset = 0;
  uint64_t size = 0;
  /// xxh3_64 of the section's bytes.
  uint64_t checksum = 0;
  uint64_t reserved = 0;
};

inline SectionEntry decodeSectionEntry(const uint8_t *data) {
  using namespace llvm::support::endian;
  SectionEntry s;
  std::memcpy(s.name, data + section_offset::kName, kSectionNameSize);
  s.offset = read64le(data + section_offset::kOffset);
  s.size = read64le(data + section_offset::kSize);
  s.checksum = read64le(data + section_offset::kChecksum);
  s.reserved = read64le(data + section_offset::kReserved);
  return s;
}

inline void encodeSectionEntry(const SectionEntry &s, uint8_t *out) {
  using namespace llvm::support::endian;
  std::memcpy(out + section_offset::kName, s.name, kSectionNameSize);
  write64le(out + section_offset::kOffset, s.offset);
  write64le(out + section_offset::kSize, s.size);
  write64le(out + section_offset::kChecksum, s.checksum);
  write64le(out + section_offset::kReserved, s.reserved);
}

/// The name of `s` up to its first NUL (all 16 bytes if there is none).
inline llvm::StringRef sectionName(const SectionEntry &s) {
  size_t len = 0;
  while (len < kSectionNameSize && s.name[len] != '\0')
    ++len;
  return llvm::StringRef(s.name, len);
}

} // namespace bundle
} // namespace quantopt

#endif // QUANTOPT_RUNTIME_BUNDLEFORMAT_H
