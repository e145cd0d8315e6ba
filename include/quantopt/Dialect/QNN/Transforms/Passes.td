//===- Passes.td - QNN transformation passes ---------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD
#define QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def QNNInferShapesPass : Pass<"qnn-infer-shapes", "::mlir::ModuleOp"> {
  let summary = "Refine result shapes from operands and constant shape values";
  let description = [{
    Re-runs result type inference of every `qnn` op in program order and
    replaces each result type by the more static of its current and inferred
    types (unranked becomes ranked, `?` becomes a size), then updates the
    function's result types. Run after canonicalization has folded shape
    arithmetic (`qnn.shape`, `gather`, `concat` on constants) so that
    `reshape`/`expand`/`slice` targets become constants.

    Uses outside the `qnn` dialect (calls, other dialects' ops) keep the
    type they had through a `tensor.cast`, and a function that is called
    somewhere keeps its signature (its returned values are cast back), so
    the IR stays valid.

    A conflict between a declared and an inferred type is an error naming
    the op and both types.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numRefined", "num-refined", "Number of result types refined">
  ];
}

def QNNDecomposeGemmPass : Pass<"qnn-decompose-gemm", "::mlir::func::FuncOp"> {
  let summary = "Rewrite qnn.gemm into transpose, matmul, mul and add";
  let description = [{
    `alpha * A' * B' + beta * C` becomes `qnn.transpose` (when `trans_a` /
    `trans_b`), `qnn.matmul`, `qnn.mul` by a scalar constant (when alpha or
    beta differs from 1) and `qnn.add`, so that every later pass sees one
    spelling of a linear layer.
  }];
  let statistics = [
    Statistic<"numDecomposed", "num-decomposed", "Number of gemm ops rewritten">
  ];
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def QNNInsertQDQPass : Pass<"qnn-insert-qdq", "::mlir::func::FuncOp"> {
  let summary = "Insert quantize/dequantize pairs for a quantization scheme";
  let description = [{
    For every `qnn.matmul` whose right operand is a constant weight (or a
    transpose of one) and that is not excluded, inserts
    `qnn.dequantize(qnn.quantize(w))` on the weight with round-to-nearest
    parameters computed from the weight itself (per tensor, per output
    channel or per group of `group-size` rows along K; symmetric or with zero
    points), and, for schemes that quantize activations, a pair on the
    activation: static (`!quant.calibrated` ranges filled in later by
    `qnn-fold-calibration`) or dynamic (`qnn.dynamic_quantize` at run time).

    Default policy (the one that keeps accuracy): only matmuls with constant
    weights are quantized; embeddings (gather), norms, softmax and attention
    score matmuls stay in float; int4 weights are per group of 128, int8
    weights per output channel, both symmetric. Layers can be kept in float
    by node name (`exclude-nodes`, regexes matched against the op's
    location name, e.g. `lm_head`) or by op type (`exclude-op-types`).
  }];
  let options = [
    Option<"scheme", "scheme", "::quantopt::qnn::QuantScheme",
           "::quantopt::qnn::QuantScheme::W4A16", "Quantization scheme",
           "QUANTOPT_QUANT_SCHEME_VALUES">,
    Option<"weightGranularity", "weight-granularity",
           "::quantopt::qnn::WeightGranularity",
           "::quantopt::qnn::WeightGranularity::Default",
           "Weight scale granularity (default: per-group for 4-bit, "
           "per-channel otherwise)",
           "QUANTOPT_WEIGHT_GRANULARITY_VALUES">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "Rows of K per scale with per-group granularity (32, 64, 128, ...)">,
    Option<"symmetric", "symmetric", "bool", "true",
           "Symmetric weights (zero point 0); false adds zero points">,
    Option<"activationMode", "activation-mode",
           "::quantopt::qnn::ActivationMode",
           "::quantopt::qnn::ActivationMode::Static",
           "Activation ranges from calibration (static) or at run time (dynamic)",
           "QUANTOPT_ACTIVATION_MODE_VALUES">,
    Option<"activationGranularity", "activation-granularity",
           "::quantopt::qnn::ActivationGranularity",
           "::quantopt::qnn::ActivationGranularity::PerTensor",
           "Activation scale granularity",
           "QUANTOPT_ACTIVATION_GRANULARITY_VALUES">,
    ListOption<"excludeNodes", "exclude-nodes", "std::string",
               "Regexes of node names (op location names) to keep in float">,
    ListOption<"excludeOpTypes", "exclude-op-types", "std::string",
               "Op names to keep in float (e.g. qnn.matmul)">
  ];
  let statistics = [
    Statistic<"numWeights", "num-weights", "Number of weights quantized">,
    Statistic<"numActivations", "num-activations",
              "Number of activations quantized">,
    Statistic<"numExcluded", "num-excluded", "Number of layers kept in float">
  ];
}

def QNNQuantizeWeightsPass : Pass<"qnn-quantize-weights", "::mlir::func::FuncOp"> {
  let summary = "Rewrite quantized constant weights into packed integer constants";
  let description = [{
    Evaluates `qnn.quantize` of a constant weight with constant parameters
    (round to nearest, ties to even: the RTN method) with the exact ONNX
    arithmetic and replaces it by a constant of the storage type, so the
    float weight disappears from the IR. Results larger than the inline limit
    are `dense_resource` blobs; 4-bit blobs hold two elements per byte, the
    element with the lower index in the low nibble (ONNX's order).
  }];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Number of weights rewritten">
  ];
}

def QNNFuseQuantizedMatMulPass
    : Pass<"qnn-fuse-quantized-matmul", "::mlir::func::FuncOp"> {
  let summary = "Fuse dequantize + matmul into quantized matmul ops";
  let description = [{
    * `matmul(x, dequantize(w_q))` with a constant integer weight (and a
      following add of a per-channel bias) becomes `qnn.weight_only_matmul`:
      dequantization stays inside the op, no float weight exists.
    * `matmul(dequantize(quantize(x)), dequantize(w_q))` (W8A8) becomes
      `qnn.quantized_matmul`: i32 accumulation with a fused epilogue (scale,
      int32 bias, relu/gelu/silu and the next quantize). Typed
      `!quant.uniform` activations (from `qnn-fold-calibration`), ONNX
      QLinearMatMul and the MatMulInteger + cast + mul form are recognized
      too.
  }];
  let statistics = [
    Statistic<"numWeightOnly", "num-weight-only", "Weight-only matmuls formed">,
    Statistic<"numInteger", "num-integer", "Integer matmuls formed">
  ];
}

def QNNFoldQuantizedMatMulParamsPass
    : Pass<"qnn-fold-quantized-matmul-params", "::mlir::func::FuncOp"> {
  let summary = "Precompute the constant terms of integer matmuls";
  let description = [{
    For each `qnn.quantized_matmul` whose right operand is a constant weight
    (or a transpose of one):

    * the zero-point correction `-lhs_zp * sum_k (w[k, n] - rhs_zp[n])` is
      computed from the weight and added to the i32 bias, and the lhs zero
      point becomes 0, so a kernel accumulates `lhs @ (w - rhs_zp) + bias`
      only (exact integer arithmetic);
    * the activation and weight scales combine into one per-output-channel
      multiplier `lhs_scale * rhs_scale[n]` (the new rhs scale; lhs scale
      becomes 1), and, when the epilogue has no activation or a relu and
      requantizes, `/ output_scale` too (output scale becomes 1): one
      multiply per output element. The products are rounded to f32 once
      here instead of at run time, which can move a result that sits
      exactly on a rounding tie by one step.
  }];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Number of matmuls rewritten">
  ];
}

def QNNPropagateQDQPass : Pass<"qnn-propagate-qdq", "::mlir::func::FuncOp"> {
  let summary = "Move dequantize forward and quantize backward through layout ops";
  let description = [{
    `reshape/transpose/slice/gather/concat(dequantize(q))` becomes
    `dequantize(layout(q))` and `quantize(layout(x))` becomes
    `layout(quantize(x))` when the quantization parameters allow it (per
    tensor, or per axis with the axis remapped), so that Q/DQ pairs meet the
    matmul they belong to. `quantize(dequantize(q))` with identical constant
    parameters (where the round trip is provably exact) cancels to `q`;
    chains with different parameters are kept (there is no requantize op
    yet). `dequantize(quantize(x))` — fake quantization — is never folded:
    nothing is dropped silently.
  }];
}

def QNNLintFloatWeightsPass
    : Pass<"qnn-lint-float-weights", "::mlir::func::FuncOp"> {
  let summary = "Report float weights still materialized from quantized data";
  let description = [{
    Reports every `qnn.dequantize` of a constant whose float result is
    consumed by anything other than a fused quantized op (so the float
    weight would be materialized in memory), and every float constant weight
    feeding a `qnn.matmul`, with the op and the reason. Warnings by default;
    `fail=true` makes them errors.
  }];
  let options = [
    Option<"fail", "fail", "bool", "false",
           "Report problems as errors and fail the pass">
  ];
  let statistics = [
    Statistic<"numFindings", "num-findings", "Number of float weights reported">
  ];
}

def QNNEvaluateDequantizePass
    : Pass<"qnn-evaluate-dequantize", "::mlir::func::FuncOp"> {
  let summary = "Evaluate qnn.dequantize of constants (debugging, numerics tests)";
  let description = [{
    Replaces `qnn.dequantize` of small constants by the float constant it
    computes, with the exact ONNX arithmetic. This undoes weight
    quantization, which is why dequantize has no folder and canonicalization
    never does this; the pass exists to inspect and test the numerics.
  }];
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def QNNInstrumentCalibrationPass
    : Pass<"qnn-instrument-calibration", "::mlir::ModuleOp"> {
  let summary = "Expose the tensors to calibrate as extra function results";
  let description = [{
    Every activation `qnn.quantize` whose element type is
    `!quant.calibrated` (inserted by `qnn-insert-qdq` for static schemes)
    marks a tensor to observe. This pass returns those tensors as extra
    results of their (entry) function, each with a `qnn.calibration_key`
    result attribute, so running the compiled float model on calibration
    data streams exactly the values the calibrator needs. Functions that
    are called somewhere keep their signature (and are not instrumented).
  }];
  let statistics = [
    Statistic<"numObserved", "num-observed", "Number of tensors exposed">
  ];
}

def QNNFoldCalibrationPass
    : Pass<"qnn-fold-calibration", "::mlir::func::FuncOp"> {
  let summary = "Turn calibrated ranges into scales and zero points";
  let description = [{
    Reads a calibration table (JSON, see docs/Calibration.md) and replaces
    each `!quant.calibrated` activation type by the quantized type its range
    gives: `!quant.uniform<u8:f32, s:z>` (asymmetric, the default and ONNX
    Runtime's), `!quant.uniform<i8:f32, s>` (`activation-type=int8`,
    symmetric) or explicit float8 E4M3FN parameters for the fp8 scheme.
    Zero is always exactly representable. A key missing from the table is an
    error naming it.
  }];
  let options = [
    Option<"tablePath", "table", "std::string", "",
           "Calibration table (JSON) to read">,
    Option<"activationType", "activation-type", "std::string", "\"uint8\"",
           "Storage of static int activations: uint8 (asymmetric) or int8 "
           "(symmetric)">
  ];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Number of activation ranges folded">
  ];
}

#endif // QUANTOPT_DIALECT_QNN_TRANSFORMS_PASSES_TD
