//===- IndexOps.cpp - qnn shape-building and indexed ops to linalg/scf ----===//
//
// Part of the QuantOpt project.
//
// constant_of_shape, range, size, eye_like, trilu, cumsum/cumprod, tile,
// pad, one_hot, gather_elements, gather_nd (index generics: every result
// element computed from its indices with tensor.extract) and scatter_nd,
// scatter_elements (scf.for nests over the updates that insert into a copy
// of the data, in order, so that duplicate indices combine as ONNX says).
// Run-time indices outside [-dim, dim) are reported through the runtime's
// qk_report_error as Gather's are (Layout.cpp); the element reads 0 or the
// update is dropped.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::cpu;
using namespace quantopt::qnn;

namespace quantopt {
// Reductions.cpp: the reductions, arg reductions, log_softmax and hardmax.
void populateQNNToCPUReductionPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns);
} // namespace quantopt

namespace {

struct IndexLowering : OpLowering {
  using OpLowering::OpLowering;
  bool reportErrors = false;

  LogicalResult lowerConstantOfShape(ConstantOfShapeOp c);
  LogicalResult lowerRange(RangeOp r);
  LogicalResult lowerSize(SizeOp s);
  LogicalResult lowerEyeLike(EyeLikeOp e);
  LogicalResult lowerTrilu(TriluOp t);
  LogicalResult lowerScan(Operation *op);
  LogicalResult lowerTile(TileOp t);
  LogicalResult lowerPad(PadOp p);
  LogicalResult lowerOneHot(OneHotOp o);
  LogicalResult lowerGatherElements(GatherElementsOp g);
  LogicalResult lowerGatherND(GatherNDOp g);
  LogicalResult lowerScatter(Operation *op);

  /// Result sizes: static from the result type, else `dynamic(i)`.
  SmallVector<OpFoldResult>
  resultSizes(function_ref<OpFoldResult(int64_t)> dynamic) {
    SmallVector<OpFoldResult> sizes;
    auto type = resultType();
    for (int64_t i = 0; i < type.getRank(); ++i)
      sizes.push_back(type.isDynamicDim(i)
                          ? dynamic(i)
                          : b.getIndexAttr(type.getDimSize(i)));
    return sizes;
  }
  LogicalResult finish(Value v) {
    if (v.getType() != resultType())
      v = tensor::CastOp::create(b, loc, resultType(), v);
    return done(ValueRange{v});
  }

  /// Out-of-range reporting (where enabled): a qk_report_error call
  /// naming the node.
  IndexErrorReport report;
  void prepareReport(StringRef opName) {
    if (reportErrors)
      report = IndexErrorReport::create(*this, "qk_index_node", opName);
  }
};

template <typename OpT, auto Method>
using IndexPattern = ReportingOpPattern<OpT, IndexLowering, Method>;

} // namespace

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static Value cIdx(OpBuilder &b, Location l, int64_t v) {
  return arith::ConstantIndexOp::create(b, l, v);
}

/// The single element of a scalar (0-D or one-element) tensor.
static Value scalarOf(OpBuilder &b, Location l, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<Value> zeros(type.getRank(), cIdx(b, l, 0));
  return tensor::ExtractOp::create(b, l, t, zeros);
}

/// An integer or float scalar as an index (floats truncate, unsigned
/// integers zero-extend).
static Value toIndex(OpBuilder &b, Location l, Value v, bool isUnsigned) {
  Type t = v.getType();
  if (isa<FloatType>(t))
    v = arith::FPToSIOp::create(b, l, b.getI64Type(), v);
  else if (t.getIntOrFloatBitWidth() < 64)
    v = isUnsigned ? (Value)arith::ExtUIOp::create(b, l, b.getI64Type(), v)
                   : (Value)arith::ExtSIOp::create(b, l, b.getI64Type(), v);
  return arith::IndexCastOp::create(b, l, b.getIndexType(), v);
}

//===----------------------------------------------------------------------===//
// Shape building
//===----------------------------------------------------------------------===//

LogicalResult IndexLowering::lowerConstantOfShape(ConstantOfShapeOp c) {
  auto value = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!value)
    return fail("needs a dense value attribute");
  Type et = resultType().getElementType();
  Attribute element = value.getValues<Attribute>()[0];
  TypedAttr scalar;
  if (auto f = dyn_cast<FloatAttr>(element))
    scalar = FloatAttr::get(et, f.getValue());
  else if (auto i = dyn_cast<IntegerAttr>(element))
    scalar = IntegerAttr::get(
        et, i.getValue().zextOrTrunc(et.getIntOrFloatBitWidth()));
  else if (auto bo = dyn_cast<BoolAttr>(element))
    scalar = IntegerAttr::get(et, bo.getValue() ? 1 : 0);
  if (!scalar)
    return fail("unsupported value element type");
  Value shape = operands[0];
  SmallVector<OpFoldResult> sizes = resultSizes([&](int64_t i) {
    Value e =
        tensor::ExtractOp::create(b, loc, shape, ValueRange{cIdx(b, loc, i)});
    return (OpFoldResult)arith::IndexCastOp::create(b, loc, b.getIndexType(), e)
        .getResult();
  });
  Value fill = arith::ConstantOp::create(b, loc, scalar);
  Value r = linalg::FillOp::create(b, loc, ValueRange{fill},
                                   ValueRange{emptyTensor(b, loc, sizes, et)})
                .getResult(0);
  return finish(r);
}

LogicalResult IndexLowering::lowerRange(RangeOp) {
  Type et = resultType().getElementType();
  Value start = scalarOf(b, loc, operands[0]);
  Value limit = scalarOf(b, loc, operands[1]);
  Value delta = scalarOf(b, loc, operands[2]);
  // Count = max(ceil((limit - start) / delta), 0), in f64.
  Type f64 = b.getF64Type();
  auto asF64 = [&](Value v) -> Value {
    if (isa<FloatType>(et))
      return et == f64 ? v : (Value)arith::ExtFOp::create(b, loc, f64, v);
    return arith::SIToFPOp::create(b, loc, f64, v);
  };
  SmallVector<OpFoldResult> sizes = resultSizes([&](int64_t) {
    Value q = arith::DivFOp::create(
        b, loc, arith::SubFOp::create(b, loc, asF64(limit), asF64(start)),
        asF64(delta));
    Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(),
                                      math::CeilOp::create(b, loc, q));
    n = arith::MaxSIOp::create(
        b, loc, n, arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0)));
    return (OpFoldResult)arith::IndexCastOp::create(b, loc, b.getIndexType(), n)
        .getResult();
  });
  Value init = emptyTensor(b, loc, sizes, et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value i64 = arith::IndexCastOp::create(nb, l, nb.getI64Type(), at[0]);
        Value i;
        if (isa<FloatType>(et))
          i = arith::SIToFPOp::create(nb, l, et, i64);
        else
          i = convertScalar(nb, l, i64, et, false, false);
        return addV(nb, l, start, mulV(nb, l, i, delta));
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerSize(SizeOp) {
  Value n = cIdx(b, loc, 1);
  for (OpFoldResult s : mixedSizes(b, loc, operands[0]))
    n = arith::MulIOp::create(b, loc, n, indexValue(b, loc, s));
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  return done(ValueRange{
      tensor::FromElementsOp::create(b, loc, resultType(), ValueRange{i64})});
}

LogicalResult IndexLowering::lowerEyeLike(EyeLikeOp e) {
  Type et = resultType().getElementType();
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, operands[0]);
  int64_t k = e.getK();
  Value init = emptyTensor(b, loc, sizes, et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value d = arith::SubIOp::create(nb, l, at[1], at[0]);
        Value on = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, d,
                                         cIdx(nb, l, k));
        return (Value)arith::SelectOp::create(
            nb, l, on, scalarConstant(nb, l, et, 1.0), zeroConstant(nb, l, et));
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerTrilu(TriluOp t) {
  Value x = operands[0];
  int64_t rank = resultType().getRank();
  Value k = cIdx(b, loc, 0);
  if (t.getK())
    k = toIndex(b, loc, scalarOf(b, loc, operands[1]), false);
  bool upper = t.getUpper();
  Type et = resultType().getElementType();
  Value init = emptyTensor(b, loc, mixedSizes(b, loc, x), et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value d = arith::SubIOp::create(nb, l, at[rank - 1], at[rank - 2]);
        Value keep = arith::CmpIOp::create(nb, l,
                                           upper ? arith::CmpIPredicate::sge
                                                 : arith::CmpIPredicate::sle,
                                           d, k);
        Value v = tensor::ExtractOp::create(nb, l, x, at);
        return (Value)arith::SelectOp::create(nb, l, keep, v,
                                              zeroConstant(nb, l, et));
      });
  return finish(r);
}

/// Cumulative sum/product: every element loops over its prefix (or suffix)
/// along the axis. Quadratic in the axis length, which masks and positions
/// (the exporters' use) keep small.
LogicalResult IndexLowering::lowerScan(Operation *scanOp) {
  bool product = isa<CumProdOp>(scanOp);
  int64_t axisAttr = product ? cast<CumProdOp>(scanOp).getAxis()
                             : cast<CumSumOp>(scanOp).getAxis();
  bool exclusive = product ? cast<CumProdOp>(scanOp).getExclusive()
                           : cast<CumSumOp>(scanOp).getExclusive();
  bool reverse = product ? cast<CumProdOp>(scanOp).getReverse()
                         : cast<CumSumOp>(scanOp).getReverse();
  Value x = operands[0];
  auto type = resultType();
  int64_t axis = *normalizeAxis(axisAttr, type.getRank());
  Type et = type.getElementType();
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, x);
  Value n = indexValue(b, loc, sizes[axis]);
  Value init = emptyTensor(b, loc, sizes, et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value i = at[axis], one = cIdx(nb, l, 1);
        Value lo, hi;
        if (!reverse) {
          lo = cIdx(nb, l, 0);
          hi = exclusive ? i : (Value)arith::AddIOp::create(nb, l, i, one);
        } else {
          lo = exclusive ? (Value)arith::AddIOp::create(nb, l, i, one) : i;
          hi = n;
        }
        Value start = scalarConstant(nb, l, et, product ? 1.0 : 0.0);
        auto loop = scf::ForOp::create(
            nb, l, lo, hi, one, ValueRange{start},
            [&](OpBuilder &fb, Location fl, Value j, ValueRange acc) {
              SmallVector<Value> idx(at);
              idx[axis] = j;
              Value v = tensor::ExtractOp::create(fb, fl, x, idx);
              Value next =
                  product ? mulV(fb, fl, acc[0], v) : addV(fb, fl, acc[0], v);
              scf::YieldOp::create(fb, fl, ValueRange{next});
            });
        return loop.getResult(0);
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerTile(TileOp t) {
  Value x = operands[0];
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  ArrayRef<int64_t> repeats = t.getRepeats();
  SmallVector<OpFoldResult> sizes = resultSizes([&](int64_t i) {
    return (OpFoldResult)arith::MulIOp::create(
               b, loc, indexValue(b, loc, in[i]), cIdx(b, loc, repeats[i]))
        .getResult();
  });
  Value init = emptyTensor(b, loc, sizes, resultType().getElementType());
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> idx;
        for (auto [i, a] : llvm::enumerate(at))
          idx.push_back(
              arith::RemUIOp::create(nb, l, a, indexValue(nb, l, in[i])));
        return (Value)tensor::ExtractOp::create(nb, l, x, idx);
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerPad(PadOp p) {
  Value x = operands[0];
  int64_t rank = resultType().getRank();
  ArrayRef<int64_t> pads = p.getPads();
  StringRef mode = p.getMode();
  Type et = resultType().getElementType();
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, x);
  SmallVector<OpFoldResult> sizes = resultSizes([&](int64_t i) {
    return (OpFoldResult)arith::AddIOp::create(
               b, loc, indexValue(b, loc, in[i]),
               cIdx(b, loc, pads[i] + pads[i + rank]))
        .getResult();
  });
  Value fillValue = p.getConstantValue() ? scalarOf(b, loc, operands[1])
                                         : zeroConstant(b, loc, et);
  SmallVector<Value> dims = indexValues(b, loc, in);
  Value init = emptyTensor(b, loc, sizes, et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value zero = cIdx(nb, l, 0), one = cIdx(nb, l, 1);
        Value inside = arith::ConstantOp::create(nb, l, nb.getBoolAttr(true));
        SmallVector<Value> idx;
        for (int64_t i = 0; i < rank; ++i) {
          Value dim = dims[i];
          Value last = arith::SubIOp::create(nb, l, dim, one);
          Value s = arith::SubIOp::create(nb, l, at[i], cIdx(nb, l, pads[i]));
          auto lt = [&](Value a, Value c) {
            return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, a,
                                         c);
          };
          if (mode == "reflect") {
            // One reflection each side (ONNX needs pads < dim).
            s = arith::SelectOp::create(
                nb, l, lt(s, zero), arith::SubIOp::create(nb, l, zero, s), s);
            Value twice = arith::AddIOp::create(nb, l, last, last);
            s = arith::SelectOp::create(
                nb, l, lt(last, s), arith::SubIOp::create(nb, l, twice, s), s);
          } else if (mode == "wrap") {
            Value m = arith::RemSIOp::create(nb, l, s, dim);
            s = arith::SelectOp::create(
                nb, l, lt(m, zero), arith::AddIOp::create(nb, l, m, dim), m);
          } else if (mode == "constant") {
            Value ok = arith::AndIOp::create(
                nb, l,
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, s,
                                      zero),
                lt(s, dim));
            inside = arith::AndIOp::create(nb, l, inside, ok);
          }
          // Clamp: edge mode, and a safe read for the others.
          s = arith::MaxSIOp::create(nb, l, s, zero);
          s = arith::MinSIOp::create(nb, l, s, last);
          idx.push_back(s);
        }
        Value v = tensor::ExtractOp::create(nb, l, x, idx);
        if (mode != "constant")
          return v;
        return (Value)arith::SelectOp::create(nb, l, inside, v, fillValue);
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerOneHot(OneHotOp o) {
  Value indices = operands[0], values = operands[1];
  auto type = resultType();
  int64_t rank = type.getRank();
  int64_t axis = *normalizeAxis(o.getAxis(), rank);
  bool isUnsigned = isUnsignedElement(elementTypeOf(o.getIndices()));
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, indices);
  SmallVector<OpFoldResult> sizes(in);
  sizes.insert(sizes.begin() + axis, b.getIndexAttr(o.getDepth()));
  auto valuesType = cast<RankedTensorType>(values.getType());
  SmallVector<Value> offAt(valuesType.getRank(), cIdx(b, loc, 0));
  SmallVector<Value> onAt(offAt);
  onAt.back() = cIdx(b, loc, 1);
  Value off = tensor::ExtractOp::create(b, loc, values, offAt);
  Value on = tensor::ExtractOp::create(b, loc, values, onAt);
  Value depth = cIdx(b, loc, o.getDepth());
  Value init = emptyTensor(b, loc, sizes, type.getElementType());
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> idx(at);
        idx.erase(idx.begin() + axis);
        Value raw = toIndex(
            nb, l, tensor::ExtractOp::create(nb, l, indices, idx), isUnsigned);
        auto [i, ok] = normalizeIndex(nb, l, raw, depth);
        Value hit = arith::AndIOp::create(
            nb, l, ok,
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, i,
                                  at[axis]));
        return (Value)arith::SelectOp::create(nb, l, hit, on, off);
      });
  return finish(r);
}

//===----------------------------------------------------------------------===//
// Gathers
//===----------------------------------------------------------------------===//

LogicalResult IndexLowering::lowerGatherElements(GatherElementsOp g) {
  Value data = operands[0], indices = operands[1];
  int64_t axis = *normalizeAxis(g.getAxis(), resultType().getRank());
  prepareReport(("GatherElements on axis " + Twine(axis)).str());
  Type et = resultType().getElementType();
  Value dim = indexValue(b, loc, mixedSizes(b, loc, data)[axis]);
  Value init = emptyTensor(b, loc, mixedSizes(b, loc, indices), et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        Value raw = toIndex(
            nb, l, tensor::ExtractOp::create(nb, l, indices, at), false);
        auto [i, ok] = normalizeIndex(nb, l, raw, dim);
        SmallVector<Value> coords(at);
        coords[axis] = i;
        return guardedRead(nb, l, report, data, coords, ok, raw, dim, et);
      });
  return finish(r);
}

LogicalResult IndexLowering::lowerGatherND(GatherNDOp g) {
  Value data = operands[0], indices = operands[1];
  auto it = cast<RankedTensorType>(indices.getType());
  int64_t q = it.getRank(), last = it.getShape().back();
  int64_t bd = g.getBatchDims();
  prepareReport("GatherND");
  Type et = resultType().getElementType();
  SmallVector<OpFoldResult> ds = mixedSizes(b, loc, data);
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, indices);
  sizes.pop_back();
  sizes.append(ds.begin() + bd + last, ds.end());
  SmallVector<Value> dims = indexValues(b, loc, ds);
  Value init = emptyTensor(b, loc, sizes, et);
  Value r = indexGeneric(
      b, loc, init, [&](OpBuilder &nb, Location l, ArrayRef<Value> at) {
        SmallVector<Value> coords(at.begin(), at.begin() + bd);
        SmallVector<Value> tuple(at.begin(), at.begin() + q - 1);
        tuple.push_back(Value());
        Value ok = arith::ConstantOp::create(nb, l, nb.getBoolAttr(true));
        Value badRaw = cIdx(nb, l, 0), badDim = cIdx(nb, l, 0);
        for (int64_t j = 0; j < last; ++j) {
          tuple.back() = cIdx(nb, l, j);
          Value raw = toIndex(
              nb, l, tensor::ExtractOp::create(nb, l, indices, tuple), false);
          Value dim = dims[bd + j];
          auto [i, okJ] = normalizeIndex(nb, l, raw, dim);
          coords.push_back(i);
          badRaw = arith::SelectOp::create(nb, l, okJ, badRaw, raw);
          badDim = arith::SelectOp::create(nb, l, okJ, badDim, dim);
          ok = arith::AndIOp::create(nb, l, ok, okJ);
        }
        coords.append(at.begin() + q - 1, at.end());
        return guardedRead(nb, l, report, data, coords, ok, badRaw, badDim, et);
      });
  return finish(r);
}

//===----------------------------------------------------------------------===//
// Scatters
//===----------------------------------------------------------------------===//

/// Nested scf.for loops over `sizes` carrying one tensor; `body` maps the
/// induction variables and the carried tensor to the next tensor.
static Value loopNest(
    OpBuilder &b, Location l, ArrayRef<Value> sizes, Value carried,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>, Value)> body) {
  SmallVector<Value> ivs;
  std::function<Value(OpBuilder &, size_t, Value)> level =
      [&](OpBuilder &nb, size_t d, Value t) -> Value {
    if (d == sizes.size())
      return body(nb, l, ivs, t);
    auto loop = scf::ForOp::create(
        nb, l, cIdx(nb, l, 0), sizes[d], cIdx(nb, l, 1), ValueRange{t},
        [&](OpBuilder &fb, Location fl, Value iv, ValueRange args) {
          ivs.push_back(iv);
          Value next = level(fb, d + 1, args[0]);
          ivs.pop_back();
          scf::YieldOp::create(fb, fl, ValueRange{next});
        });
    return loop.getResult(0);
  };
  return level(b, 0, carried);
}

static Value combine(OpBuilder &b, Location l, StringRef reduction, Value old,
                     Value update, bool isUnsigned) {
  if (reduction == "add")
    return addV(b, l, old, update);
  if (reduction == "mul")
    return mulV(b, l, old, update);
  if (reduction == "max")
    return maxV(b, l, old, update, isUnsigned);
  if (reduction == "min")
    return minV(b, l, old, update, isUnsigned);
  return update;
}

LogicalResult IndexLowering::lowerScatter(Operation *scatterOp) {
  auto nd = dyn_cast<ScatterNDOp>(scatterOp);
  auto el = dyn_cast<ScatterElementsOp>(scatterOp);
  Value data = operands[0], indices = operands[1], updates = operands[2];
  StringRef reduction = nd ? nd.getReduction() : el.getReduction();
  bool isUnsigned = isUnsignedElement(elementTypeOf(scatterOp->getOperand(0)));
  auto it = cast<RankedTensorType>(indices.getType());
  int64_t q = it.getRank();
  int64_t k = nd ? it.getShape().back() : 0;
  int64_t axis = el ? *normalizeAxis(el.getAxis(), it.getRank()) : 0;
  prepareReport(nd ? "ScatterND"
                   : ("ScatterElements on axis " + Twine(axis)).str());
  Type et = resultType().getElementType();
  SmallVector<OpFoldResult> ds = mixedSizes(b, loc, data);
  SmallVector<Value> dims = indexValues(b, loc, ds);
  SmallVector<Value> loops = indexValues(b, loc, mixedSizes(b, loc, updates));
  Value copy = copyInto(b, loc, data, emptyTensor(b, loc, ds, et));
  Value r = loopNest(
      b, loc, loops, copy,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> ivs, Value t) -> Value {
        SmallVector<Value> target;
        Value ok = arith::ConstantOp::create(nb, l, nb.getBoolAttr(true));
        Value badRaw = cIdx(nb, l, 0), badDim = cIdx(nb, l, 0);
        auto addIndex = [&](Value raw, Value dim) {
          auto [i, okJ] = normalizeIndex(nb, l, raw, dim);
          target.push_back(i);
          badRaw = arith::SelectOp::create(nb, l, okJ, badRaw, raw);
          badDim = arith::SelectOp::create(nb, l, okJ, badDim, dim);
          ok = arith::AndIOp::create(nb, l, ok, okJ);
        };
        if (nd) {
          SmallVector<Value> tuple(ivs.begin(), ivs.begin() + q - 1);
          tuple.push_back(Value());
          for (int64_t j = 0; j < k; ++j) {
            tuple.back() = cIdx(nb, l, j);
            addIndex(toIndex(nb, l,
                             tensor::ExtractOp::create(nb, l, indices, tuple),
                             false),
                     dims[j]);
          }
          target.append(ivs.begin() + q - 1, ivs.end());
        } else {
          Value raw = toIndex(
              nb, l, tensor::ExtractOp::create(nb, l, indices, ivs), false);
          addIndex(raw, dims[axis]);
          Value i = target.back();
          target.assign(ivs.begin(), ivs.end());
          target[axis] = i;
        }
        Value update = tensor::ExtractOp::create(nb, l, updates, ivs);
        auto ifOp = scf::IfOp::create(
            nb, l, ok,
            [&](OpBuilder &tb, Location tl) {
              Value old = tensor::ExtractOp::create(tb, tl, t, target);
              Value v = combine(tb, tl, reduction, old, update, isUnsigned);
              scf::YieldOp::create(
                  tb, tl,
                  ValueRange{tensor::InsertOp::create(tb, tl, v, t, target)});
            },
            [&](OpBuilder &eb, Location elc) {
              report.emit(eb, elc, badRaw, badDim);
              scf::YieldOp::create(eb, elc, ValueRange{t});
            });
        return ifOp.getResult(0);
      });
  return finish(r);
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

void quantopt::populateQNNToCPUIndexPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns,
                                             bool reportErrors) {
  MLIRContext *ctx = patterns.getContext();
  using L = IndexLowering;
  patterns.add<IndexPattern<ConstantOfShapeOp, &L::lowerConstantOfShape>,
               IndexPattern<RangeOp, &L::lowerRange>,
               IndexPattern<SizeOp, &L::lowerSize>,
               IndexPattern<EyeLikeOp, &L::lowerEyeLike>,
               IndexPattern<TriluOp, &L::lowerTrilu>,
               IndexPattern<CumSumOp, &L::lowerScan>,
               IndexPattern<CumProdOp, &L::lowerScan>,
               IndexPattern<TileOp, &L::lowerTile>,
               IndexPattern<PadOp, &L::lowerPad>,
               IndexPattern<OneHotOp, &L::lowerOneHot>,
               IndexPattern<GatherElementsOp, &L::lowerGatherElements>,
               IndexPattern<GatherNDOp, &L::lowerGatherND>,
               IndexPattern<ScatterNDOp, &L::lowerScatter>,
               IndexPattern<ScatterElementsOp, &L::lowerScatter>>(
      converter, ctx, reportErrors);
  populateQNNToCPUReductionPatterns(converter, patterns);
}
