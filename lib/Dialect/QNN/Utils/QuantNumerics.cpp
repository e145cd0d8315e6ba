//===- QuantNumerics.cpp - Exact ONNX quantize/dequantize arithmetic ------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

QuantLayout QuantLayout::get(ShapedType scaleType, int64_t axis,
                             int64_t blockSize, int64_t rank) {
  QuantLayout layout;
  layout.perTensor = scaleType.hasStaticShape() &&
                     scaleType.getNumElements() == 1 && blockSize == 0;
  layout.axis = axis < 0 ? axis + rank : axis;
  layout.blockSize = blockSize;
  return layout;
}

SmallVector<int64_t>
QuantLayout::paramIndices(ArrayRef<int64_t> shape,
                          ArrayRef<int64_t> paramShape) const {
  SmallVector<int64_t> result;
  forEachParamIndex(shape, paramShape,
                    [&](int64_t, int64_t index) { result.push_back(index); });
  return result;
}

std::pair<int64_t, int64_t> qnn::storageRange(IntegerType type) {
  unsigned w = type.getWidth();
  if (type.isUnsigned())
    return {0, (int64_t(1) << w) - 1};
  return {-(int64_t(1) << (w - 1)), (int64_t(1) << (w - 1)) - 1};
}

int64_t qnn::quantizeToInt(float x, float scale, int64_t zeroPoint,
                           int64_t qmin, int64_t qmax) {
  // float32 division and round-half-to-even, as numpy's rint does. Clamping
  // before the integer conversion keeps infinities and huge values defined.
  float q = std::nearbyint(x / scale);
  if (std::isnan(q))
    return std::clamp<int64_t>(zeroPoint, qmin, qmax);
  double v = static_cast<double>(q) + static_cast<double>(zeroPoint);
  v = std::clamp(v, static_cast<double>(qmin), static_cast<double>(qmax));
  return static_cast<int64_t>(v);
}

APFloat qnn::quantizeToFloat8(float x, float scale, FloatType type,
                              bool saturate) {
  const llvm::fltSemantics &sem = type.getFloatSemantics();
  float v = x / scale;
  if (saturate && !std::isnan(v)) {
    APFloat largest = APFloat::getLargest(sem);
    bool losesInfo;
    largest.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
    float max = largest.convertToFloat();
    v = std::clamp(v, -max, max);
  }
  APFloat result(v);
  bool losesInfo;
  result.convert(sem, APFloat::rmNearestTiesToEven, &losesInfo);
  return result;
}

static SmallVector<float> floatValues(DenseElementsAttr attr) {
  SmallVector<float> values;
  values.reserve(attr.getNumElements());
  for (APFloat v : attr.getValues<APFloat>())
    values.push_back(v.convertToFloat());
  return values;
}

static SmallVector<int64_t> intValues(DenseElementsAttr attr) {
  SmallVector<int64_t> values;
  values.reserve(attr.getNumElements());
  bool isUnsigned = attr.getElementType().isUnsignedInteger();
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(isUnsigned ? static_cast<int64_t>(v.getZExtValue())
                                : v.getSExtValue());
  return values;
}

/// Zero points as float32 (float8 zero points are values, not integers).
static SmallVector<float> zeroPointsAsFloat(DenseElementsAttr zp,
                                            int64_t count) {
  if (!zp)
    return SmallVector<float>(count, 0.0f);
  if (isa<FloatType>(zp.getElementType()))
    return floatValues(zp);
  SmallVector<float> result;
  for (int64_t v : intValues(zp))
    result.push_back(static_cast<float>(v));
  return result;
}

FailureOr<DenseElementsAttr>
qnn::foldQuantize(DenseElementsAttr input, DenseElementsAttr scale,
                  DenseElementsAttr zeroPoint, int64_t axis, int64_t blockSize,
                  bool saturate, RankedTensorType resultType) {
  if (!input.getElementType().isF32() || !scale.getElementType().isF32())
    return failure();
  QuantLayout layout =
      QuantLayout::get(scale.getType(), axis, blockSize, resultType.getRank());
  SmallVector<int64_t> index =
      layout.paramIndices(resultType.getShape(), scale.getType().getShape());
  SmallVector<float> x = floatValues(input), s = floatValues(scale);
  Type storage = resultType.getElementType();
  if (auto intType = dyn_cast<IntegerType>(storage)) {
    auto [qmin, qmax] = storageRange(intType);
    SmallVector<int64_t> z =
        zeroPoint ? intValues(zeroPoint) : SmallVector<int64_t>(s.size(), 0);
    SmallVector<APInt> out;
    out.reserve(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      out.push_back(
          APInt(intType.getWidth(),
                quantizeToInt(x[i], s[index[i]], z[index[i]], qmin, qmax),
                /*isSigned=*/!intType.isUnsigned()));
    return DenseElementsAttr::get(resultType, out);
  }
  if (auto floatType = dyn_cast<FloatType>(storage)) {
    // ONNX ignores the (required to be zero) zero point of float8 types.
    SmallVector<APFloat> out;
    out.reserve(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      out.push_back(quantizeToFloat8(x[i], s[index[i]], floatType, saturate));
    return DenseElementsAttr::get(resultType, out);
  }
  return failure();
}

FailureOr<DenseElementsAttr>
qnn::foldDequantize(DenseElementsAttr input, DenseElementsAttr scale,
                    DenseElementsAttr zeroPoint, int64_t axis,
                    int64_t blockSize, RankedTensorType resultType) {
  if (!resultType.getElementType().isF32() || !scale.getElementType().isF32())
    return failure();
  QuantLayout layout =
      QuantLayout::get(scale.getType(), axis, blockSize, resultType.getRank());
  SmallVector<int64_t> index =
      layout.paramIndices(resultType.getShape(), scale.getType().getShape());
  SmallVector<float> s = floatValues(scale);
  SmallVector<float> q;
  if (isa<FloatType>(input.getElementType())) {
    q = floatValues(input);
  } else {
    for (int64_t v : intValues(input))
      q.push_back(static_cast<float>(v));
  }
  SmallVector<float> z = zeroPointsAsFloat(
      isa<FloatType>(input.getElementType()) ? DenseElementsAttr() : zeroPoint,
      s.size());
  SmallVector<float> out;
  out.reserve(q.size());
  for (size_t i = 0; i < q.size(); ++i)
    out.push_back((q[i] - z[index[i]]) * s[index[i]]);
  return DenseElementsAttr::get(resultType, ArrayRef<float>(out));
}

SmallVector<int64_t>
qnn::quantizeBuffer(ArrayRef<float> x, ArrayRef<int64_t> shape,
                    ArrayRef<float> scales, ArrayRef<int64_t> zeroPoints,
                    ArrayRef<int64_t> paramShape, const QuantLayout &layout,
                    IntegerType storage) {
  auto [qmin, qmax] = storageRange(storage);
  SmallVector<int64_t> out(x.size());
  layout.forEachParamIndex(shape, paramShape, [&](int64_t i, int64_t p) {
    out[i] = quantizeToInt(x[i], scales[p],
                           zeroPoints.empty() ? 0 : zeroPoints[p], qmin, qmax);
  });
  return out;
}

int64_t qnn::packedByteSize(int64_t count, IntegerType storage) {
  unsigned width = storage.getWidth();
  return width == 4 ? (count + 1) / 2 : count * (width / 8);
}

void qnn::quantizeBufferPacked(ArrayRef<float> x, ArrayRef<int64_t> shape,
                               ArrayRef<float> scales,
                               ArrayRef<int64_t> zeroPoints,
                               ArrayRef<int64_t> paramShape,
                               const QuantLayout &layout, IntegerType storage,
                               MutableArrayRef<char> out) {
  auto [qmin, qmax] = storageRange(storage);
  unsigned width = storage.getWidth();
  size_t bytesPer = width / 8;
  std::fill(out.begin(), out.end(), 0);
  layout.forEachParamIndex(shape, paramShape, [&](int64_t i, int64_t p) {
    int64_t q = quantizeToInt(
        x[i], scales[p], zeroPoints.empty() ? 0 : zeroPoints[p], qmin, qmax);
    if (width == 4) {
      uint8_t nibble = static_cast<uint8_t>(q) & 0xF;
      out[i / 2] |= static_cast<char>(i % 2 ? nibble << 4 : nibble);
      return;
    }
    // Little-endian, as packIntegers writes.
    for (size_t b = 0; b < bytesPer; ++b)
      out[i * bytesPer + b] =
          static_cast<char>(static_cast<uint64_t>(q) >> (8 * b));
  });
}

std::vector<char> qnn::packIntegers(ArrayRef<int64_t> values,
                                    IntegerType storage) {
  unsigned width = storage.getWidth();
  std::vector<char> bytes;
  if (width == 4) {
    bytes.assign((values.size() + 1) / 2, 0);
    for (size_t i = 0; i < values.size(); ++i) {
      uint8_t nibble = static_cast<uint8_t>(values[i]) & 0xF;
      bytes[i / 2] |= static_cast<char>(i % 2 == 0 ? nibble : nibble << 4);
    }
    return bytes;
  }
  unsigned n = width / 8;
  bytes.resize(values.size() * n);
  for (size_t i = 0; i < values.size(); ++i)
    for (unsigned b = 0; b < n; ++b)
      bytes[i * n + b] = static_cast<char>((values[i] >> (8 * b)) & 0xFF);
  return bytes;
}

std::optional<SmallVector<float>> qnn::getF32Values(ElementsAttr attr) {
  if (!attr.getElementType().isF32())
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    SmallVector<float> values(dense.getValues<float>());
    return values;
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    return SmallVector<float>(data->begin(), data->end());
  }
  return std::nullopt;
}

std::optional<ArrayRef<float>>
qnn::getF32View(ElementsAttr attr, SmallVectorImpl<float> &storage) {
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr))
    return resource.tryGetAsArrayRef();
  std::optional<SmallVector<float>> values = getF32Values(attr);
  if (!values)
    return std::nullopt;
  storage.assign(values->begin(), values->end());
  return ArrayRef<float>(storage);
}

std::optional<SmallVector<int64_t>>
qnn::unpackIntegers(ArrayRef<char> bytes, IntegerType storage, int64_t count) {
  unsigned width = storage.getWidth();
  if (width != 4 && width % 8 != 0)
    return std::nullopt;
  int64_t expected = width == 4 ? (count + 1) / 2 : count * (width / 8);
  if (static_cast<int64_t>(bytes.size()) != expected)
    return std::nullopt;
  SmallVector<int64_t> values;
  values.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t raw = 0;
    if (width == 4) {
      uint8_t byte = static_cast<uint8_t>(bytes[i / 2]);
      raw = i % 2 == 0 ? (byte & 0xF) : (byte >> 4);
    } else {
      for (unsigned b = 0; b < width / 8; ++b)
        raw |= uint64_t(static_cast<uint8_t>(bytes[i * (width / 8) + b]))
               << (8 * b);
    }
    values.push_back(storage.isUnsigned() ? static_cast<int64_t>(raw)
                                          : APInt(width, raw).getSExtValue());
  }
  return values;
}

std::optional<SmallVector<int64_t>> qnn::getIntValues(ElementsAttr attr) {
  auto storage = dyn_cast<IntegerType>(attr.getElementType());
  if (!storage)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    SmallVector<int64_t> values;
    for (const APInt &v : dense.getValues<APInt>())
      values.push_back(storage.isUnsigned()
                           ? static_cast<int64_t>(v.getZExtValue())
                           : v.getSExtValue());
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return unpackIntegers(blob->getData(), storage,
                            resource.getType().getNumElements());
  return std::nullopt;
}

// getWeightBytes: 8-bit values are bytes, 4-bit ones unpacked.
std::optional<std::vector<int8_t>> qnn::getWeightBytes(ElementsAttr attr) {
  // Resource blobs (every large weight) are read directly: 8-bit values are
  // the bytes, 4-bit ones two per byte, low nibble first (packIntegers).
  // This avoids an int64 copy of the whole weight.
  auto type = cast<ShapedType>(attr.getType());
  // float8: the bytes of the encoding.
  if (auto ft = dyn_cast<FloatType>(type.getElementType());
      ft && ft.getWidth() == 8) {
    std::vector<int8_t> bytes;
    if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      int64_t n = type.getNumElements();
      if (!blob || (int64_t)blob->getData().size() < n)
        return std::nullopt;
      bytes.resize(n);
      std::memcpy(bytes.data(), blob->getData().data(), n);
      return bytes;
    }
    auto dense = dyn_cast<DenseFPElementsAttr>(attr);
    if (!dense)
      return std::nullopt;
    for (const APFloat &v : dense.getValues<APFloat>())
      bytes.push_back(
          static_cast<int8_t>(v.bitcastToAPInt().getZExtValue() & 0xFF));
    return bytes;
  }
  auto elt = dyn_cast<IntegerType>(type.getElementType());
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr);
      res && elt && (elt.getWidth() == 8 || elt.getWidth() == 4)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    int64_t n = type.getNumElements();
    std::vector<int8_t> bytes(n);
    if (elt.getWidth() == 8) {
      if ((int64_t)data.size() < n)
        return std::nullopt;
      std::memcpy(bytes.data(), data.data(), n);
      return bytes;
    }
    if ((int64_t)data.size() < (n + 1) / 2)
      return std::nullopt;
    bool isSigned = !elt.isUnsigned();
    for (int64_t i = 0; i < n; ++i) {
      int v = (static_cast<uint8_t>(data[i / 2]) >> (4 * (i % 2))) & 0xF;
      bytes[i] = static_cast<int8_t>(isSigned && v >= 8 ? v - 16 : v);
    }
    return bytes;
  }
  std::optional<SmallVector<int64_t>> v = getIntValues(attr);
  if (!v)
    return std::nullopt;
  std::vector<int8_t> bytes(v->size());
  for (size_t i = 0; i < v->size(); ++i)
    bytes[i] = static_cast<int8_t>((*v)[i]);
  return bytes;
}

// getFloatValues: f32 through getF32Values, f16/bf16 converted.
std::optional<SmallVector<float>> qnn::getFloatValues(ElementsAttr attr) {
  if (!attr)
    return std::nullopt;
  if (auto v = getF32Values(attr))
    return v;
  auto type = cast<ShapedType>(attr.getType());
  auto ft = dyn_cast<FloatType>(type.getElementType());
  if (!ft)
    return std::nullopt;
  SmallVector<float> out;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    unsigned bytes = ft.getWidth() / 8;
    if (!blob || ft.getWidth() != 16 ||
        (int64_t)blob->getData().size() < type.getNumElements() * bytes)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    for (int64_t i = 0; i < type.getNumElements(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, data.data() + 2 * i, 2);
      llvm::APFloat f(ft.getFloatSemantics(), llvm::APInt(16, bits));
      out.push_back(f.convertToFloat());
    }
    return out;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  for (llvm::APFloat f : dense.getValues<llvm::APFloat>()) {
    bool lost = false;
    f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    out.push_back(f.convertToFloat());
  }
  return out;
}
