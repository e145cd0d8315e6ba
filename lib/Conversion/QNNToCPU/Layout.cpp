//===- Layout.cpp - qnn shape and data movement ops to tensor/linalg ------===//
//
// Part of the QuantOpt project.
//
// Shape, reshape, squeeze, unsqueeze, transpose, concat, split, slice,
// gather and expand: tensor.reshape, linalg.transpose, slices or gathers
// (tensor.extract inside a linalg.generic).
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace {

struct LayoutLowering : OpLowering {
  using OpLowering::OpLowering;
  /// Out-of-range run-time gather indices call qk_report_error.
  bool reportErrors = false;

  LogicalResult lowerShape(ShapeOp s);
  LogicalResult lowerReshapeLike(ArrayRef<int64_t> target, bool allowzero,
                                 Value shape = Value());
  LogicalResult lowerReshape(ReshapeOp r);
  LogicalResult lowerSqueezeLike(Operation *);
  LogicalResult lowerTranspose(TransposeOp t);
  LogicalResult lowerConcat(ConcatOp c);
  LogicalResult lowerSplit(SplitOp s);
  LogicalResult lowerSlice(SliceOp s);
  LogicalResult lowerGather(GatherOp g);
  LogicalResult lowerExpand(ExpandOp e);
};

template <typename OpT, auto Method>
using LayoutPattern = LowerOpPattern<OpT, LayoutLowering, Method>;

} // namespace

LogicalResult LayoutLowering::lowerShape(ShapeOp s) {
  auto type = resultType();
  int64_t rank = cast<RankedTensorType>(operands[0].getType()).getRank();
  int64_t start = s.getStart();
  int64_t end = s.getEnd() ? *s.getEnd() : rank;
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<Value> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(arith::IndexCastOp::create(
        b, loc, b.getI64Type(), tensor::DimOp::create(b, loc, operands[0], i)));
  if (dims.empty())
    return done(ValueRange{arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<int64_t>{}))});
  return done(ValueRange{tensor::FromElementsOp::create(b, loc, type, dims)});
}

/// Reshape, squeeze and unsqueeze: the target sizes come from the result
/// type where static, otherwise from `target` (constant) or `shape` (the
/// run-time shape tensor), with ONNX semantics: 0 copies the input dim
/// (unless allowzero), -1 is inferred from the element count.
LogicalResult LayoutLowering::lowerReshapeLike(ArrayRef<int64_t> target,
                                               bool allowzero, Value shape) {
  Value x = operands[0];
  auto type = resultType();
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  int64_t rank = type.getRank();
  if (type.hasStaticShape()) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(b.getIndexAttr(d));
    return done(ValueRange{reshapeTo(b, loc, x, type, sizes)});
  }
  if ((int64_t)target.size() != rank && !shape)
    return fail("cannot determine the dynamic target dims of the reshape");
  Type idx = b.getIndexType();
  auto cst = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  // Requested sizes, with 0 resolved; -1 stays -1.
  SmallVector<Value> req;
  for (int64_t i = 0; i < rank; ++i) {
    if (!type.isDynamicDim(i)) {
      req.push_back(cst(type.getDimSize(i)));
      continue;
    }
    Value v;
    if ((int64_t)target.size() == rank) {
      v = cst(target[i]);
    } else {
      Value e = tensor::ExtractOp::create(b, loc, shape, ValueRange{cst(i)});
      v = arith::IndexCastOp::create(b, loc, idx, e);
    }
    if (!allowzero && i < (int64_t)in.size()) {
      Value isZero =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, cst(0));
      v = arith::SelectOp::create(b, loc, isZero, indexValue(b, loc, in[i]), v);
    }
    req.push_back(v);
  }
  Value total = cst(1);
  for (OpFoldResult s : in)
    total = arith::MulIOp::create(b, loc, total, indexValue(b, loc, s));
  Value known = cst(1);
  for (Value v : req) {
    Value isInf =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, cst(-1));
    known = arith::MulIOp::create(
        b, loc, known, arith::SelectOp::create(b, loc, isInf, cst(1), v));
  }
  Value inferred = arith::DivSIOp::create(
      b, loc, total, arith::MaxSIOp::create(b, loc, known, cst(1)));
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!type.isDynamicDim(i)) {
      sizes.push_back(b.getIndexAttr(type.getDimSize(i)));
      continue;
    }
    Value isInf = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        req[i], cst(-1));
    sizes.push_back(
        (Value)arith::SelectOp::create(b, loc, isInf, inferred, req[i]));
  }
  return done(ValueRange{reshapeTo(b, loc, x, type, sizes)});
}

LogicalResult LayoutLowering::lowerTranspose(TransposeOp t) {
  Value x = operands[0];
  // The identity permutation is the operand itself (as canonicalization
  // would make it anyway; copyAliasingResults must see that).
  if (llvm::equal(t.getPerm(), llvm::seq<int64_t>(0, t.getPerm().size())))
    return done(ValueRange{x});
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  SmallVector<OpFoldResult> out;
  for (int64_t p : t.getPerm())
    out.push_back(in[p]);
  Value init = emptyTensor(b, loc, out, resultType().getElementType());
  return done(
      ValueRange{linalg::TransposeOp::create(b, loc, x, init, t.getPerm())
                     .getResult()[0]});
}

// Concat and Split are gathers (a linalg.generic that reads its operands
// with tensor.extract), not insert_slice/extract_slice: a slice of a buffer
// is a strided memref, and copying one (into a result, or out of it for a
// kernel call or a returned value) lowers to a call of MLIR's runtime helper
// memrefCopy, which bundles do not link.
LogicalResult LayoutLowering::lowerConcat(ConcatOp c) {
  auto type = resultType();
  std::optional<int64_t> axis = normalizeAxis(c.getAxis(), type.getRank());
  if (!axis)
    return fail("axis out of range");
  AffineExpr s0, s1;
  bindSymbols(b.getContext(), s0, s1);
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  // Pieces that are statically empty along the axis contribute nothing.
  SmallVector<Value> pieces;
  SmallVector<Value> offsets, lasts; // per piece: start, size - 1
  OpFoldResult total = b.getIndexAttr(0);
  for (Value v : operands) {
    OpFoldResult n = tensor::getMixedSize(b, loc, v, *axis);
    if (getConstantIntValue(n) == std::optional<int64_t>(0))
      continue;
    pieces.push_back(v);
    offsets.push_back(indexValue(b, loc, total));
    lasts.push_back(indexValue(
        b, loc, affine::makeComposedFoldedAffineApply(b, loc, s0 - 1, {n})));
    total = affine::makeComposedFoldedAffineApply(b, loc, s0 + s1, {total, n});
  }
  sizes[*axis] = total;
  int64_t ax = *axis;
  if (pieces.empty())
    return done(ValueRange{tensor::CastOp::create(
        b, loc, type, emptyTensor(b, loc, sizes, type.getElementType()))});
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  Value result = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) {
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        // Every piece is read at an index clamped into it; the last piece
        // whose start is <= the axis index is selected.
        Value r;
        for (size_t j = 0; j < pieces.size(); ++j) {
          SmallVector<Value> at(idx);
          Value local = arith::SubIOp::create(nb, l, idx[ax], offsets[j]);
          local = arith::MaxSIOp::create(nb, l, local, zero);
          at[ax] = arith::MinSIOp::create(nb, l, local, lasts[j]);
          Value v = tensor::ExtractOp::create(nb, l, pieces[j], at);
          if (!r) {
            r = v;
            continue;
          }
          Value inside = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                               idx[ax], offsets[j]);
          r = arith::SelectOp::create(nb, l, inside, v, r);
        }
        return r;
      });

  if (result.getType() != type)
    result = tensor::CastOp::create(b, loc, type, result);
  return done(ValueRange{result});
}

LogicalResult LayoutLowering::lowerSplit(SplitOp s) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  std::optional<int64_t> axis = normalizeAxis(s.getAxis(), inType.getRank());
  if (!axis)
    return fail("axis out of range");
  int64_t ax = *axis;
  SmallVector<Value> results;
  int64_t offset = 0;
  for (auto [i, size] : llvm::enumerate(s.getSizes())) {
    SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
    sizes[ax] = b.getIndexAttr(size);
    Value init = emptyTensor(b, loc, sizes, inType.getElementType());
    int64_t start = offset;
    Value v = indexGeneric(
        b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
          SmallVector<Value> idx(at);
          idx[ax] = arith::AddIOp::create(
              nb, l, idx[ax], arith::ConstantIndexOp::create(nb, l, start));
          return (Value)tensor::ExtractOp::create(nb, l, x, idx);
        });
    if (v.getType() != resultType(i))
      v = tensor::CastOp::create(b, loc, resultType(i), v);
    results.push_back(v);
    offset += size;
  }
  return done(results);
}

/// ONNX Slice with constant starts/ends/axes/steps, as a gather: every
/// output element reads input[start + i * step] along the sliced axes.
LogicalResult LayoutLowering::lowerSlice(SliceOp s) {
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  int64_t rank = inType.getRank();
  // Starts and ends may be run-time values (x[:, :seq] with seq from Shape);
  // axes and steps must be constants (the step's sign decides the clamps).
  auto starts = getConstantIntValues(s.getStarts());
  auto ends = getConstantIntValues(s.getEnds());
  std::optional<SmallVector<int64_t>> axes, steps;
  if (s.getAxes())
    axes = getConstantIntValues(s.getAxes());
  if (s.getSteps())
    steps = getConstantIntValues(s.getSteps());
  auto startsType = cast<RankedTensorType>(operands[1].getType());
  if ((s.getAxes() && !axes) || (s.getSteps() && !steps) ||
      startsType.getRank() != 1 || startsType.isDynamicDim(0))
    return fail("needs constant axes and steps, and starts/ends of a static "
                "length, on the CPU");
  int64_t numSliced = startsType.getDimSize(0);
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  SmallVector<Value> startV(rank), stepV(rank);
  SmallVector<OpFoldResult> sizes(in);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < rank; ++i) {
    startV[i] = zero;
    stepV[i] = one;
  }
  // Entry j of a constant or run-time starts/ends tensor, as an index.
  auto entry = [&](const std::optional<SmallVector<int64_t>> &cst, Value t,
                   size_t j) -> Value {
    if (cst)
      return arith::ConstantIndexOp::create(
          b, loc,
          std::clamp<int64_t>((*cst)[j], -(int64_t(1) << 40),
                              int64_t(1) << 40));
    Value e = tensor::ExtractOp::create(
        b, loc, t, ValueRange{arith::ConstantIndexOp::create(b, loc, j)});
    // int64 sentinels such as INT64_MAX stay far outside any dim: clamp
    // before the index cast so that v + dim cannot overflow.
    Type et = e.getType();
    if (et.getIntOrFloatBitWidth() == 64) {
      Value lim = scalarConstant(b, loc, et, double(int64_t(1) << 40));
      Value nlim = scalarConstant(b, loc, et, -double(int64_t(1) << 40));
      e = arith::MinSIOp::create(b, loc,
                                 arith::MaxSIOp::create(b, loc, e, nlim), lim);
    }
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), e);
  };
  for (size_t j = 0; j < (size_t)numSliced; ++j) {
    int64_t a = axes ? (*axes)[j] : j;
    std::optional<int64_t> ax = normalizeAxis(a, rank);
    if (!ax)
      return fail("axis out of range");
    int64_t step = steps ? (*steps)[j] : 1;
    if (step == 0)
      return fail("step 0");
    Value dim = indexValue(b, loc, in[*ax]);
    auto clampIdx = [&](Value c, bool isEnd) -> Value {
      // v < 0: v + dim; clamp to [0, dim] (step > 0), or for step < 0 the
      // start to [0, dim - 1] and the end to [-1, dim - 1] (ONNX Slice).
      Value neg =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, c, zero);
      Value r = arith::SelectOp::create(
          b, loc, neg, arith::AddIOp::create(b, loc, c, dim), c);
      Value lo = step > 0 || !isEnd
                     ? zero
                     : (Value)arith::ConstantIndexOp::create(b, loc, -1);
      Value hi =
          step > 0 ? dim : (Value)arith::SubIOp::create(b, loc, dim, one);
      r = arith::MaxSIOp::create(b, loc, r, lo);
      return arith::MinSIOp::create(b, loc, r, hi);
    };
    Value st = clampIdx(entry(starts, operands[1], j), false);
    Value en = clampIdx(entry(ends, operands[2], j), true);
    // size = max(0, ceil((end - start) / step))
    Value stepC = arith::ConstantIndexOp::create(b, loc, step);
    Value diff = arith::SubIOp::create(b, loc, en, st);
    Value adj =
        arith::ConstantIndexOp::create(b, loc, step > 0 ? step - 1 : step + 1);
    Value n = arith::DivSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, diff, adj), stepC);
    n = arith::MaxSIOp::create(b, loc, n, zero);
    sizes[*ax] = getAsOpFoldResult(n);
    startV[*ax] = st;
    stepV[*ax] = stepC;
  }
  auto type = resultType();
  for (int64_t i = 0; i < rank; ++i)
    if (!type.isDynamicDim(i))
      sizes[i] = b.getIndexAttr(type.getDimSize(i));
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> idx;
        for (int64_t i = 0; i < rank; ++i)
          idx.push_back(arith::AddIOp::create(
              nb, l, startV[i], arith::MulIOp::create(nb, l, at[i], stepV[i])));
        return (Value)tensor::ExtractOp::create(nb, l, x, idx);
      });
  if (r.getType() != type)
    r = tensor::CastOp::create(b, loc, type, r);
  return done(ValueRange{r});
}

LogicalResult LayoutLowering::lowerGather(GatherOp g) {
  Value data = operands[0], indices = operands[1];
  auto dt = cast<RankedTensorType>(data.getType());
  auto it = cast<RankedTensorType>(indices.getType());
  std::optional<int64_t> axis = normalizeAxis(g.getAxis(), dt.getRank());
  if (!axis)
    return fail("axis out of range");
  auto type = resultType();
  int64_t rank = type.getRank(), q = it.getRank();
  SmallVector<OpFoldResult> ds = mixedSizes(b, loc, data);
  SmallVector<OpFoldResult> is = mixedSizes(b, loc, indices);
  SmallVector<OpFoldResult> sizes(ds.begin(), ds.begin() + *axis);
  sizes.append(is.begin(), is.end());
  sizes.append(ds.begin() + *axis + 1, ds.end());
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < q; ++i)
    idxExprs.push_back(b.getAffineDimExpr(*axis + i));
  AffineMap idxMap = AffineMap::get(rank, 0, idxExprs, b.getContext());
  Value axisDim = indexValue(b, loc, ds[*axis]);
  int64_t ax = *axis;
  // Indices only known at run time are bounds-checked: an index outside
  // [-dim, dim) reads nothing (the element is 0) and, on the CPU, is
  // reported through qk_report_error, which the runtime turns into a failed
  // run naming the node. Constant indices were checked by the verifier.
  IndexErrorReport report;
  if (reportErrors)
    report = IndexErrorReport::create(*this, "qk_gather_node",
                                      ("Gather on axis " + Twine(ax)).str());
  Type elementType = type.getElementType();
  Value r =
      generic(b, loc, sizes, elementType, ValueRange{indices}, {idxMap},
              [&](OpBuilder &nb, Location l, ValueRange a) {
                Value raw =
                    arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
                auto [i, inRange] = normalizeIndex(nb, l, raw, axisDim);
                // linalg.index must sit directly in the generic's body.
                SmallVector<Value> coords;
                for (int64_t d = 0; d < ax; ++d)
                  coords.push_back(linalg::IndexOp::create(nb, l, d));
                coords.push_back(i);
                for (int64_t d = ax + 1; d < dt.getRank(); ++d)
                  coords.push_back(linalg::IndexOp::create(nb, l, d - 1 + q));
                return guardedRead(nb, l, report, data, coords, inRange, raw,
                                   axisDim, elementType);
              });
  if (r.getType() != type)
    r = tensor::CastOp::create(b, loc, type, r);
  return done(ValueRange{r});
}

LogicalResult LayoutLowering::lowerExpand(ExpandOp e) {
  auto type = resultType();
  Value x = operands[0];
  auto xt = cast<RankedTensorType>(x.getType());
  std::optional<SmallVector<int64_t>> shape =
      getConstantIntValues(e.getShape());
  SmallVector<OpFoldResult> sizes;
  int64_t rank = type.getRank();
  for (int64_t r = 0; r < rank; ++r) {
    if (!type.isDynamicDim(r)) {
      sizes.push_back(b.getIndexAttr(type.getDimSize(r)));
      continue;
    }
    int64_t i = r - (rank - xt.getRank());
    if (!shape) {
      // A run-time shape: the dim is the shape's entry where the input's
      // is 1 (or absent), else the larger of the two (one of them is 1
      // or they are equal: ONNX's bidirectional broadcast).
      auto st = cast<RankedTensorType>(operands[1].getType());
      int64_t len = st.isDynamicDim(0) ? rank : st.getDimSize(0);
      int64_t k = r - (rank - len);
      Value dim;
      if (k >= 0) {
        Value entry = tensor::ExtractOp::create(
            b, loc, operands[1],
            ValueRange{arith::ConstantIndexOp::create(b, loc, k)});
        dim = arith::IndexCastOp::create(b, loc, b.getIndexType(), entry);
      }
      if (i >= 0 && xt.getDimSize(i) != 1) {
        Value xd = tensor::DimOp::create(b, loc, x, i);
        dim = dim ? (Value)arith::MaxSIOp::create(b, loc, dim, xd) : xd;
      }
      if (!dim)
        return fail("cannot determine a dynamic dim of the expand");
      sizes.push_back(dim);
      continue;
    }
    int64_t s = (*shape)[r - (rank - (int64_t)shape->size())];
    if (s > 1)
      sizes.push_back(b.getIndexAttr(s));
    else if (i >= 0)
      sizes.push_back(tensor::getMixedSize(b, loc, x, i));
    else
      return fail("cannot determine a dynamic dim of the expand");
  }
  return done(ValueRange{
      generic(b, loc, sizes, type.getElementType(), ValueRange{x},
              {broadcastMap(b, xt, type.getShape())},
              [](OpBuilder &, Location, ValueRange a) { return a[0]; })});
}

LogicalResult LayoutLowering::lowerReshape(ReshapeOp r) {
  std::optional<SmallVector<int64_t>> target =
      getConstantIntValues(r.getShape());
  return lowerReshapeLike(target ? ArrayRef<int64_t>(*target)
                                 : ArrayRef<int64_t>{},
                          r.getAllowzero(), operands[1]);
}

/// Squeeze and unsqueeze: the kept dims in order, the input's non-unit dims
/// map to the result's non-unit dims.
LogicalResult LayoutLowering::lowerSqueezeLike(Operation *) {
  auto rt = resultType();
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, operands[0]);
  auto it = cast<RankedTensorType>(operands[0].getType());
  SmallVector<OpFoldResult> kept;
  for (int64_t i = 0; i < it.getRank(); ++i)
    if (it.getDimSize(i) != 1)
      kept.push_back(in[i]);
  SmallVector<OpFoldResult> sizes;
  size_t k = 0;
  for (int64_t d : rt.getShape()) {
    if (d == 1) {
      sizes.push_back(b.getIndexAttr(1));
      continue;
    }
    if (k >= kept.size())
      return fail("cannot map the dims of the reshape");
    sizes.push_back(kept[k++]);
  }
  return done(ValueRange{reshapeTo(b, loc, operands[0], rt, sizes)});
}

void quantopt::populateQNNToCPULayoutPatterns(const TypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              bool reportErrors) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LayoutPattern<ShapeOp, &LayoutLowering::lowerShape>,
               LayoutPattern<ReshapeOp, &LayoutLowering::lowerReshape>,
               LayoutPattern<SqueezeOp, &LayoutLowering::lowerSqueezeLike>,
               LayoutPattern<UnsqueezeOp, &LayoutLowering::lowerSqueezeLike>,
               LayoutPattern<TransposeOp, &LayoutLowering::lowerTranspose>,
               LayoutPattern<ConcatOp, &LayoutLowering::lowerConcat>,
               LayoutPattern<SplitOp, &LayoutLowering::lowerSplit>,
               LayoutPattern<SliceOp, &LayoutLowering::lowerSlice>,
               LayoutPattern<ExpandOp, &LayoutLowering::lowerExpand>>(converter,
                                                                      ctx);
  patterns.add<ReportingOpPattern<GatherOp, LayoutLowering,
                                  &LayoutLowering::lowerGather>>(converter, ctx,
                                                                 reportErrors);
}
