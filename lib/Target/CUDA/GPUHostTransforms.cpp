//===- GPUHostTransforms.cpp - Host-side rewrites of the GPU target -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Everything the entry function sees is a device pointer (docs/GPUBackend.md),
// so the host code may only allocate, copy, launch and free. These passes
// keep data off the host: constants become fills or weights, every loop nest
// becomes a kernel, host memory ops become GPU runtime ops, and whatever
// still touches data on the host is reported with its ONNX node.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CUDA/GPUHostTransforms.h"
#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Target/CUDA/Passes.h"

#include "quantopt/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Pass/PassRegistry.h"

namespace quantopt {
#define GEN_PASS_DEF_QNNMATERIALIZEGPUCONSTANTSPASS
#define GEN_PASS_DEF_QNNPREPAREGPULOOPSPASS
#define GEN_PASS_DEF_QNNTILEGPUPARALLELLOOPSPASS
#define GEN_PASS_DEF_QNNCONVERTGPUHOSTMEMORYPASS
#define GEN_PASS_DEF_QNNCHECKGPUHOSTDATAACCESSPASS
#include "quantopt/Target/CUDA/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;

namespace {

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

/// linalg.fill of a scalar constant into tensor.empty.
Value buildFill(OpBuilder &b, Location loc, RankedTensorType type,
                TypedAttr value) {
  Value scalar = arith::ConstantOp::create(b, loc, value);
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{empty})
      .getResult(0);
}

/// An i8 constant (a weight) truncated to i1 by a linalg.generic: bundle
/// weights hold one byte per bool.
Value buildBoolFromBytes(OpBuilder &b, Location loc, DenseElementsAttr bits) {
  auto type = cast<RankedTensorType>(bits.getType());
  SmallVector<int8_t> bytes;
  for (bool v : bits.getValues<bool>())
    bytes.push_back(v ? 1 : 0);
  auto i8Type = type.clone(b.getI8Type());
  Value i8 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(i8Type, ArrayRef<int8_t>(bytes)));
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{i8}, ValueRange{empty},
      ArrayRef<AffineMap>{id, id}, iters,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value t = arith::TruncIOp::create(nb, nloc, nb.getI1Type(), args[0]);
        linalg::YieldOp::create(nb, nloc, t);
      });
  return generic.getResult(0);
}

struct GPUMaterializeConstantsPass
    : quantopt::impl::QNNMaterializeGPUConstantsPassBase<
          GPUMaterializeConstantsPass> {
  void runOnOperation() override {
    SmallVector<arith::ConstantOp> constants;
    getOperation().walk([&](arith::ConstantOp c) {
      auto t = dyn_cast<RankedTensorType>(c.getType());
      auto d = dyn_cast<DenseElementsAttr>(c.getValue());
      if (t && t.hasStaticShape() && d &&
          (d.isSplat() || t.getElementType().isInteger(1)))
        constants.push_back(c);
    });
    for (arith::ConstantOp c : constants) {
      OpBuilder b(c);
      auto t = cast<RankedTensorType>(c.getType());
      auto d = cast<DenseElementsAttr>(c.getValue());
      Value v = d.isSplat()
                    ? buildFill(b, c.getLoc(), t,
                                cast<TypedAttr>(d.getSplatValue<Attribute>()))
                    : buildBoolFromBytes(b, c.getLoc(), d);
      c.getResult().replaceAllUsesWith(v);
      c.erase();
    }
  }
};

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

bool isHostOp(Operation *op) {
  return !op->getParentOfType<gpu::LaunchOp>() &&
         !op->getParentOfType<gpu::GPUModuleOp>() &&
         !op->getParentOfType<scf::ParallelOp>();
}

bool hasIdentityLayout(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.getLayout().isIdentity();
}

} // namespace

/// Whether `op` has only small static integer operands (<= 64 elements)
/// that the caller does not pass: what shape data looks like.
static bool hasOnlyShapeLikeOperands(Operation *op) {
  for (Value v : op->getOperands()) {
    auto t = dyn_cast<ShapedType>(v.getType());
    if (!t)
      continue;
    if (!t.hasStaticShape() || t.getNumElements() > 64 ||
        !t.getElementType().isIntOrIndex())
      return false;
    // Data the caller passes (inputs, weights) is on the device.
    Value root = v;
    while (auto view = root.getDefiningOp<ViewLikeOpInterface>())
      root = view.getViewSource();
    if (isa<BlockArgument>(root) &&
        isa<func::FuncOp>(root.getParentBlock()->getParentOp()))
      return false;
  }
  return true;
}

bool quantopt::isHostShapeComputation(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !hasOnlyShapeLikeOperands(op))
    return false;
  // A small integer value that a data computation reads (a zero point
  // filled in, then read by a matmul kernel) is device data, not shape
  // data, however small: its buffer (after bufferization) or its tensor
  // results (before, when the GPU target decides which constants stay in
  // host code) reach a data linalg op. The same answer either way.
  SmallVector<Value> roots(op->getResults());
  for (Value init : linalgOp.getDpsInits()) {
    if (!isa<MemRefType>(init.getType()))
      continue;
    Value root = init;
    while (auto view = root.getDefiningOp<ViewLikeOpInterface>())
      root = view.getViewSource();
    roots.push_back(root);
  }
  for (Value root : roots) {
    SmallVector<Value> work{root};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      for (Operation *user : v.getUsers()) {
        if (user == op)
          continue;
        if (isa<linalg::LinalgOp>(user) && !hasOnlyShapeLikeOperands(user))
          return false;
        if (auto view = dyn_cast<ViewLikeOpInterface>(user))
          if (view.getViewSource() == v)
            llvm::append_range(work, user->getResults());
        if (isa<tensor::CastOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                tensor::ReshapeOp>(user) &&
            user->getOperand(0) == v)
          llvm::append_range(work, user->getResults());
      }
    }
  }
  return true;
}

namespace {

struct GPUPrepareLoopsPass
    : quantopt::impl::QNNPrepareGPULoopsPassBase<GPUPrepareLoopsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp c) {
      if (isHostOp(c) && !(hasIdentityLayout(c.getSource()) &&
                           hasIdentityLayout(c.getTarget())))
        copies.push_back(c);
    });
    for (memref::CopyOp c : copies) {
      rewriter.setInsertionPoint(c);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(c, c.getSource(),
                                                  c.getTarget());
    }
    SmallVector<linalg::LinalgOp> scalarOps, shapeOps;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!isHostOp(op))
        return;
      if (isHostShapeComputation(op))
        shapeOps.push_back(op);
      else if (op.getNumParallelLoops() == 0)
        scalarOps.push_back(op);
    });
    // Shape arithmetic stays on the host, as sequential loops.
    for (linalg::LinalgOp op : shapeOps) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op))) {
        op->emitError("cannot lower shape computation to host loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
    // Loop-less ops (0-d results: a run-time scale times a weight scale)
    // run as one-thread kernels. A one-iteration scf.parallel would not do:
    // the canonicalizer inlines it back into the host code.
    for (linalg::LinalgOp op : scalarOps) {
      rewriter.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
      auto launch =
          gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
      rewriter.setInsertionPointToEnd(&launch.getBody().front());
      auto end = gpu::TerminatorOp::create(rewriter, loc);
      op->moveBefore(end);
    }
  }
};

struct GPUTileParallelLoopsPass
    : quantopt::impl::QNNTileGPUParallelLoopsPassBase<
          GPUTileParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto p = dyn_cast<scf::ParallelOp>(op)) {
        loops.push_back(p);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : loops) {
      // One linear index over all dimensions: grid.x has room for 2^31
      // blocks where grid.y/z stop at 65535 and block.z at 64, and a nest of
      // any rank stays fully parallel.
      if (loop.getNumLoops() > 1) {
        Block *block = loop->getBlock();
        Operation *prev = loop->getPrevNode();
        std::vector<unsigned> all(loop.getNumLoops());
        for (unsigned i = 0; i < all.size(); ++i)
          all[i] = i;
        collapseParallelLoops(rewriter, loop, {all});
        Operation *next = prev ? prev->getNextNode() : &block->front();
        while (next && !isa<scf::ParallelOp>(next))
          next = next->getNextNode();
        if (!next) {
          getOperation().emitError("collapsing a parallel loop failed");
          return signalPassFailure();
        }
        loop = cast<scf::ParallelOp>(next);
      }
      scf::tileParallelLoop(loop, {kGPUBlockSize}, /*noMinMaxBounds=*/true);
    }
  }
};

//===----------------------------------------------------------------------===//
// Host memory ops
//===----------------------------------------------------------------------===//

/// Marks buffers that stay in host memory (host data access is allowed on
/// them): allocations that no kernel and no caller sees, i.e. the shape
/// arithmetic of dynamic reshapes (Shape -> Gather -> Concat -> Reshape).
constexpr llvm::StringLiteral kHostBufferAttr = "quantopt.host_buffer";

/// Whether a kernel or the caller can see the memory of `root` (through
/// views of it).
bool reachesDevice(Value root) {
  SmallVector<Value> work{root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      // A buffer whose address is taken is passed to a hand-written kernel
      // (convert-qnn-to-gpu): it lives on the device.
      if (user->getParentOfType<gpu::LaunchOp>() ||
          isa<gpu::LaunchOp, gpu::LaunchFuncOp, func::ReturnOp, func::CallOp,
              memref::ExtractAlignedPointerAsIndexOp>(user))
        return true;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          llvm::append_range(work, user->getResults());
      if (isa<memref::CastOp, memref::ReinterpretCastOp>(user))
        llvm::append_range(work, user->getResults());
    }
  }
  return false;
}

/// The allocation `v` is a view of, if any.
Operation *rootAllocation(Value v) {
  while (v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return nullptr;
    if (isa<memref::AllocOp, memref::AllocaOp, gpu::AllocOp,
            memref::GetGlobalOp>(def))
      return def;
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (isa<memref::CastOp, memref::ReinterpretCastOp>(def))
      v = def->getOperand(0);
    else
      return nullptr;
  }
  return nullptr;
}

bool isHostBuffer(Value v) {
  Operation *root = rootAllocation(v);
  if (auto global = dyn_cast_if_present<memref::GetGlobalOp>(root))
    return !reachesDevice(global.getResult());
  return root && root->hasAttr(kHostBufferAttr);
}

struct GPUHostMemoryToRuntimePass
    : quantopt::impl::QNNConvertGPUHostMemoryPassBase<
          GPUHostMemoryToRuntimePass> {
  void runOnOperation() override {
    if (getOperation().isPrivate())
      return;
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp,
              memref::CopyOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    IRRewriter b(&getContext());
    for (Operation *op : ops)
      if (isa<memref::AllocOp, memref::AllocaOp>(op) &&
          !reachesDevice(op->getResult(0)))
        op->setAttr(kHostBufferAttr, b.getUnitAttr());
    for (Operation *op : ops) {
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (op->hasAttr(kHostBufferAttr))
        continue;
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
        if (isHostBuffer(dealloc.getMemref()))
          continue;
      if (auto copy = dyn_cast<memref::CopyOp>(op))
        if (isHostBuffer(copy.getSource()) && isHostBuffer(copy.getTarget()))
          continue;
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        b.replaceOpWithNewOp<gpu::AllocOp>(
            op, alloc.getType(), Type(), ValueRange{}, alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), UnitAttr());
      } else if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
        auto mem = gpu::AllocOp::create(b, loc, alloca.getType(), Type(),
                                        ValueRange{}, alloca.getDynamicSizes(),
                                        alloca.getSymbolOperands(), UnitAttr());
        // Stack memory ends with its block.
        b.setInsertionPoint(op->getBlock()->getTerminator());
        gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, mem.getMemref());
        b.replaceOp(op, mem.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        b.replaceOpWithNewOp<gpu::DeallocOp>(op, Type(), ValueRange{},
                                             dealloc.getMemref());
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        b.replaceOpWithNewOp<gpu::MemcpyOp>(op, Type(), ValueRange{},
                                            copy.getTarget(), copy.getSource());
      }
    }
  }
};

//===----------------------------------------------------------------------===//
// Host data access
//===----------------------------------------------------------------------===//

/// "reads", "writes" or "" for what `op` does to memref data.
StringRef hostAccess(Operation *op) {
  if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op))
    return "";
  if (op->getDialect() && isa<gpu::GPUDialect>(op->getDialect()))
    return "";
  if (isa<func::CallOp, LLVM::CallOp>(op))
    return llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>)
               ? "passes to a host function"
               : "";
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return "";
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  bool reads = false, writes = false;
  for (const MemoryEffects::EffectInstance &e : list) {
    Value v = e.getValue();
    if (!v || !isa<MemRefType>(v.getType()) || isHostBuffer(v))
      continue;
    reads |= isa<MemoryEffects::Read>(e.getEffect());
    writes |= isa<MemoryEffects::Write>(e.getEffect());
  }
  return reads ? "reads" : writes ? "writes" : "";
}

struct GPUCheckHostDataAccessPass
    : quantopt::impl::QNNCheckGPUHostDataAccessPassBase<
          GPUCheckHostDataAccessPass> {
  void runOnOperation() override {
    // Private functions (bufferization helpers) are only reached through
    // calls, which are reported at the call.
    if (getOperation().isPrivate())
      return;
    bool failed = false;
    getOperation().walk(
        [&](Operation *op) {
          std::string node = qnn::getNodeName(op->getLoc());
          std::string where =
              "'" + op->getName().getStringRef().str() + "'" +
              (node.empty() ? std::string() : " of ONNX node '" + node + "'");
          if (isa<memref::GetGlobalOp>(op) && !isHostBuffer(op->getResult(0))) {
            op->emitError()
                << where
                << " is a constant buffer in host memory, which kernels cannot "
                   "read; constants must become weights (report this model)";
            failed = true;
            return;
          }
          StringRef access = hostAccess(op);
          if (access.empty())
            return;
          op->emitError()
              << where << " " << access
              << " tensor data on the host, which is not supported by the GPU "
                 "target; every pointer the host code sees is a device pointer "
                 "(typically a value computed at run time that the host needs "
                 "as a shape or a scalar). Compile with --target cpu, or keep "
                 "this part of the model out of the GPU graph";
          failed = true;
        });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
