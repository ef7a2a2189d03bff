//===- Program.cpp - Reading programs, writing outputs --------------------===//

#include "fusevm/Support/Program.h"

#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Core/Diag.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fusevm {

llvm::Error readFile(const std::string &Path, std::string &Out) {
  FILE *F = Path == "-" ? stdin : std::fopen(Path.c_str(), "rb");
  if (!F)
    return makeError(ExitNoInput, "cannot open '" + Path +
                                      "': " + std::strerror(errno));
  struct stat St;
  if (fstat(fileno(F), &St) == 0 && S_ISDIR(St.st_mode)) {
    if (F != stdin)
      std::fclose(F);
    return makeError(ExitNoInput, "cannot open '" + Path + "': Is a directory");
  }
  Out.clear();
  char Buf[65536];
  size_t N;
  while ((N = std::fread(Buf, 1, sizeof(Buf), F)) > 0)
    Out.append(Buf, N);
  bool Failed = std::ferror(F);
  int Err = errno;
  if (F != stdin)
    std::fclose(F);
  if (Failed)
    return makeError(ExitNoInput,
                     "cannot read '" + Path + "': " + std::strerror(Err));
  return llvm::Error::success();
}

llvm::Expected<Chunk> loadProgram(const std::string &Path) {
  std::string Bytes;
  if (llvm::Error E = readFile(Path, Bytes))
    return E;
  std::string Name = Path == "-" ? "<stdin>" : Path;
  // A file that starts like the magic number but is too short to hold it
  // is a truncated .fbc, not text.
  size_t Common = std::min(Bytes.size(), sizeof(FbcMagic));
  if (!Bytes.empty() && std::memcmp(Bytes.data(), FbcMagic, Common) == 0)
    return readFbc(Bytes, Name);
  return assemble(Bytes, Name);
}

llvm::Error writeFileAtomic(const std::string &Path, std::string_view Data) {
  auto Fail = [&](const std::string &What) {
    return makeError(ExitCantWrite, "cannot write '" + Path + "': " + What);
  };
  if (Path == "-") {
    if (std::fwrite(Data.data(), 1, Data.size(), stdout) != Data.size() ||
        std::fflush(stdout) != 0)
      return Fail(std::strerror(errno));
    return llvm::Error::success();
  }
  std::string Tmp = Path + ".tmp-" + std::to_string(getpid());
  int Fd = ::open(Tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (Fd < 0)
    return Fail(std::strerror(errno));
  size_t Done = 0;
  while (Done < Data.size()) {
    ssize_t W = ::write(Fd, Data.data() + Done, Data.size() - Done);
    if (W < 0) {
      if (errno == EINTR)
        continue;
      int Err = errno;
      ::close(Fd);
      ::unlink(Tmp.c_str());
      return Fail(std::strerror(Err));
    }
    Done += static_cast<size_t>(W);
  }
  if (::fsync(Fd) != 0 && errno != EINVAL && errno != EROFS) {
    int Err = errno;
    ::close(Fd);
    ::unlink(Tmp.c_str());
    return Fail(std::strerror(Err));
  }
  if (::close(Fd) != 0 || ::rename(Tmp.c_str(), Path.c_str()) != 0) {
    int Err = errno;
    ::unlink(Tmp.c_str());
    return Fail(std::strerror(Err));
  }
  return llvm::Error::success();
}

} // namespace fusevm
