//===- KernelCallOps.cpp - The qnn_cpu kernel-call dialect ----------------===//
//
// Part of the QuantOpt project.
//
// qnn_cpu.kernel_call and its bufferization: the destination-style model of
// upstream (outputs alias their results), with inputs and outputs given
// identity-layout buffers, as the kernels read plain row-major arrays. The
// workspace is written (never read) and aliases no result: bufferized in
// place, it is just an allocation, which calls may share.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace quantopt::qnn_cpu;

#include "quantopt/Conversion/QNNToCPU/KernelCallDialect.cpp.inc"

#define GET_OP_CLASSES
#include "quantopt/Conversion/QNNToCPU/KernelCallOps.cpp.inc"

namespace {

struct KernelCallBufferization
    : bufferization::DstBufferizableOpInterfaceExternalModel<
          KernelCallBufferization, KernelCallOp> {
  static bool isWorkspace(Operation *op, OpOperand &operand) {
    return cast<KernelCallOp>(op).getWorkspaceMutable().size() == 1 &&
           &cast<KernelCallOp>(op).getWorkspaceMutable()[0] == &operand;
  }

  /// The kernels write their outputs and workspace without reading them.
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const bufferization::AnalysisState &) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&operand) &&
           !isWorkspace(op, operand);
  }

  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const bufferization::AnalysisState &) const {
    return cast<DestinationStyleOpInterface>(op).isDpsInit(&operand) ||
           isWorkspace(op, operand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    auto call = cast<KernelCallOp>(op);
    auto buffers = [&](ValueRange values,
                       SmallVectorImpl<Value> &out) -> LogicalResult {
      for (Value v : values) {
        if (!isa<TensorType>(v.getType())) {
          out.push_back(v);
          continue;
        }
        FailureOr<Value> buffer =
            bufferization::getBuffer(rewriter, v, options, state);
        if (failed(buffer))
          return failure();
        auto type = cast<MemRefType>(buffer->getType());
        if (!type.getLayout().isIdentity()) {
          auto identity = MemRefType::get(
              type.getShape(), type.getElementType(),
              MemRefLayoutAttrInterface{}, type.getMemorySpace());
          buffer = bufferization::castOrReallocMemRefValue(rewriter, *buffer,
                                                           identity, options);
          if (failed(buffer))
            return failure();
        }
        out.push_back(*buffer);
      }
      return success();
    };
    SmallVector<Value> inputs, outputs, workspace;
    rewriter.setInsertionPoint(op);
    if (failed(buffers(call.getInputs(), inputs)) ||
        failed(buffers(call.getOutputs(), outputs)) ||
        (call.getWorkspace() &&
         failed(buffers(call.getWorkspace(), workspace))))
      return failure();
    KernelCallOp::create(rewriter, call.getLoc(), TypeRange{},
                         call.getKernelAttr(), inputs, outputs,
                         workspace.empty() ? Value() : workspace.front(),
                         call.getOutPositionAttr());
    bufferization::replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};

} // namespace

void QNNCPUDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "quantopt/Conversion/QNNToCPU/KernelCallOps.cpp.inc"
      >();
  KernelCallOp::attachInterface<KernelCallBufferization>(*getContext());
}

LogicalResult KernelCallOp::verify() {
  int64_t numArgs = getInputs().size() + getOutputs().size();
  if (getOutPosition() < 0 ||
      getOutPosition() > numArgs - (int64_t)getOutputs().size())
    return emitOpError("out_position ")
           << getOutPosition() << " is outside the " << numArgs
           << " call arguments";
  if (!getKernel().starts_with("qk_"))
    return emitOpError("calls '") << getKernel() << "', not a qk_* kernel";
  if (Value ws = getWorkspace()) {
    auto type = cast<ShapedType>(ws.getType());
    auto memref = dyn_cast<MemRefType>(type);
    if (!type.hasRank() || type.getRank() != 1 ||
        !type.getElementType().isInteger(8) ||
        (memref && !memref.getLayout().isIdentity()))
      return emitOpError("workspace must be a contiguous 1-d i8 tensor or "
                         "buffer (its size in bytes is passed to the "
                         "kernel), not ")
             << type;
  }
  return success();
}

void KernelCallOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : getInputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  for (OpOperand &operand : getOutputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  // The kernel writes its workspace and reads back only what it wrote.
  for (OpOperand &operand : getWorkspaceMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
}
