#!/usr/bin/env python3
"""Float models, --scheme float, against onnxruntime float.

  - MLP (Gemm+Relu+Gemm+Softmax, dynamic batch): batch 1, 3, 17, 64;
  - 2-layer pre-LN transformer (attention, LayerNormalization, Gelu and its
    Erf decomposition, Shape/Gather/Concat-built Reshape targets; dynamic
    batch and sequence): several (batch, seq) shapes, one bundle for all.

Tolerance: |ours - ORT| <= 1e-5 * max(1, max|ref|). Both sides compute in
float32 but sum in different orders (our packed sgemm and linalg reductions
vs MLAS), and the two erf/exp implementations differ by an ulp or two. With
K <= 128 the worst-case reassociation error of a dot product is about
K * 2^-24 ~ 8e-6 relative to sum|a*b|; observed errors are ~1e-6, so 1e-5
catches any real lowering error (which shows as 1e-2 or worse) without
flaking.
"""

import os
import sys

import numpy as np

import e2e_common as E


def main():
    args = E.parse_args(__doc__.split("\n")[0])
    import onnx
    import make_model

    c = E.Checker("e2e-float-models")
    rng = np.random.default_rng(11)
    work = args.work_dir

    def rel_tol(ref):
        return 1e-5 * max(1.0, float(np.max(np.abs(ref))))

    # --- MLP -------------------------------------------------------------
    mlp = os.path.join(work, "mlp.onnx")
    onnx.save_model(make_model.build_mlp(), mlp)
    E.compile_model(args.quant_compile, mlp, os.path.join(work, "mlp.qob"))
    sess = E.ort_session(mlp, optimized=True)
    E.log("MLP (fp32) vs onnxruntime:")
    with E.bundle(os.path.join(work, "mlp.qob")) as b:
        for batch in (1, 3, 17, 64):
            x = rng.standard_normal((batch, 64)).astype(np.float32)
            got = b.run(input=x)["probs"]
            ref = E.ort_run(sess, {"input": x})["probs"]
            E.compare(c, f"mlp batch={batch} probs", got, ref, rel_tol(ref))

    # --- transformer -----------------------------------------------------
    tr = os.path.join(work, "transformer.onnx")
    onnx.save_model(make_model.build_transformer(), tr)
    E.compile_model(args.quant_compile, tr, os.path.join(work, "tr.qob"))
    sess = E.ort_session(tr, optimized=True)
    E.log("transformer (fp32, dynamic batch and seq) vs onnxruntime:")
    with E.bundle(os.path.join(work, "tr.qob")) as b:
        for batch, seq in ((1, 1), (1, 8), (2, 5), (3, 16), (4, 33)):
            x = rng.standard_normal((batch, seq, 32)).astype(np.float32)
            got = b.run(x=x)["y"]
            ref = E.ort_run(sess, {"x": x})["y"]
            E.compare(c, f"transformer batch={batch} seq={seq} y", got, ref,
                      rel_tol(ref))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
