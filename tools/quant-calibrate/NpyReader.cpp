//===- NpyReader.cpp - Minimal float32 .npy reader ------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The .npy layout: the magic "\x93NUMPY", a major and a minor version byte,
// the header length (2 bytes little-endian in version 1, 4 bytes in 2 and
// 3), then the header, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and a newline, then the raw array data.
//
// The header parser accepts exactly the literal subset numpy writes (quoted
// strings, True/False, tuples of integers) and nothing else; anything
// unexpected is reported as a malformed header rather than guessed at.
//
//===----------------------------------------------------------------------===//

#include "NpyReader.h"

#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SwapByteOrder.h"

#include <optional>

using namespace llvm;
using namespace quantopt;

namespace {

/// The header values we need, as parsed.
struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<SmallVector<int64_t>> shape;
};

/// Recursive-descent parser over the header dict literal.
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : text(text) {}

  Expected<NpyHeader> parse() {
    NpyHeader header;
    if (!consume('{'))
      return fail("expected '{'");
    while (!consume('}')) {
      std::optional<std::string> key = parseString();
      if (!key)
        return fail("expected a quoted key");
      if (!consume(':'))
        return fail("expected ':' after '" + *key + "'");
      if (Error err = parseValue(*key, header))
        return std::move(err);
      if (!consume(',') && !peek('}'))
        return fail("expected ',' or '}'");
    }
    if (!text.trim().empty())
      return fail("unexpected text after the closing '}'");
    for (auto [present, name] :
         {std::pair(header.descr.has_value(), "descr"),
          std::pair(header.fortranOrder.has_value(), "fortran_order"),
          std::pair(header.shape.has_value(), "shape")})
      if (!present)
        return fail(Twine("missing '") + name + "'");
    return header;
  }

private:
  Error fail(const Twine &message) {
    return createStringError("malformed .npy header (" + message +
                             "); the file was not written by numpy.save");
  }

  bool peek(char c) {
    text = text.ltrim();
    return text.starts_with(StringRef(&c, 1));
  }
  bool consume(char c) {
    if (!peek(c))
      return false;
    text = text.drop_front();
    return true;
  }

  std::optional<std::string> parseString() {
    text = text.ltrim();
    if (text.empty() || (text[0] != '\'' && text[0] != '"'))
      return std::nullopt;
    char quote = text[0];
    size_t end = text.find(quote, 1);
    if (end == StringRef::npos)
      return std::nullopt;
    std::string value = text.slice(1, end).str();
    text = text.drop_front(end + 1);
    return value;
  }

  Error parseValue(StringRef key, NpyHeader &header) {
    if (key == "descr") {
      if (peek('['))
        return createStringError(
            "structured dtypes are not supported; save a plain float32 "
            "array (arr.astype(np.float32))");
      header.descr = parseString();
      if (!header.descr)
        return fail("'descr' must be a string");
      return Error::success();
    }
    if (key == "fortran_order") {
      text = text.ltrim();
      if (text.consume_front("True"))
        header.fortranOrder = true;
      else if (text.consume_front("False"))
        header.fortranOrder = false;
      else
        return fail("'fortran_order' must be True or False");
      return Error::success();
    }
    if (key == "shape") {
      if (!consume('('))
        return fail("'shape' must be a tuple");
      SmallVector<int64_t> shape;
      while (!consume(')')) {
        text = text.ltrim();
        size_t digits = text.find_first_not_of("0123456789");
        uint64_t dim;
        if (digits == 0 || text.substr(0, digits).getAsInteger(10, dim) ||
            dim > static_cast<uint64_t>(INT64_MAX))
          return fail("'shape' must hold non-negative integers");
        shape.push_back(static_cast<int64_t>(dim));
        text = text.drop_front(digits);
        if (!consume(',') && !peek(')'))
          return fail("expected ',' or ')' in 'shape'");
      }
      header.shape = std::move(shape);
      return Error::success();
    }
    return fail("unexpected key '" + key + "'");
  }

  StringRef text;
};

std::string formatShape(ArrayRef<int64_t> shape) {
  return "(" +
         join(map_range(shape, [](int64_t d) { return itostr(d); }), ", ") +
         (shape.size() == 1 ? ",)" : ")");
}

} // namespace

Expected<NpyArray> quantopt::readNpyFloat32(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> file =
      readRegularFile(path, "the file");
  if (!file)
    return file.takeError();
  StringRef bytes = (*file)->getBuffer();

  static constexpr StringLiteral kMagic("\x93NUMPY");
  if (!bytes.starts_with(kMagic)) {
    if (bytes.starts_with("PK\x03\x04"))
      return createStringError(
          "this is a .npz archive (or another zip file); pass each array as "
          "its own .npy file");
    return createStringError("not a .npy file (it does not start with the "
                             "magic string \\x93NUMPY)");
  }
  if (bytes.size() < kMagic.size() + 2)
    return createStringError("truncated .npy file: no format version");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  unsigned minor = static_cast<uint8_t>(bytes[7]);
  size_t lengthBytes;
  if (major == 1)
    lengthBytes = 2;
  else if (major == 2 || major == 3)
    lengthBytes = 4;
  else
    return createStringError(
        formatv("unsupported .npy format version {0}.{1}; versions 1.0, 2.0 "
                "and 3.0 are supported",
                major, minor)
            .str());
  size_t preamble = kMagic.size() + 2 + lengthBytes;
  if (bytes.size() < preamble)
    return createStringError("truncated .npy file: no header length");
  uint64_t headerLength =
      lengthBytes == 2
          ? support::endian::read16le(bytes.data() + 8)
          : static_cast<uint64_t>(support::endian::read32le(bytes.data() + 8));
  if (bytes.size() - preamble < headerLength)
    return createStringError(
        formatv("truncated .npy file: the header is {0} bytes but the file "
                "ends after {1}",
                headerLength, bytes.size() - preamble)
            .str());

  Expected<NpyHeader> header =
      HeaderParser(bytes.substr(preamble, headerLength)).parse();
  if (!header)
    return header.takeError();
  if (*header->descr != "<f4") {
    if (*header->descr == ">f4")
      return createStringError(
          "unsupported dtype '>f4' (big-endian float32); save little-endian "
          "float32: arr.astype('<f4')");
    return createStringError(
        "unsupported dtype '" + *header->descr +
        "'; quant-calibrate reads float32 ('<f4') arrays: save "
        "arr.astype(np.float32)");
  }
  if (*header->fortranOrder)
    return createStringError(
        "Fortran-order arrays are not supported; save a C-order array: "
        "np.save(path, np.ascontiguousarray(arr))");

  NpyArray array;
  array.shape = std::move(*header->shape);
  uint64_t elements = 1;
  for (int64_t dim : array.shape)
    if (dim != 0 && elements > UINT64_MAX / 4 / static_cast<uint64_t>(dim))
      return createStringError("shape " + formatShape(array.shape) +
                               " is too large");
    else
      elements *= static_cast<uint64_t>(dim);
  uint64_t dataOffset = preamble + headerLength;
  uint64_t available = bytes.size() - dataOffset;
  uint64_t needed = elements * sizeof(float);
  if (available < needed)
    return createStringError(
        formatv("truncated data: shape {0} needs {1} bytes of float32 data "
                "but the file holds {2}",
                formatShape(array.shape), needed, available)
            .str());
  if (available > needed)
    return createStringError(
        formatv("{0} unexpected bytes after the data of shape {1}; the file "
                "is not a single .npy array",
                available - needed, formatShape(array.shape))
            .str());

  const char *data = bytes.data() + dataOffset;
  if (sys::IsLittleEndianHost &&
      reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) {
    array.data = ArrayRef(reinterpret_cast<const float *>(data), elements);
  } else {
    array.copy.resize(elements);
    for (uint64_t i = 0; i < elements; ++i) {
      uint32_t raw = support::endian::read32le(data + i * sizeof(float));
      array.copy[i] = llvm::bit_cast<float>(raw);
    }
    array.data = array.copy;
  }
  array.buffer = std::move(*file);
  return array;
}
