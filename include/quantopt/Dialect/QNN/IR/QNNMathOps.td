//===- QNNMathOps.td - QNN elementwise math and logic ------*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The ONNX elementwise ops beyond the core arithmetic of QNNOps.td:
// trigonometry and rounding, comparisons and boolean logic (i1 tensors),
// integer bit operations, Mod and the parametric activations. Type
// inference and verifiers are in QNNMathOps.cpp. Ops ONNX defines as a
// composition of these (Clip, Sum, Mean, CastLike, Dropout at inference)
// are decomposed by the importer.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNMATHOPS_TD
#define QUANTOPT_DIALECT_QNN_IR_QNNMATHOPS_TD

//===----------------------------------------------------------------------===//
// Unary math (result type = input type)
//===----------------------------------------------------------------------===//

def QNN_SinOp : QNN_UnaryOp<"sin", "sine">;
def QNN_CosOp : QNN_UnaryOp<"cos", "cosine">;
def QNN_TanOp : QNN_UnaryOp<"tan", "tangent">;
def QNN_AsinOp : QNN_UnaryOp<"asin", "arcsine">;
def QNN_AcosOp : QNN_UnaryOp<"acos", "arccosine">;
def QNN_AtanOp : QNN_UnaryOp<"atan", "arctangent">;
def QNN_SinhOp : QNN_UnaryOp<"sinh", "hyperbolic sine">;
def QNN_CoshOp : QNN_UnaryOp<"cosh", "hyperbolic cosine">;
def QNN_AsinhOp : QNN_UnaryOp<"asinh", "inverse hyperbolic sine">;
def QNN_AcoshOp : QNN_UnaryOp<"acosh", "inverse hyperbolic cosine">;
def QNN_AtanhOp : QNN_UnaryOp<"atanh", "inverse hyperbolic tangent">;
def QNN_FloorOp : QNN_UnaryOp<"floor", "floor">;
def QNN_CeilOp : QNN_UnaryOp<"ceil", "ceiling">;
def QNN_RoundOp : QNN_UnaryOp<"round", "rounding half to even">;
def QNN_SignOp : QNN_UnaryOp<"sign", "sign (-1, 0 or 1; NaN stays NaN)">;
def QNN_NotOp : QNN_UnaryOp<"not", "logical negation of a boolean"> {
  let hasVerifier = 1;
}
def QNN_BitwiseNotOp : QNN_UnaryOp<"bitwise_not", "bitwise complement"> {
  let hasVerifier = 1;
}
def QNN_SoftplusOp : QNN_UnaryOp<"softplus", "softplus `log(1 + exp(x))`">;
def QNN_SoftsignOp : QNN_UnaryOp<"softsign", "softsign `x / (1 + |x|)`">;
def QNN_MishOp : QNN_UnaryOp<"mish", "mish `x * tanh(softplus(x))`">;
def QNN_HardSwishOp : QNN_UnaryOp<"hard_swish",
    "hard swish `x * max(0, min(1, x / 6 + 1 / 2))`">;

//===----------------------------------------------------------------------===//
// Parametric activations (ONNX attribute names and defaults)
//===----------------------------------------------------------------------===//

def QNN_EluOp : QNN_UnaryOp<"elu", "ELU `x < 0 ? alpha * (exp(x) - 1) : x`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}
def QNN_SeluOp : QNN_UnaryOp<"selu",
    "SELU `gamma * (x <= 0 ? alpha * (exp(x) - 1) : x)`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.67326319217681884765625">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.05070102214813232421875">:$gamma);
}
def QNN_CeluOp : QNN_UnaryOp<"celu",
    "CELU `max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}
def QNN_LeakyReluOp : QNN_UnaryOp<"leaky_relu",
    "leaky ReLU `x < 0 ? alpha * x : x`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.01">:$alpha);
}
def QNN_HardSigmoidOp : QNN_UnaryOp<"hard_sigmoid",
    "hard sigmoid `max(0, min(1, alpha * x + beta))`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.2">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.5">:$beta);
}
def QNN_ThresholdedReluOp : QNN_UnaryOp<"thresholded_relu",
    "thresholded ReLU `x > alpha ? x : 0`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}
def QNN_ShrinkOp : QNN_UnaryOp<"shrink",
    "shrink `x < -lambd ? x + bias : (x > lambd ? x - bias : 0)`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.0">:$bias,
                       DefaultValuedAttr<F32Attr, "0.5">:$lambd);
}
def QNN_SwishOp : QNN_UnaryOp<"swish", "swish `x * sigmoid(alpha * x)`"> {
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}

//===----------------------------------------------------------------------===//
// Classification (boolean result of the input's shape)
//===----------------------------------------------------------------------===//

def QNN_IsNaNOp : QNN_InferredOp<"is_nan"> {
  let summary = "Whether each element is NaN (ONNX IsNaN)";
  let arguments = (ins AnyTensor:$input);
  let results = (outs TensorOf<[I1]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_IsInfOp : QNN_InferredOp<"is_inf"> {
  let summary = "Whether each element is an infinity (ONNX IsInf)";
  let description = [{
    True for `+inf` when `detect_positive` and for `-inf` when
    `detect_negative`.
  }];
  let arguments = (ins AnyTensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$detect_positive,
                       DefaultValuedAttr<BoolAttr, "true">:$detect_negative);
  let results = (outs TensorOf<[I1]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Comparisons (boolean result, broadcasting)
//===----------------------------------------------------------------------===//

class QNN_CompareOp<string mnemonic, string desc>
    : QNN_InferredOp<mnemonic> {
  let summary = "Elementwise comparison `lhs " # desc # " rhs` with NumPy "
                "broadcasting";
  let description = "Compares the operands, which share their element type, "
      "elementwise; the result is a boolean (i1) tensor of the broadcast "
      "shape. Ordered comparisons are false when either float is NaN, "
      "`not_equal` is not an op (Not of Equal).";
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs);
  let results = (outs TensorOf<[I1]>:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_EqualOp : QNN_CompareOp<"equal", "==">;
def QNN_LessOp : QNN_CompareOp<"less", "<">;
def QNN_LessEqualOp : QNN_CompareOp<"less_equal", "<=">;
def QNN_GreaterOp : QNN_CompareOp<"greater", ">">;
def QNN_GreaterEqualOp : QNN_CompareOp<"greater_equal", ">=">;

//===----------------------------------------------------------------------===//
// Binary logic, bit operations, Mod and PRelu (result type = operand type)
//===----------------------------------------------------------------------===//

def QNN_AndOp : QNN_BinaryOp<"and", "logical and", [Commutative]>;
def QNN_OrOp : QNN_BinaryOp<"or", "logical or", [Commutative]>;
def QNN_XorOp : QNN_BinaryOp<"xor", "logical xor", [Commutative]>;
def QNN_BitwiseAndOp : QNN_BinaryOp<"bitwise_and", "bitwise and", [Commutative]>;
def QNN_BitwiseOrOp : QNN_BinaryOp<"bitwise_or", "bitwise or", [Commutative]>;
def QNN_BitwiseXorOp : QNN_BinaryOp<"bitwise_xor", "bitwise xor", [Commutative]>;
def QNN_PReluOp : QNN_BinaryOp<"prelu",
    "PReLU `lhs < 0 ? rhs * lhs : lhs` (rhs is the slope)">;

def QNN_BitShiftOp : QNN_BinaryOp<"bit_shift",
    "shift (`<<` or `>>` by `direction`, arithmetic `>>` for signed "
    "integers; an amount outside [0, width) gives the sign fill alone, as "
    "ONNX BitShift-28)"> {
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs,
                       DefaultValuedStrAttr<StrAttr, "left">:$direction);
}

def QNN_ModOp : QNN_BinaryOp<"mod",
    "remainder (sign of the divisor, or with `fmod` of the dividend; the "
    "float special cases of ONNX Mod-28)"> {
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
}

#endif // QUANTOPT_DIALECT_QNN_IR_QNNMATHOPS_TD
