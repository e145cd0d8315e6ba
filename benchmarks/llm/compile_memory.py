#!/usr/bin/env python3
"""Compile memory and time of Gemma 3 270M per scheme (issue 16, item 5).

Compiles the prepared Gemma 3 270M export (1.07 GB of float32 weights in
external data) with quant-compile for each scheme, one compile at a time,
each in a fresh process, and reports its peak RSS (wait4's ru_maxrss, which
counts mapped file pages as well as the heap), the ratio of that peak to the
model's weight bytes (target: <= 1.5), the wall time and the bundle size.
Optionally (--load) it also loads each bundle through libquantrt and reports
the loader's RSS split into anonymous (copied) and file-backed (mapped)
memory: the weights must be mapped, not copied.

    compile_memory.py --build-dir build [--schemes float,w8a8,w4a16]
                      [--model-dir ~/.cache/quantopt-models/gemma3]
                      [--load] [--check] [--out FILE.json]

Skips (exit status 0, a message saying how to prepare it) when the model is
not prepared. Raw results go to
benchmarks/results/llm/compile_memory-<cpu>-<date>.json unless --out is
given. Never run two of these at once on a small machine: a float compile
of this model needs about as much memory as its weights.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from common import cpu_flags, cpu_model  # noqa: E402
# Peak RSS of a child process (a bare interpreter forks it and reports the
# child's own peak): benchmarks/bench_scale.py.
from bench_scale import run_measured  # noqa: E402

DEFAULT_MODEL_DIR = os.path.expanduser("~/.cache/quantopt-models/gemma3")
MODEL = "gemma3_270m_fp32.onnx"

# Each scheme's quant-compile options. w8a8 is the dynamic per-token variant
# (no calibration data needed); w8a8-static calibrates on the corpus'
# calibration chunks (--calib-data), which compiles and runs the float model
# first, so its peak includes that.
SCHEMES = {
    "float": ["--scheme", "float"],
    "w8a8": ["--scheme", "w8a8", "--activation-mode", "dynamic",
             "--activation-granularity", "per-token"],
    "w4a16": ["--scheme", "w4a16", "--group-size", "32"],
    "w4a16-g128": ["--scheme", "w4a16", "--group-size", "128"],
}


# Loads a bundle through libquantrt and prints its RSS split (bytes).
_LOADER = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
def rss():
    out = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0]) * 1024
    return out
before = rss()
b = ctypes.c_void_p()
rc = lib.qrt_bundle_load(sys.argv[2].encode(), ctypes.byref(b))
if rc != 0:
    lib.qrt_last_error.restype = ctypes.c_char_p
    sys.exit("load failed: " + lib.qrt_last_error().decode())
after = rss()
print({k: after[k] - before[k] for k in after})
"""


def weight_bytes(model_dir):
    """Bytes of the model's weights: its external data file(s) (the
    initializers inside the .onnx are a few KB)."""
    total = 0
    for name in os.listdir(model_dir):
        if name.startswith(MODEL) and name.endswith(".data"):
            total += os.path.getsize(os.path.join(model_dir, name))
    return total


def write_synthetic_model(directory, layers, width, vocab):
    """A small decoder-like model whose weights are external data: a Gather
    from a [vocab, width] embedding, `layers` MatMuls with [width, width]
    weights (every other one a Gemm(transB=1), PyTorch's Linear layout,
    which the compiler transposes), and an output projection through the
    transposed embedding (tied, as Gemma's). Written in blocks so that
    making it needs little memory."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    data_name = "weights.bin"
    rng = np.random.default_rng(0)
    inits, nodes, offset = [], [], 0
    with open(os.path.join(directory, data_name), "wb") as f:
        def add(name, shape):
            nonlocal offset
            count = int(np.prod(shape))
            rows = shape[0]
            block = max(1, (32 << 20) // (4 * (count // rows)))
            for r in range(0, rows, block):
                n = min(block, rows - r)
                f.write((0.02 * rng.standard_normal(
                    (n, count // rows))).astype(np.float32).tobytes())
            t = TensorProto()
            t.name = name
            t.data_type = TensorProto.FLOAT
            t.dims.extend(shape)
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name),
                               ("offset", str(offset)),
                               ("length", str(count * 4))):
                e = t.external_data.add()
                e.key, e.value = key, value
            offset += count * 4
            inits.append(t)
        add("embedding", [vocab, width])
        nodes.append(helper.make_node("Gather", ["embedding", "ids"], ["h0"],
                                      name="embed"))
        for i in range(layers):
            w = f"w{i}"
            if i % 2:
                add(w, [width, width])
                nodes.append(helper.make_node(
                    "MatMul", [f"h{i}", w], [f"h{i + 1}"], name=f"mm{i}"))
            else:
                add(w, [width, width])
                nodes.append(helper.make_node(
                    "Gemm", [f"h{i}", w], [f"h{i + 1}"], name=f"mm{i}",
                    transB=1))
        nodes.append(helper.make_node("Transpose", ["embedding"], ["emb_t"],
                                      name="tied_t", perm=[1, 0]))
        nodes.append(helper.make_node("MatMul", [f"h{layers}", "emb_t"],
                                      ["logits"], name="lm_head"))
    g = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [4, vocab])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    path = os.path.join(directory, "synthetic.onnx")
    onnx.save_model(m, path)
    return path, offset


def write_tiny_model(directory):
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r")], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    path = os.path.join(directory, "tiny.onnx")
    onnx.save_model(m, path)
    return path


def synthetic(args):
    """The ctest `compile-memory-quick`: no real model needed."""
    tool = os.path.join(args.build_dir, "bin", "quant-compile")
    schemes = [s for s in args.schemes.split(",") if s]
    failures = []
    with tempfile.TemporaryDirectory(prefix="compile-memory-") as tmp:
        model, wbytes = write_synthetic_model(tmp, args.layers, args.width,
                                              args.vocab)
        tiny = write_tiny_model(tmp)
        rc, _, base, out = run_measured(
            [tool, tiny, "-o", os.path.join(tmp, "tiny.qob")], args.timeout)
        if rc != 0:
            sys.exit("compiling the tiny model failed:\n" + out)
        print(f"weights {wbytes / 2**20:.0f} MiB; a tiny model's compile "
              f"peaks at {base / 2**20:.0f} MiB (the fixed cost)")
        for scheme in schemes:
            bundle = os.path.join(tmp, f"{scheme}.qob")
            rc, wall, peak, out = run_measured(
                [tool, model, "-o", bundle, *SCHEMES[scheme]], args.timeout)
            if rc != 0:
                failures.append(f"{scheme}: quant-compile failed:\n{out}")
                continue
            extra = (peak - base) / wbytes
            print(f"{scheme:<8} peak {peak / 2**20:7.0f} MiB, extra over the "
                  f"tiny model {extra:5.2f} x the weights (bound "
                  f"{args.max_extra_ratio}), {wall:5.1f} s, bundle "
                  f"{os.path.getsize(bundle) / 2**20:.0f} MiB")
            if extra > args.max_extra_ratio:
                failures.append(
                    f"{scheme}: the compile's peak RSS is {extra:.2f} x the "
                    f"weight bytes above a tiny model's, more than "
                    f"{args.max_extra_ratio}: a stage holds a copy of the "
                    "weights (docs/Memory.md)")
            os.remove(bundle)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


def measure_load(build_dir, bundle):
    lib = os.path.join(build_dir, "lib", "libquantrt.so")
    r = subprocess.run([sys.executable, "-S", "-c", _LOADER, lib, bundle],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-500:]}
    return eval(r.stdout.strip(), {})  # a dict literal printed above


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    ap.add_argument("--schemes", default="float,w8a8,w4a16",
                    help="comma-separated: " + ", ".join(SCHEMES) +
                    ", w8a8-static")
    ap.add_argument("--load", action="store_true",
                    help="also measure the RSS of loading each bundle")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every peak is <= --max-ratio x the "
                    "weight bytes")
    ap.add_argument("--max-ratio", type=float, default=1.5)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--keep-bundles", help="directory to keep the bundles in")
    ap.add_argument("--out", help="raw JSON results (default: "
                    "benchmarks/results/llm/compile_memory-<cpu>-<date>.json)")
    ap.add_argument("--synthetic", action="store_true",
                    help="compile a generated model with external-data "
                    "weights instead of Gemma (the ctest); checks the peak "
                    "RSS above a tiny model's against --max-extra-ratio")
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--width", type=int, default=1536)
    ap.add_argument("--vocab", type=int, default=24576)
    ap.add_argument("--max-extra-ratio", type=float, default=1.75)
    args = ap.parse_args()
    if args.synthetic:
        return synthetic(args)

    model = os.path.join(args.model_dir, MODEL)
    if not os.path.exists(model):
        print(f"SKIP: {model} is not prepared; run "
              "../shared/models/gemma3/prepare.sh (see "
              "../shared/models/README.md) or pass --model-dir")
        return 0
    tool = os.path.join(args.build_dir, "bin", "quant-compile")
    if not os.path.exists(tool):
        sys.exit(f"{tool} is not built: ninja -C {args.build_dir} "
                 "quant-compile quantrt")
    wbytes = weight_bytes(args.model_dir)
    schemes = [s for s in args.schemes.split(",") if s]
    corpus = os.path.join(args.model_dir, "corpus")
    results = []
    with tempfile.TemporaryDirectory(prefix="compile-memory-") as tmp:
        out_dir = args.keep_bundles or tmp
        os.makedirs(out_dir, exist_ok=True)
        for scheme in schemes:
            if scheme == "w8a8-static":
                opts = ["--scheme", "w8a8", "--calib-data", corpus]
            elif scheme in SCHEMES:
                opts = SCHEMES[scheme]
            else:
                sys.exit(f"unknown scheme '{scheme}'; valid: "
                         + ", ".join(SCHEMES) + ", w8a8-static")
            bundle = os.path.join(out_dir, f"gemma3-{scheme}.qob")
            argv = [tool, model, "-o", bundle, "--quiet", *opts]
            print(f"{scheme}: {' '.join(argv)}", flush=True)
            rc, wall, peak, out = run_measured(argv, args.timeout)
            row = {"scheme": scheme, "options": opts, "exit_status": rc,
                   "wall_s": round(wall, 2), "peak_rss_bytes": peak,
                   "ratio_to_weights": round(peak / wbytes, 3),
                   "bundle_bytes": (os.path.getsize(bundle)
                                    if rc == 0 else None)}
            if rc != 0:
                row["output"] = out[-2000:]
                print(out[-2000:])
            elif args.load:
                row["load_rss_bytes"] = measure_load(args.build_dir, bundle)
            results.append(row)
            if rc == 0 and not args.keep_bundles:
                os.remove(bundle)

    gib = 1 << 30
    cpu = cpu_model()
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512vnni", "avx512bw")
           if f in cpu_flags()]
    print()
    print(f"Gemma 3 270M ({wbytes / gib:.3f} GiB of float32 weights), "
          f"{cpu} ({', '.join(isa)}), {os.cpu_count()} CPUs")
    print(f"{'scheme':<12} {'peak RSS GiB':>12} {'x weights':>10} "
          f"{'wall s':>8} {'bundle GiB':>11}  load (anon / file MiB)")
    ok = True
    for r in results:
        load = r.get("load_rss_bytes") or {}
        load_text = ("" if not load else
                     load.get("error") or
                     f"{load.get('RssAnon', 0) / 2**20:.0f} / "
                     f"{load.get('RssFile', 0) / 2**20:.0f}")
        size = r["bundle_bytes"]
        print(f"{r['scheme']:<12} {r['peak_rss_bytes'] / gib:>12.3f} "
              f"{r['ratio_to_weights']:>10.2f} {r['wall_s']:>8.1f} "
              f"{(size or 0) / gib:>11.3f}  {load_text}"
              + ("" if r["exit_status"] == 0 else "  FAILED"))
        ok &= r["exit_status"] == 0 and \
            r["ratio_to_weights"] <= args.max_ratio

    record = {
        "benchmark": "compile_memory",
        "model": model,
        "weight_bytes": wbytes,
        "cpu": cpu,
        "isa": isa,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "target_ratio": args.max_ratio,
        "results": results,
    }
    out = args.out
    if not out:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", cpu).strip("-").lower()[:40]
        day = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y%m%d-%H%M")
        out = os.path.join(ROOT, "benchmarks", "results", "llm",
                           f"compile_memory-{slug}-{day}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"\nraw results: {out}")
    if args.check and not ok:
        print(f"FAIL: a compile failed or peaked above {args.max_ratio} x "
              "the weight bytes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
