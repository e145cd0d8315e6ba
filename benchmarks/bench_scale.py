#!/usr/bin/env python3
"""Memory and time that scale (issue 14, item 6).

Measures, each in a fresh process (peak RSS from wait4, wall time):

  import   quant-translate --import-onnx of a model whose single weight is
           an external-data file of WEIGHT bytes (default 1.6 GB): the weight
           must be mapped and used in place, never copied;
  w4a16    quant-compile --scheme=w4a16 of the same model;
  chain    quant-compile of a chain of CHAIN elementwise (Relu) nodes;
  bench    quant-run --benchmark for a short and a long --min-time: its
           memory must not grow with run time.

Targets (checked with --check, the exit status says whether they are met):
  import peak RSS <= 1.2 x weight bytes and < 5 s; w4a16 peak RSS <= 1.5 x
  weight bytes; chain < 10 s; bench RSS growth < 2 MiB.

--quick uses a 256 MiB weight and a 6,000-node chain and checks the same
ratios on the *extra* RSS over a tiny model's (so the fixed cost of the
process does not hide a copy): that is the ctest `bench-scale-quick`, which
fails if import copies the weights.

    bench_scale.py --build-dir build [--quick] [--check] [--out FILE.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import cpu_flags, cpu_model  # noqa: E402


# The peak RSS of a process is inherited across fork, so a tool forked from
# this Python process (hundreds of MiB with numpy and onnx loaded) would
# report at least that. A bare interpreter (no site, no numpy) forks it
# instead and reports the child's own peak from wait4.
_LAUNCHER = """
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_measured(argv, timeout=900):
    """Runs argv; returns (exit status, wall s, peak RSS bytes, output)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        start = time.monotonic()
        try:
            r = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER,
                                rss_file.name, *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout)
            rc, out = r.returncode, r.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired:
            rc, out = -1, f"timed out after {timeout} s"
        wall = time.monotonic() - start
        text = rss_file.read().strip()
    return rc, wall, int(text) if text else 0, out


def write_weight_model(directory, k, n, gemm_trans_b=False):
    """A MatMul whose [k, n] float32 weight is external data, written in
    row blocks so that making it needs little memory; with gemm_trans_b, a
    Gemm(transB=1) of an [n, k] weight instead (PyTorch's Linear layout)."""
    import onnx
    from onnx import TensorProto, helper
    data = os.path.join(directory, "w.bin")
    rng = np.random.default_rng(0)
    block = max(1, (64 << 20) // (4 * n))
    with open(data, "wb") as f:
        for r in range(0, k, block):
            rows = min(block, k - r)
            f.write((0.02 * rng.standard_normal((rows, n))).astype(
                np.float32).tobytes())
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([n, k] if gemm_trans_b else [k, n])
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "w.bin"), ("offset", "0"),
                       ("length", str(k * n * 4))):
        e = t.external_data.add()
        e.key, e.value = key, value
    node = (helper.make_node("Gemm", ["x", "w"], ["y"], name="mm", transB=1)
            if gemm_trans_b else
            helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"))
    g = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        initializer=[t])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    path = os.path.join(directory, "model.onnx")
    onnx.save_model(m, path)
    return path, k * n * 4


def gemm_input_fixed(path, rows=1):
    """Gemm needs a rank-2 input: give the batch a static size."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = rows
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_value = rows
    onnx.save_model(m, path)


def write_chain_model(directory, length):
    import onnx
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"r{i}")
             for i in range(length)]
    g = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("t0", TensorProto.FLOAT, ["b", 16])],
        [helper.make_tensor_value_info(f"t{length}", TensorProto.FLOAT,
                                       ["b", 16])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    path = os.path.join(directory, f"chain{length}.onnx")
    onnx.save_model(m, path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--check", action="store_true",
                   help="exit 1 when a target is not met")
    p.add_argument("--weight-mib", type=int, default=None,
                   help="weight size (default 1526 MiB = 1.6 GB; quick 256)")
    p.add_argument("--chain", type=int, default=None,
                   help="chain length (default 20000; quick 6000)")
    p.add_argument("--work-dir", default=None)
    p.add_argument("--out", default=None, help="write the results as JSON")
    args = p.parse_args()
    bindir = os.path.join(args.build_dir, "bin")
    qt = os.path.join(bindir, "quant-translate")
    qc = os.path.join(bindir, "quant-compile")
    qr = os.path.join(bindir, "quant-run")
    weight_mib = args.weight_mib or (256 if args.quick else 1526)
    chain = args.chain or (6000 if args.quick else 20000)
    work = args.work_dir or tempfile.mkdtemp(prefix="quantopt-scale-")
    os.makedirs(work, exist_ok=True)

    side = int((weight_mib * (1 << 20) / 4) ** 0.5) // 16 * 16
    model, weight_bytes = write_weight_model(work, side, side)
    tiny_dir = os.path.join(work, "tiny")
    os.makedirs(tiny_dir, exist_ok=True)
    tiny, _ = write_weight_model(tiny_dir, 16, 16)
    results = {"cpu": cpu_model(), "isa": cpu_flags(), "cores": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d"),
               "weight_bytes": weight_bytes, "weight_shape": [side, side],
               "quick": args.quick, "measurements": {}}
    failures = []

    def record(name, argv, limit_ratio=None, limit_s=None, base_rss=0):
        rc, wall, rss, out = run_measured(argv)
        extra = rss - base_rss
        entry = {"command": " ".join(os.path.basename(a) if a.startswith(work)
                                     else a for a in argv),
                 "exit": rc, "wall_s": round(wall, 3), "peak_rss_bytes": rss}
        line = f"{name:8s} exit {rc}  {wall:7.2f} s  peak RSS {rss / 2**20:8.1f} MiB"
        if limit_ratio is not None:
            ratio = (extra if base_rss else rss) / weight_bytes
            entry["rss_over_weight"] = round(ratio, 4)
            entry["limit_rss_over_weight"] = limit_ratio
            line += (f"  ({'extra ' if base_rss else ''}RSS / weight "
                     f"{ratio:.3f}, limit {limit_ratio})")
            if ratio > limit_ratio:
                failures.append(f"{name}: RSS / weight {ratio:.3f} > "
                                f"{limit_ratio}")
        if limit_s is not None:
            entry["limit_s"] = limit_s
            if wall >= limit_s:
                failures.append(f"{name}: {wall:.2f} s >= {limit_s} s")
        if rc != 0:
            failures.append(f"{name}: exit {rc}: {out.strip()[-300:]}")
        results["measurements"][name] = entry
        print(line, flush=True)
        return rc, wall, rss

    # The fixed cost of a process (libLLVM, MLIR's dialects) on a tiny model:
    # --quick checks the RSS beyond it.
    base_import = base_compile = 0
    if args.quick:
        _, _, base_import = record(
            "import-tiny", [qt, "--import-onnx", tiny, "-o",
                            os.path.join(work, "tiny.mlir")])
        _, _, base_compile = record(
            "w4a16-tiny", [qc, tiny, "-o", os.path.join(work, "tiny.qob"),
                           "--scheme=w4a16", "--group-size=16", "--quiet"])
    record("import", [qt, "--import-onnx", model, "-o",
                      os.path.join(work, "model.mlir")],
           limit_ratio=0.2 if args.quick else 1.2, limit_s=5,
           base_rss=base_import)
    record("w4a16", [qc, model, "-o", os.path.join(work, "model-w4.qob"),
                     "--scheme=w4a16", "--quiet"],
           limit_ratio=1.5, base_rss=base_compile)
    # The same weight as PyTorch's Linear stores it ([N, K], Gemm transB):
    # the transposed copy must replace the original, not join it.
    tb_dir = os.path.join(work, "transb")
    os.makedirs(tb_dir, exist_ok=True)
    tb_model, _ = write_weight_model(tb_dir, side, side, gemm_trans_b=True)
    gemm_input_fixed(tb_model)
    record("w4a16-transb", [qc, tb_model, "-o",
                            os.path.join(work, "model-tb-w4.qob"),
                            "--scheme=w4a16", "--quiet"],
           limit_ratio=1.5, base_rss=base_compile)
    chain_model = write_chain_model(work, chain)
    record("chain", [qc, chain_model, "-o", os.path.join(work, "chain.qob"),
                     "--quiet"], limit_s=6 if args.quick else 10)
    results["measurements"]["chain"]["nodes"] = chain

    # quant-run --benchmark: memory constant in run time.
    x = os.path.join(work, "x.npy")
    np.save(x, np.ones((1, 16), np.float32))
    tiny_bundle = os.path.join(work, "tiny.qob")
    if not os.path.exists(tiny_bundle):
        run_measured([qc, tiny, "-o", tiny_bundle, "--quiet"])
    short_t, long_t = (0.5, 3.0) if args.quick else (1.0, 10.0)
    _, _, rss_short = record(
        "bench-short", [qr, tiny_bundle, "--input", x, "--benchmark",
                        "--min-time", str(short_t)])
    _, _, rss_long = record(
        "bench-long", [qr, tiny_bundle, "--input", x, "--benchmark",
                       "--min-time", str(long_t)])
    growth = rss_long - rss_short
    results["measurements"]["bench-growth"] = {
        "rss_growth_bytes": growth, "limit_bytes": 2 << 20,
        "min_time_s": [short_t, long_t]}
    print(f"bench    RSS growth from --min-time {short_t} to {long_t}: "
          f"{growth / 2**20:.2f} MiB (limit 2 MiB)")
    if growth >= 2 << 20:
        failures.append(f"bench: RSS grew {growth / 2**20:.2f} MiB")

    results["failures"] = failures
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    print(f"cpu: {results['cpu']} ({', '.join(results['isa'])}; "
          f"{results['cores']} cores)")
    if failures:
        print("NOT MET:")
        for f in failures:
            print(f"  {f}")
    else:
        print("all targets met")
    return 1 if (args.check and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
