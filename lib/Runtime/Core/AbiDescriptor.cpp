//===- AbiDescriptor.cpp - What the code was compiled for
//-------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The code generator emits the exported constant `quantopt_abi` in section
// 'native': the entry, target, inputs, outputs and weights the code was
// compiled for (docs/CPUBackend.md, "ABI descriptor"). It is read from the
// ELF dynamic symbol table before dlopen runs anything, and every manifest
// field must equal it; the first difference is the error.
//
//===----------------------------------------------------------------------===//

#include "ElfSymbols.h"
#include "Loader.h"

#include "quantopt/Support/BoundedJSON.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

namespace {

/// "null (unnamed)" for an unnamed dim, else its quoted name.
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

} // namespace

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
