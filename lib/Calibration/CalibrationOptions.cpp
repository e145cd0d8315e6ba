//===- CalibrationOptions.cpp - Calibration methods and options -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Names, defaults and validation of the calibration options, shared by the
// CLI and the table reader so that both reject the same mistakes with the
// same words. Options that do not affect the chosen method are rejected
// rather than ignored: a user who passes --percentile with --method=entropy
// expects it to matter.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/Calibrator.h"

#include "NumberFormat.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace llvm;
using namespace quantopt::calibration;

namespace {
struct MethodInfo {
  CalibrationMethod method;
  StringLiteral name;
  unsigned defaultNumBins;
  bool defaultSymmetric;
};
} // namespace

// Defaults are those of ORT's create_calibrator; MSE borrows percentile's
// resolution because its grid search is only as fine as the histogram.
static constexpr MethodInfo kMethods[] = {
    {CalibrationMethod::MinMax, "minmax", 0, false},
    {CalibrationMethod::Percentile, "percentile", 2048, true},
    {CalibrationMethod::Entropy, "entropy", 128, false},
    {CalibrationMethod::MSE, "mse", 2048, false},
};

static const MethodInfo &getInfo(CalibrationMethod method) {
  return *llvm::find_if(
      kMethods, [&](const MethodInfo &info) { return info.method == method; });
}

StringRef quantopt::calibration::getMethodName(CalibrationMethod method) {
  return getInfo(method).name;
}

Expected<CalibrationMethod> quantopt::calibration::parseMethod(StringRef name) {
  for (const MethodInfo &info : kMethods)
    if (name.equals_insensitive(info.name))
      return info.method;
  std::string valid = join(
      map_range(kMethods,
                [](const MethodInfo &info) -> StringRef { return info.name; }),
      ", ");
  return createStringError("unknown calibration method '" + name +
                           "'; valid methods are " + valid);
}

bool CalibrationOptions::isSymmetric() const {
  return symmetric.value_or(getInfo(method).defaultSymmetric);
}

unsigned CalibrationOptions::getNumBins() const {
  return numBins.value_or(getInfo(method).defaultNumBins);
}

/// Large enough for any sensible histogram, small enough that the growth
/// cap (kMaxGrowth x) stays far from exhausting memory.
static constexpr unsigned kMaxNumBins = 1u << 20;

Error CalibrationOptions::validate() const {
  return validate([](StringRef name) { return name.str(); });
}

Error CalibrationOptions::validate(
    function_ref<std::string(StringRef)> spell) const {
  switch (method) {
  case CalibrationMethod::MinMax:
    // The negated test also rejects NaN.
    if (!(averagingConstant >= 0 && averagingConstant <= 1))
      return createStringError(
          formatv("invalid {0} {1}: must be in [0, 1] (the weight of each "
                  "new batch in the moving average)",
                  spell("averaging_constant"),
                  formatShortest(averagingConstant))
              .str());
    return Error::success();
  case CalibrationMethod::Percentile:
    if (!(percentile >= 0 && percentile <= 100))
      return createStringError(
          formatv("invalid {0} {1}: must be in [0, 100] (e.g. 99.999 keeps "
                  "all but 0.001% of the values)",
                  spell("percentile"), formatShortest(percentile))
              .str());
    break;
  case CalibrationMethod::Entropy:
    if (numQuantizedBins < 1)
      return createStringError("invalid " + spell("num_quantized_bins") +
                               " 0: must be at least 1 (128 is the usual "
                               "value)");
    if (numQuantizedBins > getNumBins())
      return createStringError(
          formatv("{0} ({1}) must not exceed {2} ({3}); raise {2} or lower "
                  "{0}",
                  spell("num_quantized_bins"), numQuantizedBins,
                  spell("num_bins"), getNumBins())
              .str());
    break;
  case CalibrationMethod::MSE:
    if (numBits < 2 || numBits > 16)
      return createStringError(formatv("invalid {0} {1}: must be in [2, 16]",
                                       spell("num_bits"), numBits)
                                   .str());
    break;
  }
  if (getNumBins() < 1 || getNumBins() > kMaxNumBins)
    return createStringError(formatv("invalid {0} {1}: must be in [1, {2}]",
                                     spell("num_bins"), getNumBins(),
                                     kMaxNumBins)
                                 .str());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Option names
//===----------------------------------------------------------------------===//

static constexpr StringRef kMinMaxOptions[] = {"symmetric", "moving_average",
                                               "averaging_constant"};
static constexpr StringRef kPercentileOptions[] = {"symmetric", "percentile",
                                                   "num_bins"};
static constexpr StringRef kEntropyOptions[] = {"symmetric", "num_bins",
                                                "num_quantized_bins"};
static constexpr StringRef kMSEOptions[] = {"symmetric", "num_bins",
                                            "num_bits"};
static constexpr StringRef kAllOptions[] = {
    "symmetric",  "moving_average", "averaging_constant",
    "percentile", "num_bins",       "num_quantized_bins",
    "num_bits"};

ArrayRef<StringRef>
quantopt::calibration::getOptionNames(CalibrationMethod method) {
  switch (method) {
  case CalibrationMethod::MinMax:
    return kMinMaxOptions;
  case CalibrationMethod::Percentile:
    return kPercentileOptions;
  case CalibrationMethod::Entropy:
    return kEntropyOptions;
  case CalibrationMethod::MSE:
    return kMSEOptions;
  }
  llvm_unreachable("unknown calibration method");
}

Error quantopt::calibration::makeInapplicableOptionError(
    StringRef option, CalibrationMethod method,
    function_ref<std::string(StringRef)> spell) {
  std::string valid = join(map_range(getOptionNames(method), spell), ", ");
  return createStringError(spell(option) + " does not apply to method '" +
                           getMethodName(method) + "'; its options are " +
                           valid);
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

json::Object quantopt::calibration::optionsToJSON(const CalibrationOptions &o) {
  json::Object object{{"symmetric", o.isSymmetric()}};
  switch (o.method) {
  case CalibrationMethod::MinMax:
    object["moving_average"] = o.movingAverage;
    object["averaging_constant"] = o.averagingConstant;
    break;
  case CalibrationMethod::Percentile:
    object["percentile"] = o.percentile;
    object["num_bins"] = o.getNumBins();
    break;
  case CalibrationMethod::Entropy:
    object["num_bins"] = o.getNumBins();
    object["num_quantized_bins"] = o.numQuantizedBins;
    break;
  case CalibrationMethod::MSE:
    object["num_bins"] = o.getNumBins();
    object["num_bits"] = o.numBits;
    break;
  }
  return object;
}

static std::string quoteOption(StringRef name) {
  return "'" + name.str() + "'";
}

Expected<CalibrationOptions>
quantopt::calibration::optionsFromJSON(CalibrationMethod method,
                                       const json::Object &object) {
  CalibrationOptions options;
  options.method = method;
  auto typeError = [](StringRef key, StringRef expected,
                      const json::Value &value) {
    return createStringError(
        formatv("option '{0}' must be {1}, got {2}", key, expected, value)
            .str());
  };
  for (const auto &[key, value] : object) {
    StringRef name = key;
    if (!is_contained(kAllOptions, name))
      return createStringError("unknown option '" + name +
                               "'; valid options are " +
                               join(map_range(kAllOptions, quoteOption), ", "));
    if (!is_contained(getOptionNames(method), name))
      return makeInapplicableOptionError(name, method, quoteOption);

    if (name == "symmetric" || name == "moving_average") {
      std::optional<bool> flag = value.getAsBoolean();
      if (!flag)
        return typeError(name, "true or false", value);
      if (name == "symmetric")
        options.symmetric = *flag;
      else
        options.movingAverage = *flag;
    } else if (name == "averaging_constant" || name == "percentile") {
      std::optional<double> number = value.getAsNumber();
      if (!number)
        return typeError(name, "a number", value);
      // -0 reads back as the integer 0 once printed: store +0 so that a
      // table round-trips (found by fuzzing).
      (name == "percentile" ? options.percentile : options.averagingConstant) =
          *number == 0 ? 0.0 : *number;
    } else {
      std::optional<int64_t> integer = value.getAsInteger();
      if (!integer || *integer < 0 || *integer > UINT32_MAX)
        return typeError(name, "a non-negative integer", value);
      unsigned count = static_cast<unsigned>(*integer);
      if (name == "num_bins")
        options.numBins = count;
      else if (name == "num_quantized_bins")
        options.numQuantizedBins = count;
      else
        options.numBits = count;
    }
  }
  if (Error err = options.validate())
    return std::move(err);
  return options;
}
