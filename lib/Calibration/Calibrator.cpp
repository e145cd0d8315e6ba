//===- Calibrator.cpp - Streaming per-tensor statistics -------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// TensorStatistics keeps what a method needs and nothing per batch: a
// running range for MinMax, one histogram for the others. The running range
// reproduces ONNX Runtime's MinMaxCalibrater when collect_data is called
// once per batch: each batch's min/max (made symmetric first when asked)
// is merged with min/max, or blended into the running value as
// old + c * (new - old) in float32 for the moving average.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/Calibrator.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace llvm;
using namespace quantopt::calibration;

TensorStatistics::TensorStatistics(const CalibrationOptions &options)
    : options(options) {
  switch (options.method) {
  case CalibrationMethod::MinMax:
    break;
  case CalibrationMethod::Percentile:
    // ORT histograms |x| for symmetric percentile and x otherwise.
    if (options.isSymmetric())
      absHist.emplace(options.getNumBins());
    else
      signedHist.emplace(options.getNumBins());
    break;
  case CalibrationMethod::Entropy:
  case CalibrationMethod::MSE:
    signedHist.emplace(options.getNumBins());
    break;
  }
}

Expected<TensorStatistics>
TensorStatistics::create(const CalibrationOptions &options) {
  if (Error err = options.validate())
    return std::move(err);
  return TensorStatistics(options);
}

Error TensorStatistics::observe(ArrayRef<float> batch) {
  float batchMin = std::numeric_limits<float>::infinity();
  float batchMax = -batchMin;
  uint64_t finite = 0, zeros = 0;
  for (size_t i = 0, e = batch.size(); i < e; ++i) {
    float x = batch[i];
    if (std::isnan(x))
      continue;
    if (std::isinf(x))
      return createStringError(
          "element %zu is %s; a calibration range must be finite, so the "
          "model overflows on this input (check the data or the model)",
          i, x > 0 ? "+inf" : "-inf");
    batchMin = std::min(batchMin, x);
    batchMax = std::max(batchMax, x);
    ++finite;
    zeros += x == 0.0f;
  }
  if (finite == 0)
    return Error::success();

  // The histograms are the only step that can fail; they go first so that a
  // failing batch leaves every statistic as it was.
  if (absHist)
    if (Error err = absHist->add(batch))
      return err;
  if (signedHist)
    if (Error err = signedHist->add(batch, batchMin, batchMax))
      return err;

  float lo = batchMin, hi = batchMax;
  if (options.isSymmetric() && options.method == CalibrationMethod::MinMax) {
    float absMax = std::max(std::fabs(batchMin), std::fabs(batchMax));
    lo = -absMax;
    hi = absMax;
  }
  if (numBatches == 0) {
    globalMin = batchMin;
    globalMax = batchMax;
    runningMin = lo;
    runningMax = hi;
  } else {
    globalMin = std::min(globalMin, batchMin);
    globalMax = std::max(globalMax, batchMax);
    if (options.movingAverage) {
      // ORT computes old + c * (new - old) on float32 arrays, with the
      // Python float c converted to float32 first (NEP 50).
      float c = static_cast<float>(options.averagingConstant);
      float stepMin = c * (lo - runningMin);
      float stepMax = c * (hi - runningMax);
      runningMin = runningMin + stepMin;
      runningMax = runningMax + stepMax;
    } else {
      runningMin = std::min(runningMin, lo);
      runningMax = std::max(runningMax, hi);
    }
  }
  ++numBatches;
  numValues += finite;
  numZeros += zeros;
  return Error::success();
}

Expected<TensorRange> TensorStatistics::compute() const {
  if (numBatches == 0)
    return createStringError(
        "no finite values were observed, so there is no range to compute; "
        "give at least one batch with a non-NaN value");

  TensorRange range;
  switch (options.method) {
  case CalibrationMethod::MinMax:
    range = {runningMin, runningMax};
    break;
  case CalibrationMethod::Percentile:
    range = computePercentileRange(absHist ? absHist->get() : signedHist->get(),
                                   options.percentile, options.isSymmetric(),
                                   globalMin, globalMax);
    break;
  case CalibrationMethod::Entropy: {
    range = computeEntropyRange(signedHist->get(), options.numQuantizedBins,
                                globalMin, globalMax);
    // ORT's calibrator ignores `symmetric` for entropy and applies it when
    // it turns the range into a scale (scale from max(|min|, |max|)). We
    // apply it here so that the table states the range actually used.
    if (options.isSymmetric()) {
      double absMax = std::max(std::fabs(range.min), std::fabs(range.max));
      range = {-absMax, absMax};
    }
    break;
  }
  case CalibrationMethod::MSE:
    range = computeMSERange(signedHist->get(), numZeros, options.numBits,
                            options.isSymmetric(), globalMin, globalMax,
                            std::max(1u, options.getNumBins() / 2));
    break;
  }
  // -0.0 and 0.0 describe the same bound; print the familiar one.
  range.min += 0.0;
  range.max += 0.0;
  return range;
}

size_t TensorStatistics::getStorageBytes() const {
  size_t bytes = sizeof(*this);
  if (absHist)
    bytes += absHist->getStorageBytes();
  if (signedHist)
    bytes += signedHist->getStorageBytes();
  return bytes;
}
