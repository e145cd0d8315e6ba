//===- Histogram.h - ONNX Runtime compatible streaming histograms -*- C++ -*-=//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The two histograms of ONNX Runtime's HistogramCollector, rebuilt so that
// the bin edges, the counts and the way a new batch is merged in match ORT
// (which counts with numpy.histogram in float32), plus the range searches
// that run on them: percentile, entropy (KL) and MSE.
//
// Memory: a histogram grows only when a batch exceeds its range, by the
// number of bins of the old width needed to cover the new range. Growth is
// capped at kMaxGrowth times the initial bin count; past the cap, adjacent
// bins are merged (ORT has no cap and would keep growing). So the size is
// bounded independently of the number of batches and of outliers.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CALIBRATION_HISTOGRAM_H
#define QUANTOPT_CALIBRATION_HISTOGRAM_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace quantopt::calibration {

/// A calibrated range. The bounds are float32 values (the precision of the
/// tensors they describe) held in doubles so that they print and parse
/// exactly.
struct TensorRange {
  double min = 0;
  double max = 0;
};

/// A histogram as numpy.histogram defines it: bin i holds the values in
/// [edges[i], edges[i+1]), the last bin also holds edges.back().
struct HistogramRef {
  llvm::ArrayRef<uint64_t> counts;
  llvm::ArrayRef<float> edges;
};

/// The most bins a histogram may grow to, as a multiple of its initial bins.
constexpr unsigned kMaxGrowth = 64;

/// Histogram of |x| (ORT's collect_absolute_value, used by symmetric
/// percentile). The first batch spans [min|x|, max|x|] with `numBins` bins;
/// later batches that go beyond the last edge append bins of the same width.
/// Values below the first edge of later batches are not counted, as in ORT.
class AbsHistogram {
public:
  explicit AbsHistogram(unsigned numBins) : numBins(numBins) {}

  /// Adds one batch (NaNs are skipped; the caller rejects infinities).
  llvm::Error add(llvm::ArrayRef<float> batch);

  bool empty() const { return counts.empty(); }
  HistogramRef get() const { return {counts, edges}; }
  size_t getStorageBytes() const {
    return counts.capacity() * sizeof(uint64_t) +
           edges.capacity() * sizeof(float);
  }

private:
  unsigned numBins;
  std::vector<uint64_t> counts;
  std::vector<float> edges;
};

/// Histogram of x over [-t, t], t the largest |x| seen so far (ORT's
/// collect_value, used by entropy, asymmetric percentile and MSE). When a
/// batch exceeds t, whole bins of the old width are added on both sides and
/// the old counts are added to the middle of the new histogram.
class SignedHistogram {
public:
  explicit SignedHistogram(unsigned numBins) : numBins(numBins) {}

  /// Adds one batch whose finite extremes are `batchMin` and `batchMax`
  /// (NaNs are skipped; the caller rejects infinities).
  llvm::Error add(llvm::ArrayRef<float> batch, float batchMin, float batchMax);

  bool empty() const { return counts.empty(); }
  HistogramRef get() const { return {counts, edges}; }
  float getThreshold() const { return threshold; }
  size_t getStorageBytes() const {
    return counts.capacity() * sizeof(uint64_t) +
           edges.capacity() * sizeof(float);
  }

private:
  unsigned numBins;
  float threshold = 0;
  std::vector<uint64_t> counts;
  std::vector<float> edges;
};

//===----------------------------------------------------------------------===//
// Range searches on a histogram
//===----------------------------------------------------------------------===//

/// ORT's compute_percentile. Symmetric (on an AbsHistogram): [-e, e] with e
/// the left edge of the bin where the CDF reaches `percentile`. Asymmetric
/// (on a SignedHistogram): the left edges of the bins where the CDF reaches
/// (100 - percentile) / 200 and 1 - that. Both are then clamped to the
/// observed [min, max], which makes a symmetric range one-sided for
/// non-negative tensors, as in ORT.
TensorRange computePercentileRange(HistogramRef hist, double percentile,
                                   bool symmetric, float min, float max);

/// ORT's get_entropy_threshold: grows a window around the zero bin and keeps
/// the one whose distribution, re-quantized to `numQuantizedBins` bins, has
/// the smallest KL divergence from the clipped float distribution. The
/// window's edges are clamped to the observed [min, max].
TensorRange computeEntropyRange(HistogramRef hist, unsigned numQuantizedBins,
                                float min, float max);

/// Grid search for the range minimizing the mean squared error of
/// quantizing the histogram to `numBits`. The values of a bin are taken as
/// uniform over the bin (the error is integrated exactly, so bins as wide as
/// a quantization step are fine), except `numZeros` exact zeros, which are
/// a point mass at 0.
/// Symmetric: [-T, T], T = m*k/K for k = 1..K, K = `symmetricSteps`,
/// m = max(|min|, |max|), on the signed grid [-(2^(b-1)-1), 2^(b-1)-1].
/// Asymmetric: [lo, hi] on a 64x64 grid of fractions of
/// [min(min,0), max(max,0)], refined 16-fold within one step of the best
/// point, on the unsigned grid [0, 2^b - 1] with zero point
/// round(-lo / scale). Ties keep the candidate found first (the smaller).
TensorRange computeMSERange(HistogramRef hist, uint64_t numZeros,
                            unsigned numBits, bool symmetric, float min,
                            float max, unsigned symmetricSteps);

/// Mean squared quantization error of the range [lo, hi] under the model of
/// computeMSERange (exposed for tests and reports).
double computeQuantizationMSE(HistogramRef hist, uint64_t numZeros,
                              unsigned numBits, bool symmetric, double lo,
                              double hi);

} // namespace quantopt::calibration

#endif // QUANTOPT_CALIBRATION_HISTOGRAM_H
