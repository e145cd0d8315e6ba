//===- InsertQDQ.cpp - Scheme-driven quantize/dequantize insertion --------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Weights get round-to-nearest parameters computed from their own values;
// activations get either a `!quant.calibrated` placeholder (static: the range
// comes from calibration) or a run-time qnn.dynamic_quantize. The pairs are
// fake quantization until qnn-quantize-weights and
// qnn-fuse-quantized-matmul turn them into real quantized ops.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "quantopt/Support/MappedRegions.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <limits>

namespace quantopt::qnn {
#define GEN_PASS_DEF_QNNINSERTQDQPASS
#include "quantopt/Dialect/QNN/Transforms/Passes.h.inc"
} // namespace quantopt::qnn

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

std::string nodeName(Operation *op) { return getNodeName(op->getLoc()); }

/// A constant float [K, N] weight feeding a matmul, possibly through a 2-D
/// transpose of a [N, K] constant (what gemm with trans_b decomposes to).
struct WeightRef {
  ArrayRef<float> values; // [K, N] row-major, in `blob` or in place
  std::optional<AsmResourceBlob> blob; // a (transposed) copy, when needed
  Value original; // the [K, N] constant itself when not transposed
  int64_t k = 0, n = 0;
  std::string name;
};

std::optional<WeightRef> matchWeight(Value rhs, bool &missingData) {
  bool transposed;
  auto constant =
      stripMatrixTranspose(rhs, transposed).getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto type = cast<RankedTensorType>(constant.getType());
  if (type.getRank() != 2 || !type.getElementType().isF32())
    return std::nullopt;
  // Read in place: a mapped weight is not copied (a transposed one is, once).
  SmallVector<float> copy;
  std::optional<ArrayRef<float>> values = getF32View(constant.getValue(), copy);
  if (!values) {
    missingData = true;
    return std::nullopt;
  }
  WeightRef w;
  w.name = nodeName(constant);
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  if (!transposed) {
    w.k = rows;
    w.n = cols;
    // A resource weight already in [K, N] is quantized where it is; a small
    // inline one gets its own blob as before.
    if (isa<DenseResourceElementsAttr>(constant.getValue())) {
      w.original = constant.getResult();
      w.values = *values;
      return w;
    }
  } else {
    w.k = cols;
    w.n = rows;
  }
  // The copy is written into its blob, which the new constant takes over.
  w.blob = HeapAsmResourceBlob::allocate(rows * cols * sizeof(float), 64);
  auto *out = reinterpret_cast<float *>(w.blob->getMutableData().data());
  // The copy is what the passes read from now on: the original's pages are
  // dropped as they are consumed, a block of rows at a time, if they are
  // mapped (they are read back if anything touches them), so the original
  // and its copy are never both resident.
  constexpr int64_t kRowBlock = 256;
  for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
    int64_t r1 = std::min(rows, r0 + kRowBlock);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[transposed ? c * rows + r : r * cols + c] = (*values)[r * cols + c];
    releaseMappedPages(values->data() + r0 * cols,
                       (r1 - r0) * cols * sizeof(float));
  }
  w.values = ArrayRef<float>(out, rows * cols);
  return w;
}

/// Quantization parameters of one weight.
struct WeightParams {
  Type storage;
  SmallVector<int64_t> paramShape; // {} per tensor, {N} per channel, {G, N}
  int64_t axis = 1, blockSize = 0;
  SmallVector<float> scales;
  SmallVector<int64_t> zeroPoints; // empty when symmetric
};

} // namespace

namespace {
struct QNNInsertQDQPass
    : public qnn::impl::QNNInsertQDQPassBase<QNNInsertQDQPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *ctx) override {
    Location loc = UnknownLoc::get(ctx);
    if (weightGranularity == WeightGranularity::PerGroup && groupSize <= 0)
      return emitError(loc) << "qnn-insert-qdq: group-size must be positive "
                               "with weight-granularity=per-group, got "
                            << static_cast<int64_t>(groupSize);
    if (groupSize <= 0 && weightBits() == 4 &&
        weightGranularity == WeightGranularity::Default)
      return emitError(loc) << "qnn-insert-qdq: group-size must be positive, "
                               "got "
                            << static_cast<int64_t>(groupSize);
    if (activationGranularity == ActivationGranularity::PerToken &&
        activationMode != ActivationMode::Dynamic)
      return emitError(loc)
             << "qnn-insert-qdq: activation-granularity=per-token needs "
                "activation-mode=dynamic (a calibrated range is per tensor)";
    if (scheme == QuantScheme::FP8 && !symmetric)
      return emitError(loc) << "qnn-insert-qdq: fp8 weights are symmetric; "
                               "remove symmetric=false";
    for (const std::string &pattern : excludeNodes) {
      std::string error;
      if (!llvm::Regex(pattern).isValid(error))
        return emitError(loc) << "qnn-insert-qdq: exclude-nodes entry '"
                              << pattern << "' is not a valid regex: " << error;
    }
    return success();
  }

  void runOnOperation() override;

private:
  unsigned weightBits() const {
    return scheme == QuantScheme::W4A16 || scheme == QuantScheme::W4A8 ? 4 : 8;
  }
  bool quantizesActivations() const {
    return scheme == QuantScheme::W8A8 || scheme == QuantScheme::W4A8 ||
           scheme == QuantScheme::FP8;
  }
  bool isExcluded(Operation *op,
                  ArrayRef<std::unique_ptr<llvm::Regex>> regexes) const;
  WeightParams computeParams(const WeightRef &w, MLIRContext *ctx) const;
  Value quantizeWeight(OpBuilder &b, Location loc, WeightRef &w);
  Value quantizeActivation(OpBuilder &b, Operation *matmul, Value x, int64_t k);
};
} // namespace

bool QNNInsertQDQPass::isExcluded(
    Operation *op, ArrayRef<std::unique_ptr<llvm::Regex>> regexes) const {
  for (const std::string &type : excludeOpTypes)
    if (op->getName().getStringRef() == type)
      return true;
  std::string name = nodeName(op);
  for (const std::unique_ptr<llvm::Regex> &regex : regexes)
    if (regex->match(name))
      return true;
  return false;
}

WeightParams QNNInsertQDQPass::computeParams(const WeightRef &w,
                                             MLIRContext *ctx) const {
  WeightParams p;
  unsigned bits = weightBits();
  bool fp8 = scheme == QuantScheme::FP8;
  if (fp8)
    p.storage = Float8E4M3FNType::get(ctx);
  else
    p.storage = IntegerType::get(
        ctx, bits, symmetric ? IntegerType::Signless : IntegerType::Unsigned);
  WeightGranularity granularity = weightGranularity;
  if (granularity == WeightGranularity::Default)
    granularity =
        bits == 4 ? WeightGranularity::PerGroup : WeightGranularity::PerChannel;

  int64_t groups = 1, rowsPerGroup = w.k;
  switch (granularity) {
  case WeightGranularity::PerTensor:
    p.paramShape = {};
    break;
  case WeightGranularity::PerChannel:
    p.paramShape = {w.n};
    p.axis = 1;
    break;
  default:
    rowsPerGroup = groupSize;
    groups = llvm::divideCeil(w.k, groupSize);
    p.paramShape = {groups, w.n};
    p.axis = 0;
    p.blockSize = groupSize;
    break;
  }
  bool perTensor = granularity == WeightGranularity::PerTensor;
  int64_t columns = perTensor ? 1 : w.n;
  SmallVector<float> lo(groups * columns, 0.0f), hi(groups * columns, 0.0f);
  for (int64_t r = 0; r < w.k; ++r)
    for (int64_t c = 0; c < w.n; ++c) {
      int64_t i = (r / rowsPerGroup) * columns + (perTensor ? 0 : c);
      float v = w.values[r * w.n + c];
      lo[i] = std::min(lo[i], v);
      hi[i] = std::max(hi[i], v);
    }
  // Symmetric: s = max|w| / qmax (int4: 7, int8: 127, e4m3: 448).
  // Asymmetric: the range includes 0 so that 0 is exact; z = qmin - min / s.
  float qmaxSym = fp8 ? 448.0f : float((1 << (bits - 1)) - 1);
  float qmaxAsym = float((1 << bits) - 1);
  for (size_t i = 0; i < lo.size(); ++i) {
    if (symmetric) {
      float m = std::max(-lo[i], hi[i]);
      p.scales.push_back(m > 0 ? m / qmaxSym : 1.0f);
    } else {
      float s = (hi[i] - lo[i]) / qmaxAsym;
      if (!(s > 0))
        s = 1.0f;
      p.scales.push_back(s);
      int64_t z = static_cast<int64_t>(std::nearbyint(-lo[i] / s));
      p.zeroPoints.push_back(std::clamp<int64_t>(z, 0, (1 << bits) - 1));
    }
  }
  return p;
}

Value QNNInsertQDQPass::quantizeWeight(OpBuilder &b, Location loc,
                                       WeightRef &w) {
  MLIRContext *ctx = b.getContext();
  WeightParams p = computeParams(w, ctx);
  auto weightType = RankedTensorType::get({w.k, w.n}, b.getF32Type());
  // The (transposed) float weight as a resource blob; qnn-quantize-weights
  // replaces it by the packed integer weight.
  // The blob takes over the (transposed) copy rather than copying it again.
  Value weight = w.original;
  if (!weight) {
    std::string blobName = (w.name.empty() ? "weight" : w.name) + "_kn";
    weight = ConstantOp::create(b, loc,
                                DenseResourceElementsAttr::get(
                                    weightType, blobName, std::move(*w.blob)));
  }
  auto scaleType = RankedTensorType::get(p.paramShape, b.getF32Type());
  Value scale = ConstantOp::create(
      b, loc, DenseElementsAttr::get(scaleType, ArrayRef<float>(p.scales)));
  Value zp;
  if (!p.zeroPoints.empty()) {
    auto zpType = RankedTensorType::get(p.paramShape, p.storage);
    SmallVector<APInt> values;
    for (int64_t z : p.zeroPoints)
      values.push_back(APInt(p.storage.getIntOrFloatBitWidth(), z));
    zp = ConstantOp::create(b, loc, DenseElementsAttr::get(zpType, values));
  }
  auto qType = RankedTensorType::get({w.k, w.n}, p.storage);
  Value q = QuantizeOp::create(
      b, loc, qType, weight, scale, zp, b.getI64IntegerAttr(p.axis),
      b.getI64IntegerAttr(p.blockSize), b.getBoolAttr(true));
  return DequantizeOp::create(b, loc, weightType, q, scale, zp,
                              b.getI64IntegerAttr(p.axis),
                              b.getI64IntegerAttr(p.blockSize));
}

Value QNNInsertQDQPass::quantizeActivation(OpBuilder &b, Operation *matmul,
                                           Value x, int64_t k) {
  Location loc = matmul->getLoc();
  auto type = cast<TensorType>(x.getType());
  if (activationMode == ActivationMode::Dynamic) {
    bool perToken = activationGranularity == ActivationGranularity::PerToken;
    bool fp8 = scheme == QuantScheme::FP8;
    auto dq = DynamicQuantizeOp::create(b, loc, x, b.getBoolAttr(perToken),
                                        fp8 ? b.getUnitAttr() : UnitAttr());
    // Per token, the parameters are blocked along the last axis with one
    // block per row (block_size = K): ONNX DequantizeLinear semantics. The
    // e4m3 zero point is always 0 and is left out.
    int64_t axis = perToken ? type.getRank() - 1 : 1;
    return DequantizeOp::create(b, loc, type, dq.getOutput(), dq.getScale(),
                                fp8 ? Value() : dq.getZeroPoint(),
                                b.getI64IntegerAttr(axis),
                                b.getI64IntegerAttr(perToken ? k : 0));
  }
  // Static: the range is unknown until calibration. The widest f32 range
  // marks it so (the type requires min < max); qnn-fold-calibration replaces
  // it with the table's range for the calibration key.
  double unbounded = std::numeric_limits<float>::max();
  auto calibrated = quant::CalibratedQuantizedType::get(b.getF32Type(),
                                                        -unbounded, unbounded);
  auto q = QuantizeOp::create(b, loc, type.clone(calibrated), x, Value(),
                              Value(), b.getI64IntegerAttr(1),
                              b.getI64IntegerAttr(0), b.getBoolAttr(true));
  std::string key = nodeName(matmul);
  if (scheme == QuantScheme::FP8)
    q->setAttr("qnn.storage_type",
               TypeAttr::get(Float8E4M3FNType::get(b.getContext())));
  q->setAttr("qnn.calibration_key",
             b.getStringAttr((key.empty() ? "matmul" : key) + "/input"));
  return DequantizeOp::create(b, loc, type, q, Value(), Value(),
                              b.getI64IntegerAttr(1), b.getI64IntegerAttr(0));
}

void QNNInsertQDQPass::runOnOperation() {
  SmallVector<std::unique_ptr<llvm::Regex>> regexes;
  for (const std::string &pattern : excludeNodes)
    regexes.push_back(std::make_unique<llvm::Regex>(pattern));
  SmallVector<MatMulOp> matmuls;
  getOperation().walk([&](MatMulOp op) { matmuls.push_back(op); });
  for (MatMulOp op : matmuls) {
    bool missingData = false;
    std::optional<WeightRef> weight = matchWeight(op.getRhs(), missingData);
    if (missingData) {
      op.emitError("cannot quantize this layer: its weight's data is not "
                   "available (weights are elided when IR is printed; "
                   "import with quant-translate --emit-weights)");
      return signalPassFailure();
    }
    if (!weight)
      continue; // activation x activation (attention scores): stays float
    if (isExcluded(op, regexes)) {
      ++numExcluded;
      continue;
    }
    OpBuilder b(op);
    Value w = quantizeWeight(b, op.getLoc(), *weight);
    op.getRhsMutable().assign(w);
    ++numWeights;
    if (quantizesActivations()) {
      if (activationGranularity == ActivationGranularity::PerToken &&
          !cast<ShapedType>(op.getLhs().getType()).hasRank()) {
        op.emitWarning("per-token activation quantization needs a ranked "
                       "activation; this layer's activation stays float");
        continue;
      }
      op.getLhsMutable().assign(
          quantizeActivation(b, op, op.getLhs(), weight->k));
      ++numActivations;
    }
  }
}
