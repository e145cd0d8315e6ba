#!/usr/bin/env python3
"""Runs the tiny random-weight LLM exports of test/models/tiny on the CPU.

The models (scripts/make_tiny_llms.py: Llama, Qwen2, Qwen3, Mistral, Phi-3,
Gemma 3, GPT-2 decoders and a BERT/MiniLM encoder, exported by torch.onnx
with dynamo, opset 18, dynamic batch/sequence/past) are compiled with
quant-compile --scheme float and compared with onnxruntime on the same file:

  logits      two input shapes ([2, 7] and [1, 12]); max|diff| <= 2e-4
              (float32 logits of magnitude ~1, summed in another order by
              each runtime over at most 128 terms per dot product);
  kv decode   (the _kv exports) a 6-token prompt run as one prefill on an
              empty past, then 4 single-token steps, each step's logits and
              present_* compared with onnxruntime's (same tolerance), and the
              last step's logits with the no-cache model's on the whole
              sequence;
  greedy      16 tokens of greedy decoding through the KV model, token for
              token equal to onnxruntime's (the logits' top-2 gap is
              checked first: a tie within the tolerance would make the
              comparison meaningless and is reported).

The onnxruntime-genai builder's exports (<family>_genai_fp32/int4: com.microsoft
GroupQueryAttention, SkipSimplifiedLayerNormalization, MatMulNBits, an
attention_mask input and past_key_values.N.key names) run the same KV checks;
their last decode step is compared with one prefill of the whole sequence
through the same model. Their MatMulNBits nodes carry accuracy_level 4, with
which onnxruntime quantizes the activations to int8 -- an approximation of
the operator's value that QuantOpt does not make (it computes the exact
dequantized product) -- so the reference session runs a copy with
accuracy_level 0, onnxruntime's exact float path.

Every model listed in the manifest must pass, except those in
KNOWN_FAILURES (each with its reason); a model that does not compile fails
the test with the compiler's message.
"""

import json
import os
import sys

import numpy as np

import e2e_common as c

TINY = os.path.join(c.ROOT, "test", "models", "tiny")
ATOL = 2e-4

# Models that do not pass yet, with the reason; they are run and reported,
# but do not fail the test (one that starts passing is reported too).
KNOWN_FAILURES = {
    "bert_ts.onnx": "the TorchScript BERT export's masked mean pooling "
                    "differs from onnxruntime by ~3e-2 (under investigation)",
    "gpt2_dynamo_kv.onnx": "exported with a training-mode Dropout (the "
                           "export wrapper was not put in eval mode; "
                           "re-export with scripts/make_tiny_llms.py)",
}


def feeds_for(sess_inputs, ids, extra=None):
    feeds = {"input_ids": ids}
    names = [i.name for i in sess_inputs]
    if "attention_mask" in names:
        feeds["attention_mask"] = np.ones_like(ids)
        feeds["attention_mask"][-1, ids.shape[1] // 2:] = 0
    if extra:
        feeds.update(extra)
    return feeds


def empty_past(info, batch):
    past = {}
    fmt = info.get("past", "past_{kind}_{i}")
    for i in range(info["layers"]):
        for k in ("key", "value"):
            past[fmt.format(kind=k, i=i)] = np.zeros(
                (batch, info["kv_heads"], 0, info["head_dim"]), np.float32)
    return past


def exact_reference(model, work_dir):
    """`model` with every MatMulNBits at accuracy_level 0 (see the top)."""
    import onnx
    m = onnx.load(model)
    changed = False
    for n in m.graph.node:
        for a in n.attribute:
            if n.op_type == "MatMulNBits" and a.name == "accuracy_level" \
                    and a.i != 0:
                a.i, changed = 0, True
    if not changed:
        return model
    out = os.path.join(work_dir, os.path.basename(model).replace(
        ".onnx", "_acc0.onnx"))
    onnx.save(m, out)
    return out


class KVFeeds:
    """Names and extra inputs of one KV export's decode step."""

    def __init__(self, info):
        self.past = info.get("past", "past_{kind}_{i}")
        self.present = info.get("present", "present_{kind}_{i}")
        self.layers = info["layers"]
        # The genai exports (named pasts) take an attention_mask.
        self.mask = "past" in info

    def feeds(self, ids, past):
        f = {"input_ids": ids, **past}
        if self.mask:
            total = ids.shape[1] + next(iter(past.values())).shape[2]
            f["attention_mask"] = np.ones((ids.shape[0], total), np.int64)
        return f

    def to_past(self, out):
        past = {}
        for i in range(self.layers):
            for k in ("key", "value"):
                past[self.past.format(kind=k, i=i)] = out[
                    self.present.format(kind=k, i=i)]
        return past


def check_logits(chk, name, qob, model):
    ort = c.ort_session(model)
    b = c.bundle(qob)
    rng = np.random.default_rng(3)
    for shape in ((2, 7), (1, 12)):
        ids = rng.integers(0, 256, shape, dtype=np.int64)
        feeds = feeds_for(ort.get_inputs(), ids)
        ref = c.ort_run(ort, feeds)
        got = b.run(**feeds)
        for out, r in ref.items():
            c.compare(chk, f"{name} {out} {list(shape)}", got[out], r, ATOL)


def check_kv(chk, name, qob, model, info, full_qob, work_dir):
    ort = c.ort_session(exact_reference(model, work_dir))
    b = c.bundle(qob)
    kv = KVFeeds(info)
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 256, (1, 10), dtype=np.int64)
    feeds = kv.feeds(ids[:, :6], empty_past(info, 1))
    got, ref = b.run(**feeds), c.ort_run(ort, feeds)
    for out in ref:
        c.compare(chk, f"{name} prefill {out}", got[out], ref[out], ATOL)
    past_got, past_ref = kv.to_past(got), kv.to_past(ref)
    for t in range(6, 10):
        got = b.run(**kv.feeds(ids[:, t:t + 1], past_got))
        ref = c.ort_run(ort, kv.feeds(ids[:, t:t + 1], past_ref))
        c.compare(chk, f"{name} decode step {t} logits", got["logits"],
                  ref["logits"], ATOL)
        past_got, past_ref = kv.to_past(got), kv.to_past(ref)
    if full_qob:
        full = c.bundle(full_qob).run(input_ids=ids)["logits"]
        what = "full sequence (no cache)"
    else:
        full = b.run(**kv.feeds(ids, empty_past(info, 1)))["logits"]
        what = "one prefill of the whole sequence"
    c.compare(chk, f"{name} last decode step vs {what}",
              got["logits"][:, -1], full[:, -1], ATOL)

    # Greedy generation, token for token.
    prompt = rng.integers(0, 256, (1, 5), dtype=np.int64)
    toks = {}
    for side in ("ours", "onnxruntime"):
        past = empty_past(info, 1)
        cur, seq, gaps = prompt, [], []
        for _ in range(16):
            if side == "ours":
                out = b.run(**kv.feeds(cur, past))
            else:
                out = c.ort_run(ort, kv.feeds(cur, past))
            last = out["logits"][0, -1]
            top2 = np.sort(last)[-2:]
            gaps.append(float(top2[1] - top2[0]))
            nxt = int(np.argmax(last))
            seq.append(nxt)
            past = kv.to_past(out)
            cur = np.array([[nxt]], np.int64)
        toks[side] = (seq, min(gaps))
    same = toks["ours"][0] == toks["onnxruntime"][0]
    gap = toks["onnxruntime"][1]
    chk.check(same or gap <= 2 * ATOL,
              f"{name} greedy 16 tokens {'equal' if same else 'DIFFER'} "
              f"(smallest top-2 gap {gap:.2g}): {toks['ours'][0]}")


def main():
    args = c.parse_args(__doc__.splitlines()[0])
    chk = c.Checker("tiny-llms")
    manifest = json.load(open(os.path.join(TINY, "tiny_models.json")))
    models = manifest["models"]
    qobs = {}
    for name in sorted(models, key=lambda n: models[n]["kv"]):
        info = models[name]
        model = os.path.join(TINY, name)
        qob = os.path.join(args.work_dir, name.replace(".onnx", ".qob"))
        r = c.compile_model(args.quant_compile, model, qob, "--scheme",
                            "float", check=False)
        if not chk.check(r.returncode == 0, f"{name} compiles"
                         + ("" if r.returncode == 0 else
                            ": " + (r.stderr.strip() or r.stdout.strip())
                            .splitlines()[0][:300])):
            continue
        qobs[name] = qob
        if not info["kv"]:
            check_logits(chk, name, qob, model)
            continue
        full = None
        if "past" not in info:  # a torch export: compare with its no-cache twin
            full = name.replace("_kv.onnx", ".onnx")
            if full not in qobs:
                chk.check(False, f"{name}: its no-cache export {full} did "
                          "not compile")
                continue
        check_kv(chk, name, qob, model, info, qobs.get(full), args.work_dir)
    for name, reason in KNOWN_FAILURES.items():
        mine = [f for f in chk.failures if f.startswith(name)]
        chk.failures = [f for f in chk.failures if not f.startswith(name)]
        c.log(f"known failure {name}: {reason}: "
              + (f"{len(mine)} check(s) failed" if mine else
                 "now PASSES, remove it from KNOWN_FAILURES"))
    passed = [n for n in models if n not in KNOWN_FAILURES
              and not any(f.startswith(n) for f in chk.failures)]
    c.log(f"tiny-llms: {len(passed)} of {len(models)} models pass "
          f"({len(KNOWN_FAILURES)} known failures)")
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
