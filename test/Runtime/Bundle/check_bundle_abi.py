#!/usr/bin/env python3
"""A bundle cannot make the loader misbehave (issue 14, items 2 and 5).

Compiles a real model (examples/mlp/model.onnx) with quant-compile, then
edits its manifest the way someone who knows the format would: every
checksum recomputed by `quant-bundle-test-writer --rewrite-manifest`. The
code's ABI descriptor (`quantopt_abi`, see BundleFormat.h) must make the
loader refuse each edit with the manifest field named, through quant-run
and through the C API (ctypes on libquantrt), instead of resolving the
entry in libc, running the code on a weight table it does not expect, or
reading outputs with the wrong dtype:

  - entry "exit" (libc), "qrt_bundle_load" (libquantrt), a made-up name;
  - a weight removed, reordered, its dtype, shape (and size) or offset
    changed;
  - an output's dtype, an input's rank, static dim and dim name changed;
  - the target's CPU features or kind changed;
  - code without a descriptor (compiled before it existed) and a manifest
    of format version 1;
  - a FIFO, /dev/zero and a directory as the bundle: a clear error, no hang
    (every command runs under a timeout);
  - the unedited bundle, and one rewritten with its own manifest, still
    load and run;
  - loading a bundle does not change malloc's settings (issue 15, item 5);
    qrt_tune_allocator does.

    --group cpu    the above;
    --group cuda   quant-compile --target sm_80 (no GPU needed): the bundle
                   passes validation up to the CUDA driver, and an edited
                   one is refused before the driver is needed.

Prints one line per case; exits 1 if any failed.
"""

import argparse
import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np

from bundle_layout import section_table  # noqa: E402

TIMEOUT = 30
FIX = "recompile the model with quant-compile"


def read_manifest(path):
    with open(path, "rb") as f:
        data = f.read()
    offset, size = section_table(data)["manifest"]
    return json.loads(data[offset:offset + size])


def read_descriptor(path):
    """The JSON of the code's `quantopt_abi` (found by its contents: the
    loader reads it through the ELF symbol table)."""
    with open(path, "rb") as f:
        data = f.read()
    offset, size = section_table(data)["native"]
    native = data[offset:offset + size]
    at = native.find(b'{"abi_version":')
    if at < 0:
        return None
    return json.loads(native[at:native.index(b"\0", at)])


# The C API, in a child process so that a hang or crash is a failed case.
C_API_LOAD = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
lib.qrt_last_error.restype = ctypes.c_char_p
lib.qrt_status_name.restype = ctypes.c_char_p
bundle = ctypes.c_void_p()
status = lib.qrt_bundle_load(sys.argv[2].encode(), ctypes.byref(bundle))
print(lib.qrt_status_name(status).decode())
print(lib.qrt_last_error().decode() if status else "")
if status == 0:
    lib.qrt_bundle_free(bundle)
"""


# Whether a 64 MiB malloc is served by mmap (glibc's IS_MMAPPED bit in the
# chunk header; 64 MiB is above glibc's largest dynamic mmap threshold, so
# only an explicit M_MMAP_THRESHOLD keeps it in the heap), after loading a
# bundle and after qrt_tune_allocator.
C_API_MALLOC = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def mmapped():
    p = libc.malloc(64 << 20)
    flag = ctypes.c_size_t.from_address(p - 8).value & 2
    libc.free(p)
    return "mmap" if flag else "heap"
bundle = ctypes.c_void_p()
assert lib.qrt_bundle_load(sys.argv[2].encode(), ctypes.byref(bundle)) == 0
print(mmapped(), lib.qrt_tune_allocator(), mmapped())
"""


class Tester:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work_dir)
        os.makedirs(self.work, exist_ok=True)
        self.failures = 0
        x = np.random.default_rng(0).standard_normal((3, 64))
        self.x_npy = self.path("x.npy")
        np.save(self.x_npy, x.astype(np.float32))

    def path(self, name):
        return os.path.join(self.work, name)

    def report(self, name, ok, detail=""):
        if not ok:
            self.failures += 1
        print(f"{'PASS' if ok else 'FAIL'}: {name}"
              + (f"\n    {detail}" if detail and not ok else ""))

    def command(self, cmd, env=None):
        """(exit status, stdout, stderr); a timeout is status None."""
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return None, "", f"timed out after {TIMEOUT} s"

    def compile(self, name, *flags):
        out = self.path(name)
        status, _, err = self.command([self.args.quant_compile,
                                       self.args.model, "-o", out, "--quiet",
                                       *flags])
        if status != 0:
            raise RuntimeError(f"quant-compile {' '.join(flags)} failed: "
                               f"{err}")
        return out

    def rewrite(self, name, bundle, manifest):
        """`bundle` with its manifest replaced, checksums recomputed."""
        return self.rewrite_text(name, bundle, json.dumps(manifest, indent=2))

    def rewrite_text(self, name, bundle, text):
        """`bundle` with its manifest replaced by `text` (need not be JSON)."""
        manifest_path = self.path(name + ".json")
        with open(manifest_path, "w") as f:
            f.write(text)
        out = self.path(name)
        subprocess.run([self.args.writer, "--rewrite-manifest", manifest_path,
                        "--from", bundle, "-o", out], check=True,
                       timeout=TIMEOUT)
        return out

    def quant_run(self, bundle, env=None):
        return self.command([self.args.quant_run, bundle, "--input",
                             self.x_npy], env=env)

    def c_api_load(self, bundle, env=None):
        """(status name, message) of qrt_bundle_load in a child process."""
        status, out, err = self.command(
            [sys.executable, "-c", C_API_LOAD, self.args.runtime_lib, bundle],
            env=env)
        if status is None:
            return "TIMEOUT", err
        if status != 0:
            return f"CRASH (exit {status})", err
        lines = out.split("\n", 1)
        return lines[0], lines[1].strip() if len(lines) > 1 else ""

    def expect_refused(self, name, bundle, phrases, status="INVALID_BUNDLE",
                       env=None):
        """quant-run and qrt_bundle_load both refuse with every phrase."""
        code, _, err = self.quant_run(bundle, env)
        problems = []
        if code is None:
            problems.append("quant-run hung")
        elif code == 0:
            problems.append("quant-run exit status 0")
        elif code < 0:
            problems.append(f"quant-run crashed (signal {-code})")
        problems += [f"quant-run: missing {p!r}" for p in phrases
                     if p not in err]
        got, message = self.c_api_load(bundle, env)
        if got != "QRT_ERROR_" + status:
            problems.append(f"C API: {got}, expected QRT_ERROR_{status}")
        problems += [f"C API: missing {p!r}" for p in phrases
                     if p not in message]
        self.report(name, not problems,
                    "; ".join(problems) + f"\n    quant-run: {err.strip()}"
                    f"\n    C API: {message}")

    # ---- groups ----------------------------------------------------------
    def group_cpu(self):
        bundle = self.compile("mlp.qob")
        manifest = read_manifest(bundle)
        descriptor = read_descriptor(bundle)

        # The descriptor records what the manifest says.
        ok = (descriptor is not None and descriptor["abi_version"] == 1 and
              all(descriptor[k] == manifest[k]
                  for k in ["entry", "target", "inputs", "outputs",
                            "weights"]))
        self.report("descriptor in the code matches the compiled manifest",
                    ok, f"{descriptor}")

        # Positive: unedited, and rewritten with its own manifest.
        for label, path in [("unedited", bundle),
                            ("rewritten with its own manifest",
                             self.rewrite("same.qob", bundle, manifest))]:
            code, out, err = self.quant_run(path)
            self.report(f"{label} bundle loads and runs",
                        code == 0 and "probs: float32 [3, 10]" in out,
                        f"exit {code}: {err.strip()}")
            got, message = self.c_api_load(path)
            self.report(f"{label} bundle loads through the C API",
                        got == "QRT_OK", f"{got}: {message}")

        # Loading leaves the process's allocator alone; tuning is opt-in.
        status, out, err = self.command(
            [sys.executable, "-c", C_API_MALLOC, self.args.runtime_lib,
             bundle])
        self.report("loading does not tune malloc; qrt_tune_allocator does",
                    status == 0 and out.split() == ["mmap", "0", "heap"],
                    f"exit {status}: {out.strip()} {err.strip()}")

        def edited(name, edit, phrases, status="INVALID_BUNDLE"):
            m = json.loads(json.dumps(manifest))
            edit(m)
            self.expect_refused(name, self.rewrite(name + ".qob", bundle, m),
                                phrases, status)

        # The entry resolves only to the code's own function.
        for entry in ["exit", "qrt_bundle_load", "no_such_symbol"]:
            edited(f"entry '{entry}'",
                   lambda m, e=entry: m.__setitem__("entry", e),
                   ["manifest field 'entry'", f"is '{entry}'",
                    "compiled for 'quantopt_entry'", FIX])

        # The weight table as the code indexes it.
        weights = manifest["weights"]
        assert len(weights) >= 2, "the MLP has several weights"
        edited("weight removed", lambda m: m["weights"].pop(),
               ["manifest field 'weights'",
                f"{len(weights) - 1} weights",
                f"compiled for {len(weights)} weights"])
        edited("weights reordered",
               lambda m: m["weights"].reverse(),
               ["manifest field 'weights[0].name'",
                f"is '{weights[-1]['name']}'",
                f"compiled for '{weights[0]['name']}'"])
        w = weights[1]
        other = "uint8" if w["dtype"] == "int8" else "int8"
        edited("weight dtype changed (same size)",
               lambda m: m["weights"][1].__setitem__("dtype", other)
               if w["dtype"] in ("int8", "uint8") else
               m["weights"][1].update(dtype="int32" if w["dtype"] ==
                                      "float32" else "float32"),
               ["manifest field 'weights[1].dtype'"])

        def shrink(m):
            # Shape and size changed together, so that only the code can
            # tell: the weight now ends early.
            entry = m["weights"][1]
            entry["shape"] = [entry["shape"][0] // 2] + entry["shape"][1:]
            entry["size"] = entry["size"] // 2
        edited("weight shape and size changed", shrink,
               ["manifest field 'weights[1].shape'",
                f"compiled for {json.dumps(w['shape'])}"])
        edited("weight offset changed (still inside, aligned)",
               lambda m: m["weights"][0].__setitem__(
                   "offset", weights[1]["offset"]),
               ["manifest field 'weights[0].offset'",
                f"is {weights[1]['offset']}",
                f"compiled for {weights[0]['offset']}"])

        # Inputs and outputs.
        out_dtype = manifest["outputs"][0]["dtype"]
        edited("output dtype changed",
               lambda m: m["outputs"][0].__setitem__("dtype", "int8"),
               [f"manifest field 'outputs[0].dtype' is 'int8' but the code "
                f"was compiled for '{out_dtype}'"])
        in_shape = manifest["inputs"][0]["shape"]

        def rank(m):
            m["inputs"][0]["shape"] = in_shape + [1]
            m["inputs"][0]["dims"] = manifest["inputs"][0]["dims"] + [None]
        edited("input rank changed", rank,
               ["manifest field 'inputs[0].shape'",
                f"(rank {len(in_shape) + 1})",
                f"compiled for {json.dumps(in_shape).replace(',', ', ')}"
                .replace(",  ", ", ")])
        edited("input static dim changed",
               lambda m: m["inputs"][0]["shape"].__setitem__(
                   1, in_shape[1] // 2),
               ["manifest field 'inputs[0].shape[1]'",
                f"is {in_shape[1] // 2}", f"compiled for {in_shape[1]}"])
        edited("input dim name removed",
               lambda m: m["inputs"][0]["dims"].__setitem__(0, None),
               ["manifest field 'inputs[0].dims[0]'", "null"])
        edited("output added",
               lambda m: m["outputs"].append(dict(manifest["outputs"][0],
                                                  name="extra")),
               ["manifest field 'outputs'", "compiled for 1 outputs"])

        # The target the code was built for.
        edited("target CPU features reduced",
               lambda m: m["target"].__setitem__("features", ["sse2"]),
               ["manifest field 'target.features'", '["sse2"]'])
        edited("target kind changed to cuda",
               lambda m: m.__setitem__("target", {
                   "kind": "cuda", "chip": "sm_90",
                   "compute_capability": 90}),
               ["manifest field 'target.kind' is 'cuda'",
                "compiled for 'cpu'"])

        # Bundles from before descriptors.
        edited("manifest format version 1",
               lambda m: m.__setitem__("format_version", 1),
               ["manifest field 'format_version' is 1",
                "reads version 2", FIX])
        if self.args.cc and self.args.model_source:
            self.no_descriptor(manifest)

        # llvm::json recurses per nesting level: 200,000 '[' overflowed the
        # loader's stack before the manifest was parsed with a depth limit.
        self.expect_refused(
            "manifest nested 200,000 levels deep",
            self.rewrite_text("nested.qob", bundle, "[" * 200000),
            ["section 'manifest'", "nests deeper than 64"])

        self.non_regular()

    def no_descriptor(self, manifest):
        """Code without `quantopt_abi`, packed with a format 2 manifest."""
        native = self.path("no-abi.so")
        subprocess.run([self.args.cc, "-shared", "-fPIC", "-O1",
                        "-DQUANTOPT_TEST_NO_ABI", self.args.model_source,
                        "-o", native], check=True, timeout=TIMEOUT)
        hand = {
            "format": "quantopt-bundle", "format_version": 2,
            "target": {"kind": "cpu", "arch": "x86_64", "cpu": "x86-64",
                       "features": ["sse2"]},
            "entry": "quantopt_entry",
            "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 4]},
                       {"name": "k", "dtype": "int32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "dtype": "float32", "shape": [-1, 4]}],
        }
        manifest_path = self.path("no-abi.json")
        with open(manifest_path, "w") as f:
            json.dump(hand, f)
        out = self.path("no-abi.qob")
        subprocess.run([self.args.writer, "--manifest", manifest_path,
                        "--native", native, "-o", out], check=True,
                       timeout=TIMEOUT)
        self.expect_refused("code without an ABI descriptor (older compiler)",
                            out, ["no ABI descriptor", "quantopt_abi",
                                  "older quant-compile", FIX])

    def non_regular(self):
        """A FIFO, /dev/zero and a directory are refused without reading."""
        fifo = self.path("bundle.fifo")
        if os.path.exists(fifo):
            os.remove(fifo)
        os.mkfifo(fifo)
        directory = self.path("bundle-dir.qob")
        os.makedirs(directory, exist_ok=True)
        for name, path, phrase in [("FIFO", fifo, "FIFO"),
                                   ("/dev/zero", "/dev/zero",
                                    "character device"),
                                   ("directory", directory, "directory")]:
            self.expect_refused(f"{name} as the bundle", path,
                                [path + ": ", phrase, "not a regular file"],
                                status="IO")

    def group_cuda(self):
        try:
            bundle = self.compile("mlp-sm80.qob", "--target", "sm_80")
        except RuntimeError as e:
            if "CUDA toolkit" in str(e) or "ptxas" in str(e):
                print(f"SKIPPED: no CUDA toolkit ({str(e).strip()[:200]})")
                return
            raise
        manifest = read_manifest(bundle)
        descriptor = read_descriptor(bundle)
        ok = (descriptor is not None and
              descriptor["target"] == {"kind": "cuda", "chip": "sm_80",
                                       "compute_capability": 80} and
              all(descriptor[k] == manifest[k]
                  for k in ["entry", "target", "inputs", "outputs",
                            "weights"]))
        self.report("sm_80 bundle: descriptor matches the manifest", ok,
                    f"{descriptor}")

        env = dict(os.environ,
                   QUANTOPT_CUDA_LIBRARY="/nonexistent/libcuda.so.1")
        driver = "CUDA driver library"
        # Validation, descriptor included, passes: the first error is the
        # missing driver.
        self.expect_refused("sm_80 bundle validates up to the CUDA driver",
                            bundle, [driver], status="UNSUPPORTED_DEVICE",
                            env=env)
        m = json.loads(json.dumps(manifest))
        m["outputs"][0]["dtype"] = "int8"
        self.expect_refused(
            "edited sm_80 bundle refused before the driver is needed",
            self.rewrite("sm80-dtype.qob", bundle, m),
            ["manifest field 'outputs[0].dtype' is 'int8'"], env=env)
        m = json.loads(json.dumps(manifest))
        m["target"] = {"kind": "cpu", "arch": "x86_64", "cpu": "x86-64",
                       "features": ["sse2"]}
        self.expect_refused("sm_80 bundle relabelled as a CPU bundle",
                            self.rewrite("sm80-cpu.qob", bundle, m),
                            ["manifest field 'target.kind' is 'cpu'",
                             "compiled for 'cuda'"],
                            env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", choices=["cpu", "cuda"], required=True)
    parser.add_argument("--quant-compile", required=True)
    parser.add_argument("--quant-run", required=True)
    parser.add_argument("--writer", required=True)
    parser.add_argument("--runtime-lib", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--cc")
    parser.add_argument("--model-source")
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()
    tester = Tester(args)
    getattr(tester, "group_" + args.group)()
    print(f"{tester.failures} failure(s)")
    return 1 if tester.failures else 0


if __name__ == "__main__":
    sys.exit(main())
