/*===- generate_capi.c - qrt_generator from C: errors and stops -----------===*\
|*                                                                            *|
|* Part of the QuantOpt project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Drives the decode loop of include/quantopt-c/Runtime.h from plain C, as a  *|
|* C user would: every user error of the qrt_generator_* functions gives its  *|
|* status and a message naming what is wrong, and the loop's stops (max new   *|
|* tokens, EOS, callback) and step-by-step use agree with qrt_generator_      *|
|* generate. Run by check_generate.py:                                        *|
|*   generate_capi LM.qob NO_LOGITS.qob NO_INPUT_IDS.qob VOCAB                *|
|* Prints one line per check; exits 1 if any failed.                          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "quantopt-c/Runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok)
    ++failures;
}

/* The call failed with `status` and its message contains `needle`. */
static void expect_error(qrt_status got, qrt_status want, const char *needle,
                         const char *what) {
  const char *message = qrt_last_error();
  int ok = got == want && strstr(message, needle) != NULL;
  printf("%s: %s -> %s: %s\n", ok ? "ok" : "FAIL", what, qrt_status_name(got),
         message);
  if (!ok)
    ++failures;
}

static qrt_status make(qrt_bundle *bundle, qrt_generate_options *options,
                       qrt_generator **generator) {
  *generator = NULL;
  return qrt_generator_create(bundle, options, generator);
}

static int32_t stop_after_three(void *user_data, int64_t token) {
  int *seen = (int *)user_data;
  (void)token;
  return ++*seen >= 3;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s LM.qob NO_LOGITS.qob NO_INPUT_IDS.qob VOCAB\n",
            argv[0]);
    return 2;
  }
  int64_t vocab = atoll(argv[4]);
  qrt_bundle *lm = NULL, *no_logits = NULL, *no_ids = NULL;
  if (qrt_bundle_load(argv[1], &lm) != QRT_OK ||
      qrt_bundle_load(argv[2], &no_logits) != QRT_OK ||
      qrt_bundle_load(argv[3], &no_ids) != QRT_OK) {
    fprintf(stderr, "cannot load a bundle: %s\n", qrt_last_error());
    return 2;
  }
  qrt_generate_options options;
  qrt_generator *gen = NULL;

  /* Bad arguments and options. */
  expect_error(qrt_generator_create(NULL, NULL, &gen),
               QRT_ERROR_INVALID_ARGUMENT, "NULL bundle", "NULL bundle");
  qrt_generate_options_init(&options);
  check(options.max_new_tokens == 64 && options.temperature == 0 &&
            options.top_k == 0 && options.top_p == 1 &&
            options.num_eos_ids == 0,
        "qrt_generate_options_init gives the documented defaults");
  options.max_new_tokens = 0;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT,
               "max_new_tokens is 0", "max_new_tokens 0");
  qrt_generate_options_init(&options);
  options.temperature = -1;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT,
               "temperature", "temperature -1");
  options.temperature = NAN;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT,
               "temperature", "temperature NaN");
  qrt_generate_options_init(&options);
  options.top_k = -2;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT,
               "top_k is -2", "top_k -2");
  qrt_generate_options_init(&options);
  options.top_p = 0;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT, "top_p",
               "top_p 0");
  options.top_p = 1.5;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT, "top_p",
               "top_p 1.5");
  qrt_generate_options_init(&options);
  options.num_eos_ids = 2;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT, "eos_ids",
               "eos_ids NULL with num_eos_ids 2");
  int64_t negative = -3;
  options.eos_ids = &negative;
  options.num_eos_ids = 1;
  expect_error(make(lm, &options, &gen), QRT_ERROR_INVALID_ARGUMENT,
               "eos_ids[0] is -3", "a negative EOS id");

  /* Bundles that are not causal LMs. */
  qrt_generate_options_init(&options);
  expect_error(make(no_logits, &options, &gen), QRT_ERROR_INPUT,
               "output 'logits'", "a bundle without a logits output");
  expect_error(make(no_ids, &options, &gen), QRT_ERROR_INPUT,
               "input 'input_ids'", "a bundle without input_ids");

  /* Bad calls on a good generator. */
  options.max_new_tokens = 8;
  if (make(lm, &options, &gen) != QRT_OK) {
    printf("FAIL: qrt_generator_create on the LM: %s\n", qrt_last_error());
    return 1;
  }
  int64_t token = -1;
  expect_error(qrt_generator_step(gen, &token), QRT_ERROR_INVALID_ARGUMENT,
               "prefill", "a step before any prefill");
  int64_t prompt[5] = {3, 17, 42, 9, 100};
  expect_error(qrt_generator_prefill(gen, prompt, 0, &token),
               QRT_ERROR_INVALID_ARGUMENT, "empty", "an empty prompt");
  int64_t bad_prompt[2] = {3, -1};
  expect_error(qrt_generator_prefill(gen, bad_prompt, 2, &token),
               QRT_ERROR_INVALID_ARGUMENT, "prompt token 1 is -1",
               "a negative prompt id");
  bad_prompt[1] = vocab;
  expect_error(qrt_generator_prefill(gen, bad_prompt, 2, &token),
               QRT_ERROR_INVALID_ARGUMENT, "outside the vocabulary",
               "a prompt id == vocab");
  int64_t tokens[8], count = 0;
  expect_error(
      qrt_generator_generate(gen, prompt, 5, NULL, NULL, tokens, 4, &count),
      QRT_ERROR_INVALID_ARGUMENT, "fewer than max_new_tokens",
      "a tokens buffer smaller than max_new_tokens");

  /* The loop and the steps agree; the stops. */
  qrt_status status =
      qrt_generator_generate(gen, prompt, 5, NULL, NULL, tokens, 8, &count);
  qrt_generate_stats stats;
  qrt_generator_stats(gen, &stats);
  check(status == QRT_OK && count == 8 &&
            stats.stop_reason == QRT_STOP_MAX_NEW_TOKENS &&
            stats.generated_tokens == 8 && stats.decode_steps == 7 &&
            stats.prompt_tokens == 5 && stats.uses_kv_cache == 1,
        "generate: 8 tokens, stopped by max_new_tokens, 7 decode steps, "
        "KV cache used");
  printf("tokens:");
  for (int64_t i = 0; i < count; ++i)
    printf(" %lld", (long long)tokens[i]);
  printf("\n");
  int same = qrt_generator_prefill(gen, prompt, 5, &token) == QRT_OK &&
             token == tokens[0];
  for (int i = 1; i < 8 && same; ++i)
    same = qrt_generator_step(gen, &token) == QRT_OK && token == tokens[i];
  check(same, "prefill + 7 steps give the same tokens as generate");
  int seen = 0;
  status = qrt_generator_generate(gen, prompt, 5, stop_after_three, &seen, NULL,
                                  0, &count);
  qrt_generator_stats(gen, &stats);
  check(status == QRT_OK && count == 3 && seen == 3 &&
            stats.stop_reason == QRT_STOP_CALLBACK,
        "a callback returning nonzero at the third token stops there");
  qrt_generator_free(gen);

  int64_t eos = tokens[3];
  int64_t first = 0;
  while (tokens[first] != eos)
    ++first;
  options.eos_ids = &eos;
  options.num_eos_ids = 1;
  if (make(lm, &options, &gen) == QRT_OK) {
    status =
        qrt_generator_generate(gen, prompt, 5, NULL, NULL, tokens, 8, &count);
    qrt_generator_stats(gen, &stats);
    check(status == QRT_OK && count == first + 1 &&
              stats.stop_reason == QRT_STOP_EOS && tokens[first] == eos,
          "an EOS id stops generation after the EOS token (included)");
  } else {
    check(0, "qrt_generator_create with an EOS id");
  }
  qrt_generator_free(gen);
  qrt_generator_free(NULL);
  qrt_bundle_free(lm);
  qrt_bundle_free(no_logits);
  qrt_bundle_free(no_ids);
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
