//===- ONNXSchemaCheck.cpp - Node arity and attributes vs ONNX schemas ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Checks every node against the ONNX schema in force for the model's opset,
// as onnx.checker does: input and output counts, required attributes, and
// attribute types. Without it, a node with an extra input or a float where
// ONNX says int is imported silently with whatever the per-op importer
// happens to read. The schemas come from ONNXSchemas.inc, generated from the
// onnx/onnxruntime Python packages by gen_schemas.py.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::onnx_import;

namespace {

/// Bound of a variadic input or output list.
constexpr int64_t kUnbounded = INT64_MAX;

struct ONNXSchemaAttr {
  const char *name;
  int32_t type; // onnx::AttributeProto::AttributeType
  bool required;
};

struct ONNXSchema {
  const char *domain;
  const char *op;
  int64_t sinceVersion;
  int64_t minInputs, maxInputs, minOutputs, maxOutputs;
  unsigned firstAttr, numAttrs;

  ArrayRef<ONNXSchemaAttr> attrs() const;
};

#include "ONNXSchemas.inc"

ArrayRef<ONNXSchemaAttr> ONNXSchema::attrs() const {
  return ArrayRef<ONNXSchemaAttr>(kONNXSchemaAttrs).slice(firstAttr, numAttrs);
}

} // namespace

/// The schema of `domain`::`op` in force at `opset`: the newest version whose
/// since_version is not after it.
static const ONNXSchema *findSchema(StringRef domain, StringRef op,
                                    int64_t opset) {
  static const llvm::StringMap<SmallVector<const ONNXSchema *>> byOp = [] {
    llvm::StringMap<SmallVector<const ONNXSchema *>> m;
    // The table lists the versions of each op in ascending order.
    for (const ONNXSchema &s : kONNXSchemas)
      m[(Twine(s.domain) + "::" + s.op).str()].push_back(&s);
    return m;
  }();
  auto it = byOp.find((domain + "::" + op).str());
  if (it == byOp.end())
    return nullptr;
  const ONNXSchema *found = nullptr;
  for (const ONNXSchema *s : it->second)
    if (s->sinceVersion <= opset)
      found = s;
  return found;
}

static StringRef attrTypeName(int32_t type) {
  if (onnx::AttributeProto::AttributeType_IsValid(type))
    return onnx::AttributeProto::AttributeType_Name(
        static_cast<onnx::AttributeProto::AttributeType>(type));
  return "<invalid attribute type>";
}

/// The type of an attribute; models from old exporters may leave `type`
/// unset (IR version 1), in which case the populated field decides, as in
/// onnx.checker.
static int32_t attrType(const onnx::AttributeProto &a) {
  using A = onnx::AttributeProto;
  if (a.type() != A::UNDEFINED)
    return a.type();
  if (a.has_f())
    return A::FLOAT;
  if (a.has_i())
    return A::INT;
  if (a.has_s())
    return A::STRING;
  if (a.has_t())
    return A::TENSOR;
  if (a.has_g())
    return A::GRAPH;
  if (a.has_sparse_tensor())
    return A::SPARSE_TENSOR;
  if (a.has_tp())
    return A::TYPE_PROTO;
  if (a.floats_size())
    return A::FLOATS;
  if (a.ints_size())
    return A::INTS;
  if (a.strings_size())
    return A::STRINGS;
  if (a.tensors_size())
    return A::TENSORS;
  if (a.graphs_size())
    return A::GRAPHS;
  if (a.sparse_tensors_size())
    return A::SPARSE_TENSORS;
  if (a.type_protos_size())
    return A::TYPE_PROTOS;
  return A::UNDEFINED;
}

/// "exactly 2", "1 to 3", "at least 1".
static std::string countRule(int64_t min, int64_t max) {
  if (min == max)
    return "exactly " + std::to_string(min);
  if (max == kUnbounded)
    return "at least " + std::to_string(min);
  return std::to_string(min) + " to " + std::to_string(max);
}

LogicalResult onnx_import::checkNodeSchema(const onnx::NodeProto &node,
                                           int64_t index, StringRef domain,
                                           int64_t opset, Location loc) {
  std::string domainName = domain.empty() ? "ai.onnx" : domain.str();
  auto error = [&](DiagnosticSeverity severity = DiagnosticSeverity::Error) {
    InFlightDiagnostic diag = severity == DiagnosticSeverity::Error
                                  ? emitError(loc)
                                  : emitWarning(loc);
    diag << node.op_type() << " (node #" << index << ", " << domainName
         << " opset " << opset << "): ";
    return diag;
  };
  const ONNXSchema *schema = findSchema(domain, node.op_type(), opset);
  if (!schema)
    return error() << "QuantOpt has no ONNX schema for this op at this opset; "
                      "regenerate lib/Import/ONNX/ONNXSchemas.inc with "
                      "gen_schemas.py";
  std::string rule =
      (Twine(node.op_type()) + "-" + Twine(schema->sinceVersion)).str();

  bool ok = true;
  auto checkCount = [&](int64_t n, int64_t min, int64_t max, StringRef what) {
    if (n >= min && n <= max)
      return;
    ok = false;
    error() << "has " << n << " " << what << (n == 1 ? "" : "s") << " but the "
            << domainName << " " << rule << " schema requires "
            << countRule(min, max) << "; "
            << (n > max ? "remove the extra " : "add the missing ") << what
            << "s (an omitted optional " << what
            << " is an empty name, and only trailing ones may be dropped)";
  };
  checkCount(node.input_size(), schema->minInputs, schema->maxInputs, "input");
  checkCount(node.output_size(), schema->minOutputs, schema->maxOutputs,
             "output");

  llvm::StringSet<> seen;
  for (const onnx::AttributeProto &a : node.attribute()) {
    if (!seen.insert(a.name()).second) {
      ok = false;
      error() << "attribute '" << a.name()
              << "' is given more than once; keep one of them";
      continue;
    }
    const ONNXSchemaAttr *expected = nullptr;
    for (const ONNXSchemaAttr &s : schema->attrs())
      if (a.name() == s.name)
        expected = &s;
    if (!expected) {
      // ONNX versions its ops, so an attribute the schema does not list is a
      // broken model (onnx.checker rejects it). Contrib ops such as
      // com.microsoft's gain attributes without a new version; one we do not
      // know is ignored with a warning instead.
      bool contrib = !domain.empty();
      InFlightDiagnostic diag = error(contrib ? DiagnosticSeverity::Warning
                                              : DiagnosticSeverity::Error);
      diag << "attribute '" << a.name() << "' is not in the " << domainName
           << " " << rule << " schema (which has";
      if (schema->attrs().empty())
        diag << " no attributes";
      for (auto [i, s] : llvm::enumerate(schema->attrs()))
        diag << (i ? ", '" : " '") << s.name << "'";
      diag << "); "
           << (contrib ? "QuantOpt ignores it"
                       : "remove it, or declare the opset that defines it");
      if (!contrib)
        ok = false;
      continue;
    }
    int32_t type = attrType(a);
    if (type != expected->type) {
      ok = false;
      error() << "attribute '" << a.name() << "' is " << attrTypeName(type)
              << " but the " << domainName << " " << rule << " schema requires "
              << attrTypeName(expected->type)
              << "; store it with that type (e.g. onnx.helper.make_attribute "
                 "with a value of that type)";
    }
  }
  for (const ONNXSchemaAttr &s : schema->attrs())
    if (s.required && !seen.contains(s.name)) {
      ok = false;
      error() << "missing required attribute '" << s.name << "' ("
              << attrTypeName(s.type) << ") of the " << domainName << " "
              << rule << " schema; add it to the node";
    }
  return success(ok);
}
