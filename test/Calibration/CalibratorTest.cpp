//===- CalibratorTest.cpp - Tests of the streaming statistics -------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Unit tests of TensorStatistics and the range searches. Agreement with
// ONNX Runtime itself is checked by check_onnxruntime_agreement.py; these
// tests pin down the semantics on data small enough to reason about by hand.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/Calibrator.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace llvm;
using namespace quantopt::calibration;

namespace {

TensorStatistics makeStats(const CalibrationOptions &options) {
  Expected<TensorStatistics> stats = TensorStatistics::create(options);
  EXPECT_TRUE(static_cast<bool>(stats)) << toString(stats.takeError());
  return std::move(*stats);
}

TensorRange computeOrDie(const TensorStatistics &stats) {
  Expected<TensorRange> range = stats.compute();
  EXPECT_TRUE(static_cast<bool>(range)) << toString(range.takeError());
  return range ? *range : TensorRange{};
}

std::string errorMessage(Error err) {
  EXPECT_TRUE(static_cast<bool>(err));
  return toString(std::move(err));
}

std::vector<float> normalBatch(std::mt19937 &rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> batch(n);
  for (float &x : batch)
    x = dist(rng);
  return batch;
}

//===----------------------------------------------------------------------===//
// MinMax
//===----------------------------------------------------------------------===//

// Tests that minmax returns the global extremes over all batches.
TEST(MinMaxTest, GlobalRange) {
  TensorStatistics stats = makeStats({});
  ASSERT_FALSE(errorToBool(stats.observe({1.0f, -2.0f, 0.5f})));
  ASSERT_FALSE(errorToBool(stats.observe({3.0f, 0.0f})));
  ASSERT_FALSE(errorToBool(stats.observe({-1.0f})));
  TensorRange range = computeOrDie(stats);
  EXPECT_EQ(range.min, -2.0);
  EXPECT_EQ(range.max, 3.0);
  EXPECT_EQ(stats.getNumBatches(), 3u);
  EXPECT_EQ(stats.getNumValues(), 6u);
}

// Tests that NaNs are skipped and an all-NaN or empty batch changes nothing.
TEST(MinMaxTest, IgnoresNaN) {
  TensorStatistics stats = makeStats({});
  float nan = std::nanf("");
  ASSERT_FALSE(errorToBool(stats.observe({nan, 1.0f, nan, 2.0f})));
  ASSERT_FALSE(errorToBool(stats.observe({nan, nan})));
  ASSERT_FALSE(errorToBool(stats.observe({})));
  TensorRange range = computeOrDie(stats);
  EXPECT_EQ(range.min, 1.0);
  EXPECT_EQ(range.max, 2.0);
  EXPECT_EQ(stats.getNumBatches(), 1u);
}

// Tests that an infinite value is rejected and leaves the statistics intact.
TEST(MinMaxTest, RejectsInfinity) {
  for (CalibrationMethod method :
       {CalibrationMethod::MinMax, CalibrationMethod::Percentile,
        CalibrationMethod::Entropy, CalibrationMethod::MSE}) {
    CalibrationOptions options;
    options.method = method;
    TensorStatistics stats = makeStats(options);
    ASSERT_FALSE(errorToBool(stats.observe({1.0f, -1.0f})));
    std::string message = errorMessage(stats.observe({0.0f, -INFINITY, 5.0f}));
    EXPECT_NE(message.find("element 1 is -inf"), std::string::npos) << message;
    TensorRange range = computeOrDie(stats);
    EXPECT_LE(range.max, 1.0);
    EXPECT_GE(range.min, -1.0);
    EXPECT_EQ(stats.getNumBatches(), 1u);
    EXPECT_EQ(stats.getNumValues(), 2u);
  }
}

// Tests that computing without data is an error, not a made-up range.
TEST(MinMaxTest, NoDataIsAnError) {
  TensorStatistics stats = makeStats({});
  Expected<TensorRange> range = stats.compute();
  ASSERT_FALSE(static_cast<bool>(range));
  EXPECT_NE(toString(range.takeError()).find("no finite values"),
            std::string::npos);
}

// Tests the moving average against the float32 recurrence ORT evaluates:
// the first batch sets the range, later ones blend in with weight c.
TEST(MinMaxTest, MovingAverage) {
  CalibrationOptions options;
  options.movingAverage = true;
  options.averagingConstant = 0.25;
  TensorStatistics stats = makeStats(options);
  ASSERT_FALSE(errorToBool(stats.observe({-4.0f, 8.0f})));
  ASSERT_FALSE(errorToBool(stats.observe({-8.0f, 0.0f})));
  ASSERT_FALSE(errorToBool(stats.observe({0.0f, 16.0f})));
  // min: -4 -> -4 + 0.25 * (-8 + 4) = -5 -> -5 + 0.25 * (0 + 5) = -3.75
  // max:  8 ->  8 + 0.25 * (0 - 8) =  6 ->  6 + 0.25 * (16 - 6) = 8.5
  TensorRange range = computeOrDie(stats);
  EXPECT_EQ(range.min, -3.75);
  EXPECT_EQ(range.max, 8.5);

  // With the default constant the arithmetic rounds; check it is float32.
  options.averagingConstant = 0.01;
  TensorStatistics defaults = makeStats(options);
  ASSERT_FALSE(errorToBool(defaults.observe({-1.0f, 1.0f})));
  ASSERT_FALSE(errorToBool(defaults.observe({-3.0f, 0.3f})));
  float c = 0.01f;
  float expectedMin = -1.0f + c * (-3.0f - -1.0f);
  float expectedMax = 1.0f + c * (0.3f - 1.0f);
  range = computeOrDie(defaults);
  EXPECT_EQ(range.min, static_cast<double>(expectedMin));
  EXPECT_EQ(range.max, static_cast<double>(expectedMax));
}

// Tests that symmetric minmax makes each batch symmetric before merging, so
// the moving average blends absolute maxima.
TEST(MinMaxTest, Symmetric) {
  CalibrationOptions options;
  options.symmetric = true;
  TensorStatistics stats = makeStats(options);
  ASSERT_FALSE(errorToBool(stats.observe({-1.0f, 3.0f})));
  ASSERT_FALSE(errorToBool(stats.observe({-5.0f, 2.0f})));
  TensorRange range = computeOrDie(stats);
  EXPECT_EQ(range.min, -5.0);
  EXPECT_EQ(range.max, 5.0);

  options.movingAverage = true;
  options.averagingConstant = 0.5;
  TensorStatistics averaged = makeStats(options);
  ASSERT_FALSE(errorToBool(averaged.observe({-1.0f, 3.0f})));
  ASSERT_FALSE(errorToBool(averaged.observe({-5.0f, 2.0f})));
  range = computeOrDie(averaged);
  EXPECT_EQ(range.min, -4.0);
  EXPECT_EQ(range.max, 4.0);

  // All zeros: the range is [0, 0] with no negative zero.
  TensorStatistics zeros = makeStats(options);
  ASSERT_FALSE(errorToBool(zeros.observe({0.0f, -0.0f})));
  range = computeOrDie(zeros);
  EXPECT_FALSE(std::signbit(range.min));
  EXPECT_EQ(range.max, 0.0);
}

//===----------------------------------------------------------------------===//
// Histogram methods
//===----------------------------------------------------------------------===//

// Tests symmetric percentile on values 1..1000: the histogram of |x| spans
// [1, 1000]; 99% of the mass is reached in the bin starting near 990.
TEST(PercentileTest, SymmetricOnRamp) {
  CalibrationOptions options;
  options.method = CalibrationMethod::Percentile;
  options.percentile = 99.0;
  options.numBins = 999;
  TensorStatistics stats = makeStats(options);
  std::vector<float> batch;
  for (int i = 1; i <= 1000; ++i)
    batch.push_back(i % 2 ? static_cast<float>(i) : -static_cast<float>(i));
  ASSERT_FALSE(errorToBool(stats.observe(batch)));
  TensorRange range = computeOrDie(stats);
  EXPECT_NEAR(range.max, 990.0, 1.0);
  EXPECT_EQ(range.min, -range.max);
  ASSERT_NE(stats.getAbsHistogram(), nullptr);
}

// Tests that percentile 100 gives back the observed extremes and that an
// asymmetric percentile uses the signed histogram.
TEST(PercentileTest, Asymmetric) {
  CalibrationOptions options;
  options.method = CalibrationMethod::Percentile;
  options.symmetric = false;
  options.percentile = 100.0;
  TensorStatistics stats = makeStats(options);
  std::mt19937 rng(1);
  std::vector<float> batch = normalBatch(rng, 10000, 1.0f);
  for (float &x : batch)
    x = x + 2.0f;
  ASSERT_FALSE(errorToBool(stats.observe(batch)));
  ASSERT_NE(stats.getSignedHistogram(), nullptr);
  TensorRange range = computeOrDie(stats);
  float lo = *std::min_element(batch.begin(), batch.end());
  float hi = *std::max_element(batch.begin(), batch.end());
  // The lower bound is a bin edge at or below the minimum, clamped to it.
  EXPECT_EQ(range.min, lo);
  EXPECT_EQ(range.max, hi);
}

// Tests that entropy clips a Gaussian with rare far outliers well inside the
// outliers and that `symmetric` mirrors the result.
TEST(EntropyTest, ClipsOutliers) {
  CalibrationOptions options;
  options.method = CalibrationMethod::Entropy;
  options.numBins = 2048;
  TensorStatistics stats = makeStats(options);
  std::mt19937 rng(7);
  for (int b = 0; b < 4; ++b) {
    std::vector<float> batch = normalBatch(rng, 20000, 1.0f);
    batch[b] = 50.0f;
    ASSERT_FALSE(errorToBool(stats.observe(batch)));
  }
  TensorRange range = computeOrDie(stats);
  EXPECT_GT(range.max, 2.0);
  EXPECT_LT(range.max, 25.0);
  EXPECT_LT(range.min, -2.0);

  options.symmetric = true;
  TensorStatistics symmetricStats = makeStats(options);
  std::mt19937 rng2(7);
  std::vector<float> batch = normalBatch(rng2, 20000, 1.0f);
  ASSERT_FALSE(errorToBool(symmetricStats.observe(batch)));
  TensorRange mirrored = computeOrDie(symmetricStats);
  EXPECT_EQ(mirrored.min, -mirrored.max);
}

// Tests MSE on a uniform distribution, where clipping only hurts: the best
// range is (nearly) the full one, symmetric and asymmetric.
TEST(MSETest, UniformKeepsFullRange) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> batch(50000);
  for (float &x : batch)
    x = dist(rng);
  for (bool symmetric : {true, false}) {
    CalibrationOptions options;
    options.method = CalibrationMethod::MSE;
    options.symmetric = symmetric;
    TensorStatistics stats = makeStats(options);
    ASSERT_FALSE(errorToBool(stats.observe(batch)));
    TensorRange range = computeOrDie(stats);
    EXPECT_GT(range.max, 0.97) << "symmetric=" << symmetric;
    EXPECT_LT(range.min, -0.97) << "symmetric=" << symmetric;
  }
}

// Tests that MSE clips a heavy tail: a Laplace distribution at 4 bits is
// best quantized well inside its extremes, and the chosen range has lower
// error than the full range.
TEST(MSETest, ClipsHeavyTail) {
  std::mt19937 rng(5);
  std::exponential_distribution<float> exp(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> batch(100000);
  for (float &x : batch)
    x = sign(rng) ? exp(rng) : -exp(rng);
  CalibrationOptions options;
  options.method = CalibrationMethod::MSE;
  options.symmetric = true;
  options.numBits = 4;
  TensorStatistics stats = makeStats(options);
  ASSERT_FALSE(errorToBool(stats.observe(batch)));
  TensorRange range = computeOrDie(stats);
  float absMax = 0;
  for (float x : batch)
    absMax = std::max(absMax, std::fabs(x));
  EXPECT_LT(range.max, 0.6 * absMax);
  HistogramRef hist = stats.getSignedHistogram()->get();
  uint64_t zeros = stats.getNumZeros();
  EXPECT_LT(computeQuantizationMSE(hist, zeros, 4, true, range.min, range.max),
            computeQuantizationMSE(hist, zeros, 4, true, -absMax, absMax));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

// Tests that the storage of every method stops growing once the value range
// is covered: 2000 batches cost the same as 20.
TEST(MemoryTest, ConstantInNumberOfBatches) {
  for (CalibrationMethod method :
       {CalibrationMethod::MinMax, CalibrationMethod::Percentile,
        CalibrationMethod::Entropy, CalibrationMethod::MSE}) {
    CalibrationOptions options;
    options.method = method;
    TensorStatistics stats = makeStats(options);
    std::mt19937 rng(11);
    // Uniform in [-1, 1] with the extremes present in the first batch, so
    // the histogram range never needs to grow.
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> batch(256);
    size_t after20 = 0;
    for (int b = 0; b < 2000; ++b) {
      for (float &x : batch)
        x = dist(rng);
      batch[0] = -1.0f;
      batch[1] = 1.0f;
      ASSERT_FALSE(errorToBool(stats.observe(batch)));
      if (b == 19)
        after20 = stats.getStorageBytes();
    }
    EXPECT_EQ(stats.getStorageBytes(), after20) << getMethodName(method).str();
    EXPECT_EQ(stats.getNumValues(), 2000u * 256u);
  }
}

// Tests that a range growing without bound (each batch twice as wide) keeps
// the histograms within kMaxGrowth times their initial bins, and that the
// counts survive the merging.
TEST(MemoryTest, GrowthIsCapped) {
  for (bool symmetric : {true, false}) {
    CalibrationOptions options;
    options.method = CalibrationMethod::Percentile;
    options.symmetric = symmetric;
    options.numBins = 64;
    TensorStatistics stats = makeStats(options);
    std::mt19937 rng(13);
    float scale = 1.0f;
    for (int b = 0; b < 40; ++b, scale *= 2.0f)
      ASSERT_FALSE(errorToBool(stats.observe(normalBatch(rng, 1000, scale))));
    HistogramRef hist = symmetric ? stats.getAbsHistogram()->get()
                                  : stats.getSignedHistogram()->get();
    EXPECT_LE(hist.counts.size(), 64u * kMaxGrowth);
    uint64_t total = 0;
    for (uint64_t count : hist.counts)
      total += count;
    // Only |x| below the first batch's smallest |x| may go uncounted (ORT
    // drops them too); the signed histogram counts everything.
    if (!symmetric)
      EXPECT_EQ(total, 40u * 1000u);
    else
      EXPECT_GE(total, 39u * 1000u);
    for (size_t i = 1; i < hist.edges.size(); ++i)
      ASSERT_LT(hist.edges[i - 1], hist.edges[i]);
    Expected<TensorRange> range = stats.compute();
    ASSERT_TRUE(static_cast<bool>(range));
  }
}

// Tests that one batch jumping the range by 10^10 is merged at once (no
// fine bins are ever materialized) and that an absurd jump is an error
// rather than an allocation. Odd bin counts exercise the centring rule.
TEST(MemoryTest, HugeJumpInRange) {
  for (unsigned numBins : {64u, 65u}) {
    for (bool symmetric : {true, false}) {
      CalibrationOptions options;
      options.method = CalibrationMethod::Percentile;
      options.symmetric = symmetric;
      options.numBins = numBins;
      TensorStatistics stats = makeStats(options);
      ASSERT_FALSE(errorToBool(stats.observe({-1e-3f, 5e-4f, 1e-3f})));
      ASSERT_FALSE(errorToBool(stats.observe({-1e7f, 3.0f, 1e7f})));
      HistogramRef hist = symmetric ? stats.getAbsHistogram()->get()
                                    : stats.getSignedHistogram()->get();
      EXPECT_LE(hist.counts.size(), numBins * kMaxGrowth);
      EXPECT_GE(hist.edges.back(), 1e7f);
      if (!symmetric) {
        // Still centred on zero.
        EXPECT_EQ(hist.edges.front(), -hist.edges.back());
      }
      std::string message = errorMessage(stats.observe({-3e38f, 3e38f}));
      EXPECT_NE(message.find("too large"), std::string::npos) << message;
      EXPECT_EQ(stats.getNumBatches(), 2u);
    }
  }
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

// Tests method parsing and that the error lists the valid methods.
TEST(OptionsTest, ParseMethod) {
  Expected<CalibrationMethod> method = parseMethod("Entropy");
  ASSERT_TRUE(static_cast<bool>(method));
  EXPECT_EQ(*method, CalibrationMethod::Entropy);
  Expected<CalibrationMethod> bad = parseMethod("kl");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(toString(bad.takeError()),
            "unknown calibration method 'kl'; valid methods are minmax, "
            "percentile, entropy, mse");
}

// Tests the per-method defaults, which are ORT's.
TEST(OptionsTest, Defaults) {
  CalibrationOptions options;
  EXPECT_FALSE(options.isSymmetric());
  options.method = CalibrationMethod::Percentile;
  EXPECT_TRUE(options.isSymmetric());
  EXPECT_EQ(options.getNumBins(), 2048u);
  options.method = CalibrationMethod::Entropy;
  EXPECT_FALSE(options.isSymmetric());
  EXPECT_EQ(options.getNumBins(), 128u);
  EXPECT_EQ(options.numQuantizedBins, 128u);
}

// Tests that each invalid value is rejected with a message naming it.
TEST(OptionsTest, Validation) {
  auto check = [](CalibrationOptions options, StringRef expected) {
    std::string message = errorMessage(options.validate());
    EXPECT_NE(message.find(expected.str()), std::string::npos) << message;
    EXPECT_FALSE(static_cast<bool>(TensorStatistics::create(options)));
  };
  CalibrationOptions options;
  options.averagingConstant = 1.5;
  check(options, "invalid averaging_constant 1.5: must be in [0, 1]");
  options = {};
  options.method = CalibrationMethod::Percentile;
  options.percentile = 100.5;
  check(options, "invalid percentile 100.5: must be in [0, 100]");
  options.percentile = std::nan("");
  check(options, "invalid percentile nan");
  options = {};
  options.method = CalibrationMethod::Entropy;
  options.numQuantizedBins = 256;
  check(options, "num_quantized_bins (256) must not exceed num_bins (128)");
  options.numQuantizedBins = 0;
  check(options, "invalid num_quantized_bins 0");
  options = {};
  options.method = CalibrationMethod::MSE;
  options.numBits = 1;
  check(options, "invalid num_bits 1: must be in [2, 16]");
  options.numBits = 8;
  options.numBins = 0;
  check(options, "invalid num_bins 0");
}

// Tests that the JSON form of the options round-trips and rejects options
// of other methods.
TEST(OptionsTest, JSON) {
  CalibrationOptions options;
  options.method = CalibrationMethod::Entropy;
  options.numBins = 512;
  options.numQuantizedBins = 64;
  json::Object object = optionsToJSON(options);
  Expected<CalibrationOptions> parsed =
      optionsFromJSON(CalibrationMethod::Entropy, object);
  ASSERT_TRUE(static_cast<bool>(parsed)) << toString(parsed.takeError());
  EXPECT_EQ(parsed->getNumBins(), 512u);
  EXPECT_EQ(parsed->numQuantizedBins, 64u);
  EXPECT_FALSE(parsed->isSymmetric());

  json::Object wrong{{"percentile", 99.9}};
  Expected<CalibrationOptions> rejected =
      optionsFromJSON(CalibrationMethod::Entropy, wrong);
  ASSERT_FALSE(static_cast<bool>(rejected));
  EXPECT_EQ(toString(rejected.takeError()),
            "'percentile' does not apply to method 'entropy'; its options are "
            "'symmetric', 'num_bins', 'num_quantized_bins'");
}

} // namespace
