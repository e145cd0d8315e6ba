//===- CalibrationTableTest.cpp - Tests of the calibration table ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Round trips (every double bit for bit) and every read error of the
// calibration table format.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/CalibrationTable.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace llvm;
using namespace quantopt::calibration;

namespace {

uint64_t bitsOf(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

/// A temporary directory removed at the end of the test.
class TableFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(sys::fs::createUniqueDirectory("calib-table", dir));
  }
  void TearDown() override { sys::fs::remove_directories(dir); }
  std::string path(StringRef name) {
    SmallString<128> p(dir);
    sys::path::append(p, name);
    return std::string(p);
  }
  SmallString<128> dir;
};

// Tests that a written table reads back with every double bit-identical,
// including values whose shortest decimal needs 17 digits.
TEST_F(TableFileTest, RoundTripIsExact) {
  CalibrationTable table;
  table.options.method = CalibrationMethod::Percentile;
  table.options.percentile = 99.99;
  table.options.numBins = 1024;
  double tricky[] = {0.1,
                     1.0 / 3.0,
                     -2.0 / 3.0,
                     static_cast<float>(0.1),
                     std::numeric_limits<double>::denorm_min(),
                     std::numeric_limits<double>::min(),
                     std::numeric_limits<double>::max(),
                     std::numeric_limits<float>::max(),
                     1e20,
                     123456789012345678.0,
                     3.0};
  for (auto [i, value] : llvm::enumerate(tricky)) {
    table.tensors["t" + std::to_string(i)] = {-std::fabs(value),
                                              std::fabs(value)};
    table.tensors["u" + std::to_string(i)] = {value, value};
  }
  table.tensors["zero"] = {-0.0, 0.0};
  Error written = writeCalibrationTable(table, path("t.json"));
  ASSERT_FALSE(static_cast<bool>(written)) << toString(std::move(written));

  Expected<CalibrationTable> read = readCalibrationTable(path("t.json"));
  ASSERT_TRUE(static_cast<bool>(read)) << toString(read.takeError());
  EXPECT_EQ(read->options.method, CalibrationMethod::Percentile);
  EXPECT_EQ(read->options.percentile, 99.99);
  EXPECT_EQ(read->options.getNumBins(), 1024u);
  EXPECT_TRUE(read->options.isSymmetric());
  ASSERT_EQ(read->tensors.size(), table.tensors.size());
  for (const auto &[key, range] : table.tensors) {
    const TensorRange &back = read->tensors.at(key);
    EXPECT_EQ(bitsOf(back.min), bitsOf(range.min + 0.0)) << key;
    EXPECT_EQ(bitsOf(back.max), bitsOf(range.max + 0.0)) << key;
  }

  // Writing what was read gives the same bytes (deterministic output).
  ASSERT_FALSE(errorToBool(writeCalibrationTable(*read, path("u.json"))));
  auto first = MemoryBuffer::getFile(path("t.json"));
  auto second = MemoryBuffer::getFile(path("u.json"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*first)->getBuffer(), (*second)->getBuffer());
}

// Tests the documented layout of a written table.
TEST_F(TableFileTest, WrittenLayout) {
  CalibrationTable table;
  table.options.method = CalibrationMethod::Entropy;
  table.tensors["x"] = {-1.5, 2.25};
  ASSERT_FALSE(errorToBool(writeCalibrationTable(table, path("t.json"))));
  auto buffer = MemoryBuffer::getFile(path("t.json"));
  ASSERT_TRUE(static_cast<bool>(buffer));
  EXPECT_EQ((*buffer)->getBuffer(), R"({
  "format": "quantopt-calibration-table",
  "version": 1,
  "method": "entropy",
  "options": {
    "symmetric": false,
    "num_bins": 128,
    "num_quantized_bins": 128
  },
  "tensors": {
    "x": {
      "min": -1.5,
      "max": 2.25
    }
  }
}
)");
}

// Tests that an invalid range is refused at write time and that a failed
// write leaves an existing file untouched.
TEST_F(TableFileTest, WriteRejectsInvalidRanges) {
  CalibrationTable good;
  good.tensors["x"] = {0, 1};
  ASSERT_FALSE(errorToBool(writeCalibrationTable(good, path("t.json"))));
  auto before = MemoryBuffer::getFile(path("t.json"));
  ASSERT_TRUE(static_cast<bool>(before));
  std::string original = (*before)->getBuffer().str();

  CalibrationTable bad;
  bad.tensors["inf"] = {0, std::numeric_limits<double>::infinity()};
  Error err = writeCalibrationTable(bad, path("t.json"));
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_EQ(toString(std::move(err)),
            "tensor 'inf': range [0, inf] is not finite and cannot be "
            "written to a calibration table");
  bad.tensors = {{"swapped", {2, 1}}};
  err = writeCalibrationTable(bad, path("t.json"));
  EXPECT_EQ(toString(std::move(err)),
            "tensor 'swapped': min (2) is greater than max (1)");

  auto after = MemoryBuffer::getFile(path("t.json"));
  ASSERT_TRUE(static_cast<bool>(after));
  EXPECT_EQ((*after)->getBuffer(), original);
}

// Tests that reading a missing file names it.
TEST_F(TableFileTest, MissingFile) {
  Expected<CalibrationTable> read = readCalibrationTable(path("nope.json"));
  ASSERT_FALSE(static_cast<bool>(read));
  std::string message = toString(read.takeError());
  EXPECT_NE(message.find("cannot open calibration table"), std::string::npos);
  EXPECT_NE(message.find("nope.json"), std::string::npos);
}

/// Parses `text` and returns the error message ("" on success).
std::string parseError(StringRef text) {
  Expected<CalibrationTable> table = parseCalibrationTable(text, "t.json");
  if (table)
    return "";
  return toString(table.takeError());
}

constexpr const char *kHeader =
    R"("format": "quantopt-calibration-table", "version": 1, )";

std::string withHeader(StringRef rest) {
  return "{" + std::string(kHeader) + rest.str() + "}";
}

// Tests that an option of -0 reads as +0, so that a printed table reads back
// and prints the same (found by fuzzing: -0 printed reads back as the
// integer 0;
// test/fuzz/calibration_table/regressions/negative-zero-option.json).
TEST(TableReadTest, NegativeZeroOptionRoundTrips) {
  Expected<CalibrationTable> table = parseCalibrationTable(
      withHeader(R"("method": "minmax", "options": {"averaging_constant":
                    -0.0}, "tensors": {"a": {"min": -1, "max": 2}})"),
      "t.json");
  ASSERT_TRUE(static_cast<bool>(table)) << toString(table.takeError());
  EXPECT_FALSE(std::signbit(table->options.averagingConstant));
  std::string first, second;
  raw_string_ostream os1(first), os2(second);
  ASSERT_FALSE(errorToBool(printCalibrationTable(*table, os1)));
  Expected<CalibrationTable> again = parseCalibrationTable(first, "printed");
  ASSERT_TRUE(static_cast<bool>(again)) << toString(again.takeError());
  ASSERT_FALSE(errorToBool(printCalibrationTable(*again, os2)));
  EXPECT_EQ(first, second);
}

// Tests that a minimal valid table parses (options are optional).
TEST(TableReadTest, Minimal) {
  EXPECT_EQ(
      parseError(withHeader(
          R"("method": "minmax", "tensors": {"a": {"min": -1, "max": 2}})")),
      "");
  Expected<CalibrationTable> table = parseCalibrationTable(
      withHeader(R"("method": "mse", "tensors": {})"), "t.json");
  ASSERT_TRUE(static_cast<bool>(table));
  EXPECT_EQ(table->options.method, CalibrationMethod::MSE);
  EXPECT_TRUE(table->tensors.empty());
}

// Tests every read error and its message.
TEST(TableReadTest, Errors) {
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {"{", "t.json: invalid JSON: "},
      {"[]", "t.json: a calibration table must be a JSON object"},
      {R"({"version": 1, "method": "minmax", "tensors": {}})",
       "t.json: not a QuantOpt calibration table: expected \"format\": "
       "\"quantopt-calibration-table\", got no \"format\" field; produce one "
       "with quant-calibrate"},
      {R"({"format": "onnxruntime", "version": 1})",
       "t.json: not a QuantOpt calibration table: expected \"format\": "
       "\"quantopt-calibration-table\", got \"onnxruntime\"; produce one with "
       "quant-calibrate"},
      {R"({"format": "quantopt-calibration-table", "method": "minmax"})",
       "t.json: missing or non-integer \"version\"; this build reads "
       "version 1"},
      {R"({"format": "quantopt-calibration-table", "version": 2})",
       "t.json: unsupported table version 2; this build reads version 1: "
       "regenerate the table with this quant-calibrate or use the QuantOpt "
       "that wrote it"},
      {withHeader(R"("method": "minmax", "tensors": {}, "extra": 1)"),
       "t.json: unknown field \"extra\"; valid fields are \"format\", "
       "\"version\", \"method\", \"options\", \"tensors\" (is the table from "
       "a newer QuantOpt?)"},
      {withHeader(R"("tensors": {})"),
       "t.json: missing or non-string \"method\"; expected one of minmax, "
       "percentile, entropy, mse"},
      {withHeader(R"("method": "kl", "tensors": {})"),
       "t.json: unknown calibration method 'kl'; valid methods are minmax, "
       "percentile, entropy, mse"},
      {withHeader(R"("method": "minmax", "options": [], "tensors": {})"),
       "t.json: \"options\" must be an object, got []"},
      {withHeader(
           R"("method": "minmax", "options": {"num_bins": 8}, "tensors": {})"),
       "t.json: \"options\": 'num_bins' does not apply to method 'minmax'; "
       "its options are 'symmetric', 'moving_average', "
       "'averaging_constant'"},
      {withHeader(
           R"("method": "minmax", "options": {"bins": 8}, "tensors": {})"),
       "t.json: \"options\": unknown option 'bins'; valid options are "
       "'symmetric', 'moving_average', 'averaging_constant', 'percentile', "
       "'num_bins', 'num_quantized_bins', 'num_bits'"},
      {withHeader(R"("method": "entropy", "options": {"num_bins": "many"},
                     "tensors": {})"),
       "t.json: \"options\": option 'num_bins' must be a non-negative "
       "integer, got \"many\""},
      {withHeader(R"("method": "percentile", "options": {"percentile": 120},
                     "tensors": {})"),
       "t.json: \"options\": invalid percentile 120: must be in [0, 100]"},
      {withHeader(R"("method": "minmax", "options": {"symmetric": 1},
                     "tensors": {})"),
       "t.json: \"options\": option 'symmetric' must be true or false, got 1"},
      {withHeader(R"("method": "minmax")"),
       "t.json: missing \"tensors\" object mapping each tensor key to "
       "{\"min\": <number>, \"max\": <number>}"},
      {withHeader(R"("method": "minmax", "tensors": {"a": [1, 2]})"),
       "t.json: tensor 'a': expected an object {\"min\": <number>, \"max\": "
       "<number>}, got [1,2]"},
      {withHeader(R"("method": "minmax", "tensors": {"a": {"max": 2}})"),
       "t.json: tensor 'a': missing \"min\"; every tensor needs \"min\" and "
       "\"max\""},
      {withHeader(R"("method": "minmax", "tensors": {"a": {"min": 0}})"),
       "t.json: tensor 'a': missing \"max\"; every tensor needs \"min\" and "
       "\"max\""},
      {withHeader(
           R"("method": "minmax", "tensors": {"a": {"min": "0", "max": 1}})"),
       "t.json: tensor 'a': \"min\" must be a number, got \"0\""},
      {withHeader(
           R"("method": "minmax", "tensors": {"a": {"min": 0, "max": null}})"),
       "t.json: tensor 'a': \"max\" must be a number, got null"},
      // Too large for a double: it would parse as infinity (found by
      // fuzzing; test/fuzz/calibration_table/regressions/infinite-max.json).
      {withHeader(
           R"("method": "minmax", "tensors": {"a": {"min": 0, "max": 1e999}})"),
       "t.json: tensor 'a': \"max\" must be a finite number, got "},
      {withHeader(
           R"("method": "minmax", "tensors": {"a": {"min": 3, "max": 1}})"),
       "t.json: tensor 'a': min (3) is greater than max (1); swap them if "
       "the table was edited by hand, or recalibrate"},
      {withHeader(R"("method": "minmax", "tensors": {"a": {"min": 0, "max": 1,
                     "scale": 2}})"),
       "t.json: tensor 'a': unknown field \"scale\"; valid fields are "
       "\"min\", \"max\" (is the table from a newer QuantOpt?)"},
  };
  for (const Case &c : cases) {
    std::string message = parseError(c.text);
    EXPECT_EQ(message.substr(0, c.expected.size()), c.expected)
        << "input: " << c.text;
  }
}

} // namespace
