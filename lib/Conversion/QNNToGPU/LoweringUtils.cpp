//===- LoweringUtils.cpp - IR helpers of convert-qnn-to-gpu ---------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cstring>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;

void GPULoweringState::fallBack(RewriterBase &rewriter, Operation *op,
                                StringRef why) {
  // The fallback and its reason replace the kernel choice.
  rewriter.modifyOpInPlace(op, [&] {
    op->removeAttr(kKernelChoiceAttr);
    op->setAttr("qnn.gpu_fallback", rewriter.getStringAttr(why));
  });
  fallbacks.push_back(rewriter.getDictionaryAttr(
      {rewriter.getNamedAttr(
           "node", rewriter.getStringAttr(qnn::getNodeName(op->getLoc()))),
       rewriter.getNamedAttr("choice", rewriter.getStringAttr("generic")),
       rewriter.getNamedAttr("reason", rewriter.getStringAttr(why))}));
}

/// The private declaration whose calls stand for launches of `kernel`
/// until qnn-materialize-gpu-launches.
static func::FuncOp launchDeclaration(ModuleOp module, SymbolRefAttr kernel,
                                      TypeRange types) {
  std::string name = "quantopt_launch_" + kernel.getLeafReference().str();
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b(module.getBodyRegion());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(types, {}));
  f.setPrivate();
  f->setAttr("qgpu.kernel", kernel);
  return f;
}

func::CallOp qgpu::emitLaunch(OpBuilder &b, Location loc, Operation *anchor,
                              StringRef kernel, ArrayRef<Value> grid,
                              int64_t blockX, int64_t smem,
                              ArrayRef<Value> args, StringRef choice,
                              StringRef reason) {
  MLIRContext *ctx = b.getContext();
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> operands(grid.begin(), grid.end());
  operands.resize(3, c1);
  operands.append({arith::ConstantIndexOp::create(b, loc, blockX), c1, c1,
                   arith::ConstantIntOp::create(b, loc, smem, 32)});
  operands.append(args.begin(), args.end());
  auto ref = SymbolRefAttr::get(ctx, kKernelModule,
                                {FlatSymbolRefAttr::get(ctx, kernel)});
  func::FuncOp decl = launchDeclaration(anchor->getParentOfType<ModuleOp>(),
                                        ref, ValueRange(operands).getTypes());
  auto call = func::CallOp::create(b, loc, decl, operands);
  call->setAttr(
      "qnn.kernel",
      b.getDictionaryAttr({b.getNamedAttr("name", b.getStringAttr(choice)),
                           b.getNamedAttr("reason", b.getStringAttr(reason))}));
  return call;
}

Value qgpu::castElements(OpBuilder &b, Location loc, Value v, Type elt) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == elt)
    return v;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elt);
  AffineMap id = b.getMultiDimIdentityMap(t.getRank());
  SmallVector<utils::IteratorType> iters(t.getRank(),
                                         utils::IteratorType::parallel);
  bool widen =
      elt.getIntOrFloatBitWidth() > t.getElementType().getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, loc, init.getType(), v, init, ArrayRef<AffineMap>{id, id},
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value r =
                   widen ? (Value)arith::ExtFOp::create(nb, nl, elt, a[0])
                         : (Value)arith::TruncFOp::create(nb, nl, elt, a[0]);
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

Value qgpu::blob(OpBuilder &b, Location loc, Operation *op, StringRef suffix,
                 ArrayRef<char> bytes) {
  return qnn::createBlobConstant(b, loc, qnn::getBlobName(op->getLoc(), suffix),
                                 bytes);
}

Value qgpu::bufferAddress(OpBuilder &b, Location loc, Value memref) {
  Value idx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), idx);
}

Value qgpu::addressOf(OpBuilder &b, Location loc, Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  auto m = MemRefType::get(t.getShape(), t.getElementType());
  Value buf = bufferization::ToBufferOp::create(b, loc, m, tensor,
                                                /*readOnly=*/true);
  return bufferAddress(b, loc, buf);
}

ElementsAttr qgpu::constantOf(Value v) {
  if (!v)
    return {};
  if (auto c = v.getDefiningOp<qnn::ConstantOp>())
    return c.getValue();
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    return dyn_cast<ElementsAttr>(c.getValue());
  return {};
}

Value qgpu::flattenRows(OpBuilder &b, Location loc, Value x,
                        RankedTensorType rType,
                        SmallVectorImpl<Value> &outDynDims) {
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  for (int64_t i = 0; i + 1 < rank; ++i) {
    Value d = tensor::DimOp::create(b, loc, x, i);
    rows = arith::MulIOp::create(b, loc, rows, d);
    if (rType.isDynamicDim(i))
      outDynDims.push_back(d);
  }
  return rows;
}

Value qgpu::signless(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Type elt = t.getElementType();
  // float8 E4M3FN tensors are bytes after the CPU lowering too.
  if (isa<Float8E4M3FNType>(elt))
    return UnrealizedConversionCastOp::create(b, loc, t.clone(b.getI8Type()), v)
        .getResult(0);
  auto it = dyn_cast<IntegerType>(elt);
  if (!it || it.isSignless())
    return v;
  Type s = t.clone(IntegerType::get(b.getContext(), it.getWidth()));
  return UnrealizedConversionCastOp::create(b, loc, s, v).getResult(0);
}

Value qgpu::paramAddress(OpBuilder &b, Location loc, Operation *anchor, Value v,
                         StringRef suffix) {
  ElementsAttr c = constantOf(v);
  if (!c)
    return addressOf(b, loc, signless(b, loc, v));
  std::vector<char> bytes;
  if (isa<FloatType>(c.getElementType())) {
    auto f = qnn::getFloatValues(c);
    bytes.resize(f->size() * 4);
    std::memcpy(bytes.data(), f->data(), bytes.size());
  } else {
    // Named: a range-for over `*getIntValues(c)` would iterate a destroyed
    // temporary (ASan: stack-use-after-scope).
    auto ints = qnn::getIntValues(c);
    for (int64_t x : *ints)
      bytes.push_back(static_cast<char>(x));
  }
  bytes.resize(std::max<size_t>(bytes.size(), 64), 0);
  return addressOf(b, loc, blob(b, loc, anchor, suffix, bytes));
}

std::pair<Value, Value> qgpu::outputBuffer(OpBuilder &b, Location loc,
                                           RankedTensorType rType, Type elt,
                                           ValueRange dynDims) {
  Value buf =
      memref::AllocOp::create(b, loc, MemRefType::get(rType.getShape(), elt),
                              dynDims, b.getI64IntegerAttr(64));
  return {buf, bufferAddress(b, loc, buf)};
}

Value qgpu::resultTensor(OpBuilder &b, Location loc, Value buf,
                         RankedTensorType type) {
  Type elt = cast<MemRefType>(buf.getType()).getElementType();
  Value v = bufferization::ToTensorOp::create(b, loc, type.clone(elt), buf,
                                              /*restrict=*/true,
                                              /*writable=*/true);
  if (v.getType() != type)
    v = UnrealizedConversionCastOp::create(b, loc, type, v).getResult(0);
  return v;
}
