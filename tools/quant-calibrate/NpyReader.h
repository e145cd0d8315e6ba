//===- NpyReader.h - Minimal float32 .npy reader ----------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Reads NumPy .npy files (format versions 1.0, 2.0 and 3.0) holding
// little-endian float32 arrays in C order, the layout calibration batches
// are saved in. The file is memory-mapped and, when aligned, used in place,
// so a batch costs no copy. Anything else is rejected with a message that
// says how to convert the array.
//
// It lives with the tool rather than in the Calibration library, whose
// inputs are plain float arrays from any source.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TOOLS_QUANTCALIBRATE_NPYREADER_H
#define QUANTOPT_TOOLS_QUANTCALIBRATE_NPYREADER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <vector>

namespace quantopt {

struct NpyArray {
  llvm::SmallVector<int64_t> shape;
  /// The elements in C order; points into `buffer` or `copy`.
  llvm::ArrayRef<float> data;

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  /// Used only when the mapped data cannot be read in place (misaligned
  /// data offset or a big-endian host).
  std::vector<float> copy;
};

/// Reads a float32 .npy file. Errors do not include the path; the caller
/// adds it together with its own context.
llvm::Expected<NpyArray> readNpyFloat32(llvm::StringRef path);

} // namespace quantopt

#endif // QUANTOPT_TOOLS_QUANTCALIBRATE_NPYREADER_H
