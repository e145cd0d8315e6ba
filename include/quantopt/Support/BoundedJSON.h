//===- BoundedJSON.h - JSON parsing with a nesting limit --------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// llvm::json::parse recurses once per nesting level, so a file of 100,000
// '[' overflows the stack. Every JSON document QuantOpt reads (calibration
// tables, bundle manifests) is shallow, so it is parsed only after a linear
// scan has shown that it nests no deeper than a small limit.
//
// LLVM Support only: libquantrt links this library too.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_SUPPORT_BOUNDEDJSON_H
#define QUANTOPT_SUPPORT_BOUNDEDJSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace quantopt {

/// Deeper than any document QuantOpt writes (manifests nest about 6 levels).
inline constexpr unsigned kMaxJSONDepth = 64;

/// Parses `text` as JSON, refusing documents whose arrays and objects nest
/// deeper than `maxDepth` before the recursive parser sees them. `what`
/// names the document in the message ("calibration table 'x.json'").
llvm::Expected<llvm::json::Value>
parseBoundedJSON(llvm::StringRef text, llvm::StringRef what,
                 unsigned maxDepth = kMaxJSONDepth);

} // namespace quantopt

#endif // QUANTOPT_SUPPORT_BOUNDEDJSON_H
