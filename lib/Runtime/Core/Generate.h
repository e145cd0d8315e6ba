//===- Generate.h - The decode loop of causal LM bundles -------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The object behind qrt_generator and the functions the C API's
// qrt_generator_* entry points call (Generate.cpp). Private to libquantrt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_GENERATE_H
#define QUANTOPT_LIB_RUNTIME_CORE_GENERATE_H

#include "RuntimeImpl.h"

#include <memory>
#include <random>
#include <vector>

namespace quantopt {
namespace runtime {

/// A past input of the bundle and the present output that feeds it.
struct KvPair {
  size_t input = 0;
  size_t output = 0;
  /// The past's sequence axis.
  size_t seqAxis = 0;
};

struct ResultDeleter {
  void operator()(qrt_result *result) const;
};

} // namespace runtime
} // namespace quantopt

struct qrt_generator {
  qrt_bundle *bundle = nullptr;
  qrt_generate_options options{};
  std::vector<int64_t> eosIds;

  /// Manifest indices; -1 where the bundle has no such input.
  size_t idsInput = 0;
  int64_t maskInput = -1;
  int64_t positionsInput = -1;
  size_t logitsOutput = 0;
  /// Vocabulary size when the manifest's logits dim is static, else -1.
  int64_t staticVocab = -1;
  std::vector<quantopt::runtime::KvPair> kv;

  /// The whole sequence so far: prompt and generated tokens.
  std::vector<int64_t> tokens;
  /// How many of `tokens` the caches hold.
  int64_t cached = 0;
  /// The last run's result, whose presents are the next run's pasts.
  std::unique_ptr<qrt_result, quantopt::runtime::ResultDeleter> last;
  bool started = false;

  std::mt19937_64 rng;
  qrt_generate_stats stats{};
  /// Scratch of the sampler.
  std::vector<int32_t> order;
  std::vector<double> probs;
};

namespace quantopt {
namespace runtime {

void defaultGenerateOptions(qrt_generate_options &options);

/// Checks `options` and the bundle's signature.
std::unique_ptr<qrt_generator>
createGenerator(qrt_bundle &bundle, const qrt_generate_options &options,
                Failure &failure);

bool generatorPrefill(qrt_generator &gen, const int64_t *prompt,
                      int64_t promptLen, int64_t &token, Failure &failure);

bool generatorStep(qrt_generator &gen, int64_t &token, Failure &failure);

bool generatorGenerate(qrt_generator &gen, const int64_t *prompt,
                       int64_t promptLen, qrt_token_callback callback,
                       void *userData, int64_t *tokens, int64_t capacity,
                       int64_t &count, Failure &failure);

} // namespace runtime
} // namespace quantopt

#endif // QUANTOPT_LIB_RUNTIME_CORE_GENERATE_H
