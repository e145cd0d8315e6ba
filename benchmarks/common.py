"""Shared helpers of the CPU benchmarks: tools, machine limits, timing.

Every benchmark runs QuantOpt (a bundle through the ctypes runtime,
python-bindings/quantopt/runtime.py) and onnxruntime (InferenceSession,
intra_op_num_threads = --threads) in the same Python process, on the same
inputs, with the same timing loop: `warmup` untimed runs, then timed runs
until both `iterations` runs and `min_time` seconds; the median is reported.

Both sides run without copying outputs: ours through Bundle._run_raw (the
loop of Bundle.benchmark, the result freed at once), ORT through
run_with_iobinding with the inputs bound once and the outputs bound to
preallocated OrtValues.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Env:
    """Paths to the tools of one build directory, and global options."""

    def __init__(self, build_dir, threads=2, qk_bench=None, quick=False,
                 work_dir=None, verbose=True):
        self.build_dir = os.path.abspath(build_dir)
        self.threads = threads
        self.quick = quick
        self.verbose = verbose
        self.quant_compile = os.path.join(self.build_dir, "bin", "quant-compile")
        if not os.path.exists(self.quant_compile):
            # A build dir with only the kernels rebuilt: packing layouts are
            # the same, so the main build's compiler serves.
            self.quant_compile = os.path.join(ROOT, "build", "bin",
                                              "quant-compile")
        self.runtime_lib = os.path.join(self.build_dir, "lib", "libquantrt.so")
        self.qk_bench = qk_bench or self._find_qk_bench()
        self.work_dir = work_dir or os.path.join(
            os.environ.get("TMPDIR", "/tmp"), "quantopt-bench")
        os.makedirs(self.work_dir, exist_ok=True)
        os.environ["QUANTOPT_RUNTIME_LIB"] = self.runtime_lib
        sys.path.insert(0, os.path.join(ROOT, "python-bindings"))
        from quantopt import runtime  # noqa: E402
        self.rt = runtime
        runtime.set_num_threads(threads)
        # As quant-run does: the benchmark process is ours to tune.
        try:
            runtime.tune_allocator()
        except runtime.QuantOptError:
            pass  # not glibc: run untuned
        self._limits = None

    def _find_qk_bench(self):
        for d in (self.build_dir, os.path.join(ROOT, "build"),
                  os.path.join(ROOT, "build-bench")):
            p = os.path.join(d, "bin", "qk-bench")
            if os.path.exists(p):
                return p
        return None

    def log(self, *args):
        if self.verbose:
            print(*args, file=sys.stderr, flush=True)

    # -- tools ---------------------------------------------------------------

    def compile(self, onnx_path, out_path, *flags):
        """quant-compile; returns (seconds, the command)."""
        cmd = [self.quant_compile, onnx_path, "-o", out_path, "--quiet",
               *flags]
        for attempt in range(10):
            # Another engineer may be relinking build/: wait for the binary.
            if os.path.exists(self.quant_compile):
                break
            time.sleep(5)
        for attempt in range(20):
            try:
                start = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                break
            except OSError:  # being relinked (ETXTBSY, EACCES, ENOENT)
                time.sleep(5)
        else:
            raise RuntimeError(f"{self.quant_compile} stayed unavailable")
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        return elapsed, " ".join(cmd)

    def bundle(self, path):
        return self.rt.Bundle(path)

    # -- machine limits ------------------------------------------------------

    def limits(self):
        """int8 MAC peak, f32 FMA peak and DRAM read bandwidth for
        --threads threads, measured by qk-bench (None where unavailable)."""
        if self._limits is not None:
            return self._limits
        lim = {"source": self.qk_bench, "int8_gmacs": None,
               "f32_gflops": None, "read_gbs": None}
        if self.qk_bench:
            cmd = [self.qk_bench, "--threads", str(self.threads),
                   "--limits-only"]
            lim["command"] = " ".join(cmd)
            lim["repeats"] = 1 if self.quick else 3
            # A limit is a maximum: noise (other processes on the shared
            # cores) only lowers a measurement, so keep the best of a few.
            for _ in range(lim["repeats"]):
                proc = subprocess.run(cmd, capture_output=True, text=True)
                for line in proc.stdout.splitlines():
                    rec = json.loads(line)
                    if rec.get("kind") == "peak":
                        lim["int8_instr"] = rec["int8_instr"]
                        for key, src in (("int8_gmacs", "int8_gmacs_all"),
                                         ("int8_gmacs_core",
                                          "int8_gmacs_core"),
                                         ("f32_gflops", "f32_gflops_all")):
                            lim[key] = max(lim.get(key) or 0, rec[src])
                    elif rec.get("kind") == "bandwidth":
                        lim["read_gbs"] = max(lim["read_gbs"] or 0,
                                              rec["read_gbs"])
            lim["load_avg"] = os.getloadavg()[0]
            normalize_limits(lim, self.threads)
        self._limits = lim
        return lim


def normalize_limits(lim, threads):
    """The compute peaks of all threads are at least `threads` times the
    one-core peak (cores do not share vector units); a lower all-thread
    measurement means another process held a core meanwhile. Bandwidth is
    shared, so it is kept as measured."""
    if lim.get("int8_gmacs_core"):
        lim["int8_gmacs_measured_all"] = lim.get("int8_gmacs")
        lim["int8_gmacs"] = max(lim.get("int8_gmacs") or 0,
                                threads * lim["int8_gmacs_core"])
    return lim


# -- environment record --------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(f for f in flags if re.match(
                        r"avx|fma|f16c|amx|vnni", f))
    except OSError:
        pass
    return []


def environment(env):
    import onnxruntime as ort
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(), "threads": env.threads,
        "kernel_isa": env.rt.kernel_isa(),
        "load_avg": list(os.getloadavg()),
        "onnxruntime": ort.__version__, "numpy": np.__version__,
        "python": platform.python_version(),
        "build_dir": env.build_dir,
        "command": " ".join([sys.executable] + sys.argv),
    }


# -- timing --------------------------------------------------------------------

class Flusher:
    """Evicts the last-level cache between timed runs (untimed) by reading
    a buffer of `mib` MiB, so weight streams come from DRAM as in a model
    whose weights do not fit in L3. Reading, not writing: a written buffer
    leaves dirty lines whose write-back would slow the timed run."""

    def __init__(self, mib=96):
        self.buf = np.ones(mib << 17, np.float64)
        self.sink = 0.0

    def __call__(self):
        self.sink += float(self.buf.sum())


def _busy_seconds():
    """CPU seconds all processes spent busy (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class OthersCpu:
    """Cores used by other processes between start() and stop(): the noise
    of a measurement (the load average counts our own threads too)."""

    def start(self):
        self.busy, self.own, self.t = (_busy_seconds(), os.times(),
                                       time.perf_counter())

    def stop(self):
        busy, own, t = _busy_seconds(), os.times(), time.perf_counter()
        if self.busy is None:
            return None
        own_s = (own.user + own.system) - (self.own.user + self.own.system)
        return max(0.0, (busy - self.busy - own_s) / (t - self.t))


def time_loop(fn, warmup=2, iterations=10, min_time=0.5, flush=None,
              max_time=None):
    """Median/min/p90 of fn() in ms, the load average at the end and the
    cores other processes used meanwhile."""
    for _ in range(warmup):
        if flush:
            flush()
        fn()
    times = []
    total = 0.0
    others = OthersCpu()
    others.start()
    while len(times) < iterations or total < min_time:
        if flush:
            flush()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed * 1e3)
        total += elapsed
        if max_time and total > max_time and len(times) >= 3:
            break
    ms = np.array(times)
    return {"median_ms": float(np.median(ms)), "min_ms": float(ms.min()),
            "p90_ms": float(np.percentile(ms, 90)), "runs": len(times),
            "load_avg": os.getloadavg()[0], "others_cpu": others.stop()}


def ours_runner(bundle, feeds):
    """A no-argument callable running the bundle on `feeds` (dict), the
    outputs freed unread (the loop of Bundle.benchmark)."""
    tensors, count, keep = bundle._prepare((), dict(feeds))
    lib = bundle._lib

    def run():
        lib.qrt_result_free(bundle._run_raw(tensors, count))
    run.keep = keep
    return run


def ort_session(path, threads, opt_level="all", extra=None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[opt_level]
    for k, v in (extra or {}).items():
        so.add_session_config_entry(k, v)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_runner(sess, feeds):
    """run_with_iobinding with inputs bound once and outputs bound to
    preallocated OrtValues (shapes from one plain run)."""
    import onnxruntime as ort
    outs = sess.run(None, feeds)
    binding = sess.io_binding()
    keep = []
    for name, value in feeds.items():
        v = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value))
        keep.append(v)
        binding.bind_ortvalue_input(name, v)
    for meta, ref in zip(sess.get_outputs(), outs):
        v = ort.OrtValue.ortvalue_from_shape_and_type(list(ref.shape),
                                                      ref.dtype)
        keep.append(v)
        binding.bind_ortvalue_output(meta.name, v)

    def run():
        sess.run_with_iobinding(binding)
    run.keep = keep
    return run


def ratio(ort_ms, ours_ms):
    """> 1 means ours is faster."""
    return ort_ms / ours_ms if ours_ms else None


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown_table(rows, columns):
    """rows: list of dicts; columns: list of (header, key, digits)."""
    out = ["| " + " | ".join(h for h, _, _ in columns) + " |",
           "| " + " | ".join("---" for _ in columns) + " |"]
    for r in rows:
        out.append("| " + " | ".join(fmt(r.get(k), d) for _, k, d in columns)
                   + " |")
    return "\n".join(out)


def standalone_main(doc, run, columns, shapes_help):
    """The command line each bench_*.py script has: run its shapes (or its
    defaults), print JSON lines and a markdown table."""
    import argparse
    import json
    import sys
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--shapes", nargs="*", help=shapes_help)
    args = p.parse_args()
    env = Env(args.build_dir, args.threads, quick=args.quick)
    shapes = [tuple(int(x) for x in s.split(",")) for s in args.shapes or []]
    results = run(env, shapes or None)
    for r in results:
        print(json.dumps(r))
    print(markdown_table(results, columns), file=sys.stderr)
