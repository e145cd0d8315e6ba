#!/usr/bin/env python3
"""Makes the tiny random-weight models of test/models/tiny/ (issue 16).

Each family that users quantize with QuantOpt (Llama, Qwen2, Qwen3, Gemma 3,
Phi-3, Mistral, GPT-2, BERT/MiniLM) is built from its Hugging Face config at
toy size (2 layers, width 64, vocabulary 256, seeded random weights) and
exported the way users export it:

  <family>_dynamo.onnx      torch.onnx.export(dynamo=True, opset 18)
  <family>_dynamo_kv.onnx   the same with past_key_i/past_value_i inputs and
                            present_* outputs (decoders only)
  <family>_ts.onnx          the TorchScript exporter (dynamo=False, opset 17)
  <family>_genai_fp32.onnx  onnxruntime-genai's model builder (`-p fp32 -e
  <family>_genai_int4.onnx  cpu` / `-p int4`): com.microsoft
                            GroupQueryAttention, (Skip)SimplifiedLayer-
                            Normalization, MatMulNBits; attention_mask and
                            past_key_values.N.key/value inputs (decoders the
                            builder knows; needs the onnxruntime-genai wheel,
                            otherwise these are skipped and said so)

Batch and sequence (and past) lengths are dynamic. The files are committed,
so tests need neither torch nor transformers; this script needs both (for
example the venv that ../shared/models/gemma3/prepare.sh makes):

  ~/.cache/quantopt-models/gemma3/venv/bin/python scripts/make_tiny_llms.py \
      [--out test/models/tiny] [--only llama,gpt2]

A manifest (tiny_models.json) records each file's family, exporter, inputs,
outputs and the versions used. Expected outputs are not stored: the tests
compute them with onnxruntime.
"""
import argparse
import json
import os
import sys
import warnings

import torch
import transformers as tr

SEED = 1234
VOCAB = 256
WIDTH = 64
LAYERS = 2


def decoder_configs():
    common = dict(vocab_size=VOCAB, hidden_size=WIDTH, intermediate_size=128,
                  num_hidden_layers=LAYERS, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256)
    return {
        "llama": tr.LlamaConfig(**common, head_dim=16),
        "qwen2": tr.Qwen2Config(**common),
        "qwen3": tr.Qwen3Config(**common, head_dim=16),
        "mistral": tr.MistralConfig(**common, head_dim=16, sliding_window=None),
        "phi3": tr.Phi3Config(**common, pad_token_id=0),
        "gemma3": tr.Gemma3TextConfig(
            vocab_size=VOCAB, hidden_size=WIDTH, intermediate_size=128,
            num_hidden_layers=LAYERS, num_attention_heads=4,
            num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
            sliding_window=8, layer_types=["sliding_attention",
                                           "full_attention"]),
        "gpt2": tr.GPT2Config(vocab_size=VOCAB, n_embd=WIDTH, n_layer=LAYERS,
                              n_head=4, n_positions=256),
    }


class Logits(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m(input_ids=input_ids, use_cache=False).logits


class LogitsWithCache(torch.nn.Module):
    def __init__(self, m, layers):
        super().__init__()
        self.m = m
        self.layers = layers

    def forward(self, input_ids, *past):
        cache = tr.DynamicCache()
        for i in range(self.layers):
            cache.update(past[2 * i], past[2 * i + 1], i)
        o = self.m(input_ids=input_ids, past_key_values=cache, use_cache=True)
        pres = []
        for i in range(self.layers):
            layer = o.past_key_values.layers[i]
            pres += [layer.keys, layer.values]
        return (o.logits, *pres)


class Embeddings(torch.nn.Module):
    """BERT/MiniLM as sentence-transformers use it: mean-pooled hidden
    states under the attention mask."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        h = self.m(input_ids=input_ids,
                   attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def kv_heads_and_dim(cfg):
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return heads, dim


def export(module, args, path, names_in, names_out, dynamic, dynamo):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            prog = torch.onnx.export(module, args, None, dynamo=True,
                                     opset_version=18, input_names=names_in,
                                     output_names=names_out,
                                     dynamic_shapes=dynamic, optimize=True)
            prog.save(path)
        else:
            # The TorchScript exporter names dynamic axes per input/output.
            axes = {}
            for i, name in enumerate(names_in):
                d = dynamic[name] if isinstance(dynamic, dict) else dynamic[i]
                axes[name] = {k: v.__name__ for k, v in d.items()}
            axes[names_out[0]] = ({0: "batch"} if names_out[0] == "embeddings"
                                  else {0: "batch", 1: "seq"})
            torch.onnx.export(module, args, path, dynamo=False,
                              opset_version=17, input_names=names_in,
                              output_names=names_out, dynamic_axes=axes)


def genai_export(m, family, out, manifest, skipped, tokenizer_dir):
    """The onnxruntime-genai model builder on the saved HF model: fp32 and
    int4 (MatMulNBits, block 32) graphs for the CPU."""
    import shutil
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        hf = os.path.join(tmp, "hf")
        m.save_pretrained(hf)
        # The builder saves the tokenizer too; any tokenizer.json serves.
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(tokenizer_dir, f), hf)
        for precision in ("fp32", "int4"):
            name = f"{family}_genai_{precision}.onnx"
            built = os.path.join(tmp, precision)
            cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder",
                   "-i", hf, "-o", built, "-p", precision, "-e", "cpu",
                   "--extra_options", "int4_block_size=32"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                skipped[name] = "builder: " + (r.stderr.strip() or
                                               r.stdout.strip())[-200:]
                print(f"skipped {name}: {skipped[name]}")
                continue
            import onnx
            model = onnx.load(os.path.join(built, "model.onnx"))
            path = os.path.join(out, name)
            # One self-contained file (the tiny weights are small).
            onnx.save(model, path)
            past = [i.name for i in model.graph.input
                    if i.name.startswith("past_key_values.")]
            kv = [i for i in model.graph.input if i.name == past[0]][0]
            dims = kv.type.tensor_type.shape.dim
            manifest[name] = {
                "family": family, "exporter": f"genai-builder-{precision}",
                "kv": True, "layers": len(past) // 2,
                "kv_heads": dims[1].dim_value,
                "head_dim": m.config.head_dim if getattr(
                    m.config, "head_dim", None) else
                m.config.hidden_size // m.config.num_attention_heads,
                "past": "past_key_values.{i}.{kind}",
                "present": "present.{i}.{kind}"}
            print(f"wrote {name} ({os.path.getsize(path)} bytes)")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "test", "models", "tiny"))
    p.add_argument("--only", default="")
    p.add_argument("--tokenizer-dir", default=os.path.expanduser(
        "~/.cache/quantopt-models/gemma3/hf_fp32"),
        help="a folder with tokenizer.json for the genai builder")
    p.add_argument("--genai-only", action="store_true",
                   help="only the onnxruntime-genai builder exports")
    a = p.parse_args(argv)
    only = set(filter(None, a.only.split(",")))
    os.makedirs(a.out, exist_ok=True)
    manifest_path = os.path.join(a.out, "tiny_models.json")
    manifest, skipped = {}, {}
    if os.path.exists(manifest_path):
        old = json.load(open(manifest_path))
        manifest, skipped = old["models"], old.get("not_exported", {})
    versions = {"torch": torch.__version__, "transformers": tr.__version__}
    import onnx
    versions["onnx"] = onnx.__version__

    batch = torch.export.Dim("batch", min=1, max=16)
    seq = torch.export.Dim("seq", min=2, max=128)
    seq1 = torch.export.Dim("seq", min=1, max=128)
    past = torch.export.Dim("past", min=1, max=128)

    for family, cfg in decoder_configs().items():
        if only and family not in only:
            continue
        torch.manual_seed(SEED)
        m = tr.AutoModelForCausalLM.from_config(
            cfg, attn_implementation="eager").eval()
        ids = torch.randint(0, VOCAB, (2, 8))
        try:
            import onnxruntime_genai  # noqa: F401
            if family != "gpt2":  # the builder has no GPT-2
                genai_export(m, family, a.out, manifest, skipped,
                             a.tokenizer_dir)
        except ImportError:
            print("onnxruntime-genai not installed: no builder exports")
        if a.genai_only:
            continue
        for dynamo in (True, False):
            name = f"{family}_{'dynamo' if dynamo else 'ts'}.onnx"
            path = os.path.join(a.out, name)
            try:
                export(Logits(m).eval(), (ids,), path, ["input_ids"], ["logits"],
                       {"input_ids": {0: batch, 1: seq}}, dynamo)
                manifest[name] = {"family": family, "exporter":
                                  "dynamo-opset18" if dynamo else
                                  "torchscript-opset17", "kv": False}
                print(f"wrote {name} ({os.path.getsize(path)} bytes)")
            except Exception as e:  # an exporter that cannot do a family
                skipped[name] = f"{type(e).__name__}: {str(e)[:200]}"
                print(f"skipped {name}: {skipped[name]}")
        heads, dim = kv_heads_and_dim(cfg)
        n = cfg.num_hidden_layers
        names_in = ["input_ids"] + [f"past_{k}_{i}" for i in range(n)
                                    for k in ("key", "value")]
        names_out = ["logits"] + [f"present_{k}_{i}" for i in range(n)
                                  for k in ("key", "value")]
        pk = [torch.randn(2, heads, 5, dim) for _ in range(2 * n)]
        name = f"{family}_dynamo_kv.onnx"
        path = os.path.join(a.out, name)
        try:
            export(LogitsWithCache(m, n).eval(), (ids[:, :3], *pk), path, names_in,
                   names_out, ({0: batch, 1: seq1},
                               tuple({0: batch, 2: past} for _ in range(2 * n))),
                   True)
            manifest[name] = {"family": family, "exporter": "dynamo-opset18",
                              "kv": True, "kv_heads": heads, "head_dim": dim,
                              "layers": n}
            print(f"wrote {name} ({os.path.getsize(path)} bytes)")
        except Exception as e:
            skipped[name] = f"{type(e).__name__}: {str(e)[:200]}"
            print(f"skipped {name}: {skipped[name]}")

    if (not only or "bert" in only) and not a.genai_only:
        torch.manual_seed(SEED)
        cfg = tr.BertConfig(vocab_size=VOCAB, hidden_size=WIDTH,
                            num_hidden_layers=LAYERS, num_attention_heads=4,
                            intermediate_size=128, max_position_embeddings=128)
        m = tr.BertModel(cfg, add_pooling_layer=False).eval()
        ids = torch.randint(0, VOCAB, (2, 8))
        mask = torch.ones(2, 8, dtype=torch.int64)
        mask[1, 5:] = 0
        for dynamo in (True, False):
            name = f"bert_{'dynamo' if dynamo else 'ts'}.onnx"
            path = os.path.join(a.out, name)
            try:
                export(Embeddings(m).eval(), (ids, mask), path,
                       ["input_ids", "attention_mask"], ["embeddings"],
                       {"input_ids": {0: batch, 1: seq},
                        "attention_mask": {0: batch, 1: seq}}, dynamo)
                manifest[name] = {"family": "bert", "exporter":
                                  "dynamo-opset18" if dynamo else
                                  "torchscript-opset17", "kv": False}
                print(f"wrote {name} ({os.path.getsize(path)} bytes)")
            except Exception as e:
                skipped[name] = f"{type(e).__name__}: {str(e)[:200]}"
                print(f"skipped {name}: {skipped[name]}")

    for name in manifest:
        skipped.pop(name, None)
    # What an exporter could not export, with its error (the TorchScript
    # exporter of torch 2.15 fails on transformers 5.x's decoders).
    json.dump({"versions": versions, "vocab": VOCAB, "models": manifest,
               "not_exported": skipped},
              open(manifest_path, "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
