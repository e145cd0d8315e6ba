//===- fuzz_calibration_table.cpp - libFuzzer target: calibration tables --===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Parses the fuzz input as calibration table text. A table that parses must
// print, and the printed text must parse back and print identically: what
// quant-calibrate writes, the compiler has to read.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/CalibrationTable.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace quantopt::calibration;

namespace {

[[noreturn]] void fail(const char *what, llvm::Error error) {
  std::fprintf(stderr, "calibration table round trip: %s: %s\n", what,
               llvm::toString(std::move(error)).c_str());
  std::abort();
}

std::string print(const CalibrationTable &table, const char *what) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (llvm::Error error = printCalibrationTable(table, os))
    fail(what, std::move(error));
  return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<CalibrationTable> table = parseCalibrationTable(text, "fuzz");
  if (!table) {
    llvm::consumeError(table.takeError());
    return 0;
  }
  std::string printed = print(*table, "printing a parsed table");
  llvm::Expected<CalibrationTable> again =
      parseCalibrationTable(printed, "printed");
  if (!again)
    fail("parsing a printed table", again.takeError());
  if (print(*again, "printing it again") != printed) {
    std::fprintf(stderr, "calibration table round trip: the reprinted table "
                         "differs\n");
    std::abort();
  }
  return 0;
}
