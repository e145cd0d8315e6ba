//===- QNNIndexOps.td - QNN shape, index and reduction ops -*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The ONNX shape-building, indexing and reduction ops that LLM exports use
// to make masks and positions inside the graph (Range, ConstantOfShape,
// CumSum, Trilu, GatherND, ScatterND, ...), and the remaining ONNX
// reductions. Included at the end of QNNOps.td; the type inference, verifiers
// and folders are in QNNIndexOps.cpp and QNNReductionOps.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNINDEXOPS_TD
#define QUANTOPT_DIALECT_QNN_IR_QNNINDEXOPS_TD

//===----------------------------------------------------------------------===//
// Shape building
//===----------------------------------------------------------------------===//

def QNN_ConstantOfShapeOp : QNN_InferredOp<"constant_of_shape"> {
  let summary = "A tensor of a run-time or constant shape filled with a value";
  let description = [{
    ONNX ConstantOfShape: `shape` is a 1-D i64 tensor, `value` a
    one-element tensor whose element type is the result's. Folds to a splat
    constant when `shape` is constant.
  }];
  let arguments = (ins 1DTensorOf<[I64]>:$shape, ElementsAttr:$value);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$shape attr-dict `:` type($shape) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_RangeOp : QNN_InferredOp<"range"> {
  let summary = "Arithmetic sequence `start + i * delta` (ONNX Range)";
  let description = [{
    `max(ceil((limit - start) / delta), 0)` elements; the three scalar
    operands share the result's element type. Folds when all are constant.
  }];
  let arguments = (ins AnyTensor:$start, AnyTensor:$limit, AnyTensor:$delta);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$start `,` $limit `,` $delta attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QNN_SizeOp : QNN_InferredOp<"size"> {
  let summary = "Number of elements as an i64 scalar (ONNX Size)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs 0DTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def QNN_EyeLikeOp : QNN_Op<"eye_like"> {
  let summary = "2-D tensor with ones on the `k`-th diagonal (ONNX EyeLike)";
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_TriluOp : QNN_InferredOp<"trilu"> {
  let summary = "Upper or lower triangle of the last two dims (ONNX Trilu)";
  let description = [{
    Keeps `input[..., i, j]` where `j - i >= k` (upper) or `j - i <= k`
    (lower) and zeroes the rest; `k` is an optional i64 scalar, 0 when
    absent, and may be a run-time value.
  }];
  let arguments = (ins AnyRankedTensor:$input, Optional<TensorOf<[I64]>>:$k,
                       DefaultValuedAttr<BoolAttr, "true">:$upper);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input (`,` $k^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

class QNN_ScanOp<string mnemonic, string desc> : QNN_InferredOp<mnemonic> {
  let summary = "Cumulative " # desc # " along an axis";
  let description = [{
    With `exclusive` element i does not include input i; with `reverse` the
    scan runs from the end of the axis.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                       DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_CumSumOp : QNN_ScanOp<"cumsum", "sum (ONNX CumSum)">;
def QNN_CumProdOp : QNN_ScanOp<"cumprod", "product (ONNX CumProd)">;

def QNN_TileOp : QNN_InferredOp<"tile"> {
  let summary = "Repeat a tensor `repeats[i]` times along each dim";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$repeats);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_PadOp : QNN_InferredOp<"pad"> {
  let summary = "Pad (or crop, with negative pads) every dim (ONNX Pad)";
  let description = [{
    `pads` holds the begin pads of every dim, then the end pads. `mode` is
    `constant` (the optional scalar `constant_value`, else 0), `reflect`,
    `edge` or `wrap`.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       Optional<AnyTensor>:$constant_value,
                       DenseI64ArrayAttr:$pads,
                       DefaultValuedStrAttr<StrAttr, "constant">:$mode);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input (`,` $constant_value^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_OneHotOp : QNN_InferredOp<"one_hot"> {
  let summary = "One-hot encoding with `values = [off, on]` (ONNX OneHot)";
  let description = [{
    Inserts a dim of size `depth` at `axis`; negative indices count from
    `depth`, indices still out of range give an all-`off` row.
  }];
  let arguments = (ins TensorOf<[AnyInteger, AnyFloat]>:$indices,
                       AnyRankedTensor:$values, I64Attr:$depth,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$indices `,` $values attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Arg reductions and axis-wise normalizations
//===----------------------------------------------------------------------===//

class QNN_ArgOp<string mnemonic, string desc> : QNN_InferredOp<mnemonic> {
  let summary = "Index of the " # desc # " along an axis, as i64";
  let description = [{
    Ties give the first index, or the last with `select_last_index`.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs TensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_ArgMaxOp : QNN_ArgOp<"argmax", "maximum (ONNX ArgMax)">;
def QNN_ArgMinOp : QNN_ArgOp<"argmin", "minimum (ONNX ArgMin)">;

def QNN_LogSoftmaxOp : QNN_InferredOp<"log_softmax"> {
  let summary = "Log of softmax along one axis (ONNX LogSoftmax-13)";
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QNN_HardmaxOp : QNN_InferredOp<"hardmax"> {
  let summary = "1 at the first maximum along an axis, 0 elsewhere";
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

// More reductions of the QNN_ReduceOp class (same attributes and rules).
def QNN_ReduceMinOp : QNN_ReduceOp<"reduce_min", "minimum">;
def QNN_ReduceProdOp : QNN_ReduceOp<"reduce_prod", "product">;
def QNN_ReduceL1Op : QNN_ReduceOp<"reduce_l1", "sum of absolute values">;
def QNN_ReduceL2Op : QNN_ReduceOp<"reduce_l2", "Euclidean norm">;
def QNN_ReduceLogSumOp : QNN_ReduceOp<"reduce_log_sum", "log of the sum">;
def QNN_ReduceLogSumExpOp
    : QNN_ReduceOp<"reduce_log_sum_exp", "log of the sum of exponentials">;
def QNN_ReduceSumSquareOp
    : QNN_ReduceOp<"reduce_sum_square", "sum of squares">;

//===----------------------------------------------------------------------===//
// Indexed reads and writes
//===----------------------------------------------------------------------===//

def QNN_GatherElementsOp : QNN_InferredOp<"gather_elements"> {
  let summary = "Elementwise gather along an axis (ONNX GatherElements)";
  let description = [{
    `output[i] = data[i with i[axis] = indices[i]]`; the result has the
    indices' shape. Negative indices count from the end.
  }];
  let arguments = (ins AnyRankedTensor:$data,
                       RankedTensorOf<[I32, I64]>:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_GatherNDOp : QNN_InferredOp<"gather_nd"> {
  let summary = "Gather slices by index tuples (ONNX GatherND)";
  let description = [{
    The last dim of `indices` (static) indexes the first dims of `data`
    after `batch_dims` shared leading dims; the result shape is
    `indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:]`.
  }];
  let arguments = (ins AnyRankedTensor:$data,
                       RankedTensorOf<[I32, I64]>:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_ScatterNDOp : QNN_InferredOp<"scatter_nd"> {
  let summary = "Write slices at index tuples (ONNX ScatterND)";
  let description = [{
    A copy of `data` where each `updates` slice is written (or combined by
    `reduction`: `none`, `add`, `mul`, `max`, `min`) at the slice that the
    matching tuple of `indices` selects, in order.
  }];
  let arguments = (ins AnyRankedTensor:$data,
                       RankedTensorOf<[I64]>:$indices,
                       AnyRankedTensor:$updates,
                       DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$data `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def QNN_ScatterElementsOp : QNN_InferredOp<"scatter_elements"> {
  let summary = "Elementwise scatter along an axis (ONNX ScatterElements)";
  let arguments = (ins AnyRankedTensor:$data,
                       RankedTensorOf<[I32, I64]>:$indices,
                       AnyRankedTensor:$updates,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$data `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // QUANTOPT_DIALECT_QNN_IR_QNNINDEXOPS_TD
