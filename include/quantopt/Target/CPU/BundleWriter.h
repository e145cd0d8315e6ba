//===- BundleWriter.h - Write .qob bundles ----------------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Lays out a bundle (docs/CPUBackend.md, "Bundle file"): the manifest, the
// weight blobs (each 64-byte aligned in the `weights` section) and the
// native shared object, every section page aligned and checksummed. The file
// is written atomically: on any failure nothing, not even a partial file, is
// left at the destination.
//
// LLVM Support only, so that tools and tests can write bundles without the
// compiler.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CPU_BUNDLEWRITER_H
#define QUANTOPT_TARGET_CPU_BUNDLEWRITER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace quantopt {

/// One weight blob. `bytes` must hold exactly product(shape) elements of
/// `dtype` (a manifest dtype name such as "uint8"); it is only referenced,
/// not copied, until the bundle is written.
struct BundleWeight {
  std::string name;
  std::string dtype;
  llvm::SmallVector<int64_t> shape;
  llvm::ArrayRef<uint8_t> bytes;
};

/// One raw section, for writeBundleSections().
struct BundleSection {
  std::string name;
  llvm::ArrayRef<uint8_t> bytes;
};

/// Returns `manifest` completed for the given weights: "format" and
/// "format_version" are set, and "weights" is replaced by one entry per
/// weight (name, dtype, shape, offset, size) in the order given, with the
/// offsets of the layout writeBundle() uses. Fails on an unknown dtype, a
/// size that does not match dtype and shape, or a repeated name.
llvm::Expected<llvm::json::Object>
completeManifest(llvm::json::Object manifest,
                 llvm::ArrayRef<BundleWeight> weights);

/// Serializes a bundle from `manifest` (see completeManifest(), applied
/// here), the weights and the native shared object into a byte string.
llvm::Expected<std::string>
serializeBundle(llvm::json::Object manifest,
                llvm::ArrayRef<BundleWeight> weights,
                llvm::ArrayRef<uint8_t> nativeObject);

/// serializeBundle(), written atomically to `path` ("-" for stdout).
llvm::Error writeBundle(llvm::StringRef path, llvm::json::Object manifest,
                        llvm::ArrayRef<BundleWeight> weights,
                        llvm::ArrayRef<uint8_t> nativeObject);

/// Lays out arbitrary sections, in order, without looking at their content
/// (header, table, alignment and checksums only). writeBundle() is built on
/// this; tests use it to write bundles with malformed manifests.
std::string serializeBundleSections(llvm::ArrayRef<BundleSection> sections);

/// Writes the bundle of serializeBundle to `os` without ever holding its
/// weights in memory: they go to a temporary file (TMPDIR) one by one, which
/// is hashed through a mapping and then copied to `os`. `written(i)` is
/// called once weight i is in that file, so that the caller can free it.
/// The bytes are those serializeBundle returns.
llvm::Error
writeBundleStreamed(llvm::raw_ostream &os, llvm::json::Object manifest,
                    llvm::ArrayRef<BundleWeight> weights,
                    llvm::ArrayRef<uint8_t> nativeObject,
                    llvm::function_ref<void(size_t index)> written = {});

/// The byte string of the `weights` section for `weights` (what
/// serializeBundle() stores), each blob at a 64-byte aligned offset.
std::string packWeights(llvm::ArrayRef<BundleWeight> weights);

} // namespace quantopt

#endif // QUANTOPT_TARGET_CPU_BUNDLEWRITER_H
