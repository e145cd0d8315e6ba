"""Shared helpers of the end-to-end numerics tests (test/e2e/check_*.py).

Every test compiles ONNX models generated at test time with quant-compile,
runs the bundle in process through the Python ctypes wrapper
(python-bindings/quantopt/runtime.py over libquantrt) and compares with
onnxruntime. Tools are passed on the command line so that ctest can use the
targets of the build under test:

    check_x.py --quant-compile BIN --quant-run BIN --quantrt LIB --work-dir DIR
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python-bindings"))
sys.path.insert(0, os.path.join(ROOT, "test", "Import", "ONNX", "Inputs"))


def parse_args(description, argv=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quant-compile", required=True)
    p.add_argument("--quant-run", required=True)
    p.add_argument("--quantrt", required=True, help="path to libquantrt.so")
    p.add_argument("--work-dir", required=True)
    args = p.parse_args(argv)
    for tool in (args.quant_compile, args.quant_run, args.quantrt):
        if not os.path.isfile(tool):
            p.error(f"not a file: {tool}")
    os.environ["QUANTOPT_RUNTIME_LIB"] = os.path.abspath(args.quantrt)
    if os.path.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    os.makedirs(args.work_dir)
    return args


def log(msg):
    print(msg, flush=True)


class Checker:
    """Counts failed comparisons; every check prints one line."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.start = time.time()

    def check(self, ok, what):
        log(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)
        return ok

    def finish(self):
        log(f"{self.name}: {len(self.failures)} failure(s) "
            f"in {time.time() - self.start:.1f}s")
        for f in self.failures:
            log(f"  FAILED: {f}")
        return 1 if self.failures else 0


def compile_model(quant_compile, model, out, *flags, check=True):
    """Runs quant-compile; returns the CompletedProcess."""
    cmd = [quant_compile, model, "-o", out, "--quiet", *flags]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, errors="replace")
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n"
                           f"{r.stderr}{r.stdout}")
    return r


def bundle(path):
    from quantopt.runtime import Bundle

    return Bundle(path)


def ort_session(model_path, optimized=False, threads=1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                                   if optimized else
                                   ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_path, so,
                                providers=["CPUExecutionProvider"])


def ort_run(session, feeds):
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def max_abs(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))


def compare(checker, label, got, ref, atol):
    """Asserts max|got - ref| <= atol, same shape and dtype; prints both."""
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return checker.check(False, f"{label}: got {got.dtype}{list(got.shape)}"
                             f", expected {ref.dtype}{list(ref.shape)}")
    err = max_abs(got, ref)
    scale = float(np.max(np.abs(ref.astype(np.float64)))) if ref.size else 0.0
    return checker.check(err <= atol,
                         f"{label}: max|diff| = {err:.3g} (max|ref| = "
                         f"{scale:.3g}, tolerance {atol:.3g})")
