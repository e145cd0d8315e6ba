#!/usr/bin/env python3
"""Checks that quant-calibrate agrees with onnxruntime's calibrators.

Random batches from several distributions (light- and heavy-tailed,
symmetric and skewed, with and without rare outliers, and their ReLU) are
fed both to quant-calibrate (one .npy file per batch) and to
onnxruntime.quantization.calibrate (MinMax, Percentile and Entropy
calibrators from create_calibrator, on a tiny ONNX model whose calibrated
tensors are exactly the fed data). MSE, which ORT does not have, is checked
against a numpy brute force on the raw values.

Batches are streamed: ORT's collect_data is called once per batch, which is
what quant-calibrate's per-file batches correspond to (ORT merges histograms
and moving averages per collect_data call).

Tolerances, and why:
  * MinMax: bit-exact. Both compute float32 extremes and the same float32
    moving-average recurrence.
  * Percentile, Entropy: at most 2 bin widths of ORT's final histogram.
    Both return histogram edges, and the histograms are built with the same
    float32 edge arithmetic, so they normally agree exactly; the margin
    covers a value lying exactly on a recomputed edge, which can fall on
    either side.
  * Entropy, additionally: a near-tie. ORT scores the candidate windows in
    float32, with numpy's SIMD float32 log (not correctly rounded, and
    different on AVX2 and AVX-512 machines), we in double. The KL curve is
    often flat near its minimum, and windows many bins apart can score
    within float32 noise (~1e-5 relative) of each other, so ORT's own
    choice among them depends on the machine. When the thresholds differ
    by more than 2 bins we recompute every window's KL divergence in
    float64 from ORT's histogram and require (a) that our range is the
    float64 optimum and (b) that ORT's range scores within 1e-4 relative of
    it, i.e. that the two are a tie under float32 evaluation.
  * MSE: the quantization MSE (on the raw values) of our range is within
    1% of the best range a brute force over the same candidate grid finds.
    Our search scores a model of the data (values uniform within each of
    2048 histogram bins, exact zeros kept apart), not the raw values, which
    perturbs the objective slightly.

Prints a summary table and exits with status 1 on any mismatch.
"""

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time

import numpy as np

BATCHES = 8
BATCH_SIZE = 8192
BIN_TOLERANCE = 2.0
KL_TIE_TOLERANCE = 1e-4
MSE_TOLERANCE = 0.01


def make_batches(rng):
    """Per distribution, a list of float32 batches. The scale drifts upward
    over the batches so that the histograms have to grow and merge."""
    gens = {
        "normal": lambda n: rng.standard_normal(n),
        "uniform": lambda n: rng.uniform(-2.0, 3.0, n),
        "laplace": lambda n: rng.laplace(0.0, 1.0, n),
        "student_t3": lambda n: rng.standard_t(3.0, n),
        "lognormal": lambda n: rng.lognormal(0.0, 0.6, n) - 1.0,
        "outliers": lambda n: np.where(rng.random(n) < 1e-3,
                                       rng.uniform(20.0, 50.0, n)
                                       * rng.choice([-1.0, 1.0], n),
                                       rng.standard_normal(n)),
    }
    data = {}
    for name, gen in gens.items():
        data[name] = [(gen(BATCH_SIZE) * (1.0 + 0.08 * b)).astype(np.float32)
                      for b in range(BATCHES)]
    return data


def make_model(path, names):
    """x_<name> -> Relu -> r_<name>: ORT calibrates both the inputs and the
    Relu outputs, so the observed tensors are the data and its ReLU."""
    import onnx
    from onnx import TensorProto, helper

    nodes, inputs, outputs = [], [], []
    for name in names:
        inputs.append(helper.make_tensor_value_info(
            f"x_{name}", TensorProto.FLOAT, [BATCH_SIZE]))
        outputs.append(helper.make_tensor_value_info(
            f"r_{name}", TensorProto.FLOAT, [BATCH_SIZE]))
        nodes.append(helper.make_node("Relu", [f"x_{name}"], [f"r_{name}"],
                                      name=f"relu_{name}"))
    graph = helper.make_graph(nodes, "calibration_agreement", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


class OneBatchReader:
    """A CalibrationDataReader that yields a single batch."""

    def __init__(self, feed):
        self.feed = feed

    def get_next(self):
        feed, self.feed = self.feed, None
        return feed


def run_ort(model_path, work_dir, tag, method, extra, feeds):
    """Runs an ORT calibrator, one collect_data call per batch. Returns
    {tensor: (min, max, ORT's histogram tuple or None)}."""
    from onnxruntime.quantization.calibrate import (CalibrationMethod,
                                                    create_calibrator)

    ort_method = {"minmax": CalibrationMethod.MinMax,
                  "percentile": CalibrationMethod.Percentile,
                  "entropy": CalibrationMethod.Entropy}[method]
    augmented = os.path.join(work_dir, f"augmented_{tag}.onnx")
    with contextlib.redirect_stdout(io.StringIO()):
        calibrator = create_calibrator(model_path, None, augmented, ort_method,
                                       extra_options=extra)
        for feed in feeds:
            calibrator.collect_data(OneBatchReader(feed))
        tensors = calibrator.compute_data()
    result = {}
    for name in tensors:
        lo, hi = tensors[name].range_value
        hist = None
        collector = getattr(calibrator, "collector", None)
        if collector is not None:
            hist = collector.histogram_dict[name]
        result[name] = (float(np.asarray(lo).reshape(-1)[0]),
                        float(np.asarray(hi).reshape(-1)[0]), hist)
    return result


def run_ours(tool, work_dir, tag, flags, files):
    out = os.path.join(work_dir, f"table_{tag}.json")
    cmd = [tool] + flags + ["-o", out]
    for key, paths in files.items():
        cmd += [f"--input={key}={p}" for p in paths]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"quant-calibrate failed ({' '.join(flags)}):\n{proc.stderr}")
    with open(out) as f:
        table = json.load(f)
    return {k: (v["min"], v["max"]) for k, v in table["tensors"].items()}


# (tag, method, quant-calibrate flags, ORT extra_options, post-processing of
# ORT's range). ORT ignores `symmetric` in its entropy calibrator and applies
# it when computing the scale, from max(|min|, |max|): we compare with that.
def entropy_candidates(histogram, num_quantized_bins, post):
    """Every window ORT's get_entropy_threshold considers, as
    (min, max, KL divergence in float64), the thresholds clamped and
    post-processed as the final range would be."""
    hist, edges, mn, mx = histogram[:4]
    hist = hist.astype(np.float64)
    n = hist.size
    zero, half = n // 2, num_quantized_bins // 2
    cumsum = np.concatenate(([0.0], np.cumsum(hist)))

    def smooth(v):
        zeros = int((v == 0).sum())
        if zeros == v.size:
            return None
        eps1 = float(np.float32(1e-4 * zeros / (v.size - zeros)))
        v = np.where(v == 0, float(np.float32(1e-4)), v - eps1)
        return None if (v <= 0).any() else v

    result = []
    for i in range(half, zero + 1):
        start, end = zero - i, min(zero + i + 1, n)
        window = hist[start:end]
        p = window.copy()
        p[0] += cumsum[start]
        p[-1] += cumsum[n] - cumsum[end]
        merged = window.size // num_quantized_bins
        groups = window[:num_quantized_bins * merged].reshape(
            num_quantized_bins, merged).sum(axis=1)
        groups[-1] += window[num_quantized_bins * merged:].sum()
        nonzero = (p[:num_quantized_bins * merged] != 0).reshape(
            num_quantized_bins, merged).sum(axis=1)
        share = np.where(nonzero > 0,
                         np.floor(groups / np.maximum(nonzero, 1)), 0.0)
        q = np.zeros(window.size)
        q[:num_quantized_bins * merged] = np.repeat(share, merged)
        ps, qs = smooth(p), smooth(q)
        kl = np.inf
        if ps is not None and qs is not None:
            ps, qs = ps / ps.sum(), qs / qs.sum()
            kl = float(np.sum(ps * np.log(ps / qs)))
        lo, hi = max(float(edges[start]), float(mn)), \
            min(float(edges[end]), float(mx))
        if post:
            lo, hi = post(lo, hi)
        result.append((lo, hi, kl))
    return result


def is_entropy_tie(histogram, num_quantized_bins, post, ort_range,
                   our_range):
    """True if our range is the float64 KL optimum and ORT's range scores
    within KL_TIE_TOLERANCE (relative) of it. Returns (ok, relative gap)."""
    candidates = entropy_candidates(histogram, num_quantized_bins, post)
    best = min(candidates, key=lambda c: c[2])
    ours_is_best = (best[0], best[1]) == tuple(our_range)
    ort_kls = [kl for lo, hi, kl in candidates if (lo, hi) == tuple(ort_range)]
    if not ort_kls:
        return False, np.inf
    gap = (min(ort_kls) - best[2]) / best[2]
    return ours_is_best and gap <= KL_TIE_TOLERANCE, gap


def symmetrize(lo, hi):
    m = max(abs(lo), abs(hi))
    return -m, m


CONFIGS = [
    ("minmax", "minmax", [], {}, None),
    ("minmax-symmetric", "minmax", ["--symmetric"], {"symmetric": True}, None),
    ("minmax-moving-average", "minmax", ["--moving-average"],
     {"moving_average": True}, None),
    ("minmax-moving-average-0.3-symmetric", "minmax",
     ["--moving-average", "--averaging-constant=0.3", "--symmetric"],
     {"moving_average": True, "averaging_constant": 0.3, "symmetric": True},
     None),
    ("percentile", "percentile", [], {}, None),
    ("percentile-asymmetric", "percentile", ["--symmetric=false"],
     {"symmetric": False}, None),
    ("percentile-99.9-512", "percentile",
     ["--percentile=99.9", "--num-bins=512"],
     {"percentile": 99.9, "num_bins": 512}, None),
    ("entropy", "entropy", [], {}, None),
    ("entropy-512", "entropy", ["--num-bins=512"], {"num_bins": 512}, None),
    ("entropy-512-symmetric", "entropy", ["--num-bins=512", "--symmetric"],
     {"num_bins": 512, "symmetric": True}, symmetrize),
]


def check_ort(args, data):
    import onnxruntime

    names = list(data)
    model_path = os.path.join(args.work_dir, "model.onnx")
    make_model(model_path, names)
    feeds = [{f"x_{n}": data[n][b] for n in names} for b in range(BATCHES)]

    # The Relu outputs as ORT computes them, so both sides see the same bits.
    session = onnxruntime.InferenceSession(
        model_path, providers=["CPUExecutionProvider"])
    files = {}
    for b, feed in enumerate(feeds):
        relus = session.run(None, feed)
        arrays = dict(feed)
        arrays.update({o.name: r for o, r in zip(session.get_outputs(), relus)})
        for key, array in arrays.items():
            path = os.path.join(args.work_dir, f"{key}_{b}.npy")
            np.save(path, np.ascontiguousarray(array, dtype="<f4"))
            files.setdefault(key, []).append(path)

    failures = 0
    print(f"{'config':38} {'tensors':>7} {'exact':>5} {'max |diff|':>11} "
          f"{'max bins':>8} {'tolerance / ties':>22}")
    for tag, method, flags, extra, post in CONFIGS:
        ort = run_ort(model_path, args.work_dir, tag, method, extra, feeds)
        ours = run_ours(args.quant_calibrate, args.work_dir, tag,
                        [f"--method={method}"] + flags, files)
        if set(ort) != set(ours):
            print(f"{tag}: tensor sets differ: ORT {sorted(ort)} vs "
                  f"ours {sorted(ours)}")
            failures += 1
            continue
        exact, ties, worst_diff, worst_bins, worst_gap = 0, 0, 0.0, 0.0, 0.0
        for key in sorted(ort):
            lo, hi, histogram = ort[key]
            if post:
                lo, hi = post(lo, hi)
            our_lo, our_hi = ours[key]
            diff = max(abs(our_lo - lo), abs(our_hi - hi))
            exact += diff == 0.0
            worst_diff = max(worst_diff, diff)
            if method == "minmax":
                ok, bins = diff == 0.0, 0.0 if diff == 0.0 else np.inf
            else:
                edges = histogram[1]
                bins = diff / (float(edges[1]) - float(edges[0]))
                ok = bins <= BIN_TOLERANCE
                if not ok and method == "entropy":
                    nq = extra.get("num_quantized_bins", 128)
                    ok, gap = is_entropy_tie(histogram, nq, post, (lo, hi),
                                             (our_lo, our_hi))
                    ties += ok
                    worst_gap = max(worst_gap, gap)
                    if ok:
                        bins = 0.0  # Reported in the ties column instead.
            worst_bins = max(worst_bins, bins)
            if not ok:
                failures += 1
                print(f"  MISMATCH {tag} {key}: ORT [{lo!r}, {hi!r}] vs "
                      f"ours [{our_lo!r}, {our_hi!r}] ({bins:.2f} bins)")
        if method == "minmax":
            tolerance = "exact"
        elif ties:
            tolerance = f"{ties} KL tie(s) {worst_gap:.1e}"
        else:
            tolerance = f"<= {BIN_TOLERANCE:g} bins"
        print(f"{tag:38} {len(ort):7} {exact:5} {worst_diff:11.3g} "
              f"{worst_bins:8.3f} {tolerance:>22}")
    return failures


def quantization_mse(x, lo, hi, bits, symmetric):
    """The quantizer of Histogram.h's computeMSERange, on raw values."""
    if symmetric:
        qmax = 2.0 ** (bits - 1) - 1
        scale = hi / qmax
        if scale == 0:
            return float(np.mean(x * x))
        xhat = np.clip(np.rint(x / scale), -qmax, qmax) * scale
    else:
        qmax = 2.0 ** bits - 1
        scale = (hi - lo) / qmax
        zero_point = np.clip(np.rint(-lo / scale), 0, qmax)
        q = np.clip(np.rint(x / scale) + zero_point, 0, qmax)
        xhat = (q - zero_point) * scale
    return float(np.mean((x - xhat) ** 2))


def brute_force_mse(x, bits, symmetric, num_bins):
    """Best MSE over the candidate grid of computeMSERange (its coarse grid
    only, for the asymmetric case), evaluated on the raw values."""
    x = x.astype(np.float64)
    lo0, hi0 = float(np.float32(x.min())), float(np.float32(x.max()))
    best = np.inf
    if symmetric:
        m = max(abs(lo0), abs(hi0))
        steps = max(1, num_bins // 2)
        for k in range(1, steps + 1):
            t = float(np.float32(m * k / steps))
            best = min(best, quantization_mse(x, -t, t, bits, True))
        return best
    lo0, hi0 = min(lo0, 0.0), max(hi0, 0.0)
    steps = 64
    for i in range(steps + 1 if lo0 < 0 else 1):
        lo = float(np.float32(lo0 * i / steps))
        for j in range(steps + 1 if hi0 > 0 else 1):
            hi = float(np.float32(hi0 * j / steps))
            if lo < hi:
                best = min(best, quantization_mse(x, lo, hi, bits, False))
    return best


def check_mse(args, rng):
    """MSE against a numpy brute force, on smaller data (the brute force is
    O(candidates x values))."""
    n, batches = 4096, 4
    dists = {
        "normal": lambda: rng.standard_normal(n),
        "laplace": lambda: rng.laplace(0.0, 1.0, n),
        "relu_t3": lambda: np.maximum(rng.standard_t(3.0, n), 0.0),
    }
    files, raw = {}, {}
    for name, gen in dists.items():
        arrays = [gen().astype(np.float32) for _ in range(batches)]
        raw[name] = np.concatenate(arrays)
        for b, array in enumerate(arrays):
            path = os.path.join(args.work_dir, f"mse_{name}_{b}.npy")
            np.save(path, array)
            files.setdefault(name, []).append(path)

    failures = 0
    for symmetric in (True, False):
        for bits in (8, 4):
            flags = ["--method=mse", f"--num-bits={bits}",
                     f"--symmetric={'true' if symmetric else 'false'}"]
            tag = f"mse-{'sym' if symmetric else 'asym'}-{bits}bit"
            ours = run_ours(args.quant_calibrate, args.work_dir, tag, flags,
                            files)
            worst = 0.0
            for name, x in raw.items():
                lo, hi = ours[name]
                mine = quantization_mse(x.astype(np.float64), lo, hi, bits,
                                        symmetric)
                best = brute_force_mse(x, bits, symmetric, 2048)
                ratio = mine / best - 1.0
                worst = max(worst, ratio)
                if ratio > MSE_TOLERANCE:
                    failures += 1
                    print(f"  MISMATCH {tag} {name}: our range [{lo}, {hi}] "
                          f"has MSE {mine:.6g}, brute force {best:.6g}")
            print(f"{tag:38} {len(raw):7} {'':5} {'':11} {'':8} "
                  f"{'MSE +' + format(worst * 100, '.3f') + '%':>22}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quant-calibrate", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)

    start = time.time()
    rng = np.random.default_rng(args.seed)
    failures = check_ort(args, make_batches(rng))
    failures += check_mse(args, rng)
    elapsed = time.time() - start
    if failures:
        print(f"FAILED: {failures} mismatches ({elapsed:.1f} s)")
        return 1
    print(f"OK: quant-calibrate agrees with onnxruntime and the MSE brute "
          f"force ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
