//===- Weights.cpp - The weight table and packed kernel blobs
//---------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The manifest's weights: each one's name, dtype, static shape, size and
// offset inside section 'weights', which the code indexes in place; then
// the packed operands of the CPU kernels among them, whose headers the
// kernels would otherwise be the first to read (docs/Runtime.md, "Errors").
//
//===----------------------------------------------------------------------===//

#include "Loader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#if QUANTOPT_HAVE_KERNELS
#include "quantopt/Runtime/Kernels.h"
#endif

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

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

/// The packed operands a manifest's "kernels" list implies: the CPU
/// lowering names the packed right operand of matmul node N "N.sgemm",
/// "N.qgemm" or "N.wo" after the kernel that reads it.
static StringMap<const char *>
expectedPackedWeights(const json::Object &manifest) {
  static const std::pair<StringRef, StringRef> kSuffixes[] = {
      {"qk_sgemm", "sgemm"}, {"qk_qgemm", "qgemm"}, {"qk_wo_matmul", "wo"}};
  StringMap<const char *> expected;
  const json::Array *kernels = manifest.getArray("kernels");
  if (!kernels)
    return expected;
  for (const json::Value &value : *kernels) {
    const json::Object *entry = value.getAsObject();
    std::optional<StringRef> node =
        entry ? entry->getString("node") : std::nullopt;
    std::optional<StringRef> kernel =
        entry ? entry->getString("kernel") : std::nullopt;
    if (!node || node->empty() || !kernel)
      continue;
    for (auto [name, suffix] : kSuffixes)
      if (*kernel == name)
        expected[(*node + "." + suffix).str()] = name.data();
  }
  return expected;
}

bool Loader::checkPackedWeights(const json::Object &manifest) {
#if QUANTOPT_HAVE_KERNELS
  // Every weight that starts with a packed header, and every weight the
  // kernels list names as one, must be a blob its kernel can read: a bad
  // header is refused here, naming the weight, not met in the middle of a
  // run.
  StringMap<const char *> expected = expectedPackedWeights(manifest);
  for (auto [i, weight] : llvm::enumerate(bundle->weights)) {
    auto it = expected.find(weight.name);
    bool bytes =
        (weight.dtype == QRT_DTYPE_INT8 || weight.dtype == QRT_DTYPE_UINT8) &&
        weight.shape.size() == 1;
    const char *kernel = it != expected.end() && bytes ? it->second : nullptr;
    char reason[256] = {0};
    if (qk_check_packed(weight.data, weight.size, kernel, reason,
                        sizeof(reason)) < 0)
      return fail(QRT_ERROR_INVALID_BUNDLE,
                  "weight '" + weight.name + "' (manifest field 'weights[" +
                      Twine(i) +
                      "]') is not a valid packed kernel operand: " + reason +
                      "; the weights are damaged or were packed by another "
                      "QuantOpt release: " +
                      kRecompile);
  }
#else
  (void)manifest;
#endif
  return true;
}
