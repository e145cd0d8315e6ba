//===- TypeConversion.cpp - CPU types of qnn values and constants ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

CPUTypeConverter::CPUTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](RankedTensorType type) -> Type {
    return type.clone(lowerElementType(type.getElementType()));
  });
  auto materialize = [](OpBuilder &b, Type type, ValueRange inputs,
                        Location loc) -> Value {
    return UnrealizedConversionCastOp::create(b, loc, type, inputs)
        .getResult(0);
  };
  addSourceMaterialization(materialize);
  addTargetMaterialization(materialize);
}

namespace {

struct ConstantLowering : OpLowering {
  using OpLowering::OpLowering;
  LogicalResult lower(ConstantOp c);
};

} // namespace

LogicalResult ConstantLowering::lower(ConstantOp c) {
  auto type = resultType();
  ElementsAttr value = c.getValue();
  // A weight read only by weight-only matmuls is packed from its attribute
  // by their lowering; materializing it as well would copy the whole weight
  // for nothing (and keep the copy: attributes live as long as the context).
  if (!c->use_empty() && llvm::all_of(c->getUses(), [](OpOperand &use) {
        auto wo = dyn_cast<WeightOnlyMatMulOp>(use.getOwner());
        return wo && use.get() == wo.getWeight() &&
               use.getOperandNumber() ==
                   wo.getWeightMutable().getOperandNumber();
      }))
    return done(ValueRange{tensor::EmptyOp::create(b, loc, type.getShape(),
                                                   type.getElementType())});
  auto origElt = cast<ShapedType>(value.getType()).getElementType();
  if (isa<Float8E4M3FNType>(origElt)) {
    // The bytes, as i8.
    if (auto res = dyn_cast<DenseResourceElementsAttr>(value))
      return done(ValueRange{arith::ConstantOp::create(
          b, loc, DenseResourceElementsAttr::get(type, res.getRawHandle()))});
    auto bytes = getWeightBytes(value);
    if (!bytes)
      return fail("constant data is not available (elided?)");
    SmallVector<APInt> vals;
    for (int8_t v : *bytes)
      vals.push_back(APInt(8, static_cast<uint8_t>(v)));
    return done(ValueRange{
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, vals))});
  }
  if (isa<FloatType>(origElt) && origElt.getIntOrFloatBitWidth() == 8)
    return fail("float8 E5M2 tensors are not supported by the CPU backend "
                "(E4M3FN is)");
  if (value.getType() == type)
    return done(
        ValueRange{arith::ConstantOp::create(b, loc, cast<TypedAttr>(value))});
  // Integer re-typing: ui8 -> i8 keeps the bytes; i4/ui4 widen to i8.
  auto intElt = dyn_cast<IntegerType>(origElt);
  if (auto dense = dyn_cast<DenseIntElementsAttr>(value)) {
    if (intElt && intElt.getWidth() >= 8)
      return done(ValueRange{arith::ConstantOp::create(
          b, loc, dense.bitcast(type.getElementType()))});
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value);
      res && intElt && intElt.getWidth() >= 8)
    return done(ValueRange{arith::ConstantOp::create(
        b, loc, DenseResourceElementsAttr::get(type, res.getRawHandle()))});
  // A large i4/ui4 weight widens to one i8 byte per value in a resource
  // blob: through APInts and a uniqued attribute it would cost 24 bytes per
  // value and stay in the context for good (a 1.6 GB float weight's int4
  // constant took 10 GB this way).
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value);
      res && intElt && intElt.getWidth() == 4 &&
      type.getElementType().isInteger(8)) {
    std::optional<std::vector<int8_t>> bytes = getWeightBytes(value);
    if (!bytes)
      return fail("constant data is not available (elided?)");
    auto *owned = new std::vector<int8_t>(std::move(*bytes));
    ArrayRef<char> data(reinterpret_cast<const char *>(owned->data()),
                        owned->size());
    AsmResourceBlob blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        data, alignof(int8_t),
        [owned](void *, size_t, size_t) { delete owned; });
    return done(ValueRange{arith::ConstantOp::create(
        b, loc,
        DenseResourceElementsAttr::get(
            type, (res.getRawHandle().getKey() + "_i8").str(),
            std::move(blob)))});
  }
  std::optional<SmallVector<int64_t>> ints = getIntValues(value);
  if (!ints)
    return fail("constant data is not available (elided?)");
  SmallVector<APInt> vals;
  unsigned w = type.getElementType().getIntOrFloatBitWidth();
  for (int64_t v : *ints)
    vals.push_back(APInt(w, v, /*isSigned=*/true));
  return done(ValueRange{
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, vals))});
}

void quantopt::populateQNNToCPUConstantPatterns(const TypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns.add<
      LowerOpPattern<ConstantOp, ConstantLowering, &ConstantLowering::lower>>(
      converter, patterns.getContext());
}
