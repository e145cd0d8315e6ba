//===- InstrumentCalibration.cpp - Expose tensors to calibrate ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNINSTRUMENTCALIBRATIONPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

/// True for the activation quantize ops qnn-insert-qdq leaves for calibration.
static bool isCalibrationPoint(QuantizeOp op) {
  auto type = dyn_cast<ShapedType>(op.getType());
  return type && isa<quant::CalibratedQuantizedType>(type.getElementType()) &&
         op->hasAttr("qnn.calibration_key");
}

namespace {
struct QNNInstrumentCalibrationPass
    : public qnn::impl::QNNInstrumentCalibrationPassBase<
          QNNInstrumentCalibrationPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<QuantizeOp> points;
      func.walk([&](QuantizeOp op) {
        if (isCalibrationPoint(op))
          points.push_back(op);
      });
      if (points.empty())
        continue;
      if (!SymbolTable::symbolKnownUseEmpty(func, module)) {
        func.emitWarning("not instrumented for calibration: @")
            << func.getSymName()
            << " is called, so its signature cannot grow; calibrate its "
               "caller instead";
        continue;
      }
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      SmallVector<Value> results(ret.getOperands());
      unsigned first = results.size();
      llvm::StringSet<> seen;
      SmallVector<StringAttr> keys;
      for (QuantizeOp op : points) {
        auto key = op->getAttrOfType<StringAttr>("qnn.calibration_key");
        if (!seen.insert(key.getValue()).second)
          continue; // one observation per tensor key
        results.push_back(op.getInput());
        keys.push_back(key);
      }
      ret->setOperands(results);
      SmallVector<Type> types;
      for (Value v : results)
        types.push_back(v.getType());
      func.setType(FunctionType::get(
          &getContext(), func.getFunctionType().getInputs(), types));
      for (auto [i, key] : llvm::enumerate(keys))
        func.setResultAttr(first + i, "qnn.calibration_key", key);
      numObserved += keys.size();
    }
  }
};
} // namespace
