//===- Generate.cpp - The decode loop of causal LM bundles ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qrt_generator: prefill a prompt, then one token per step, through
// runBundle. The bundle's inputs are recognized by name (input_ids,
// attention_mask, position_ids, past* caches paired with present* outputs;
// the rule is in include/quantopt-c/Runtime.h and docs/Runtime.md). The
// presents of one run are fed as the pasts of the next straight from the
// run's result, which the generator keeps until the next run has finished.
// Sampling is temperature, top-k, top-p over a std::mt19937_64 stream, so a
// seed gives the same tokens on every platform (the engine's output is
// fixed by the C++ standard; the uniform draw is made here from its bits
// rather than by a distribution, whose algorithm the standard leaves open).
//
//===----------------------------------------------------------------------===//

#include "Generate.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

using namespace llvm;
using namespace quantopt::runtime;

void ResultDeleter::operator()(qrt_result *result) const { delete result; }

void quantopt::runtime::defaultGenerateOptions(qrt_generate_options &options) {
  options = qrt_generate_options{};
  options.max_new_tokens = 64;
  options.temperature = 0.0;
  options.top_k = 0;
  options.top_p = 1.0;
  options.seed = 0;
  options.eos_ids = nullptr;
  options.num_eos_ids = 0;
}

static bool fail(Failure &failure, qrt_status status, const Twine &message) {
  failure.status = status;
  failure.message = message.str();
  return false;
}

//===----------------------------------------------------------------------===//
// Creation: options and the bundle's signature
//===----------------------------------------------------------------------===//

static bool checkOptions(const qrt_generate_options &o, Failure &failure) {
  auto bad = [&](const Twine &message) {
    return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                "qrt_generator_create: " + message);
  };
  if (o.max_new_tokens < 1)
    return bad("max_new_tokens is " + Twine(o.max_new_tokens) +
               "; it must be >= 1");
  if (!std::isfinite(o.temperature) || o.temperature < 0)
    return bad("temperature is " + std::to_string(o.temperature) +
               "; it must be a finite number >= 0 (0 is greedy)");
  if (o.top_k < 0)
    return bad("top_k is " + Twine(o.top_k) +
               "; it must be >= 0 (0 keeps every token)");
  if (!(o.top_p > 0 && o.top_p <= 1))
    return bad("top_p is " + std::to_string(o.top_p) +
               "; it must be in (0, 1] (1 keeps every token)");
  if (o.num_eos_ids < 0 || (o.num_eos_ids > 0 && !o.eos_ids))
    return bad("eos_ids is NULL or num_eos_ids (" + Twine(o.num_eos_ids) +
               ") is negative; pass num_eos_ids ids, or 0 for none");
  for (int64_t i = 0; i < o.num_eos_ids; ++i)
    if (o.eos_ids[i] < 0)
      return bad("eos_ids[" + Twine(i) + "] is " + Twine(o.eos_ids[i]) +
                 "; token ids are >= 0");
  return true;
}

static std::string namesOf(const std::vector<TensorSpec> &specs) {
  std::string names;
  for (const TensorSpec &spec : specs)
    names += (names.empty() ? "'" : ", '") + spec.name + "'";
  return names;
}

static int64_t findSpec(const std::vector<TensorSpec> &specs, StringRef name) {
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name)
      return i;
  return -1;
}

/// The present output name of past input `name`, or "" if `name` is not a
/// past cache.
static std::string presentName(StringRef name) {
  for (StringRef prefix : {"past_key_values", "past"})
    if (name.starts_with(prefix) && name.size() > prefix.size())
      return ("present" + name.drop_front(prefix.size())).str();
  return "";
}

std::unique_ptr<qrt_generator> quantopt::runtime::createGenerator(
    qrt_bundle &bundle, const qrt_generate_options &options, Failure &failure) {
  if (!checkOptions(options, failure))
    return nullptr;
  auto bad = [&](const Twine &message) {
    fail(failure, QRT_ERROR_INPUT,
         bundle.path + ": cannot generate with this bundle: " + message);
    return nullptr;
  };
  auto gen = std::make_unique<qrt_generator>();
  gen->bundle = &bundle;
  gen->options = options;
  gen->eosIds.assign(options.eos_ids, options.eos_ids + options.num_eos_ids);
  gen->options.eos_ids = gen->eosIds.data();
  gen->rng.seed(options.seed);

  int64_t ids = findSpec(bundle.inputs, "input_ids");
  if (ids < 0 || bundle.inputs[ids].dtype != QRT_DTYPE_INT64 ||
      bundle.inputs[ids].shape.size() != 2)
    return bad("it needs an int64 input 'input_ids' [batch, seq] (its "
               "inputs: " +
               namesOf(bundle.inputs) +
               "); generation drives causal language models exported with "
               "that input");
  gen->idsInput = ids;
  int64_t logits = findSpec(bundle.outputs, "logits");
  if (logits < 0 || bundle.outputs[logits].dtype != QRT_DTYPE_FLOAT32 ||
      (bundle.outputs[logits].shape.size() != 2 &&
       bundle.outputs[logits].shape.size() != 3))
    return bad("it needs a float32 output 'logits' [batch, seq, vocab] or "
               "[batch, vocab] (its outputs: " +
               namesOf(bundle.outputs) +
               "); compile a causal language model, not an encoder");
  gen->logitsOutput = logits;
  if (bundle.outputs[logits].shape.back() >= 0)
    gen->staticVocab = bundle.outputs[logits].shape.back();

  for (size_t i = 0; i < bundle.inputs.size(); ++i) {
    const TensorSpec &spec = bundle.inputs[i];
    if (!spec.shape.empty() && spec.shape[0] >= 0 && spec.shape[0] != 1)
      return bad("input '" + spec.name + "' has a static batch of " +
                 Twine(spec.shape[0]) +
                 "; the generator runs batch 1: export with a dynamic or "
                 "unit batch");
    if (static_cast<int64_t>(i) == ids)
      continue;
    if (spec.name == "attention_mask" || spec.name == "position_ids") {
      if (spec.dtype != QRT_DTYPE_INT64 || spec.shape.size() != 2)
        return bad("input '" + spec.name + "' is " + dtypeName(spec.dtype) +
                   " " + formatShape(spec.shape) +
                   "; the generator feeds it as int64 [batch, seq]");
      (spec.name == "attention_mask" ? gen->maskInput : gen->positionsInput) =
          i;
      continue;
    }
    std::string present = presentName(spec.name);
    if (present.empty())
      return bad("input '" + spec.name +
                 "' is neither input_ids, attention_mask, position_ids nor a "
                 "past cache (a name starting with 'past' whose output "
                 "starts with 'present'); the generator cannot feed it");
    int64_t out = findSpec(bundle.outputs, present);
    if (out < 0)
      return bad("past input '" + spec.name + "' has no output '" + present +
                 "' to feed it from (its outputs: " + namesOf(bundle.outputs) +
                 ")");
    const TensorSpec &outSpec = bundle.outputs[out];
    if (outSpec.dtype != spec.dtype ||
        outSpec.shape.size() != spec.shape.size())
      return bad("past input '" + spec.name + "' (" + dtypeName(spec.dtype) +
                 " " + formatShape(spec.shape) + ") and its output '" +
                 present + "' (" + dtypeName(outSpec.dtype) + " " +
                 formatShape(outSpec.shape) + ") differ in dtype or rank");
    KvPair pair{i, static_cast<size_t>(out), 0};
    int dynamic = 0;
    for (size_t d = 1; d < spec.shape.size(); ++d)
      if (spec.shape[d] < 0) {
        pair.seqAxis = d;
        ++dynamic;
      }
    if (dynamic != 1)
      return bad("past input '" + spec.name + "' " + formatShape(spec.shape) +
                 " has " + Twine(dynamic) +
                 " dynamic dims besides the batch; the generator needs "
                 "exactly one, the sequence axis, and static heads and head "
                 "size");
    gen->kv.push_back(pair);
  }
  gen->stats.uses_kv_cache = gen->kv.empty() ? 0 : 1;
  return gen;
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

/// Picks the next token from one row of logits (see Runtime.h).
static bool sample(qrt_generator &gen, const float *logits, int64_t vocab,
                   int64_t &token, std::string &error) {
  for (int64_t i = 0; i < vocab; ++i)
    if (std::isnan(logits[i])) {
      error = ("the logits of token id " + Twine(i) +
               " are NaN; the model's numerics broke down (check the "
               "quantization scheme)")
                  .str();
      return false;
    }
  const qrt_generate_options &o = gen.options;
  if (o.temperature == 0 || o.top_k == 1) {
    token = std::max_element(logits, logits + vocab) - logits;
    return true;
  }
  int64_t keep = o.top_k > 0 ? std::min<int64_t>(o.top_k, vocab) : vocab;
  std::vector<int32_t> &order = gen.order;
  order.resize(vocab);
  std::iota(order.begin(), order.end(), 0);
  auto larger = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  if (keep < vocab)
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), larger);
  float top = keep < vocab ? logits[order[0]]
                           : *std::max_element(logits, logits + vocab);
  // Unnormalized softmax weight of a logit, in float64.
  auto weight = [&](float logit) {
    if (std::isinf(top) && top > 0)
      return logit == top ? 1.0 : 0.0;
    return std::exp((static_cast<double>(logit) - top) / o.temperature);
  };
  std::vector<double> &probs = gen.probs;
  double total = 0;
  for (int64_t i = 0; i < keep; ++i)
    total += weight(logits[order[i]]);
  if (o.top_p < 1 && keep == vocab) {
    // The nucleus is usually a small part of a large vocabulary: sort
    // growing prefixes until one holds top_p of the mass rather than
    // sorting everything (the same order, as the comparison is total).
    for (int64_t k = std::min<int64_t>(64, vocab);;
         k = std::min<int64_t>(4 * k, vocab)) {
      std::partial_sort(order.begin(), order.begin() + k, order.end(), larger);
      double mass = 0;
      for (int64_t i = 0; i < k; ++i)
        mass += weight(logits[order[i]]);
      keep = k;
      if (mass >= o.top_p * total || k == vocab)
        break;
    }
  }
  probs.resize(keep);
  for (int64_t i = 0; i < keep; ++i)
    probs[i] = weight(logits[order[i]]);
  if (o.top_p < 1) {
    double mass = 0;
    int64_t n = 0;
    while (n < keep) {
      mass += probs[n++];
      if (mass >= o.top_p * total)
        break;
    }
    keep = n;
    total = mass;
  }
  double u = static_cast<double>(gen.rng() >> 11) * 0x1.0p-53;
  double target = u * total;
  double acc = 0;
  int64_t pick = -1;
  for (int64_t i = 0; i < keep; ++i) {
    if (probs[i] <= 0)
      continue;
    pick = i;
    acc += probs[i];
    if (acc > target)
      break;
  }
  token = order[pick < 0 ? 0 : pick];
  return true;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// Runs the model on the tokens not cached yet (all of them without caches)
/// and samples the next token, which is appended to gen.tokens.
static bool runAndSample(qrt_generator &gen, int64_t &token, Failure &failure) {
  const qrt_bundle &bundle = *gen.bundle;
  bool useKv = !gen.kv.empty();
  int64_t past = useKv ? gen.cached : 0;
  int64_t total = gen.tokens.size();
  int64_t fresh = total - past;
  const int64_t *freshIds = gen.tokens.data() + past;
  auto where = [&]() {
    return (bundle.path + ": generation at sequence length " + Twine(total) +
            ": ")
        .str();
  };

  size_t count = bundle.inputs.size();
  std::vector<qrt_tensor> inputs(count);
  std::vector<SmallVector<int64_t, 4>> shapes(count);
  std::vector<int64_t> mask, positions;
  static const int64_t kEmpty = 0;

  shapes[gen.idsInput] = {1, fresh};
  inputs[gen.idsInput] = {QRT_DTYPE_INT64, 2, nullptr, freshIds};
  if (gen.maskInput >= 0) {
    mask.assign(total, 1);
    shapes[gen.maskInput] = {1, total};
    inputs[gen.maskInput] = {QRT_DTYPE_INT64, 2, nullptr, mask.data()};
  }
  if (gen.positionsInput >= 0) {
    positions.resize(fresh);
    std::iota(positions.begin(), positions.end(), past);
    shapes[gen.positionsInput] = {1, fresh};
    inputs[gen.positionsInput] = {QRT_DTYPE_INT64, 2, nullptr,
                                  positions.data()};
  }
  for (const KvPair &pair : gen.kv) {
    const TensorSpec &spec = bundle.inputs[pair.input];
    qrt_tensor &tensor = inputs[pair.input];
    SmallVector<int64_t, 4> &shape = shapes[pair.input];
    tensor.dtype = spec.dtype;
    tensor.rank = spec.shape.size();
    if (!gen.last) {
      shape.assign(spec.shape.begin(), spec.shape.end());
      shape[0] = 1;
      shape[pair.seqAxis] = 0;
      tensor.data = &kEmpty;
      continue;
    }
    const QrtResultOutput &present = gen.last->outputs[pair.output];
    shape.assign(present.shape.begin(), present.shape.end());
    if (shape.size() != spec.shape.size() || shape[pair.seqAxis] != past)
      return fail(failure, QRT_ERROR_MODEL_OUTPUT,
                  where() + "output '" + present.name + "' has shape " +
                      formatShape(shape) + ", but its sequence axis " +
                      Twine(pair.seqAxis) + " should hold the " + Twine(past) +
                      " cached tokens; the model's present/past pairing is "
                      "not the one the generator assumes (docs/Runtime.md)");
    tensor.data = present.data;
  }
  for (size_t i = 0; i < count; ++i)
    inputs[i].shape = shapes[i].data();

  std::unique_ptr<qrt_result, ResultDeleter> result(
      runBundle(bundle, inputs.data(), count, failure).release());
  if (!result) {
    failure.message = where() + failure.message;
    return false;
  }
  const QrtResultOutput &logits = result->outputs[gen.logitsOutput];
  int64_t rank = logits.shape.size();
  int64_t vocab = rank ? logits.shape.back() : 0;
  bool ok = (rank == 3 && logits.shape[0] == 1 &&
             (logits.shape[1] == fresh || logits.shape[1] == 1)) ||
            (rank == 2 && logits.shape[0] == 1);
  if (!ok || vocab < 1)
    return fail(failure, QRT_ERROR_MODEL_OUTPUT,
                where() + "output 'logits' has shape " +
                    formatShape(logits.shape) + " for " + Twine(fresh) +
                    " input tokens; expected [1, " + Twine(fresh) +
                    ", vocab] or [1, vocab]");
  if (!gen.started) {
    for (int64_t id : gen.tokens)
      if (id >= vocab)
        return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                    bundle.path + ": prompt token id " + Twine(id) +
                        " is outside the vocabulary [0, " + Twine(vocab) +
                        "); use the model's own tokenizer");
  }
  const float *row = static_cast<const float *>(logits.data) +
                     (rank == 3 ? (logits.shape[1] - 1) * vocab : 0);
  std::string error;
  auto sampleStart = std::chrono::steady_clock::now();
  if (!sample(gen, row, vocab, token, error))
    return fail(failure, QRT_ERROR_MODEL_OUTPUT, where() + error);
  gen.stats.sample_ms += std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - sampleStart)
                             .count();
  gen.cached = total;
  gen.last = std::move(result);
  gen.tokens.push_back(token);
  return true;
}

using Clock = std::chrono::steady_clock;

static double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

bool quantopt::runtime::generatorPrefill(qrt_generator &gen,
                                         const int64_t *prompt,
                                         int64_t promptLen, int64_t &token,
                                         Failure &failure) {
  if (promptLen < 1 || !prompt)
    return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                "qrt_generator_prefill: the prompt is empty or NULL "
                "(length " +
                    Twine(promptLen) + "); pass at least one token id");
  for (int64_t i = 0; i < promptLen; ++i)
    if (prompt[i] < 0 || (gen.staticVocab >= 0 && prompt[i] >= gen.staticVocab))
      return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                  gen.bundle->path + ": prompt token " + Twine(i) + " is " +
                      Twine(prompt[i]) + ", outside the vocabulary [0, " +
                      (gen.staticVocab >= 0 ? std::to_string(gen.staticVocab)
                                            : std::string("vocab")) +
                      "); use the model's own tokenizer");
  gen.tokens.assign(prompt, prompt + promptLen);
  gen.cached = 0;
  gen.last.reset();
  gen.started = false;
  gen.rng.seed(gen.options.seed);
  int32_t usesKv = gen.stats.uses_kv_cache;
  gen.stats = qrt_generate_stats{};
  gen.stats.uses_kv_cache = usesKv;
  gen.stats.prompt_tokens = promptLen;
  Clock::time_point start = Clock::now();
  if (!runAndSample(gen, token, failure)) {
    gen.tokens.clear();
    return false;
  }
  gen.started = true;
  gen.stats.prefill_ms = msSince(start);
  gen.stats.generated_tokens = 1;
  return true;
}

bool quantopt::runtime::generatorStep(qrt_generator &gen, int64_t &token,
                                      Failure &failure) {
  if (!gen.started)
    return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                "qrt_generator_step: no sequence: call qrt_generator_prefill "
                "(or qrt_generator_generate) first");
  Clock::time_point start = Clock::now();
  if (!runAndSample(gen, token, failure))
    return false;
  gen.stats.decode_ms += msSince(start);
  ++gen.stats.decode_steps;
  ++gen.stats.generated_tokens;
  return true;
}

bool quantopt::runtime::generatorGenerate(
    qrt_generator &gen, const int64_t *prompt, int64_t promptLen,
    qrt_token_callback callback, void *userData, int64_t *tokens,
    int64_t capacity, int64_t &count, Failure &failure) {
  int64_t maxNew = gen.options.max_new_tokens;
  if (tokens && capacity < maxNew)
    return fail(failure, QRT_ERROR_INVALID_ARGUMENT,
                "qrt_generator_generate: the tokens buffer holds " +
                    Twine(capacity) + " ids, fewer than max_new_tokens (" +
                    Twine(maxNew) + "); pass a larger buffer or NULL");
  count = 0;
  int64_t token = 0;
  if (!generatorPrefill(gen, prompt, promptLen, token, failure))
    return false;
  while (true) {
    if (tokens)
      tokens[count] = token;
    ++count;
    bool stop = callback && callback(userData, token) != 0;
    if (std::find(gen.eosIds.begin(), gen.eosIds.end(), token) !=
        gen.eosIds.end()) {
      gen.stats.stop_reason = QRT_STOP_EOS;
      return true;
    }
    if (stop) {
      gen.stats.stop_reason = QRT_STOP_CALLBACK;
      return true;
    }
    if (count >= maxNew) {
      gen.stats.stop_reason = QRT_STOP_MAX_NEW_TOKENS;
      return true;
    }
    if (!generatorStep(gen, token, failure))
      return false;
  }
}
