//===- CalibrationTable.h - Versioned JSON calibration table ----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The calibration table is the hand-off between calibration and the passes
// that fold ranges into quantized types. It is a small JSON document, so a
// person can read, diff and edit it:
//
//   {
//     "format": "quantopt-calibration-table",
//     "version": 1,
//     "method": "entropy",
//     "options": {"symmetric": false, "num_bins": 128,
//                 "num_quantized_bins": 128},
//     "tensors": {
//       "conv1_out": {"min": -0.7432, "max": 3.125}
//     }
//   }
//
// docs/Calibration.md documents every field. Numbers are printed in the
// shortest decimal that reads back as the same double, so every range
// round-trips bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CALIBRATION_CALIBRATIONTABLE_H
#define QUANTOPT_CALIBRATION_CALIBRATIONTABLE_H

#include "quantopt/Calibration/Calibrator.h"

#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

namespace quantopt::calibration {

struct CalibrationTable {
  /// Value of the "format" field, identifying the document.
  static constexpr llvm::StringLiteral kFormat = "quantopt-calibration-table";
  /// The version this build writes and reads. Bump it for any change an
  /// older reader would misinterpret; adding a field is such a change,
  /// because readers reject unknown fields.
  static constexpr int64_t kVersion = 1;

  /// Method and options the ranges were computed with (informational for
  /// consumers, but validated on read so the table stays trustworthy).
  CalibrationOptions options;
  /// Range per tensor key, sorted so that output is deterministic.
  std::map<std::string, TensorRange> tensors;
};

/// Prints the table as JSON. Fails, printing nothing, if a range is not
/// finite (JSON cannot carry it) or has min > max.
llvm::Error printCalibrationTable(const CalibrationTable &table,
                                  llvm::raw_ostream &os);

/// Checks a parsed JSON document; errors name the offending field or tensor
/// key and say how to fix it.
llvm::Expected<CalibrationTable> tableFromJSON(const llvm::json::Value &value);

/// Parses table text; errors are prefixed with `bufferName`.
llvm::Expected<CalibrationTable>
parseCalibrationTable(llvm::StringRef text, llvm::StringRef bufferName);

/// Largest table file read; real tables are kilobytes to a few megabytes.
inline constexpr uint64_t kMaxTableFileBytes = 256ull << 20;

/// Reads a table file. It must be a regular file of at most
/// kMaxTableFileBytes whose JSON nests no deeper than kMaxJSONDepth.
llvm::Expected<CalibrationTable> readCalibrationTable(llvm::StringRef path);

/// Writes a table atomically (temporary file, then rename; "-" is stdout),
/// so a reader never sees a partial table and a failure leaves any earlier
/// file untouched. `path` (given by option `flag`) must not be one of
/// `inputs` nor an existing non-regular file.
llvm::Error writeCalibrationTable(const CalibrationTable &table,
                                  llvm::StringRef path,
                                  const InputSet &inputs = InputSet(),
                                  llvm::StringRef flag = "-o");

} // namespace quantopt::calibration

#endif // QUANTOPT_CALIBRATION_CALIBRATIONTABLE_H
