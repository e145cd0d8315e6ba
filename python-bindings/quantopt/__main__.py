"""Command line of the quantopt package.

    python -m quantopt perplexity BUNDLE --chunks DIR [--pattern GLOB]
        [--limit N] [--output-name logits] [--json]

Exit status: 0 on success, 1 when the bundle or the chunks are unusable
(the message says which and how to fix it), 2 for bad arguments.
"""

import argparse
import json
import sys

from .runtime import QuantOptError


def _perplexity(a):
    from .perplexity import perplexity

    def progress(done, total, ppl):
        if not a.json:
            print(f"\r[{done}/{total}] running perplexity {ppl:.4f}",
                  end="", file=sys.stderr, flush=True)

    res = perplexity(a.bundle, a.chunks, pattern=a.pattern,
                     output_name=a.output_name, limit=a.limit,
                     progress=progress)
    if not a.json:
        print(file=sys.stderr)
    res["bundle"] = a.bundle
    if a.json:
        print(json.dumps(res))
    else:
        print(f"perplexity {res['ppl']:.4f} over {res['tokens']} predictions "
              f"in {res['chunks']} chunks ({res['seconds']} s)")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m quantopt")
    sub = p.add_subparsers(dest="command", required=True)
    pp = sub.add_parser(
        "perplexity", help="perplexity of a causal LM bundle over token "
        "chunks (the definition of ../shared/models/gemma3/ppl_ort.py)")
    pp.add_argument("bundle", help="the .qob bundle (input_ids -> logits)")
    pp.add_argument("--chunks", required=True,
                    help="directory of [1, n] int64 token arrays, or one .npy")
    pp.add_argument("--pattern", default="eval_*.npy")
    pp.add_argument("--limit", type=int, default=None,
                    help="score only the first N chunks")
    pp.add_argument("--output-name", default="logits")
    pp.add_argument("--json", action="store_true",
                    help="print one JSON line instead of text")
    a = p.parse_args(argv)
    try:
        if a.command == "perplexity":
            _perplexity(a)
    except QuantOptError as e:
        print(f"python -m quantopt {a.command}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
