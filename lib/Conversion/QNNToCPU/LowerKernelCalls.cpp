//===- LowerKernelCalls.cpp - qnn_cpu.kernel_call to func.call ------------===//
//
// Part of the QuantOpt project.
//
// After one-shot bufferization: each kernel call on buffers becomes the
// func.call of its qk_* kernel with pointers to the buffers' data, and
// for a kernel with a workspace, the workspace's pointer and byte size last.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNLOWERKERNELCALLSPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;

namespace {

struct LowerKernelCall : OpRewritePattern<qnn_cpu::KernelCallOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(qnn_cpu::KernelCallOp call,
                                PatternRewriter &rewriter) const override {
    if (call.getNumResults() != 0 ||
        llvm::any_of(call->getOperandTypes(), llvm::IsaPred<TensorType>))
      return rewriter.notifyMatchFailure(call, "not bufferized");
    Location loc = call.getLoc();
    auto pointers = [&](ValueRange values) {
      SmallVector<Value> args;
      for (Value v : values)
        args.push_back(isa<MemRefType>(v.getType())
                           ? pointerOfBuffer(rewriter, loc, v)
                           : v);
      return args;
    };
    SmallVector<Value> args = pointers(call.getInputs());
    SmallVector<Value> outs = pointers(call.getOutputs());
    args.insert(args.begin() + call.getOutPosition(), outs.begin(), outs.end());
    if (Value ws = call.getWorkspace()) {
      args.push_back(pointerOfBuffer(rewriter, loc, ws));
      Value bytes = memref::DimOp::create(rewriter, loc, ws, 0);
      args.push_back(arith::IndexCastOp::create(rewriter, loc,
                                                rewriter.getI64Type(), bytes));
    }
    func::FuncOp fn =
        declareKernel(call->getParentOfType<ModuleOp>(), call.getKernel(),
                      ValueRange(args).getTypes());
    rewriter.replaceOpWithNewOp<func::CallOp>(call, fn, args);
    return success();
  }
};

struct QNNLowerKernelCallsPass
    : quantopt::impl::QNNLowerKernelCallsPassBase<QNNLowerKernelCallsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerKernelCall>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    WalkResult left = getOperation().walk([](qnn_cpu::KernelCallOp call) {
      call.emitOpError("is still on tensors: run one-shot bufferization "
                       "first");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
