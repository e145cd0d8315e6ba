//===- QuantNumerics.h - Exact ONNX quantize/dequantize arithmetic -*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// One implementation of ONNX QuantizeLinear / DequantizeLinear arithmetic at
// compile time, shared by the constant folders of qnn.quantize and
// qnn.dequantize and by the weight quantization passes. It reproduces the
// ONNX reference implementation bit for bit for float32 inputs:
//
//   integer storage: q = clamp(rint(x / s) + z, qmin, qmax)   (rint: ties to
//   even) float8 storage:  q = cast(x / s), clamped to +-max first if
//   `saturate` dequantize:      x = (float(q) - float(z)) * s
//
// all in float32 arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_UTILS_QUANTNUMERICS_H
#define QUANTOPT_DIALECT_QNN_UTILS_QUANTNUMERICS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <vector>

namespace quantopt::qnn {

/// How scales and zero points map onto the elements of a tensor.
struct QuantLayout {
  /// Axis of per-axis or blocked parameters; ignored when perTensor.
  int64_t axis = 0;
  /// Block size along `axis`; 0 means per-axis.
  int64_t blockSize = 0;
  bool perTensor = true;

  /// Derives the layout from ONNX operands: a scale with one element is per
  /// tensor, otherwise per axis or blocked.
  static QuantLayout get(mlir::ShapedType scaleType, int64_t axis,
                         int64_t blockSize, int64_t rank);

  /// Returns, for each element of a tensor of `shape` (row-major), the linear
  /// index of its scale/zero point in a parameter tensor of `paramShape`.
  /// Eight bytes per element: for weights, use forEachParamIndex.
  llvm::SmallVector<int64_t>
  paramIndices(llvm::ArrayRef<int64_t> shape,
               llvm::ArrayRef<int64_t> paramShape) const;

  /// Calls fn(i, paramIndex) for each element i of a tensor of `shape`
  /// (row-major), in order, without materializing the index list.
  template <typename Fn>
  void forEachParamIndex(llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<int64_t> paramShape, Fn &&fn) const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    if (perTensor) {
      for (int64_t i = 0; i < n; ++i)
        fn(i, int64_t(0));
      return;
    }
    int64_t rank = shape.size();
    // Strides of the parameter tensor: per-axis parameters are 1-D.
    llvm::SmallVector<int64_t> paramStrides(rank, 0);
    if (blockSize == 0) {
      paramStrides[axis] = 1;
    } else {
      int64_t stride = 1;
      for (int64_t d = rank - 1; d >= 0; --d) {
        paramStrides[d] = stride;
        stride *= paramShape[d];
      }
    }
    llvm::SmallVector<int64_t> coord(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t index = 0;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t c = coord[d];
        if (blockSize != 0 && d == axis)
          c /= blockSize;
        index += c * paramStrides[d];
      }
      fn(i, index);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++coord[d] < shape[d])
          break;
        coord[d] = 0;
      }
    }
  }
};

/// Integer range of a storage type (i4 -> [-8, 7], ui8 -> [0, 255], ...).
std::pair<int64_t, int64_t> storageRange(mlir::IntegerType type);

/// Quantizes one float32 value to integer storage.
int64_t quantizeToInt(float x, float scale, int64_t zeroPoint, int64_t qmin,
                      int64_t qmax);

/// Quantizes one float32 value to a float8 storage type.
llvm::APFloat quantizeToFloat8(float x, float scale, mlir::FloatType type,
                               bool saturate);

/// Evaluates qnn.quantize on constants. `zeroPoint` may be null. Fails when an
/// element type is not supported (only f32 inputs and scales fold).
mlir::FailureOr<mlir::DenseElementsAttr>
foldQuantize(mlir::DenseElementsAttr input, mlir::DenseElementsAttr scale,
             mlir::DenseElementsAttr zeroPoint, int64_t axis, int64_t blockSize,
             bool saturate, mlir::RankedTensorType resultType);

/// Evaluates qnn.dequantize on constants. `zeroPoint` may be null.
mlir::FailureOr<mlir::DenseElementsAttr>
foldDequantize(mlir::DenseElementsAttr input, mlir::DenseElementsAttr scale,
               mlir::DenseElementsAttr zeroPoint, int64_t axis,
               int64_t blockSize, mlir::RankedTensorType resultType);

/// Quantizes a float32 buffer of `shape` to integers of `storage` with
/// parameters laid out as `layout` over `paramShape` (the weight path of
/// RTN; same arithmetic as foldQuantize).
llvm::SmallVector<int64_t>
quantizeBuffer(llvm::ArrayRef<float> x, llvm::ArrayRef<int64_t> shape,
               llvm::ArrayRef<float> scales, llvm::ArrayRef<int64_t> zeroPoints,
               llvm::ArrayRef<int64_t> paramShape, const QuantLayout &layout,
               mlir::IntegerType storage);

/// Bytes of `count` integers of `storage` in the packIntegers layout.
int64_t packedByteSize(int64_t count, mlir::IntegerType storage);

/// quantizeBuffer straight into `out` (packedByteSize bytes) in the
/// packIntegers byte layout: no per-element integer or index copy, for
/// weights of any size.
void quantizeBufferPacked(llvm::ArrayRef<float> x,
                          llvm::ArrayRef<int64_t> shape,
                          llvm::ArrayRef<float> scales,
                          llvm::ArrayRef<int64_t> zeroPoints,
                          llvm::ArrayRef<int64_t> paramShape,
                          const QuantLayout &layout, mlir::IntegerType storage,
                          llvm::MutableArrayRef<char> out);

/// Serializes integers of `storage` into the byte layout of a resource blob:
/// little-endian, 4-bit values two per byte with the lower index in the low
/// nibble (ONNX's INT4/UINT4 order).
std::vector<char> packIntegers(llvm::ArrayRef<int64_t> values,
                               mlir::IntegerType storage);

/// Inverse of packIntegers: `count` integers of `storage` from blob bytes.
/// std::nullopt when the byte count does not match.
std::optional<llvm::SmallVector<int64_t>>
unpackIntegers(llvm::ArrayRef<char> bytes, mlir::IntegerType storage,
               int64_t count);

/// Integer values of a constant: dense attributes and 4/8/16-bit resource
/// blobs in the packIntegers layout. std::nullopt when the data is
/// unavailable (an elided resource) or not integer.
std::optional<llvm::SmallVector<int64_t>> getIntValues(mlir::ElementsAttr attr);

/// The float32 values of `attr`, read in place from a resource blob (no
/// copy of a mapped weight) or else copied into `storage`. std::nullopt when
/// not f32 or the data is unavailable.
std::optional<llvm::ArrayRef<float>>
getF32View(mlir::ElementsAttr attr, llvm::SmallVectorImpl<float> &storage);

/// Row-major transpose of a [rows, cols] matrix.
template <typename T>
llvm::SmallVector<T> transposeMatrix(llvm::ArrayRef<T> values, int64_t rows,
                                     int64_t cols) {
  llvm::SmallVector<T> result(values.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      result[c * rows + r] = values[r * cols + c];
  return result;
}

/// Float32 values of a constant: dense attributes and f32 resource blobs.
/// std::nullopt when the data is unavailable (an elided resource) or not f32.
std::optional<llvm::SmallVector<float>> getF32Values(mlir::ElementsAttr attr);

/// Values of a constant of any float type (f32, f16, bf16) as float;
/// std::nullopt when the data is unavailable or not float.
std::optional<llvm::SmallVector<float>> getFloatValues(mlir::ElementsAttr attr);

/// The values of an 8- or 4-bit integer constant, one per byte (sign
/// extended for signed types). Resource blobs are read directly, without an
/// int64 copy. std::nullopt when the data is unavailable.
std::optional<std::vector<int8_t>> getWeightBytes(mlir::ElementsAttr attr);

} // namespace quantopt::qnn

#endif // QUANTOPT_DIALECT_QNN_UTILS_QUANTNUMERICS_H
