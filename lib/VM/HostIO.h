//===- HostIO.h - Standard output and input of a run ------------*- C++ -*-===//
//
// \file
// Print/PrintLn write to a buffer that is flushed before ReadLine blocks,
// at exit and before a runtime error is reported (isa.md "Input and
// output"); ReadLine reads lines from fd 0 or the host's reader.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_HOSTIO_H
#define FUSEVM_LIB_VM_HOSTIO_H

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace fusevm {

/// Buffered standard output (or the host's sink).
class OutBuffer {
public:
  explicit OutBuffer(const std::function<void(std::string_view)> &Sink)
      : Sink(Sink) {
    Buf.reserve(1 << 16);
  }
  std::string Buf;
  void flush();
  void maybeFlush() {
    if (Buf.size() >= (1 << 16))
      flush();
  }

private:
  const std::function<void(std::string_view)> &Sink;
};

/// Lines from standard input (fd 0), or the host's reader.
class InReader {
public:
  explicit InReader(const std::function<bool(std::string &)> &Host)
      : Host(Host) {}
  /// False at end of input. A line longer than \p Max sets \p TooLong.
  bool readLine(std::string &Line, uint64_t Max, bool &TooLong);

private:
  bool fill();
  const std::function<bool(std::string &)> &Host;
  std::string Buf;
  size_t Pos = 0;
  bool Eof = false;
};

} // namespace fusevm

#endif // FUSEVM_LIB_VM_HOSTIO_H
