//===- NpyIO.h - .npy and .npz reading and writing --------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// NumPy's array files for quant-run: .npy (format versions 1.0, 2.0 and 3.0,
// little-endian, C order, the dtypes a bundle tensor may have) and .npz (a
// zip of .npy files; stored entries as numpy.savez writes them, deflated
// ones as numpy.savez_compressed writes them when zlib is available).
// Errors do not include the file name; callers add it with their context.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TOOLS_QUANTRUN_NPYIO_H
#define QUANTOPT_TOOLS_QUANTRUN_NPYIO_H

#include "quantopt-c/Runtime.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace quantopt {

/// A dense C-order array. `data` is 64-byte aligned; it points into the
/// mapped file when that is possible, into `copy` otherwise.
struct NpyArray {
  qrt_dtype dtype = QRT_DTYPE_FLOAT32;
  llvm::SmallVector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;

  std::shared_ptr<llvm::MemoryBuffer> buffer;
  std::shared_ptr<uint8_t> copy;
};

/// Parses the .npy bytes `contents`; `buffer` (may be null) keeps them
/// alive when the array refers to them in place.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef contents,
                                  std::shared_ptr<llvm::MemoryBuffer> buffer);

/// Reads a .npy file.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// Reads every array of a .npz file, in archive order, keyed by the entry
/// name without its ".npy" suffix.
llvm::Expected<std::vector<std::pair<std::string, NpyArray>>>
readNpz(llvm::StringRef path);

/// The .npy bytes (format 1.0, or 2.0 for very long headers) of a dense
/// array.
std::string writeNpy(qrt_dtype dtype, llvm::ArrayRef<int64_t> shape,
                     const void *data, uint64_t bytes);

/// A .npz archive (stored entries) of already serialized .npy files; the
/// names get a ".npy" suffix. Fails when an entry is too large for a zip
/// without zip64 extensions (4 GiB).
llvm::Expected<std::string>
writeNpz(llvm::ArrayRef<std::pair<std::string, std::string>> entries);

} // namespace quantopt

#endif // QUANTOPT_TOOLS_QUANTRUN_NPYIO_H
