//===- fusevmc.cpp - Compile a fusevm program -----------------------------===//
//
// \file
// fusevmc [options] PROGRAM -o OUTPUT   (spec/cli.md)
//
// Loads text or binary, verifies it, and writes the requested form: .fbc,
// .fasm, LLVM IR, an object file, or an executable (the object linked with
// the fusevm runtime library by the system's C compiler driver). Nothing is
// written when anything fails: every output goes to a temporary file that is
// renamed into place.
//
//===----------------------------------------------------------------------===//

#include "fusevm/AOT/AOT.h"
#include "fusevm/Asm/Assembler.h"
#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Bytecode/Fuse.h"
#include "fusevm/Cache/CachingEngine.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/JIT/JIT.h"
#include "fusevm/Support/Program.h"
#include "fusevm/Verify/Verifier.h"

#include "ToolSupport.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace fusevm;

/// --cache=DIR: compiles every function of \p C as `fusevm` would for its
/// calls (optimised, its parameters specialised to the kinds the whole
/// program passes) and stores the code, so that the first `fusevm` run of
/// the program finds it: main runs natively from its first op.
static int prewarmCache(const Chunk &C, const VerifyInfo &Info,
                        const std::string &Dir, unsigned OptLevel) {
  JitOptions JO;
  JO.OptLevel = OptLevel;
  JO.Helpers = &nativeRuntimeSymbols();
  std::unique_ptr<JitEngine> Inner = createJitEngine(JO);
  CacheConfig Cfg;
  Cfg.Dir = Dir;
  Cfg.OptLevel = OptLevel;
  bool Failed = false;
  Cfg.Warn = [&](const std::string &W) {
    std::fprintf(stderr, "fusevmc: error: %s\n", W.c_str());
    Failed = true;
  };
  std::string Warning;
  std::unique_ptr<CachingEngine> J = createCachingEngine(*Inner, Cfg, Warning);
  if (!J) {
    std::fprintf(stderr, "fusevmc: error: --cache: %s\n", Warning.c_str());
    return ExitCantWrite;
  }
  std::vector<std::vector<KindMask>> Params = wholeProgramParamKinds(C, Info);
  GlobalSpeculation Globals = wholeProgramGlobalKinds(C, Info, Params);
  uint64_t Hash = C.opHash();
  std::string Key(reinterpret_cast<const char *>(&Hash), sizeof Hash);
  Key += C.contentDigest();
  for (uint32_t F = 0; F < C.Functions.size() && !Failed; ++F) {
    JitRequest R;
    R.C = &C;
    R.Info = &Info;
    R.ChunkKey = Key;
    R.Func = F;
    R.Linear = isLinearFunction(C, F);
    R.Level = JitLevel::Optimised;
    R.ParamMasks = Params[F];
    R.GlobalKinds = Globals.Vars; // guarded: a failing guard recompiles
    R.ElementKinds = Globals.Elements;
    JitResult Res;
    std::string Why;
    if (!J->compile(R, Res, Why)) {
      std::fprintf(stderr, "fusevmc: error: --cache: cannot compile %s: %s\n",
                   C.functionName(F).c_str(), Why.c_str());
      return ExitCantWrite;
    }
  }
  J->finish();
  return Failed ? ExitCantWrite : ExitOk;
}

static std::string emitFromExtension(const std::string &Out) {
  if (Out == "-")
    return "asm";
  auto EndsWith = [&](const char *S) {
    std::string Suffix(S);
    return Out.size() >= Suffix.size() &&
           Out.compare(Out.size() - Suffix.size(), Suffix.size(), Suffix) == 0;
  };
  if (EndsWith(".fbc"))
    return "fbc";
  if (EndsWith(".fasm"))
    return "asm";
  if (EndsWith(".ll"))
    return "llvm";
  if (EndsWith(".o"))
    return "obj";
  size_t Slash = Out.find_last_of('/');
  std::string Base = Slash == std::string::npos ? Out : Out.substr(Slash + 1);
  return Base.find('.') == std::string::npos ? "exe" : "";
}

static std::string selfDir() {
  char Buf[PATH_MAX];
  ssize_t N = ::readlink("/proc/self/exe", Buf, sizeof Buf - 1);
  if (N <= 0)
    return ".";
  std::string Exe(Buf, size_t(N));
  return Exe.substr(0, Exe.rfind('/'));
}

static bool isFile(const std::string &P) {
  struct stat St;
  return ::stat(P.c_str(), &St) == 0 && S_ISREG(St.st_mode);
}

/// The runtime library executables link: $FUSEVM_RUNTIME_LIBRARY, else
/// beside an installed fusevmc (PREFIX/bin -> PREFIX/lib), else in the
/// build tree (build/tools/fusevmc -> build/lib).
static std::string findRuntime(std::string &Tried) {
  if (const char *E = std::getenv("FUSEVM_RUNTIME_LIBRARY"))
    return E;
  std::string Dir = selfDir();
  for (const std::string &P :
       {Dir + "/../lib/libfusevm-runtime.a",
        Dir + "/../" FUSEVM_INSTALL_LIBDIR "/libfusevm-runtime.a",
        Dir + "/../../lib/libfusevm-runtime.a",
        std::string(FUSEVM_INSTALL_PREFIX "/" FUSEVM_INSTALL_LIBDIR
                    "/libfusevm-runtime.a")}) {
    if (isFile(P))
      return P;
    Tried += (Tried.empty() ? "" : ", ") + P;
  }
  return "";
}

/// Runs \p Argv; its exit status, or -1 when it could not be started.
/// Its stderr is passed through (the linker's messages).
static int runCommand(const std::vector<std::string> &Argv) {
  pid_t Pid = ::fork();
  if (Pid < 0)
    return -1;
  if (Pid == 0) {
    std::vector<char *> A;
    for (const std::string &S : Argv)
      A.push_back(const_cast<char *>(S.c_str()));
    A.push_back(nullptr);
    ::dup2(2, 1); // the linker's output is diagnostics
    ::execvp(A[0], A.data());
    std::fprintf(stderr, "fusevmc: error: cannot run '%s': %s\n", A[0],
                 std::strerror(errno));
    ::_exit(127);
  }
  int Status;
  while (::waitpid(Pid, &Status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(Status) ? WEXITSTATUS(Status) : 128 + WTERMSIG(Status);
}

/// Links \p Object into the executable \p Output with the runtime library.
static int linkExecutable(const std::string &Object, const std::string &Output) {
  std::string Tried;
  std::string Runtime = findRuntime(Tried);
  if (Runtime.empty()) {
    std::fprintf(stderr,
                 "fusevmc: error: cannot find the fusevm runtime library "
                 "libfusevm-runtime.a (looked at %s; set "
                 "FUSEVM_RUNTIME_LIBRARY)\n",
                 Tried.c_str());
    return ExitCantWrite;
  }
  // Write next to the output (standard output: in the temporary
  // directory), then rename: never a partial executable.
  std::string Tmp;
  if (Output == "-") {
    const char *TmpDir = std::getenv("TMPDIR");
    Tmp = std::string(TmpDir && *TmpDir ? TmpDir : "/tmp") + "/fusevmc-";
  } else {
    Tmp = Output + ".tmp-";
  }
  Tmp += std::to_string(::getpid());
  std::string ObjFile = Tmp + ".o";
  if (llvm::Error E = writeFileAtomic(ObjFile, Object)) {
    llvm::consumeError(std::move(E));
    std::fprintf(stderr, "fusevmc: error: cannot write '%s': %s\n",
                 Output.c_str(), std::strerror(errno));
    return ExitCantWrite;
  }
  const char *CC = std::getenv("CC");
  std::vector<std::string> Argv = {CC && *CC ? CC : "cc", "-o", Tmp, ObjFile,
                                   Runtime};
  if (::access("/usr/bin/ld.lld", X_OK) == 0)
    Argv.push_back("-fuse-ld=lld");
  for (const char *L : {"-l:libstdc++.a", "-lm", "-lpthread", "-ldl"})
    Argv.push_back(L);
  int Code = runCommand(Argv);
  ::unlink(ObjFile.c_str());
  if (Code != 0) {
    ::unlink(Tmp.c_str());
    std::fprintf(stderr, "fusevmc: error: linking '%s' failed (%s exited with "
                         "%d)\n",
                 Output.c_str(), Argv[0].c_str(), Code);
    return ExitCantWrite;
  }
  if (Output == "-") {
    std::string Bytes;
    llvm::Error E = readFile(Tmp, Bytes);
    ::unlink(Tmp.c_str());
    if (E)
      return reportError(std::move(E), "fusevmc");
    if (llvm::Error W = writeFileAtomic("-", Bytes))
      return reportError(std::move(W), "fusevmc");
    return ExitOk;
  }
  if (::rename(Tmp.c_str(), Output.c_str()) != 0) {
    int Err = errno;
    ::unlink(Tmp.c_str());
    std::fprintf(stderr, "fusevmc: error: cannot write '%s': %s\n",
                 Output.c_str(), std::strerror(Err));
    return ExitCantWrite;
  }
  return ExitOk;
}

int main(int argc, char **argv) {
  CLI::App App{"fusevmc - compile fusevm bytecode", "fusevmc"};
  tools::setupApp(App, "fusevmc",
      "Usage: fusevmc [options] PROGRAM -o OUTPUT\n"
      "  PROGRAM is a .fasm or .fbc file, or - for standard input;\n"
      "  OUTPUT - writes to standard output.");
  App.footer(
      "--emit defaults from OUTPUT's extension: .fbc -> fbc, .fasm -> asm,\n"
      ".ll -> llvm, .o -> obj, no extension -> exe (and - -> asm).\n"
      "An object exports fusevm_aot_entry and carries the program; linked\n"
      "with the fusevm runtime library (libfusevm-runtime.a) it runs as\n"
      "fusevm --jit=off would. --emit=exe links it with the C compiler\n"
      "driver ($CC, else cc; lld when installed).\n"
      "--cache=DIR fills the code cache fusevm --cache=DIR reads, for this\n"
      "machine, with code for the program as compiled (after --fuse).\n"
      "Exit codes: 0 success, 64 usage error, 65 input rejected, 66 input\n"
      "cannot be opened, 74 output or cache cannot be written (or linked).");
  std::string Input, Output, Emit, Target, Cpu, Cache;
  std::vector<std::string> HostBuiltins;
  unsigned OptLevel = 2;
  bool Fuse = false;
  App.add_option("PROGRAM", Input, "Input program (.fasm or .fbc)")
      ->required();
  App.add_option("-o", Output, "Output file (- for standard output)")
      ->required()
      ->type_name("OUTPUT");
  App.add_option("--emit", Emit,
                 "Output kind: fbc (binary bytecode), asm (text), llvm (LLVM "
                 "IR text), obj (relocatable object), exe (executable)")
      ->check(CLI::IsMember({"fbc", "asm", "llvm", "obj", "exe"}))
      ->type_name("KIND");
  App.add_option("-O", OptLevel,
                 "LLVM optimisation level for llvm, obj and exe: -O0 .. -O3 "
                 "(default -O2)")
      ->check(CLI::Range(0u, 3u))
      ->type_name("LEVEL");
  App.add_option("--target", Target,
                 "Code generation target triple (default: this machine)")
      ->type_name("TRIPLE");
  App.add_option("--cpu", Cpu,
                 "Target CPU (default: this machine's, with its features; "
                 "with --target: generic)")
      ->type_name("NAME");
  App.add_flag("--fuse", Fuse,
               "Rewrite unfused op sequences into the fused superinstructions "
               "of isa.md where exactly equivalent");
  App.add_option("--host-builtin", HostBuiltins,
                 "Accept host builtin ID (>= 256) taking ARGC arguments "
                 "(ARGC -1: any) when verifying; repeatable")
      ->type_name("ID:ARGC")
      ->take_all()
      ->expected(1)
      ->allow_extra_args(false);
  App.add_option("--cache", Cache,
                 "Also compile every function for this machine as fusevm "
                 "does and store the code in the code cache under DIR, so "
                 "that the first `fusevm --cache=DIR` run is warm (at the "
                 "-O level given here; fusevm's default is -O2)")
      ->type_name("DIR");
  if (int Code = tools::parseArgs(App, "fusevmc", argc, argv); Code >= 0)
    return Code;

  if (Output.empty()) {
    std::fprintf(stderr, "fusevmc: error: -o needs a file name (or - for "
                         "standard output)\n");
    return ExitUsage;
  }
  struct stat St;
  if (Output != "-" && ::stat(Output.c_str(), &St) == 0 && S_ISDIR(St.st_mode)) {
    std::fprintf(stderr, "fusevmc: error: cannot write '%s': it is a "
                         "directory\n",
                 Output.c_str());
    return ExitCantWrite;
  }
  if (!Cache.empty() && (!Target.empty() || !Cpu.empty())) {
    std::fprintf(stderr, "fusevmc: error: --cache stores code for this "
                         "machine; it cannot be used with --target or --cpu\n");
    return ExitUsage;
  }
  if (Emit.empty())
    Emit = emitFromExtension(Output);
  if (Emit.empty()) {
    std::fprintf(stderr,
                 "fusevmc: error: cannot tell the output kind from '%s'; use "
                 "--emit=fbc, asm, llvm, obj or exe\n",
                 Output.c_str());
    return ExitUsage;
  }

  HostEnv Env;
  for (const std::string &B : HostBuiltins) {
    size_t Colon = B.find(':');
    try {
      if (Colon == std::string::npos)
        throw std::invalid_argument("");
      int Id = std::stoi(B.substr(0, Colon));
      int Argc = std::stoi(B.substr(Colon + 1));
      if (Id < FirstHostBuiltin || Id > 65535 || Argc < -1 || Argc > 255)
        throw std::out_of_range("");
      Env.Builtins[static_cast<uint16_t>(Id)] = Argc;
    } catch (const std::exception &) {
      std::fprintf(stderr,
                   "fusevmc: error: --host-builtin=%s: expected ID:ARGC with "
                   "ID 256-65535 and ARGC -1-255\n",
                   B.c_str());
      return ExitUsage;
    }
  }

  llvm::Expected<Chunk> C = loadProgram(Input);
  if (!C)
    return reportError(C.takeError(), "fusevmc");
  llvm::Expected<VerifyInfo> V = verify(*C, Env);
  if (!V)
    return reportError(V.takeError(), "fusevmc");
  if (Fuse) {
    *C = fuseChunk(*C);
    // The rewrite must keep the chunk valid; if it ever did not, that is a
    // bug here, reported rather than written out.
    V = verify(*C, Env);
    if (!V) {
      llvm::consumeError(V.takeError());
      std::fprintf(stderr, "fusevmc: error: internal error: --fuse produced "
                           "a chunk that fails verification\n");
      return ExitRejected;
    }
  }
  auto Finish = [&] {
    return Cache.empty() ? ExitOk : prewarmCache(*C, *V, Cache, OptLevel);
  };
  if (Emit == "fbc" || Emit == "asm") {
    std::string Bytes = Emit == "fbc" ? writeFbc(*C) : disassemble(*C);
    if (llvm::Error E = writeFileAtomic(Output, Bytes))
      return reportError(std::move(E), "fusevmc");
    return Finish();
  }
  AotOptions AO;
  AO.OptLevel = OptLevel;
  AO.Triple = Target;
  AO.CPU = Cpu;
  llvm::Expected<std::string> Code = compileAot(
      *C, *V, AO, Emit == "llvm" ? AotOutput::LLVM : AotOutput::Object);
  if (!Code) {
    std::string Msg = llvm::toString(Code.takeError());
    std::fprintf(stderr, "fusevmc: error: %s\n", Msg.c_str());
    return ExitUsage; // an unknown target or CPU
  }
  if (Emit == "exe") {
    if (int Linked = linkExecutable(*Code, Output))
      return Linked;
    return Finish();
  }
  if (llvm::Error E = writeFileAtomic(Output, *Code))
    return reportError(std::move(E), "fusevmc");
  return Finish();
}
