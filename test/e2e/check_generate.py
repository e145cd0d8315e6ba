#!/usr/bin/env python3
"""Checks text generation through the runtime's decode loop (qrt_generator).

The tiny random-weight LLM exports of test/models/tiny are compiled with
--scheme float and driven by the C loop (libquantrt's qrt_generator_*,
through python-bindings/quantopt/generation.py); onnxruntime, run by an
independent greedy loop here on the same ONNX file, is the reference:

  greedy     16 tokens from a 5-token prompt, token for token equal to
             onnxruntime's, for every KV export (the runtime feeds present
             -> past itself) and for two no-cache exports (the loop re-runs
             the whole sequence). A difference is only excused where
             onnxruntime's top-2 logit gap along the way is within 2x the
             2e-4 logits tolerance of check_tiny_llms.py (a tie);
  sampling   the same seed gives the same tokens; top_k=1 equals greedy;
             over 2000 seeds, the first sampled token lies in onnxruntime's
             top-k set (top_k=5) or nucleus (top_p=0.6), and each token's
             frequency is within 4.5 binomial standard deviations (plus
             0.005) of its probability under onnxruntime's logits (softmax
             of logits / temperature, renormalized over the set);
  C API      test/e2e/generate_capi.c: every user error's status and
             message, the stops (max new tokens, EOS, callback) and
             prefill + steps == generate; toy bundles the generator must
             refuse (static batch 2, an int32 attention_mask, an unknown
             input, a past without its present, a past/present rank
             mismatch, two dynamic dims in a past, a present that does not
             grow by the new tokens, logits of another length
             than the input, NaN logits), each with its message;
  CLI        python -m quantopt generate with a WordLevel tokenizer.json
             made here by the `tokenizers` package (skipped, saying so, when
             it is not installed): the tokens and text equal onnxruntime's
             greedy ones decoded by the same tokenizer, streaming prints the
             same text, --eos-id and generation_config.json stop at the EOS,
             and the user errors exit 1 (unusable tokenizer or bundle) or 2
             (bad option values) with a message saying what to fix.
"""

import json
import os
import subprocess
import sys

import numpy as np

import e2e_common as c

TINY = os.path.join(c.ROOT, "test", "models", "tiny")
ATOL = 2e-4
VOCAB = 256
KV_MODELS = ["llama_dynamo_kv.onnx", "qwen2_dynamo_kv.onnx",
             "qwen3_dynamo_kv.onnx", "mistral_dynamo_kv.onnx",
             "phi3_dynamo_kv.onnx", "gemma3_dynamo_kv.onnx"]
# gpt2_dynamo_kv.onnx is a known failure of check_tiny_llms.py (exported
# with a training-mode Dropout), so it is not a reference here.
FULL_MODELS = ["llama_dynamo.onnx", "gemma3_dynamo.onnx"]
PROMPT = np.array([3, 17, 42, 9, 100], np.int64)
N_NEW = 16


def ort_greedy(model, prompt, n):
    """onnxruntime's greedy tokens and its smallest top-2 logit gap."""
    sess = c.ort_session(model)
    inputs = {i.name: i for i in sess.get_inputs()}
    past = {}
    for name, info in inputs.items():
        if name.startswith("past"):
            shape = [1 if k == 0 else (d if isinstance(d, int) else 0)
                     for k, d in enumerate(info.shape)]
            past[name] = np.zeros(shape, np.float32)
    seq = list(prompt)
    cur = np.array([seq], np.int64)
    toks, gaps = [], []
    for _ in range(n):
        out = c.ort_run(sess, {"input_ids": cur, **past})
        last = out["logits"][0, -1].astype(np.float64)
        top2 = np.sort(last)[-2:]
        gaps.append(float(top2[1] - top2[0]))
        nxt = int(np.argmax(last))
        toks.append(nxt)
        seq.append(nxt)
        if past:
            past = {k.replace("present", "past", 1): v
                    for k, v in out.items() if k.startswith("present")}
            cur = np.array([[nxt]], np.int64)
        else:
            cur = np.array([seq], np.int64)
    return toks, min(gaps)


def ort_first_logits(model, prompt):
    sess = c.ort_session(model)
    feeds = {"input_ids": prompt.reshape(1, -1)}
    for i in sess.get_inputs():
        if i.name.startswith("past"):
            shape = [1 if k == 0 else (d if isinstance(d, int) else 0)
                     for k, d in enumerate(i.shape)]
            feeds[i.name] = np.zeros(shape, np.float32)
    return c.ort_run(sess, feeds)["logits"][0, -1].astype(np.float64)


def check_greedy(chk, name, qob, model, kv):
    from quantopt.generation import Generator
    ref, gap = ort_greedy(model, PROMPT, N_NEW)
    b = c.bundle(qob)
    with Generator(b, max_new_tokens=N_NEW) as g:
        got = g.generate(PROMPT)
        stats = g.stats()
    same = got == ref
    chk.check(same or gap <= 2 * ATOL,
              f"{name}: greedy {N_NEW} tokens {'equal' if same else 'DIFFER'}"
              f" (onnxruntime's smallest top-2 gap {gap:.2g}): {got}"
              + ("" if same else f" vs {ref}"))
    chk.check(stats["uses_kv_cache"] == kv and stats["generated_tokens"]
              == N_NEW and stats["decode_steps"] == N_NEW - 1 and
              stats["prompt_tokens"] == len(PROMPT) and
              0 <= stats["sample_ms"] <= stats["prefill_ms"] +
              stats["decode_ms"],
              f"{name}: stats {stats}")
    return b, ref


def check_sampling(chk, name, b, model, greedy):
    from quantopt.generation import Generator

    def run(seed, **kw):
        with Generator(b, max_new_tokens=N_NEW, seed=seed, **kw) as g:
            return g.generate(PROMPT)

    a = run(7, temperature=0.8, top_k=50, top_p=0.9)
    chk.check(a == run(7, temperature=0.8, top_k=50, top_p=0.9),
              f"{name}: the same seed gives the same sampled tokens {a}")
    seqs = {tuple(run(s, temperature=1.0)) for s in (1, 2, 3)}
    chk.check(len(seqs) > 1, f"{name}: seeds 1, 2, 3 give {len(seqs)} "
              "different sequences (more than one expected)")
    chk.check(run(5, temperature=1.5, top_k=1) == greedy,
              f"{name}: top_k=1 at temperature 1.5 equals greedy")

    logits = ort_first_logits(model, PROMPT)
    n = 2000
    for label, temp, kw in (("top_k=5", 0.7, {"top_k": 5}),
                            ("top_p=0.6", 1.0, {"top_p": 0.6})):
        z = logits / temp
        p = np.exp(z - z.max())
        p /= p.sum()
        order = np.argsort(-p, kind="stable")
        if "top_k" in kw:
            keep = order[:kw["top_k"]]
        else:
            cum = np.cumsum(p[order])
            keep = order[:int(np.searchsorted(cum, kw["top_p"] - 1e-9)) + 1]
        q = np.zeros_like(p)
        q[keep] = p[keep] / p[keep].sum()
        counts = np.zeros(VOCAB)
        for seed in range(n):
            with Generator(b, max_new_tokens=1, seed=seed, temperature=temp,
                           **kw) as g:
                counts[g.prefill(PROMPT)] += 1
        outside = int(counts[q == 0].sum())
        freq = counts / n
        dev = np.abs(freq - q) - (4.5 * np.sqrt(q * (1 - q) / n) + 0.005)
        chk.check(outside == 0 and dev.max() <= 0,
                  f"{name}: {label} temperature {temp}: {n} first tokens, "
                  f"{outside} outside the set of {len(keep)}, frequencies "
                  f"{np.round(freq[keep[:6]], 3).tolist()}... vs probabilities "
                  f"{np.round(q[keep[:6]], 3).tolist()}... (largest excess "
                  f"over the bound {dev[keep].max():.3g})")


def make_toys(w):
    """Bundles that are not causal LMs: no logits output; no input_ids."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    emb = np.random.default_rng(1).standard_normal((VOCAB, 8)).astype(
        np.float32)
    g1 = helper.make_graph(
        [helper.make_node("Gather", ["emb", "input_ids"], ["hidden"])],
        "encoder", [helper.make_tensor_value_info(
            "input_ids", TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT,
                                       [1, "seq", 8])],
        [numpy_helper.from_array(emb, "emb")])
    g2 = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["logits"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])])
    paths = []
    for g in (g1, g2):
        m = os.path.join(w, g.name + ".onnx")
        onnx.save(helper.make_model(
            g, opset_imports=[helper.make_opsetid("", 18)]), m)
        paths.append(m)
    return paths


def bad_bundles(w):
    """Bundles the generator must refuse, with what its message names:
    (model name, nodes, inputs, outputs, initializers, expected status,
    message fragment, failing call)."""
    from onnx import TensorProto as T, helper as h, numpy_helper
    emb = np.abs(np.random.default_rng(2).standard_normal(
        (VOCAB, VOCAB))).astype(np.float32)
    emb[7, 3] = -1.0  # Sqrt(-1) is NaN: token 7's logits
    ids = h.make_tensor_value_info("input_ids", T.INT64, [1, "seq"])
    logits = h.make_tensor_value_info("logits", T.FLOAT, [1, "seq", VOCAB])
    gather = h.make_node("Gather", ["emb", "input_ids"], ["logits"])
    init = [numpy_helper.from_array(emb, "emb"),
            numpy_helper.from_array(np.array([4], np.int64), "axes")]

    def past(name, dims):
        return h.make_tensor_value_info(name, T.FLOAT, dims)
    cases = [
        ("static_batch", [gather], [h.make_tensor_value_info(
            "input_ids", T.INT64, [2, "seq"])],
         [h.make_tensor_value_info("logits", T.FLOAT, [2, "seq", VOCAB])],
         "create", "static batch of 2"),
        ("int32_mask", [gather, h.make_node("Identity", ["attention_mask"],
                                            ["m"])],
         [ids, h.make_tensor_value_info("attention_mask", T.INT32,
                                        [1, "seq"])],
         [logits, h.make_tensor_value_info("m", T.INT32, [1, "seq"])],
         "create", "input 'attention_mask' is int32"),
        ("extra_input", [gather, h.make_node("Identity", ["temperature"],
                                             ["t"])],
         [ids, h.make_tensor_value_info("temperature", T.FLOAT, [1])],
         [logits, h.make_tensor_value_info("t", T.FLOAT, [1])],
         "create", "input 'temperature' is neither"),
        ("past_no_present", [gather, h.make_node("Identity", ["past_k"],
                                                 ["kept"])],
         [ids, past("past_k", [1, 2, "past", 4])],
         [logits, past("kept", [1, 2, "past", 4])],
         "create", "has no output 'present_k'"),
        ("past_rank", [gather, h.make_node("Unsqueeze", ["past_k", "axes"],
                                           ["present_k"])],
         [ids, past("past_k", [1, 2, "past", 4])],
         [logits, past("present_k", [1, 2, "past", 4, 1])],
         "create", "differ in dtype or rank"),
        ("past_two_dynamic", [gather, h.make_node("Identity", ["past_k"],
                                                  ["present_k"])],
         [ids, past("past_k", [1, "heads", "past", 4])],
         [logits, past("present_k", [1, "heads", "past", 4])],
         "create", "has 2 dynamic dims"),
        ("present_not_growing", [gather, h.make_node(
            "Identity", ["past_k"], ["present_k"])],
         [ids, past("past_k", [1, 2, "past", 4])],
         [logits, past("present_k", [1, 2, "past", 4])],
         "step", "should hold the 5 cached tokens"),
        ("doubled_logits", [h.make_node("Gather", ["emb", "input_ids"],
                                        ["g"]),
                            h.make_node("Concat", ["g", "g"], ["logits"],
                                        axis=1)],
         [ids], [h.make_tensor_value_info("logits", T.FLOAT,
                                          [1, "twice", VOCAB])],
         "prefill", "output 'logits' has shape [1, 10, 256] for 5"),
        ("nan_logits", [h.make_node("Gather", ["emb", "input_ids"], ["g"]),
                        h.make_node("Sqrt", ["g"], ["logits"])],
         [ids], [logits], "prefill", "are NaN"),
    ]
    import onnx
    out = []
    for name, nodes, inputs, outputs, call, needle in cases:
        used = {i for n in nodes for i in n.input}
        g = h.make_graph(nodes, name, inputs, outputs,
                         [t for t in init if t.name in used])
        m = os.path.join(w, f"bad_{name}.onnx")
        onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), m)
        out.append((name, m, call, needle))
    return out


def check_bad_bundles(chk, args, w):
    from quantopt.generation import Generator
    from quantopt.runtime import QuantOptError
    for name, model, call, needle in bad_bundles(w):
        qob = model.replace(".onnx", ".qob")
        r = c.compile_model(args.quant_compile, model, qob, "--scheme",
                            "float", check=False)
        if not chk.check(r.returncode == 0, f"{name} compiles"):
            continue
        b = c.bundle(qob)
        want = "QRT_ERROR_INPUT" if call == "create" else \
            "QRT_ERROR_MODEL_OUTPUT"
        try:
            with Generator(b, max_new_tokens=2) as g:
                prompt = [1, 2, 3, 4, 7] if name == "nan_logits" else \
                    [1, 2, 3, 4, 5]
                g.prefill(prompt)
                if call == "step":
                    g.step()
            status, message = "QRT_OK", ""
        except QuantOptError as e:
            status, message = e.status, str(e)
        chk.check(status == want and needle in message,
                  f"{name}: {call} fails with {status}: {message}")
        b.close()


def run_cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(c.ROOT, "python-bindings") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "quantopt", "generate",
                           *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)


def check_cli(chk, w, qob, model, no_logits_qob):
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
    except ImportError:
        c.log("  SKIP the CLI checks: the 'tokenizers' package is not "
              "installed (pip install tokenizers)")
        return
    tdir = os.path.join(w, "tok")
    os.makedirs(tdir)
    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(VOCAB)},
                                     unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tpath = os.path.join(tdir, "tokenizer.json")
    tok.save(tpath)
    prompt = "w3 w17 w42 w9 w100"
    ids = tok.encode(prompt).ids
    ref, gap = ort_greedy(model, np.array(ids, np.int64), 12)
    ref_text = tok.decode(ref)
    import quantopt
    pieces = []
    res = quantopt.generate(qob, prompt, tokenizer=tpath, max_new_tokens=12,
                            stream=lambda t, piece: pieces.append(piece))
    chk.check(res.tokens == ref and res.text == ref_text and
              "".join(pieces) == ref_text and res.stop_reason ==
              "max_new_tokens",
              f"quantopt.generate(path, text, tokenizer): tokens, text and "
              f"streamed pieces equal onnxruntime's: {pieces}")
    res = quantopt.generate(qob, ids, max_new_tokens=12)
    chk.check(res.tokens == ref and res.text is None,
              "quantopt.generate(path, token ids) without a tokenizer")
    r = run_cli(qob, "--tokenizer", tpath, "--prompt", prompt,
                "--max-new-tokens", "12", "--json")
    if chk.check(r.returncode == 0, f"CLI --json exits 0 {r.stderr.strip()}"):
        res = json.loads(r.stdout)
        chk.check(res["tokens"] == ref and res["text"] == ref_text,
                  f"CLI greedy tokens and text equal onnxruntime's decoded "
                  f"by the tokenizer: {res['text']!r}")
    r = run_cli(qob, "--tokenizer", tpath, "--prompt", prompt,
                "--max-new-tokens", "12")
    chk.check(r.returncode == 0 and r.stdout.rstrip("\n") == ref_text and
              "prefill: 5 tokens" in r.stderr and "decode: 11 tokens" in
              r.stderr and "tokens/s" in r.stderr,
              f"CLI streams the same text; stderr: {r.stderr.strip()}")
    eos = ref[4]
    first = ref.index(eos)
    r = run_cli(qob, "--tokenizer", tpath, "--prompt", prompt,
                "--max-new-tokens", "12", "--eos-id", str(eos), "--json")
    chk.check(r.returncode == 0 and json.loads(r.stdout)["tokens"] ==
              ref[:first + 1], f"CLI --eos-id {eos} stops after the EOS at "
              f"position {first}")
    with open(os.path.join(tdir, "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": [1000, eos]}, f)
    r = run_cli(qob, "--tokenizer", tpath, "--prompt", prompt,
                "--max-new-tokens", "12", "--json")
    chk.check(r.returncode == 0 and json.loads(r.stdout)["stop_reason"] ==
              "eos", "CLI takes eos_token_id from generation_config.json "
              "next to the tokenizer")

    errors = [
        ((qob, "--tokenizer", os.path.join(w, "nope.json"), "--prompt", "w1"),
         1, "tokenizer file"),
        ((qob, "--tokenizer", qob, "--prompt", "w1"), 1, "cannot be read"),
        ((qob, "--tokenizer", tpath, "--prompt", "w1", "--top-p", "0"), 2,
         "top_p is 0.0"),
        ((qob, "--tokenizer", tpath, "--prompt", "w1", "--temperature",
          "-1"), 2, "temperature is -1.0"),
        ((qob, "--tokenizer", tpath, "--prompt", "w1", "--max-new-tokens",
          "0"), 2, "max_new_tokens is 0"),
        ((qob, "--tokenizer", tpath, "--prompt", "w1", "--top-k", "-1"), 2,
         "top_k is -1"),
        ((no_logits_qob, "--tokenizer", tpath, "--prompt", "w1"), 1,
         "output 'logits'"),
        ((os.path.join(w, "missing.qob"), "--tokenizer", tpath, "--prompt",
          "w1"), 1, "missing.qob"),
    ]
    for args, code, needle in errors:
        r = run_cli(*args)
        chk.check(r.returncode == code and needle in r.stderr,
                  f"CLI error exits {code} naming '{needle}': exit "
                  f"{r.returncode}, {r.stderr.strip().splitlines()[-1:]}")


def main():
    p_extra = [a for a in sys.argv[1:] if a.startswith("--capi=")]
    sys.argv = [a for a in sys.argv if not a.startswith("--capi=")]
    args = c.parse_args(__doc__.splitlines()[0])
    chk = c.Checker("generate")
    w = args.work_dir
    qobs = {}
    for name in KV_MODELS + FULL_MODELS:
        qob = os.path.join(w, name.replace(".onnx", ".qob"))
        c.compile_model(args.quant_compile, os.path.join(TINY, name), qob,
                        "--scheme", "float")
        qobs[name] = qob
    greedy = {}
    bundles = {}
    for name in KV_MODELS + FULL_MODELS:
        bundles[name], greedy[name] = check_greedy(
            chk, name, qobs[name], os.path.join(TINY, name),
            name in KV_MODELS)
    for name in ("llama_dynamo_kv.onnx", "gemma3_dynamo.onnx"):
        check_sampling(chk, name, bundles[name], os.path.join(TINY, name),
                       greedy[name])

    no_logits, no_ids = make_toys(w)
    toy_qobs = []
    for m in (no_logits, no_ids):
        q = m.replace(".onnx", ".qob")
        c.compile_model(args.quant_compile, m, q, "--scheme", "float")
        toy_qobs.append(q)
    if p_extra:
        capi = p_extra[0].split("=", 1)[1]
        r = subprocess.run([capi, qobs["llama_dynamo_kv.onnx"], *toy_qobs,
                            str(VOCAB)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        for line in r.stdout.splitlines():
            c.log("    " + line)
        toks = [ln for ln in r.stdout.splitlines() if ln.startswith("tokens:")]
        chk.check(r.returncode == 0, f"the C API checks ({capi}) pass")
        chk.check(bool(toks) and [int(t) for t in toks[0].split()[1:]] ==
                  greedy["llama_dynamo_kv.onnx"][:8],
                  "the C program's greedy tokens equal onnxruntime's")
    else:
        c.log("  SKIP the C API checks: no --capi=PATH given")
    check_bad_bundles(chk, args, w)
    check_cli(chk, w, qobs["llama_dynamo_kv.onnx"],
              os.path.join(TINY, "llama_dynamo_kv.onnx"), toy_qobs[0])
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
