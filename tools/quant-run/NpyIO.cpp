//===- NpyIO.cpp - .npy and .npz reading and writing ----------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "NpyIO.h"

#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/Endian.h"

#include <cstdlib>
#include <cstring>

#if QUANTRUN_HAVE_ZLIB
#include <zlib.h>
#endif

using namespace llvm;
using namespace llvm::support::endian;
using namespace quantopt;

static constexpr uint64_t kAlignment = 64;
static constexpr char kNpyMagic[] = "\x93NUMPY";

//===----------------------------------------------------------------------===//
// .npy header
//===----------------------------------------------------------------------===//

namespace {

/// A value of the header's Python dict literal.
struct HeaderValue {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string text;
  bool flag = false;
  SmallVector<int64_t> ints;
};

/// Parses the dict literal numpy writes, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : text(text) {}

  Error parse(StringMap<HeaderValue> &dict) {
    skipSpace();
    if (!consume('{'))
      return error("expected '{'");
    while (true) {
      skipSpace();
      if (consume('}'))
        return Error::success();
      std::string key;
      if (Error e = parseString(key))
        return e;
      skipSpace();
      if (!consume(':'))
        return error("expected ':' after '" + key + "'");
      skipSpace();
      HeaderValue value;
      if (Error e = parseValue(value))
        return e;
      dict[key] = std::move(value);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        return Error::success();
      return error("expected ',' or '}'");
    }
  }

private:
  Error error(const Twine &message) {
    return createStringError("malformed .npy header (" + message +
                             " at character " + Twine(pos) + ")");
  }
  void skipSpace() {
    while (pos < text.size() && isSpace(text[pos]))
      ++pos;
  }
  bool consume(char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  Error parseString(std::string &out) {
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return error("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == StringRef::npos)
      return error("unterminated string");
    out = text.slice(pos, end).str();
    pos = end + 1;
    return Error::success();
  }
  Error parseValue(HeaderValue &value) {
    if (pos < text.size() && (text[pos] == '\'' || text[pos] == '"')) {
      value.kind = HeaderValue::String;
      return parseString(value.text);
    }
    if (text.substr(pos).starts_with("True") ||
        text.substr(pos).starts_with("False")) {
      value.kind = HeaderValue::Bool;
      value.flag = text[pos] == 'T';
      pos += value.flag ? 4 : 5;
      return Error::success();
    }
    if (consume('(')) {
      value.kind = HeaderValue::Tuple;
      while (true) {
        skipSpace();
        if (consume(')'))
          return Error::success();
        size_t start = pos;
        while (pos < text.size() && isDigit(text[pos]))
          ++pos;
        int64_t dim;
        if (text.slice(start, pos).getAsInteger(10, dim))
          return error("expected a non-negative integer in the shape");
        // numpy 1.x wrote Python 2 longs as "3L".
        consume('L');
        value.ints.push_back(dim);
        skipSpace();
        if (consume(','))
          continue;
        skipSpace();
        if (consume(')'))
          return Error::success();
        return error("expected ',' or ')' in the shape");
      }
    }
    if (pos < text.size() && text[pos] == '[')
      return error("structured dtypes are not supported");
    return error("unexpected value");
  }

  StringRef text;
  size_t pos = 0;
};

/// Maps a numpy descr ("<f4") to a bundle dtype.
Error parseDescr(StringRef descr, qrt_dtype &dtype) {
  if (descr.size() < 2)
    return createStringError("unsupported dtype '" + descr + "'");
  char order = descr[0];
  StringRef code = descr.drop_front();
  static const struct {
    const char *code;
    qrt_dtype dtype;
  } kCodes[] = {{"f4", QRT_DTYPE_FLOAT32}, {"f2", QRT_DTYPE_FLOAT16},
                {"i1", QRT_DTYPE_INT8},    {"u1", QRT_DTYPE_UINT8},
                {"i2", QRT_DTYPE_INT16},   {"u2", QRT_DTYPE_UINT16},
                {"i4", QRT_DTYPE_INT32},   {"u4", QRT_DTYPE_UINT32},
                {"i8", QRT_DTYPE_INT64},   {"u8", QRT_DTYPE_UINT64},
                {"b1", QRT_DTYPE_BOOL},    {"f8", QRT_DTYPE_FLOAT64}};
  for (const auto &entry : kCodes) {
    if (code != entry.code)
      continue;
    bool singleByte = qrt_dtype_size(entry.dtype) == 1;
    if (order == '>' && !singleByte)
      return createStringError(
          "big-endian dtype '" + descr +
          "' is not supported; save the array little-endian, e.g. "
          "np.save(f, x.astype(x.dtype.newbyteorder('<')))");
    if (order != '<' && order != '|' && order != '=' && order != '>')
      return createStringError("unsupported dtype '" + descr + "'");
    dtype = entry.dtype;
    return Error::success();
  }
  return createStringError(
      "unsupported dtype '" + descr +
      "'; a bundle takes float32, float64, float16, int8, uint8, int16, "
      "uint16, "
      "int32, int64, uint32, uint64 or bool arrays: convert it, e.g. "
      "np.save(f, x.astype(np.float32))");
}

/// A 64-byte aligned copy of `bytes`.
std::shared_ptr<uint8_t> alignedCopy(const uint8_t *bytes, uint64_t size) {
  void *memory =
      std::aligned_alloc(kAlignment, alignTo(size ? size : 1, kAlignment));
  if (!memory)
    return nullptr;
  if (size)
    std::memcpy(memory, bytes, size);
  return std::shared_ptr<uint8_t>(static_cast<uint8_t *>(memory), std::free);
}

} // namespace

Expected<NpyArray> quantopt::parseNpy(StringRef contents,
                                      std::shared_ptr<MemoryBuffer> buffer) {
  if (contents.size() < 10 || !contents.starts_with(StringRef(kNpyMagic, 6)))
    return createStringError("not a .npy file (bad magic); write it with "
                             "numpy.save");
  uint8_t major = contents[6];
  uint64_t headerLength, headerStart;
  if (major == 1) {
    headerLength = read16le(contents.data() + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (contents.size() < 12)
      return createStringError("truncated .npy header");
    headerLength = read32le(contents.data() + 8);
    headerStart = 12;
  } else {
    return createStringError("unsupported .npy format version " +
                             Twine(unsigned(major)) + "." +
                             Twine(unsigned(uint8_t(contents[7]))) +
                             " (1.0, 2.0 and 3.0 are supported)");
  }
  if (headerStart + headerLength > contents.size())
    return createStringError("truncated .npy header: it declares " +
                             Twine(headerLength) + " bytes, the file has " +
                             Twine(contents.size() - headerStart));
  StringRef headerText = contents.substr(headerStart, headerLength);
  StringMap<HeaderValue> dict;
  if (Error e = HeaderParser(headerText).parse(dict))
    return std::move(e);

  NpyArray array;
  auto descr = dict.find("descr");
  if (descr == dict.end() || descr->second.kind != HeaderValue::String)
    return createStringError("malformed .npy header: no 'descr' string");
  if (Error e = parseDescr(descr->second.text, array.dtype))
    return std::move(e);
  auto fortran = dict.find("fortran_order");
  if (fortran == dict.end() || fortran->second.kind != HeaderValue::Bool)
    return createStringError(
        "malformed .npy header: no 'fortran_order' boolean");
  if (fortran->second.flag)
    return createStringError(
        "the array is in Fortran order; save it in C order, e.g. "
        "np.save(f, np.ascontiguousarray(x))");
  auto shape = dict.find("shape");
  if (shape == dict.end() || shape->second.kind != HeaderValue::Tuple)
    return createStringError("malformed .npy header: no 'shape' tuple");
  array.shape = shape->second.ints;

  uint64_t elements = 1;
  for (int64_t dim : array.shape)
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(dim), &elements))
      return createStringError("shape too large");
  if (__builtin_mul_overflow(elements, qrt_dtype_size(array.dtype),
                             &array.bytes))
    return createStringError("shape too large");
  uint64_t dataStart = headerStart + headerLength;
  uint64_t available = contents.size() - dataStart;
  if (available < array.bytes)
    return createStringError(
        "truncated data: the header declares " + Twine(elements) + " " +
        qrt_dtype_name(array.dtype) + " elements (" + Twine(array.bytes) +
        " bytes), the file has " + Twine(available) + " bytes of data");
  const auto *data =
      reinterpret_cast<const uint8_t *>(contents.data() + dataStart);
  if (buffer && reinterpret_cast<uintptr_t>(data) % kAlignment == 0) {
    array.buffer = std::move(buffer);
    array.data = data;
  } else {
    array.copy = alignedCopy(data, array.bytes);
    if (!array.copy)
      return createStringError("out of memory");
    array.data = array.copy.get();
  }
  return std::move(array);
}

Expected<NpyArray> quantopt::readNpy(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> file =
      readRegularFile(path, "the file");
  if (!file)
    return file.takeError();
  std::shared_ptr<MemoryBuffer> buffer = std::move(*file);
  return parseNpy(buffer->getBuffer(), buffer);
}

//===----------------------------------------------------------------------===//
// .npz (zip) reading
//===----------------------------------------------------------------------===//

Expected<std::vector<std::pair<std::string, NpyArray>>>
quantopt::readNpz(StringRef path) {
  Expected<std::unique_ptr<MemoryBuffer>> file =
      readRegularFile(path, "the file");
  if (!file)
    return file.takeError();
  StringRef zip = (*file)->getBuffer();
  auto bad = [](const Twine &what) {
    return createStringError("not a valid .npz (zip) file: " + what +
                             "; write it with numpy.savez");
  };

  // End of central directory: the last "PK\5\6" within the final 64 KiB.
  if (zip.size() < 22)
    return bad("too short");
  size_t eocd = StringRef::npos;
  size_t lowest = zip.size() > 65557 ? zip.size() - 65557 : 0;
  for (size_t i = zip.size() - 22 + 1; i-- > lowest;)
    if (zip.substr(i, 4) == StringRef("PK\x05\x06", 4)) {
      eocd = i;
      break;
    }
  if (eocd == StringRef::npos)
    return bad("no end of central directory record");
  const char *p = zip.data() + eocd;
  uint64_t count = read16le(p + 10);
  uint64_t cdSize = read32le(p + 12);
  uint64_t cdOffset = read32le(p + 16);
  if ((count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) &&
      eocd >= 20 && zip.substr(eocd - 20, 4) == StringRef("PK\x06\x07", 4)) {
    uint64_t zip64 = read64le(zip.data() + eocd - 20 + 8);
    if (zip64 + 56 > zip.size() ||
        zip.substr(zip64, 4) != StringRef("PK\x06\x06", 4))
      return bad("bad zip64 end of central directory");
    count = read64le(zip.data() + zip64 + 32);
    cdSize = read64le(zip.data() + zip64 + 40);
    cdOffset = read64le(zip.data() + zip64 + 48);
  }
  if (cdOffset > zip.size() || cdSize > zip.size() - cdOffset)
    return bad("central directory out of bounds");

  std::shared_ptr<MemoryBuffer> buffer = std::move(*file);
  std::vector<std::pair<std::string, NpyArray>> arrays;
  StringSet<> seen;
  uint64_t pos = cdOffset;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos + 46 > cdOffset + cdSize ||
        zip.substr(pos, 4) != StringRef("PK\x01\x02", 4))
      return bad("bad central directory entry " + Twine(i));
    const char *entry = zip.data() + pos;
    uint16_t flags = read16le(entry + 8);
    uint16_t method = read16le(entry + 10);
    uint32_t crc = read32le(entry + 16);
    uint64_t compressed = read32le(entry + 20);
    uint64_t uncompressed = read32le(entry + 24);
    uint16_t nameLength = read16le(entry + 28);
    uint16_t extraLength = read16le(entry + 30);
    uint16_t commentLength = read16le(entry + 32);
    uint64_t localOffset = read32le(entry + 42);
    if (pos + 46 + nameLength + extraLength > zip.size())
      return bad("central directory entry " + Twine(i) + " out of bounds");
    std::string name = zip.substr(pos + 46, nameLength).str();
    // Zip64 sizes and offset, each present only if its 32-bit field is full.
    StringRef extra = zip.substr(pos + 46 + nameLength, extraLength);
    while (extra.size() >= 4) {
      uint16_t id = read16le(extra.data());
      uint16_t size = read16le(extra.data() + 2);
      StringRef body = extra.substr(4, size);
      if (id == 0x0001) {
        size_t at = 0;
        for (uint64_t *field : {&uncompressed, &compressed, &localOffset})
          if (*field == 0xFFFFFFFF && at + 8 <= body.size()) {
            *field = read64le(body.data() + at);
            at += 8;
          }
      }
      extra = extra.drop_front(std::min<size_t>(extra.size(), 4 + size));
    }
    pos += 46 + nameLength + extraLength + commentLength;

    std::string where = "entry '" + name + "'";
    if (flags & 1)
      return createStringError(
          where + " is encrypted; write the file with numpy.savez");
    if (localOffset + 30 > zip.size() ||
        zip.substr(localOffset, 4) != StringRef("PK\x03\x04", 4))
      return bad(where + ": bad local header");
    uint64_t dataStart = localOffset + 30 +
                         read16le(zip.data() + localOffset + 26) +
                         read16le(zip.data() + localOffset + 28);
    if (dataStart > zip.size() || compressed > zip.size() - dataStart)
      return createStringError(where + " is truncated; write the file again "
                                       "with numpy.savez");
    StringRef stored = zip.substr(dataStart, compressed);

    StringRef contents;
    std::shared_ptr<MemoryBuffer> keepAlive;
    std::unique_ptr<WritableMemoryBuffer> inflated;
    if (method == 0) {
      if (compressed != uncompressed)
        return bad(where + ": stored sizes disagree");
      contents = stored;
      keepAlive = buffer;
    } else if (method == 8) {
#if QUANTRUN_HAVE_ZLIB
      // Deflate expands at most 1032:1; a larger declared size is a lie
      // that must not become a huge allocation.
      if (uncompressed / 1032 > compressed + 1)
        return bad(where + ": declares " + Twine(uncompressed) +
                   " uncompressed bytes from " + Twine(compressed) +
                   " compressed, more than deflate can produce");
      inflated = WritableMemoryBuffer::getNewUninitMemBuffer(uncompressed);
      if (!inflated)
        return createStringError("out of memory inflating " + where);
      z_stream stream{};
      if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
        return createStringError("cannot initialize zlib");
      stream.next_in =
          reinterpret_cast<Bytef *>(const_cast<char *>(stored.data()));
      stream.avail_in = stored.size();
      stream.next_out = reinterpret_cast<Bytef *>(inflated->getBufferStart());
      stream.avail_out = uncompressed;
      int rc = inflate(&stream, Z_FINISH);
      uint64_t produced = stream.total_out;
      inflateEnd(&stream);
      if (rc != Z_STREAM_END || produced != uncompressed)
        return createStringError(where + " is corrupted (deflate stream "
                                         "does not decompress); write the "
                                         "file again");
      contents =
          StringRef(inflated->getBufferStart(), inflated->getBufferSize());
#else
      return createStringError(
          where + " is compressed (numpy.savez_compressed) and this "
                  "quant-run was built without zlib; write it with "
                  "numpy.savez instead");
#endif
    } else {
      return createStringError(where + " uses zip compression method " +
                               Twine(method) +
                               ", which is not supported; write the file "
                               "with numpy.savez");
    }
    if (crc32(arrayRefFromStringRef(contents)) != crc)
      return createStringError(where + " fails its CRC-32 check; the file "
                                       "is corrupted");
    Expected<NpyArray> array = parseNpy(contents, keepAlive);
    if (!array)
      return createStringError(where + ": " + toString(array.takeError()));
    StringRef key = name;
    key.consume_back(".npy");
    if (!seen.insert(key).second)
      return createStringError("entry '" + key + "' appears twice");
    arrays.emplace_back(key.str(), std::move(*array));
  }
  return std::move(arrays);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

static const char *npyDescr(qrt_dtype dtype) {
  switch (dtype) {
  case QRT_DTYPE_FLOAT32:
    return "<f4";
  case QRT_DTYPE_FLOAT16:
    return "<f2";
  case QRT_DTYPE_INT8:
    return "|i1";
  case QRT_DTYPE_UINT8:
    return "|u1";
  case QRT_DTYPE_INT16:
    return "<i2";
  case QRT_DTYPE_UINT16:
    return "<u2";
  case QRT_DTYPE_INT32:
    return "<i4";
  case QRT_DTYPE_INT64:
    return "<i8";
  case QRT_DTYPE_UINT32:
    return "<u4";
  case QRT_DTYPE_UINT64:
    return "<u8";
  case QRT_DTYPE_BOOL:
    return "|b1";
  case QRT_DTYPE_FLOAT64:
    return "<f8";
  }
  return "|u1";
}

std::string quantopt::writeNpy(qrt_dtype dtype, ArrayRef<int64_t> shape,
                               const void *data, uint64_t bytes) {
  std::string header = std::string("{'descr': '") + npyDescr(dtype) +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    header += (i ? ", " : "") + std::to_string(shape[i]);
  header += shape.size() == 1 ? ",), }" : "), }";
  // Pad with spaces and a newline so that the data starts 64-byte aligned.
  bool v2 = header.size() + 11 > 65535;
  size_t preamble = v2 ? 12 : 10;
  size_t total = alignTo(preamble + header.size() + 1, kAlignment);
  header.append(total - preamble - header.size() - 1, ' ');
  header += '\n';

  std::string out(kNpyMagic, 6);
  out += char(v2 ? 2 : 1);
  out += char(0);
  // Little-endian header length: 2 bytes (1.0) or 4 bytes (2.0).
  for (size_t i = 0, n = v2 ? 4 : 2; i < n; ++i)
    out += char((header.size() >> (8 * i)) & 0xff);
  out += header;
  out.append(static_cast<const char *>(data), bytes);
  return out;
}

Expected<std::string>
quantopt::writeNpz(ArrayRef<std::pair<std::string, std::string>> entries) {
  std::string zip, central;
  char buf[8];
  auto u16 = [&](std::string &out, uint16_t v) {
    write16le(buf, v);
    out.append(buf, 2);
  };
  auto u32 = [&](std::string &out, uint32_t v) {
    write32le(buf, v);
    out.append(buf, 4);
  };
  for (const auto &[key, contents] : entries) {
    std::string name = key + ".npy";
    if (contents.size() >= 0xFFFFFFFFull || zip.size() >= 0xFFFFFFFFull)
      return createStringError("output '" + key +
                               "' is too large for a .npz file (4 GiB); "
                               "use --output-dir to write .npy files");
    uint32_t crc = crc32(arrayRefFromStringRef(contents));
    uint32_t offset = zip.size();
    // Local file header: version 2.0, no flags, stored, 1980-01-01.
    u32(zip, 0x04034b50);
    u16(zip, 20);
    u16(zip, 0);
    u16(zip, 0);
    u16(zip, 0);
    u16(zip, 0x21);
    u32(zip, crc);
    u32(zip, contents.size());
    u32(zip, contents.size());
    u16(zip, name.size());
    u16(zip, 0);
    zip += name;
    zip += contents;

    u32(central, 0x02014b50);
    u16(central, 20);
    u16(central, 20);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0x21);
    u32(central, crc);
    u32(central, contents.size());
    u32(central, contents.size());
    u16(central, name.size());
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u16(central, 0);
    u32(central, 0);
    u32(central, offset);
    central += name;
  }
  if (zip.size() >= 0xFFFFFFFFull || entries.size() >= 0xFFFF)
    return createStringError("the outputs are too large for a .npz file "
                             "(4 GiB); use --output-dir to write .npy files");
  uint32_t centralOffset = zip.size();
  zip += central;
  u32(zip, 0x06054b50);
  u16(zip, 0);
  u16(zip, 0);
  u16(zip, entries.size());
  u16(zip, entries.size());
  u32(zip, central.size());
  u32(zip, centralOffset);
  u16(zip, 0);
  return std::move(zip);
}
