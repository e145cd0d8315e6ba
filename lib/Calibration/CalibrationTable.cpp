//===- CalibrationTable.cpp - Versioned JSON calibration table ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Reading is strict: a table steers how every activation of a model is
// quantized, and a silently misread one produces a model that is merely
// inaccurate, which is the hardest failure to trace. So wrong formats,
// versions, types, unknown fields and inverted ranges are all errors, each
// naming the field or tensor key and the fix.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/CalibrationTable.h"

#include "NumberFormat.h"
#include "quantopt/Support/BoundedJSON.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;
using namespace quantopt::calibration;

static constexpr StringLiteral kTopLevelFields[] = {
    "format", "version", "method", "options", "tensors"};
static constexpr StringLiteral kTensorFields[] = {"min", "max"};

static std::string quoted(StringRef s) { return "\"" + s.str() + "\""; }

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

/// Checks what JSON cannot carry or a reader would reject, before anything
/// is written.
static Error verifyRanges(const CalibrationTable &table) {
  for (const auto &[key, range] : table.tensors) {
    if (!std::isfinite(range.min) || !std::isfinite(range.max))
      return createStringError(
          formatv("tensor '{0}': range [{1}, {2}] is not finite and cannot "
                  "be written to a calibration table",
                  key, formatShortest(range.min), formatShortest(range.max))
              .str());
    if (range.min > range.max)
      return createStringError(
          formatv("tensor '{0}': min ({1}) is greater than max ({2})", key,
                  formatShortest(range.min), formatShortest(range.max))
              .str());
  }
  return table.options.validate();
}

/// Writes a scalar; doubles in their shortest round-trip form.
static void writeNumber(json::OStream &json, double value) {
  // Adding 0.0 turns -0.0 into 0.0, which would read back as an integer 0
  // anyway; printing the familiar one keeps tables stable.
  json.rawValue(formatShortest(value + 0.0));
}

static void writeScalar(json::OStream &json, const json::Value &value) {
  if (value.kind() == json::Value::Number && !value.getAsInteger())
    writeNumber(json, *value.getAsNumber());
  else
    json.value(value);
}

Error quantopt::calibration::printCalibrationTable(
    const CalibrationTable &table, raw_ostream &os) {
  if (Error err = verifyRanges(table))
    return err;
  // Fields in a fixed, reading-friendly order (llvm::json would sort them):
  // identification first, then how the ranges were made, then the ranges.
  json::OStream json(os, /*IndentSize=*/2);
  json.object([&] {
    json.attribute("format", CalibrationTable::kFormat);
    json.attribute("version", CalibrationTable::kVersion);
    json.attribute("method", getMethodName(table.options.method));
    json::Object options = optionsToJSON(table.options);
    json.attributeObject("options", [&] {
      for (StringRef name : getOptionNames(table.options.method)) {
        json.attributeBegin(name);
        writeScalar(json, *options.get(name));
        json.attributeEnd();
      }
    });
    json.attributeObject("tensors", [&] {
      for (const auto &[key, range] : table.tensors) {
        json.attributeObject(key, [&] {
          json.attributeBegin("min");
          writeNumber(json, range.min);
          json.attributeEnd();
          json.attributeBegin("max");
          writeNumber(json, range.max);
          json.attributeEnd();
        });
      }
    });
  });
  os << "\n";
  return Error::success();
}

Error quantopt::calibration::writeCalibrationTable(
    const CalibrationTable &table, StringRef path, const InputSet &inputs,
    StringRef flag) {
  // Verify first: with "-" a late error would leave half a table on stdout.
  if (Error err = verifyRanges(table))
    return err;
  return writeOutputFile(path, flag, inputs, [&](raw_ostream &os) {
    return printCalibrationTable(table, os);
  });
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Rejects fields outside `allowed`; `where` prefixes the message.
template <size_t N>
static Error checkFields(const json::Object &object,
                         const StringLiteral (&allowed)[N], StringRef where) {
  for (const auto &entry : object) {
    StringRef key = entry.first;
    if (!is_contained(allowed, key))
      return createStringError(where + "unknown field " + quoted(key) +
                               "; valid fields are " +
                               join(map_range(allowed, quoted), ", ") +
                               " (is the table from a newer QuantOpt?)");
  }
  return Error::success();
}

static Expected<TensorRange> readRange(StringRef key,
                                       const json::Value &value) {
  std::string where = "tensor '" + key.str() + "': ";
  const json::Object *object = value.getAsObject();
  if (!object)
    return createStringError(
        formatv("{0}expected an object {{\"min\": <number>, \"max\": "
                "<number>}, got {1}",
                where, value)
            .str());
  if (Error err = checkFields(*object, kTensorFields, where))
    return std::move(err);
  double bounds[2];
  for (auto [i, field] : enumerate(kTensorFields)) {
    const json::Value *bound = object->get(field);
    if (!bound)
      return createStringError(where + "missing " + quoted(field) +
                               "; every tensor needs \"min\" and \"max\"");
    std::optional<double> number = bound->getAsNumber();
    if (!number)
      return createStringError(formatv("{0}{1} must be a number, got {2}",
                                       where, quoted(field), *bound)
                                   .str());
    // A literal too large for a double (1e999) parses as infinity.
    if (!std::isfinite(*number))
      return createStringError(formatv("{0}{1} must be a finite number, got "
                                       "{2}",
                                       where, quoted(field), *bound)
                                   .str());
    bounds[i] = *number;
  }
  if (bounds[0] > bounds[1])
    return createStringError(
        formatv("{0}min ({1}) is greater than max ({2}); swap them if the "
                "table was edited by hand, or recalibrate",
                where, formatShortest(bounds[0]), formatShortest(bounds[1]))
            .str());
  return TensorRange{bounds[0], bounds[1]};
}

Expected<CalibrationTable>
quantopt::calibration::tableFromJSON(const json::Value &value) {
  const json::Object *root = value.getAsObject();
  if (!root)
    return createStringError("a calibration table must be a JSON object");

  const json::Value *format = root->get("format");
  std::optional<StringRef> formatName =
      format ? format->getAsString() : std::nullopt;
  if (!formatName || *formatName != CalibrationTable::kFormat)
    return createStringError(
        formatv("not a QuantOpt calibration table: expected \"format\": "
                "\"{0}\", got {1}; produce one with quant-calibrate",
                CalibrationTable::kFormat,
                format ? formatv("{0}", *format).str() : "no \"format\" field")
            .str());

  const json::Value *version = root->get("version");
  std::optional<int64_t> versionNumber =
      version ? version->getAsInteger() : std::nullopt;
  if (!versionNumber)
    return createStringError(
        "missing or non-integer \"version\"; this build reads version " +
        Twine(CalibrationTable::kVersion));
  if (*versionNumber != CalibrationTable::kVersion)
    return createStringError(
        formatv("unsupported table version {0}; this build reads version "
                "{1}: regenerate the table with this quant-calibrate or use "
                "the QuantOpt that wrote it",
                *versionNumber, CalibrationTable::kVersion)
            .str());

  if (Error err = checkFields(*root, kTopLevelFields, ""))
    return std::move(err);

  std::optional<StringRef> methodName = root->getString("method");
  if (!methodName)
    return createStringError("missing or non-string \"method\"; expected "
                             "one of minmax, percentile, entropy, mse");
  Expected<CalibrationMethod> method = parseMethod(*methodName);
  if (!method)
    return method.takeError();

  CalibrationTable table;
  table.options.method = *method;
  if (const json::Value *options = root->get("options")) {
    const json::Object *object = options->getAsObject();
    if (!object)
      return createStringError(
          formatv("\"options\" must be an object, got {0}", *options).str());
    Expected<CalibrationOptions> parsed = optionsFromJSON(*method, *object);
    if (!parsed)
      return createStringError("\"options\": " + toString(parsed.takeError()));
    table.options = *parsed;
  }

  const json::Object *tensors = root->getObject("tensors");
  if (!tensors)
    return createStringError(
        "missing \"tensors\" object mapping each tensor key to "
        "{\"min\": <number>, \"max\": <number>}");
  for (const auto &[key, range] : *tensors) {
    Expected<TensorRange> parsed = readRange(key, range);
    if (!parsed)
      return parsed.takeError();
    table.tensors[key.str()] = *parsed;
  }
  return table;
}

Expected<CalibrationTable>
quantopt::calibration::parseCalibrationTable(StringRef text,
                                             StringRef bufferName) {
  auto withName = [&](Error err) {
    return createStringError(bufferName + ": " + toString(std::move(err)));
  };
  Expected<json::Value> value = parseBoundedJSON(text, "invalid JSON");
  if (!value)
    return withName(value.takeError());
  Expected<CalibrationTable> table = tableFromJSON(*value);
  if (!table)
    return withName(table.takeError());
  return table;
}

Expected<CalibrationTable>
quantopt::calibration::readCalibrationTable(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> buffer =
      readRegularFile(path, "calibration table", kMaxTableFileBytes);
  if (!buffer)
    return buffer.takeError();
  return parseCalibrationTable((*buffer)->getBuffer(), path);
}
