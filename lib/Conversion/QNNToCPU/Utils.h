//===- Utils.h - Shared helpers of the qnn to CPU patterns ------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
// Builders every family of qnn -> linalg/tensor patterns uses (broadcast
// generics, reductions, scalar arithmetic, fp8 codecs, kernel-call helpers)
// and OpLowering, the per-op context a pattern lowers through.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_CONVERSION_QNNTOCPU_UTILS_H
#define QUANTOPT_LIB_CONVERSION_QNNTOCPU_UTILS_H

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Conversion/QNNToCPU/QNNToCPU.h"
#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Utils/NodeNames.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

namespace quantopt::cpu {

using namespace mlir;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//
/// The element type a value has after lowering: quantized types become their
/// storage, integers become signless and at least 8 bits wide.
Type lowerElementType(Type type);

/// Whether the (pre-lowering) element type holds unsigned integers.
bool isUnsignedElement(Type type);

Type elementTypeOf(Value v);

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//
/// The constant elements behind `v`, looking through qnn.constant and
/// arith.constant.
ElementsAttr getConstantElements(Value v);

SmallVector<OpFoldResult> mixedSizes(OpBuilder &b, Location loc, Value v);

Value indexValue(OpBuilder &b, Location loc, OpFoldResult ofr);

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// Reshapes `src` to `type` whose sizes are `sizes` (tensor.reshape, or
/// collapse/expand for rank 0).
Value reshapeTo(OpBuilder &b, Location loc, Value src, RankedTensorType type,
                ArrayRef<OpFoldResult> sizes);

/// Static sizes of `sizes` where known, dynamic elsewhere.
RankedTensorType tensorTypeOf(ArrayRef<OpFoldResult> sizes, Type elementType);

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic with all-parallel iterators over `sizes`, reading
/// `inputs` through `maps` and writing one result of `elementType`.
Value generic(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
              Type elementType, ValueRange inputs, ArrayRef<AffineMap> maps,
              BodyFn body);

/// The ONNX (numpy) broadcast map from a result of rank `rank` with
/// `resultShape` to an operand of `type`.
AffineMap broadcastMap(OpBuilder &b, RankedTensorType type,
                       ArrayRef<int64_t> resultShape);

/// Sizes of a broadcast result of `resultType`: static where the type says,
/// otherwise the size of an operand that is not broadcast along that dim.
FailureOr<SmallVector<OpFoldResult>> broadcastSizes(OpBuilder &b, Location loc,
                                                    RankedTensorType resultType,
                                                    ValueRange inputs);

/// Elementwise `body` over `inputs` broadcast to `resultType`.
FailureOr<Value> elementwise(OpBuilder &b, Location loc,
                             RankedTensorType resultType, ValueRange inputs,
                             BodyFn body);

/// Reduces `input` over `dims` (sorted) with `combine`, starting from `init`;
/// the result drops the reduced dims.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> dims,
             Value init,
             function_ref<Value(OpBuilder &, Location, Value, Value)> combine);

/// The map from the full iteration space of rank `rank` to a tensor that
/// dropped `dims`.
AffineMap droppedMap(OpBuilder &b, int64_t rank, ArrayRef<int64_t> dims);

/// Number of elements over `dims` as an f32 value.
Value countAsFloat(OpBuilder &b, Location loc, Value input,
                   ArrayRef<int64_t> dims, Type floatType);

/// The dims an ONNX reduction with `axes` reduces of a rank-`rank` input:
/// the axes normalized, sorted and unique, or all dims when `axes` is empty.
/// Fails for an axis out of range.
FailureOr<SmallVector<int64_t>> reductionDims(ArrayRef<int64_t> axes,
                                              int64_t rank);

/// The sizes of `input` reduced over `dims`: dropped, or 1 with `keepdims`.
SmallVector<OpFoldResult> reducedSizes(OpBuilder &b, Location loc, Value input,
                                       ArrayRef<int64_t> dims, bool keepdims);

/// The largest value of `t` (with `lowest`, the smallest): +-inf for floats,
/// the integer range's bound as signed or unsigned otherwise.
Value extremeValue(OpBuilder &b, Location l, Type t, bool lowest,
                   bool isUnsigned);

/// Each of `sizes` as an index value.
SmallVector<Value> indexValues(OpBuilder &b, Location loc,
                               ArrayRef<OpFoldResult> sizes);

/// The zero of the integer or float type `t`.
Value zeroConstant(OpBuilder &b, Location l, Type t);

//===----------------------------------------------------------------------===//
// Scalar arithmetic used in bodies
//===----------------------------------------------------------------------===//
Value addV(OpBuilder &b, Location l, Value x, Value y);

Value subV(OpBuilder &b, Location l, Value x, Value y);

Value mulV(OpBuilder &b, Location l, Value x, Value y);

Value maxV(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned);

Value minV(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned);

Value sigmoidV(OpBuilder &b, Location l, Value x);

Value geluV(OpBuilder &b, Location l, Value x, bool tanhForm);

/// Converts a scalar between lowered element types; `srcUnsigned` tells how
/// integers extend, `dstUnsigned` how floats convert to integers.
Value convertScalar(OpBuilder &b, Location l, Value v, Type dst,
                    bool srcUnsigned, bool dstUnsigned);

/// ONNX QuantizeLinear on a scalar: saturate(round_half_even(x / s) + zp),
/// computed in f32 (exact for every integer storage range).
Value quantizeScalar(OpBuilder &b, Location l, Value x, Value scale,
                     Value zpFloat, int64_t qmin, int64_t qmax, Type storage);

/// The f32 value of a float8 E4M3FN byte (i8): sign, 4 exponent bits
/// (bias 7), 3 mantissa bits, subnormals, S.1111.111 NaN, no infinities.
Value decodeE4M3(OpBuilder &b, Location l, Value byte);

/// The float8 E4M3FN byte (i8) of an f32, rounded to nearest even. NaN
/// stays NaN; magnitudes past the largest finite value (448) become +-448
/// with `saturate`, else NaN (E4M3FN has no infinity), as ONNX specifies.
Value encodeE4M3(OpBuilder &b, Location l, Value x, bool saturate);

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//
inline Type ptrType(MLIRContext *ctx) {
  return LLVM::LLVMPointerType::get(ctx);
}

/// Declares (once) an external kernel function.
func::FuncOp declareKernel(ModuleOp module, StringRef name, TypeRange args);

Value pointerOfBuffer(OpBuilder &b, Location loc, Value memref);

Value nullPointer(OpBuilder &b, Location loc);

Value i32Const(OpBuilder &b, Location loc, int64_t v);

/// A qnn_cpu.kernel_call of the kernel `name` with `args` and a fresh
/// output tensor of `outSizes` x `outElementType`, passed at argument
/// position `outPosition` of the call. Returns the output tensor.
Value createKernelCall(OpBuilder &b, Location loc, StringRef name,
                       ValueRange args, ArrayRef<OpFoldResult> outSizes,
                       Type outElementType, unsigned outPosition);

/// Flattens all but the last dim of `v` into rows: returns [M, K] and M.
std::pair<Value, OpFoldResult> flattenRows(OpBuilder &b, Location loc, Value v);

/// A linalg.generic writing `init` whose body computes each element from
/// its indices (copies, gathers, slices, concatenation).
Value indexGeneric(
    OpBuilder &b, Location loc, Value init,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> body);

/// Copies `src` into `init` (same sizes) by a linalg.generic that reads
/// `src` with tensor.extract at its own indices. Unlike an identity
/// generic or linalg.copy it survives canonicalization, so the result has a
/// buffer of its own; it bufferizes in place into `init`.
Value copyInto(OpBuilder &b, Location loc, Value src, Value init);

//===----------------------------------------------------------------------===//
// Per-op lowering context
//===----------------------------------------------------------------------===//

/// What a pattern lowers one op with: the rewriter, the op, its converted
/// operands and the type converter. Each family derives its lowering struct
/// from it; LowerOpPattern binds one of its methods to one op.
struct OpLowering {
  OpLowering(ConversionPatternRewriter &b, Operation *op,
             ArrayRef<Value> operands, const TypeConverter &converter)
      : b(b), op(op), operands(operands), converter(converter),
        loc(op->getLoc()) {}

  ConversionPatternRewriter &b;
  Operation *op;
  ArrayRef<Value> operands; // converted
  const TypeConverter &converter;
  Location loc;

  RankedTensorType resultType(unsigned i = 0) {
    return cast<RankedTensorType>(
        converter.convertType(op->getResult(i).getType()));
  }
  LogicalResult fail(const Twine &msg) { return op->emitOpError() << msg; }
  LogicalResult done(ValueRange values) {
    b.replaceOp(op, values);
    return success();
  }
  LogicalResult done(FailureOr<Value> v, StringRef what = "dynamic dims") {
    if (failed(v))
      return fail("cannot determine the result's " + what);
    return done(ValueRange{*v});
  }
  ModuleOp module() { return op->getParentOfType<ModuleOp>(); }
  std::string blobName(StringRef suffix) {
    return qnn::getBlobName(loc, suffix);
  }
};

/// The conversion pattern of one op `OpT`: lowers it with `Method` of a
/// fresh `LoweringT` (an OpLowering). A method taking `OpT` or `Operation *`.
template <typename OpT, typename LoweringT, auto Method>
struct LowerOpPattern : OpConversionPattern<OpT> {
  LowerOpPattern(const TypeConverter &converter, MLIRContext *ctx,
                 PatternBenefit benefit = 1)
      : OpConversionPattern<OpT>(converter, ctx, benefit) {}

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> operands(adaptor.getOperands());
    LoweringT lowering(rewriter, op, operands, *this->getTypeConverter());
    return (lowering.*Method)(op);
  }
};

/// A LowerOpPattern for lowerings that can report out-of-range run-time
/// indices: it sets `LoweringT::reportErrors` from the pass option.
template <typename OpT, typename LoweringT, auto Method>
struct ReportingOpPattern : OpConversionPattern<OpT> {
  ReportingOpPattern(const TypeConverter &converter, MLIRContext *ctx,
                     bool reportErrors)
      : OpConversionPattern<OpT>(converter, ctx), reportErrors(reportErrors) {}

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> operands(adaptor.getOperands());
    LoweringT lowering(rewriter, op, operands, *this->getTypeConverter());
    lowering.reportErrors = reportErrors;
    return (lowering.*Method)(op);
  }

  bool reportErrors;
};

//===----------------------------------------------------------------------===//
// Reductions (Reductions.cpp)
//===----------------------------------------------------------------------===//

enum class ReduceKind {
  Min,
  Max,
  Sum,
  Mean,
  Prod,
  L1,
  L2,
  LogSum,
  LogSumExp,
  SumSquare
};

/// Lowers the ONNX reduction `kind` of operand 0 of the op of `lowering`
/// over `axes` (all when empty, none when empty and `noopWithEmptyAxes`),
/// keeping reduced dims as 1 with `keepdims`.
LogicalResult lowerReduction(OpLowering &lowering, ReduceKind kind,
                             ArrayRef<int64_t> axes, bool keepdims,
                             bool noopWithEmptyAxes);

/// The pattern of a qnn reduction op `OpT` (axes, keepdims,
/// noop_with_empty_axes) that computes `Kind`.
template <typename OpT, ReduceKind Kind>
struct ReductionPattern : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> operands(adaptor.getOperands());
    OpLowering lowering(rewriter, op, operands, *this->getTypeConverter());
    return lowerReduction(lowering, Kind, op.getAxes(), op.getKeepdims(),
                          op.getNoopWithEmptyAxes());
  }
};

//===----------------------------------------------------------------------===//
// Run-time indices
//===----------------------------------------------------------------------===//

/// ONNX index normalization: a negative index counts from `dim`. Returns
/// the index and whether it is in [0, dim).
std::pair<Value, Value> normalizeIndex(OpBuilder &b, Location l, Value raw,
                                       Value dim);

/// The report of run-time indices outside [-dim, dim): a call of the
/// runtime's qk_report_error with the index, the dim and a string naming
/// the node, which the runtime turns into a failed run. Empty (reports
/// nothing) unless created.
struct IndexErrorReport {
  func::FuncOp fn;
  LLVM::GlobalOp what;

  /// Declares qk_report_error and a string global "node '<name>': <opName>"
  /// for the op of `lowering`, named uniquely from `globalPrefix`.
  static IndexErrorReport create(OpLowering &lowering, StringRef globalPrefix,
                                 StringRef opName);
  /// Emits the report of `raw` against `dim`; nothing when empty.
  void emit(OpBuilder &b, Location l, Value raw, Value dim) const;
};

/// `data[coords]` where `ok`, else the zero of `elementType` (and the report
/// of `raw` against `dim`).
Value guardedRead(OpBuilder &b, Location l, const IndexErrorReport &report,
                  Value data, ArrayRef<Value> coords, Value ok, Value raw,
                  Value dim, Type elementType);

//===----------------------------------------------------------------------===//
// Matmul operands shared by the kernel and the linalg patterns
//===----------------------------------------------------------------------===//

/// The constant operands of a qnn.weight_only_matmul, read and checked.
struct WeightOnlyConstants {
  ElementsAttr weight, zeroPoints, bias; // zeroPoints, bias may be null
  int64_t k, n;
  std::vector<int8_t> bytes;
  SmallVector<float> scaleValues;
};
FailureOr<WeightOnlyConstants>
getWeightOnlyConstants(OpLowering &lowering, qnn::WeightOnlyMatMulOp w);

/// The lowered operands of a qnn.quantized_matmul by role (null where the
/// op has none).
struct QuantizedMatMulOperands {
  Value lhsScale, lhsZeroPoint, rhsScale, rhsZeroPoint, bias, outScale,
      outZeroPoint;
};
QuantizedMatMulOperands getQuantizedMatMulOperands(qnn::QuantizedMatMulOp q,
                                                   ArrayRef<Value> operands);

} // namespace quantopt::cpu

#endif // QUANTOPT_LIB_CONVERSION_QNNTOCPU_UTILS_H
