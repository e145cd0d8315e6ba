//===- NativeCode.cpp - Loading section 'native'
//----------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The native code is written to an anonymous memory file and dlopen'ed
// through /proc (or a temporary file removed once mapped), in the context
// the bundle's Device gives it; the entry must resolve to the code's own
// definition.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "Loader.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;
namespace fmt = quantopt::bundle;

/// Writes all of `bytes` to `fd`.
static bool writeAll(int fd, ArrayRef<uint8_t> bytes) {
  const uint8_t *p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    left -= n;
  }
  return true;
}

bool Loader::loadNativeCode() {
  // (checkABI made sure that section 'native' is an ELF shared object that
  // defines the entry.) A CUDA bundle's code loads its GPU module from a
  // global constructor: the device provides the context.
  return bundle->device->loadNativeCode(
      *bundle, [this] { return dlopenNativeCode(); }, failure);
}

bool Loader::dlopenNativeCode() {
  const fmt::SectionEntry &section = sections[fmt::kNativeSection];
  ArrayRef<uint8_t> code(bundle->fileData + section.offset, section.size);
  // Preferred: an anonymous memory file, opened through /proc. Nothing
  // touches the disk and nothing is left behind if the process dies.
  int fd = ::memfd_create("quantopt-native", MFD_CLOEXEC);
  if (fd >= 0) {
    if (writeAll(fd, code)) {
      std::string procPath = "/proc/self/fd/" + std::to_string(fd);
      // A path that names an object that is still loaded (an earlier
      // bundle whose code the dynamic loader kept) would return that
      // object: then use the temporary file below.
      void *stale = ::dlopen(procPath.c_str(), RTLD_NOW | RTLD_NOLOAD);
      if (stale) {
        ::dlclose(stale);
      } else if (::access(procPath.c_str(), R_OK) == 0) {
        bundle->dlHandle = ::dlopen(procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!bundle->dlHandle) {
          ::close(fd);
          const char *message = ::dlerror();
          return fail(QRT_ERROR_NATIVE_CODE,
                      Twine("cannot load section 'native': ") +
                          (message ? message : "unknown dlopen error") +
                          "; the code needs kernels from libquantrt (load "
                          "libquantrt with RTLD_GLOBAL and use the runtime "
                          "of the QuantOpt release that compiled it) or " +
                          kRecompile);
        }
      }
    }
    if (bundle->dlHandle)
      bundle->nativeFd = fd;
    else
      ::close(fd);
  }

  // Fallback (no memfd or no /proc): a private temporary file, removed as
  // soon as it is mapped.
  if (!bundle->dlHandle) {
    SmallString<128> tempPath;
    int tempFd = -1;
    if (std::error_code ec = sys::fs::createTemporaryFile(
            "quantopt-native", "so", tempFd, tempPath))
      return fail(QRT_ERROR_NATIVE_CODE,
                  "cannot create a temporary file for section 'native': " +
                      ec.message() + "; set TMPDIR to a writable directory");
    bool written = writeAll(tempFd, code);
    ::close(tempFd);
    if (written)
      bundle->dlHandle = ::dlopen(tempPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    const char *message = written ? ::dlerror() : "cannot write the file";
    sys::fs::remove(tempPath);
    if (!bundle->dlHandle)
      return fail(QRT_ERROR_NATIVE_CODE,
                  Twine("cannot load section 'native': ") +
                      (message ? message : "unknown dlopen error") + "; " +
                      kRecompile);
  }

  // dlsym on the handle also searches the code's dependencies (libc,
  // libquantrt): only the code's own definition, at the address its dynamic
  // symbol table gives, is the entry.
  ::dlerror();
  void *symbol = ::dlsym(bundle->dlHandle, bundle->entryName.c_str());
  struct link_map *map = nullptr;
  if (::dlinfo(bundle->dlHandle, RTLD_DI_LINKMAP, &map) != 0 || !map)
    return fail(QRT_ERROR_NATIVE_CODE,
                Twine("cannot locate the loaded section 'native' (dlinfo "
                      "failed); ") +
                    kRecompile);
  uintptr_t own =
      static_cast<uintptr_t>(map->l_addr) + static_cast<uintptr_t>(entryValue);
  if (!symbol || reinterpret_cast<uintptr_t>(symbol) != own)
    return fail(QRT_ERROR_NATIVE_CODE,
                "symbol '" + bundle->entryName +
                    "' (manifest field 'entry') does not resolve to the "
                    "definition in section 'native'; " +
                    kRecompile);
  bundle->entry = reinterpret_cast<EntryFn>(symbol);
  return true;
}
