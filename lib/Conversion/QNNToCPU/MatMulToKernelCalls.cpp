//===- MatMulToKernelCalls.cpp - qnn matmuls to CPU kernel calls ----------===//
//
// Part of the QuantOpt project.
//
// The matmuls the kernel library takes (docs/CPUBackend.md): a constant
// right operand is packed here, at compile time, by the library that reads
// it at run time, with column sums, scales and bias inside the packed blob.
// Each pattern checks that its kernel applies before it builds anything and
// otherwise leaves the op to the next pattern (down to the linalg
// contraction of MatMulToLinalg.cpp). The kernels that need scratch memory
// (all but qk_sgemm) get a workspace: an i8 tensor whose size the kernel
// library's qk_*_workspace_bytes function computes at run time from the
// shapes (and the thread count), which bufferization allocates like any
// other intermediate buffer:
//
//   benefit 4  add(matmul(x, W), bias)      -> qk_sgemm with the bias fused
//   benefit 3  matmul(x, W)                 -> qk_sgemm
//              quantized_matmul(x, W)       -> qk_qgemm
//   benefit 2  matmul(x, y), same batch     -> qk_sgemm_batched
//              quantized_matmul(x, y)       -> qk_qgemm_batched
//              weight_only_matmul(x, W)     -> qk_wo_matmul
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"
#include "quantopt/Runtime/Kernels.h"
#include "quantopt/Support/MappedRegions.h"

#include "llvm/Support/Memory.h"

#include <cstring>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

/// A blob constant of `values`' bytes.
template <typename T>
Value blobOf(OpBuilder &b, Location loc, StringRef name, ArrayRef<T> values) {
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()),
                       values.size() * sizeof(T));
  return createBlobConstant(b, loc, name, bytes);
}

/// qk_sgemm_pack_b of B = W^T for W [N, K] row-major, without making B:
/// the packed layout is column panels, so B is packed a block of whole
/// panels at a time (through a small buffer) and the blocks' panels copied
/// into place; the header is that of packing a [K, N] B of zeros read from
/// an untouched anonymous mapping (the kernel zero page: no memory). The
/// mapped pages of W are dropped block by block. For Gemma's tied
/// 262144x640 output projection this saves the 671 MB transposed copy.
void packTransposedSGEMM(ArrayRef<float> w, int64_t K, int64_t N,
                         char *packed) {
  // Panel width and header size, from the packed sizes the kernel reports.
  int64_t one = qk_sgemm_packed_size(1, 1), two = qk_sgemm_packed_size(2, 1);
  int64_t panel = (two - one) / 4, header = one - 4 * panel;
  std::error_code ec;
  size_t zerosBytes = size_t(K) * N * sizeof(float);
  llvm::sys::MemoryBlock zeros = llvm::sys::Memory::allocateMappedMemory(
      zerosBytes, nullptr, llvm::sys::Memory::MF_READ, ec);
  if (ec) {
    // No address space for the zero view: pack the transposed copy.
    SmallVector<float> b = transposeMatrix<float>(w, N, K);
    qk_sgemm_pack_b(b.data(), K, N, packed);
    return;
  }
  qk_sgemm_pack_b(static_cast<const float *>(zeros.base()), K, N, packed);
  llvm::sys::Memory::releaseMappedMemory(zeros);
  int64_t block =
      panel * std::max<int64_t>(1, (int64_t(8) << 20) / (K * 4 * panel));
  std::vector<float> b;
  std::vector<char> tmp;
  for (int64_t n0 = 0; n0 < N; n0 += block) {
    int64_t cols = std::min(block, N - n0);
    b.resize(size_t(K) * cols);
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t k = 0; k < K; ++k)
        b[k * cols + j] = w[(n0 + j) * K + k];
    releaseMappedPages(w.data() + n0 * K, size_t(cols) * K * sizeof(float));
    tmp.resize(qk_sgemm_packed_size(K, cols));
    qk_sgemm_pack_b(b.data(), K, cols, tmp.data());
    std::memcpy(packed + header + n0 * K * 4, tmp.data() + header,
                tmp.size() - header);
  }
}

struct KernelLowering : OpLowering {
  using OpLowering::OpLowering;

  LogicalResult lowerSGEMMWithBias(MatMulOp mm);
  LogicalResult lowerSGEMM(MatMulOp mm) { return buildSGEMM(mm, {}); }
  LogicalResult lowerSGEMMBatched(MatMulOp mm);
  LogicalResult lowerWeightOnly(WeightOnlyMatMulOp w);
  LogicalResult lowerQGEMM(QuantizedMatMulOp q);
  LogicalResult lowerQGEMMBatched(QuantizedMatMulOp q);

  LogicalResult buildSGEMM(MatMulOp mm, AddOp biasAdd);
  /// Whether qk_sgemm takes `mm`: f32, a constant 2-d right operand.
  bool isSGEMM(MatMulOp mm);
  Value index64(OpFoldResult v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                      indexValue(b, loc, v));
  }
  /// A call of kernel `name` (as createKernelCall) that also takes a
  /// workspace of the bytes `sizeFn(sizeArgs)` returns at run time.
  Value kernelCallWithWorkspace(StringRef name, ValueRange args,
                                ArrayRef<OpFoldResult> outSizes,
                                Type outElementType, unsigned outPosition,
                                StringRef sizeFn, ValueRange sizeArgs);
  /// The product of two sizes.
  OpFoldResult mul(OpFoldResult x, OpFoldResult y) {
    AffineExpr s0, s1;
    bindSymbols(b.getContext(), s0, s1);
    return affine::makeComposedFoldedAffineApply(b, loc, s0 * s1, {x, y});
  }
};

Value KernelLowering::kernelCallWithWorkspace(StringRef name, ValueRange args,
                                              ArrayRef<OpFoldResult> outSizes,
                                              Type outElementType,
                                              unsigned outPosition,
                                              StringRef sizeFn,
                                              ValueRange sizeArgs) {
  // int64_t qk_*_workspace_bytes(...): pure and never fails.
  ModuleOp mod = module();
  auto fn = mod.lookupSymbol<func::FuncOp>(sizeFn);
  if (!fn) {
    OpBuilder mb(mod.getBodyRegion());
    fn = func::FuncOp::create(
        mb, mod.getLoc(), sizeFn,
        mb.getFunctionType(sizeArgs.getTypes(), {mb.getI64Type()}));
    fn.setPrivate();
  }
  Value bytes = func::CallOp::create(b, loc, fn, sizeArgs).getResult(0);
  Value size = arith::IndexCastOp::create(b, loc, b.getIndexType(), bytes);
  Value workspace = emptyTensor(b, loc, {size}, b.getI8Type());
  Value init = emptyTensor(b, loc, outSizes, outElementType);
  auto call = qnn_cpu::KernelCallOp::create(
      b, loc, TypeRange{init.getType()}, b.getStringAttr(name), args,
      ValueRange{init}, workspace, b.getI64IntegerAttr(outPosition));
  return call.getResult(0);
}

bool KernelLowering::isSGEMM(MatMulOp mm) {
  auto lt = cast<RankedTensorType>(operands[0].getType());
  auto rt = cast<RankedTensorType>(operands[1].getType());
  bool transposed = false;
  return resultType().getElementType().isF32() && lt.getElementType().isF32() &&
         rt.getElementType().isF32() &&
         getConstantElements(stripMatrixTranspose(mm.getRhs(), transposed)) &&
         rt.getRank() == 2 && lt.getRank() >= 1 && rt.hasStaticShape();
}

/// `add(matmul(x, W), bias)` with a constant f32 [K, N] weight and a
/// constant [N] bias: the kernel applies the bias, the add goes away.
LogicalResult KernelLowering::lowerSGEMMWithBias(MatMulOp mm) {
  if (!mm.getResult().hasOneUse() || !isSGEMM(mm))
    return b.notifyMatchFailure(mm, "not a qk_sgemm matmul with one use");
  auto add = dyn_cast<AddOp>(*mm.getResult().getUsers().begin());
  if (!add || add.getType() != mm.getType())
    return b.notifyMatchFailure(mm, "not used by an add of its type");
  Value other = add.getLhs() == mm.getResult() ? add.getRhs() : add.getLhs();
  auto ot = dyn_cast<RankedTensorType>(other.getType());
  auto wt = cast<RankedTensorType>(mm.getRhs().getType());
  if (!getConstantElements(other) || !ot || !ot.getElementType().isF32() ||
      ot.getNumElements() != wt.getDimSize(1) ||
      ot.getShape().back() != wt.getDimSize(1))
    return b.notifyMatchFailure(mm, "the add's other operand is no bias");
  return buildSGEMM(mm, add);
}

LogicalResult KernelLowering::buildSGEMM(MatMulOp mm, AddOp biasAdd) {
  if (!isSGEMM(mm))
    return b.notifyMatchFailure(mm, "not f32 with a constant 2-d weight");
  auto result = resultType();
  Value lhs = operands[0];
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(operands[1].getType());
  bool transposed = false;
  ElementsAttr weight =
      getConstantElements(stripMatrixTranspose(mm.getRhs(), transposed));
  // Read in place (a mapped weight is not copied); its pages are dropped
  // once read (docs/Memory.md).
  SmallVector<float> storage;
  std::optional<ArrayRef<float>> w = getF32View(weight, storage);
  if (!w)
    return fail("weight data is not available (elided?)");
  int64_t K = rt.getDimSize(0), N = rt.getDimSize(1);
  std::optional<SmallVector<float>> bias;
  if (biasAdd) {
    Value other = biasAdd.getLhs() == mm.getResult() ? biasAdd.getRhs()
                                                     : biasAdd.getLhs();
    bias = getF32Values(getConstantElements(other));
  }
  std::vector<char> packed(qk_sgemm_packed_size(K, N));
  if (transposed)
    packTransposedSGEMM(*w, K, N, packed.data());
  else
    qk_sgemm_pack_b(w->data(), K, N, packed.data());
  releaseMappedPages(w->data(), w->size() * sizeof(float));
  Value blob = createBlobConstant(b, loc, blobName("sgemm"), packed);
  Value biasBlob = bias ? blobOf<float>(b, loc, blobName("bias"), *bias)
                        : nullPointer(b, loc);
  Value a2 = lhs;
  OpFoldResult m = b.getIndexAttr(1);
  SmallVector<OpFoldResult> sizes;
  if (lt.getRank() == 1) {
    SmallVector<OpFoldResult> s{m, tensor::getMixedSize(b, loc, lhs, 0)};
    a2 = reshapeTo(b, loc, lhs, tensorTypeOf(s, b.getF32Type()), s);
  } else {
    std::tie(a2, m) = flattenRows(b, loc, lhs);
    SmallVector<OpFoldResult> ls = mixedSizes(b, loc, lhs);
    sizes.assign(ls.begin(), ls.end() - 1);
  }
  sizes.push_back(b.getIndexAttr(N));
  // qk_sgemm(a, m, packed b, bias, activation, out)
  Value out = createKernelCall(
      b, loc, "qk_sgemm", {a2, index64(m), blob, biasBlob, i32Const(b, loc, 0)},
      {m, b.getIndexAttr(N)}, b.getF32Type(), /*outPosition=*/5);
  Value r = reshapeTo(b, loc, out, result, sizes);
  if (biasAdd)
    b.replaceOp(biasAdd, r);
  return done(ValueRange{r});
}

/// Activations times activations with equal batch dims (or a 2-d right
/// operand): the batched kernel, which packs at run time.
LogicalResult KernelLowering::lowerSGEMMBatched(MatMulOp mm) {
  Value lhs = operands[0], rhs = operands[1];
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  auto result = resultType();
  bool f32 = result.getElementType().isF32() && lt.getElementType().isF32() &&
             rt.getElementType().isF32();
  if (!f32 || lt.getRank() < 2 || rt.getRank() < 2 ||
      (rt.getRank() != 2 && lt.getRank() != rt.getRank()))
    return b.notifyMatchFailure(mm, "not an f32 batched matmul");
  bool sameBatch = true;
  if (rt.getRank() > 2)
    for (int64_t i = 0; i + 2 < lt.getRank(); ++i)
      if (lt.getDimSize(i) != rt.getDimSize(i) ||
          (lt.isDynamicDim(i) && rt.isDynamicDim(i) && lt.getDimSize(i) != 1))
        sameBatch &= lt.getDimSize(i) == rt.getDimSize(i);
  if (!sameBatch)
    return b.notifyMatchFailure(mm, "broadcast batch dims");
  SmallVector<OpFoldResult> ls = mixedSizes(b, loc, lhs);
  SmallVector<OpFoldResult> rs = mixedSizes(b, loc, rhs);
  OpFoldResult batch = b.getIndexAttr(1);
  OpFoldResult m = ls[ls.size() - 2], k = ls.back(), n = rs.back();
  if (rt.getRank() == 2) {
    // Flatten every leading lhs dim into M.
    for (size_t i = 0; i + 1 < ls.size() - 1; ++i)
      m = mul(m, ls[i]);
  } else {
    for (size_t i = 0; i + 2 < ls.size(); ++i)
      batch = mul(batch, ls[i]);
  }
  SmallVector<OpFoldResult> l3{batch, m, k}, r3{batch, k, n}, o3{batch, m, n};
  if (rt.getRank() == 2)
    r3 = {b.getIndexAttr(1), k, n};
  Value a3 = reshapeTo(b, loc, lhs, tensorTypeOf(l3, b.getF32Type()), l3);
  Value b3 = reshapeTo(b, loc, rhs, tensorTypeOf(r3, b.getF32Type()), r3);
  Value mk = index64(mul(m, k)), kn = index64(mul(k, n));
  Value mn = index64(mul(m, n));
  Value strideB = rt.getRank() == 2
                      ? (Value)arith::ConstantIntOp::create(b, loc, 0, 64)
                      : kn;
  // qk_sgemm_batched(a, b, out, batch, m, k, n, stride a, stride b,
  //                  stride c, workspace, workspace bytes)
  Value batch64 = index64(batch), m64 = index64(m), k64 = index64(k),
        n64 = index64(n);
  Value out = kernelCallWithWorkspace(
      "qk_sgemm_batched", {a3, b3, batch64, m64, k64, n64, mk, strideB, mn}, o3,
      b.getF32Type(), /*outPosition=*/2, "qk_sgemm_batched_workspace_bytes",
      {batch64, m64, k64, n64});
  SmallVector<OpFoldResult> sizes(ls.begin(), ls.end() - 1);
  sizes.push_back(n);
  return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
}

LogicalResult KernelLowering::lowerWeightOnly(WeightOnlyMatMulOp w) {
  FailureOr<WeightOnlyConstants> c = getWeightOnlyConstants(*this, w);
  if (failed(c))
    return failure();
  int64_t K = c->k, N = c->n, g = w.getGroupSize();
  auto wElt =
      cast<IntegerType>(cast<ShapedType>(c->weight.getType()).getElementType());
  int32_t bits = wElt.getWidth() <= 4 ? 4 : 8;
  int64_t groups = g ? (K + g - 1) / g : 1;
  // Expand per-tensor parameters to the [groups, N] layout.
  auto expand = [&](auto values) {
    using T = typename decltype(values)::value_type;
    std::vector<T> out(groups * N);
    for (int64_t i = 0; i < groups * N; ++i)
      out[i] = values.size() == 1 ? values[0] : values[i];
    return out;
  };
  std::vector<float> s = expand(c->scaleValues);
  std::vector<int32_t> z;
  if (c->zeroPoints) {
    auto zv = getIntValues(c->zeroPoints);
    if (!zv)
      return fail("zero point data is not available");
    SmallVector<int32_t> z32(zv->begin(), zv->end());
    z = expand(z32);
  }
  std::vector<char> packed(qk_wo_packed_size(K, N, bits, g));
  qk_wo_pack(c->bytes.data(), wElt.isUnsigned() ? 0 : 1, bits, K, N, g,
             s.data(), c->zeroPoints ? z.data() : nullptr, packed.data());
  Value blob = createBlobConstant(b, loc, blobName("wo"), packed);
  Value biasBlob = nullPointer(b, loc);
  if (c->bias) {
    auto bias = getF32Values(c->bias);
    if (!bias)
      return fail("bias data is not available");
    biasBlob = blobOf<float>(b, loc, blobName("bias"), *bias);
  }
  auto [a2, m] = flattenRows(b, loc, operands[0]);
  // qk_wo_matmul(a, m, packed b, bias, out, workspace, workspace bytes)
  Value m64 = index64(m);
  Value out = kernelCallWithWorkspace(
      "qk_wo_matmul", {a2, m64, blob, biasBlob}, {m, b.getIndexAttr(N)},
      b.getF32Type(), /*outPosition=*/4, "qk_wo_workspace_bytes",
      {m64, arith::ConstantIntOp::create(b, loc, K, 64), i32Const(b, loc, bits),
       arith::ConstantIntOp::create(b, loc, g, 64)});
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  sizes.back() = b.getIndexAttr(N);
  return done(ValueRange{reshapeTo(b, loc, out, resultType(), sizes)});
}

/// The int8 GEMM with its epilogue fused (zero points, bias, scales,
/// activation, the next layer's quantize) and a constant weight.
LogicalResult KernelLowering::lowerQGEMM(QuantizedMatMulOp q) {
  auto result = resultType();
  ElementsAttr wAttr = getConstantElements(q.getRhs());
  ElementsAttr sAttr = getConstantElements(q.getRhsScale());
  ElementsAttr zAttr = getConstantElements(q.getRhsZeroPoint());
  ElementsAttr bAttr = getConstantElements(q.getBias());
  // A weight scale computed at run time (ONNX Runtime's quantize_dynamic
  // multiplies the activation's dynamic scale into it: r = float(acc) *
  // (sa * sb)) still takes the kernel: it runs with unit weight scales and
  // the run-time scale is applied after it, which rounds exactly as the
  // op's semantics, (float(acc) * lhs_scale) * rhs_scale. Only without an
  // activation or a requantized output, which would have to come after it.
  auto rScaleType = cast<ShapedType>(q.getRhsScale().getType());
  bool runtimeScale = !sAttr && q.getActivation() == "none" &&
                      !q.getOutputScale() && rScaleType.getRank() <= 1;
  if (!wAttr || (!sAttr && !runtimeScale) || (q.getRhsZeroPoint() && !zAttr) ||
      (q.getBias() && !bAttr) ||
      cast<ShapedType>(wAttr.getType()).getRank() != 2)
    return b.notifyMatchFailure(q, "no constant weight and parameters");
  auto wType = cast<ShapedType>(wAttr.getType());
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto bytes = getWeightBytes(wAttr);
  auto scales =
      runtimeScale ? std::optional<SmallVector<float>>(SmallVector<float>{1.0f})
                   : getF32Values(sAttr);
  if (!bytes || !scales)
    return fail("weight data is not available (elided?)");
  std::vector<float> s(N);
  for (int64_t n = 0; n < N; ++n)
    s[n] = scales->size() == 1 ? (*scales)[0] : (*scales)[n];
  std::vector<int32_t> z, bias;
  if (zAttr) {
    auto zv = getIntValues(zAttr);
    z.resize(N);
    for (int64_t n = 0; n < N; ++n)
      z[n] = zv->size() == 1 ? (*zv)[0] : (*zv)[n];
  }
  if (bAttr) {
    auto bv = getIntValues(bAttr);
    bias.assign(bv->begin(), bv->end());
  }
  bool bSigned = !cast<IntegerType>(wType.getElementType()).isUnsigned();
  std::vector<char> packed(qk_qgemm_packed_size(K, N));
  qk_qgemm_pack_b(bytes->data(), bSigned ? 1 : 0, K, N,
                  zAttr ? z.data() : nullptr, s.data(),
                  bAttr ? bias.data() : nullptr, packed.data());
  Value blob = createBlobConstant(b, loc, blobName("qgemm"), packed);

  bool aSigned = !isUnsignedElement(elementTypeOf(q.getLhs()));
  auto [a2, m] = flattenRows(b, loc, operands[0]);
  QuantizedMatMulOperands o = getQuantizedMatMulOperands(q, operands);
  bool perRow =
      cast<RankedTensorType>(o.lhsScale.getType()).getNumElements() != 1;
  int32_t outType = 0;
  if (o.outScale)
    outType = isUnsignedElement(elementTypeOf(q.getOutputZeroPoint())) ? 2 : 1;
  int32_t act = llvm::StringSwitch<int32_t>(q.getActivation())
                    .Case("relu", 1)
                    .Case("gelu", 2)
                    .Case("silu", 3)
                    .Default(0);
  // qk_qgemm(a, m, a signed, a zp, a scale, per row, packed b, activation,
  //          out type, out scale, out zp, out, workspace, workspace bytes)
  Value m64 = index64(m);
  Value out = kernelCallWithWorkspace(
      "qk_qgemm",
      {a2, m64, i32Const(b, loc, aSigned), o.lhsZeroPoint, o.lhsScale,
       i32Const(b, loc, perRow), blob, i32Const(b, loc, act),
       i32Const(b, loc, outType), o.outScale ? o.outScale : nullPointer(b, loc),
       o.outZeroPoint ? o.outZeroPoint : nullPointer(b, loc)},
      {m, b.getIndexAttr(N)}, result.getElementType(), /*outPosition=*/11,
      "qk_qgemm_workspace_bytes",
      {m64, arith::ConstantIntOp::create(b, loc, K, 64),
       arith::ConstantIntOp::create(b, loc, N, 64)});
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  sizes.back() = b.getIndexAttr(N);
  Value r = reshapeTo(b, loc, out, result, sizes);
  if (!runtimeScale)
    return done(ValueRange{r});
  return done(elementwise(b, loc, result, ValueRange{r, o.rhsScale},
                          [](OpBuilder &nb, Location l, ValueRange a) {
                            return (Value)arith::MulFOp::create(nb, l, a[0],
                                                                a[1]);
                          }));
}

/// qnn.quantized_matmul of two activations (attention) with per-tensor
/// parameters, no bias, no activation and equal batch dims (static and
/// equal, or both dynamic: then equal by the model's semantics, as for the
/// float batched kernel): the batched kernel (it packs the right operand
/// at run time).
LogicalResult KernelLowering::lowerQGEMMBatched(QuantizedMatMulOp q) {
  auto result = resultType();
  QuantizedMatMulOperands o = getQuantizedMatMulOperands(q, operands);
  auto isScalar = [](Value v) {
    return !v || cast<RankedTensorType>(v.getType()).getNumElements() == 1;
  };
  auto lt = cast<RankedTensorType>(operands[0].getType());
  auto rt = cast<RankedTensorType>(operands[1].getType());
  bool sameBatch = lt.getRank() >= 2 && lt.getRank() == rt.getRank();
  for (int64_t i = 0; sameBatch && i + 2 < lt.getRank(); ++i)
    sameBatch = lt.getDimSize(i) == rt.getDimSize(i) &&
                (lt.isDynamicDim(i) || lt.getDimSize(i) >= 1);
  if (!sameBatch || o.bias || q.getActivation() != "none" ||
      !isScalar(o.lhsZeroPoint) || !isScalar(o.rhsZeroPoint) ||
      !isScalar(o.lhsScale) || !isScalar(o.rhsScale) || !isScalar(o.outScale) ||
      !isScalar(o.outZeroPoint))
    return b.notifyMatchFailure(q, "not a per-tensor batched matmul");
  bool lU = isUnsignedElement(elementTypeOf(q.getLhs()));
  bool rU = isUnsignedElement(elementTypeOf(q.getRhs()));
  SmallVector<OpFoldResult> ls = mixedSizes(b, loc, operands[0]);
  SmallVector<OpFoldResult> rs = mixedSizes(b, loc, operands[1]);
  OpFoldResult batch = b.getIndexAttr(1);
  for (int64_t i = 0; i + 2 < lt.getRank(); ++i)
    batch = mul(batch, ls[i]);
  OpFoldResult m = ls[ls.size() - 2], k = ls.back(), n = rs.back();
  SmallVector<OpFoldResult> l3{batch, m, k}, r3{batch, k, n}, o3{batch, m, n};
  Value a3 =
      reshapeTo(b, loc, operands[0], tensorTypeOf(l3, lt.getElementType()), l3);
  Value b3 =
      reshapeTo(b, loc, operands[1], tensorTypeOf(r3, rt.getElementType()), r3);
  Value bZp = o.rhsZeroPoint;
  if (!bZp)
    bZp = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, rt.getElementType()),
                               b.getZeroAttr(rt.getElementType())));
  int32_t outType = 0;
  if (o.outScale)
    outType = isUnsignedElement(elementTypeOf(q.getOutputZeroPoint())) ? 2 : 1;
  // qk_qgemm_batched(a, b, out, batch, m, k, n, a signed, a zp, a scale,
  //                  b signed, b zp, b scale, out type, out scale, out zp,
  //                  workspace, workspace bytes)
  Value batch64 = index64(batch), m64 = index64(m), k64 = index64(k),
        n64 = index64(n);
  Value out = kernelCallWithWorkspace(
      "qk_qgemm_batched",
      {a3, b3, batch64, m64, k64, n64, i32Const(b, loc, lU ? 0 : 1),
       o.lhsZeroPoint, o.lhsScale, i32Const(b, loc, rU ? 0 : 1), bZp,
       o.rhsScale, i32Const(b, loc, outType),
       o.outScale ? o.outScale : nullPointer(b, loc),
       o.outZeroPoint ? o.outZeroPoint : nullPointer(b, loc)},
      o3, result.getElementType(), /*outPosition=*/2,
      "qk_qgemm_batched_workspace_bytes", {batch64, m64, k64, n64});
  SmallVector<OpFoldResult> sizes(ls.begin(), ls.end() - 1);
  sizes.push_back(n);
  return done(ValueRange{reshapeTo(b, loc, out, result, sizes)});
}

template <typename OpT, auto Method>
using KernelPattern = LowerOpPattern<OpT, KernelLowering, Method>;

} // namespace

void quantopt::populateQNNMatMulToKernelCallPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<KernelPattern<MatMulOp, &KernelLowering::lowerSGEMMWithBias>>(
      converter, ctx, /*benefit=*/4);
  patterns.add<KernelPattern<MatMulOp, &KernelLowering::lowerSGEMM>,
               KernelPattern<QuantizedMatMulOp, &KernelLowering::lowerQGEMM>>(
      converter, ctx, /*benefit=*/3);
  patterns
      .add<KernelPattern<MatMulOp, &KernelLowering::lowerSGEMMBatched>,
           KernelPattern<QuantizedMatMulOp, &KernelLowering::lowerQGEMMBatched>,
           KernelPattern<WeightOnlyMatMulOp, &KernelLowering::lowerWeightOnly>>(
          converter, ctx, /*benefit=*/2);
}
