//===- WeightMemory.cpp - Free weight blobs that nothing references -------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Dense resource blobs live in the MLIRContext's blob manager until the
// context dies, whether or not an attribute still names them. A compile
// replaces most of them (folding, quantization, packing), so without this
// every float weight stays resident next to its replacement
// (docs/Memory.md).
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CPU/CPUTarget.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace {

/// The keys of the dense resource blobs that attributes of `module` name.
llvm::StringSet<> referencedResources(ModuleOp module) {
  llvm::StringSet<> keys;
  auto visit = [&](Attribute attr) {
    attr.walk([&](DenseResourceElementsAttr r) {
      keys.insert(r.getRawHandle().getKey());
    });
  };
  module->walk([&](Operation *op) {
    for (NamedAttribute a : op->getAttrs())
      visit(a.getValue());
    // Function argument/result attributes are attributes of the op too;
    // properties (inherent attributes) are covered by getAttrs.
  });
  return keys;
}

} // namespace

uint64_t quantopt::releaseUnreferencedResources(ModuleOp module) {
  llvm::StringSet<> used = referencedResources(module);
  auto &manager =
      DenseResourceElementsHandle::getManagerInterface(module.getContext())
          .getBlobManager();
  std::vector<std::string> unused;
  manager.getBlobMap(
      [&](const llvm::StringMap<DialectResourceBlobManager::BlobEntry> &map) {
        for (const auto &entry : map) {
          const AsmResourceBlob *blob = entry.getValue().getBlob();
          if (blob && !blob->getData().empty() &&
              !used.contains(entry.getKey()))
            unused.push_back(entry.getKey().str());
        }
      });
  uint64_t freed = 0;
  for (const std::string &key : unused)
    if (DialectResourceBlobManager::BlobEntry *entry = manager.lookup(key)) {
      freed += entry->getBlob()->getData().size();
      // Runs the blob's deleter: a heap blob is freed, a view of the mmap'd
      // external data gives its pages back (ONNXImporter).
      entry->setBlob(AsmResourceBlob());
    }
  return freed;
}
