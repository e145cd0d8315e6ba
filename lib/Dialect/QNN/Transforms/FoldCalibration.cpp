//===- FoldCalibration.cpp - Calibrated ranges to quantized types ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Calibration/CalibrationTable.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

#include <cmath>

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNFOLDCALIBRATIONPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

struct QNNFoldCalibrationPass
    : public qnn::impl::QNNFoldCalibrationPassBase<QNNFoldCalibrationPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (activationType != "uint8" && activationType != "int8")
      return emitError(loc)
             << "qnn-fold-calibration: activation-type '" << activationType
             << "' is not valid; valid values are: uint8, int8";
    if (tablePath.empty())
      return emitError(loc) << "qnn-fold-calibration: no calibration table; "
                               "pass table=<path to the JSON table>";
    llvm::Expected<calibration::CalibrationTable> read =
        calibration::readCalibrationTable(tablePath);
    if (!read)
      return emitError(loc)
             << "qnn-fold-calibration: " << llvm::toString(read.takeError());
    table = std::make_shared<calibration::CalibrationTable>(std::move(*read));
    return success();
  }

  void runOnOperation() override;

private:
  /// Replaces one calibrated quantize; fails with a diagnostic.
  LogicalResult fold(QuantizeOp op);

  std::shared_ptr<calibration::CalibrationTable> table;
};

} // namespace

LogicalResult QNNFoldCalibrationPass::fold(QuantizeOp op) {
  auto key = op->getAttrOfType<StringAttr>("qnn.calibration_key");
  auto it = table->tensors.find(key.str());
  if (it == table->tensors.end())
    return op.emitOpError("no range for '")
           << key.getValue() << "' in calibration table '" << tablePath
           << "'; re-run calibration on the instrumented model "
              "(qnn-instrument-calibration)";
  // Zero must be exact: widen the range to include it.
  double lo = std::min(it->second.min, 0.0), hi = std::max(it->second.max, 0.0);
  auto type = cast<TensorType>(op.getType());
  OpBuilder b(op);
  Type f32 = b.getF32Type();

  if (auto storage = op->getAttrOfType<TypeAttr>("qnn.storage_type");
      storage && isa<FloatType>(storage.getValue())) {
    // float8 E4M3FN: scale = absmax / 448 as explicit parameters (LLVM 22's
    // !quant.uniform has integer storage only).
    double m = std::max(-lo, hi);
    float scale = m > 0 ? static_cast<float>(m / 448.0) : 1.0f;
    Value s = ConstantOp::create(
        b, op.getLoc(),
        DenseElementsAttr::get(RankedTensorType::get({}, f32), scale));
    auto q = QuantizeOp::create(b, op.getLoc(), type.clone(storage.getValue()),
                                op.getInput(), s, Value(), op.getAxisAttr(),
                                op.getBlockSizeAttr(), op.getSaturateAttr());
    for (OpOperand &use : llvm::make_early_inc_range(op->getUses())) {
      auto dq = dyn_cast<DequantizeOp>(use.getOwner());
      if (!dq || dq.getScale())
        return dq ? dq.emitOpError("expected a typed dequantize")
                  : use.getOwner()->emitOpError(
                        "unexpected user of a calibrated quantize");
      b.setInsertionPoint(dq);
      auto explicitDq =
          DequantizeOp::create(b, dq.getLoc(), dq.getType(), q, s, Value(),
                               dq.getAxisAttr(), dq.getBlockSizeAttr());
      dq.replaceAllUsesWith(explicitDq.getResult());
      dq.erase();
    }
    op.erase();
    return success();
  }

  bool isSigned = activationType == "int8";
  double scale;
  int64_t zeroPoint = 0, qmin = isSigned ? -128 : 0,
          qmax = isSigned ? 127 : 255;
  if (isSigned) {
    double m = std::max(-lo, hi);
    scale = m > 0 ? m / 127.0 : 1.0;
  } else {
    scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
    zeroPoint = std::clamp<int64_t>(
        static_cast<int64_t>(std::nearbyint(-lo / scale)), qmin, qmax);
  }
  // Scales are float32 at run time; keep exactly that value in the type.
  scale = static_cast<double>(static_cast<float>(scale));
  Type storage = IntegerType::get(op.getContext(), 8);
  auto uniform = quant::UniformQuantizedType::getChecked(
      [&] { return op.emitOpError(); },
      isSigned ? quant::QuantizationFlags::Signed : 0, storage, f32, scale,
      zeroPoint, qmin, qmax);
  if (!uniform)
    return failure();
  op.getResult().setType(type.clone(uniform));
  return success();
}

void QNNFoldCalibrationPass::runOnOperation() {
  SmallVector<QuantizeOp> points;
  getOperation().walk([&](QuantizeOp op) {
    auto type = dyn_cast<ShapedType>(op.getType());
    if (type && isa<quant::CalibratedQuantizedType>(type.getElementType()) &&
        op->hasAttr("qnn.calibration_key"))
      points.push_back(op);
  });
  for (QuantizeOp op : points) {
    if (failed(fold(op)))
      return signalPassFailure();
    ++numFolded;
  }
}
