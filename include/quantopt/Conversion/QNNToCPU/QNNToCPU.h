//===- QNNToCPU.h - qnn to linalg/tensor and CPU kernel calls ---*- C++ -*-===//
//
// Part of the QuantOpt project.
//
// The patterns of convert-qnn-to-cpu, one populate function per op family,
// as upstream's TosaToLinalg: a pass (or another conversion) assembles the
// families it wants. Elementwise work becomes linalg.generic with ONNX
// (right-aligned) broadcasting; matmuls with constant weights become
// qnn_cpu.kernel_call ops with the weights packed at compile time by the same
// library that reads them at run time (docs/CPUBackend.md).
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOCPU_QNNTOCPU_H
#define QUANTOPT_CONVERSION_QNNTOCPU_QNNTOCPU_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace quantopt {

/// Quantized element types become their storage, unsigned and sub-byte
/// integers signless i8..i64, float8 E4M3FN its bytes (i8).
class CPUTypeConverter : public mlir::TypeConverter {
public:
  CPUTypeConverter();
};

/// qnn.constant: the constant in its lowered element type.
void populateQNNToCPUConstantPatterns(const mlir::TypeConverter &converter,
                                      mlir::RewritePatternSet &patterns);

/// Unary, binary, where, cast and activations: broadcast linalg.generics.
void populateQNNToCPUElementwisePatterns(const mlir::TypeConverter &converter,
                                         mlir::RewritePatternSet &patterns);

/// Trigonometry, rounding, comparisons, logic, bit operations, Mod and the
/// parametric activations (QNNMathOps.td): broadcast linalg.generics.
void populateQNNToCPUMathPatterns(const mlir::TypeConverter &converter,
                                  mlir::RewritePatternSet &patterns);

/// Softmax, layer and RMS normalization, reductions.
void populateQNNToCPUNormalizationPatterns(const mlir::TypeConverter &converter,
                                           mlir::RewritePatternSet &patterns);

/// Shape, reshape, squeeze, unsqueeze, transpose, concat, split, slice,
/// gather and expand. With `reportErrors`, out-of-range run-time gather
/// indices are reported through the runtime's qk_report_error (host code
/// only).
void populateQNNToCPULayoutPatterns(const mlir::TypeConverter &converter,
                                    mlir::RewritePatternSet &patterns,
                                    bool reportErrors);

/// Shape building, indexed reads/writes and the remaining reductions
/// (IndexOps.cpp, Reductions.cpp); `reportErrors` as for the layout ops.
void populateQNNToCPUIndexPatterns(const mlir::TypeConverter &converter,
                                   mlir::RewritePatternSet &patterns,
                                   bool reportErrors);

/// Quantize (integer and e4m3), dequantize, dynamic quantize, requantize.
void populateQNNToCPUQuantizePatterns(const mlir::TypeConverter &converter,
                                      mlir::RewritePatternSet &patterns);

/// Every matmul as a linalg contraction (the fallback of the kernel
/// patterns, and all of the GPU target's generic matmuls).
void populateQNNMatMulToLinalgPatterns(const mlir::TypeConverter &converter,
                                       mlir::RewritePatternSet &patterns);

/// Matmuls the CPU kernel library takes, as qnn_cpu.kernel_call ops (with a
/// higher benefit than the linalg patterns, the bias-fused forms higher
/// still).
void populateQNNMatMulToKernelCallPatterns(const mlir::TypeConverter &converter,
                                           mlir::RewritePatternSet &patterns);

} // namespace quantopt

#endif // QUANTOPT_CONVERSION_QNNTOCPU_QNNTOCPU_H
