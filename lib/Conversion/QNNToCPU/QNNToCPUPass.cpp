//===- QNNToCPUPass.cpp - The convert-qnn-to-cpu pass ---------------------===//
//
// Part of the QuantOpt project.
//
// Assembles the pattern families of QNNToCPU.h into one partial
// conversion: qnn becomes linalg/tensor/arith/math and, with the kernel
// library, qnn_cpu.kernel_call ops.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"

#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace quantopt {
#define GEN_PASS_DEF_CONVERTQNNTOCPUPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;

namespace {

/// Gives each function result that would alias an input, a constant, a
/// strided slice, a tensor.reshape view or another result a buffer of its
/// own, by a copy in a linalg.generic. The runtime owns (and frees) every
/// result buffer; a returned argument, constant or memref.reshape view does
/// not lower through the deallocation pipeline (an unresolved
/// unrealized_conversion_cast), and a returned slice would be cloned with a
/// strided memref.copy, i.e. a call of MLIR's runtime helper memrefCopy that
/// bundles do not link.
void copyAliasingResults(func::FuncOp func) {
  func.walk([](func::ReturnOp ret) {
    OpBuilder b(ret);
    Location loc = ret.getLoc();
    llvm::SmallPtrSet<Value, 4> seen;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type)
        continue;
      bool copy = !seen.insert(v).second;
      for (Value root = v; !copy;) {
        Operation *def = root.getDefiningOp();
        if (!def ||
            isa<arith::ConstantOp, tensor::ExtractSliceOp, tensor::ReshapeOp>(
                def)) {
          copy = true;
        } else if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                       tensor::CastOp>(def)) {
          root = def->getOperand(0);
          continue;
        }
        break;
      }
      if (!copy)
        continue;
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
      Value fresh = copyInto(b, loc, v,
                             emptyTensor(b, loc, sizes, type.getElementType()));
      if (fresh.getType() != type)
        fresh = tensor::CastOp::create(b, loc, type, fresh);
      operand.set(fresh);
    }
  });
}

struct ConvertQNNToCPUPass
    : quantopt::impl::ConvertQNNToCPUPassBase<ConvertQNNToCPUPass> {
  using ConvertQNNToCPUPassBase::ConvertQNNToCPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Ops an earlier pass rewrites away: say which one instead of the
    // conversion's bare "failed to legalize".
    WalkResult unlowered = module.walk([](Operation *op) {
      if (!isa<qnn::GemmOp, qnn::QLinearMatMulOp, qnn::MatMulNBitsOp>(op))
        return WalkResult::advance();
      op->emitOpError("has no CPU lowering: run ")
          << (isa<qnn::GemmOp>(op) ? "--qnn-decompose-gemm (part of "
                                     "--qnn-normalize)"
                                   : "--qnn-fuse-quantized-matmul")
          << " before convert-qnn-to-cpu";
      return WalkResult::interrupt();
    });
    if (unlowered.wasInterrupted())
      return signalPassFailure();
    CPUTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<qnn::QNNDialect>();
    target.addLegalDialect<
        arith::ArithDialect, bufferization::BufferizationDialect,
        linalg::LinalgDialect, LLVM::LLVMDialect, math::MathDialect,
        memref::MemRefDialect, tensor::TensorDialect, affine::AffineDialect,
        scf::SCFDialect, qnn_cpu::QNNCPUDialect>();
    target.addLegalOp<ModuleOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp, tensor::CastOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    populateQNNToCPUConstantPatterns(converter, patterns);
    populateQNNToCPUElementwisePatterns(converter, patterns);
    populateQNNToCPUMathPatterns(converter, patterns);
    populateQNNToCPUNormalizationPatterns(converter, patterns);
    populateQNNToCPULayoutPatterns(converter, patterns,
                                   /*reportErrors=*/kernelLibrary);
    populateQNNToCPUQuantizePatterns(converter, patterns);
    populateQNNToCPUIndexPatterns(converter, patterns, kernelLibrary);
    populateQNNMatMulToLinalgPatterns(converter, patterns);
    if (kernelLibrary)
      populateQNNMatMulToKernelCallPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();

    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        copyAliasingResults(func);
    module.walk([&](qnn_cpu::KernelCallOp) { ++numKernelCalls; });
  }
};

} // namespace
