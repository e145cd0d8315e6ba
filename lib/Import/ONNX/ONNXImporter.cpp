//===- ONNXImporter.cpp - ONNX ModelProto to the QNN dialect --------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The importer is one class, GraphImporter, plus a table from ONNX op to a
// small builder function (ONNXOpImporters.cpp). This file owns everything
// that is not op-specific: reading and validating the protobuf, opsets,
// types, initializers (dense_resource blobs, external data mmap'd from the
// model directory) and the mapping from ONNX value names to SSA values.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Import/ONNX/ONNXImporter.h"
#include "ImporterImpl.h"
#include "quantopt/Support/FileSafety.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "quantopt/Support/MappedRegions.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::onnx_import;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

Type onnx_import::convertElementType(int32_t dataType, MLIRContext *ctx) {
  Builder b(ctx);
  auto uint = [&](unsigned w) {
    return IntegerType::get(ctx, w, IntegerType::Unsigned);
  };
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
    return b.getIntegerType(32);
  case onnx::TensorProto::INT64:
    return b.getIntegerType(64);
  case onnx::TensorProto::UINT8:
    return uint(8);
  case onnx::TensorProto::UINT16:
    return uint(16);
  case onnx::TensorProto::UINT32:
    return uint(32);
  case onnx::TensorProto::UINT64:
    return uint(64);
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  case onnx::TensorProto::INT4:
    return b.getIntegerType(4);
  case onnx::TensorProto::UINT4:
    return uint(4);
  case onnx::TensorProto::FLOAT8E4M3FN:
    return b.getType<Float8E4M3FNType>();
  case onnx::TensorProto::FLOAT8E4M3FNUZ:
    return b.getType<Float8E4M3FNUZType>();
  case onnx::TensorProto::FLOAT8E5M2:
    return b.getType<Float8E5M2Type>();
  case onnx::TensorProto::FLOAT8E5M2FNUZ:
    return b.getType<Float8E5M2FNUZType>();
  default:
    return nullptr;
  }
}

StringRef onnx_import::dataTypeName(int32_t dataType) {
  if (onnx::TensorProto::DataType_IsValid(dataType))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(dataType));
  return "<invalid data type>";
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

namespace {

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, StringRef path, const ONNXImportOptions &opts)
      : ctx(ctx), builder(ctx), path(path), options(opts) {
    SmallString<256> dir(path);
    llvm::sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    modelDir = std::string(dir);
    fileLoc = FileLineColLoc::get(ctx, path, 0, 0);
  }

  OwningOpRef<ModuleOp> importModel(const onnx::ModelProto &model);

private:
  LogicalResult readOpsets(const onnx::ModelProto &model);
  LogicalResult checkSupport(const onnx::GraphProto &graph);
  LogicalResult checkSchemas(const onnx::GraphProto &graph);
  FailureOr<Type> convertType(const onnx::TypeProto &type, StringRef what);
  FailureOr<ElementsAttr> convertTensor(const onnx::TensorProto &tensor,
                                        StringRef what,
                                        StringRef blobName = {});
  FailureOr<ArrayRef<char>>
  externalData(const onnx::TensorProto &tensor, StringRef what,
               std::shared_ptr<llvm::MemoryBuffer> &owner);
  LogicalResult importNode(const onnx::NodeProto &node, int64_t index);
  Location nodeLoc(const onnx::NodeProto &node, int64_t index);
  InFlightDiagnostic error() { return emitError(fileLoc); }
  int64_t opsetOf(StringRef domain) const;

  MLIRContext *ctx;
  OpBuilder builder;
  std::string path, modelDir;
  const ONNXImportOptions &options;
  Location fileLoc = UnknownLoc::get(ctx);
  llvm::StringMap<int64_t> opsets;
  llvm::StringMap<Value> values;
  llvm::StringMap<Type> declaredTypes;
  /// Graph outputs: their declared types bind; value_info only hints.
  llvm::StringSet<> outputNames;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> mappedFiles;
};

} // namespace

static StringRef normalizeDomain(StringRef domain) {
  return domain == "ai.onnx" ? StringRef() : domain;
}

int64_t GraphImporter::opsetOf(StringRef domain) const {
  auto it = opsets.find(normalizeDomain(domain));
  return it == opsets.end() ? 0 : it->second;
}

LogicalResult GraphImporter::readOpsets(const onnx::ModelProto &model) {
  for (const onnx::OperatorSetIdProto &id : model.opset_import())
    opsets[normalizeDomain(id.domain())] = id.version();
  if (!opsets.count("")) {
    error() << "model '" << path
            << "' does not import the default ai.onnx opset; re-export it "
               "with an opset_import entry for the ai.onnx domain";
    return failure();
  }
  int64_t v = opsets[""];
  if (v > kMaxONNXOpset)
    emitWarning(fileLoc) << "model uses ai.onnx opset " << v
                         << ", newer than the newest opset QuantOpt knows ("
                         << kMaxONNXOpset << "); importing with opset "
                         << kMaxONNXOpset << " semantics";
  return success();
}

Location GraphImporter::nodeLoc(const onnx::NodeProto &node, int64_t index) {
  std::string name = node.name().empty()
                         ? node.op_type() + "#" + std::to_string(index)
                         : node.name();
  return NameLoc::get(StringAttr::get(ctx, name), fileLoc);
}

/// Lists every unsupported op of the graph in one error, so a user sees the
/// whole porting job at once instead of one op per run.
LogicalResult GraphImporter::checkSupport(const onnx::GraphProto &graph) {
  const auto &table = getNodeImporters();
  struct Problem {
    std::string name, opType, domain, reason;
    int64_t opset;
  };
  SmallVector<Problem> problems;
  for (auto [i, node] : llvm::enumerate(graph.node())) {
    StringRef domain = normalizeDomain(node.domain());
    std::string key = (domain + "::" + node.op_type()).str();
    std::string name = node.name().empty()
                           ? node.op_type() + "#" + std::to_string(i)
                           : node.name();
    int64_t opset = opsetOf(domain);
    auto it = table.find(key);
    std::string domainName = domain.empty() ? "ai.onnx" : domain.str();
    if (it == table.end())
      problems.push_back(
          {name, node.op_type(), domainName, "op is not supported", opset});
    else if (opset < it->second.minOpset)
      problems.push_back({name, node.op_type(), domainName,
                          "QuantOpt supports this op from opset " +
                              std::to_string(it->second.minOpset) +
                              "; upgrade the model with onnx.version_converter",
                          opset});
  }
  if (problems.empty())
    return success();
  InFlightDiagnostic diag = error();
  diag << "model '" << path << "' has " << problems.size()
       << " unsupported node" << (problems.size() == 1 ? "" : "s") << ":";
  for (const Problem &p : problems)
    diag << "\n  node '" << p.name << "': op '" << p.opType << "' of domain '"
         << p.domain << "' (opset " << p.opset << "): " << p.reason;
  diag << "\nsupported ops are listed in docs/ONNXImport.md; remove or "
          "replace these nodes before import";
  return failure();
}

/// Checks every node against its ONNX schema before anything is built, so
/// that all malformed nodes are reported in one run.
LogicalResult GraphImporter::checkSchemas(const onnx::GraphProto &graph) {
  bool ok = true;
  for (auto [i, node] : llvm::enumerate(graph.node())) {
    StringRef domain = normalizeDomain(node.domain());
    int64_t opset = std::min<int64_t>(
        opsetOf(domain), domain.empty() ? kMaxONNXOpset : INT64_MAX);
    ok &= succeeded(checkNodeSchema(node, i, domain, opset, nodeLoc(node, i)));
  }
  return success(ok);
}

FailureOr<Type> GraphImporter::convertType(const onnx::TypeProto &type,
                                           StringRef what) {
  if (!type.has_tensor_type()) {
    error() << what
            << " is not a tensor (sequence, map, optional and sparse values "
               "are not supported)";
    return failure();
  }
  const onnx::TypeProto::Tensor &tensor = type.tensor_type();
  Type elementType = convertElementType(tensor.elem_type(), ctx);
  if (!elementType) {
    error() << what << " has element type " << dataTypeName(tensor.elem_type())
            << ", which QuantOpt does not support";
    return failure();
  }
  if (!tensor.has_shape())
    return Type(UnrankedTensorType::get(elementType));
  SmallVector<int64_t> dims;
  for (auto [i, d] : llvm::enumerate(tensor.shape().dim())) {
    // A negative size is not "unknown" in ONNX (that is an unset dim_value
    // or a dim_param); taking it as dynamic would hide a broken model.
    if (d.has_dim_value() && d.dim_value() < 0) {
      error() << what << " declares dimension " << i << " as " << d.dim_value()
              << "; a dimension must be >= 0 (leave dim_value unset or use a "
                 "dim_param for a dimension that is not known)";
      return failure();
    }
    dims.push_back(d.has_dim_value() ? d.dim_value() : ShapedType::kDynamic);
  }
  return Type(RankedTensorType::get(dims, elementType));
}

/// Whether a declared tensor type has a negative dim_value (an error even
/// in value_info, whose other unsupported types are only skipped).
static bool hasNegativeDim(const onnx::TypeProto &type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape())
    return false;
  return llvm::any_of(type.tensor_type().shape().dim(), [](const auto &d) {
    return d.has_dim_value() && d.dim_value() < 0;
  });
}

/// Resolves and memory-maps the external data of `tensor`. The location must
/// stay inside the model's directory: a model file is untrusted input and
/// must not make the compiler read arbitrary files.
FailureOr<ArrayRef<char>>
GraphImporter::externalData(const onnx::TensorProto &tensor, StringRef what,
                            std::shared_ptr<llvm::MemoryBuffer> &owner) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &e : tensor.external_data()) {
    if (e.key() == "location")
      location = e.value();
    else if (e.key() == "offset" || e.key() == "length") {
      int64_t v;
      if (StringRef(e.value()).getAsInteger(10, v) || v < 0) {
        error() << what << " has an invalid external data " << e.key() << " '"
                << e.value() << "'; it must be a non-negative integer";
        return failure();
      }
      (e.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty()) {
    error() << what << " is stored externally but has no 'location'";
    return failure();
  }
  if (llvm::sys::path::is_absolute(location)) {
    error() << what << " has an absolute external data location '" << location
            << "'; locations must be relative to the model's directory";
    return failure();
  }
  SmallString<256> realDir, joined(modelDir), realFile;
  llvm::sys::path::append(joined, location);
  if (llvm::sys::fs::real_path(modelDir, realDir)) {
    error() << "cannot resolve the model directory '" << modelDir << "'";
    return failure();
  }
  if (std::error_code ec = llvm::sys::fs::real_path(joined, realFile)) {
    // Check the lexical path first so that a missing file outside the model
    // directory is still reported as an escape.
    SmallString<256> lexical(realDir);
    llvm::sys::path::append(lexical, location);
    llvm::sys::path::remove_dots(lexical, /*remove_dot_dot=*/true);
    if (!StringRef(lexical).starts_with((realDir + "/").str())) {
      error() << what << ": external data location '" << location
              << "' escapes the model directory '" << realDir
              << "'; external data files must be inside the model's "
                 "directory";
      return failure();
    }
    error() << what << ": cannot open external data file '" << joined
            << "': " << ec.message()
            << "; keep the data file next to the model";
    return failure();
  }
  if (!StringRef(realFile).starts_with((realDir + "/").str())) {
    error() << what << ": external data location '" << location
            << "' escapes the model directory '" << realDir
            << "'; external data files must be inside the model's directory";
    return failure();
  }
  auto &mapped = mappedFiles[realFile];
  if (!mapped) {
    if (options.inputFiles)
      options.inputFiles->add(realFile, "external data file");
    // A symlink inside the model directory may still point at a FIFO or a
    // device (/dev/zero): refuse those rather than block or read forever.
    auto buffer = readRegularFile(realFile, "external data file");
    if (!buffer) {
      error() << what << " (location '" << location
              << "'): " << llvm::toString(buffer.takeError());
      return failure();
    }
    // Passes may drop the pages of a weight they have consumed (a mapping
    // reads them back if touched again): tell them which memory is mapped.
    bool isMapped =
        (*buffer)->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
    if (isMapped)
      registerMappedRegion((*buffer)->getBufferStart(),
                           (*buffer)->getBufferSize());
    mapped = std::shared_ptr<llvm::MemoryBuffer>(
        buffer->release(), [isMapped](llvm::MemoryBuffer *b) {
          if (isMapped)
            unregisterMappedRegion(b->getBufferStart());
          delete b;
        });
  }
  uint64_t size = mapped->getBufferSize();
  if (length < 0)
    length = offset <= static_cast<int64_t>(size) ? size - offset : 0;
  if (static_cast<uint64_t>(offset) > size ||
      static_cast<uint64_t>(length) > size - offset) {
    error() << what << ": external data range [" << offset << ", "
            << static_cast<uint64_t>(offset) + static_cast<uint64_t>(length)
            << ") is past the end of '" << location << "' (" << size
            << " bytes); the data file is truncated or the "
            << "offset/length entries are wrong";
    return failure();
  }
  owner = mapped;
  return ArrayRef<char>(mapped->getBufferStart() + offset, length);
}

/// Serializes the typed repeated fields of a TensorProto into the
/// little-endian byte layout that raw_data would have had.
static std::vector<char> typedFieldBytes(const onnx::TensorProto &t,
                                         unsigned elementBytes) {
  std::vector<char> bytes;
  auto append = [&](const void *p, size_t n) {
    const char *c = static_cast<const char *>(p);
    bytes.insert(bytes.end(), c, c + n);
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    append(t.float_data().data(), t.float_data_size() * 4);
    break;
  case onnx::TensorProto::DOUBLE:
    append(t.double_data().data(), t.double_data_size() * 8);
    break;
  case onnx::TensorProto::INT64:
    append(t.int64_data().data(), t.int64_data_size() * 8);
    break;
  case onnx::TensorProto::UINT32:
    for (uint64_t v : t.uint64_data()) {
      uint32_t x = v;
      append(&x, 4);
    }
    break;
  case onnx::TensorProto::UINT64:
    append(t.uint64_data().data(), t.uint64_data_size() * 8);
    break;
  case onnx::TensorProto::INT32:
    append(t.int32_data().data(), t.int32_data_size() * 4);
    break;
  default:
    // int8/16, uint8/16, bool, float16, bfloat16, float8 and the packed
    // 4-bit types: one element (or one packed byte) per int32 entry.
    for (int32_t v : t.int32_data())
      append(&v, elementBytes);
    break;
  }
  return bytes;
}

FailureOr<ElementsAttr>
GraphImporter::convertTensor(const onnx::TensorProto &tensor, StringRef what,
                             StringRef blobName) {
  Type elementType = convertElementType(tensor.data_type(), ctx);
  if (!elementType) {
    error() << what << " has element type " << dataTypeName(tensor.data_type())
            << ", which QuantOpt does not support";
    return failure();
  }
  SmallVector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  unsigned bitWidth = elementType.getIntOrFloatBitWidth();
  bool subByte = bitWidth == 4;
  unsigned elementBytes = bitWidth == 1 ? 1 : bitWidth / 8;
  // The element count and the byte size are computed with overflow checks
  // before any type is built: a forged shape must be refused, not wrap.
  int64_t numElements = 1;
  int64_t expectedBytes = 0;
  for (int64_t d : dims) {
    if (d < 0) {
      error() << what << " has a negative dimension " << d;
      return failure();
    }
    if (llvm::MulOverflow(numElements, d, numElements)) {
      error() << what << " has shape [" << ArrayRef<int64_t>(dims) << "]"
              << ", whose element count does not fit in 64 bits";
      return failure();
    }
  }
  if (subByte)
    expectedBytes = numElements / 2 + numElements % 2;
  else if (llvm::MulOverflow(numElements, static_cast<int64_t>(elementBytes),
                             expectedBytes)) {
    error() << what << " has shape [" << ArrayRef<int64_t>(dims) << "]"
            << ", whose byte size does not fit in 64 bits";
    return failure();
  }
  auto type = RankedTensorType::get(dims, elementType);

  std::shared_ptr<llvm::MemoryBuffer> owner;
  std::vector<char> storage;
  ArrayRef<char> bytes;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<ArrayRef<char>> ext = externalData(tensor, what, owner);
    if (failed(ext))
      return failure();
    bytes = *ext;
  } else if (tensor.has_raw_data()) {
    bytes = ArrayRef<char>(tensor.raw_data().data(), tensor.raw_data().size());
  } else {
    storage = typedFieldBytes(tensor, subByte ? 1 : elementBytes);
    bytes = storage;
  }
  if (static_cast<int64_t>(bytes.size()) != expectedBytes) {
    error() << what << " has " << bytes.size() << " bytes of data but its type "
            << type << " needs " << expectedBytes
            << " bytes; the tensor is corrupt or truncated";
    return failure();
  }

  if (elementType.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return ElementsAttr(DenseElementsAttr::get(type, values));
  }
  if (subByte) {
    // ONNX packs 4-bit values two per byte, the first element in the low
    // nibble. MLIR stores each i4/ui4 element in its own byte.
    SmallVector<APInt> values;
    bool isSigned = !elementType.isUnsignedInteger();
    for (int64_t i = 0; i < numElements; ++i) {
      uint8_t byte = bytes[i / 2];
      uint8_t nibble = (i % 2 == 0) ? (byte & 0xF) : (byte >> 4);
      values.push_back(APInt(4, nibble, isSigned));
    }
    return ElementsAttr(DenseElementsAttr::get(type, values));
  }
  if (numElements <= options.inlineElementLimit)
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, bytes));

  // Large constants become resource blobs; mmap'd external data is used in
  // place when it is aligned for its element type.
  size_t align = std::max<size_t>(elementBytes, 1);
  AsmResourceBlob blob;
  if (owner && reinterpret_cast<uintptr_t>(bytes.data()) % align == 0) {
    blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        bytes, align,
        // Freed (releaseUnreferencedResources, or once written to the
        // bundle): its pages leave the process at once, not when the
        // whole file is unmapped.
        [owner](void *data, size_t size, size_t) mutable {
          releaseMappedPages(data, size);
          owner.reset();
        });
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  }
  // The resource manager makes the key unique; keep it readable.
  std::string key = blobName.empty() ? tensor.name() : blobName.str();
  if (key.empty())
    key = "constant";
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node,
                                        int64_t index) {
  Location loc = nodeLoc(node, index);
  SmallVector<Value> inputs;
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      inputs.push_back(Value());
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return emitError(loc) << node.op_type() << " reads '" << name
                            << "', which no graph input, initializer or "
                               "earlier node defines; the model is invalid or "
                               "its nodes are not topologically sorted";
    inputs.push_back(it->second);
  }
  StringRef domain = normalizeDomain(node.domain());
  int64_t opset = std::min<int64_t>(opsetOf(domain),
                                    domain.empty() ? kMaxONNXOpset : INT64_MAX);
  NodeContext nodeCtx(node, loc, builder, inputs, opset,
                      [&](const onnx::TensorProto &t, StringRef what) {
                        return convertTensor(t, what, node.output(0));
                      });
  const NodeImporterFn &fn = getNodeImporters()
                                 .find((domain + "::" + node.op_type()).str())
                                 ->second.fn;
  FailureOr<SmallVector<Value>> results = fn(nodeCtx);
  if (failed(results))
    return failure();
  for (auto [i, name] : llvm::enumerate(node.output())) {
    if (name.empty())
      continue;
    if (i >= results->size() || !(*results)[i])
      return emitError(loc)
             << node.op_type() << " output " << i << " ('" << name
             << "') is not supported; remove its consumers";
    Value v = (*results)[i];
    auto declared = declaredTypes.find(name);
    if (declared != declaredTypes.end()) {
      Type refined = qnn::refineTensorType(v.getType(), declared->second);
      if (!refined && outputNames.contains(name))
        return emitError(loc) << "the model declares graph output '" << name
                              << "' as " << declared->second << " but this "
                              << node.op_type() << " produces " << v.getType()
                              << "; fix the output's type in the model";
      // value_info is a hint (onnxruntime ignores a wrong one too):
      // exporters write some that contradict the op, e.g. onnxruntime-
      // genai's builder declares its [1] constants as scalars.
      if (!refined)
        emitWarning(loc) << "ignoring the model's value_info for '" << name
                         << "': it declares " << declared->second
                         << " but this " << node.op_type() << " produces "
                         << v.getType();
      else if (refined != v.getType() && v.getDefiningOp() &&
               isa<qnn::QNNDialect>(v.getDefiningOp()->getDialect()))
        v.setType(refined);
    }
    values[name] = v;
  }
  return success();
}

OwningOpRef<ModuleOp>
GraphImporter::importModel(const onnx::ModelProto &model) {
  if (!model.has_graph()) {
    error() << "model '" << path
            << "' has no graph; the file is not an ONNX model or is corrupt";
    return nullptr;
  }
  if (failed(readOpsets(model)))
    return nullptr;
  const onnx::GraphProto &graph = model.graph();
  if (failed(checkSupport(graph)) || failed(checkSchemas(graph)))
    return nullptr;

  for (const onnx::ValueInfoProto &vi : graph.value_info())
    if (vi.has_type()) {
      FailureOr<Type> t =
          convertType(vi.type(), ("value '" + vi.name() + "'").c_str());
      if (succeeded(t))
        declaredTypes[vi.name()] = *t;
      else if (hasNegativeDim(vi.type()))
        return nullptr;
    }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());

  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &t : graph.initializer())
    initializerNames.insert(t.name());

  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const onnx::ValueInfoProto &in : graph.input()) {
    if (initializerNames.contains(in.name()))
      continue;
    FailureOr<Type> t =
        convertType(in.type(), ("graph input '" + in.name() + "'").c_str());
    if (failed(t))
      return nullptr;
    argTypes.push_back(*t);
    argNames.push_back(in.name());
  }
  for (const onnx::ValueInfoProto &out : graph.output()) {
    FailureOr<Type> t =
        convertType(out.type(), ("graph output '" + out.name() + "'").c_str());
    if (failed(t))
      return nullptr;
    declaredTypes[out.name()] = *t;
    outputNames.insert(out.name());
  }

  auto func = func::FuncOp::create(builder, fileLoc, options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name] = body->getArgument(i);
    func.setArgAttr(i, "qnn.name", builder.getStringAttr(name));
  }
  // Symbolic dim names (ONNX dim_param) of the inputs and outputs, so that a
  // runtime can check that inputs agree on them.
  auto dimNames = [&](const onnx::ValueInfoProto &v) -> ArrayAttr {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape())
      return {};
    SmallVector<Attribute> names;
    bool any = false;
    for (const auto &d : v.type().tensor_type().shape().dim()) {
      names.push_back(builder.getStringAttr(d.dim_param()));
      any |= !d.dim_param().empty();
    }
    return any ? builder.getArrayAttr(names) : ArrayAttr();
  };
  {
    unsigned i = 0;
    for (const onnx::ValueInfoProto &in : graph.input()) {
      if (initializerNames.contains(in.name()))
        continue;
      if (ArrayAttr names = dimNames(in))
        func.setArgAttr(i, "qnn.dims", names);
      ++i;
    }
  }
  builder.setInsertionPointToStart(body);

  for (const onnx::TensorProto &t : graph.initializer()) {
    FailureOr<ElementsAttr> attr =
        convertTensor(t, ("initializer '" + t.name() + "'").c_str());
    if (failed(attr))
      return nullptr;
    Location loc = NameLoc::get(builder.getStringAttr(t.name()), fileLoc);
    values[t.name()] = qnn::ConstantOp::create(builder, loc, *attr);
  }

  for (auto [i, node] : llvm::enumerate(graph.node()))
    if (failed(importNode(node, i)))
      return nullptr;

  SmallVector<Value> results;
  for (const onnx::ValueInfoProto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end()) {
      error() << "graph output '" << out.name()
              << "' is not produced by any node, input or initializer";
      return nullptr;
    }
    results.push_back(it->second);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "qnn.name", builder.getStringAttr(out.name()));
    if (ArrayAttr names = dimNames(out))
      func.setResultAttr(i, "qnn.dims", names);
  }
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

static void printModelLocation(llvm::raw_ostream &os, Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    printModelLocation(os, name.getChildLoc());
    os << ": node '" << name.getName().getValue() << "'";
  } else if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    os << file.getFilename().getValue();
    if (file.getLine() != 0)
      os << ":" << file.getLine() << ":" << file.getColumn();
  } else if (auto fused = dyn_cast<FusedLoc>(loc)) {
    if (!fused.getLocations().empty())
      printModelLocation(os, fused.getLocations().front());
  } else {
    loc.print(os);
  }
}

static StringRef severityName(DiagnosticSeverity s) {
  switch (s) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

ModelDiagnosticHandler::ModelDiagnosticHandler(MLIRContext *context,
                                               llvm::raw_ostream &os)
    : ScopedDiagnosticHandler(context) {
  setHandler([&os](Diagnostic &diag) {
    auto print = [&os](Diagnostic &d) {
      printModelLocation(os, d.getLocation());
      os << ": " << severityName(d.getSeverity()) << ": " << d << "\n";
    };
    print(diag);
    for (Diagnostic &note : diag.getNotes())
      print(note);
    os.flush();
    return success();
  });
}

void quantopt::registerONNXImportDialects(DialectRegistry &registry) {
  registry.insert<qnn::QNNDialect, func::FuncDialect, quant::QuantDialect>();
}

OwningOpRef<ModuleOp>
quantopt::importONNXFile(StringRef path, MLIRContext *context,
                         const ONNXImportOptions &options) {
  context
      ->loadDialect<qnn::QNNDialect, func::FuncDialect, quant::QuantDialect>();
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  // A FIFO or device (/dev/zero) as the model is refused before reading.
  auto buffer = readRegularFile(path, "ONNX model");
  if (!buffer) {
    emitError(loc) << llvm::toString(buffer.takeError());
    return nullptr;
  }
  StringRef data = (*buffer)->getBuffer();
  if (data.empty()) {
    emitError(loc) << "ONNX model '" << path << "' is empty (0 bytes)";
    return nullptr;
  }
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    emitError(loc) << "ONNX model '" << path
                   << "' is larger than 2 GiB; protobuf cannot parse it. Save "
                      "the weights as external data (onnx.save_model(..., "
                      "save_as_external_data=True))";
    return nullptr;
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    emitError(loc) << "cannot parse '" << path
                   << "' as an ONNX model: the protobuf is malformed or "
                      "truncated ("
                   << data.size() << " bytes read)";
    return nullptr;
  }
  GraphImporter importer(context, path, options);
  return importer.importModel(model);
}
