//===- MappedRegions.cpp - Releasing pages of mapped weight files ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Support/MappedRegions.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace {

std::mutex regionsMutex;
/// Start address -> size of every registered mapping.
std::map<uintptr_t, size_t> &regions() {
  static std::map<uintptr_t, size_t> map;
  return map;
}

} // namespace

void quantopt::registerMappedRegion(const void *data, size_t size) {
  std::lock_guard<std::mutex> lock(regionsMutex);
  regions()[reinterpret_cast<uintptr_t>(data)] = size;
}

void quantopt::unregisterMappedRegion(const void *data) {
  std::lock_guard<std::mutex> lock(regionsMutex);
  regions().erase(reinterpret_cast<uintptr_t>(data));
}

void quantopt::releaseMappedPages(const void *data, size_t size) {
  uintptr_t begin = reinterpret_cast<uintptr_t>(data), end = begin + size;
  {
    std::lock_guard<std::mutex> lock(regionsMutex);
    auto it = regions().upper_bound(begin);
    if (it == regions().begin())
      return;
    --it;
    if (end > it->first + it->second)
      return;
  }
  uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t first = (begin + page - 1) & ~(page - 1), last = end & ~(page - 1);
  if (first < last)
    ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}
