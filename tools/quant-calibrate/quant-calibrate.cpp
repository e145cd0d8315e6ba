//===- quant-calibrate.cpp - Calibration table from .npy batches ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// quant-calibrate --method=entropy --input x=b0.npy --input x=b1.npy \
//                 --input y=b0_y.npy -o table.json
//
// Streams each tensor's batches, in the order given, through the
// Calibration library and writes the calibration table. Only one batch is
// mapped at a time, so memory is bounded by the largest batch plus the
// statistics. The table is written atomically and only after everything
// succeeded: on any error the exit status is 1 and no output (and no
// partial output) is written.
//
//===----------------------------------------------------------------------===//

#include "NpyReader.h"

#include "quantopt/Calibration/CalibrationTable.h"
#include "quantopt/Calibration/Calibrator.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::calibration;

static cl::OptionCategory category("quant-calibrate options");

static cl::opt<std::string>
    methodName("method",
               cl::desc("Calibration method: minmax, percentile, entropy or "
                        "mse (default minmax)"),
               cl::value_desc("name"), cl::init("minmax"), cl::cat(category));
static cl::opt<bool> symmetric(
    "symmetric",
    cl::desc("Make the range symmetric around zero (default: true for "
             "percentile, false otherwise; --symmetric=false to turn off)"),
    cl::cat(category));
static cl::opt<bool> movingAverage(
    "moving-average",
    cl::desc("minmax: blend each batch's min/max into the running range "
             "instead of taking the global min/max"),
    cl::cat(category));
static cl::opt<double> averagingConstant(
    "averaging-constant",
    cl::desc("minmax: weight of each new batch in the moving average"),
    cl::init(0.01), cl::cat(category));
static cl::opt<double>
    percentile("percentile",
               cl::desc("percentile: percentage of values inside the range"),
               cl::init(99.999), cl::cat(category));
static cl::opt<unsigned>
    numBins("num-bins",
            cl::desc("percentile, entropy, mse: bins of the first histogram "
                     "(default 2048 for percentile and mse, 128 for entropy)"),
            cl::cat(category));
static cl::opt<unsigned>
    numQuantizedBins("num-quantized-bins",
                     cl::desc("entropy: bins of the quantized distribution"),
                     cl::init(128), cl::cat(category));
static cl::opt<unsigned>
    numBits("num-bits",
            cl::desc("mse: bits of the integer grid the range is chosen for"),
            cl::init(8), cl::cat(category));
static cl::list<std::string>
    inputs("input",
           cl::desc("One batch of tensor KEY (a float32 .npy file); repeat "
                    "for more batches, which are used in the order given, "
                    "and for more tensors"),
           cl::value_desc("KEY=FILE.npy"), cl::cat(category));
static cl::opt<std::string> outputFilename("o", cl::desc("Output table (JSON)"),
                                           cl::value_desc("filename"),
                                           cl::init("-"), cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "quant-calibrate") << message << "\n";
  return 1;
}

/// The flag that sets a snake_case option: num_bins -> --num-bins.
static std::string spellFlag(StringRef option) {
  std::string flag = "--" + option.str();
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

/// Builds the options from the flags, rejecting flags that the chosen
/// method would ignore.
static Expected<CalibrationOptions> getOptions() {
  Expected<CalibrationMethod> method = parseMethod(methodName);
  if (!method)
    return method.takeError();
  CalibrationOptions options;
  options.method = *method;

  std::pair<cl::Option *, StringRef> flags[] = {
      {&symmetric, "symmetric"},
      {&movingAverage, "moving_average"},
      {&averagingConstant, "averaging_constant"},
      {&percentile, "percentile"},
      {&numBins, "num_bins"},
      {&numQuantizedBins, "num_quantized_bins"},
      {&numBits, "num_bits"},
  };
  for (auto [flag, name] : flags)
    if (flag->getNumOccurrences() &&
        !is_contained(getOptionNames(*method), name))
      return makeInapplicableOptionError(name, *method, spellFlag);

  if (symmetric.getNumOccurrences())
    options.symmetric = symmetric;
  options.movingAverage = movingAverage;
  options.averagingConstant = averagingConstant;
  options.percentile = percentile;
  if (numBins.getNumOccurrences())
    options.numBins = numBins;
  options.numQuantizedBins = numQuantizedBins;
  options.numBits = numBits;
  if (Error err = options.validate(spellFlag))
    return std::move(err);
  return options;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "QuantOpt calibration: activation ranges from .npy batches\n\n"
      "  quant-calibrate --method=entropy --input KEY=batch0.npy "
      "--input KEY=batch1.npy ... -o table.json\n");

  Expected<CalibrationOptions> options = getOptions();
  if (!options)
    return fail(toString(options.takeError()));

  // Batches per key, keys in the order they first appear.
  MapVector<StringRef, SmallVector<StringRef>> batches;
  for (const std::string &input : inputs) {
    auto [key, path] = StringRef(input).split('=');
    if (key.size() == input.size())
      return fail("--input '" + input + "' must be KEY=FILE.npy");
    if (key.empty())
      return fail("--input '" + input + "' has an empty tensor key");
    if (path.empty())
      return fail("--input '" + input + "' has an empty file name");
    batches[key].push_back(path);
  }
  if (batches.empty())
    return fail("no inputs; pass --input KEY=FILE.npy once per batch");

  // The table must not replace one of the arrays it is computed from.
  InputSet inputFiles;
  for (auto &[key, paths] : batches)
    for (StringRef path : paths)
      inputFiles.add(path, "--input");
  if (Error err = inputFiles.checkOutput(outputFilename, "-o"))
    return fail(toString(std::move(err)));

  CalibrationTable table;
  table.options = *options;
  for (auto &[key, paths] : batches) {
    Expected<TensorStatistics> stats = TensorStatistics::create(*options);
    if (!stats)
      return fail(toString(stats.takeError()));
    for (auto [index, path] : enumerate(paths)) {
      auto where = [&, index = index, path = path] {
        return "'" + path.str() + "' (tensor '" + key.str() + "', batch " +
               std::to_string(index) + "): ";
      };
      // The array is unmapped at the end of each iteration.
      Expected<NpyArray> array = readNpyFloat32(path);
      if (!array)
        return fail(where() + toString(array.takeError()));
      if (array->data.empty())
        return fail(where() + "the array has no elements");
      if (Error err = stats->observe(array->data))
        return fail(where() + toString(std::move(err)));
    }
    Expected<TensorRange> range = stats->compute();
    if (!range)
      return fail("tensor '" + key + "': " + toString(range.takeError()));
    table.tensors[key.str()] = *range;
  }

  if (Error err = writeCalibrationTable(table, outputFilename, inputFiles))
    return fail("cannot write the table: " + toString(std::move(err)));
  return 0;
}
