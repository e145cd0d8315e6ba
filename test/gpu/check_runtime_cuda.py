#!/usr/bin/env python3
"""libquantrt's CUDA execution path on a real GPU (ctest gpu-runtime).

    check_runtime_cuda.py --quantrt build/lib/libquantrt.so \
        --bundle-dir DIR [--python-path python-bindings]

Without a usable GPU (no libcuda.so.1, cuInit or the device count fails)
it prints "SKIPPED: no CUDA device (<reason>)" and exits 0. Otherwise it
reports the device, then, for every CUDA bundle DIR/NAME.qob that has
inputs DIR/NAME.inputs.npz (entries named after the model's inputs), runs
it with and without CUDA graphs, compares the outputs with
DIR/NAME.expected.npz when present (exactly for integer outputs, else
within --rtol/--atol), and benchmarks it with CUDA events. Prints one line
per check; exits 1 if any failed.
"""

import argparse
import glob
import os
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quantrt", required=True,
                        help="path of libquantrt.so")
    parser.add_argument("--bundle-dir", required=True,
                        help="directory of CUDA bundles (may be empty)")
    parser.add_argument("--python-path",
                        default=os.path.join(os.path.dirname(__file__), "..",
                                             "..", "python-bindings"))
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-3)
    args = parser.parse_args()

    sys.path.insert(0, os.path.abspath(args.python_path))
    from quantopt import runtime

    try:
        name = runtime.cuda_device_name(library=args.quantrt)
    except runtime.QuantOptError as e:
        if e.status != "QRT_ERROR_UNSUPPORTED_DEVICE":
            raise
        print(f"SKIPPED: no CUDA device ({e})")
        return 0
    print(f"device: {name} (QUANTOPT_CUDA_DEVICE="
          f"{os.environ.get('QUANTOPT_CUDA_DEVICE', '0')})")

    failures = 0
    count = 0

    def report(check, ok, detail=""):
        nonlocal failures, count
        count += 1
        failures += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'}: {check}"
              + (f"\n    {detail}" if detail and not ok else ""))

    for path in sorted(glob.glob(os.path.join(args.bundle_dir, "*.qob"))):
        stem = path[:-len(".qob")]
        label = os.path.basename(stem)
        try:
            bundle = runtime.Bundle(path, library=args.quantrt)
        except runtime.QuantOptError as e:
            report(f"{label}: loads", False, f"{e.status}: {e}")
            continue
        with bundle:
            report(f"{label}: is a CUDA bundle", bundle.device == "cuda",
                   bundle.device)
            if not os.path.exists(stem + ".inputs.npz"):
                print(f"NOTE: {label}: no {label}.inputs.npz, not run")
                continue
            inputs = dict(np.load(stem + ".inputs.npz"))
            want = (dict(np.load(stem + ".expected.npz"))
                    if os.path.exists(stem + ".expected.npz") else None)
            for graph in (False, True):
                mode = "graph" if graph else "stream"
                try:
                    bundle.set_cuda_graph(graph)
                    outputs = [bundle.run(inputs) for _ in range(2)]
                except runtime.QuantOptError as e:
                    report(f"{label} ({mode}): runs", False,
                           f"{e.status}: {e}")
                    continue
                same = all(np.array_equal(outputs[0][k], outputs[1][k])
                           for k in outputs[0])
                report(f"{label} ({mode}): two runs agree", same)
                if want is not None:
                    problems = []
                    for key, value in want.items():
                        got = outputs[0].get(key)
                        if got is None or got.shape != value.shape:
                            problems.append(f"{key}: missing or shape")
                        elif np.issubdtype(value.dtype, np.integer):
                            if not np.array_equal(got, value):
                                problems.append(f"{key}: differs")
                        elif not np.allclose(got, value, rtol=args.rtol,
                                             atol=args.atol):
                            problems.append(
                                f"{key}: max abs diff "
                                f"{np.abs(got - value).max()}")
                    report(f"{label} ({mode}): outputs match expected",
                           not problems, "; ".join(problems))
                try:
                    times = bundle.benchmark(inputs, warmup=3, iterations=10)
                    stats = runtime.benchmark_stats(times)
                    report(f"{label} ({mode}): benchmark (CUDA events)",
                           times.shape == (10,) and (times > 0).all(),
                           repr(times))
                    print(f"    median {stats['median_ms']:.4f} ms, "
                          f"min {stats['min_ms']:.4f} ms")
                except runtime.QuantOptError as e:
                    report(f"{label} ({mode}): benchmark", False,
                           f"{e.status}: {e}")

    print(f"{count - failures}/{count} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
