//===- ElfSymbols.h - Reading the dynamic symbols of an ELF object
//----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_ELFSYMBOLS_H
#define QUANTOPT_LIB_RUNTIME_CORE_ELFSYMBOLS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <elf.h>

#include <optional>
#include <string>
#include <vector>

namespace quantopt {
namespace runtime {

/// A symbol defined by the native code.
struct ElfSymbol {
  uint64_t value = 0;
  unsigned type = STT_NOTYPE;
  /// The symbol's bytes in the file when it is data in a section with
  /// contents; empty otherwise.
  llvm::ArrayRef<uint8_t> bytes;
};

/// The dynamic symbol table of an ELF64 little-endian shared object, read
/// from its bytes with every offset bounds-checked: the manifest is checked
/// against the descriptor before dlopen runs any of the code's constructors.
class ElfSymbols {
public:
  /// Empty on success, else what is wrong with the file.
  std::string init(llvm::ArrayRef<uint8_t> bytes);
  /// The first definition of `name` (undefined references do not count).
  std::optional<ElfSymbol> find(llvm::StringRef name) const;

private:
  /// Whether [offset, offset + size) lies inside the file.
  bool inside(uint64_t offset, uint64_t size) const {
    return offset <= code.size() && size <= code.size() - offset;
  }

  llvm::ArrayRef<uint8_t> code;
  std::vector<Elf64_Shdr> headers;
  llvm::ArrayRef<uint8_t> symbols, strings;
};

} // namespace runtime
} // namespace quantopt

#endif // QUANTOPT_LIB_RUNTIME_CORE_ELFSYMBOLS_H
