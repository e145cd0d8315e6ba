#!/usr/bin/env python3
"""Greedy generation of Gemma 3 270M through the runtime's decode loop vs
onnxruntime, token for token, and the per-step cost of the KV cache.

Needs the model prepared by ../shared/models/gemma3/prepare.sh (default
~/.cache/quantopt-models/gemma3, or --models DIR); skips with a message
when it is not there. The KV export gemma3_270m_fp32_kv.onnx is compiled
with quant-compile --scheme float (or --bundle gives a compiled one), and:

  greedy     three prompts (tokenized by hf_fp32/tokenizer.json with the
             `tokenizers` package), 64 new tokens each, EOS not stopping,
             through qrt_generator (python-bindings/quantopt/generation.py)
             and through an onnxruntime greedy loop on the same ONNX file
             (present -> past fed by the loop); the tokens must be equal.
             onnxruntime's smallest top-2 logit gap along each sequence is
             reported: a difference where it is below 1e-3 (float32 logits
             of magnitude ~30 summed in another order) would be a tie, not a
             bug, and is reported as such;
  kv-step    per decode step at 128 and 512 tokens of context: the step's
             time through qrt_generator_step, and the time of a bundle made
             of only the export's 36 present = Concat(past, new, axis=2)
             nodes on the same shapes, run through the same runtime: what
             the caches cost every step besides the matmuls and attention
             (the generated code's copies and the runtime's input/output
             handling), with numpy's copy of the same bytes for scale.

    python3 benchmarks/llm/check_generate.py --quant-compile build/bin/quant-compile \\
        --quantrt build/lib/libquantrt.so [--bundle gkv.qob] [--out FILE.json]

Exit status: 0 when every sequence matches (or the model is missing), 1
otherwise.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python-bindings"))

PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):",
]
NEW_TOKENS = 64


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def ort_greedy(sess, ids, n):
    feeds_past = {}
    for i in sess.get_inputs():
        if i.name.startswith("past"):
            shape = [1 if k == 0 else (d if isinstance(d, int) else 0)
                     for k, d in enumerate(i.shape)]
            feeds_past[i.name] = np.zeros(shape, np.float32)
    names = [o.name for o in sess.get_outputs()]
    cur = np.array([ids], np.int64)
    toks, gaps, times = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        out = dict(zip(names, sess.run(names, {"input_ids": cur,
                                               **feeds_past})))
        times.append(time.perf_counter() - t0)
        last = out["logits"][0, -1].astype(np.float64)
        top2 = np.partition(last, -2)[-2:]
        gaps.append(float(abs(top2[1] - top2[0])))
        nxt = int(np.argmax(last))
        toks.append(nxt)
        feeds_past = {k.replace("present", "past", 1): v
                      for k, v in out.items() if k.startswith("present")}
        cur = np.array([[nxt]], np.int64)
    return toks, min(gaps), times


def concat_model(path, pairs):
    """An ONNX model that only does what the KV export does to its caches:
    present_i = Concat(past_i, new_i, axis=2) for every past input."""
    import onnx
    from onnx import TensorProto, helper
    nodes, inputs, outputs = [], [], []
    for name, heads, dim in pairs:
        present = name.replace("past", "present", 1)
        new = name.replace("past", "new", 1)
        inputs += [helper.make_tensor_value_info(
            name, TensorProto.FLOAT, [1, heads, "past", dim]),
            helper.make_tensor_value_info(new, TensorProto.FLOAT,
                                          [1, heads, 1, dim])]
        outputs.append(helper.make_tensor_value_info(
            present, TensorProto.FLOAT, [1, heads, "total", dim]))
        nodes.append(helper.make_node("Concat", [name, new], [present],
                                      axis=2))
    g = helper.make_graph(nodes, "kv_concat", inputs, outputs)
    onnx.save(helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 18)]), path)


def kv_step_cost(bundle, contexts, quant_compile, work_dir, steps=8):
    """Decode step time at each context length, and the time of what the
    caches cost in it: a bundle made of the same 2 x layers Concat(past,
    new) nodes, compiled and run through the same runtime (the generated
    code's copies plus the runtime's input/output handling), and numpy's
    copy of the same bytes for scale."""
    from quantopt.generation import Generator
    from quantopt.runtime import Bundle
    past = [i for i in bundle.inputs if i.name.startswith("past")]
    cm = os.path.join(work_dir, "kv_concat.onnx")
    concat_model(cm, [(i.name, i.shape[1], i.shape[3]) for i in past])
    cq = cm.replace(".onnx", ".qob")
    subprocess.run([quant_compile, cm, "-o", cq, "--scheme", "float",
                    "--quiet"], check=True)
    concat = Bundle(cq)
    rows = []
    rng = np.random.default_rng(0)
    for ctx in contexts:
        with Generator(bundle, max_new_tokens=steps + 1) as g:
            prompt = rng.integers(10, 20000, ctx - 1).tolist()
            g.prefill(prompt)
            t = []
            for _ in range(steps):
                t0 = time.perf_counter()
                g.step()
                t.append((time.perf_counter() - t0) * 1e3)
        feeds = {}
        for i in past:
            feeds[i.name] = rng.standard_normal(
                (1, i.shape[1], ctx, i.shape[3])).astype(np.float32)
            feeds[i.name.replace("past", "new", 1)] = rng.standard_normal(
                (1, i.shape[1], 1, i.shape[3])).astype(np.float32)
        concat_ms = concat.benchmark(feeds, warmup=3, iterations=20)
        out = concat.run(**feeds)
        exact = all(np.array_equal(out[i.name.replace("past", "present", 1)],
                                   np.concatenate(
                                       [feeds[i.name], feeds[i.name.replace(
                                           "past", "new", 1)]], axis=2))
                    for i in past)
        copy = []
        arrays = [feeds[i.name] for i in past]
        for _ in range(5):
            t0 = time.perf_counter()
            for a in arrays:
                np.copyto(np.empty_like(a), a)
            copy.append((time.perf_counter() - t0) * 1e3)
        step = float(np.median(t))
        rows.append({"context": ctx, "step_ms_median": step,
                     "step_ms_all": [round(x, 3) for x in t],
                     "past_cache_bytes": int(sum(a.nbytes for a in arrays)),
                     "concat_bundle_ms_median": float(np.median(concat_ms)),
                     "concat_bundle_exact": bool(exact),
                     "concat_share_of_step": float(np.median(concat_ms))
                     / step,
                     "numpy_copy_ms_median": float(np.median(copy))})
    concat.close()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=os.path.expanduser(
        "~/.cache/quantopt-models/gemma3"))
    p.add_argument("--quant-compile", default=os.path.join(
        ROOT, "build", "bin", "quant-compile"))
    p.add_argument("--quantrt", default=os.path.join(
        ROOT, "build", "lib", "libquantrt.so"))
    p.add_argument("--bundle", help="a compiled float bundle of the KV "
                   "export (else compiled to --work-dir)")
    p.add_argument("--work-dir", default="/tmp/quantopt-check-generate")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="JSON results file")
    a = p.parse_args()
    model = os.path.join(a.models, "gemma3_270m_fp32_kv.onnx")
    tpath = os.path.join(a.models, "hf_fp32", "tokenizer.json")
    if not (os.path.isfile(model) and os.path.isfile(tpath)):
        print(f"SKIP: {model} or {tpath} not found; prepare the model with "
              "../shared/models/gemma3/prepare.sh (see "
              "../shared/models/README.md)")
        return 0
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as e:
        print(f"SKIP: {e.name} is not installed (pip install onnxruntime "
              "tokenizers)")
        return 0
    os.environ["QUANTOPT_RUNTIME_LIB"] = os.path.abspath(a.quantrt)
    from quantopt.generation import Generator
    from quantopt.runtime import Bundle, set_num_threads, tune_allocator

    qob = a.bundle
    compile_s = None
    if not qob:
        os.makedirs(a.work_dir, exist_ok=True)
        qob = os.path.join(a.work_dir, "gemma3_270m_fp32_kv.qob")
        t0 = time.time()
        subprocess.run([a.quant_compile, model, "-o", qob, "--scheme",
                        "float", "--quiet"], check=True)
        compile_s = round(time.time() - t0, 1)
    tok = Tokenizer.from_file(tpath)
    set_num_threads(a.threads)
    tune_allocator()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, so,
                                providers=["CPUExecutionProvider"])
    bundle = Bundle(qob)
    results = {"model": model, "bundle": qob, "scheme": "float",
               "compile_s": compile_s, "threads": a.threads,
               "cpu": cpu_model(), "date": datetime.datetime.utcnow()
               .strftime("%Y-%m-%d %H:%M UTC"), "new_tokens": NEW_TOKENS,
               "onnxruntime": ort.__version__,
               "load_average_at_start": os.getloadavg(), "prompts": []}
    ok = True
    for prompt in PROMPTS:
        ids = tok.encode(prompt).ids
        with Generator(bundle, max_new_tokens=NEW_TOKENS) as g:
            ours = g.generate(ids)
            stats = g.stats()
        ref, gap, ort_times = ort_greedy(sess, ids, NEW_TOKENS)
        same = ours == ref
        first_diff = next((i for i, (x, y) in enumerate(zip(ours, ref))
                           if x != y), None)
        ok &= same
        row = {"prompt": prompt, "prompt_ids": ids, "equal": same,
               "first_difference": first_diff,
               "ort_min_top2_gap": gap, "tokens": ours,
               "ort_tokens": ref,
               "text": tok.decode(ours, skip_special_tokens=True),
               "ours_prefill_tokens_per_s": stats["prefill_tokens_per_s"],
               "ours_decode_tokens_per_s": stats["decode_tokens_per_s"],
               "ours_sample_ms_per_token": stats["sample_ms"] /
               stats["generated_tokens"],
               "ort_prefill_tokens_per_s": len(ids) / ort_times[0],
               "ort_decode_tokens_per_s": (len(ort_times) - 1) /
               sum(ort_times[1:])}
        results["prompts"].append(row)
        print(f"{'EQUAL ' if same else 'DIFFER'} {prompt!r}: {NEW_TOKENS} "
              f"greedy tokens (onnxruntime's smallest top-2 gap {gap:.3g}"
              + ("" if same else f", first difference at {first_diff}")
              + f"); ours prefill {row['ours_prefill_tokens_per_s']:.1f} "
              f"decode {row['ours_decode_tokens_per_s']:.1f} tokens/s "
              f"(sampling {row['ours_sample_ms_per_token']:.2f} ms/token), "
              f"onnxruntime {row['ort_prefill_tokens_per_s']:.1f} / "
              f"{row['ort_decode_tokens_per_s']:.1f}")
        print(f"    {row['text']!r}")
    os.makedirs(a.work_dir, exist_ok=True)
    results["kv_step"] = kv_step_cost(bundle, (128, 512), a.quant_compile,
                                      a.work_dir)
    for r in results["kv_step"]:
        print(f"context {r['context']}: decode step {r['step_ms_median']:.2f}"
              f" ms; past caches {r['past_cache_bytes'] / 2**20:.1f} MiB; "
              f"the same Concat(past, new) nodes alone "
              f"{r['concat_bundle_ms_median']:.2f} ms "
              f"({100 * r['concat_share_of_step']:.1f}% of the step; exact: "
              f"{r['concat_bundle_exact']}); numpy copies the pasts in "
              f"{r['numpy_copy_ms_median']:.2f} ms")
    results["all_equal"] = bool(ok)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
    print("check_generate: " + ("all sequences equal" if ok else
                                "SOME SEQUENCES DIFFER"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
