//===- NodeNames.cpp - ONNX node names and resource blobs -----------------===//

#include "quantopt/Dialect/QNN/Utils/NodeNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

#include <sys/mman.h>
#include <unistd.h>

using namespace mlir;

std::string quantopt::qnn::getNodeName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

std::string quantopt::qnn::getBlobName(Location loc, StringRef suffix) {
  std::string n = getNodeName(loc);
  return (n.empty() ? std::string("packed") : n) + "." + suffix.str();
}

namespace {

/// Packed weights at least this large are not kept on the heap.
constexpr size_t kSpillBytes = size_t(8) << 20;

/// `bytes` written to an unlinked temporary file and mapped read-only: the
/// packed weights of a model are as large as the model, and nothing reads
/// them again until the bundle writer copies them out, so they stay on
/// disk (page cache) rather than in the compiler's memory
/// (docs/Memory.md). std::nullopt if the file cannot be written (the
/// caller keeps the bytes on the heap).
std::optional<AsmResourceBlob> spillToFile(ArrayRef<char> bytes) {
  llvm::SmallString<128> path;
  int fd = -1;
  if (llvm::sys::fs::createTemporaryFile("quantopt-packed", "bin", fd, path))
    return std::nullopt;
  llvm::sys::fs::remove(path);
  bool ok;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/false);
    os.write(bytes.data(), bytes.size());
    os.flush();
    ok = !os.has_error();
    os.clear_error();
  }
  void *data = ok ? ::mmap(nullptr, bytes.size(), PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
  ::close(fd);
  if (data == MAP_FAILED)
    return std::nullopt;
  return UnmanagedAsmResourceBlob::allocateWithAlign(
      ArrayRef<char>(static_cast<const char *>(data), bytes.size()), 64,
      [](void *data, size_t size, size_t) { ::munmap(data, size); });
}

} // namespace

Value quantopt::qnn::createBlobConstant(OpBuilder &b, Location loc,
                                        StringRef name, ArrayRef<char> bytes) {
  auto type = RankedTensorType::get({(int64_t)bytes.size()}, b.getI8Type());
  std::optional<AsmResourceBlob> blob;
  if (bytes.size() >= kSpillBytes)
    blob = spillToFile(bytes);
  if (!blob)
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(*blob));
  return arith::ConstantOp::create(b, loc, attr);
}
