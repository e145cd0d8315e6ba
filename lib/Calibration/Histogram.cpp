//===- Histogram.cpp - ONNX Runtime compatible streaming histograms -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// ONNX Runtime builds its calibration histograms with numpy.histogram on
// float32 data, and a percentile or entropy threshold is always one of the
// resulting bin edges. To return the same thresholds we reproduce numpy's
// float32 arithmetic step by step: how numpy.linspace computes the edges,
// how the uniform-bin fast path assigns a value to a bin, and how
// numpy.arange extends an edge array (in double, because numpy.arange of
// float32 scalars yields float64). The library is compiled with
// -ffp-contract=off so that no multiply-add is fused behind our back.
//
// Every add() computes the new histogram into fresh vectors and swaps them
// in at the end, so a batch that fails leaves the histogram unchanged.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/Histogram.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

using namespace llvm;
using namespace quantopt::calibration;

//===----------------------------------------------------------------------===//
// numpy float32 arithmetic
//===----------------------------------------------------------------------===//

namespace {

/// numpy's _get_outer_edges: an empty range is widened by 0.5 on each side
/// so that the bins have a width.
void widenEmptyRange(float &first, float &last) {
  if (first == last) {
    first = first - 0.5f;
    last = last + 0.5f;
  }
}

/// numpy.linspace(first, last, n + 1, dtype=float32): each edge is
/// i * step + first rounded to float32 after each operation, the last edge
/// is exactly `last`.
std::vector<float> linspaceEdges(float first, float last, size_t n) {
  std::vector<float> edges(n + 1);
  float delta = last - first;
  float step = delta / static_cast<float>(n);
  for (size_t i = 0; i <= n; ++i) {
    float scaled;
    if (step == 0.0f) {
      // numpy divides first when the step underflows.
      scaled = static_cast<float>(i) / static_cast<float>(n);
      scaled = scaled * delta;
    } else {
      scaled = static_cast<float>(i) * step;
    }
    edges[i] = scaled + first;
  }
  edges[n] = last;
  return edges;
}

/// numpy rejects edge arrays that are not strictly increasing; so do we,
/// with a message that says what to change.
Error checkEdges(ArrayRef<float> edges) {
  float width = edges.back() - edges.front();
  if (!std::isfinite(width))
    return createStringError(
        "values up to %g are too large to histogram in float32 (the bin "
        "range overflows); such a tensor cannot be calibrated with a "
        "histogram method, use --method=minmax",
        static_cast<double>(edges.back()));
  for (size_t i = 1; i < edges.size(); ++i)
    if (!(edges[i - 1] < edges[i]))
      return createStringError(
          formatv("the value range [{0}, {1}] is too narrow for {2} float32 "
                  "histogram bins; use fewer bins (num_bins) or "
                  "--method=minmax",
                  edges.front(), edges.back(), edges.size() - 1)
              .str());
  return Error::success();
}

/// numpy.histogram's fast path for uniform bins over [first, last], in
/// float32: a bin index is estimated from (x - first) / (last - first) * n
/// and then corrected once against the edges. Values outside [first, last]
/// and NaNs are not counted.
void countUniform(ArrayRef<float> values, bool absolute, float first,
                  float last, ArrayRef<float> edges,
                  std::vector<uint64_t> &counts) {
  size_t n = counts.size();
  float denom = last - first;
  float numBins = static_cast<float>(n);
  for (float x : values) {
    float v = absolute ? std::fabs(x) : x;
    if (!(v >= first && v <= last))
      continue;
    float scaled = (v - first) / denom;
    scaled = scaled * numBins;
    size_t index = std::min(static_cast<size_t>(scaled), n - 1);
    if (v < edges[index])
      --index;
    else if (index != n - 1 && v >= edges[index + 1])
      ++index;
    ++counts[index];
  }
}

/// numpy.histogram with an explicit edge array: bin i holds
/// [edges[i], edges[i+1]), the last bin is closed. The edges are nearly
/// uniform, so an estimate from the mean width needs only a short walk.
void countWithEdges(ArrayRef<float> values, ArrayRef<double> edges,
                    std::vector<uint64_t> &counts) {
  size_t n = counts.size();
  double first = edges.front(), last = edges.back();
  double width = (last - first) / static_cast<double>(n);
  for (float x : values) {
    double v = std::fabs(x);
    if (!(v >= first && v <= last))
      continue;
    size_t index = 0;
    if (width > 0)
      index = std::min(static_cast<size_t>((v - first) / width), n - 1);
    while (index > 0 && v < edges[index])
      --index;
    while (index + 1 < n && v >= edges[index + 1])
      ++index;
    ++counts[index];
  }
}

/// numpy's floor_divide for positive float32 operands (npy_divmodf): the
/// quotient of the exact remainder decomposition, floored and snapped.
float floorDivide(float a, float b) {
  float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && ((b < 0.0f) != (mod < 0.0f)))
    div = div - 1.0f;
  if (div == 0.0f)
    return std::copysign(0.0f, a / b);
  float floored = std::floor(div);
  if (div - floored > 0.5f)
    floored = floored + 1.0f;
  return floored;
}

/// Bins a histogram may need before merging; beyond this, the range grew by
/// a factor no real tensor shows (about 10^12 for 2048 bins).
constexpr float kMaxFineBins = 1e15f;

Error makeGrowthError(float oldMax, float newMax) {
  return createStringError(
      formatv("the value range grew from {0} to {1} in one batch, too large "
              "a jump to histogram; check the data, or use --method=minmax",
              oldMax, newMax)
          .str());
}

/// The smallest h >= minHalf for which n + 2h is a multiple of `factor`
/// (one exists when `factor` is odd or n is even). Closed form, because
/// `factor` can be large after a big jump in range.
size_t alignHalf(size_t n, size_t minHalf, size_t factor) {
  // Solutions of 2h = -n (mod factor) repeat with this period.
  size_t period = factor % 2 == 0 ? factor / 2 : factor;
  size_t r = n % factor;
  // 2 * target = -r (mod factor) in both cases.
  size_t target = r % 2 == 0 ? (factor - r / 2) % period : (factor - r) / 2;
  return minHalf + (target % period + period - minHalf % period) % period;
}

size_t getMaxBins(unsigned numBins) {
  return std::max<size_t>(static_cast<size_t>(numBins) * kMaxGrowth, 3);
}

} // namespace

//===----------------------------------------------------------------------===//
// AbsHistogram
//===----------------------------------------------------------------------===//

Error AbsHistogram::add(ArrayRef<float> batch) {
  float absMin = std::numeric_limits<float>::infinity();
  float absMax = -absMin;
  for (float x : batch) {
    if (std::isnan(x))
      continue;
    absMin = std::min(absMin, std::fabs(x));
    absMax = std::max(absMax, std::fabs(x));
  }
  if (absMin > absMax)
    return Error::success(); // Nothing but NaNs.

  if (counts.empty()) {
    // ORT: np.histogram(|x|, bins=num_bins), i.e. [min|x|, max|x|].
    float first = absMin, last = absMax;
    widenEmptyRange(first, last);
    std::vector<float> newEdges = linspaceEdges(first, last, numBins);
    if (Error err = checkEdges(newEdges))
      return err;
    std::vector<uint64_t> newCounts(numBins, 0);
    countUniform(batch, /*absolute=*/true, first, last, newEdges, newCounts);
    counts = std::move(newCounts);
    edges = std::move(newEdges);
    return Error::success();
  }

  // ORT counts the new batch against the old edges, extended with
  // np.arange(last + width, max|x| + width, width) when the batch goes
  // beyond them. That arange yields float64, so the batch is counted
  // against double edges that are only rounded to float32 afterwards.
  std::vector<double> countEdges(edges.begin(), edges.end());
  std::vector<uint64_t> oldCounts = counts;
  if (absMax > edges.back()) {
    float width = edges[1] - edges[0];
    float start = edges.back() + width;
    float stop = absMax + width;
    float lengthF = (stop - start) / width;
    if (!(lengthF < kMaxFineBins))
      return makeGrowthError(edges.back(), absMax);
    size_t length =
        lengthF > 0.0f ? static_cast<size_t>(std::ceil(lengthF)) : 0;
    // numpy.arange fills start + k * (second - start) in double.
    float second = start + width;
    double delta = static_cast<double>(second) - static_cast<double>(start);
    size_t oldBins = counts.size();
    // Fine edge m: an old edge, or the arange value that follows them.
    std::function<double(size_t)> fineEdge = [&](size_t m) {
      if (m <= oldBins)
        return static_cast<double>(edges[m]);
      return static_cast<double>(start) +
             static_cast<double>(m - oldBins - 1) * delta;
    };

    // Past the cap, merge groups of `factor` fine bins (old bins included)
    // so that memory stays bounded; ORT would keep growing. The fine edges
    // are never materialized, so even a huge jump in range costs no memory.
    // numpy's perturbed step would drift by many bins over such a jump, so
    // the coarse edges use the exact width and are extended to reach max|x|.
    size_t fineBins = oldBins + length;
    size_t maxBins = getMaxBins(numBins);
    size_t factor = 1;
    if (fineBins > maxBins) {
      double exactLength =
          std::ceil((static_cast<double>(absMax) - edges.back()) / width);
      fineBins =
          oldBins + std::max<size_t>(1, static_cast<size_t>(exactLength));
      factor = (fineBins + maxBins - 1) / maxBins;
      fineEdge = [&, oldBins](size_t m) {
        if (m <= oldBins)
          return static_cast<double>(edges[m]);
        return static_cast<double>(edges[oldBins]) +
               static_cast<double>(m - oldBins) * width;
      };
    }
    size_t coarseBins = (fineBins + factor - 1) / factor;
    countEdges.resize(coarseBins + 1);
    for (size_t j = 0; j <= coarseBins; ++j)
      countEdges[j] = fineEdge(j * factor);
    if (factor > 1) {
      std::vector<uint64_t> merged(coarseBins, 0);
      for (size_t i = 0; i < oldBins; ++i)
        merged[i / factor] += oldCounts[i];
      oldCounts = std::move(merged);
    }
  }

  std::vector<float> newEdges(countEdges.begin(), countEdges.end());
  std::vector<uint64_t> newCounts(countEdges.size() - 1, 0);
  countWithEdges(batch, countEdges, newCounts);
  for (size_t i = 0; i < oldCounts.size(); ++i)
    newCounts[i] += oldCounts[i];
  counts = std::move(newCounts);
  edges = std::move(newEdges);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// SignedHistogram
//===----------------------------------------------------------------------===//

Error SignedHistogram::add(ArrayRef<float> batch, float batchMin,
                           float batchMax) {
  float batchThreshold = std::max(std::fabs(batchMin), std::fabs(batchMax));

  // Counts `batch` into `n` bins over [-t, t] and, on success, installs
  // them with `oldCounts` added from bin `offset` on.
  auto rebuild = [&](float t, size_t n, ArrayRef<uint64_t> oldCounts,
                     size_t offset, size_t mergeFactor) -> Error {
    float first = -t, last = t;
    widenEmptyRange(first, last);
    std::vector<float> newEdges = linspaceEdges(first, last, n);
    if (Error err = checkEdges(newEdges))
      return err;
    std::vector<uint64_t> newCounts(n, 0);
    countUniform(batch, /*absolute=*/false, first, last, newEdges, newCounts);
    for (size_t i = 0; i < oldCounts.size(); ++i)
      newCounts[(i + offset) / mergeFactor] += oldCounts[i];
    threshold = t;
    counts = std::move(newCounts);
    edges = std::move(newEdges);
    return Error::success();
  };

  if (counts.empty())
    return rebuild(batchThreshold, numBins, {}, 0, 1);

  size_t n = counts.size();
  if (batchThreshold <= threshold) {
    // Same bins as before; counting into a copy keeps add() all-or-nothing
    // for symmetry with the other paths (this one cannot fail).
    std::vector<uint64_t> newCounts = counts;
    countUniform(batch, /*absolute=*/false, edges.front(), edges.back(), edges,
                 newCounts);
    counts = std::move(newCounts);
    return Error::success();
  }

  // ORT: an all-zero history is simply re-binned over the new range with
  // the old counts added position by position.
  if (threshold == 0.0f) {
    std::vector<uint64_t> oldCounts = counts;
    return rebuild(batchThreshold, n, oldCounts, 0, 1);
  }

  // ORT's merge_histogram: add `half` bins of the old stride on each side,
  // enough to reach the new threshold, and move the old counts inward.
  float stride = (2.0f * threshold) / static_cast<float>(n);
  float halfF = floorDivide(batchThreshold - threshold, stride) + 1.0f;
  if (!(halfF < kMaxFineBins))
    return makeGrowthError(threshold, batchThreshold);
  size_t half = static_cast<size_t>(halfF);
  size_t newN = n + 2 * half;
  size_t factor = 1;
  size_t maxBins = getMaxBins(numBins);
  if (newN > maxBins) {
    // Merge groups of `factor` fine bins. The fine layout must split into
    // whole groups and stay centred on zero, so pad `half` and keep the
    // factor odd when the bin count is odd.
    factor = (newN + maxBins - 3) / (maxBins - 2);
    if (n % 2 == 1 && factor % 2 == 0)
      ++factor;
    half = alignHalf(n, half, factor);
    newN = (n + 2 * half) / factor;
  }
  float grown = static_cast<float>(half) * stride;
  float newThreshold = grown + threshold;
  // Past the cap we are off ORT's path anyway; make sure rounding of a huge
  // `half` cannot leave the batch's extremes outside the histogram.
  if (factor > 1)
    newThreshold = std::max(newThreshold, batchThreshold);
  std::vector<uint64_t> oldCounts = counts;
  return rebuild(newThreshold, newN, oldCounts, half, factor);
}
