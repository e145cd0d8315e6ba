//===- QNNOps.td - QNN graph dialect operations ------------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Ops are grouped as onnx-mlir groups them (math, neural network, tensor and
// quantization) but each op has one normalized spelling: gemm exists only so
// that the importer stays a table, and `qnn-decompose-gemm` removes it.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNOPS_TD
#define QUANTOPT_DIALECT_QNN_IR_QNNOPS_TD

include "quantopt/Dialect/QNN/IR/QNNDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class QNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<QNN_Dialect, mnemonic, !listconcat(traits, [Pure])>;

// Ops whose result types are a function of their operands. A result may be
// more static than inferred (isCompatibleReturnTypes accepts refinement).
class QNN_InferredOp<string mnemonic, list<Trait> traits = []>
    : QNN_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptorWithIsCompatible])>;

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

def QNN_ConstantOp : QNN_Op<"constant",
    [ConstantLike, AllTypesMatch<["value", "output"]>]> {
  let summary = "Constant tensor (dense or dense_resource weights)";
  let description = [{
    A constant tensor. Imported weights are `dense_resource` blobs, which are
    memory-mapped from the model file where the layout allows and never
    printed as text unless asked; small constants (shape arithmetic, scales)
    are plain `dense` attributes so that they fold.

    ```mlir
    %w = qnn.constant dense_resource<fc1.weight> : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyStaticShapeTensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def QNN_ShapeOp : QNN_InferredOp<"shape"> {
  let summary = "Shape of a tensor as a 1-D i64 tensor (ONNX Shape)";
  let description = [{
    Returns `shape(input)[start:end]` as `tensor<Nxi64>`, with ONNX's
    clamping of `start` and `end`. Folds to a constant when the selected
    dimensions are static.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<I64Attr, "0">:$start,
                       OptionalAttr<I64Attr>:$end);
  let results = (outs 1DTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise math
//===----------------------------------------------------------------------===//

class QNN_UnaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : QNN_InferredOp<mnemonic, traits> {
  let summary = "Elementwise " # desc;
  let description = "Computes " # desc # " of every element; the result has "
                    "the type of the input.";
  let arguments = (ins AnyTensor:$input);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def QNN_SqrtOp : QNN_UnaryOp<"sqrt", "square root">;
def QNN_ReciprocalOp : QNN_UnaryOp<"reciprocal", "reciprocal `1/x`">;
def QNN_NegOp : QNN_UnaryOp<"neg", "negation">;
def QNN_ExpOp : QNN_UnaryOp<"exp", "natural exponential">;
def QNN_LogOp : QNN_UnaryOp<"log", "natural logarithm">;
def QNN_AbsOp : QNN_UnaryOp<"abs", "absolute value">;
def QNN_ErfOp : QNN_UnaryOp<"erf", "Gauss error function">;
def QNN_TanhOp : QNN_UnaryOp<"tanh", "hyperbolic tangent">;
def QNN_SigmoidOp : QNN_UnaryOp<"sigmoid", "logistic sigmoid `1/(1+exp(-x))`">;
def QNN_ReluOp : QNN_UnaryOp<"relu", "rectified linear unit `max(x, 0)`">;
def QNN_SiluOp : QNN_UnaryOp<"silu", "SiLU / swish `x * sigmoid(x)`">;

def QNN_GeluOp : QNN_UnaryOp<"gelu",
    "GELU `0.5 x (1 + erf(x / sqrt(2)))` (or its tanh approximation)"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let hasVerifier = 1;
}

class QNN_BinaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : QNN_InferredOp<mnemonic, traits> {
  let summary = "Elementwise " # desc # " with NumPy broadcasting";
  let description = "Computes `lhs " # desc # " rhs` elementwise. Operands "
      "broadcast with ONNX multidirectional (NumPy) rules and share the "
      "element type.";
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs);
  let results = (outs AnyTensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_AddOp : QNN_BinaryOp<"add", "addition", [Commutative]>;
def QNN_SubOp : QNN_BinaryOp<"sub", "subtraction">;
def QNN_MulOp : QNN_BinaryOp<"mul", "multiplication", [Commutative]>;
def QNN_DivOp : QNN_BinaryOp<"div", "division (integer division truncates)">;
def QNN_PowOp : QNN_BinaryOp<"pow", "power (the exponent may have another element type)">;
def QNN_MinOp : QNN_BinaryOp<"min", "minimum", [Commutative]>;
def QNN_MaxOp : QNN_BinaryOp<"max", "maximum", [Commutative]>;

def QNN_WhereOp : QNN_InferredOp<"where"> {
  let summary = "Select elements by a boolean condition, with broadcasting";
  let arguments = (ins TensorOf<[I1]>:$condition, AnyTensor:$lhs,
                       AnyTensor:$rhs);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$condition `,` $lhs `,` $rhs attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_CastOp : QNN_Op<"cast"> {
  let summary = "Element type conversion (ONNX Cast)";
  let description = [{
    Converts every element to the element type of the result, which has the
    shape of the input. `saturate` applies to float8 results as in ONNX
    Cast-19: out-of-range values clamp to the largest finite value instead
    of becoming NaN/Inf.
  }];
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and neural-network ops
//===----------------------------------------------------------------------===//

def QNN_MatMulOp : QNN_InferredOp<"matmul"> {
  let summary = "Batched matrix product with NumPy matmul semantics";
  let description = [{
    `numpy.matmul`: 1-D operands are promoted to matrices and the added
    dimension removed afterwards; leading (batch) dimensions broadcast.
  }];
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs);
  let results = (outs AnyTensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_GemmOp : QNN_InferredOp<"gemm"> {
  let summary = "General matrix multiply `alpha * A' * B' + beta * C`";
  let description = [{
    ONNX Gemm on 2-D operands; `A'`/`B'` are optionally transposed. `C`
    broadcasts to the result. `qnn-decompose-gemm` rewrites it into
    transpose, matmul, mul and add so later passes see a single matmul form.
  }];
  let arguments = (ins AnyTensor:$a, AnyTensor:$b, Optional<AnyTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$a `,` $b (`,` $c^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_SoftmaxOp : QNN_InferredOp<"softmax"> {
  let summary = "Softmax along one axis (ONNX Softmax-13)";
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_LayerNormOp : QNN_InferredOp<"layer_norm"> {
  let summary = "Layer normalization over the dimensions from `axis` on";
  let description = [{
    ONNX LayerNormalization-17: normalizes over dims `[axis, rank)`, then
    applies `scale` and the optional `bias`. The `mean` and `inv_std_dev`
    results (shape of the input with the normalized dims set to 1, element
    type f32 as in ONNX's default `stash_type`) exist for completeness and
    are usually unused.
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$scale,
                       Optional<AnyTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs AnyTensor:$output, AnyTensor:$mean,
                      AnyTensor:$inv_std_dev);
  let assemblyFormat = "$input `,` $scale (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_RMSNormOp : QNN_InferredOp<"rms_norm"> {
  let summary = "RMS normalization over the dimensions from `axis` on";
  let description = [{
    ONNX RMSNormalization-23: `x / sqrt(mean(x^2) + epsilon) * scale`,
    the mean taken over dims `[axis, rank)`.
  }];
  let arguments = (ins AnyTensor:$input, AnyTensor:$scale,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input `,` $scale attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

class QNN_ReduceOp<string mnemonic, string desc> : QNN_InferredOp<mnemonic> {
  let summary = "Reduction: " # desc # " over `axes`";
  let description = [{
    Reduces over `axes` (all axes when empty, unless `noop_with_empty_axes`
    is set, in which case the op is an identity). With `keepdims` the
    reduced dimensions stay as size 1.
  }];
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$noop_with_empty_axes);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_ReduceMeanOp : QNN_ReduceOp<"reduce_mean", "arithmetic mean">;
def QNN_ReduceSumOp : QNN_ReduceOp<"reduce_sum", "sum">;
def QNN_ReduceMaxOp : QNN_ReduceOp<"reduce_max", "maximum">;

//===----------------------------------------------------------------------===//
// Tensor layout ops
//===----------------------------------------------------------------------===//

def QNN_ReshapeOp : QNN_InferredOp<"reshape"> {
  let summary = "Reshape to a shape given as a 1-D i64 tensor";
  let description = [{
    ONNX Reshape: a `0` in `shape` copies the input dimension (unless
    `allowzero`), `-1` is inferred from the element count.
  }];
  let arguments = (ins AnyTensor:$input, 1DTensorOf<[I64]>:$shape,
                       DefaultValuedAttr<BoolAttr, "false">:$allowzero);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input `,` $shape attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_TransposeOp : QNN_InferredOp<"transpose"> {
  let summary = "Permute dimensions";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_ConcatOp : QNN_InferredOp<"concat"> {
  let summary = "Concatenate tensors along an axis";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_SplitOp : QNN_InferredOp<"split"> {
  let summary = "Split a tensor along an axis into pieces of given sizes";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<AnyRankedTensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($outputs)";
  let hasVerifier = 1;
}

def QNN_SliceOp : QNN_InferredOp<"slice", [AttrSizedOperandSegments]> {
  let summary = "Strided slice (ONNX Slice-13)";
  let description = [{
    `starts`, `ends`, `axes` and `steps` are 1-D integer tensors with ONNX
    clamping rules; `axes` defaults to `[0, len(starts))` and `steps` to 1.
    The result shape is static when they are constants.
  }];
  let arguments = (ins AnyRankedTensor:$input, 1DTensorOf<[I32, I64]>:$starts,
                       1DTensorOf<[I32, I64]>:$ends,
                       Optional<1DTensorOf<[I32, I64]>>:$axes,
                       Optional<1DTensorOf<[I32, I64]>>:$steps);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input `,` $starts `,` $ends (`axes` $axes^)? "
                       "(`steps` $steps^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_GatherOp : QNN_InferredOp<"gather"> {
  let summary = "Gather slices along an axis (ONNX Gather, embeddings)";
  let description = [{
    `output = data` indexed on `axis` by `indices`; the result shape is
    `data.shape[:axis] + indices.shape + data.shape[axis+1:]`. Negative
    indices count from the end.
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I32, I64]>:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_SqueezeOp : QNN_InferredOp<"squeeze"> {
  let summary = "Remove size-1 dimensions (all of them when `axes` is empty)";
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$axes);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_UnsqueezeOp : QNN_InferredOp<"unsqueeze"> {
  let summary = "Insert size-1 dimensions at `axes` of the result";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_ExpandOp : QNN_InferredOp<"expand"> {
  let summary = "Broadcast a tensor to a shape (ONNX Expand)";
  let arguments = (ins AnyTensor:$input, 1DTensorOf<[I64]>:$shape);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input `,` $shape attr-dict `:` "
                       "functional-type(operands, results)";
  
}

//===----------------------------------------------------------------------===//
// Quantization ops
//===----------------------------------------------------------------------===//

def QNN_QuantizeOp : QNN_Op<"quantize", [AttrSizedOperandSegments]> {
  let summary = "Quantize with exact ONNX QuantizeLinear semantics";
  let description = [{
    `q = saturate(round_half_to_even(x / scale) + zero_point)`.

    Two forms:

    * *Explicit parameters* (as imported from ONNX): `scale` (and optionally
      `zero_point`) are operands and the result element type is a storage
      type (`i8`, `ui8`, `i16`, `ui16`, `i4`, `ui4`, `f8E4M3FN`, `f8E5M2`).
      The scale shape selects the granularity: a scalar (or one element) is
      per tensor; a 1-D scale with `block_size = 0` is per axis along
      `axis`; `block_size > 0` is blocked: the scale has the input's rank
      and `ceil(dim[axis] / block_size)` entries along `axis`.
    * *Typed parameters*: no operands besides the input, and the result
      element type is a `!quant.uniform` type that carries the constant
      scales and zero points (per tensor, per axis or sub-channel).

    For float8 results `saturate = false` maps out-of-range values to
    NaN/Inf as ONNX does; integer results always saturate.

    ```mlir
    %q = qnn.quantize %x, %s, %zp : (tensor<4x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x8xui8>
    %t = qnn.quantize %x : (tensor<4xf32>) -> tensor<4x!quant.uniform<i8:f32, 0.5>>
    ```
  }];
  let arguments = (ins AnyTensor:$input, Optional<AnyTensor>:$scale,
                       Optional<AnyTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "1">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input (`,` $scale^)? (`,` $zero_point^)? attr-dict "
                       "`:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_DequantizeOp : QNN_Op<"dequantize", [AttrSizedOperandSegments]> {
  let summary = "Dequantize with exact ONNX DequantizeLinear semantics";
  let description = [{
    `x = (q - zero_point) * scale`, in the same two forms as `qnn.quantize`
    (explicit scale/zero-point operands on a storage type, or a
    `!quant.uniform` input element type). `i32` input is accepted with a
    zero point of 0, as in ONNX.
  }];
  let arguments = (ins AnyTensor:$input, Optional<AnyTensor>:$scale,
                       Optional<AnyTensor>:$zero_point,
                       DefaultValuedAttr<I64Attr, "1">:$axis,
                       DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input (`,` $scale^)? (`,` $zero_point^)? attr-dict "
                       "`:` functional-type(operands, results)";
  let hasVerifier = 1;
  // No folder: folding dequantize(constant) would silently turn a
  // quantized weight back into a float one (see qnn-evaluate-dequantize).
}

def QNN_DynamicQuantizeOp : QNN_InferredOp<"dynamic_quantize"> {
  let summary = "uint8 or float8 E4M3FN quantization with a run-time range "
                "(ONNX DynamicQuantizeLinear, or per token)";
  let description = [{
    uint8 (the default):
    `scale = (max(0, max(x)) - min(0, min(x))) / 255`,
    `zero_point = saturate(round_half_to_even(-min(0, min(x)) / scale))`,
    `output = saturate(round_half_to_even(x / scale) + zero_point)`.

    float8 E4M3FN (`e4m3`, symmetric, absmax):
    `scale = max(|x|) / 448`, or 1 where that is 0 (an all-zero row, or
    one so small that the division underflows, quantizes to zeros, not
    NaN), `zero_point = 0`, `output = e4m3(x / scale)` rounded to nearest
    even and saturating to +-448, as ONNX QuantizeLinear to float8 with
    `saturate`; NaN becomes the canonical 0x7F whatever its sign.

    Per tensor (ONNX DynamicQuantizeLinear) the range runs over the whole
    tensor and `scale`/`zero_point` are scalars. With `per_token` it runs
    over the last dimension of each row (token), and `scale`/`zero_point`
    have the input's shape with a last dimension of 1.
  }];
  let arguments = (ins TensorOf<[F32]>:$input,
                       DefaultValuedAttr<BoolAttr, "false">:$per_token,
                       UnitAttr:$e4m3);
  let results = (outs TensorOf<[UI8, F8E4M3FN]>:$output, TensorOf<[F32]>:$scale,
                      TensorOf<[UI8, F8E4M3FN]>:$zero_point);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
}

def QNN_MatMulIntegerOp : QNN_InferredOp<"matmul_integer",
    [AttrSizedOperandSegments]> {
  let summary = "Integer matmul with zero points and i32 accumulation";
  let description = [{
    ONNX MatMulInteger: `(lhs - lhs_zero_point) @ (rhs - rhs_zero_point)`
    in i32, with `numpy.matmul` shape rules. `lhs_zero_point` is a scalar or
    per-row (M) vector; `rhs_zero_point` a scalar or per-column (N) vector.
  }];
  let arguments = (ins TensorOf<[I8, UI8]>:$lhs, TensorOf<[I8, UI8]>:$rhs,
                       Optional<TensorOf<[I8, UI8]>>:$lhs_zero_point,
                       Optional<TensorOf<[I8, UI8]>>:$rhs_zero_point);
  let results = (outs TensorOf<[I32]>:$output);
  let assemblyFormat = "$lhs `,` $rhs (`lhs_zero_point` `(` $lhs_zero_point^ "
                       "`)`)? (`rhs_zero_point` `(` $rhs_zero_point^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_QLinearMatMulOp : QNN_InferredOp<"qlinear_matmul"> {
  let summary = "Quantized matmul with requantized output (ONNX QLinearMatMul)";
  let description = [{
    `y = saturate(round((a - a_zp) @ (b - b_zp) * a_scale * b_scale /
    y_scale) + y_zp)`; the result has the element type of `y_zero_point`.
  }];
  let arguments = (ins TensorOf<[I8, UI8, F8E4M3FN, F8E5M2]>:$a, AnyTensor:$a_scale,
                       AnyTensor:$a_zero_point,
                       TensorOf<[I8, UI8, F8E4M3FN, F8E5M2]>:$b, AnyTensor:$b_scale,
                       AnyTensor:$b_zero_point, AnyTensor:$y_scale,
                       AnyTensor:$y_zero_point);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$a `,` $a_scale `,` $a_zero_point `,` $b `,` $b_scale "
                       "`,` $b_zero_point `,` $y_scale `,` $y_zero_point "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_MatMulNBitsOp : QNN_InferredOp<"matmul_nbits",
    [AttrSizedOperandSegments]> {
  let summary = "Weight-only block-quantized matmul (com.microsoft MatMulNBits)";
  let description = [{
    `output = input @ dequant(weight)^T (+ bias)` where `weight` is the
    transposed `[N, K]` matrix quantized in blocks of `block_size` along K
    with `bits` (2..8) bits per element, packed little-end first (the low
    bits of a byte hold the element with the lower K index) as
    `weight : [N, ceil(K / block_size), block_size * bits / 8]` `ui8`.
    `scales` has `N * ceil(K / block_size)` entries; `zero_points` is either
    packed `ui8` like the weight (default `2^(bits-1)` when absent) or
    of the scale type. Dequantization happens inside the op: no float copy of
    the weight exists in the IR.
  }];
  let arguments = (ins AnyTensor:$input, TensorOf<[UI8]>:$weight,
                       AnyTensor:$scales, Optional<AnyTensor>:$zero_points,
                       Optional<TensorOf<[I32]>>:$g_idx,
                       Optional<AnyTensor>:$bias, I64Attr:$K, I64Attr:$N,
                       DefaultValuedAttr<I64Attr, "4">:$bits,
                       I64Attr:$block_size,
                       DefaultValuedAttr<I64Attr, "0">:$accuracy_level);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input `,` $weight `,` $scales (`zero_points` `(` "
                       "$zero_points^ `)`)? (`g_idx` `(` $g_idx^ `)`)? "
                       "(`bias` `(` $bias^ `)`)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_RequantizeOp : QNN_InferredOp<"requantize"> {
  let summary = "Change the quantization parameters of a per-tensor value";
  let description = [{
    `quantize(dequantize(input, input_scale, input_zero_point), output_scale,
    output_zero_point)` with exact ONNX arithmetic, as one op: what a
    DequantizeLinear -> QuantizeLinear chain with different parameters
    becomes. Parameters are per tensor; the result has the output zero
    point's element type.
  }];
  let arguments = (ins TensorOf<[I8, UI8, I16, UI16]>:$input,
                       TensorOf<[F32]>:$input_scale,
                       TensorOf<[I8, UI8, I16, UI16]>:$input_zero_point,
                       TensorOf<[F32]>:$output_scale,
                       TensorOf<[I8, UI8, I16, UI16]>:$output_zero_point);
  let results = (outs TensorOf<[I8, UI8, I16, UI16]>:$output);
  let assemblyFormat = "$input `,` $input_scale `,` $input_zero_point `,` "
                       "$output_scale `,` $output_zero_point attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Fused quantized matmuls (produced by qnn-fuse-quantized-matmul)
//===----------------------------------------------------------------------===//

def QNN_WeightOnlyMatMulOp : QNN_InferredOp<"weight_only_matmul",
    [AttrSizedOperandSegments]> {
  let summary = "Float activations times a low-bit weight dequantized in the op";
  let description = [{
    `output = input @ dequantize(weight) (+ bias)` for a `[K, N]` integer
    weight (`i8`, `ui8`, `i4`, `ui4`). Dequantization follows ONNX
    DequantizeLinear: with `group_size = 0` the scales (and zero points) are
    per output channel (`[N]`) or per tensor (one element); with
    `group_size = g` they are blocked along K with shape `[ceil(K / g), N]`.
    No float copy of the weight exists in the IR: a backend dequantizes in
    registers (W4A16, W8A16).
  }];
  let arguments = (ins AnyTensor:$input,
                       TensorOf<[I8, UI8, I<4>, UI<4>]>:$weight,
                       AnyTensor:$scales, Optional<AnyTensor>:$zero_points,
                       Optional<AnyTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "0">:$group_size);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$input `,` $weight `,` $scales (`zero_points` `(` "
                       "$zero_points^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict "
                       "`:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_QuantizedMatMulOp : QNN_Op<"quantized_matmul",
    [AttrSizedOperandSegments]> {
  let summary = "Integer matmul with i32 accumulation and a fused epilogue";
  let description = [{
    W8A8: `acc = (lhs - lhs_zero_point) @ (rhs - rhs_zero_point) (+ bias)`
    accumulated in i32 (`bias` is i32 with scale `lhs_scale * rhs_scale`),
    then `r = activation(acc * lhs_scale * rhs_scale[n])` in f32
    (`activation` is `none`, `relu`, `gelu` or `silu`), then, when
    `output_scale` is given, the next layer's quantize
    `saturate(round_half_to_even(r / output_scale) + output_zero_point)`, so
    int8 activations flow to the next layer without a float round trip.
    The right operand may be 4-bit (W4A8 with per-channel weight scales:
    the int4 values take part in the same i32 dot product).
    `lhs_scale`/`lhs_zero_point` are per tensor, or per row (per token: the
    lhs shape with a last dimension of 1, from a per-token
    `qnn.dynamic_quantize`); `rhs_scale`/`rhs_zero_point` per tensor or per
    output channel (`[N]`). The result element type is f32
    without `output_scale`, the output zero point's type with it.
  }];
  let arguments = (ins TensorOf<[I8, UI8]>:$lhs,
                       TensorOf<[I8, UI8, I<4>, UI<4>]>:$rhs,
                       TensorOf<[F32]>:$lhs_scale,
                       TensorOf<[I8, UI8]>:$lhs_zero_point,
                       TensorOf<[F32]>:$rhs_scale,
                       Optional<TensorOf<[I8, UI8, I<4>, UI<4>]>>:$rhs_zero_point,
                       Optional<TensorOf<[I32]>>:$bias,
                       Optional<TensorOf<[F32]>>:$output_scale,
                       Optional<TensorOf<[I8, UI8]>>:$output_zero_point,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "$lhs `,` $rhs `,` $lhs_scale `,` $lhs_zero_point `,` "
                       "$rhs_scale (`rhs_zero_point` `(` $rhs_zero_point^ `)`)? "
                       "(`bias` `(` $bias^ `)`)? (`output` `(` $output_scale^ "
                       "`,` $output_zero_point `)`)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

include "quantopt/Dialect/QNN/IR/QNNMathOps.td"
include "quantopt/Dialect/QNN/IR/QNNIndexOps.td"

#endif // QUANTOPT_DIALECT_QNN_IR_QNNOPS_TD
