//===- FoldQuantizedMatMulParams.cpp - Precompute integer matmul terms ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// A compiler knows the weights: everything in the W8A8 epilogue that depends
// only on them and on constant scales is computed here once, so the kernel
// does one integer dot product and one multiply per output.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/IR/Matchers.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNFOLDQUANTIZEDMATMULPARAMSPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

/// Integer values of a constant, or of a 2-D transpose of one, as [K, N]
/// (8-bit and packed 4-bit resource blobs included).
std::optional<SmallVector<int64_t>> weightValues(Value rhs, int64_t &k,
                                                 int64_t &n) {
  bool transposed;
  auto constant =
      stripMatrixTranspose(rhs, transposed).getDefiningOp<ConstantOp>();
  auto type = constant ? dyn_cast<RankedTensorType>(constant.getType())
                       : RankedTensorType();
  if (!type || type.getRank() != 2 || !type.hasStaticShape())
    return std::nullopt;
  std::optional<SmallVector<int64_t>> values =
      getIntValues(constant.getValue());
  if (!values)
    return std::nullopt;
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  k = transposed ? cols : rows;
  n = transposed ? rows : cols;
  if (!transposed)
    return values;
  return transposeMatrix<int64_t>(*values, rows, cols);
}

std::optional<SmallVector<float>> floatValues(Value v) {
  DenseFPElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isF32())
    return std::nullopt;
  return SmallVector<float>(attr.getValues<float>());
}

/// Broadcasts a one-element parameter to n entries.
SmallVector<int64_t> perChannel(ArrayRef<int64_t> v, int64_t n) {
  return v.size() == 1 ? SmallVector<int64_t>(n, v[0])
                       : SmallVector<int64_t>(v);
}
SmallVector<float> perChannel(ArrayRef<float> v, int64_t n) {
  return v.size() == 1 ? SmallVector<float>(n, v[0]) : SmallVector<float>(v);
}

LogicalResult fold(QuantizedMatMulOp op) {
  int64_t k = 0, n = 0;
  std::optional<SmallVector<int64_t>> w = weightValues(op.getRhs(), k, n);
  std::optional<SmallVector<int64_t>> za =
      getConstantIntValues(op.getLhsZeroPoint());
  std::optional<SmallVector<float>> sa = floatValues(op.getLhsScale());
  std::optional<SmallVector<float>> sw = floatValues(op.getRhsScale());
  std::optional<SmallVector<int64_t>> zw =
      op.getRhsZeroPoint() ? getConstantIntValues(op.getRhsZeroPoint())
                           : std::optional(SmallVector<int64_t>{0});
  std::optional<SmallVector<int64_t>> bias =
      op.getBias() ? getConstantIntValues(op.getBias())
                   : std::optional(SmallVector<int64_t>{0});
  if (!w || !za || !sa || !sw || !zw || !bias || za->size() != 1 ||
      sa->size() != 1)
    return failure();
  bool alreadyFolded = (*za)[0] == 0 && (*sa)[0] == 1.0f;
  if (alreadyFolded)
    return failure();

  // Zero-point correction into the bias, in 64-bit, then checked for i32.
  SmallVector<int64_t> zwN = perChannel(*zw, n), biasN = perChannel(*bias, n);
  SmallVector<int32_t> newBias(n);
  for (int64_t c = 0; c < n; ++c) {
    int64_t sum = 0;
    for (int64_t r = 0; r < k; ++r)
      sum += (*w)[r * n + c] - zwN[c];
    int64_t v = biasN[c] - (*za)[0] * sum;
    if (v < INT32_MIN || v > INT32_MAX)
      return op.emitWarning("zero-point correction of output channel ")
             << c << " overflows i32; left unfolded";
    newBias[c] = static_cast<int32_t>(v);
  }
  // One multiplier per output channel.
  SmallVector<float> m = perChannel(*sw, n);
  for (float &x : m)
    x = (*sa)[0] * x;
  std::optional<SmallVector<float>> sy = floatValues(op.getOutputScale());
  bool foldOutput =
      sy && sy->size() == 1 &&
      (op.getActivation() == "none" || op.getActivation() == "relu");
  if (foldOutput)
    for (float &x : m)
      x = x / (*sy)[0];

  OpBuilder b(op);
  Location loc = op.getLoc();
  Builder &bb = b;
  auto scalarF32 = [&](float v) -> Value {
    return ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, bb.getF32Type()), v));
  };
  Type lhsElement = cast<ShapedType>(op.getLhs().getType()).getElementType();
  Value zeroZp = ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({}, lhsElement),
                             APInt(8, 0)));
  Value multiplier = ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({n}, bb.getF32Type()),
                             ArrayRef<float>(m)));
  Value biasValue = ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({n}, bb.getI32Type()),
                             ArrayRef<int32_t>(newBias)));
  op.getLhsScaleMutable().assign(scalarF32(1.0f));
  op.getLhsZeroPointMutable().assign(zeroZp);
  op.getRhsScaleMutable().assign(multiplier);
  if (op.getBias())
    op.getBiasMutable().assign(biasValue);
  else
    op.getBiasMutable().append(biasValue);
  if (foldOutput)
    op.getOutputScaleMutable().assign(scalarF32(1.0f));
  return success();
}

struct QNNFoldQuantizedMatMulParamsPass
    : public qnn::impl::QNNFoldQuantizedMatMulParamsPassBase<
          QNNFoldQuantizedMatMulParamsPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation().walk([&](QuantizedMatMulOp op) {
      if (succeeded(fold(op)))
        ++numFolded;
    });
  }
};

} // namespace
