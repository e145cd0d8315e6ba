//===- BoundedJSON.cpp - JSON parsing with a nesting limit ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Support/BoundedJSON.h"

#include "llvm/ADT/Twine.h"

using namespace llvm;

Expected<json::Value> quantopt::parseBoundedJSON(StringRef text, StringRef what,
                                                 unsigned maxDepth) {
  // Brackets inside strings do not nest; escapes inside strings may hide a
  // quote. Anything else malformed is left to the real parser.
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > maxDepth)
        return createStringError(
            inconvertibleErrorCode(),
            what + ": JSON nests deeper than " + Twine(maxDepth) +
                " levels (at byte " + Twine(i) +
                "); the file is corrupt or not the document expected");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(inconvertibleErrorCode(),
                             what + ": " + toString(value.takeError()));
  return value;
}
