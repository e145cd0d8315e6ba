//===- FileSafety.cpp - Bounded reads and non-destructive writes ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;
using namespace quantopt;

namespace {

Error makeError(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

/// What `mode` is, for messages: "a directory", "a FIFO", ...
const char *describeFileType(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

Error notRegular(StringRef what, StringRef path, mode_t mode) {
  return makeError(what + " '" + path + "' is " + describeFileType(mode) +
                   ", not a regular file; pass a regular file (a pipe or "
                   "device could block or never end)");
}

/// Closes a descriptor unless released.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

Expected<uint64_t> quantopt::checkRegularInput(StringRef path, StringRef what) {
  struct stat st;
  SmallString<256> p(path);
  if (::stat(p.c_str(), &st) != 0)
    return makeError("cannot open " + what + " '" + path +
                     "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return notRegular(what, path, st.st_mode);
  return static_cast<uint64_t>(st.st_size);
}

Expected<std::unique_ptr<MemoryBuffer>>
quantopt::readRegularFile(StringRef path, StringRef what, uint64_t maxBytes,
                          bool requiresNullTerminator) {
  SmallString<256> p(path);
  // O_NONBLOCK: opening a FIFO for reading blocks until a writer appears;
  // it must fail the type check below instead.
  int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return makeError("cannot open " + what + " '" + path +
                     "': " + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return makeError("cannot stat " + what + " '" + path +
                     "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return notRegular(what, path, st.st_mode);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > maxBytes)
    return makeError(what + " '" + path + "' is " + Twine(size) +
                     " bytes, more than the " + Twine(maxBytes) +
                     " bytes such a file can hold; it is not the file you "
                     "meant or it is corrupt");
  // Back to blocking reads for the regular file (O_NONBLOCK has no effect on
  // regular files, but MemoryBuffer's read loop need not know that).
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  auto buffer = MemoryBuffer::getOpenFile(sys::fs::convertFDToNativeFile(fd),
                                          path, size, requiresNullTerminator,
                                          /*IsVolatile=*/false);
  if (!buffer)
    return makeError("cannot read " + what + " '" + path +
                     "': " + buffer.getError().message());
  return std::move(*buffer);
}

void InputSet::add(StringRef path, StringRef what) {
  struct stat st;
  SmallString<256> p(path);
  if (::stat(p.c_str(), &st) != 0)
    return;
  entries.push_back({static_cast<uint64_t>(st.st_dev),
                     static_cast<uint64_t>(st.st_ino), path.str(), what.str()});
}

Error InputSet::checkOutput(StringRef output, StringRef flag) const {
  // Standard output, and /dev/null, which writeToOutput discards without
  // opening (nothing is replaced): "-o /dev/null" checks that a model
  // compiles.
  if (output == "-" || output == "/dev/null")
    return Error::success();
  if (output.empty())
    return makeError(flag + ": the output path is empty");
  SmallString<256> p(output);
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      // A dangling symlink is fine (its target is created), but a missing
      // directory is worth a clear message now rather than after the work.
      SmallString<256> dir(output);
      sys::path::remove_filename(dir);
      if (dir.empty())
        dir = ".";
      if (!sys::fs::is_directory(dir))
        return makeError(flag + " '" + output + "': the directory '" + dir +
                         "' does not exist; create it first");
      return Error::success();
    }
    return makeError(flag + " '" + output + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return makeError(flag + " '" + output + "' is " +
                     describeFileType(st.st_mode) +
                     "; refusing to replace it: write to a regular file");
  for (const Entry &e : entries)
    if (e.device == static_cast<uint64_t>(st.st_dev) &&
        e.inode == static_cast<uint64_t>(st.st_ino))
      return makeError(flag + " '" + output + "' is the " + e.what + " '" +
                       e.path +
                       "' (the same file); refusing to overwrite an input: "
                       "choose another output path");
  return Error::success();
}

Error quantopt::writeOutputFile(StringRef output, StringRef flag,
                                const InputSet &inputs,
                                function_ref<Error(raw_ostream &)> writer) {
  if (Error e = inputs.checkOutput(output, flag))
    return e;
  // Replace the target of a symlink, not the link itself; a dangling
  // link's target is created (resolved relative to the link's directory).
  SmallString<256> target(output);
  if (output != "-" && sys::fs::is_symlink_file(output)) {
    SmallString<256> resolved;
    if (!sys::fs::real_path(output, resolved)) {
      target = resolved;
    } else {
      char buffer[4096];
      SmallString<256> link(output);
      ssize_t n = ::readlink(link.c_str(), buffer, sizeof(buffer));
      if (n > 0 && static_cast<size_t>(n) < sizeof(buffer)) {
        StringRef dest(buffer, n);
        if (sys::path::is_absolute(dest)) {
          target = dest;
        } else {
          target = sys::path::parent_path(output);
          sys::path::append(target, dest);
        }
      }
    }
  }
  // writeToOutput writes a temporary file next to the target and renames it
  // into place only when the writer succeeded.
  if (Error e = writeToOutput(target, writer))
    return makeError("cannot write " + flag + " '" + output +
                     "': " + toString(std::move(e)));
  return Error::success();
}
