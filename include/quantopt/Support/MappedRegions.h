//===- MappedRegions.h - Releasing pages of mapped weight files -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Weights in external data files are memory-mapped and used in place. Once a
// pass has read a float weight to quantize it, its pages need not stay
// resident: the compile would otherwise hold every float weight in RSS on
// top of what it produces. Pages of a read-only private file mapping can be
// dropped at any time and are read back from the file if touched again, so
// releasing them is always safe -- but only for such mappings (the same call
// on heap memory would zero it). Hence the registry: the importer registers
// the regions it mapped, and passes release pages only inside them.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_SUPPORT_MAPPEDREGIONS_H
#define QUANTOPT_SUPPORT_MAPPEDREGIONS_H

#include <cstddef>

namespace quantopt {

/// Records [data, data + size) as a read-only private file mapping.
void registerMappedRegion(const void *data, size_t size);

/// Forgets a region registered by registerMappedRegion (before unmapping).
void unregisterMappedRegion(const void *data);

/// Drops the resident pages of [data, data + size) if the range lies inside a
/// registered region (whole pages only); does nothing otherwise.
void releaseMappedPages(const void *data, size_t size);

} // namespace quantopt

#endif // QUANTOPT_SUPPORT_MAPPEDREGIONS_H
