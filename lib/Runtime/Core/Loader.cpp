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
// driver, the device and its compute capability, see Cuda.cpp), and finally
// the native code, which is dlopen'ed from a memfd and must export the entry
// symbol (a CUDA bundle's loads its GPU code while it is dlopen'ed).
//
// Every message starts with the bundle path, names the section or manifest
// field, and ends with what to do about it.
//
//===----------------------------------------------------------------------===//

#include "RuntimeImpl.h"

#include "quantopt/Runtime/BundleFormat.h"
#include "quantopt/Support/BoundedJSON.h"
#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

static constexpr const char *kRecompile =
    "recompile the model with quant-compile";
static constexpr const char *kCorrupted =
    "the file is corrupted: copy it again or recompile the model with "
    "quant-compile";

qrt_bundle::~qrt_bundle() {
  if (dlHandle && cuda)
    cudaCloseNativeCode(*this);
  else if (dlHandle)
    dlclose(dlHandle);
  dlHandle = nullptr;
  // After the native code: its global destructor unloads the GPU module.
  cuda.reset();
  if (nativeFd >= 0)
    ::close(nativeFd);
}

namespace {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// Collects the first error of a load; every check below returns false after
/// calling fail(), so the loader unwinds with one message.
class Loader {
public:
  Loader(StringRef path, Failure &failure) : path(path), failure(failure) {}

  std::unique_ptr<qrt_bundle> load();

private:
  bool fail(qrt_status status, const Twine &message) {
    failure.status = status;
    failure.message = (path + ": " + message).str();
    return false;
  }

  bool mapFile();
  bool checkHeaderAndSections();
  bool parseManifest();
  bool parseTensorSpec(const json::Value &value, const std::string &where,
                       TensorSpec &spec);
  bool parseWeights(const json::Object &manifest);
  bool checkTarget(const json::Object &manifest);
  bool checkCudaTarget(const json::Object &target);
  bool checkABI(const json::Object &manifest);
  bool checkABITensors(const json::Object &abi, bool isInput);
  bool checkABIWeights(const json::Object &abi);
  bool mismatch(const Twine &field, const Twine &manifestValue,
                const Twine &codeValue);
  bool badDescriptor(const Twine &what);
  bool loadNativeCode();
  bool dlopenNativeCode();

  std::string path;
  Failure &failure;
  std::unique_ptr<qrt_bundle> bundle;
  StringMap<fmt::SectionEntry> sections;
  /// The entry's st_value in the code's dynamic symbol table: after
  /// dlopen, the entry must resolve to exactly this address of the code.
  uint64_t entryValue = 0;
};

std::string hex(uint64_t value) { return "0x" + utohexstr(value); }

/// Printable rendering of raw bytes for messages (the magic, a name).
std::string printable(StringRef bytes) {
  std::string out;
  raw_string_ostream os(out);
  printEscapedString(bytes, os);
  return out;
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

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

/// The manifest field `key` of `object` as a string, or fails.
#define QRT_FIELD_ERROR(where, what)                                           \
  fail(QRT_ERROR_INVALID_BUNDLE,                                               \
       "manifest field '" + Twine(where) + "' " + what + "; " + kRecompile)

bool Loader::parseTensorSpec(const json::Value &value, const std::string &where,
                             TensorSpec &spec) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return QRT_FIELD_ERROR(where, "must be an object");
  std::optional<StringRef> name = object->getString("name");
  if (!name || name->empty())
    return QRT_FIELD_ERROR(where + ".name", "is missing or not a non-empty "
                                            "string");
  spec.name = name->str();
  std::optional<StringRef> dtype = object->getString("dtype");
  if (!dtype)
    return QRT_FIELD_ERROR(where + ".dtype", "is missing or not a string");
  if (!parseDType(*dtype, spec.dtype))
    return QRT_FIELD_ERROR(where + ".dtype",
                           "has unknown dtype \"" + *dtype + "\"");
  const json::Array *shape = object->getArray("shape");
  if (!shape)
    return QRT_FIELD_ERROR(where + ".shape", "is missing or not an array");
  for (auto [i, dim] : llvm::enumerate(*shape)) {
    std::optional<int64_t> size = dim.getAsInteger();
    if (!size || *size < -1)
      return QRT_FIELD_ERROR(where + ".shape[" + std::to_string(i) + "]",
                             "must be an integer >= -1 (-1: dynamic)");
    spec.shape.push_back(*size);
  }
  spec.dimNames.assign(spec.shape.size(), std::string());
  if (const json::Value *dims = object->get("dims");
      dims && !dims->getAsNull()) {
    const json::Array *names = dims->getAsArray();
    if (!names || names->size() != shape->size())
      return QRT_FIELD_ERROR(where + ".dims",
                             "must be an array with one entry per dim of "
                             "'shape' (a name or null)");
    for (auto [i, dim] : llvm::enumerate(*names)) {
      if (dim.getAsNull())
        continue;
      std::optional<StringRef> dimName = dim.getAsString();
      if (!dimName)
        return QRT_FIELD_ERROR(where + ".dims[" + std::to_string(i) + "]",
                               "must be a string or null");
      spec.dimNames[i] = dimName->str();
    }
  }
  return true;
}

bool Loader::parseWeights(const json::Object &manifest) {
  const json::Array *weights = manifest.getArray("weights");
  if (!weights)
    return QRT_FIELD_ERROR("weights", "is missing or not an array");
  const fmt::SectionEntry &section = sections[fmt::kWeightsSection];
  StringSet<> names;
  for (auto [i, value] : llvm::enumerate(*weights)) {
    std::string where = "weights[" + std::to_string(i) + "]";
    const json::Object *object = value.getAsObject();
    if (!object)
      return QRT_FIELD_ERROR(where, "must be an object");
    WeightSpec weight;
    std::optional<StringRef> name = object->getString("name");
    if (!name || name->empty())
      return QRT_FIELD_ERROR(where + ".name",
                             "is missing or not a non-empty string");
    weight.name = name->str();
    where += " ('" + weight.name + "')";
    if (!names.insert(*name).second)
      return QRT_FIELD_ERROR(where + ".name", "repeats an earlier weight");
    std::optional<StringRef> dtype = object->getString("dtype");
    if (!dtype || !parseDType(*dtype, weight.dtype))
      return QRT_FIELD_ERROR(where + ".dtype",
                             "is missing or not a known dtype");
    const json::Array *shape = object->getArray("shape");
    if (!shape)
      return QRT_FIELD_ERROR(where + ".shape", "is missing or not an array");
    uint64_t bytes = dtypeSize(weight.dtype);
    for (const json::Value &dim : *shape) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size || *size < 0)
        return QRT_FIELD_ERROR(where + ".shape",
                               "must hold integers >= 0 (weights are static)");
      weight.shape.push_back(*size);
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(*size), &bytes))
        return QRT_FIELD_ERROR(where + ".shape", "describes too many bytes");
    }
    std::optional<int64_t> offset = object->getInteger("offset");
    std::optional<int64_t> size = object->getInteger("size");
    if (!offset || *offset < 0)
      return QRT_FIELD_ERROR(where + ".offset",
                             "is missing or not an integer >= 0");
    if (!size || *size < 0)
      return QRT_FIELD_ERROR(where + ".size",
                             "is missing or not an integer >= 0");
    weight.offset = *offset;
    weight.size = *size;
    if (weight.size != bytes)
      return QRT_FIELD_ERROR(where + ".size",
                             "is " + Twine(weight.size) +
                                 " bytes, but dtype and shape make " +
                                 Twine(bytes));
    if (weight.offset % fmt::kWeightAlignment != 0)
      return QRT_FIELD_ERROR(where + ".offset",
                             "is " + Twine(weight.offset) +
                                 ", not a multiple of " +
                                 Twine(fmt::kWeightAlignment));
    if (weight.offset > section.size ||
        weight.size > section.size - weight.offset)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  "manifest field '" + where + "': the weight [offset " +
                      Twine(weight.offset) + ", size " + Twine(weight.size) +
                      "] lies outside the " + Twine(section.size) +
                      "-byte section 'weights'; " + kRecompile);
    weight.data = bundle->fileData + section.offset + weight.offset;
    bundle->weights.push_back(std::move(weight));
  }
  return true;
}

bool Loader::parseManifest() {
  const fmt::SectionEntry &section = sections[fmt::kManifestSection];
  bundle->manifestText.assign(reinterpret_cast<const char *>(bundle->fileData) +
                                  section.offset,
                              section.size);
  // Bounded nesting: llvm::json recurses per level, and an edited manifest
  // of a million '[' would otherwise overflow the stack.
  Expected<json::Value> parsed =
      parseBoundedJSON(bundle->manifestText, "section 'manifest'");
  if (!parsed)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "section 'manifest' is not valid JSON (" +
                    toString(parsed.takeError()) + "); " + kRecompile);
  const json::Object *manifest = parsed->getAsObject();
  if (!manifest)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                Twine("section 'manifest' must be a JSON object; ") +
                    kRecompile);

  std::optional<StringRef> format = manifest->getString("format");
  if (!format || *format != fmt::kManifestFormat)
    return QRT_FIELD_ERROR("format", "must be \"quantopt-bundle\"");
  std::optional<int64_t> version = manifest->getInteger("format_version");
  if (!version)
    return QRT_FIELD_ERROR("format_version", "is missing or not an integer");
  if (*version != fmt::kManifestFormatVersion)
    return QRT_FIELD_ERROR("format_version",
                           "is " + Twine(*version) +
                               ", this runtime reads version " +
                               Twine(fmt::kManifestFormatVersion));
  for (StringRef optionalObject : {"producer", "source"})
    if (const json::Value *v = manifest->get(optionalObject);
        v && !v->getAsObject())
      return QRT_FIELD_ERROR(optionalObject, "must be an object");
  if (const json::Value *v = manifest->get("kernels"); v && !v->getAsArray())
    return QRT_FIELD_ERROR("kernels", "must be an array");

  std::optional<StringRef> entry = manifest->getString("entry");
  if (!entry || entry->empty())
    return QRT_FIELD_ERROR("entry", "is missing or not a non-empty string");
  bundle->entryName = entry->str();

  for (bool isInput : {true, false}) {
    StringRef key = isInput ? "inputs" : "outputs";
    const json::Array *array = manifest->getArray(key);
    if (!array)
      return QRT_FIELD_ERROR(key, "is missing or not an array");
    if (!isInput && array->empty())
      return QRT_FIELD_ERROR(key, "is empty; a model has at least one output");
    auto &specs = isInput ? bundle->inputs : bundle->outputs;
    StringSet<> names;
    for (auto [i, value] : llvm::enumerate(*array)) {
      TensorSpec spec;
      std::string where = (key + "[" + Twine(i) + "]").str();
      if (!parseTensorSpec(value, where, spec))
        return false;
      if (!names.insert(spec.name).second)
        return QRT_FIELD_ERROR(where + ".name",
                               "repeats the name \"" + spec.name + "\"");
      specs.push_back(std::move(spec));
    }
  }
  // The C strings of the dim names, once the specs are in place (a moved
  // short std::string moves its characters).
  for (auto *specs : {&bundle->inputs, &bundle->outputs})
    for (TensorSpec &spec : *specs)
      for (const std::string &dimName : spec.dimNames)
        spec.dimNamePtrs.push_back(dimName.empty() ? nullptr : dimName.c_str());
  if (!parseWeights(*manifest))
    return false;
  // Before the host checks: a manifest edited to claim another target must
  // be named as such, not as a missing CPU feature.
  if (!checkABI(*manifest))
    return false;
  return checkTarget(*manifest);
}

//===----------------------------------------------------------------------===//
// Target and CPU features
//===----------------------------------------------------------------------===//

/// The architecture this runtime was built for, in the manifest's spelling.
constexpr const char *hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

/// Whether the host has `feature`: std::nullopt if the name is unknown.
/// The common x86 names go through __builtin_cpu_supports (what the kernels'
/// dispatcher uses too); the rest through LLVM's host feature map, whose
/// names are the ones the compiler writes into "target.features".
std::optional<bool> hostHasFeature(StringRef feature) {
#if defined(__x86_64__)
  __builtin_cpu_init();
#define QRT_CPU_FEATURE(NAME)                                                  \
  if (feature == NAME)                                                         \
    return __builtin_cpu_supports(NAME) != 0;
  QRT_CPU_FEATURE("cmov")
  QRT_CPU_FEATURE("mmx")
  QRT_CPU_FEATURE("popcnt")
  QRT_CPU_FEATURE("sse")
  QRT_CPU_FEATURE("sse2")
  QRT_CPU_FEATURE("sse3")
  QRT_CPU_FEATURE("ssse3")
  QRT_CPU_FEATURE("sse4.1")
  QRT_CPU_FEATURE("sse4.2")
  QRT_CPU_FEATURE("avx")
  QRT_CPU_FEATURE("avx2")
  QRT_CPU_FEATURE("sse4a")
  QRT_CPU_FEATURE("fma4")
  QRT_CPU_FEATURE("xop")
  QRT_CPU_FEATURE("fma")
  QRT_CPU_FEATURE("bmi")
  QRT_CPU_FEATURE("bmi2")
  QRT_CPU_FEATURE("aes")
  QRT_CPU_FEATURE("pclmul")
  QRT_CPU_FEATURE("avx512f")
  QRT_CPU_FEATURE("avx512vl")
  QRT_CPU_FEATURE("avx512bw")
  QRT_CPU_FEATURE("avx512dq")
  QRT_CPU_FEATURE("avx512cd")
  QRT_CPU_FEATURE("avx512vbmi")
  QRT_CPU_FEATURE("avx512ifma")
  QRT_CPU_FEATURE("avx512vpopcntdq")
  QRT_CPU_FEATURE("avx512vbmi2")
  QRT_CPU_FEATURE("gfni")
  QRT_CPU_FEATURE("vpclmulqdq")
  QRT_CPU_FEATURE("avx512vnni")
  QRT_CPU_FEATURE("avx512bitalg")
  QRT_CPU_FEATURE("avx512bf16")
#undef QRT_CPU_FEATURE
#endif
  static const StringMap<bool> hostFeatures = [] {
    StringMap<bool> features;
    for (const auto &entry : sys::getHostCPUFeatures())
      features[entry.getKey()] = entry.getValue();
    return features;
  }();
  auto it = hostFeatures.find(feature);
  if (it == hostFeatures.end())
    return std::nullopt;
  return it->second;
}

bool Loader::checkTarget(const json::Object &manifest) {
  const json::Object *target = manifest.getObject("target");
  if (!target)
    return QRT_FIELD_ERROR("target", "is missing or not an object");
  std::optional<StringRef> kind = target->getString("kind");
  if (!kind)
    return QRT_FIELD_ERROR("target.kind", "is missing or not a string");
  if (*kind == "cuda")
    return checkCudaTarget(*target);
  if (*kind != "cpu")
    return fail(QRT_ERROR_UNSUPPORTED_CPU,
                "manifest field 'target.kind' is \"" + *kind +
                    "\"; this runtime runs \"cpu\" and \"cuda\" bundles "
                    "only: compile with quant-compile for one of them");
  std::optional<StringRef> arch = target->getString("arch");
  if (!arch)
    return QRT_FIELD_ERROR("target.arch", "is missing or not a string");
  StringRef normalized = *arch == "x86-64" ? StringRef("x86_64") : *arch;
  if (normalized != hostArch())
    return fail(QRT_ERROR_UNSUPPORTED_CPU,
                "the bundle was compiled for " + *arch +
                    " (target.arch) but "
                    "this host is " +
                    hostArch() +
                    "; compile the model for this machine with quant-compile");
  const json::Array *features = target->getArray("features");
  if (!features)
    return QRT_FIELD_ERROR("target.features",
                           "is missing or not an array of strings");
  std::string cpu = target->getString("cpu").value_or("?").str();
  std::vector<std::string> missing, unknown;
  for (auto [i, value] : llvm::enumerate(*features)) {
    std::optional<StringRef> feature = value.getAsString();
    if (!feature)
      return QRT_FIELD_ERROR("target.features[" + std::to_string(i) + "]",
                             "must be a string");
    StringRef name = *feature;
    if (name.starts_with("-"))
      continue; // A disabled feature needs nothing from the host.
    name.consume_front("+");
    std::optional<bool> has = hostHasFeature(name);
    if (!has)
      unknown.push_back(name.str());
    else if (!*has)
      missing.push_back(name.str());
  }
  std::string hostCpu = sys::getHostCPUName().str();
  if (!unknown.empty())
    return fail(QRT_ERROR_UNSUPPORTED_CPU,
                "manifest field 'target.features' names unknown CPU "
                "feature(s) " +
                    join(unknown, ", ") +
                    " that this runtime cannot check on this host (" + hostCpu +
                    "); recompile with quant-compile --cpu=" +
                    "x86-64-v3 (or --cpu=native on this machine)");
  if (!missing.empty())
    return fail(QRT_ERROR_UNSUPPORTED_CPU,
                "this CPU (" + hostCpu + ") lacks feature(s) " +
                    join(missing, ", ") +
                    " required by the bundle (target.cpu \"" + cpu +
                    "\"); recompile with quant-compile --cpu=x86-64-v3 "
                    "(or --cpu=native on this machine)");
  return true;
}

/// A CUDA target: "chip" ("sm_90") and "compute_capability" (90) agree.
/// The device itself is checked by cudaPrepareBundle.
bool Loader::checkCudaTarget(const json::Object &target) {
  std::optional<StringRef> chip = target.getString("chip");
  unsigned chipNumber = 0;
  if (!chip || !chip->starts_with("sm_") ||
      chip->drop_front(3).getAsInteger(10, chipNumber) || chipNumber < 10)
    return QRT_FIELD_ERROR("target.chip",
                           "is missing or not an NVIDIA GPU architecture "
                           "such as \"sm_90\"");
  std::optional<int64_t> capability = target.getInteger("compute_capability");
  if (!capability)
    return QRT_FIELD_ERROR("target.compute_capability",
                           "is missing or not an integer");
  if (*capability != chipNumber)
    return QRT_FIELD_ERROR("target.compute_capability",
                           "is " + Twine(*capability) +
                               ", which does not match target.chip \"" + *chip +
                               "\"");
  bundle->device = QRT_DEVICE_CUDA;
  bundle->cudaChip = chip->str();
  bundle->cudaCapability = chipNumber;
  return true;
}

//===----------------------------------------------------------------------===//
// What the code was compiled for (the ABI descriptor)
//===----------------------------------------------------------------------===//

/// A symbol defined by the native code.
struct ElfSymbol {
  uint64_t value = 0;
  unsigned type = STT_NOTYPE;
  /// The symbol's bytes in the file when it is data in a section with
  /// contents; empty otherwise.
  ArrayRef<uint8_t> bytes;
};

/// The dynamic symbol table of an ELF64 little-endian shared object, read
/// from its bytes with every offset bounds-checked: the manifest is checked
/// against the descriptor before dlopen runs any of the code's constructors.
class ElfSymbols {
public:
  /// Empty on success, else what is wrong with the file.
  std::string init(ArrayRef<uint8_t> bytes);
  /// The first definition of `name` (undefined references do not count).
  std::optional<ElfSymbol> find(StringRef name) const;

private:
  /// Whether [offset, offset + size) lies inside the file.
  bool inside(uint64_t offset, uint64_t size) const {
    return offset <= code.size() && size <= code.size() - offset;
  }

  ArrayRef<uint8_t> code;
  std::vector<Elf64_Shdr> headers;
  ArrayRef<uint8_t> symbols, strings;
};

std::string ElfSymbols::init(ArrayRef<uint8_t> bytes) {
  code = bytes;
  Elf64_Ehdr ehdr;
  if (code.size() < sizeof(ehdr) ||
      std::memcmp(code.data(), ELFMAG, SELFMAG) != 0)
    return "not an ELF shared object";
  std::memcpy(&ehdr, code.data(), sizeof(ehdr));
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_type != ET_DYN)
    return "not a 64-bit little-endian ELF shared object";
  if (ehdr.e_shentsize != sizeof(Elf64_Shdr) || ehdr.e_shnum == 0 ||
      ehdr.e_shnum >= SHN_LORESERVE ||
      !inside(ehdr.e_shoff, uint64_t(ehdr.e_shnum) * sizeof(Elf64_Shdr)))
    return "its ELF section headers lie outside the file";
  headers.resize(ehdr.e_shnum);
  std::memcpy(headers.data(), code.data() + ehdr.e_shoff,
              headers.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr &header : headers) {
    if (header.sh_type != SHT_DYNSYM)
      continue;
    if (header.sh_entsize != sizeof(Elf64_Sym) ||
        !inside(header.sh_offset, header.sh_size) ||
        header.sh_link >= headers.size())
      return "its dynamic symbol table is malformed";
    const Elf64_Shdr &names = headers[header.sh_link];
    if (names.sh_type != SHT_STRTAB || !inside(names.sh_offset, names.sh_size))
      return "the names of its dynamic symbols are malformed";
    symbols = code.slice(header.sh_offset, header.sh_size);
    strings = code.slice(names.sh_offset, names.sh_size);
    return "";
  }
  return "it has no dynamic symbol table";
}

std::optional<ElfSymbol> ElfSymbols::find(StringRef name) const {
  // Entry 0 is the reserved null symbol.
  for (size_t at = sizeof(Elf64_Sym); at + sizeof(Elf64_Sym) <= symbols.size();
       at += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, symbols.data() + at, sizeof(sym));
    if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strings.size())
      continue;
    const char *begin =
        reinterpret_cast<const char *>(strings.data()) + sym.st_name;
    size_t length = strnlen(begin, strings.size() - sym.st_name);
    if (StringRef(begin, length) != name)
      continue;
    ElfSymbol found;
    found.value = sym.st_value;
    found.type = ELF64_ST_TYPE(sym.st_info);
    if (sym.st_shndx < headers.size()) {
      const Elf64_Shdr &section = headers[sym.st_shndx];
      uint64_t delta = sym.st_value - section.sh_addr;
      if (section.sh_type != SHT_NOBITS && sym.st_value >= section.sh_addr &&
          delta <= section.sh_size && sym.st_size <= section.sh_size - delta &&
          inside(section.sh_offset, section.sh_size))
        found.bytes = code.slice(section.sh_offset + delta, sym.st_size);
    }
    return found;
  }
  return std::nullopt;
}

/// 'text' for messages about names and dtypes; "null" for an unnamed dim.
std::string quoted(StringRef text) { return ("'" + text + "'").str(); }
std::string quotedDim(const std::string &name) {
  return name.empty() ? "null (unnamed)" : quoted(name);
}

/// A tensor of the descriptor, read leniently: false if malformed.
bool readABITensor(const json::Value &value, TensorSpec &spec) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return false;
  std::optional<StringRef> name = object->getString("name");
  std::optional<StringRef> dtype = object->getString("dtype");
  const json::Array *shape = object->getArray("shape");
  if (!name || !dtype || !shape || !parseDType(*dtype, spec.dtype))
    return false;
  spec.name = name->str();
  for (const json::Value &dim : *shape) {
    std::optional<int64_t> size = dim.getAsInteger();
    if (!size)
      return false;
    spec.shape.push_back(*size);
  }
  spec.dimNames.assign(spec.shape.size(), std::string());
  if (const json::Array *dims = object->getArray("dims")) {
    if (dims->size() != spec.shape.size())
      return false;
    for (auto [i, dim] : llvm::enumerate(*dims))
      if (std::optional<StringRef> dimName = dim.getAsString())
        spec.dimNames[i] = dimName->str();
  }
  return true;
}

bool Loader::mismatch(const Twine &field, const Twine &manifestValue,
                      const Twine &codeValue) {
  return fail(QRT_ERROR_INVALID_BUNDLE,
              "manifest field '" + field + "' is " + manifestValue +
                  " but the code was compiled for " + codeValue +
                  "; the manifest was edited or belongs to another model: " +
                  kRecompile);
}

bool Loader::badDescriptor(const Twine &what) {
  return fail(QRT_ERROR_INVALID_BUNDLE,
              "the ABI descriptor '" + fmt::kABISymbol +
                  "' of section 'native' is malformed (" + what + "); " +
                  kRecompile);
}

/// Compares the code's descriptor with the parsed manifest, field by field;
/// the first difference is the error.
bool Loader::checkABI(const json::Object &manifest) {
  const fmt::SectionEntry &section = sections[fmt::kNativeSection];
  ArrayRef<uint8_t> code(bundle->fileData + section.offset, section.size);
  ElfSymbols elf;
  std::string elfError = elf.init(code);
  if (!elfError.empty())
    return fail(QRT_ERROR_NATIVE_CODE,
                "section 'native' is not a usable ELF shared object: " +
                    elfError + "; " + kRecompile);

  std::optional<ElfSymbol> symbol = elf.find(fmt::kABISymbol);
  if (!symbol)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "section 'native' has no ABI descriptor (symbol '" +
                    fmt::kABISymbol +
                    "'): the code was compiled by an older quant-compile "
                    "that did not record what it expects; " +
                    kRecompile);
  if (symbol->type != STT_OBJECT || symbol->bytes.empty() ||
      symbol->bytes.size() > fmt::kMaxABISize)
    return badDescriptor("not a constant in the file");
  StringRef bytes(reinterpret_cast<const char *>(symbol->bytes.data()),
                  symbol->bytes.size());
  size_t end = bytes.find('\0');
  if (end == StringRef::npos)
    return badDescriptor("no NUL terminator");
  Expected<json::Value> parsed =
      parseBoundedJSON(bytes.take_front(end), "the ABI descriptor");
  if (!parsed)
    return badDescriptor(toString(parsed.takeError()));
  const json::Object *abi = parsed->getAsObject();
  if (!abi)
    return badDescriptor("not a JSON object");
  std::optional<int64_t> version = abi->getInteger("abi_version");
  if (!version || *version != fmt::kABIVersion)
    return fail(QRT_ERROR_INVALID_BUNDLE,
                "the ABI descriptor of section 'native' has version " +
                    (version ? Twine(*version) : Twine("(none)")) +
                    ", this runtime reads version " + Twine(fmt::kABIVersion) +
                    "; " + kRecompile +
                    " of the same QuantOpt release as this runtime");

  std::optional<StringRef> entry = abi->getString("entry");
  if (!entry)
    return badDescriptor("no \"entry\"");
  if (*entry != bundle->entryName)
    return mismatch("entry", quoted(bundle->entryName), quoted(*entry));

  // The target: every field the code recorded ("kind", "arch", "cpu",
  // "features"; "chip", "compute_capability") as the manifest must have it.
  const json::Object *target = manifest.getObject("target");
  if (!target)
    return QRT_FIELD_ERROR("target", "is missing or not an object");
  const json::Object *codeTarget = abi->getObject("target");
  if (!codeTarget)
    return badDescriptor("no \"target\"");
  std::vector<std::string> keys;
  for (const auto &field : *codeTarget)
    keys.push_back(field.first.str());
  // "kind" first: a CPU bundle relabelled as CUDA is named as such.
  llvm::sort(keys, [](const std::string &a, const std::string &b) {
    return std::make_pair(a != "kind", a) < std::make_pair(b != "kind", b);
  });
  auto render = [](const json::Value *value) {
    if (!value)
      return std::string("missing");
    if (std::optional<StringRef> text = value->getAsString())
      return quoted(*text);
    std::string out;
    raw_string_ostream os(out);
    os << *value;
    return out;
  };
  for (const std::string &key : keys) {
    const json::Value *want = codeTarget->get(key);
    const json::Value *have = target->get(key);
    if (!have || *have != *want)
      return mismatch("target." + key, render(have), render(want));
  }

  if (!checkABITensors(*abi, /*isInput=*/true) ||
      !checkABITensors(*abi, /*isInput=*/false) || !checkABIWeights(*abi))
    return false;

  // The entry must be the code's own function (dlsym alone would find
  // "exit" in libc): remembered for the check after dlopen.
  std::optional<ElfSymbol> entrySymbol = elf.find(bundle->entryName);
  if (!entrySymbol || entrySymbol->type != STT_FUNC)
    return fail(QRT_ERROR_NATIVE_CODE,
                "section 'native' has no symbol '" + bundle->entryName +
                    "' (manifest field 'entry') defined as a function; " +
                    kRecompile);
  entryValue = entrySymbol->value;
  return true;
}

bool Loader::checkABITensors(const json::Object &abi, bool isInput) {
  StringRef key = isInput ? "inputs" : "outputs";
  const json::Array *codeSpecs = abi.getArray(key);
  if (!codeSpecs)
    return badDescriptor("no \"" + key + "\"");
  const std::vector<TensorSpec> &specs =
      isInput ? bundle->inputs : bundle->outputs;
  if (specs.size() != codeSpecs->size())
    return mismatch(key, "a list of " + Twine(specs.size()) + " " + key,
                    Twine(codeSpecs->size()) + " " + key);
  for (auto [i, value] : llvm::enumerate(*codeSpecs)) {
    std::string where = (key + "[" + Twine(i) + "]").str();
    TensorSpec want;
    if (!readABITensor(value, want))
      return badDescriptor(where);
    const TensorSpec &have = specs[i];
    if (have.name != want.name)
      return mismatch(where + ".name", quoted(have.name), quoted(want.name));
    if (have.dtype != want.dtype)
      return mismatch(where + ".dtype", quoted(dtypeName(have.dtype)),
                      quoted(dtypeName(want.dtype)));
    if (have.shape.size() != want.shape.size())
      return mismatch(
          where + ".shape",
          formatShape(have.shape) + " (rank " + Twine(have.shape.size()) + ")",
          formatShape(want.shape) + " (rank " + Twine(want.shape.size()) + ")");
    for (size_t d = 0; d < want.shape.size(); ++d) {
      std::string dim = where + ".shape[" + std::to_string(d) + "]";
      if (have.shape[d] != want.shape[d])
        return mismatch(dim, Twine(have.shape[d]), Twine(want.shape[d]));
      if (have.dimNames[d] != want.dimNames[d])
        return mismatch(where + ".dims[" + std::to_string(d) + "]",
                        quotedDim(have.dimNames[d]),
                        quotedDim(want.dimNames[d]));
    }
  }
  return true;
}

bool Loader::checkABIWeights(const json::Object &abi) {
  const json::Array *codeWeights = abi.getArray("weights");
  if (!codeWeights)
    return badDescriptor("no \"weights\"");
  const std::vector<WeightSpec> &weights = bundle->weights;
  if (weights.size() != codeWeights->size())
    return mismatch("weights",
                    "a list of " + Twine(weights.size()) + " weights",
                    Twine(codeWeights->size()) + " weights");
  for (auto [i, value] : llvm::enumerate(*codeWeights)) {
    std::string where = "weights[" + std::to_string(i) + "]";
    TensorSpec want;
    const json::Object *object = value.getAsObject();
    std::optional<int64_t> offset, size;
    if (object) {
      offset = object->getInteger("offset");
      size = object->getInteger("size");
    }
    if (!readABITensor(value, want) || !offset || !size)
      return badDescriptor(where);
    const WeightSpec &have = weights[i];
    if (have.name != want.name)
      return mismatch(where + ".name", quoted(have.name), quoted(want.name));
    if (have.dtype != want.dtype)
      return mismatch(where + ".dtype", quoted(dtypeName(have.dtype)),
                      quoted(dtypeName(want.dtype)));
    if (ArrayRef<int64_t>(have.shape) != ArrayRef<int64_t>(want.shape))
      return mismatch(where + ".shape", formatShape(have.shape),
                      formatShape(want.shape));
    if (have.size != static_cast<uint64_t>(*size))
      return mismatch(where + ".size", Twine(have.size) + " bytes",
                      Twine(*size) + " bytes");
    if (have.offset != static_cast<uint64_t>(*offset))
      return mismatch(where + ".offset", Twine(have.offset), Twine(*offset));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Native code
//===----------------------------------------------------------------------===//

/// Writes all of `bytes` to `fd`.
bool writeAll(int fd, ArrayRef<uint8_t> bytes) {
  const uint8_t *p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    left -= n;
  }
  return true;
}

bool Loader::loadNativeCode() {
  // (checkABI made sure that section 'native' is an ELF shared object that
  // defines the entry.)
  // A CUDA bundle's code loads its GPU module from a global constructor,
  // which needs the bundle's context current on this thread.
  if (bundle->device != QRT_DEVICE_CUDA)
    return dlopenNativeCode();
  cudaBeginLoad(*bundle);
  bool loaded = dlopenNativeCode();
  Failure gpuFailure{QRT_OK, {}};
  bool gpuLoaded = cudaEndLoad(*bundle, gpuFailure);
  if (loaded && !gpuLoaded)
    failure = std::move(gpuFailure);
  return loaded && gpuLoaded;
}

bool Loader::dlopenNativeCode() {
  const fmt::SectionEntry &section = sections[fmt::kNativeSection];
  ArrayRef<uint8_t> code(bundle->fileData + section.offset, section.size);
  // Preferred: an anonymous memory file, opened through /proc. Nothing
  // touches the disk and nothing is left behind if the process dies.
  int fd = ::memfd_create("quantopt-native", MFD_CLOEXEC);
  if (fd >= 0) {
    if (writeAll(fd, code)) {
      std::string procPath = "/proc/self/fd/" + std::to_string(fd);
      // A path that names an object that is still loaded (an earlier
      // bundle whose code the dynamic loader kept) would return that
      // object: then use the temporary file below.
      void *stale = ::dlopen(procPath.c_str(), RTLD_NOW | RTLD_NOLOAD);
      if (stale) {
        ::dlclose(stale);
      } else if (::access(procPath.c_str(), R_OK) == 0) {
        bundle->dlHandle = ::dlopen(procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!bundle->dlHandle) {
          ::close(fd);
          const char *message = ::dlerror();
          return fail(QRT_ERROR_NATIVE_CODE,
                      Twine("cannot load section 'native': ") +
                          (message ? message : "unknown dlopen error") +
                          "; the code needs kernels from libquantrt (load "
                          "libquantrt with RTLD_GLOBAL and use the runtime "
                          "of the QuantOpt release that compiled it) or " +
                          kRecompile);
        }
      }
    }
    if (bundle->dlHandle)
      bundle->nativeFd = fd;
    else
      ::close(fd);
  }

  // Fallback (no memfd or no /proc): a private temporary file, removed as
  // soon as it is mapped.
  if (!bundle->dlHandle) {
    SmallString<128> tempPath;
    int tempFd = -1;
    if (std::error_code ec = sys::fs::createTemporaryFile(
            "quantopt-native", "so", tempFd, tempPath))
      return fail(QRT_ERROR_NATIVE_CODE,
                  "cannot create a temporary file for section 'native': " +
                      ec.message() + "; set TMPDIR to a writable directory");
    bool written = writeAll(tempFd, code);
    ::close(tempFd);
    if (written)
      bundle->dlHandle = ::dlopen(tempPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    const char *message = written ? ::dlerror() : "cannot write the file";
    sys::fs::remove(tempPath);
    if (!bundle->dlHandle)
      return fail(QRT_ERROR_NATIVE_CODE,
                  Twine("cannot load section 'native': ") +
                      (message ? message : "unknown dlopen error") + "; " +
                      kRecompile);
  }

  // dlsym on the handle also searches the code's dependencies (libc,
  // libquantrt): only the code's own definition, at the address its dynamic
  // symbol table gives, is the entry.
  ::dlerror();
  void *symbol = ::dlsym(bundle->dlHandle, bundle->entryName.c_str());
  struct link_map *map = nullptr;
  if (::dlinfo(bundle->dlHandle, RTLD_DI_LINKMAP, &map) != 0 || !map)
    return fail(QRT_ERROR_NATIVE_CODE,
                Twine("cannot locate the loaded section 'native' (dlinfo "
                      "failed); ") +
                    kRecompile);
  uintptr_t own =
      static_cast<uintptr_t>(map->l_addr) + static_cast<uintptr_t>(entryValue);
  if (!symbol || reinterpret_cast<uintptr_t>(symbol) != own)
    return fail(QRT_ERROR_NATIVE_CODE,
                "symbol '" + bundle->entryName +
                    "' (manifest field 'entry') does not resolve to the "
                    "definition in section 'native'; " +
                    kRecompile);
  bundle->entry = reinterpret_cast<EntryFn>(symbol);
  return true;
}

std::unique_ptr<qrt_bundle> Loader::load() {
  bundle = std::make_unique<qrt_bundle>();
  bundle->path = path;
  if (!mapFile() || !checkHeaderAndSections() || !parseManifest())
    return nullptr;
  if (bundle->device == QRT_DEVICE_CUDA && !cudaPrepareBundle(*bundle, failure))
    return nullptr;
  if (!loadNativeCode())
    return nullptr;
  return std::move(bundle);
}

} // namespace

std::unique_ptr<qrt_bundle> quantopt::runtime::loadBundle(StringRef path,
                                                          Failure &failure) {
  return Loader(path, failure).load();
}
