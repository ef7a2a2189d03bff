//===- HostIO.cpp - Standard output and input of a run --------------------===//

#include "HostIO.h"

#include <cerrno>
#include <unistd.h>

namespace fusevm {

void OutBuffer::flush() {
  if (Buf.empty())
    return;
  if (Sink) {
    Sink(Buf);
  } else {
    size_t Done = 0;
    while (Done < Buf.size()) {
      ssize_t W = ::write(1, Buf.data() + Done, Buf.size() - Done);
      if (W < 0) {
        if (errno == EINTR)
          continue;
        break; // stdout is gone; the program still runs to its end
      }
      Done += size_t(W);
    }
  }
  Buf.clear();
}

bool InReader::readLine(std::string &Line, uint64_t Max, bool &TooLong) {
  TooLong = false;
  if (Host) {
    if (!Host(Line))
      return false;
    TooLong = Line.size() > Max;
    return true;
  }
  Line.clear();
  for (;;) {
    size_t Nl = Buf.find('\n', Pos);
    if (Nl != std::string::npos) {
      Line.append(Buf, Pos, Nl - Pos);
      Pos = Nl + 1;
      break;
    }
    Line.append(Buf, Pos, std::string::npos);
    Pos = Buf.size();
    if (Line.size() > Max) {
      TooLong = true;
      return true;
    }
    if (Eof || !fill()) {
      if (Line.empty())
        return false;
      break; // a last line without "\n" still counts
    }
  }
  if (!Line.empty() && Line.back() == '\r')
    Line.pop_back();
  TooLong = Line.size() > Max;
  return true;
}

bool InReader::fill() {
  Buf.resize(1 << 16);
  Pos = 0;
  for (;;) {
    ssize_t R = ::read(0, Buf.data(), Buf.size());
    if (R < 0 && errno == EINTR)
      continue;
    if (R <= 0) {
      Eof = true;
      Buf.clear();
      return false;
    }
    Buf.resize(size_t(R));
    return true;
  }
}

} // namespace fusevm
