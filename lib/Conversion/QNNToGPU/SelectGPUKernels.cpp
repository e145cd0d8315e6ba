//===- SelectGPUKernels.cpp - The kernel of every quantized op ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// qnn-select-gpu-kernels: which of QuantOpt's GPU kernels each quantized
// matmul and dynamic quantization takes, from the `kernel` option, the
// chip's features and the op's kind, recorded as `qnn.gpu_kernel = {name,
// reason}` on the op. convert-qnn-to-gpu lowers by that attribute (and
// selects for ops that have none); the data-dependent checks (packing,
// zero-point ranges) stay with the lowering, which falls back with their
// reason.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Conversion/QNNToGPU/Passes.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNSELECTGPUKERNELSPASS
#include "quantopt/Conversion/QNNToGPU/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;
using namespace quantopt::qnn;

/// The dequantize of float8 E4M3FN data behind `v`, or null.
static DequantizeOp fp8Dequantize(Value v) {
  auto d = v.getDefiningOp<DequantizeOp>();
  if (!d || !isa<Float8E4M3FNType>(
                cast<ShapedType>(d.getInput().getType()).getElementType()))
    return {};
  return d;
}

bool qgpu::isFP8MatMul(MatMulOp m) {
  return fp8Dequantize(m.getLhs()) && fp8Dequantize(m.getRhs());
}

std::string qgpu::whyNotW4A8(WeightOnlyMatMulOp w) {
  auto xType = dyn_cast<RankedTensorType>(w.getInput().getType());
  auto wType = cast<ShapedType>(w.getWeight().getType());
  if (w.getGroupSize() != 0)
    return "grouped weight scales";
  if (!xType || xType.getRank() < 1 || !xType.getElementType().isF32())
    return "activations that are not f32";
  if (!constantOf(w.getWeight()) || wType.getRank() != 2)
    return "not a constant [K, N] weight";
  if (wType.getDimSize(0) % 16 != 0)
    return "K is not a multiple of 16";
  return "";
}

namespace {

using Choice = std::pair<std::string, std::string>;

/// The choice for `op` (std::nullopt: not a kernel candidate), or failure
/// after an error for a forced kernel it cannot take.
FailureOr<std::optional<Choice>> choose(Operation *op,
                                        const GPUTargetInfo &target,
                                        GPUKernel kernel, int64_t w4a8MinM) {
  const Choice generic = {"generic", "forced by kernel=generic"};
  bool forced8 = kernel == GPUKernel::W8A8 || kernel == GPUKernel::W8A8WGMMA;
  StringRef spelled = stringifyGPUKernel(kernel);
  if (auto m = dyn_cast<MatMulOp>(op)) {
    if (!isFP8MatMul(m))
      return std::optional<Choice>();
    if (kernel == GPUKernel::Generic)
      return std::optional<Choice>(generic);
    if (kernel == GPUKernel::W4A16 || forced8) {
      m.emitOpError("is an fp8 matmul and cannot take the ")
          << spelled << " kernel (forced by kernel=" << spelled
          << "); use --gpu-kernel=auto (kernel=auto) or generic";
      return failure();
    }
    if (!target.fp8)
      return std::optional<Choice>(
          {"generic", "fp8 tensor cores need sm_89 or sm_90 (target " +
                          target.name.str() + ")"});
    return std::optional<Choice>({"fp8", ""});
  }
  if (auto w = dyn_cast<WeightOnlyMatMulOp>(op)) {
    if (kernel == GPUKernel::Generic)
      return std::optional<Choice>(generic);
    if (forced8)
      return std::optional<Choice>(
          {"w4a8", "forced by kernel=" + spelled.str()});
    if (w4a8MinM > 0) {
      std::string whyNot = whyNotW4A8(w);
      if (!whyNot.empty())
        return std::optional<Choice>(
            {"w4a16",
             "W4A16 for every M: w4a8-min-m does not apply (" + whyNot + ")"});
      return std::optional<Choice>(
          {"w4a8-by-m", "w4a8-min-m=" + std::to_string(w4a8MinM)});
    }
    return std::optional<Choice>({"w4a16", ""});
  }
  if (auto q = dyn_cast<QuantizedMatMulOp>(op)) {
    if (kernel == GPUKernel::Generic)
      return std::optional<Choice>(generic);
    if (kernel == GPUKernel::W4A16) {
      q.emitOpError("cannot take the w4a16 kernel (forced by kernel=w4a16): "
                    "its activations are quantized to 8 bits and the W4A16 "
                    "kernel multiplies float activations by int4 weights; "
                    "use --scheme=w4a16, or --gpu-kernel=auto (kernel=auto)");
      return failure();
    }
    return std::optional<Choice>(
        {kernel == GPUKernel::W8A8WGMMA ? "w8a8-wgmma" : "w8a8", ""});
  }
  if (auto d = dyn_cast<DynamicQuantizeOp>(op)) {
    // e4m3 needs the conversion instruction (sm_89+); below, the generic
    // lowering converts in software.
    if (d.getE4m3() && !target.fp8)
      return std::optional<Choice>();
    return std::optional<Choice>({"dynamic_quantize", ""});
  }
  return std::optional<Choice>();
}

struct QNNSelectGPUKernelsPass
    : quantopt::impl::QNNSelectGPUKernelsPassBase<QNNSelectGPUKernelsPass> {
  using QNNSelectGPUKernelsPassBase::QNNSelectGPUKernelsPassBase;
  void runOnOperation() override {
    const GPUTargetInfo &target = getGPUTargetInfo(chip);
    ModuleOp module = getOperation();
    if (failed(selectGPUKernels<MatMulOp>(module, target, kernel, w4a8MinM)) ||
        failed(selectGPUKernels<WeightOnlyMatMulOp>(module, target, kernel,
                                                    w4a8MinM)) ||
        failed(selectGPUKernels<QuantizedMatMulOp>(module, target, kernel,
                                                   w4a8MinM)) ||
        failed(selectGPUKernels<DynamicQuantizeOp>(module, target, kernel,
                                                   w4a8MinM)))
      return signalPassFailure();
  }
};

} // namespace

LogicalResult qgpu::selectGPUKernel(Operation *op, const GPUTargetInfo &target,
                                    GPUKernel kernel, int64_t w4a8MinM) {
  if (op->hasAttr(kKernelChoiceAttr))
    return success();
  FailureOr<std::optional<Choice>> choice =
      choose(op, target, kernel, w4a8MinM);
  if (failed(choice))
    return failure();
  if (!*choice)
    return success();
  Builder b(op->getContext());
  op->setAttr(
      kKernelChoiceAttr,
      b.getDictionaryAttr(
          {b.getNamedAttr("name", b.getStringAttr((*choice)->first)),
           b.getNamedAttr("reason", b.getStringAttr((*choice)->second))}));
  return success();
}

std::optional<std::pair<StringRef, StringRef>>
qgpu::getGPUKernelChoice(Operation *op) {
  auto d = op->getAttrOfType<DictionaryAttr>(kKernelChoiceAttr);
  if (!d)
    return std::nullopt;
  auto name = d.getAs<StringAttr>("name");
  auto reason = d.getAs<StringAttr>("reason");
  if (!name || !reason)
    return std::nullopt;
  return std::make_pair(name.getValue(), reason.getValue());
}
