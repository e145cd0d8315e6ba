//===- Manifest.cpp - The manifest schema and the target
//--------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Parses section 'manifest' (bounded JSON nesting) into the bundle: format,
// entry, inputs and outputs, then the weights (Weights.cpp), the code's ABI
// descriptor (AbiDescriptor.cpp) and the target: the architecture and CPU
// features of this host, or the chip of a CUDA bundle (whose device is
// checked when the Device is prepared).
//
//===----------------------------------------------------------------------===//

#include "Loader.h"

#include "quantopt/Support/BoundedJSON.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/TargetParser/Host.h"

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

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
  // Last: a packed header is checked only in a bundle this host can run.
  return checkTarget(*manifest) && checkPackedWeights(*manifest);
}

//===----------------------------------------------------------------------===//
// Target and CPU features
//===----------------------------------------------------------------------===//

/// The architecture this runtime was built for, in the manifest's spelling.
static constexpr const char *hostArch() {
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
static std::optional<bool> hostHasFeature(StringRef feature) {
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
/// The device itself is checked by the CUDA Device's prepare().
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
  bundle->targetKind = QRT_DEVICE_CUDA;
  bundle->cudaChip = chip->str();
  bundle->cudaCapability = chipNumber;
  return true;
}
