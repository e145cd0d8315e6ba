"""Text generation with a causal language model bundle.

The decode loop runs in libquantrt (qrt_generator_* of
include/quantopt-c/Runtime.h): token ids in, token ids out, the model's
past/present caches fed from one step to the next inside the runtime. This
module wraps it and adds tokenization with the `tokenizers` package
(a tokenizer.json):

    from quantopt.generation import generate
    res = generate("gemma.qob", "The capital of France is",
                   tokenizer="tokenizer.json", max_new_tokens=32,
                   stream=lambda token, text: print(text, end=""))
    res.tokens, res.text, res.stats["decode_tokens_per_s"]

    python -m quantopt generate BUNDLE --tokenizer tokenizer.json \\
        --prompt "..." [--max-new-tokens N] [--temperature T] [--top-k K]
        [--top-p P] [--seed S] [--eos-id ID ...]

temperature 0 is greedy; otherwise temperature, top-k and top-p (nucleus)
sampling with the runtime's seeded generator (std::mt19937_64): the same
seed gives the same tokens.
"""

import ctypes
import json
import os

import numpy as np

from .runtime import (TOKEN_CALLBACK, Bundle, GenerateOptions, GenerateStats,
                      QuantOptError, _check, _OwnedHandle)

__all__ = ["Generator", "GenerateResult", "generate", "load_tokenizer",
           "eos_ids_for"]

STOP_REASONS = {0: "none", 1: "max_new_tokens", 2: "eos", 3: "callback"}


def load_tokenizer(tokenizer):
    """A tokenizers.Tokenizer from a tokenizer.json path (or as given)."""
    if not isinstance(tokenizer, (str, os.PathLike)):
        return tokenizer
    path = os.fspath(tokenizer)
    if not os.path.isfile(path):
        raise QuantOptError(
            "QRT_ERROR_IO", f"tokenizer file '{path}' not found: pass the "
            "model's tokenizer.json (Hugging Face format)")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise QuantOptError(
            "QRT_ERROR_IO", "the 'tokenizers' package is not installed: "
            "pip install tokenizers (or pass token ids instead of text)"
        ) from None
    try:
        return Tokenizer.from_file(path)
    except Exception as e:  # the package raises plain Exceptions
        raise QuantOptError(
            "QRT_ERROR_IO", f"tokenizer file '{path}' cannot be read by "
            f"tokenizers ({e}); pass a Hugging Face tokenizer.json") from None


def eos_ids_for(tokenizer_path):
    """EOS ids from the generation_config.json (else config.json) next to
    `tokenizer_path`, or [] when neither names any."""
    folder = os.path.dirname(os.path.abspath(os.fspath(tokenizer_path)))
    for name in ("generation_config.json", "config.json"):
        try:
            with open(os.path.join(folder, name)) as f:
                eos = json.load(f).get("eos_token_id")
        except (OSError, ValueError):
            continue
        if eos is not None:
            return [int(e) for e in (eos if isinstance(eos, list) else [eos])]
    return []


def _check_options(max_new_tokens, temperature, top_k, top_p):
    """Python-side checks with the CLI's wording (the runtime checks too)."""
    problems = []
    if int(max_new_tokens) < 1:
        problems.append(f"max_new_tokens is {max_new_tokens}; it must be "
                        ">= 1")
    if not (float(temperature) >= 0 and np.isfinite(float(temperature))):
        problems.append(f"temperature is {temperature}; it must be >= 0 "
                        "(0 is greedy)")
    if int(top_k) < 0:
        problems.append(f"top_k is {top_k}; it must be >= 0 (0 keeps every "
                        "token)")
    if not 0 < float(top_p) <= 1:
        problems.append(f"top_p is {top_p}; it must be in (0, 1]")
    return problems


class GenerateResult:
    """tokens (generated ids, EOS included), text (decoded, when a tokenizer
    was given, else None), stop_reason ("max_new_tokens", "eos",
    "callback") and stats (dict, see Generator.stats)."""

    def __init__(self, tokens, text, stats):
        self.tokens, self.text, self.stats = tokens, text, stats
        self.stop_reason = stats["stop_reason"]

    def __repr__(self):
        return (f"GenerateResult(tokens={self.tokens}, text={self.text!r}, "
                f"stop_reason={self.stop_reason!r})")


class Generator(_OwnedHandle):
    """A qrt_generator over a Bundle: the C decode loop with fixed options."""

    _FREE = "qrt_generator_free"

    def __init__(self, bundle, max_new_tokens=64, temperature=0.0, top_k=0,
                 top_p=1.0, seed=0, eos_ids=()):
        self.bundle = bundle
        self._lib = bundle._lib
        self._handle = None
        bundle._require_open()
        self._eos = (ctypes.c_int64 * max(len(eos_ids), 1))(*eos_ids)
        opts = GenerateOptions()
        self._lib.qrt_generate_options_init(ctypes.byref(opts))
        opts.max_new_tokens = int(max_new_tokens)
        opts.temperature = float(temperature)
        opts.top_k = int(top_k)
        opts.top_p = float(top_p)
        opts.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        opts.eos_ids = self._eos
        opts.num_eos_ids = len(eos_ids)
        self.max_new_tokens = opts.max_new_tokens
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.qrt_generator_create(
            bundle._handle, ctypes.byref(opts), ctypes.byref(handle)))
        self._handle = handle

    @staticmethod
    def _ids(prompt_ids):
        ids = np.ascontiguousarray(np.asarray(prompt_ids).reshape(-1),
                                   dtype=np.int64)
        return ids, ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))

    def prefill(self, prompt_ids):
        """Runs the prompt on empty caches; returns the first token."""
        ids, ptr = self._ids(prompt_ids)
        token = ctypes.c_int64()
        _check(self._lib, self._lib.qrt_generator_prefill(
            self._handle, ptr, ids.size, ctypes.byref(token)))
        return token.value

    def step(self):
        """Feeds the last token; returns the next."""
        token = ctypes.c_int64()
        _check(self._lib, self._lib.qrt_generator_step(
            self._handle, ctypes.byref(token)))
        return token.value

    def generate(self, prompt_ids, callback=None):
        """The whole loop in C; `callback(token)` is called with each new
        token (a true return value stops). Returns the generated ids."""
        ids, ptr = self._ids(prompt_ids)
        out = (ctypes.c_int64 * self.max_new_tokens)()
        count = ctypes.c_int64()
        error = []

        def trampoline(_user, token):
            try:
                return 1 if callback(token) else 0
            except BaseException as e:  # re-raised after the C loop
                error.append(e)
                return 1

        c_callback = TOKEN_CALLBACK(trampoline) if callback else \
            TOKEN_CALLBACK()
        status = self._lib.qrt_generator_generate(
            self._handle, ptr, ids.size, c_callback, None, out,
            self.max_new_tokens, ctypes.byref(count))
        if error:
            raise error[0]
        _check(self._lib, status)
        return list(out[:count.value])

    def stats(self):
        """Statistics of the last sequence: prompt_tokens, generated_tokens,
        prefill_ms, decode_ms, decode_steps, sample_ms (of the two
        before), prefill_tokens_per_s,
        decode_tokens_per_s, uses_kv_cache, stop_reason."""
        raw = GenerateStats()
        _check(self._lib, self._lib.qrt_generator_stats(
            self._handle, ctypes.byref(raw)))
        s = {f: getattr(raw, f) for f, _ in GenerateStats._fields_}
        s["uses_kv_cache"] = bool(s["uses_kv_cache"])
        s["stop_reason"] = STOP_REASONS.get(s["stop_reason"], "none")
        s["prefill_tokens_per_s"] = (s["prompt_tokens"] * 1e3 /
                                     s["prefill_ms"]
                                     if s["prefill_ms"] > 0 else 0.0)
        s["decode_tokens_per_s"] = (s["decode_steps"] * 1e3 / s["decode_ms"]
                                    if s["decode_ms"] > 0 else 0.0)
        return s


class _TextStream:
    """Turns generated ids into text pieces as they come: the decoded text
    of all ids so far, minus what was already emitted; a piece that ends
    in an incomplete character (U+FFFD) waits for the next token."""

    def __init__(self, tokenizer, emit):
        self.tokenizer, self.emit = tokenizer, emit
        self.ids, self.done = [], 0

    def __call__(self, token):
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return self.emit(token, "")
        piece, self.done = text[self.done:], len(text)
        return self.emit(token, piece)


def generate(bundle, prompt, tokenizer=None, max_new_tokens=64,
             temperature=0.0, top_k=0, top_p=1.0, seed=0, eos_ids=None,
             stream=None, library=None):
    """Generates from `prompt` with `bundle` (a Bundle or a .qob path).

    prompt: text (needs `tokenizer`: a tokenizer.json path or a
    tokenizers.Tokenizer) or a sequence of token ids. eos_ids: the ids that
    stop generation; None takes them from the generation_config.json next
    to a tokenizer path (none otherwise). stream(token, text_piece) is
    called with each new token (text_piece is "" without a tokenizer); a
    true return value stops. Returns a GenerateResult.
    """
    problems = _check_options(max_new_tokens, temperature, top_k, top_p)
    if problems:
        raise QuantOptError("QRT_ERROR_INVALID_ARGUMENT", "; ".join(problems))
    tok = load_tokenizer(tokenizer) if tokenizer is not None else None
    if isinstance(prompt, str):
        if tok is None:
            raise QuantOptError(
                "QRT_ERROR_INVALID_ARGUMENT", "a text prompt needs a "
                "tokenizer (tokenizer='tokenizer.json'); or pass token ids")
        ids = tok.encode(prompt).ids
    else:
        ids = [int(i) for i in np.asarray(prompt).reshape(-1)]
    if not ids:
        raise QuantOptError("QRT_ERROR_INVALID_ARGUMENT",
                            "the prompt has no tokens")
    if eos_ids is None:
        eos_ids = (eos_ids_for(tokenizer)
                   if isinstance(tokenizer, (str, os.PathLike)) else [])
    own = not isinstance(bundle, Bundle)
    b = Bundle(bundle, library=library) if own else bundle
    try:
        with Generator(b, max_new_tokens, temperature, top_k, top_p, seed,
                       list(eos_ids)) as gen:
            callback = None
            if stream is not None:
                callback = (_TextStream(tok, stream) if tok is not None else
                            (lambda token: stream(token, "")))
            tokens = gen.generate(ids, callback)
            stats = gen.stats()
    finally:
        if own:
            b.close()
    text = (tok.decode(tokens, skip_special_tokens=True)
            if tok is not None else None)
    return GenerateResult(tokens, text, stats)
