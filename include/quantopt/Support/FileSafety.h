//===- FileSafety.h - Bounded reads and non-destructive writes --*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The one place where QuantOpt's tools and runtime decide whether a path may
// be read or written:
//
//  * Inputs must be regular files (after following symlinks). A FIFO, a
//    device such as /dev/zero, a socket or a directory is refused before
//    anything is read, so no input can hang a tool or make it read without
//    bound. The file is opened non-blocking and checked on the open
//    descriptor, so swapping the path for a FIFO between the check and the
//    read does not help either.
//  * Outputs never destroy inputs: an output that resolves (device and
//    inode, so symlinks and hard links count) to a file the tool reads is
//    refused, as is an output that exists and is not a regular file. The
//    bytes go to a temporary file in the target's directory that is renamed
//    over the target only when everything was written.
//
// LLVM Support only: libquantrt links this library too.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_SUPPORT_FILESAFETY_H
#define QUANTOPT_SUPPORT_FILESAFETY_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <string>

namespace quantopt {

/// No limit on an input's size beyond what the file holds.
inline constexpr uint64_t kNoSizeLimit = UINT64_MAX;

/// Fails unless `path` names an existing regular file (symlinks followed).
/// `what` names the input in the message ("ONNX model", "--input", ...).
/// Returns the file's size.
llvm::Expected<uint64_t> checkRegularInput(llvm::StringRef path,
                                           llvm::StringRef what);

/// Reads (maps, when large) the regular file `path`. Refuses anything that
/// is not a regular file and files larger than `maxBytes`, naming `what`.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readRegularFile(llvm::StringRef path, llvm::StringRef what,
                uint64_t maxBytes = kNoSizeLimit,
                bool requiresNullTerminator = false);

/// The files a tool reads, by device and inode, so that its outputs can be
/// checked against them. Paths that do not exist (yet) are ignored.
class InputSet {
public:
  /// Records `path` (following symlinks) under the name `what`.
  void add(llvm::StringRef path, llvm::StringRef what);

  /// Fails when `output` would replace something it must not:
  ///  - the file behind `output` is one of the recorded inputs;
  ///  - `output` exists and is not a regular file (directory, device, FIFO,
  ///    socket).
  /// `flag` names the option that gave `output` ("-o", "--emit-mlir").
  /// "-" (standard output) and /dev/null (discarded) are always accepted.
  llvm::Error checkOutput(llvm::StringRef output, llvm::StringRef flag) const;

private:
  struct Entry {
    uint64_t device;
    uint64_t inode;
    std::string path;
    std::string what;
  };
  llvm::SmallVector<Entry, 4> entries;
};

/// Writes `output` through `writer` without ever leaving a partial file or
/// destroying an input: checks `output` against `inputs` (see
/// InputSet::checkOutput), then writes a temporary file in the target's
/// directory and renames it into place only when `writer` succeeded. A
/// symlink at `output` is kept and its target replaced. "-" writes to
/// standard output.
llvm::Error
writeOutputFile(llvm::StringRef output, llvm::StringRef flag,
                const InputSet &inputs,
                llvm::function_ref<llvm::Error(llvm::raw_ostream &)> writer);

} // namespace quantopt

#endif // QUANTOPT_SUPPORT_FILESAFETY_H
