//===- ElfSymbols.cpp - Reading the dynamic symbols of an ELF object
//--------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "ElfSymbols.h"

#include <cstring>

using namespace llvm;
using namespace quantopt::runtime;

std::string ElfSymbols::init(ArrayRef<uint8_t> bytes) {
  code = bytes;
  Elf64_Ehdr ehdr;
  if (code.size() < sizeof(ehdr) ||
      std::memcmp(code.data(), ELFMAG, SELFMAG) != 0)
    return "not an ELF shared object";
  std::memcpy(&ehdr, code.data(), sizeof(ehdr));
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_type != ET_DYN)
    return "not a 64-bit little-endian ELF shared object";
  if (ehdr.e_shentsize != sizeof(Elf64_Shdr) || ehdr.e_shnum == 0 ||
      ehdr.e_shnum >= SHN_LORESERVE ||
      !inside(ehdr.e_shoff, uint64_t(ehdr.e_shnum) * sizeof(Elf64_Shdr)))
    return "its ELF section headers lie outside the file";
  headers.resize(ehdr.e_shnum);
  std::memcpy(headers.data(), code.data() + ehdr.e_shoff,
              headers.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr &header : headers) {
    if (header.sh_type != SHT_DYNSYM)
      continue;
    if (header.sh_entsize != sizeof(Elf64_Sym) ||
        !inside(header.sh_offset, header.sh_size) ||
        header.sh_link >= headers.size())
      return "its dynamic symbol table is malformed";
    const Elf64_Shdr &names = headers[header.sh_link];
    if (names.sh_type != SHT_STRTAB || !inside(names.sh_offset, names.sh_size))
      return "the names of its dynamic symbols are malformed";
    symbols = code.slice(header.sh_offset, header.sh_size);
    strings = code.slice(names.sh_offset, names.sh_size);
    return "";
  }
  return "it has no dynamic symbol table";
}

std::optional<ElfSymbol> ElfSymbols::find(StringRef name) const {
  // Entry 0 is the reserved null symbol.
  for (size_t at = sizeof(Elf64_Sym); at + sizeof(Elf64_Sym) <= symbols.size();
       at += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, symbols.data() + at, sizeof(sym));
    if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strings.size())
      continue;
    const char *begin =
        reinterpret_cast<const char *>(strings.data()) + sym.st_name;
    size_t length = strnlen(begin, strings.size() - sym.st_name);
    if (StringRef(begin, length) != name)
      continue;
    ElfSymbol found;
    found.value = sym.st_value;
    found.type = ELF64_ST_TYPE(sym.st_info);
    if (sym.st_shndx < headers.size()) {
      const Elf64_Shdr &section = headers[sym.st_shndx];
      uint64_t delta = sym.st_value - section.sh_addr;
      if (section.sh_type != SHT_NOBITS && sym.st_value >= section.sh_addr &&
          delta <= section.sh_size && sym.st_size <= section.sh_size - delta &&
          inside(section.sh_offset, section.sh_size))
        found.bytes = code.slice(section.sh_offset + delta, sym.st_size);
    }
    return found;
  }
  return std::nullopt;
}
