//===- QuantScheme.h - Typed options of the quantization passes -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Enums behind the pass options (scheme=w4a16, weight-granularity=per-group,
// ...). A wrong value is rejected by the option parser with the list of the
// valid ones, not silently accepted as a free string.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_TRANSFORMS_QUANTSCHEME_H
#define QUANTOPT_DIALECT_QNN_TRANSFORMS_QUANTSCHEME_H

#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/CommandLine.h"

namespace quantopt::qnn {

enum class QuantScheme { W8A8, W8A16, W4A16, W4A8, FP8 };
enum class WeightGranularity { Default, PerTensor, PerChannel, PerGroup };
enum class ActivationGranularity { PerTensor, PerToken };
enum class ActivationMode { Static, Dynamic };

// The spellings of each enum, shared by the pass options (Passes.td) and the
// named pipelines' options.
#define QUANTOPT_QUANT_SCHEME_VALUES                                           \
  ::llvm::cl::values(clEnumValN(::quantopt::qnn::QuantScheme::W8A8, "w8a8",    \
                                "int8 weights, int8 activations"),             \
                     clEnumValN(::quantopt::qnn::QuantScheme::W8A16, "w8a16",  \
                                "int8 weights, float activations"),            \
                     clEnumValN(::quantopt::qnn::QuantScheme::W4A16, "w4a16",  \
                                "int4 weights, float activations"),            \
                     clEnumValN(::quantopt::qnn::QuantScheme::W4A8, "w4a8",    \
                                "int4 weights, int8 activations"),             \
                     clEnumValN(::quantopt::qnn::QuantScheme::FP8, "fp8",      \
                                "float8 E4M3FN weights and activations"))
#define QUANTOPT_WEIGHT_GRANULARITY_VALUES                                     \
  ::llvm::cl::values(                                                          \
      clEnumValN(::quantopt::qnn::WeightGranularity::Default, "default",       \
                 "per-group for 4-bit weights, per-channel otherwise"),        \
      clEnumValN(::quantopt::qnn::WeightGranularity::PerTensor, "per-tensor",  \
                 "one scale per weight"),                                      \
      clEnumValN(::quantopt::qnn::WeightGranularity::PerChannel,               \
                 "per-channel", "one scale per output channel"),               \
      clEnumValN(::quantopt::qnn::WeightGranularity::PerGroup, "per-group",    \
                 "one scale per group of rows along K"))
#define QUANTOPT_ACTIVATION_MODE_VALUES                                        \
  ::llvm::cl::values(clEnumValN(::quantopt::qnn::ActivationMode::Static,       \
                                "static", "calibrated ranges"),                \
                     clEnumValN(::quantopt::qnn::ActivationMode::Dynamic,      \
                                "dynamic", "ranges computed at run time"))
#define QUANTOPT_ACTIVATION_GRANULARITY_VALUES                                 \
  ::llvm::cl::values(                                                          \
      clEnumValN(::quantopt::qnn::ActivationGranularity::PerTensor,            \
                 "per-tensor", "one scale per tensor"),                        \
      clEnumValN(::quantopt::qnn::ActivationGranularity::PerToken,             \
                 "per-token", "one scale per row (dynamic only)"))

/// A cl::parser for enums whose error message lists the valid values.
template <typename T> struct ListingEnumParser : public llvm::cl::parser<T> {
  using llvm::cl::parser<T>::parser;

  bool parse(llvm::cl::Option &option, llvm::StringRef, llvm::StringRef arg,
             T &value) {
    std::string valid;
    for (auto &it : this->Values) {
      if (it.Name == arg) {
        value = it.V.getValue();
        return false;
      }
      valid += (valid.empty() ? "" : ", ") + it.Name.str();
    }
    return option.error("'" + arg +
                        "' is not a valid value; valid values are: " + valid);
  }

  std::optional<llvm::StringRef> findArgStrForValue(const T &value) {
    for (auto &it : this->Values)
      if (it.V.compare(value))
        return it.Name;
    return std::nullopt;
  }
};

} // namespace quantopt::qnn

// Pass options use these parsers through PassOptions::GenericOptionParser.
#define QUANTOPT_LISTING_ENUM_PARSER(T)                                        \
  template <>                                                                  \
  struct mlir::detail::PassOptions::GenericOptionParser<T>                     \
      : public quantopt::qnn::ListingEnumParser<T> {                           \
    using quantopt::qnn::ListingEnumParser<T>::ListingEnumParser;              \
  };
QUANTOPT_LISTING_ENUM_PARSER(quantopt::qnn::QuantScheme)
QUANTOPT_LISTING_ENUM_PARSER(quantopt::qnn::WeightGranularity)
QUANTOPT_LISTING_ENUM_PARSER(quantopt::qnn::ActivationGranularity)
QUANTOPT_LISTING_ENUM_PARSER(quantopt::qnn::ActivationMode)
#undef QUANTOPT_LISTING_ENUM_PARSER

#endif // QUANTOPT_DIALECT_QNN_TRANSFORMS_QUANTSCHEME_H
