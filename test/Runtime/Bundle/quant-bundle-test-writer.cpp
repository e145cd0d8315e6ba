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
// The ABI descriptor: a hand-written model (test_model.c) reserves
// `quantopt_abi` as a 4096-byte placeholder; the writer overwrites it in
// the copy of the shared object it packs with the descriptor the compiler
// would have emitted for the (completed) manifest, so that the bundle is
// consistent. --abi-manifest FILE describes FILE instead (a deliberate
// mismatch).
//
// --rewrite-manifest FILE --from BUNDLE -o OUT: copies BUNDLE with its
// manifest replaced by FILE, verbatim, every other section unchanged and
// all checksums recomputed: a manifest edited by someone who knows the
// format, for the tests that the loader checks the code's descriptor.
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

#include <cstring>
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
    abiManifestPath("abi-manifest",
                    cl::desc("Describe this manifest in the code's ABI "
                             "descriptor instead of --manifest"));
static cl::opt<std::string>
    rewriteManifest("rewrite-manifest",
                    cl::desc("Replace the manifest of --from by this file"));
static cl::opt<std::string> fromPath("from",
                                     cl::desc("Bundle for --rewrite-manifest"));
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

/// The placeholder test_model.c gives `quantopt_abi`, and its size.
static constexpr StringLiteral kABIPlaceholder =
    "QUANTOPT_TEST_ABI_PLACEHOLDER";
static constexpr size_t kABIPlaceholderSize = 4096;

/// `native` with the ABI placeholder (if any) replaced by the descriptor of
/// `manifest`, which must be complete (weights with offsets).
static Expected<std::string> withDescriptor(StringRef native,
                                            const json::Object &manifest) {
  std::string code = native.str();
  size_t at = code.find(kABIPlaceholder.str());
  if (at == std::string::npos)
    return code;
  json::Object abi{{"abi_version", bundle::kABIVersion}};
  for (StringRef key : {"entry", "target", "inputs", "outputs", "weights"})
    if (const json::Value *value = manifest.get(key))
      abi[key] = *value;
  std::string text;
  raw_string_ostream os(text);
  os << json::Value(std::move(abi));
  os.flush();
  if (text.size() + 1 > kABIPlaceholderSize || at + text.size() >= code.size())
    return createStringError("the ABI descriptor does not fit the "
                             "placeholder");
  std::memcpy(code.data() + at, text.c_str(), text.size() + 1);
  return code;
}

/// Replaces the manifest of the bundle `from` (see --rewrite-manifest).
static int rewrite() {
  std::unique_ptr<MemoryBuffer> file = readFile(fromPath);
  std::unique_ptr<MemoryBuffer> manifest = readFile(rewriteManifest);
  if (!file || !manifest)
    return 1;
  const auto *data = reinterpret_cast<const uint8_t *>(file->getBufferStart());
  if (file->getBufferSize() < bundle::kHeaderSize)
    return fail(fromPath + ": not a bundle");
  bundle::Header header = bundle::decodeHeader(data);
  std::vector<BundleSection> sections;
  for (uint32_t i = 0; i < header.numSections; ++i) {
    uint64_t at = header.tableOffset + i * bundle::kSectionEntrySize;
    if (at + bundle::kSectionEntrySize > file->getBufferSize())
      return fail(fromPath + ": section table outside the file");
    bundle::SectionEntry entry = bundle::decodeSectionEntry(data + at);
    if (entry.offset + entry.size > file->getBufferSize())
      return fail(fromPath + ": section outside the file");
    StringRef name = bundle::sectionName(entry);
    sections.push_back(
        {name.str(), name == bundle::kManifestSection
                         ? bytesOf(*manifest)
                         : ArrayRef<uint8_t>(data + entry.offset, entry.size)});
  }
  std::string out = serializeBundleSections(sections);
  if (Error e = writeToOutput(outputPath, [&](raw_ostream &os) {
        os << out;
        return Error::success();
      }))
    return fail(toString(std::move(e)));
  return 0;
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

  if (!rewriteManifest.empty()) {
    if (fromPath.empty() || outputPath.empty())
      return fail("--rewrite-manifest needs --from and -o");
    return rewrite();
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

  // The manifest the descriptor describes (completed, when not raw).
  std::unique_ptr<MemoryBuffer> abiFile;
  if (!abiManifestPath.empty() && !(abiFile = readFile(abiManifestPath)))
    return 1;
  auto describe = [&](json::Object manifest) -> Expected<std::string> {
    if (abiFile) {
      Expected<json::Value> other = json::parse(abiFile->getBuffer());
      if (!other || !other->getAsObject())
        return createStringError(abiManifestPath + ": not a JSON object");
      manifest = std::move(*other->getAsObject());
      if (!manifest.getArray("weights") || !manifest.get("format")) {
        Expected<json::Object> completed =
            completeManifest(std::move(manifest), weights);
        if (!completed)
          return completed.takeError();
        manifest = std::move(*completed);
      }
    }
    return withDescriptor(nativeFile->getBuffer(), manifest);
  };

  if (rawManifest) {
    std::string weightBytes = packWeights(weights);
    // A raw manifest that is a JSON object is described as it is; other
    // raw manifests keep the placeholder (they fail before it is read).
    std::string native = nativeFile->getBuffer().str();
    Expected<json::Value> raw = json::parse(manifestFile->getBuffer());
    if (raw && raw->getAsObject()) {
      Expected<std::string> described = describe(*raw->getAsObject());
      if (!described)
        return fail(toString(described.takeError()));
      native = std::move(*described);
    } else if (!raw) {
      consumeError(raw.takeError());
    }
    BundleSection sections[] = {
        {"manifest", bytesOf(*manifestFile)},
        {"weights", ArrayRef<uint8_t>(
                        reinterpret_cast<const uint8_t *>(weightBytes.data()),
                        weightBytes.size())},
        {"native",
         ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(native.data()),
                           native.size())}};
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
  Expected<json::Object> completed =
      completeManifest(std::move(*manifest->getAsObject()), weights);
  if (!completed)
    return fail(toString(completed.takeError()));
  Expected<std::string> native = describe(*completed);
  if (!native)
    return fail(toString(native.takeError()));
  if (Error e = writeBundle(
          outputPath, std::move(*completed), weights,
          ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(native->data()),
                            native->size())))
    return fail(outputPath + ": " + toString(std::move(e)));
  return 0;
}
