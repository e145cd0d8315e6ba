#!/usr/bin/env python3
"""Tests of the bundle format, libquantrt and quant-run without the compiler.

test_model.c (the model entry ABI written by hand) is compiled with the C
compiler and packed into bundles by quant-bundle-test-writer; then, by
--group:

  run            quant-run on .npy/.npz inputs; every output equals numpy's
                 result exactly (malloc'ed, strided, input- and weight-
                 aliasing results); summaries, --json, --print-manifest.
  loader-errors  every bundle validation error (header, sections,
                 checksums, manifest, weights, entry, CPU features).
  input-errors   every quant-run input and option error.
  benchmark      the --benchmark report, text and --json.
  python         the ctypes wrapper (python-bindings/quantopt/runtime.py).
  cuda           what works without a GPU: a CUDA bundle (manifest target
                 "cuda") fails to load with a clear error when the CUDA
                 driver cannot be loaded, --device/--cuda-graph errors,
                 malformed CUDA targets, the exported mgpu* symbols, and no
                 libLLVM dependency of libquantrt and quant-run.

Every error case checks the non-zero exit, key phrases of the message, the
"quant-run: error: " prefix, and that no output file was created. Prints one
line per case; exits 1 if any failed.
"""

import argparse
import ctypes
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

W = np.array([0.5, -2.0, 3.0, 0.25], dtype=np.float32)
B = np.array([7], dtype=np.int64)

# The "weights" entries the writer produces for W and B.
WEIGHTS = [{"name": "w", "dtype": "float32", "shape": [4], "offset": 0,
            "size": 16},
           {"name": "b", "dtype": "int64", "shape": [1], "offset": 64,
            "size": 8}]

HEADER_SIZE = 64
ENTRY_SIZE = 48


def base_manifest(**overrides):
    manifest = {
        "format": "quantopt-bundle", "format_version": 2,
        "producer": {"name": "quantopt", "version": "0.1.0", "llvm": "22"},
        "source": {"path": "hand-written", "scheme": "none", "options": ""},
        "target": {"kind": "cpu", "arch": "x86_64", "cpu": "x86-64",
                   "features": ["sse2"]},
        "entry": "quantopt_entry",
        "inputs": [
            {"name": "x", "dtype": "float32", "shape": [-1, 4],
             "dims": ["batch", None]},
            {"name": "k", "dtype": "int32", "shape": [-1, 3],
             "dims": ["batch", None]}],
        "outputs": [
            {"name": "y", "dtype": "float32", "shape": [-1, 4],
             "dims": ["batch", None]},
            {"name": "s", "dtype": "float32", "shape": [-1],
             "dims": ["batch"]},
            {"name": "t", "dtype": "int64", "shape": [-1],
             "dims": ["batch"]},
            {"name": "xa", "dtype": "float32", "shape": [-1, 4],
             "dims": ["batch", None]},
            {"name": "wa", "dtype": "float32", "shape": [4]}],
        "kernels": [],
    }
    manifest.update(overrides)
    return manifest


def expected(x, k):
    """The model's outputs, computed like test_model.c does (float32,
    sequential sums)."""
    y = x * W + np.float32(1)
    s = np.zeros(x.shape[0], np.float32)
    for j in range(x.shape[1]):
        s = (s + x[:, j]).astype(np.float32)
    t = k.astype(np.int64).sum(axis=1) + B[0]
    return {"y": y, "s": s, "t": t, "xa": x, "wa": W}


def sample_inputs(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 4)).astype(np.float32)
    k = rng.integers(-1000, 1000, (batch, 3)).astype(np.int32)
    return x, k


def npy_bytes(descr="<f4", fortran=False, shape=(2, 4), data=None,
              version=(1, 0), header=None):
    """A .npy file built by hand, so that malformed variants are easy."""
    if data is None:
        data = np.zeros(shape, np.float32).tobytes()
    if header is None:
        shape_text = "(" + ", ".join(str(d) for d in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        header = (f"{{'descr': '{descr}', 'fortran_order': "
                  f"{'True' if fortran else 'False'}, 'shape': {shape_text}, }}")
    length_size = 2 if version[0] == 1 else 4
    header = header.encode("latin1")
    total = 6 + 2 + length_size + len(header) + 1
    header += b" " * (-total % 64) + b"\n"
    length = struct.pack("<H" if length_size == 2 else "<I", len(header))
    return b"\x93NUMPY" + bytes(version) + length + header + data


class Tester:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work_dir)
        os.makedirs(self.work, exist_ok=True)
        self.failures = 0
        self.count = 0
        self.model = self.build_model("model.so")
        with open(self.path("w.bin"), "wb") as f:
            f.write(W.tobytes())
        with open(self.path("b.bin"), "wb") as f:
            f.write(B.tobytes())
        self.bundle = self.write_bundle("model.qob")
        x, k = sample_inputs()
        self.x, self.k = x, k
        self.x_npy = self.save("x.npy", x)
        self.k_npy = self.save("k.npy", k)

    # ---- helpers ---------------------------------------------------------
    def path(self, name):
        return os.path.join(self.work, name)

    def save(self, name, array):
        path = self.path(name)
        np.save(path, array)
        return path

    def write(self, name, content):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def build_model(self, name, defines=()):
        out = self.path(name)
        subprocess.run([self.args.cc, "-shared", "-fPIC", "-O1",
                        "-ffp-contract=off", *defines,
                        self.args.model_source, "-o", out], check=True)
        return out

    def write_bundle(self, name, manifest=None, raw_manifest=None,
                     native=None, weights=None, target=None):
        manifest_path = self.path(name + ".manifest.json")
        with open(manifest_path, "wb") as f:
            if raw_manifest is not None:
                f.write(raw_manifest)
            else:
                f.write(json.dumps(manifest or base_manifest()).encode())
        if weights is None:
            weights = [f"w:float32:4:{self.path('w.bin')}",
                       f"b:int64:1:{self.path('b.bin')}"]
        cmd = [self.args.writer, "--manifest", manifest_path, "--native",
               native or self.model, "-o", self.path(name)]
        for weight in weights:
            cmd += ["--weight", weight]
        if raw_manifest is not None:
            cmd.append("--raw-manifest")
        if target is not None:
            cmd += ["--target", target]
        subprocess.run(cmd, check=True)
        return self.path(name)

    def quant_run(self, *args):
        return subprocess.run([self.args.quant_run, *args],
                              capture_output=True, text=True)

    def report(self, name, ok, detail=""):
        self.count += 1
        if not ok:
            self.failures += 1
        print(f"{'PASS' if ok else 'FAIL'}: {name}"
              + (f"\n    {detail}" if detail and not ok else ""))

    def expect_success(self, name, args):
        result = self.quant_run(*args)
        if result.returncode != 0:
            self.report(name, False, f"exit {result.returncode}: "
                        f"{result.stderr.strip()}")
            return None
        return result

    def expect_error(self, name, args, phrases, output=True):
        """quant-run must fail with every phrase in stderr and leave no
        output file behind."""
        out = self.path("error-output.npz")
        if os.path.exists(out):
            os.remove(out)
        result = self.quant_run(*args, *(["--output", out] if output else []))
        problems = []
        if result.returncode == 0:
            problems.append("exit status 0")
        if "quant-run: error: " not in result.stderr:
            problems.append("no 'quant-run: error: ' prefix")
        for phrase in phrases:
            if phrase not in result.stderr:
                problems.append(f"missing {phrase!r}")
        if os.path.exists(out):
            problems.append("output file created")
        self.report(name, not problems,
                    "; ".join(problems) + f"\n    stderr: "
                    f"{result.stderr.strip()}")

    def compare(self, name, path, want):
        got = dict(np.load(path))
        problems = []
        if sorted(got) != sorted(want):
            problems.append(f"outputs {sorted(got)} != {sorted(want)}")
        for key, value in want.items():
            if key in got and (got[key].dtype != value.dtype or
                               got[key].shape != value.shape or
                               not np.array_equal(got[key], value)):
                problems.append(f"{key}: {got[key]!r} != {value!r}")
        self.report(name, not problems, "; ".join(problems))

    # ---- bundle patching -------------------------------------------------
    def sections(self, data):
        count, = struct.unpack_from("<I", data, 12)
        table, = struct.unpack_from("<Q", data, 24)
        result = {}
        for i in range(count):
            at = table + i * ENTRY_SIZE
            name = data[at:at + 16].rstrip(b"\0").decode()
            offset, size = struct.unpack_from("<QQ", data, at + 16)
            result[name] = (at, offset, size)
        return result

    def patched(self, name, patch, fix_table=False):
        with open(self.bundle, "rb") as f:
            data = bytearray(f.read())
        data = patch(data) or data
        path = self.write(name, bytes(data))
        if fix_table:
            subprocess.run([self.args.writer, "--fix-table-checksum", path],
                           check=True)
        return path

    # ---- groups ----------------------------------------------------------
    def group_run(self):
        want = expected(self.x, self.k)
        out = self.path("out.npz")
        if self.expect_success("positional .npy inputs",
                               [self.bundle, "--input", self.x_npy,
                                "--input", self.k_npy, "--output", out]):
            self.compare("positional .npy inputs: outputs exact", out, want)

        out = self.path("named.npz")
        if self.expect_success("named inputs in any order",
                               [self.bundle, "--input", f"k={self.k_npy}",
                                "--input", f"x={self.x_npy}", "-o", out]):
            self.compare("named inputs: outputs exact", out, want)

        npz = self.path("in.npz")
        np.savez(npz, x=self.x, k=self.k)
        out = self.path("npz.npz")
        if self.expect_success(".npz input (numpy.savez)",
                               [self.bundle, "--inputs-npz", npz, "-o", out]):
            self.compare(".npz input: outputs exact", out, want)

        npz = self.path("positional.npz")
        np.savez(npz, self.x, self.k)
        out = self.path("arr.npz")
        if self.expect_success(".npz input with arr_0, arr_1",
                               [self.bundle, "--inputs-npz", npz, "-o", out]):
            self.compare(".npz arr_N input: outputs exact", out, want)

        npz = self.path("compressed.npz")
        np.savez_compressed(npz, x=self.x, k=self.k)
        out = self.path("compressed-out.npz")
        result = self.quant_run(self.bundle, "--inputs-npz", npz, "-o", out)
        if result.returncode == 0:
            self.compare(".npz input (savez_compressed): outputs exact", out,
                         want)
        else:
            self.report(".npz input (savez_compressed) without zlib: clear "
                        "error", "numpy.savez instead" in result.stderr,
                        result.stderr)

        for version in [(2, 0), (3, 0)]:
            path = self.path(f"x-v{version[0]}.npy")
            with open(path, "wb") as f:
                np.lib.format.write_array(f, self.x, version=version)
            out = self.path(f"v{version[0]}.npz")
            if self.expect_success(f".npy format {version[0]}.0",
                                   [self.bundle, "--input", path, "--input",
                                    self.k_npy, "-o", out]):
                self.compare(f".npy format {version[0]}.0: outputs exact",
                             out, want)

        # Other batch sizes, including an empty batch.
        for batch in [1, 17, 0]:
            x, k = sample_inputs(batch, seed=batch)
            xp, kp = self.save(f"x{batch}.npy", x), self.save(f"k{batch}.npy", k)
            out = self.path(f"b{batch}.npz")
            if self.expect_success(f"batch {batch}",
                                   [self.bundle, "--input", xp, "--input", kp,
                                    "-o", out]):
                self.compare(f"batch {batch}: outputs exact", out,
                             expected(x, k))

        out_dir = self.path("outdir")
        if self.expect_success("--output-dir",
                               [self.bundle, "--input", self.x_npy, "--input",
                                self.k_npy, "--output-dir", out_dir]):
            ok = all(np.array_equal(np.load(os.path.join(out_dir,
                                                         f"{n}.npy")), v)
                     for n, v in want.items())
            self.report("--output-dir: one exact .npy per output", ok)

        result = self.expect_success("summary without --output",
                                     [self.bundle, "--input", self.x_npy,
                                      "--input", self.k_npy])
        if result:
            text = result.stdout
            ok = ("y: float32 [3, 4]" in text and "t: int64 [3]" in text
                  and "wa: float32 [4]" in text and "values: [" in text
                  and "min " in text and "max " in text and "mean " in text)
            self.report("summary names shape, dtype, values, min/max/mean",
                        ok, text)

        result = self.expect_success("--json summary",
                                     [self.bundle, "--input", self.x_npy,
                                      "--input", self.k_npy, "--json"])
        if result:
            try:
                report = json.loads(result.stdout)
                outputs = {o["name"]: o for o in report["outputs"]}
                ok = (outputs["t"]["shape"] == [3] and
                      outputs["t"]["min"] == float(want["t"].min()) and
                      len(result.stdout.strip().splitlines()) == 1)
            except (ValueError, KeyError) as e:
                ok = False
                result.stdout += str(e)
            self.report("--json summary is one JSON line", ok, result.stdout)

        result = self.expect_success("--print-manifest",
                                     [self.bundle, "--print-manifest"])
        if result:
            manifest = json.loads(result.stdout)
            ok = (manifest["entry"] == "quantopt_entry" and
                  [w["name"] for w in manifest["weights"]] == ["w", "b"] and
                  all(w["offset"] % 64 == 0 for w in manifest["weights"]))
            self.report("--print-manifest shows the completed manifest", ok,
                        result.stdout)

        # The bundle layout itself.
        with open(self.bundle, "rb") as f:
            data = f.read()
        sections = self.sections(data)
        ok = (data[:8] == b"QOPTBNDL" and
              set(sections) == {"manifest", "weights", "native"} and
              all(offset % 4096 == 0 for _, offset, _ in sections.values()))
        self.report("layout: magic, three sections, page aligned", ok)

        # Native code that calls the kernels resolves them in libquantrt.
        isa = subprocess.run(
            [sys.executable, "-c",
             "import ctypes,sys; l=ctypes.CDLL(sys.argv[1]);"
             "l.qrt_kernel_isa.restype=ctypes.c_char_p;"
             "print(l.qrt_kernel_isa().decode())", self.args.runtime_lib],
            capture_output=True, text=True).stdout.strip()
        if isa != "none":
            native = self.build_model("kernel-model.so",
                                      ["-DQUANTOPT_TEST_KERNEL=qk_isa"])
            bundle = self.write_bundle("kernel-model.qob", native=native)
            out = self.path("kernel.npz")
            if self.expect_success("native code calling qk_isa loads",
                                   [bundle, "--input", self.x_npy, "--input",
                                    self.k_npy, "-o", out]):
                self.compare("native code calling qk_isa: outputs exact", out,
                             want)
        else:
            print("SKIP: runtime built without kernels, no qk_* test")

        # Written atomically: an existing output is replaced, not appended.
        out = self.path("replace.npz")
        self.write("replace.npz", b"old contents" * 1000)
        if self.expect_success("existing output replaced",
                               [self.bundle, "--input", self.x_npy, "--input",
                                self.k_npy, "-o", out]):
            self.compare("existing output replaced: outputs exact", out, want)

    def group_loader_errors(self):
        inputs = ["--input", self.x_npy, "--input", self.k_npy]
        fix = "recompile the model with quant-compile"
        corrupted = "copy it again or recompile"

        def run(name, bundle, phrases):
            self.expect_error(name, [bundle, *inputs], [bundle + ": "] +
                              phrases)

        run("missing bundle file", self.path("nope.qob"),
            ["cannot open the bundle", "check the path"])
        run("tiny file", self.write("tiny.qob", b"QOPTBNDL"),
            ["smaller than the 64-byte bundle header"])
        run("bad magic", self.patched("magic.qob",
                                      lambda d: d.__setitem__(
                                          slice(0, 8), b"NOTABNDL")),
            ["not a QuantOpt bundle", "bad magic", "QOPTBNDL"])
        run("wrong version", self.patched(
            "version.qob", lambda d: struct.pack_into("<I", d, 8, 7)),
            ["unsupported bundle format version 7", "reads version 1"])
        run("truncated file", self.patched("truncated.qob",
                                           lambda d: d[:-100]),
            ["file is truncated", corrupted])
        run("trailing bytes", self.patched("trailing.qob",
                                           lambda d: d + b"\0" * 10),
            ["trailing bytes"])
        run("bit flip in the section table", self.patched(
            "table.qob", lambda d: d.__setitem__(
                HEADER_SIZE + 20, d[HEADER_SIZE + 20] ^ 1)),
            ["section table checksum mismatch", corrupted])

        with open(self.bundle, "rb") as f:
            sections = self.sections(f.read())
        for section, (_, offset, size) in sections.items():
            def flip(d, at=offset + size // 2):
                d[at] ^= 0x10
            run(f"bit flip in section '{section}'",
                self.patched(f"flip-{section}.qob", flip),
                [f"checksum mismatch in section '{section}'", corrupted])

        at, offset, size = sections["native"]
        run("section out of bounds", self.patched(
            "bounds.qob", lambda d: struct.pack_into("<Q", d, at + 24,
                                                     size + 10 ** 9),
            fix_table=True),
            ["section 'native'", "lies outside the", corrupted])
        w_at, _, _ = sections["weights"]
        m_at, m_offset, _ = sections["manifest"]
        run("overlapping sections", self.patched(
            "overlap.qob", lambda d: struct.pack_into("<Q", d, w_at + 16,
                                                      m_offset),
            fix_table=True),
            ["overlaps", "section 'manifest'", "section 'weights'"])
        run("misaligned section", self.patched(
            "misaligned.qob", lambda d: struct.pack_into("<Q", d, m_at + 16,
                                                         m_offset + 8),
            fix_table=True),
            ["section 'manifest' offset", "not a multiple of 4096"])
        run("missing section", self.patched(
            "nosection.qob", lambda d: d.__setitem__(
                slice(at, at + 6), b"nativx"), fix_table=True),
            ["missing section 'native'", fix])

        run("bad manifest JSON", self.write_bundle(
            "badjson.qob", raw_manifest=b'{"format": "quantopt-bundle",'),
            ["section 'manifest' is not valid JSON", fix])
        # The writer fills in format, format_version and weights, so the
        # manifests without them are stored raw.
        for field in ["format", "format_version", "entry", "inputs",
                      "outputs", "target", "weights"]:
            manifest = base_manifest(weights=WEIGHTS)
            del manifest[field]
            bundle = self.write_bundle(
                f"no-{field}.qob", raw_manifest=json.dumps(manifest).encode())
            run(f"manifest without '{field}'", bundle,
                [f"manifest field '{field}'", fix])
        nested = [
            ("target.features", lambda m: m["target"].pop("features")),
            ("target.arch", lambda m: m["target"].pop("arch")),
            ("inputs[0].dtype", lambda m: m["inputs"][0].pop("dtype")),
            ("inputs[1].shape", lambda m: m["inputs"][1].pop("shape")),
            ("outputs[0].name", lambda m: m["outputs"][0].pop("name")),
            ("inputs[0].dims", lambda m: m["inputs"][0].__setitem__(
                "dims", ["batch"])),
        ]
        for field, edit in nested:
            manifest = base_manifest()
            edit(manifest)
            run(f"manifest field '{field}' missing or malformed",
                self.write_bundle(f"bad-{field}.qob", manifest),
                [f"manifest field '{field}'", fix])
        manifest = base_manifest()
        manifest["inputs"][0]["dtype"] = "bfloat16"
        run("unknown dtype", self.write_bundle("dtype.qob", manifest),
            ["manifest field 'inputs[0].dtype'", 'unknown dtype "bfloat16"'])
        manifest = base_manifest(format="something-else", weights=WEIGHTS)
        run("wrong format", self.write_bundle(
            "format.qob", raw_manifest=json.dumps(manifest).encode()),
            ["manifest field 'format'", "quantopt-bundle"])

        # Weights outside the weights section, or inconsistent.
        def raw_weights(name, weights, phrases):
            manifest = base_manifest(weights=weights)
            run(name, self.write_bundle(name + ".qob",
                                        raw_manifest=json.dumps(
                                            manifest).encode()), phrases)
        raw_weights("weight out of bounds",
                    [{"name": "w", "dtype": "float32", "shape": [4],
                      "offset": 0, "size": 16},
                     {"name": "b", "dtype": "int64", "shape": [1],
                      "offset": 4096, "size": 8}],
                    ["weights[1] ('b')", "lies outside the",
                     "section 'weights'"])
        raw_weights("weight size disagrees with its shape",
                    [{"name": "w", "dtype": "float32", "shape": [5],
                      "offset": 0, "size": 16},
                     {"name": "b", "dtype": "int64", "shape": [1],
                      "offset": 64, "size": 8}],
                    ["weights[0] ('w').size", "dtype and shape make 20"])
        raw_weights("misaligned weight",
                    [{"name": "w", "dtype": "float32", "shape": [4],
                      "offset": 0, "size": 16},
                     {"name": "b", "dtype": "int64", "shape": [1],
                      "offset": 8, "size": 8}],
                    ["weights[1] ('b').offset", "not a multiple of 64"])

        run("missing entry symbol", self.write_bundle(
            "entry.qob", base_manifest(entry="no_such_entry")),
            ["has no symbol 'no_such_entry'", "manifest field 'entry'", fix])
        # Even with a descriptor that agrees (written for this manifest),
        # an entry the code does not define itself is never looked up in
        # its dependencies (libc, libquantrt).
        for entry in ["exit", "qrt_bundle_load"]:
            run(f"entry '{entry}' defined only outside the code",
                self.write_bundle(f"entry-{entry}.qob",
                                  base_manifest(entry=entry)),
                [f"has no symbol '{entry}'", "manifest field 'entry'", fix])
        native = self.write("notelf.so", b"this is not an ELF file")
        run("native section is not ELF",
            self.write_bundle("notelf.qob", native=native),
            ["not an ELF shared object"])
        native = self.build_model("undefined.so",
                                  ["-DQUANTOPT_TEST_KERNEL=qk_does_not_exist"])
        run("undefined kernel symbol", self.write_bundle(
            "undefined.qob", native=native),
            ["cannot load section 'native'", "qk_does_not_exist"])

        self.packed_weight_errors(run)
        self.kernel_run_errors(inputs)

        # CPU features: pick one this host lacks.
        with open("/proc/cpuinfo") as f:
            flags = set(re.search(r"^flags\s*:(.*)$", f.read(),
                                  re.M).group(1).split())
        candidates = [("avx512f", "avx512f"), ("avx512vnni", "avx512_vnni"),
                      ("amx-tile", "amx_tile"), ("avx512fp16", "avx512_fp16")]
        missing = next((llvm for llvm, cpuinfo in candidates
                        if cpuinfo not in flags), None)
        if missing:
            manifest = base_manifest()
            manifest["target"]["features"] = ["sse2", missing]
            manifest["target"]["cpu"] = "sapphirerapids"
            run(f"CPU feature '{missing}' not on this host",
                self.write_bundle("feature.qob", manifest),
                [f"lacks feature(s) {missing}", '"sapphirerapids"',
                 "--cpu=native"])
        else:
            print("SKIP: host has every candidate feature")
        manifest = base_manifest()
        manifest["target"]["features"] = ["avx2", "quantum-tunnelling"]
        run("made-up CPU feature", self.write_bundle("madeup.qob", manifest),
            ["unknown CPU feature(s) quantum-tunnelling", "target.features"])
        manifest = base_manifest()
        manifest["target"]["arch"] = "aarch64"
        run("other architecture", self.write_bundle("arch.qob", manifest),
            ["compiled for aarch64", "this host is x86_64"])

    def packed_sgemm(self, K, N):
        """A qk_sgemm packed operand of [K, N], packed by libquantrt."""
        lib = ctypes.CDLL(self.args.runtime_lib)
        lib.qk_sgemm_packed_size.restype = ctypes.c_int64
        lib.qk_sgemm_packed_size.argtypes = [ctypes.c_int64, ctypes.c_int64]
        size = lib.qk_sgemm_packed_size(K, N)
        packed = ctypes.create_string_buffer(size)
        b = np.arange(K * N, dtype=np.float32).reshape(K, N)
        lib.qk_sgemm_pack_b(b.ctypes.data_as(ctypes.c_void_p),
                            ctypes.c_int64(K), ctypes.c_int64(N), packed)
        return bytearray(packed.raw)

    def packed_bundle(self, name, blob, kernels=()):
        """The test model with a third weight `fc.sgemm` (the blob) and a
        manifest "kernels" list; the load fails or passes before any run."""
        path = self.write(name + ".bin", bytes(blob))
        manifest = base_manifest(kernels=[
            {"node": "fc", "op": "qnn.matmul", "kernel": kernel,
             "reason": "test"} for kernel in kernels])
        return self.write_bundle(name, manifest, weights=[
            f"w:float32:4:{self.path('w.bin')}",
            f"b:int64:1:{self.path('b.bin')}",
            f"fc.sgemm:int8:{len(blob)}:{path}"])

    def c_api_load(self, bundle):
        """(status, message) of qrt_bundle_load."""
        lib = ctypes.CDLL(self.args.runtime_lib)
        lib.qrt_last_error.restype = ctypes.c_char_p
        handle = ctypes.c_void_p()
        status = lib.qrt_bundle_load(bundle.encode(), ctypes.byref(handle))
        message = lib.qrt_last_error().decode()
        if status == 0:
            lib.qrt_bundle_free(handle)
        return status, message

    def packed_weight_errors(self, run):
        """Packed kernel operands are checked when the bundle loads."""
        try:
            ctypes.CDLL(self.args.runtime_lib)
        except OSError as e:
            # A runtime built with sanitizers (the CI's ASan+UBSan stage, with
            # fuzzer coverage) needs its runtime preloaded and cannot be
            # loaded into python; the main test stage runs these checks.
            if "__asan" in str(e) or "__sancov" in str(e) or "__ubsan" in str(e):
                print(f"SKIP: packed-weight checks through the C API: {e} "
                      "(a sanitizer build; the main test stage runs them)")
                return
            raise
        good = self.packed_sgemm(8, 20)
        for name, kernels in [("packed.qob", ["qk_sgemm"]),
                              ("packed-unlisted.qob", [])]:
            status, message = self.c_api_load(self.packed_bundle(name, good,
                                                                 kernels))
            self.report(f"a valid packed operand loads ({name})", status == 0,
                        message)
        where = ["weight 'fc.sgemm'", "manifest field 'weights[2]'",
                 "not a valid packed kernel operand"]
        version = bytearray(good)
        struct.pack_into("<I", version, 8, 9)
        run("packed operand of another layout version",
            self.packed_bundle("packed-version.qob", version),
            where + ["layout version 9", "qk_sgemm reads version 1"])
        dims = bytearray(good)
        struct.pack_into("<q", dims, 24, 1 << 20)
        run("packed operand whose header dims exceed the blob",
            self.packed_bundle("packed-dims.qob", dims),
            where + ["N = 1048576", "needs"])
        zero = bytearray(good)
        struct.pack_into("<q", zero, 16, 0)
        run("packed operand with K = 0",
            self.packed_bundle("packed-zero.qob", zero),
            where + ["K = 0"])
        magic = bytearray(good)
        magic[0:8] = b"NOTPACK\0"
        run("packed operand with a bad magic, named by the kernels list",
            self.packed_bundle("packed-magic.qob", magic, ["qk_sgemm"]),
            where + ["not a packed operand of qk_sgemm", "QKSGEMM"])

    def kernel_run_errors(self, inputs):
        """A kernel that meets bad data, or a caller that gives it too
        small a workspace, fails the run with a status: no abort, no
        output."""
        for define, name, phrases in [
                ("QUANTOPT_TEST_BAD_PACKED", "bad packed operand at run time",
                 ["qk_sgemm: a packed operand is not a layout version 1",
                  "recompile the model"]),
                ("QUANTOPT_TEST_WORKSPACE_TOO_SMALL",
                 "kernel workspace too small",
                 ["qk_sgemm_batched: the caller's workspace of 16 bytes is "
                  "too small (one worker thread needs",
                  "qk_*_workspace_bytes", "recompile the model"])]:
            native = self.build_model(define + ".so", ["-D" + define])
            bundle = self.write_bundle(define + ".qob", native=native)
            self.expect_error(name, [bundle, *inputs], [bundle + ": "] +
                              phrases)

    def group_input_errors(self):
        b = self.bundle
        x, k = self.x_npy, self.k_npy
        self.expect_error("missing input", [b, "--input", x],
                          [b + ": no array given for input 'k'",
                           "int32 [-1, 3]", "--input k=FILE.npy"])
        self.expect_error("no inputs at all", [b],
                          ["no array given for input 'x'"])
        self.expect_error("wrong dtype", [b, "--input", k, "--input", k],
                          ["input 'x': dtype is int32, expected float32",
                           "convert the array to float32",
                           f"input 'x' is {k}"])
        c64 = self.save("xc64.npy", self.x.astype(np.complex64))
        self.expect_error("unsupported npy dtype", [b, "--input", c64,
                                                    "--input", k],
                          [c64 + ": unsupported dtype '<c8'", "astype"])
        rank3 = self.save("rank3.npy", self.x.reshape(3, 4, 1))
        self.expect_error("wrong rank", [b, "--input", rank3, "--input", k],
                          ["input 'x': rank is 3", "expected 2",
                           "[-1, 4]"])
        wide = self.save("wide.npy", np.zeros((3, 5), np.float32))
        self.expect_error("mismatched static dim",
                          [b, "--input", wide, "--input", k],
                          ["input 'x': dim 1 is 5, expected 4"])
        k2 = self.save("k2.npy", np.zeros((2, 3), np.int32))
        self.expect_error("inconsistent named dims",
                          [b, "--input", x, "--input", k2],
                          ["input 'k': dim 0 ('batch') is 2",
                           "input 'x' dim 0 ('batch') is 3",
                           "must agree"])
        bad = self.write("badheader.npy", npy_bytes(
            header="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4"))
        self.expect_error("bad npy header", [b, "--input", bad, "--input", k],
                          [bad + ": malformed .npy header"])
        nomagic = self.write("nomagic.npy", b"PK not an npy" * 10)
        self.expect_error("not an npy file", [b, "--input", nomagic,
                                              "--input", k],
                          [nomagic + ": not a .npy file"])
        truncated = self.write("truncated.npy", npy_bytes(
            shape=(3, 4), data=b"\0" * 40))
        self.expect_error("truncated npy", [b, "--input", truncated,
                                            "--input", k],
                          [truncated + ": truncated data", "48 bytes",
                           "40 bytes"])
        fortran = self.write("fortran.npy", npy_bytes(shape=(3, 4), fortran=True,
                                                      data=b"\0" * 48))
        self.expect_error("fortran order", [b, "--input", fortran,
                                            "--input", k],
                          ["Fortran order", "np.ascontiguousarray"])
        big = self.write("big.npy", npy_bytes(descr=">f4", shape=(3, 4),
                                              data=b"\0" * 48))
        self.expect_error("big endian", [b, "--input", big, "--input", k],
                          ["big-endian dtype '>f4'"])
        version = self.write("v9.npy", npy_bytes(version=(9, 0)))
        self.expect_error("unknown npy version", [b, "--input", version,
                                                  "--input", k],
                          ["unsupported .npy format version 9.0"])
        missing = self.path("does-not-exist.npy")
        self.expect_error("missing input file", [b, "--input", missing,
                                                 "--input", k],
                          [missing + ": cannot", "No such file"])
        self.expect_error("unknown input name", [b, "--input", f"zz={x}"],
                          ["no input named 'zz'", "'x', 'k'"])
        self.expect_error("input given twice",
                          [b, "--input", f"x={x}", "--input", f"x={x}",
                           "--input", k],
                          ["input 'x' is already given", "give each input "
                           "once"])
        self.expect_error("too many inputs",
                          [b, "--input", x, "--input", k, "--input", k],
                          ["too many inputs", "remove this --input"])
        npz = self.path("unknown.npz")
        np.savez(npz, x=self.x, k=self.k, extra=self.x)
        self.expect_error("npz entry matches no input",
                          [b, "--inputs-npz", npz],
                          [npz + ": entry 'extra' matches no input"])
        notzip = self.write("notzip.npz", b"definitely not a zip file" * 4)
        self.expect_error("npz is not a zip", [b, "--inputs-npz", notzip],
                          [notzip + ": not a valid .npz (zip) file"])
        self.expect_error("--output and --output-dir",
                          [b, "--input", x, "--input", k, "--output-dir",
                           self.path("dir")],
                          ["--output and --output-dir are both given"])
        self.expect_error("bad --threads", [b, "--input", x, "--input", k,
                                            "--threads", "-2"],
                          ["--threads -2"])
        # An unwritable output: error, and nothing left behind.
        bad_out = self.path("no-such-dir/out.npz")
        result = self.quant_run(b, "--input", x, "--input", k, "-o", bad_out)
        self.report("unwritable --output fails cleanly",
                    result.returncode != 0 and
                    ("cannot write" in result.stderr or
                     "does not exist" in result.stderr) and
                    not os.path.exists(bad_out),
                    result.stderr)

    def group_benchmark(self):
        b, x, k = self.bundle, self.x_npy, self.k_npy
        result = self.expect_success(
            "--benchmark", [b, "--input", x, "--input", k, "--benchmark",
                            "--warmup", "2", "--iterations", "7",
                            "--min-time", "0.02", "--threads", "2"])
        if result:
            text = result.stdout
            pattern = (r"latency \(ms\): median [\d.]+  mean [\d.]+  "
                       r"p10 [\d.]+  p90 [\d.]+  p99 [\d.]+  min [\d.]+")
            runs = re.search(r"runs: (\d+) timed after 2 warm-up", text)
            ok = (re.search(pattern, text) is not None and runs is not None
                  and int(runs.group(1)) >= 7 and "threads 2" in text and
                  re.search(r"throughput: [\d.]+ runs/s", text) is not None)
            self.report("--benchmark text report", ok, text)
        result = self.expect_success(
            "--benchmark --json", [b, "--input", x, "--input", k,
                                   "--benchmark", "--iterations", "5",
                                   "--min-time", "0", "--json"])
        if result:
            try:
                report = json.loads(result.stdout)
                keys = ["median_ms", "mean_ms", "p10_ms", "p90_ms", "p99_ms",
                        "min_ms", "max_ms", "throughput_per_s", "iterations",
                        "warmup", "total_s", "kernel_isa", "threads"]
                ok = (all(key in report for key in keys) and
                      report["iterations"] == 5 and
                      report["min_ms"] <= report["p10_ms"] <=
                      report["median_ms"] <= report["p90_ms"] <=
                      report["p99_ms"] <= report["max_ms"])
            except ValueError:
                ok = False
            self.report("--benchmark --json fields", ok, result.stdout)
        out = self.path("bench.npz")
        if self.expect_success("--benchmark with --output",
                               [b, "--input", x, "--input", k, "--benchmark",
                                "--iterations", "2", "--min-time", "0",
                                "-o", out]):
            self.compare("--benchmark --output: outputs exact", out,
                         expected(self.x, self.k))
        self.expect_error("--benchmark with a bad input",
                          [b, "--input", k, "--input", k, "--benchmark"],
                          ["dtype is int32, expected float32"])

    def malloc_settings(self):
        """Loading and running a bundle leave glibc's malloc settings alone;
        only qrt_tune_allocator changes them. Observed in a fresh process:
        a 64 MiB block (above glibc's largest dynamic mmap threshold) is
        mmap'ed (mallinfo2().hblks grows) by default, and comes from the
        heap once M_MMAP_THRESHOLD is 256 MiB."""
        script = """
import ctypes, sys
sys.path.insert(0, sys.argv[1])
from quantopt import runtime
import numpy as np
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks "
                "uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def mapped():
    before = libc.mallinfo2().hblks
    p = libc.malloc(64 << 20)
    after = libc.mallinfo2().hblks
    libc.free(p)
    return after > before
lib = sys.argv[2]
fresh = mapped()
with runtime.Bundle(sys.argv[3], library=lib) as bundle:
    x = np.ones((3, 4), np.float32)
    k = np.ones((3, 3), np.int32)
    bundle.run(x, k)
    after_run = mapped()
runtime.tune_allocator(library=lib)
print(fresh, after_run, mapped())
"""
        result = subprocess.run(
            [sys.executable, "-c", script, self.args.python_path,
             self.args.runtime_lib, self.bundle],
            capture_output=True, text=True)
        self.report("malloc settings: a 64 MiB block is mmap'ed before and "
                    "after loading and running a bundle, and comes from the "
                    "heap after qrt_tune_allocator",
                    result.returncode == 0 and
                    result.stdout.split() == ["True", "True", "False"],
                    result.stdout + result.stderr)

    def group_python(self):
        sys.path.insert(0, self.args.python_path)
        from quantopt import runtime
        lib = self.args.runtime_lib
        self.malloc_settings()
        want = expected(self.x, self.k)
        with runtime.Bundle(self.bundle, library=lib) as bundle:
            names = [i.name for i in bundle.inputs]
            info = bundle.inputs[0]
            self.report("python: input signatures",
                        names == ["x", "k"] and info.shape == (-1, 4) and
                        info.dims == ("batch", None) and
                        info.dtype == np.float32 and
                        [o.name for o in bundle.outputs] ==
                        ["y", "s", "t", "xa", "wa"], repr(bundle.inputs))
            self.report("python: manifest",
                        bundle.manifest["entry"] == "quantopt_entry")
            for how, outputs in [
                    ("positional", lambda: bundle.run(self.x, self.k)),
                    ("keywords", lambda: bundle.run(k=self.k, x=self.x)),
                    ("dict", lambda: bundle({"x": self.x, "k": self.k})),
                    ("strided input", lambda: bundle.run(
                        np.asfortranarray(self.x), self.k))]:
                got = outputs()
                ok = sorted(got) == sorted(want) and all(
                    got[n].dtype == v.dtype and np.array_equal(got[n], v)
                    for n, v in want.items())
                self.report(f"python: run with {how} inputs exact", ok)
            try:
                bundle.run(self.k, self.k)
                self.report("python: wrong dtype raises", False)
            except runtime.QuantOptError as e:
                self.report("python: wrong dtype raises QuantOptError",
                            e.status == "QRT_ERROR_INPUT" and
                            "dtype is int32, expected float32" in str(e),
                            str(e))
            try:
                bundle.run(self.x.astype(np.complex64), self.k)
                self.report("python: complex64 raises", False)
            except runtime.QuantOptError as e:
                self.report("python: unsupported numpy dtype raises",
                            "complex64 is not supported" in str(e), str(e))
            # Two bundles with different native code loaded at once, and
            # loaded again after a free: each must run its own code (the
            # dynamic loader identifies objects by path, and every bundle's
            # code is loaded from a /proc/self/fd path).
            other = self.write_bundle("other.qob", native=self.build_model(
                "other.so", ["-DQUANTOPT_TEST_BIAS_OFFSET=7"]))
            for attempt in range(3):
                with runtime.Bundle(other, library=lib) as second:
                    got_first = bundle.run(self.x, self.k)
                    got_second = second.run(self.x, self.k)
                ok = (np.array_equal(got_first["t"], want["t"]) and
                      np.array_equal(got_second["t"], want["t"] + 7))
                self.report(f"python: two bundles loaded at once run their "
                            f"own code (round {attempt})", ok,
                            f"{got_first['t']} {got_second['t']}")
            runtime.set_num_threads(2, library=lib)
            try:
                runtime.set_num_threads(0, library=lib)
                self.report("python: set_num_threads(0) raises", False)
            except runtime.QuantOptError as e:
                self.report("python: set_num_threads(0) raises",
                            e.status == "QRT_ERROR_INVALID_ARGUMENT")
            times = bundle.benchmark({"x": self.x, "k": self.k}, warmup=1,
                                     iterations=5)
            stats = runtime.benchmark_stats(times)
            self.report("python: benchmark returns one time per run",
                        isinstance(times, np.ndarray) and times.shape == (5,)
                        and bool((times >= 0).all()), repr(times))
            self.report("python: benchmark statistics",
                        stats["iterations"] == 5 and
                        stats["min_ms"] <= stats["median_ms"] <=
                        stats["max_ms"], repr(stats))
            self.report("python: a CPU bundle's device is 'cpu'",
                        bundle.device == "cpu", bundle.device)
            try:
                bundle.set_cuda_graph(True)
                self.report("python: set_cuda_graph on a CPU bundle raises",
                            False)
            except runtime.QuantOptError as e:
                self.report("python: set_cuda_graph on a CPU bundle raises",
                            e.status == "QRT_ERROR_INVALID_ARGUMENT" and
                            "CUDA bundles only" in str(e), str(e))
            try:
                bundle.benchmark([self.x, self.k], iterations=0)
                self.report("python: benchmark(iterations=0) raises", False)
            except runtime.QuantOptError as e:
                self.report("python: benchmark(iterations=0) raises",
                            e.status == "QRT_ERROR_INVALID_ARGUMENT", str(e))
            self.report("python: kernel_isa",
                        runtime.kernel_isa(library=lib) in
                        ("avx512vnni", "avx2", "scalar", "none"))
        try:
            runtime.Bundle(self.path("missing.qob"), library=lib)
            self.report("python: missing bundle raises", False)
        except runtime.QuantOptError as e:
            self.report("python: missing bundle raises",
                        e.status == "QRT_ERROR_IO" and
                        "cannot open the bundle" in str(e), str(e))
        os.environ["QUANTOPT_RUNTIME_LIB"] = lib
        got = runtime.Bundle(self.bundle).run(x=self.x, k=self.k)
        self.report("python: library from QUANTOPT_RUNTIME_LIB",
                    np.array_equal(got["y"], want["y"]))

    def group_cuda(self):
        inputs = ["--input", self.x_npy, "--input", self.k_npy]
        bundle = self.write_bundle("cuda.qob", target="cuda:sm_90")
        no_driver = dict(os.environ,
                         QUANTOPT_CUDA_LIBRARY="/nonexistent/libcuda.so.1")

        def run_without_driver(*args):
            return subprocess.run([self.args.quant_run, *args],
                                  capture_output=True, text=True,
                                  env=no_driver)

        saved = self.quant_run
        self.quant_run = run_without_driver
        try:
            self.expect_error(
                "CUDA bundle without the CUDA driver", [bundle, *inputs],
                [bundle + ": ", "runs on an NVIDIA GPU (sm_90)",
                 "CUDA driver library /nonexistent/libcuda.so.1 could not be "
                 "loaded", "run it on a machine with the NVIDIA driver",
                 "compile the model for the CPU"])
            self.expect_error(
                "CUDA bundle without the driver, --device cuda",
                [bundle, "--device", "cuda", *inputs],
                ["/nonexistent/libcuda.so.1 could not be loaded"])
            manifest = base_manifest()
            manifest["target"] = {"kind": "cuda", "chip": "sm_90",
                                  "compute_capability": 80}
            self.expect_error(
                "CUDA target: chip and compute_capability disagree",
                [self.write_bundle("cuda-cc.qob", manifest), *inputs],
                ["manifest field 'target.compute_capability'", "is 80",
                 "does not match target.chip \"sm_90\""])
            manifest["target"] = {"kind": "cuda", "chip": "volta",
                                  "compute_capability": 70}
            self.expect_error(
                "CUDA target: bad chip",
                [self.write_bundle("cuda-chip.qob", manifest), *inputs],
                ["manifest field 'target.chip'", "sm_90"])
            manifest["target"] = {"kind": "cuda", "chip": "sm_90"}
            self.expect_error(
                "CUDA target: no compute_capability",
                [self.write_bundle("cuda-nocc.qob", manifest), *inputs],
                ["manifest field 'target.compute_capability'", "is missing"])
            manifest["target"] = {"kind": "tpu"}
            self.expect_error(
                "unknown target kind",
                [self.write_bundle("tpu.qob", manifest), *inputs],
                ["manifest field 'target.kind' is \"tpu\"",
                 "\"cpu\" and \"cuda\" bundles"])
        finally:
            self.quant_run = saved

        # The status, through the C API.
        code = ("import ctypes,sys; l=ctypes.CDLL(sys.argv[1]);"
                "l.qrt_status_name.restype=ctypes.c_char_p;"
                "l.qrt_last_error.restype=ctypes.c_char_p;"
                "b=ctypes.c_void_p();"
                "s=l.qrt_bundle_load(sys.argv[2].encode(),ctypes.byref(b));"
                "print(l.qrt_status_name(s).decode());"
                "print(l.qrt_last_error().decode())")
        result = subprocess.run([sys.executable, "-c", code,
                                 self.args.runtime_lib, bundle],
                                capture_output=True, text=True, env=no_driver)
        self.report("C API: status QRT_ERROR_UNSUPPORTED_DEVICE",
                    result.stdout.startswith("QRT_ERROR_UNSUPPORTED_DEVICE\n"),
                    result.stdout + result.stderr)

        # The Python wrapper: the same error, and the device name.
        sys.path.insert(0, self.args.python_path)
        from quantopt import runtime
        os.environ["QUANTOPT_CUDA_LIBRARY"] = "/nonexistent/libcuda.so.1"
        try:
            try:
                runtime.Bundle(bundle, library=self.args.runtime_lib)
                self.report("python: CUDA bundle without the driver raises",
                            False)
            except runtime.QuantOptError as e:
                self.report("python: CUDA bundle without the driver raises",
                            e.status == "QRT_ERROR_UNSUPPORTED_DEVICE" and
                            "could not be loaded" in str(e), str(e))
            try:
                runtime.cuda_device_name(library=self.args.runtime_lib)
                self.report("python: cuda_device_name without the driver "
                            "raises", False)
            except runtime.QuantOptError as e:
                self.report("python: cuda_device_name without the driver "
                            "raises",
                            e.status == "QRT_ERROR_UNSUPPORTED_DEVICE" and
                            "no usable CUDA device" in str(e) and
                            "/nonexistent/libcuda.so.1" in str(e), str(e))
        finally:
            del os.environ["QUANTOPT_CUDA_LIBRARY"]

        # A working but wrong library (the toolkit's stub) is named as such.
        stub = "/usr/local/cuda/lib64/stubs/libcuda.so"
        if os.path.exists(stub):
            result = subprocess.run(
                [self.args.quant_run, bundle, *inputs], capture_output=True,
                text=True, env=dict(os.environ, QUANTOPT_CUDA_LIBRARY=stub))
            self.report("CUDA bundle with the toolkit's stub libcuda: clear "
                        "error",
                        result.returncode != 0 and "does not work" in
                        result.stderr and "stub library" in result.stderr,
                        result.stderr)

        # CPU bundle options that only apply to CUDA bundles.
        self.expect_error("--device cuda on a CPU bundle",
                          [self.bundle, "--device", "cuda", *inputs],
                          [self.bundle + ": --device cuda",
                           "compiled for the CPU", "--target sm_XX",
                           "drop --device"])
        self.expect_error("--device with an unknown device",
                          [self.bundle, "--device", "gpu", *inputs],
                          ["--device gpu: unknown device", "--device cuda"])
        self.expect_error("--cuda-graph on a CPU bundle",
                          [self.bundle, "--cuda-graph", *inputs],
                          ["CUDA graphs apply to CUDA bundles only",
                           "--cuda-graph"])
        out = self.path("device-cpu.npz")
        if self.expect_success("--device cpu on a CPU bundle",
                               [self.bundle, "--device", "cpu", *inputs,
                                "-o", out]):
            self.compare("--device cpu: outputs exact", out,
                         expected(self.x, self.k))

        # The library: mgpu* exported, no LLVM shared library needed.
        symbols = subprocess.run(["nm", "-D", "--defined-only",
                                  self.args.runtime_lib],
                                 capture_output=True, text=True).stdout
        exported = set(line.split()[-1] for line in symbols.splitlines()
                       if line.split())
        wanted = {"mgpuModuleLoad", "mgpuModuleLoadJIT", "mgpuModuleUnload",
                  "mgpuModuleGetFunction", "mgpuLaunchKernel",
                  "mgpuLaunchClusterKernel", "mgpuStreamCreate",
                  "mgpuStreamDestroy", "mgpuStreamSynchronize",
                  "mgpuStreamWaitEvent", "mgpuEventCreate", "mgpuEventDestroy",
                  "mgpuEventSynchronize", "mgpuEventRecord", "mgpuMemAlloc",
                  "mgpuMemFree", "mgpuMemcpy", "mgpuMemset32", "mgpuMemset16",
                  "mgpuSetDefaultDevice", "qrt_bundle_benchmark",
                  "qrt_bundle_set_cuda_graph", "qrt_bundle_device",
                  "qrt_cuda_device_name"}
        self.report("libquantrt exports the mgpu* calls and the CUDA C API",
                    wanted <= exported, f"missing {sorted(wanted - exported)}")
        stray = sorted(s for s in exported
                       if not s.startswith(("qrt_", "qk_", "mgpu")))
        self.report("libquantrt exports nothing else", not stray,
                    f"also exports {stray[:10]}")
        for binary in [self.args.runtime_lib, self.args.quant_run]:
            dynamic = subprocess.run(["readelf", "-d", binary],
                                     capture_output=True, text=True).stdout
            needed = [line for line in dynamic.splitlines()
                      if "NEEDED" in line]
            self.report(f"{os.path.basename(binary)} needs no LLVM or CUDA "
                        f"shared library",
                        needed and not any(
                            name in line for line in needed
                            for name in ("LLVM", "MLIR", "libcuda",
                                         "cudart")),
                        "\n    ".join(needed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", required=True,
                        choices=["run", "loader-errors", "input-errors",
                                 "benchmark", "python", "cuda"])
    parser.add_argument("--quant-run", required=True)
    parser.add_argument("--writer", required=True)
    parser.add_argument("--runtime-lib", required=True)
    parser.add_argument("--cc", required=True)
    parser.add_argument("--model-source", required=True)
    parser.add_argument("--python-path", required=True)
    parser.add_argument("--work-dir", required=True)
    args = parser.parse_args()
    tester = Tester(args)
    getattr(tester, "group_" + args.group.replace("-", "_"))()
    print(f"{tester.count - tester.failures}/{tester.count} passed")
    return 1 if tester.failures else 0


if __name__ == "__main__":
    sys.exit(main())
