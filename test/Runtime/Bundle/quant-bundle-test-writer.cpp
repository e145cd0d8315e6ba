//===- quant-bundle-test-writer.cpp - Write bundles for the tests ---------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Writes a bundle from a manifest, weight files and a shared object, so that
// the runtime can be tested without the compiler:
//
//   quant-bundle-test-writer --manifest m.json --native model.so \
//       --weight w:float32:4:w.bin --weight b:int64:1:b.bin -o model.qob
//
// --target cuda:sm_90 replaces the manifest's "target" by a CUDA target
// ({"kind": "cuda", "chip": "sm_90", "compute_capability": 90}).
// --raw-manifest stores the manifest file verbatim (it may be invalid JSON,
// and its "weights" entries are not rewritten); otherwise the manifest is
// completed by the bundle writer. --fix-table-checksum FILE recomputes the
// section table checksum of FILE in place, after a test patched the table.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Runtime/BundleFormat.h"
#include "quantopt/Target/CPU/BundleWriter.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <memory>
#include <vector>

using namespace llvm;
using namespace quantopt;

static cl::opt<std::string> outputPath("o", cl::desc("Output bundle"),
                                       cl::value_desc("file"));
static cl::opt<std::string> manifestPath("manifest",
                                         cl::desc("Manifest JSON file"));
static cl::opt<std::string> nativePath("native",
                                       cl::desc("Native shared object"));
static cl::list<std::string>
    weightArgs("weight", cl::desc("name:dtype:d0xd1x...:file (shape '' for "
                                  "a scalar)"));
static cl::opt<std::string>
    targetArg("target", cl::desc("Replace the manifest's target: cuda:sm_NN"),
              cl::value_desc("cuda:sm_NN"));
static cl::opt<bool> rawManifest("raw-manifest",
                                 cl::desc("Store the manifest verbatim"));
static cl::opt<std::string>
    fixTableChecksum("fix-table-checksum",
                     cl::desc("Recompute the table checksum of this bundle "
                              "in place"));

static int fail(const Twine &message) {
  WithColor::error(errs(), "quant-bundle-test-writer") << message << "\n";
  return 1;
}

static std::unique_ptr<MemoryBuffer> readFile(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    fail(path + ": " + buffer.getError().message());
    return nullptr;
  }
  return std::move(*buffer);
}

static ArrayRef<uint8_t> bytesOf(const MemoryBuffer &buffer) {
  return ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(buffer.getBufferStart()),
      buffer.getBufferSize());
}

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "Writes bundles for the tests\n");

  if (!fixTableChecksum.empty()) {
    std::unique_ptr<MemoryBuffer> file = readFile(fixTableChecksum);
    if (!file)
      return 1;
    std::string bytes = file->getBuffer().str();
    file.reset();
    auto *data = reinterpret_cast<uint8_t *>(bytes.data());
    bundle::Header header = bundle::decodeHeader(data);
    header.headerChecksum = xxh3_64bits(
        ArrayRef<uint8_t>(data + header.tableOffset,
                          header.numSections * bundle::kSectionEntrySize));
    bundle::encodeHeader(header, data);
    if (Error e = writeToOutput(fixTableChecksum, [&](raw_ostream &os) {
          os << bytes;
          return Error::success();
        }))
      return fail(toString(std::move(e)));
    return 0;
  }

  if (outputPath.empty() || manifestPath.empty() || nativePath.empty())
    return fail("-o, --manifest and --native are required");
  std::unique_ptr<MemoryBuffer> manifestFile = readFile(manifestPath);
  std::unique_ptr<MemoryBuffer> nativeFile = readFile(nativePath);
  if (!manifestFile || !nativeFile)
    return 1;

  std::vector<std::unique_ptr<MemoryBuffer>> weightFiles;
  std::vector<BundleWeight> weights;
  for (const std::string &arg : weightArgs) {
    SmallVector<StringRef> parts;
    StringRef(arg).split(parts, ':', 3);
    if (parts.size() != 4)
      return fail("--weight " + arg + ": expected name:dtype:shape:file");
    BundleWeight weight;
    weight.name = parts[0].str();
    weight.dtype = parts[1].str();
    SmallVector<StringRef> dims;
    parts[2].split(dims, 'x', -1, /*KeepEmpty=*/false);
    for (StringRef dim : dims) {
      int64_t size;
      if (dim.getAsInteger(10, size))
        return fail("--weight " + arg + ": bad shape");
      weight.shape.push_back(size);
    }
    weightFiles.push_back(readFile(parts[3]));
    if (!weightFiles.back())
      return 1;
    weight.bytes = bytesOf(*weightFiles.back());
    weights.push_back(std::move(weight));
  }

  if (rawManifest) {
    std::string weightBytes = packWeights(weights);
    BundleSection sections[] = {
        {"manifest", bytesOf(*manifestFile)},
        {"weights", ArrayRef<uint8_t>(
                        reinterpret_cast<const uint8_t *>(weightBytes.data()),
                        weightBytes.size())},
        {"native", bytesOf(*nativeFile)}};
    std::string file = serializeBundleSections(sections);
    if (Error e = writeToOutput(outputPath, [&](raw_ostream &os) {
          os << file;
          return Error::success();
        }))
      return fail(toString(std::move(e)));
    return 0;
  }

  Expected<json::Value> manifest = json::parse(manifestFile->getBuffer());
  if (!manifest)
    return fail(manifestPath + ": " + toString(manifest.takeError()));
  if (!manifest->getAsObject())
    return fail(manifestPath + ": not a JSON object");
  if (!targetArg.empty()) {
    auto [kind, chip] = StringRef(targetArg).split(':');
    unsigned capability;
    if (kind != "cuda" || !chip.starts_with("sm_") ||
        chip.drop_front(3).getAsInteger(10, capability))
      return fail("--target " + targetArg + ": expected cuda:sm_NN");
    (*manifest->getAsObject())["target"] =
        json::Object{{"kind", "cuda"},
                     {"chip", chip},
                     {"compute_capability", int64_t(capability)}};
  }
  if (Error e = writeBundle(outputPath, std::move(*manifest->getAsObject()),
                            weights, bytesOf(*nativeFile)))
    return fail(outputPath + ": " + toString(std::move(e)));
  return 0;
}
