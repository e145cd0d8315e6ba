//===- QuantizeWeights.cpp - RTN: float weights to packed integers --------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "quantopt/Support/MappedRegions.h"
#include "llvm/ADT/DenseSet.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNQUANTIZEWEIGHTSPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

/// Small results stay inline (they fold and print readably).
constexpr int64_t kInlineLimit = 64;

std::optional<SmallVector<int64_t>> intValues(Value v) {
  return v ? getConstantIntValues(v) : SmallVector<int64_t>{};
}

/// Rewrites one quantize of a constant weight; returns failure with a
/// diagnostic when the weight has no data.
LogicalResult
quantizeWeight(QuantizeOp op, int64_t &count,
               SmallVectorImpl<DenseResourceElementsHandle> &consumed) {
  auto weight = op.getInput().getDefiningOp<ConstantOp>();
  auto scaleOp =
      op.getScale() ? op.getScale().getDefiningOp<ConstantOp>() : ConstantOp();
  if (!weight || !scaleOp ||
      (op.getZeroPoint() && !op.getZeroPoint().getDefiningOp<ConstantOp>()))
    return success(); // not a constant weight: left to run time
  auto resultType = dyn_cast<RankedTensorType>(op.getType());
  if (!resultType || !resultType.hasStaticShape())
    return success();
  auto storage = dyn_cast<IntegerType>(resultType.getElementType());
  auto float8 = dyn_cast<FloatType>(resultType.getElementType());
  if (!storage && !float8)
    return success();
  // Mapped weights are read in place: a copy would double their memory.
  SmallVector<float> valueStorage;
  std::optional<ArrayRef<float>> values =
      getF32View(weight.getValue(), valueStorage);
  std::optional<SmallVector<float>> scales = getF32Values(scaleOp.getValue());
  std::optional<SmallVector<int64_t>> zps = intValues(op.getZeroPoint());
  if (!values || !scales || !zps)
    return op.emitOpError("cannot quantize weight ")
           << weight.getType()
           << ": its data is not available (weights elided when the IR was "
              "printed? re-import with --emit-weights)";
  auto scaleType = cast<RankedTensorType>(scaleOp.getType());
  QuantLayout layout = QuantLayout::get(
      scaleType, op.getAxis(), op.getBlockSize(), resultType.getRank());
  std::string name = "weight_q";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(weight.getValue()))
    name = resource.getRawHandle().getKey().str() + "_q";
  bool inlineResult = resultType.getNumElements() <= kInlineLimit;

  OpBuilder b(op);
  ElementsAttr attr;
  if (float8) {
    // float8 E4M3FN/E5M2: one byte per element, ONNX's (saturating) cast.
    std::vector<char> bytes(values->size());
    layout.forEachParamIndex(
        resultType.getShape(), scaleType.getShape(), [&](int64_t i, int64_t p) {
          bytes[i] =
              static_cast<char>(quantizeToFloat8((*values)[i], (*scales)[p],
                                                 float8, op.getSaturate())
                                    .bitcastToAPInt()
                                    .getZExtValue());
        });
    if (inlineResult)
      attr = DenseElementsAttr::getFromRawBuffer(resultType, bytes);
    else
      attr = DenseResourceElementsAttr::get(
          resultType, name,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
  } else if (inlineResult) {
    SmallVector<int64_t> q =
        quantizeBuffer(*values, resultType.getShape(), *scales, *zps,
                       scaleType.getShape(), layout, storage);
    SmallVector<APInt> ints;
    for (int64_t v : q)
      ints.push_back(APInt(storage.getWidth(), v, !storage.isUnsigned()));
    attr = DenseElementsAttr::get(resultType, ints);
  } else {
    // Quantized straight into the blob's packed bytes: no per-element
    // integer, index or byte copy.
    AsmResourceBlob blob = HeapAsmResourceBlob::allocate(
        packedByteSize(resultType.getNumElements(), storage), 64);
    quantizeBufferPacked(*values, resultType.getShape(), *scales, *zps,
                         scaleType.getShape(), layout, storage,
                         blob.getMutableData());
    attr = DenseResourceElementsAttr::get(resultType, name, std::move(blob));
  }
  op.replaceAllUsesWith(ConstantOp::create(b, op.getLoc(), attr).getResult());
  op.erase();
  // The float weight is consumed: drop its pages if it is mapped from the
  // model's external data (they are read back if anything touches them
  // again), so the compile does not hold every float weight resident.
  if (values->data() != valueStorage.data())
    releaseMappedPages(values->data(), values->size() * sizeof(float));
  if (weight->use_empty()) {
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(weight.getValue()))
      consumed.push_back(resource.getRawHandle());
    weight.erase();
  }
  ++count;
  return success();
}

struct QNNQuantizeWeightsPass
    : public qnn::impl::QNNQuantizeWeightsPassBase<QNNQuantizeWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<QuantizeOp> candidates;
    getOperation().walk([&](QuantizeOp op) { candidates.push_back(op); });
    int64_t count = 0;
    SmallVector<DenseResourceElementsHandle> consumed;
    for (QuantizeOp op : candidates)
      if (failed(quantizeWeight(op, count, consumed)))
        return signalPassFailure();
    numQuantized += count;
    releaseUnreferenced(consumed);
  }

  /// Frees the blobs of consumed float weights that nothing references any
  /// more (the transposed copies qnn-insert-qdq made, mapped weights), so
  /// that a compile does not hold every float weight to the end. Blob
  /// entries live as long as the context, whatever uses them; only the
  /// module's own attributes can refer to them, and a module with one
  /// function is walked by this pass alone (with several, other threads may
  /// be rewriting their functions: skip).
  void releaseUnreferenced(ArrayRef<DenseResourceElementsHandle> consumed) {
    auto module = getOperation()->getParentOfType<ModuleOp>();
    if (consumed.empty() || !module ||
        llvm::range_size(module.getOps<func::FuncOp>()) != 1)
      return;
    llvm::DenseSet<void *> referenced;
    module.walk([&](Operation *op) {
      for (NamedAttribute attr : op->getAttrs())
        if (auto r = dyn_cast<DenseResourceElementsAttr>(attr.getValue()))
          referenced.insert(r.getRawHandle().getResource());
    });
    for (DenseResourceElementsHandle handle : consumed)
      if (!referenced.contains(handle.getResource()) && handle.getBlob())
        handle.getResource()->setBlob(AsmResourceBlob());
  }
};

} // namespace
