//===- Calibrator.h - Streaming activation range calibration ----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Chooses a quantization range [min, max] for one tensor from the values it
// took on calibration data. Batches are streamed through a TensorStatistics
// object one at a time; what it keeps is a running min/max and, for the
// histogram methods, a histogram whose size depends on the value range but
// never on the number of batches.
//
// The methods and their option names follow ONNX Runtime's calibrators
// (onnxruntime.quantization.calibrate) so that a table computed here agrees
// with the one a user would get from ORT; docs/Calibration.md states how
// closely and why.
//
// This library depends on LLVM Support only: no MLIR, no passes, no runtime.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CALIBRATION_CALIBRATOR_H
#define QUANTOPT_CALIBRATION_CALIBRATOR_H

#include "quantopt/Calibration/Histogram.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>

namespace quantopt::calibration {

//===----------------------------------------------------------------------===//
// Methods and options
//===----------------------------------------------------------------------===//

enum class CalibrationMethod { MinMax, Percentile, Entropy, MSE };

/// The lower-case name users type: "minmax", "percentile", "entropy", "mse".
llvm::StringRef getMethodName(CalibrationMethod method);

/// Parses a method name (case-insensitive). The error lists the valid names.
llvm::Expected<CalibrationMethod> parseMethod(llvm::StringRef name);

/// Options of a calibration run. Field names mirror the snake_case option
/// names of ONNX Runtime's `extra_options` (`symmetric`, `moving_average`,
/// `averaging_constant`, `percentile`, `num_bins`, `num_quantized_bins`);
/// `num_bits` is ours (MSE needs to know the quantized grid).
struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::MinMax;
  /// Unset means the method's default: true for percentile, false otherwise
  /// (the defaults of ORT's create_calibrator).
  std::optional<bool> symmetric;
  /// MinMax: blend each batch's min/max into the running range with
  /// `averagingConstant` instead of taking the global min/max.
  bool movingAverage = false;
  double averagingConstant = 0.01;
  /// Percentile: the percentage of values kept inside the range.
  double percentile = 99.999;
  /// Histogram methods: bins of the first histogram. Unset means the
  /// method's default: 2048 for percentile and mse, 128 for entropy.
  std::optional<unsigned> numBins;
  /// Entropy: bins of the quantized distribution compared with the float one.
  unsigned numQuantizedBins = 128;
  /// MSE: width of the integer grid the range is optimized for.
  unsigned numBits = 8;

  bool isSymmetric() const;
  unsigned getNumBins() const;

  /// Checks every value; the messages name the option (snake_case) and its
  /// valid range.
  llvm::Error validate() const;
  /// The same, with option names spelled by `spell` (a CLI passes its flag
  /// spelling: num_bins -> --num-bins).
  llvm::Error
  validate(llvm::function_ref<std::string(llvm::StringRef)> spell) const;
};

/// The snake_case names of the options that affect `method` (always starting
/// with "symmetric"). Used by the table reader and the CLI to reject options
/// that would be silently ignored.
llvm::ArrayRef<llvm::StringRef> getOptionNames(CalibrationMethod method);

/// Error for an option that does not apply to `method`; lists the ones that
/// do. `spell` renders an option name in the caller's syntax (e.g. a flag).
llvm::Error makeInapplicableOptionError(
    llvm::StringRef option, CalibrationMethod method,
    llvm::function_ref<std::string(llvm::StringRef)> spell);

/// The options that apply to `options.method`, defaults resolved, as a JSON
/// object keyed by snake_case option name.
llvm::json::Object optionsToJSON(const CalibrationOptions &options);

/// Inverse of optionsToJSON for `method`; rejects unknown or inapplicable
/// keys and values of the wrong type, then validates.
llvm::Expected<CalibrationOptions> optionsFromJSON(CalibrationMethod method,
                                                   const llvm::json::Object &);

//===----------------------------------------------------------------------===//
// Per-tensor statistics
//===----------------------------------------------------------------------===//

/// Streaming statistics of one tensor. Each observe() call is one batch: the
/// moving average and ORT's histogram merging both work per batch, so
/// splitting the same data into different batches can change the result,
/// exactly as it does in ORT.
class TensorStatistics {
public:
  /// Validates `options` and creates empty statistics.
  static llvm::Expected<TensorStatistics>
  create(const CalibrationOptions &options);

  /// Adds one batch. NaNs are ignored (ORT uses nan-aware reductions); an
  /// infinite value is an error because no finite range can describe it. An
  /// empty batch is ignored. On error the statistics are unchanged.
  llvm::Error observe(llvm::ArrayRef<float> batch);

  /// The range chosen by the configured method. Fails if no finite value was
  /// observed.
  llvm::Expected<TensorRange> compute() const;

  const CalibrationOptions &getOptions() const { return options; }
  /// Batches that contributed at least one value.
  uint64_t getNumBatches() const { return numBatches; }
  /// Finite values observed so far.
  uint64_t getNumValues() const { return numValues; }
  /// Values exactly 0 (either sign) observed so far.
  uint64_t getNumZeros() const { return numZeros; }
  /// Bytes held by the statistics, for checking that memory stays bounded.
  size_t getStorageBytes() const;

  const AbsHistogram *getAbsHistogram() const {
    return absHist ? &*absHist : nullptr;
  }
  const SignedHistogram *getSignedHistogram() const {
    return signedHist ? &*signedHist : nullptr;
  }

private:
  explicit TensorStatistics(const CalibrationOptions &options);

  CalibrationOptions options;
  uint64_t numBatches = 0;
  uint64_t numValues = 0;
  uint64_t numZeros = 0;
  /// Global min/max of every finite value (all methods clamp to them).
  float globalMin = 0, globalMax = 0;
  /// MinMax: the running range, per-batch values merged the way ORT's
  /// MinMaxCalibrater.merge_range does.
  float runningMin = 0, runningMax = 0;
  /// Exactly one of these is set for the histogram methods.
  std::optional<AbsHistogram> absHist;
  std::optional<SignedHistogram> signedHist;
};

} // namespace quantopt::calibration

#endif // QUANTOPT_CALIBRATION_CALIBRATOR_H
