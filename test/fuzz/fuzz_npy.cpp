//===- fuzz_npy.cpp - libFuzzer target: quant-run's .npy/.npz reader ------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Parses the fuzz input as a .npy file (parseNpy), and, when it looks like a
// zip archive, reads it as an .npz file (readNpz, which only takes a path).
// Every array that parses must survive a round trip through writeNpy: same
// dtype, shape and bytes, so the reader and the writer agree on the format.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "NpyIO.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace quantopt;

namespace {

void check(bool condition, const char *what) {
  if (!condition) {
    std::fprintf(stderr, "npy round trip: %s\n", what);
    std::abort();
  }
}

void checkRoundTrip(const NpyArray &array) {
  std::string bytes =
      writeNpy(array.dtype, array.shape, array.data, array.bytes);
  llvm::Expected<NpyArray> again = parseNpy(bytes, nullptr);
  if (!again) {
    std::fprintf(stderr, "npy round trip: %s\n",
                 llvm::toString(again.takeError()).c_str());
    std::abort();
  }
  check(again->dtype == array.dtype, "dtype differs");
  check(again->shape == array.shape, "shape differs");
  check(again->bytes == array.bytes, "size differs");
  check(array.bytes == 0 ||
            std::memcmp(again->data, array.data, array.bytes) == 0,
        "data differs");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef contents(reinterpret_cast<const char *>(data), size);
  if (llvm::Expected<NpyArray> array = parseNpy(contents, nullptr))
    checkRoundTrip(*array);
  else
    llvm::consumeError(array.takeError());

  if (contents.starts_with("PK")) {
    static fuzz::InputFile file("input.npz");
    auto arrays = readNpz(file.write(data, size));
    if (arrays) {
      for (const auto &[name, array] : *arrays)
        checkRoundTrip(array);
    } else {
      llvm::consumeError(arrays.takeError());
    }
  }
  return 0;
}
