"""Command line of the quantopt package.

    python -m quantopt perplexity BUNDLE --chunks DIR [--pattern GLOB]
        [--limit N] [--output-name logits] [--json]
    python -m quantopt generate BUNDLE --tokenizer tokenizer.json
        --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K]
        [--top-p P] [--seed S] [--eos-id ID ...] [--json]

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


def _generate(a):
    from .generation import _check_options, generate
    problems = _check_options(a.max_new_tokens, a.temperature, a.top_k,
                              a.top_p)
    if problems:
        raise _BadArguments("; ".join(problems))

    def stream(token, piece):
        if not a.json:
            print(piece, end="", flush=True)

    res = generate(a.bundle, a.prompt, tokenizer=a.tokenizer,
                   max_new_tokens=a.max_new_tokens,
                   temperature=a.temperature, top_k=a.top_k, top_p=a.top_p,
                   seed=a.seed, eos_ids=a.eos_id, stream=stream)
    s = res.stats
    if a.json:
        print(json.dumps({"bundle": a.bundle, "tokens": res.tokens,
                          "text": res.text, **s}))
        return
    print()
    print(f"prefill: {s['prompt_tokens']} tokens in {s['prefill_ms']:.1f} "
          f"ms ({s['prefill_tokens_per_s']:.1f} tokens/s); decode: "
          f"{s['decode_steps']} tokens in {s['decode_ms']:.1f} ms "
          f"({s['decode_tokens_per_s']:.1f} tokens/s); "
          f"{s['generated_tokens']} generated, stopped by "
          f"{s['stop_reason']}, "
          f"{'KV cache' if s['uses_kv_cache'] else 'no KV cache (full re-run per token)'}",
          file=sys.stderr)


class _BadArguments(Exception):
    pass


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
    pg = sub.add_parser(
        "generate", help="generate text from a prompt with a causal LM "
        "bundle (the decode loop of libquantrt), streaming it to stdout; "
        "prefill and decode tokens/s go to stderr")
    pg.add_argument("bundle", help="the .qob bundle (input_ids [, past_*] "
                    "-> logits [, present_*])")
    pg.add_argument("--tokenizer", required=True,
                    help="the model's tokenizer.json (Hugging Face format)")
    pg.add_argument("--prompt", required=True)
    pg.add_argument("--max-new-tokens", type=int, default=64)
    pg.add_argument("--temperature", type=float, default=0.0,
                    help="0 (default) is greedy")
    pg.add_argument("--top-k", type=int, default=0,
                    help="sample among the K most likely tokens (0: all)")
    pg.add_argument("--top-p", type=float, default=1.0,
                    help="nucleus sampling mass in (0, 1] (1: all)")
    pg.add_argument("--seed", type=int, default=0)
    pg.add_argument("--eos-id", type=int, action="append", default=None,
                    help="a token id that ends generation (repeatable; "
                    "default: eos_token_id of the generation_config.json "
                    "next to the tokenizer)")
    pg.add_argument("--json", action="store_true",
                    help="print one JSON line (tokens, text, stats) instead "
                    "of streaming")
    a = p.parse_args(argv)
    try:
        if a.command == "perplexity":
            _perplexity(a)
        elif a.command == "generate":
            _generate(a)
    except _BadArguments as e:
        p.print_usage(sys.stderr)
        print(f"python -m quantopt {a.command}: error: {e}", file=sys.stderr)
        return 2
    except QuantOptError as e:
        print(f"python -m quantopt {a.command}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
