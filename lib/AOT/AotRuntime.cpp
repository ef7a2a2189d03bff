//===- AotRuntime.cpp - Running an ahead-of-time compiled program ---------===//
//
// \file
// fusevm_aot_run (AotImage.h): the runtime half of `fusevmc --emit=obj`.
// The chunk the object carries is decoded and verified like any .fbc, then
// run by the VM with an engine that hands out the object's compiled
// functions instead of compiling: the tier policy of `--jit=block` (every
// function native from its first call), with the interpreter behind every
// guard. Nothing of LLVM's code generator is linked in.
//
//===----------------------------------------------------------------------===//

#include "fusevm/AOT/AotImage.h"

#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Config.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/VM/VM.h"

#include <cstdio>
#include <malloc.h>
#include <string>
#include <string_view>

namespace fusevm {
namespace {

/// The functions an image was compiled with, as a JitEngine.
class AotEngine final : public JitEngine {
public:
  explicit AotEngine(const FusevmAotImage &I) : Image(I) {}
  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override {
    if (R.OsrIp >= 0) {
      Why = "compiled ahead of time without on-stack-replacement entries";
      return false;
    }
    if (R.Func >= Image.NumFunctions || !Image.Functions[R.Func].Entry) {
      Why = "not compiled ahead of time";
      return false;
    }
    // The tier manager asks again without speculation (no GlobalKinds, or
    // ops named in NoSpeculation) once a guard keeps failing.
    const FusevmAotFunction &F = Image.Functions[R.Func];
    bool Speculate = !R.GlobalKinds.empty() && R.NoSpeculation.empty();
    Out.Entry = reinterpret_cast<NativeEntryFn>(Speculate ? F.Entry : F.PlainEntry);
    Out.Fast = Speculate ? F.Fast : F.PlainFast;
    Out.Generated = false;
    return true;
  }
  bool compileObject(const JitRequest &, std::string &, std::string &Why) override {
    Why = "the ahead-of-time runtime has no code generator";
    return false;
  }

private:
  const FusevmAotImage &Image;
};

std::string programName(int argc, char **argv) {
  std::string_view P = argc > 0 && argv[0] ? argv[0] : "fusevm";
  size_t Slash = P.rfind('/');
  return std::string(Slash == std::string_view::npos ? P : P.substr(Slash + 1));
}

} // namespace
} // namespace fusevm

using namespace fusevm;

extern "C" int fusevm_aot_run(const FusevmAotImage *Image, int argc,
                              char **argv) {
  std::string Tool = programName(argc, argv);
  if (!Image || Image->Magic != FUSEVM_AOT_MAGIC || Image->Abi != FUSEVM_AOT_ABI ||
      Image->Format != FormatVersion) {
    std::fprintf(stderr,
                 "%s: error: this program was compiled for another fusevm "
                 "runtime: it needs runtime ABI %u and format version %u "
                 "(compiled by fusevm %s); this runtime is ABI %u, format "
                 "version %u (fusevm %s)\n",
                 Tool.c_str(), Image ? Image->Abi : 0u,
                 Image ? Image->Format : 0u,
                 Image && Image->Version ? Image->Version : "?", FUSEVM_AOT_ABI,
                 FormatVersion, FUSEVM_VERSION_STRING);
    return ExitRejected;
  }
  // As the fusevm tool: freed memory stays with the process (fresh arrays
  // in a loop would otherwise cost two brk calls each).
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);

  llvm::Expected<Chunk> C = readFbc(
      std::string_view(reinterpret_cast<const char *>(Image->Chunk),
                       Image->ChunkSize),
      Tool);
  if (!C)
    return reportError(C.takeError(), Tool);
  if (C->Functions.size() != Image->NumFunctions) {
    std::fprintf(stderr, "%s: error: the compiled code and the program it "
                         "carries do not match (%u functions, %zu in the "
                         "chunk)\n",
                 Tool.c_str(), Image->NumFunctions, C->Functions.size());
    return ExitRejected;
  }
  AotEngine Engine(*Image);
  RunOptions Opts;
  for (int I = 1; I < argc; ++I)
    Opts.Args.push_back(argv[I]);
  Opts.Jit = &Engine;
  Opts.Mode = RunOptions::JitMode::Block;
  Opts.BackgroundCompile = false;
  Opts.CountOps = false;
  VM Vm;
  RunResult R;
  if (llvm::Error E = Vm.run(*C, Opts, R))
    return reportError(std::move(E), Tool);
  std::fflush(stdout);
  return R.exitCode();
}
