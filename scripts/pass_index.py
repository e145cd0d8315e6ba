#!/usr/bin/env python3
"""The index of QuantOpt's registered passes and pipelines, and its checks.

Reads what `quant-opt --help` registers (the truth: what a user can run),
tells our passes from upstream MLIR's by asking `mlir-opt --help`, and for
each of ours finds its definition (the TableGen `Pass<>` def and the .cpp
that implements it, or the PassPipelineRegistration) and its lit test, the
file named after its flag.

    scripts/pass_index.py --quant-opt build/bin/quant-opt --check
        fails (exit 1) when a registered pass or pipeline of ours has no
        test/**/<flag>.mlir, when a flag breaks the naming convention
        (qnn-<verb>-<noun> for transforms and pipelines,
        convert-qnn-to-<target> for conversions), when lib/ defines a pass
        outside the registry (mlir::PassWrapper), or when docs/Passes.md's
        generated table differs from what the build registers.
    scripts/pass_index.py --quant-opt build/bin/quant-opt --write
        rewrites the generated table of docs/Passes.md.
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "Passes.md")
BEGIN = "<!-- BEGIN GENERATED: scripts/pass_index.py --write -->"
END = "<!-- END GENERATED -->"

# "      --flag     -   summary" at the first option level of a section.
FLAG_LINE = re.compile(r"^      --([a-z0-9][a-z0-9-]*)\s+-\s+(.*?)\s*$")


def registered(tool):
    """{flag: (kind, summary)} of a tool's --help: kind 'pass' or 'pipeline'."""
    out = subprocess.run([tool, "--help"], capture_output=True, text=True,
                         check=True).stdout
    flags, section = {}, None
    for line in out.splitlines():
        if line.strip() == "Passes:":
            section = "pass"
        elif line.strip() == "Pass Pipelines:":
            section = "pipeline"
        elif section and line.startswith("  --"):
            section = None  # the next top-level option ends the list
        elif section:
            m = FLAG_LINE.match(line)
            if m:
                flags[m.group(1)] = (section, m.group(2))
    return flags


def sources(*dirs, exts=(".cpp", ".h", ".td")):
    for d in dirs:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith(exts):
                    path = os.path.join(base, f)
                    with open(path, encoding="utf-8") as fh:
                        yield os.path.relpath(path, ROOT), fh.read()


def definitions():
    """{flag: source path} from TableGen defs and pipeline registrations."""
    files = dict(sources("include", "lib", "tools"))
    defs = {}
    for path, text in files.items():
        if not path.endswith(".td"):
            continue
        for name, flag in re.findall(
                r'def\s+(\w+)\s*:\s*(?:Interface)?Pass<\s*"([^"]+)"', text):
            macro = "GEN_PASS_DEF_" + name.upper()
            impl = [p for p, t in files.items()
                    if p.endswith(".cpp") and macro in t]
            defs[flag] = impl[0] if impl else path
    for path, text in files.items():
        if not path.endswith(".cpp") or "PassPipelineRegistration" not in text:
            continue
        for flag in re.findall(
                r'PassPipelineRegistration<[^>]*>\s*\w+\s*\(\s*"([^"]+)"',
                text):
            defs[flag] = path
    return defs


def tests():
    """{file name without .mlir: path} of every lit test under test/."""
    found = {}
    for base, _, files in os.walk(os.path.join(ROOT, "test")):
        for f in files:
            if f.endswith(".mlir"):
                found.setdefault(f[:-5], os.path.relpath(
                    os.path.join(base, f), ROOT))
    return found


def naming_error(flag, kind):
    if flag.startswith("convert-"):
        return None if re.fullmatch(r"convert-qnn-to-[a-z0-9]+", flag) else \
            "conversions are named convert-qnn-to-<target>"
    if kind == "pass" and not re.fullmatch(r"qnn(-[a-z0-9]+){2,}", flag):
        return "transforms are named qnn-<verb>-<noun>"
    if kind == "pipeline" and not re.fullmatch(r"qnn(-[a-z0-9]+)+", flag):
        return "pipelines are named qnn-<verb>[-<noun>]"
    return None


def table(ours, defs, found):
    rows = ["| flag | kind | what it does | defined in | lit test |",
            "| --- | --- | --- | --- | --- |"]
    for flag in sorted(ours):
        kind, summary = ours[flag]
        if flag.startswith("convert-"):
            kind = "conversion"
        test = found.get(flag)
        rows.append("| `{}` | {} | {} | [{}]({}) | {} |".format(
            flag, kind, summary.replace("|", "\\|"),
            os.path.basename(defs.get(flag, "?")),
            os.path.relpath(os.path.join(ROOT, defs.get(flag, "")),
                            os.path.dirname(DOC)),
            "[{}]({})".format(test[len("test/"):], os.path.relpath(
                os.path.join(ROOT, test), os.path.dirname(DOC)))
            if test else "**missing**"))
    return "\n".join(rows) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quant-opt", required=True)
    p.add_argument("--mlir-opt", default="/usr/lib/llvm-22/bin/mlir-opt")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = p.parse_args()

    flags = registered(args.quant_opt)
    upstream = registered(args.mlir_opt) if os.path.exists(args.mlir_opt) \
        else {}
    defs = definitions()
    found = tests()
    ours = {f: v for f, v in flags.items()
            if f in defs or f.startswith(("qnn-", "convert-qnn-"))
            or f not in upstream}
    errors = []
    for flag in sorted(ours):
        kind = ours[flag][0]
        if flag not in defs:
            errors.append(f"{flag}: registered by quant-opt but defined by "
                          "no TableGen Pass<> or PassPipelineRegistration "
                          "in include/, lib/ or tools/")
        if flag not in found:
            errors.append(f"{flag}: no lit test named after the flag; add "
                          f"test/<area>/{flag}.mlir")
        why = naming_error(flag, kind)
        if why:
            errors.append(f"{flag}: {why}")
    for flag in sorted(set(defs) - set(flags)):
        errors.append(f"{flag}: defined in {defs[flag]} but not registered "
                      "in quant-opt (call its register function from "
                      "quantopt::registerAllPasses)")
    for path, text in sources("lib", "tools", exts=(".cpp", ".h")):
        for m in re.finditer(r"\bPassWrapper\s*<\s*(\w+)", text):
            line = text.count("\n", 0, m.start()) + 1
            errors.append(f"{path}:{line}: {m.group(1)} is a PassWrapper "
                          "outside the registry; define it in a Passes.td")

    generated = table(ours, defs, found)
    with open(DOC, encoding="utf-8") as fh:
        doc = fh.read()
    if BEGIN not in doc or END not in doc:
        errors.append(f"{DOC}: no '{BEGIN}' ... '{END}' block")
        current = None
    else:
        head, rest = doc.split(BEGIN, 1)
        current, tail = rest.split(END, 1)
        if args.write:
            with open(DOC, "w", encoding="utf-8") as fh:
                fh.write(head + BEGIN + "\n" + generated + END + tail)
            current = "\n" + generated
    if args.check and current is not None and current != "\n" + generated:
        errors.append("docs/Passes.md: the generated table is stale; run "
                      "scripts/pass_index.py --quant-opt build/bin/quant-opt "
                      "--write")

    print(f"pass-index: {len(ours)} passes and pipelines of ours registered "
          f"({sum(1 for f in ours if f in found)} with a lit test named "
          f"after the flag), {len(flags) - len(ours)} upstream")
    for e in errors:
        print("error: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
