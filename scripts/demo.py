#!/usr/bin/env python3
"""The demo's main job: compile the bundled example model in float and in
several quantization schemes, run every bundle, and compare accuracy with
onnxruntime float and speed with onnxruntime (float and int8) in the same
process.

Usage: demo.py BUILD_DIR MODEL.onnx WORK_DIR

Accuracy is measured on 2048 inputs drawn from the same distribution as the
calibration inputs (a different seed): top-1 agreement with onnxruntime's
float output and the largest absolute difference of the output
probabilities. Speed is the median latency of one batch of 256 rows, ours
and onnxruntime's, both with 2 threads.
"""

import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic


def main(argv):
    build, model, work = argv[1], argv[2], argv[3]
    os.makedirs(work, exist_ok=True)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                    "python-bindings"))
    os.environ.setdefault("QUANTOPT_RUNTIME_LIB",
                          os.path.join(build, "lib", "libquantrt.so"))
    from quantopt.runtime import Bundle, set_num_threads, tune_allocator

    threads = 2
    set_num_threads(threads)
    tune_allocator()  # the demo process is ours to tune, as quant-run does
    sess_float = ort.InferenceSession(model, _options(threads))
    in_name = sess_float.get_inputs()[0].name
    features = sess_float.get_inputs()[0].shape[1]

    # Calibration samples: 16 batches of 32 rows.
    calib = os.path.join(work, "calib")
    os.makedirs(calib, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(16):
        np.savez(os.path.join(calib, f"sample{i:02d}.npz"),
                 **{in_name: rng.standard_normal((32, features))
                    .astype(np.float32)})
    evaluation = np.random.default_rng(1).standard_normal(
        (2048, features)).astype(np.float32)
    reference = sess_float.run(None, {in_name: evaluation})[0]

    configs = [
        ("float", []),
        ("w8a8 static (calibrated)", ["--scheme=w8a8", "--calib-data", calib]),
        ("w8a8 dynamic", ["--scheme=w8a8", "--activation-mode=dynamic"]),
        ("w4a16 (group 32)", ["--scheme=w4a16", "--group-size=32"]),
    ]
    batch = evaluation[:256]
    rows = []
    for name, args in configs:
        out = os.path.join(work, name.split()[0] + ".qob")
        t0 = time.perf_counter()
        subprocess.run([os.path.join(build, "bin", "quant-compile"), model,
                        "-o", out, "--quiet", *args], check=True,
                       stderr=subprocess.DEVNULL)
        compile_s = time.perf_counter() - t0
        bundle = Bundle(out)
        ours = bundle.run(evaluation)[bundle.outputs[0].name]
        agree = float(np.mean(ours.argmax(1) == reference.argmax(1)))
        err = float(np.abs(ours - reference).max())
        ms = _median_ms(lambda: bundle.run(batch))
        rows.append((f"ours {name}", agree, err, ms, compile_s))

    ort_ms = _median_ms(lambda: sess_float.run(None, {in_name: batch}))
    int8 = os.path.join(work, "model.int8.onnx")
    quantize_dynamic(model, int8, weight_type=QuantType.QInt8)
    sess_int8 = ort.InferenceSession(int8, _options(threads))
    ort8 = sess_int8.run(None, {in_name: evaluation})[0]
    ort8_ms = _median_ms(lambda: sess_int8.run(None, {in_name: batch}))
    rows.append(("onnxruntime float", 1.0, 0.0, ort_ms, None))
    rows.append(("onnxruntime int8 dynamic",
                 float(np.mean(ort8.argmax(1) == reference.argmax(1))),
                 float(np.abs(ort8 - reference).max()), ort8_ms, None))

    print(f"\nmodel: {model}; {len(evaluation)} evaluation rows; latency of "
          f"a batch of {len(batch)} rows, {threads} threads")
    print(f"{'configuration':<34} {'top-1 agree':>11} {'max |diff|':>11} "
          f"{'latency ms':>11} {'vs ORT float':>12}")
    for name, agree, err, ms, _ in rows:
        print(f"{name:<34} {agree:>10.2%} {err:>11.2e} {ms:>11.3f} "
              f"{ort_ms / ms:>11.2f}x")
    print("(accuracy is against onnxruntime float; 'vs ORT float' > 1 means "
          "faster than onnxruntime float)")
    return 0


def _options(threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return o


def _median_ms(fn, warmup=5, iterations=50):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
