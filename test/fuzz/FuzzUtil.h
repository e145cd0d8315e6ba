//===- FuzzUtil.h - Helpers shared by the fuzz targets ----------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The readers under test that only take a path get the fuzz input through a
// file in a directory private to the fuzzing process: in /dev/shm when it
// exists (no disk traffic at millions of executions), $TMPDIR otherwise. A
// private directory also keeps inputs that name sibling files (an ONNX
// model's external data) from reaching anything but the input itself.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TEST_FUZZ_FUZZUTIL_H
#define QUANTOPT_TEST_FUZZ_FUZZUTIL_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace quantopt::fuzz {

/// A file in a private temporary directory, rewritten for every input and
/// removed (with the directory) at exit.
class InputFile {
public:
  explicit InputFile(const char *name) {
    const char *base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nullptr;
    if (!base)
      base = std::getenv("TMPDIR");
    dir = std::string(base ? base : "/tmp") + "/quantopt-fuzz-XXXXXX";
    if (!::mkdtemp(dir.data())) {
      std::perror("quantopt fuzz: mkdtemp");
      std::abort();
    }
    path = dir + "/" + name;
  }
  ~InputFile() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;

  /// Replaces the file's contents with `data`; aborts when it cannot, since
  /// every later execution would then test nothing.
  const std::string &write(const uint8_t *data, size_t size) {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) ||
        std::fclose(f) != 0) {
      std::perror("quantopt fuzz: writing the input file");
      std::abort();
    }
    return path;
  }

private:
  std::string dir;
  std::string path;
};

} // namespace quantopt::fuzz

#endif // QUANTOPT_TEST_FUZZ_FUZZUTIL_H
