#!/usr/bin/env python3
"""Checks every user-facing error of quant-calibrate, and the .npy variants
it must accept.

For each error case: the exit status is non-zero, stderr carries the
expected message, and the output file is neither created nor modified (a
sentinel written before the run must survive byte for byte). The success
cases cover .npy format versions 1.0/2.0/3.0, multi-dimensional arrays, a
misaligned data offset (read through the copying path), NaNs, stdout
output, and that several keys and batches land in one table.

Prints one line per case and exits with status 1 if any case fails.
"""

import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np


def npy_bytes(descr="<f4", fortran=False, shape=(4,), data=None,
              version=(1, 0), header=None, pad_to=64):
    """A .npy file built by hand, so that malformed variants are easy."""
    if data is None:
        count = int(np.prod(shape))
        data = np.arange(count, dtype=np.float32).tobytes()
    if header is None:
        shape_text = "(" + ", ".join(str(d) for d in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        header = (f"{{'descr': '{descr}', 'fortran_order': "
                  f"{'True' if fortran else 'False'}, 'shape': {shape_text}, }}")
    length_size = 2 if version[0] == 1 else 4
    preamble = 6 + 2 + length_size
    header = header.encode("latin1")
    if pad_to:
        total = preamble + len(header) + 1
        header += b" " * (-total % pad_to) + b"\n"
    length = struct.pack("<H" if length_size == 2 else "<I", len(header))
    return b"\x93NUMPY" + bytes(version) + length + header + data


class Runner:
    def __init__(self, tool, work_dir):
        self.tool = tool
        self.work_dir = work_dir
        self.failures = 0
        self.count = 0

    def path(self, name):
        return os.path.join(self.work_dir, name)

    def write(self, name, content):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def save(self, name, array):
        path = self.path(name)
        np.save(path, array)
        return path

    def run(self, args, output):
        return subprocess.run([self.tool] + args + ["-o", output],
                              capture_output=True, text=True)

    def report(self, name, ok, detail=""):
        self.count += 1
        print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail
                                                     and not ok else ""))
        self.failures += not ok

    def expect_error(self, name, args, message, output=None):
        sentinel = b"sentinel: must survive a failed run\n"
        if output is None:
            output = self.write(f"out_{name}.json", sentinel)
        proc = self.run(args, output)
        problems = []
        if proc.returncode == 0:
            problems.append("exit status 0")
        if message not in proc.stderr:
            problems.append(f"stderr lacks {message!r}; got {proc.stderr!r}")
        if os.path.exists(output):
            with open(output, "rb") as f:
                if f.read() != sentinel:
                    problems.append("the output file was modified")
        out_dir = os.path.dirname(output) or "."
        leftovers = [f for f in os.listdir(out_dir)
                     if ".temp-stream-" in f] if os.path.isdir(out_dir) else []
        if leftovers:
            problems.append(f"temporary files left behind: {leftovers}")
        self.report(name, not problems, "; ".join(problems))

    def expect_table(self, name, args, expected):
        """Runs successfully and checks {key: (min, max)} of the table."""
        output = self.path(f"out_{name}.json")
        if os.path.exists(output):
            os.remove(output)
        proc = self.run(args, output)
        if proc.returncode != 0:
            self.report(name, False, f"failed: {proc.stderr.strip()}")
            return
        with open(output) as f:
            table = json.load(f)
        got = {k: (v["min"], v["max"]) for k, v in table["tensors"].items()}
        self.report(name, got == expected, f"got {got}, expected {expected}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quant-calibrate", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    r = Runner(args.quant_calibrate, args.work_dir)

    good = r.save("good.npy", np.array([-1.5, 0.0, 2.25, 1.0], np.float32))
    in_good = [f"--input=x={good}"]

    # --- Options -----------------------------------------------------------
    r.expect_error("unknown-method", ["--method=kl"] + in_good,
                   "quant-calibrate: error: unknown calibration method 'kl'; "
                   "valid methods are minmax, percentile, entropy, mse")
    r.expect_error("inapplicable-option",
                   ["--method=entropy", "--percentile=99"] + in_good,
                   "--percentile does not apply to method 'entropy'; its "
                   "options are --symmetric, --num-bins, --num-quantized-bins")
    r.expect_error("inapplicable-moving-average",
                   ["--method=percentile", "--moving-average"] + in_good,
                   "--moving-average does not apply to method 'percentile'")
    r.expect_error("percentile-range",
                   ["--method=percentile", "--percentile=101"] + in_good,
                   "invalid --percentile 101: must be in [0, 100]")
    r.expect_error("averaging-constant-range",
                   ["--moving-average", "--averaging-constant=2"] + in_good,
                   "invalid --averaging-constant 2: must be in [0, 1]")
    r.expect_error("num-bins-zero",
                   ["--method=percentile", "--num-bins=0"] + in_good,
                   "invalid --num-bins 0: must be in [1, 1048576]")
    r.expect_error("quantized-bins-exceed-bins",
                   ["--method=entropy", "--num-bins=64"] + in_good,
                   "--num-quantized-bins (128) must not exceed --num-bins "
                   "(64); raise --num-bins or lower --num-quantized-bins")
    r.expect_error("quantized-bins-zero",
                   ["--method=entropy", "--num-quantized-bins=0"] + in_good,
                   "invalid --num-quantized-bins 0: must be at least 1")
    r.expect_error("num-bits-range", ["--method=mse", "--num-bits=1"] + in_good,
                   "invalid --num-bits 1: must be in [2, 16]")
    r.expect_error("non-numeric-flag",
                   ["--method=entropy", "--num-bins=abc"] + in_good,
                   "'abc' value invalid for uint argument")

    # --- Inputs ------------------------------------------------------------
    r.expect_error("no-inputs", [],
                   "no inputs; pass --input KEY=FILE.npy once per batch")
    r.expect_error("input-without-key", [f"--input={good}"],
                   f"--input '{good}' must be KEY=FILE.npy")
    r.expect_error("input-empty-key", [f"--input=={good}"],
                   "has an empty tensor key")
    r.expect_error("input-empty-file", ["--input=x="],
                   "--input 'x=' has an empty file name")

    # --- .npy files --------------------------------------------------------
    def npy_error(name, content, message, key="x"):
        path = r.write(f"{name}.npy", content) if content is not None \
            else r.path(f"{name}.npy")
        r.expect_error(f"npy-{name}", [f"--input={key}={good}",
                                       f"--input={key}={path}"],
                       f"'{path}' (tensor '{key}', batch 1): {message}")

    npy_error("missing", None, "cannot open the file '" + os.path.join(
        args.work_dir, "missing.npy") + "': No such file or directory")
    npy_error("bad-magic", b"not a numpy file at all",
              "not a .npy file (it does not start with the magic string "
              "\\x93NUMPY)")
    npy_error("npz", b"PK\x03\x04rest of a zip",
              "this is a .npz archive (or another zip file)")
    npy_error("no-version", b"\x93NUMPY", "truncated .npy file: no format "
              "version")
    npy_error("version-4", npy_bytes(version=(4, 0)),
              "unsupported .npy format version 4.0; versions 1.0, 2.0 and "
              "3.0 are supported")
    npy_error("truncated-header", npy_bytes()[:40],
              "truncated .npy file: the header is 118 bytes but the file "
              "ends after 30")
    npy_error("header-missing-shape",
              npy_bytes(header="{'descr': '<f4', 'fortran_order': False}"),
              "malformed .npy header (missing 'shape')")
    npy_error("header-garbage", npy_bytes(header="descr=<f4"),
              "malformed .npy header (expected '{')")
    npy_error("header-bad-shape",
              npy_bytes(header="{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (-4,), }"),
              "malformed .npy header ('shape' must hold non-negative "
              "integers)")
    npy_error("dtype-float64", npy_bytes(descr="<f8", data=b"\0" * 32),
              "unsupported dtype '<f8'; quant-calibrate reads float32 "
              "('<f4') arrays: save arr.astype(np.float32)")
    npy_error("dtype-int32", npy_bytes(descr="<i4"), "unsupported dtype '<i4'")
    npy_error("dtype-big-endian", npy_bytes(descr=">f4"),
              "unsupported dtype '>f4' (big-endian float32)")
    npy_error("dtype-structured",
              npy_bytes(header="{'descr': [('a', '<f4')], 'fortran_order': "
                        "False, 'shape': (4,), }"),
              "structured dtypes are not supported")
    npy_error("fortran-order", npy_bytes(fortran=True, shape=(2, 2)),
              "Fortran-order arrays are not supported; save a C-order array")
    npy_error("truncated-data", npy_bytes(shape=(100,), data=b"\0" * 396),
              "truncated data: shape (100,) needs 400 bytes of float32 data "
              "but the file holds 396")
    npy_error("trailing-bytes", npy_bytes(shape=(2,), data=b"\0" * 12),
              "4 unexpected bytes after the data of shape (2,)")
    npy_error("empty-array", npy_bytes(shape=(0, 3), data=b""),
              "the array has no elements")
    npy_error("infinity",
              npy_bytes(data=np.array([0, 1, 2, np.inf], np.float32).tobytes()),
              "element 3 is +inf; a calibration range must be finite")
    r.expect_error("all-nan", [f"--input=y={r.save('nan.npy', np.full(3, np.nan, np.float32))}"],
                   "tensor 'y': no finite values were observed")
    huge = r.save("huge.npy", np.array([-3e38, 3e38], np.float32))
    r.expect_error("histogram-overflow", ["--method=entropy",
                                          f"--input=x={huge}"],
                   "too large to histogram in float32")

    # --- Output ------------------------------------------------------------
    unwritable = os.path.join(args.work_dir, "no-such-dir", "t.json")
    r.expect_error("unwritable-output", in_good,
                   f"-o '{unwritable}': the directory "
                   f"'{os.path.dirname(unwritable)}' does not exist; create "
                   "it first", output=unwritable)

    # --- Accepted inputs ---------------------------------------------------
    values = np.array([[-3.0, 0.5], [7.25, np.nan]], np.float32)
    variants = {
        "v1": npy_bytes(shape=(2, 2), data=values.tobytes()),
        "v2": npy_bytes(shape=(2, 2), data=values.tobytes(), version=(2, 0)),
        "v3": npy_bytes(shape=(2, 2), data=values.tobytes(), version=(3, 0)),
        # Data at offset 10 + 31 = 41, not a multiple of 4.
        "misaligned": npy_bytes(shape=(2, 2), data=values.tobytes(),
                                pad_to=None, header="{'descr': '<f4', "
                                "'fortran_order': False, 'shape': (2, 2)}  "),
        "numpy": None,
    }
    for name, content in variants.items():
        path = r.save(f"ok_{name}.npy", values) if content is None else \
            r.write(f"ok_{name}.npy", content)
        r.expect_table(f"accepts-{name}", [f"--input=t={path}"],
                       {"t": (-3.0, 7.25)})
    second = r.save("second.npy", np.array([-4.0, 1.0], np.float32))
    r.expect_table("keys-and-batches",
                   [f"--input=a={good}", f"--input=b={second}",
                    f"--input=a={second}"],
                   {"a": (-4.0, 2.25), "b": (-4.0, 1.0)})
    proc = subprocess.run([args.quant_calibrate] + in_good,
                          capture_output=True, text=True)
    r.report("stdout-output", proc.returncode == 0 and
             json.loads(proc.stdout)["tensors"]["x"] == {"min": -1.5,
                                                         "max": 2.25},
             proc.stderr)

    if r.failures:
        print(f"FAILED: {r.failures} of {r.count} cases")
        return 1
    print(f"OK: {r.count} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
