//===- RangeSearch.cpp - Percentile, entropy and MSE range searches -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The searches that turn a histogram into a range. Percentile and entropy
// follow ONNX Runtime's HistogramCollector (compute_percentile,
// get_entropy_threshold) including its quirks, because agreeing with ORT is
// the point: thresholds are left bin edges, the entropy window is one bin
// wider on the right, and the quantized distribution ignores the outliers
// folded into the reference one. ORT evaluates the KL divergence in float32;
// we use double, which can only matter when two candidate windows tie to
// within float32 rounding.
//
// MSE has no ORT counterpart; its model and grid are described in
// Histogram.h.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/Calibrator.h"
#include "quantopt/Calibration/Histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace llvm;
using namespace quantopt::calibration;

/// Clamps a threshold pair to the observed extremes, as ORT does after
/// every histogram search.
static TensorRange clampToObserved(float lo, float hi, float min, float max) {
  if (lo < min)
    lo = min;
  if (hi > max)
    hi = max;
  return {lo, hi};
}

//===----------------------------------------------------------------------===//
// Percentile
//===----------------------------------------------------------------------===//

TensorRange quantopt::calibration::computePercentileRange(HistogramRef hist,
                                                          double percentile,
                                                          bool symmetric,
                                                          float min,
                                                          float max) {
  uint64_t total =
      std::accumulate(hist.counts.begin(), hist.counts.end(), uint64_t(0));
  if (total == 0)
    return {min, max};
  // np.searchsorted(np.cumsum(hist / total), target): the first bin whose
  // cumulative share reaches the target, or one past the end.
  auto searchCdf = [&](double target) -> size_t {
    double cdf = 0;
    for (size_t i = 0; i < hist.counts.size(); ++i) {
      cdf += static_cast<double>(hist.counts[i]) / static_cast<double>(total);
      if (cdf >= target)
        return i;
    }
    return hist.counts.size();
  };
  if (symmetric) {
    float edge = hist.edges[searchCdf(percentile / 100.0)];
    return clampToObserved(-edge, edge, min, max);
  }
  double cutPerSide = (100.0 - percentile) / 200.0;
  float lo = hist.edges[searchCdf(cutPerSide)];
  float hi = hist.edges[searchCdf(1.0 - cutPerSide)];
  return clampToObserved(lo, hi, min, max);
}

//===----------------------------------------------------------------------===//
// Entropy
//===----------------------------------------------------------------------===//

/// ORT's smooth_distribution: zeros become eps and the mass is taken from
/// the non-zero entries, so that the KL divergence is finite. Returns false
/// where ORT returns None (all zeros) or would fail its positivity assert.
/// The constants are rounded to float32 as ORT's float32 arrays round them.
static bool smoothDistribution(std::vector<double> &dist) {
  size_t zeros = std::count(dist.begin(), dist.end(), 0.0);
  size_t nonZeros = dist.size() - zeros;
  if (nonZeros == 0)
    return false;
  double eps = static_cast<float>(0.0001);
  double eps1 = static_cast<float>(0.0001 * static_cast<double>(zeros) /
                                   static_cast<double>(nonZeros));
  for (double &value : dist) {
    value = value == 0.0 ? eps : value - eps1;
    if (value <= 0.0)
      return false;
  }
  return true;
}

/// KL(p || q) of the normalized distributions (scipy.stats.entropy).
static double klDivergence(ArrayRef<double> p, ArrayRef<double> q) {
  double pSum = std::accumulate(p.begin(), p.end(), 0.0);
  double qSum = std::accumulate(q.begin(), q.end(), 0.0);
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    double pi = p[i] / pSum, qi = q[i] / qSum;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

TensorRange quantopt::calibration::computeEntropyRange(
    HistogramRef hist, unsigned numQuantizedBins, float min, float max) {
  ArrayRef<uint64_t> counts = hist.counts;
  size_t numBins = counts.size();
  size_t zeroBin = numBins / 2;
  size_t halfQuantized = numQuantizedBins / 2;
  if (zeroBin < halfQuantized)
    return {min, max}; // Options validation keeps us from getting here.

  // prefix[i] = counts[0] + ... + counts[i - 1]; outliers fold into the
  // first and last bin of the reference distribution.
  std::vector<uint64_t> prefix(numBins + 1, 0);
  for (size_t i = 0; i < numBins; ++i)
    prefix[i + 1] = prefix[i] + counts[i];

  double bestKL = std::numeric_limits<double>::infinity();
  size_t bestStart = zeroBin - halfQuantized;
  size_t bestEnd = std::min(zeroBin + halfQuantized + 1, numBins);
  std::vector<double> p, q;
  for (size_t i = halfQuantized; i <= zeroBin; ++i) {
    size_t start = zeroBin - i;
    size_t end = std::min(zeroBin + i + 1, numBins);
    size_t size = end - start;
    ArrayRef<uint64_t> window = counts.slice(start, size);

    // Reference distribution: the window with the clipped mass at its ends.
    p.assign(window.begin(), window.end());
    p.front() += static_cast<double>(prefix[start]);
    p.back() += static_cast<double>(prefix[numBins] - prefix[end]);

    // Candidate: the window (without outliers) merged into
    // numQuantizedBins groups, the remainder going to the last group, each
    // group spread evenly (truncated to an integer, as ORT stores it in an
    // int64 array) over its bins where p is non-zero. ORT writes the value
    // into every bin of the group and leaves the remainder bins at zero.
    size_t merged = size / numQuantizedBins;
    q.assign(size, 0.0);
    for (size_t group = 0; group < numQuantizedBins; ++group) {
      size_t begin = group * merged, stop = begin + merged;
      uint64_t mass = 0;
      for (size_t k = begin; k < stop; ++k)
        mass += window[k];
      if (group + 1 == numQuantizedBins)
        for (size_t k = numQuantizedBins * merged; k < size; ++k)
          mass += window[k];
      uint64_t nonZero = 0;
      for (size_t k = begin; k < stop; ++k)
        nonZero += p[k] != 0.0;
      if (nonZero == 0)
        continue;
      double share = static_cast<double>(mass / nonZero);
      for (size_t k = begin; k < stop; ++k)
        q[k] = share;
    }

    if (!smoothDistribution(p) || !smoothDistribution(q))
      continue; // ORT scores these windows as +inf.
    double kl = klDivergence(p, q);
    if (kl < bestKL) {
      bestKL = kl;
      bestStart = start;
      bestEnd = end;
    }
  }
  return clampToObserved(hist.edges[bestStart], hist.edges[bestEnd], min, max);
}

//===----------------------------------------------------------------------===//
// MSE
//===----------------------------------------------------------------------===//

namespace {

/// A uniform affine quantizer: level k in [qmin, qmax] stands for
/// (k - zeroPoint) * scale. Symmetric: scale hi / qmax on
/// [-(2^(b-1)-1), 2^(b-1)-1]; asymmetric: scale (hi - lo) / (2^b - 1) on
/// [0, 2^b - 1] with zero point round(-lo / scale), as ORT derives them.
struct Quantizer {
  Quantizer(unsigned bits, bool symmetric, double lo, double hi) {
    if (symmetric) {
      qmax = std::ldexp(1.0, bits - 1) - 1;
      qmin = -qmax;
      scale = hi / qmax;
    } else {
      qmin = 0;
      qmax = std::ldexp(1.0, bits) - 1;
      scale = (hi - lo) / qmax;
      if (scale > 0)
        zeroPoint = std::clamp(std::nearbyint(-lo / scale), qmin, qmax);
    }
  }

  /// The level of x. Rounding half up instead of to even differs only at
  /// decision boundaries, a set of measure zero for the integrals below.
  double level(double x) const {
    return std::clamp(std::floor(x / scale + 0.5) + zeroPoint, qmin, qmax);
  }
  double value(double level) const { return (level - zeroPoint) * scale; }

  /// Mean of (x - Q(x))^2 for x uniform on [a, b]: the integral over each
  /// piece of [a, b] that maps to one level, divided by b - a.
  double meanSquaredError(double a, double b) const {
    if (!(scale > 0)) // Everything quantizes to 0.
      return (a * a + a * b + b * b) / 3;
    if (!(b > a)) {
      double diff = a - value(level(a));
      return diff * diff;
    }
    double sum = 0;
    for (double k = level(a), last = level(b); k <= last; ++k) {
      double lower = k == qmin ? a : std::max(a, value(k - 0.5));
      double upper = k == qmax ? b : std::min(b, value(k + 0.5));
      if (!(upper > lower))
        continue;
      double u = lower - value(k), v = upper - value(k);
      // (v^3 - u^3) / 3 without cancelling when the piece is narrow.
      sum += (upper - lower) * (u * u + u * v + v * v) / 3;
    }
    return sum / (b - a);
  }

  double scale;
  double zeroPoint = 0;
  double qmin, qmax;
};

/// The histogram as MSE sees it: each non-empty bin's values spread
/// uniformly over the bin, except exact zeros, which are a point mass.
/// Keeping zeros apart matters: ReLU outputs are often half zeros, and
/// smearing them over the bin next to zero would make every candidate pay
/// an error that the real tensor does not have.
struct MSEModel {
  struct Bin {
    double lo, hi, count;
  };
  std::vector<Bin> bins;
  double zeros = 0;
  double total = 0;

  MSEModel(HistogramRef hist, uint64_t numZeros) {
    size_t zeroBin = hist.counts.size();
    for (size_t i = 0; i < hist.counts.size(); ++i)
      if (hist.edges[i] <= 0 &&
          (0 < hist.edges[i + 1] || i + 1 == hist.counts.size()))
        zeroBin = i;
    for (size_t i = 0; i < hist.counts.size(); ++i) {
      double count = static_cast<double>(hist.counts[i]);
      if (i == zeroBin) {
        zeros = std::min(count, static_cast<double>(numZeros));
        count -= zeros;
      }
      if (count > 0)
        bins.push_back({hist.edges[i], hist.edges[i + 1], count});
      total += count;
    }
    total += zeros;
  }

  /// Sum over all values of the squared quantization error.
  double sumSquaredError(const Quantizer &q) const {
    double zeroError = q.value(q.level(0.0));
    double sum = zeros * zeroError * zeroError;
    for (const Bin &bin : bins)
      sum += bin.count * q.meanSquaredError(bin.lo, bin.hi);
    return sum;
  }
};

} // namespace

double quantopt::calibration::computeQuantizationMSE(HistogramRef hist,
                                                     uint64_t numZeros,
                                                     unsigned numBits,
                                                     bool symmetric, double lo,
                                                     double hi) {
  MSEModel model(hist, numZeros);
  if (model.total == 0)
    return 0;
  return model.sumSquaredError(Quantizer(numBits, symmetric, lo, hi)) /
         model.total;
}

TensorRange quantopt::calibration::computeMSERange(
    HistogramRef hist, uint64_t numZeros, unsigned numBits, bool symmetric,
    float min, float max, unsigned symmetricSteps) {
  MSEModel model(hist, numZeros);
  auto error = [&](bool symmetric, double lo, double hi) {
    return model.sumSquaredError(Quantizer(numBits, symmetric, lo, hi));
  };

  if (symmetric) {
    double absMax = std::max(std::fabs(min), std::fabs(max));
    if (absMax == 0)
      return {0, 0};
    float best = static_cast<float>(absMax);
    double bestError = std::numeric_limits<double>::infinity();
    for (unsigned k = 1; k <= symmetricSteps; ++k) {
      float t = static_cast<float>(absMax * k / symmetricSteps);
      double e = error(true, -t, t);
      if (e < bestError) {
        bestError = e;
        best = t;
      }
    }
    return {-best, best};
  }

  // The range must contain zero so that zero is exactly representable.
  double loLimit = std::min(min, 0.0f), hiLimit = std::max(max, 0.0f);
  if (loLimit == 0 && hiLimit == 0)
    return {0, 0};
  // Candidates are fractions i/steps of each side; a side that is zero has
  // only the candidate 0.
  constexpr unsigned kCoarseSteps = 64, kRefine = 16;
  double bestError = std::numeric_limits<double>::infinity();
  float bestLo = static_cast<float>(loLimit);
  float bestHi = static_cast<float>(hiLimit);
  unsigned bestI = kCoarseSteps, bestJ = kCoarseSteps;
  auto search = [&](unsigned steps, unsigned iBegin, unsigned iEnd,
                    unsigned jBegin, unsigned jEnd, unsigned scale) {
    if (loLimit == 0)
      iBegin = iEnd = 0;
    if (hiLimit == 0)
      jBegin = jEnd = 0;
    for (unsigned i = iBegin; i <= iEnd; ++i) {
      for (unsigned j = jBegin; j <= jEnd; ++j) {
        float lo = static_cast<float>(loLimit * i / steps);
        float hi = static_cast<float>(hiLimit * j / steps);
        if (!(lo < hi))
          continue;
        double e = error(false, lo, hi);
        if (e < bestError) {
          bestError = e;
          bestLo = lo;
          bestHi = hi;
          bestI = i / scale;
          bestJ = j / scale;
        }
      }
    }
  };
  search(kCoarseSteps, 0, kCoarseSteps, 0, kCoarseSteps, 1);
  // Refine on a 16x finer grid within one coarse step of the best point.
  unsigned fine = kCoarseSteps * kRefine;
  unsigned ci = bestI * kRefine, cj = bestJ * kRefine;
  search(fine, ci > kRefine ? ci - kRefine : 0, std::min(ci + kRefine, fine),
         cj > kRefine ? cj - kRefine : 0, std::min(cj + kRefine, fine),
         kRefine);
  return {bestLo, bestHi};
}
