"""Perplexity of a causal language model bundle over token chunks.

The definition is the one of ../shared/models/gemma3/ppl_ort.py, so that a
figure compares one to one with onnxruntime's on the same chunks: for each
chunk of token ids [1, n] (a .npy file), the model's logits [1, n, vocab]
are computed in one run; the negative log-likelihood of token t+1 under the
log-softmax of position t is taken for t = 0 .. n-2, in float64; the
perplexity is exp(mean NLL) over all predictions of all chunks.

    python -m quantopt perplexity BUNDLE --chunks DIR [--pattern 'eval_*.npy']
"""

import glob
import os
import time

import numpy as np

from .runtime import Bundle, QuantOptError


def chunk_nll(logits, ids):
    """Negative log-likelihoods (float64) of ids[1:] under logits[:-1]."""
    lg = np.asarray(logits, dtype=np.float64)
    if lg.ndim == 3:
        lg = lg[0]
    ids = np.asarray(ids).reshape(-1)
    lg = lg[:-1]
    target = ids[1:]
    mx = lg.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(lg - mx).sum(axis=-1)) + mx[:, 0]
    return lse - lg[np.arange(target.size), target]


def chunk_files(chunks, pattern="eval_*.npy"):
    """The sorted chunk files of directory `chunks` (or `chunks` itself)."""
    if os.path.isfile(chunks):
        return [chunks]
    files = sorted(glob.glob(os.path.join(chunks, pattern)))
    if not files:
        raise QuantOptError(
            "QRT_ERROR_INPUT", f"no chunk files '{pattern}' in '{chunks}': give the "
            "directory of [1, n] int64 token arrays (prepare.sh writes "
            "corpus/eval_NN.npy) or --pattern")
    return files


def perplexity(bundle, chunks, pattern="eval_*.npy", input_name=None,
               output_name="logits", limit=None, progress=None):
    """Perplexity of `bundle` (a Bundle or a .qob path) over the chunks.

    Returns a dict: ppl, tokens (predictions scored), chunks, seconds.
    `input_name` defaults to the bundle's only (or first int64) input;
    `output_name` names the logits output.
    """
    own = not isinstance(bundle, Bundle)
    b = Bundle(bundle) if own else bundle
    try:
        if input_name is None:
            ints = [i.name for i in b.inputs if i.dtype == "int64"]
            input_name = (ints or [b.inputs[0].name])[0]
        names = [o.name for o in b.outputs]
        if output_name not in names:
            raise QuantOptError(
                "QRT_ERROR_INPUT", f"the bundle has no output '{output_name}' (its "
                f"outputs: {', '.join(names)}); pass output_name")
        files = chunk_files(chunks, pattern)[:limit]
        nll = []
        start = time.time()
        for k, f in enumerate(files):
            ids = np.load(f)
            if ids.ndim != 2 or ids.shape[0] != 1 or ids.dtype != np.int64:
                raise QuantOptError(
                    "QRT_ERROR_INPUT", f"chunk '{f}' is {ids.dtype} {list(ids.shape)}; "
                    "expected int64 [1, n] token ids")
            out = b.run(**{input_name: ids})
            nll.append(chunk_nll(out[output_name], ids))
            if progress:
                progress(k + 1, len(files), float(np.exp(
                    np.concatenate(nll).mean())))
        nll = np.concatenate(nll)
        return {"ppl": float(np.exp(nll.mean())), "tokens": int(nll.size),
                "chunks": len(files),
                "seconds": round(time.time() - start, 1)}
    finally:
        if own:
            b.close()
