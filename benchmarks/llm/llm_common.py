"""Shared pieces of the LLM benchmarks (benchmarks/llm/): where the prepared
Gemma 3 270M lives, how our tools and the peers' Python are found, the
machine record written next to every raw result.

The model is made by ../shared/models/gemma3/prepare.sh (see
../shared/models/README.md). Every benchmark here exits 0 with a message
starting "SKIPPED:" when it is not prepared, so a CI run without it stays
green and says why nothing was measured.
"""

import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # benchmarks/, for common.py

from common import cpu_flags, cpu_model  # noqa: E402  benchmarks/common.py

SHARED_GEMMA = os.path.join(os.path.dirname(ROOT), "shared", "models",
                            "gemma3")


def model_dir(arg=None):
    """DIR of prepare.sh: --model-dir, $QUANTOPT_MODELS/gemma3 or
    ~/.cache/quantopt-models/gemma3."""
    if arg:
        return arg
    base = os.environ.get("QUANTOPT_MODELS") or os.path.expanduser(
        "~/.cache/quantopt-models")
    return os.path.join(base, "gemma3")


def require_model(d, files):
    """Exits 0 with a SKIPPED line when any of FILES is missing under D."""
    missing = [f for f in files if not os.path.exists(os.path.join(d, f))]
    if missing:
        print(f"SKIPPED: Gemma 3 270M is not prepared in {d} (missing "
              f"{', '.join(missing)}); run ../shared/models/gemma3/prepare.sh "
              "or pass --model-dir")
        sys.exit(0)


def peer_python(d):
    """The Python of prepare.sh's venv (it has the onnxruntime version the
    reference figures were measured with); else this interpreter."""
    p = os.path.join(d, "venv", "bin", "python")
    return p if os.access(p, os.X_OK) else sys.executable


def tools(build_dir):
    b = os.path.abspath(build_dir)
    t = {"quant_compile": os.path.join(b, "bin", "quant-compile"),
         "quantrt": os.path.join(b, "lib", "libquantrt.so")}
    for k, v in t.items():
        if not os.path.exists(v):
            sys.exit(f"error: {v} not found: build QuantOpt first "
                     f"(scripts/build.sh) or pass --build-dir")
    return t


def ours_env(t):
    env = dict(os.environ)
    env["QUANTOPT_RUNTIME_LIB"] = t["quantrt"]
    env["PYTHONPATH"] = os.path.join(ROOT, "python-bindings") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def machine(extra=None):
    rec = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(), "load_avg": list(os.getloadavg()),
        "python": platform.python_version(),
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                  "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "command": " ".join([sys.executable] + sys.argv),
    }
    rec.update(extra or {})
    return rec


def cpu_tag():
    flags = cpu_flags()
    isa = ("amx" if any(f.startswith("amx") for f in flags) else
           "avx512" if any(f.startswith("avx512") for f in flags) else "avx2")
    vendor = "intel" if "Intel" in cpu_model() else "amd"
    return f"{vendor}-{isa}"


def write_result(path, rec):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    print(f"raw results: {path}")


def default_result_path(name):
    day = datetime.date.today().strftime("%Y%m%d")
    return os.path.join(ROOT, "benchmarks", "results", "llm",
                        f"{name}-{cpu_tag()}-{day}.json")
