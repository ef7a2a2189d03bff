//===- JitDiffFuzz.cpp - Interpreter vs every native tier -----------------===//
//
// \file
// Generates random, verified, terminating programs (functions calling only
// later functions, bounded loops, scopes, ints, floats, strings, bools,
// undef, global arrays and hashes, builtins, runtime errors) and runs each
// under the interpreter and under every JIT mode. stdout, main's result,
// the status register and the error message (with FILE:LINE) must be
// identical; the first difference prints the program and fails.
//
//   fusevm-jit-diff-fuzz [--programs N] [--seed S] [--keep FILE]
//
//===----------------------------------------------------------------------===//

#include "fusevm/Cache/CachingEngine.h"
#include "fusevm/AOT/AOT.h"
#include "fusevm/Asm/Assembler.h"
#include "fusevm/JIT/JIT.h"
#include "fusevm/VM/VM.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace fusevm;

namespace {

class Gen {
public:
  explicit Gen(uint64_t Seed) : Rng(Seed) {}
  std::string program();

private:
  std::mt19937_64 Rng;
  std::string Out;
  unsigned Label = 0;
  unsigned NumFuncs = 0, CurFunc = 0;
  std::vector<unsigned> Arity;
  unsigned LoopDepth = 0, Budget = 0;

  unsigned pick(unsigned N) { return N ? unsigned(Rng() % N) : 0; }
  bool chance(unsigned Percent) { return pick(100) < Percent; }
  void op(const std::string &S) { Out += "        " + S + "\n"; }
  std::string label() { return "L" + std::to_string(Label++); }
  void expr(unsigned Depth);
  void stmt(unsigned Depth);
  void body(unsigned Depth, unsigned N) {
    for (unsigned I = 0; I < N && Budget > 0; ++I, --Budget)
      stmt(Depth);
  }
  void leaf();
};

void Gen::leaf() {
  static const char *const Ints[] = {"0", "1", "2", "-1", "7", "-13", "100",
                                     "9223372036854775807",
                                     "-9223372036854775808", "3", "65536"};
  static const char *const Floats[] = {"0.5", "-0.0", "2.25", "1e300",
                                       "-3.75", "0.1", "1e-7", "100.0"};
  static const char *const Strs[] = {"\"12\"", "\" 3.5 \"", "\"abc\"", "\"\"",
                                     "\"0\"", "\"-7x\"", "\"1e3\"", "\"b\""};
  // Mostly numbers, so that the tiers' int and float paths run as often
  // as their slow paths.
  switch (pick(20)) {
  case 0: case 1: case 2: case 3: case 4:
    op("LoadInt " + std::to_string(int(pick(41)) - 20));
    break;
  case 5: op(std::string("LoadInt ") + Ints[pick(11)]); break;
  case 6: case 7: op(std::string("LoadFloat ") + Floats[pick(8)]); break;
  case 8: op(std::string("LoadConst ") + Strs[pick(8)]); break;
  case 9: op(chance(50) ? "LoadTrue" : chance(50) ? "LoadFalse" : "LoadUndef"); break;
  case 10: op("GetVar G"); break;
  default: op("GetSlot " + std::to_string(pick(5))); break;
  }
}

void Gen::expr(unsigned Depth) {
  if (Depth == 0 || chance(30)) {
    leaf();
    return;
  }
  static const char *const Bin[] = {
      "Add",   "Sub",   "Mul",   "Div",   "Mod",    "Pow",    "Concat",
      "NumEq", "NumNe", "NumLt", "NumGt", "NumLe",  "NumGe",  "StrEq",
      "StrLt", "StrCmp", "Spaceship", "LogAnd", "LogOr", "BitAnd", "BitOr",
      "BitXor", "Shl", "Shr", "Add", "Sub", "Mul", "NumLt", "Add", "Sub",
      "Mul", "Div", "Mod", "NumLe", "NumGt", "NumEq"};
  static const char *const Un[] = {"Negate", "Inc",    "Dec",
                                   "LogNot", "BitNot", "StringLen"};
  switch (pick(12)) {
  case 0: case 1: case 2: case 3:
    expr(Depth - 1);
    expr(Depth - 1);
    op(Bin[pick(sizeof Bin / sizeof *Bin)]);
    break;
  case 4:
    expr(Depth - 1);
    op(Un[pick(6)]);
    break;
  case 5:
    expr(Depth - 1);
    op(chance(50) ? "ArrayGet A" : "HashGet H");
    break;
  case 6:
    if (chance(25)) {
      // A self-recursive function (rec(n) = n + rec(n - 1)), a few deep.
      op("LoadInt " + std::to_string(pick(6)));
      op("Call rec, 1");
    } else if (CurFunc + 1 < NumFuncs) {
      unsigned F = CurFunc + 1 + pick(NumFuncs - CurFunc - 1);
      for (unsigned A = 0; A < Arity[F]; ++A)
        expr(Depth - 1);
      op("Call f" + std::to_string(F) + ", " + std::to_string(Arity[F]));
    } else {
      op("ArrayLen A");
    }
    break;
  case 7: {
    // sqrt floor abs min max int float str type ord chr
    static const struct { unsigned Id, Argc; } Bs[] = {
        {0, 1}, {7, 1}, {11, 1}, {12, 2}, {13, 2}, {14, 1},
        {15, 1}, {16, 1}, {24, 1}, {19, 1}, {20, 1}, {9, 1}};
    auto B = Bs[pick(12)];
    for (unsigned A = 0; A < B.Argc; ++A)
      expr(Depth - 1);
    op("CallBuiltin " + std::to_string(B.Id) + ", " + std::to_string(B.Argc));
    if (B.Id == 24 && chance(50)) {
      // A frontend's type test: type(x) compared with a kind's name (or
      // another string).
      static const char *const Names[] = {"\"undef\"", "\"int\"", "\"float\"",
                                          "\"str\"",   "\"array\"", "\"hash\"",
                                          "\"bool\"",  "\"table\"", "\"status\""};
      op(std::string("LoadConst ") + Names[pick(9)]);
      op(chance(50) ? "StrEq" : "StrNe");
    }
    break;
  }
  case 8: {
    unsigned N = pick(3);
    for (unsigned A = 0; A < N; ++A)
      expr(Depth - 1);
    op("MakeArray " + std::to_string(N));
    break;
  }
  case 9:
    expr(Depth - 1);
    op("Dup");
    op(chance(50) ? "Mul" : "Concat");
    break;
  case 10:
    expr(Depth - 1);
    expr(Depth - 1);
    op("Swap");
    op(chance(50) ? "Sub" : "StrLt");
    break;
  default:
    expr(Depth - 1);
    op("LoadInt " + std::to_string(pick(4)));
    op("StringRepeat");
    break;
  }
}

void Gen::stmt(unsigned Depth) {
  unsigned Kind = pick(Depth ? 12 : 7);
  switch (Kind) {
  case 0: case 1: case 2:
    expr(3);
    op("SetSlot " + std::to_string(pick(5)));
    break;
  case 3:
    expr(3);
    op("PrintLn 1");
    break;
  case 4:
    expr(2);
    expr(2);
    op(chance(50) ? "ArraySet A" : "HashSet H");
    break;
  case 5:
    expr(2);
    op(chance(50) ? "ArrayPush A" : "SetVar G");
    break;
  case 6: {
    // the fused shapes: s = s + 1, s = s + t
    unsigned S = pick(5);
    op("GetSlot " + std::to_string(S));
    op(chance(50) ? "LoadInt 1" : "GetSlot " + std::to_string(pick(5)));
    op("Add");
    op("SetSlot " + std::to_string(S));
    break;
  }
  case 7: case 8: {
    std::string Else = label(), End = label();
    expr(2);
    op(chance(80) ? "JumpIfFalse " + Else : "JumpIfTrue " + Else);
    body(Depth - 1, 1 + pick(3));
    op("Jump " + End);
    Out += Else + ":\n";
    body(Depth - 1, pick(3));
    Out += End + ":\n";
    break;
  }
  case 9: case 10: {
    if (LoopDepth >= 2)
      break;
    std::string Head = label(), End = label();
    std::string C = std::to_string(8 + LoopDepth);
    op("LoadInt 0");
    op("SetSlot " + C);
    Out += Head + ":\n";
    op("GetSlot " + C);
    op("LoadInt " + std::to_string(pick(12)));
    op("NumLt");
    op("JumpIfFalse " + End);
    ++LoopDepth;
    if (chance(30)) {
      // A slot's kind changes mid-loop (a trace recorded before it must
      // leave, or another trace be made for the new kinds).
      std::string Same = label();
      op("GetSlot " + C);
      op("LoadInt " + std::to_string(1 + pick(4)));
      op("NumEq");
      op("JumpIfFalse " + Same);
      op(chance(50) ? "LoadFloat 0.25" : "LoadConst \"k\"");
      op("SetSlot " + std::to_string(pick(5)));
      Out += Same + ":\n";
    }
    body(Depth - 1, 1 + pick(4));
    --LoopDepth;
    op("GetSlot " + C);
    op("LoadInt 1");
    op("Add");
    op("SetSlot " + C);
    op("Jump " + Head);
    Out += End + ":\n";
    break;
  }
  default:
    if (LoopDepth)
      break; // counters live in the enclosing frame
    op("PushFrame");
    body(Depth - 1, 1 + pick(3));
    op("PopFrame");
    break;
  }
}

std::string Gen::program() {
  Out.clear();
  NumFuncs = 1 + pick(4);
  Arity.assign(NumFuncs, 0);
  for (unsigned F = 1; F < NumFuncs; ++F)
    Arity[F] = pick(3);
  for (unsigned F = 0; F < NumFuncs; ++F) {
    CurFunc = F;
    Budget = 14;
    if (F) {
      Out += "\n.func f" + std::to_string(F) + " " + std::to_string(Arity[F]) +
             "\n";
    } else {
      op("DeclareArray A");
      op("DeclareHash H");
    }
    // Typed locals: most slots start as numbers.
    for (unsigned Sl = Arity[F]; Sl < 5; ++Sl) {
      if (chance(15))
        continue;
      op(chance(70) ? "LoadInt " + std::to_string(int(pick(21)) - 10)
                    : "LoadFloat " + std::to_string(int(pick(21)) - 10) + ".5");
      op("SetSlot " + std::to_string(Sl));
    }
    body(3, 3 + pick(6));
    if (chance(20)) {
      op("GetStatus");
      op("LoadInt " + std::to_string(pick(300)));
      op("Add");
      op("SetStatus");
    }
    if (chance(80)) {
      expr(3);
      op("ReturnValue");
    } else {
      op("Return");
    }
    if (F)
      Out += ".end\n";
  }
  Out += "\n.func rec 1\n"
         "        GetSlot 0\n        LoadInt 0\n        NumLe\n"
         "        JumpIfFalse Lrec\n        LoadInt 1\n        ReturnValue\n"
         "Lrec:\n        GetSlot 0\n        LoadInt 1\n        Sub\n"
         "        Call rec, 1\n        GetSlot 0\n        Add\n"
         "        ReturnValue\n.end\n";
  return Out;
}

struct Outcome {
  std::string Stdout, Result, Error;
  int32_t Status = 0;
  bool operator==(const Outcome &O) const {
    return Stdout == O.Stdout && Result == O.Result && Error == O.Error &&
           Status == O.Status;
  }
};

/// LLVM code generation runs over all runs (RunStats::LLVMCompiles).
unsigned long long TotalCompiles = 0;
/// Traces compiled and side exits taken over all runs (the trace lanes).
unsigned long long TotalTraces = 0, TotalSideExits = 0;

Outcome runWith(const Chunk &C, JitEngine *Jit, RunOptions::JitMode Mode,
                uint32_t Threshold, bool Background = false,
                uint32_t OptThreshold = 0, uint64_t *Compiles = nullptr,
                bool Stress = false, bool Plain = false) {
  VM Vm;
  RunOptions Opts;
  Opts.Superinstructions = !Plain;
  Opts.Trace.TraceThreshold = Threshold;
  Opts.TraceStress = Stress;
  if (Stress)
    Opts.Trace.HotExit = 1;
  Outcome O;
  Opts.Output = [&O](std::string_view S) { O.Stdout.append(S); };
  Opts.Jit = Jit;
  Opts.Mode = Mode;
  Opts.JitThreshold = Threshold;
  Opts.BackgroundCompile = Background;
  Opts.OptimiseThreshold = OptThreshold;
  Opts.CountOps = false;
  RunResult R;
  if (llvm::Error E = Vm.run(C, Opts, R))
    O.Error = llvm::toString(std::move(E));
  else
    O.Result = toStdString(R.Result);
  O.Status = R.Status;
  TotalCompiles += R.Stats.LLVMCompiles;
  TotalTraces += R.Stats.TracesCompiled;
  TotalSideExits += R.Stats.SideExits;
  if (Compiles)
    *Compiles = R.Stats.LLVMCompiles;
  return O;
}

/// The ahead-of-time compiler's view of a program in this process: every
/// request compiled as fusevmc compiles it (parameter kinds from the
/// whole-program analyses, speculation on globals from the program text
/// until a guard keeps failing, no OSR entries).
class AotLowering final : public JitEngine {
public:
  explicit AotLowering(JitEngine &Inner) : Inner(Inner) {}
  bool compile(const JitRequest &R, JitResult &Out, std::string &Why) override {
    if (R.OsrIp >= 0) {
      Why = "no OSR entries ahead of time";
      return false;
    }
    if (R.ChunkKey != Cached) { // a new program (chunks move in memory)
      Params = wholeProgramParamKinds(*R.C, *R.Info);
      Globals = wholeProgramGlobalKinds(*R.C, *R.Info, Params);
      Cached = R.ChunkKey;
    }
    JitRequest A = R;
    A.ParamMasks = Params[R.Func];
    // As the AOT runtime chooses between a function's two versions.
    bool Speculate = !R.GlobalKinds.empty() && R.NoSpeculation.empty();
    A.GlobalKinds = Speculate ? Globals.Vars : std::vector<KindMask>();
    A.ElementKinds = Speculate ? Globals.Elements : std::vector<KindMask>();
    A.NoSpeculation.clear();
    for (KindMask M : A.GlobalKinds)
      if (M) {
        ++Speculating;
        break;
      }
    A.Level = JitLevel::Optimised;
    return Inner.compile(A, Out, Why);
  }
  bool compileObject(const JitRequest &R, std::string &O,
                     std::string &Why) override {
    return Inner.compileObject(R, O, Why);
  }

private:
  JitEngine &Inner;
  std::string Cached;
  std::vector<std::vector<KindMask>> Params;
  GlobalSpeculation Globals;

public:
  unsigned Speculating = 0; ///< compiles speculating on a global's kind
};

/// An executable from `fusevmc --emit=exe`, run as a process: its stdout,
/// exit code and the first line of its stderr.
struct ExeOutcome {
  std::string Stdout, Err;
  int Code = -1;
};
ExeOutcome runExe(const std::string &Fusevmc, const std::string &Text) {
  ExeOutcome O;
  std::string Dir = "/tmp/fusevm-jit-diff-" + std::to_string(::getpid());
  std::string Src = Dir + ".fasm", Exe = Dir + ".exe", Out = Dir + ".out",
              Err = Dir + ".err";
  std::ofstream(Src) << Text;
  std::string Build = Fusevmc + " " + Src + " --emit=exe -o " + Exe;
  if (std::system(Build.c_str()) != 0) {
    O.Err = "fusevmc failed";
    return O;
  }
  std::string Run = Exe + " >" + Out + " 2>" + Err + " </dev/null";
  int St = std::system(Run.c_str());
  O.Code = WIFEXITED(St) ? WEXITSTATUS(St) : -1;
  std::ifstream OutF(Out), ErrF(Err);
  O.Stdout.assign(std::istreambuf_iterator<char>(OutF), {});
  std::getline(ErrF, O.Err);
  for (const std::string &F : {Src, Exe, Out, Err})
    std::remove(F.c_str());
  return O;
}

void show(const char *Name, const Outcome &O) {
  std::fprintf(stderr, "--- %s: status %d, result '%s', error '%s', stdout:\n%s\n",
               Name, O.Status, O.Result.c_str(), O.Error.c_str(),
               O.Stdout.c_str());
}

} // namespace

int main(int argc, char **argv) {
  unsigned Programs = 200;
  uint64_t Seed = 1;
  std::string Keep, Fusevmc;
  unsigned ExeEvery = 0; ///< every Nth program also as an AOT executable
  for (int I = 1; I < argc; ++I) {
    if (!std::strcmp(argv[I], "--programs") && I + 1 < argc)
      Programs = unsigned(std::strtoul(argv[++I], nullptr, 10));
    else if (!std::strcmp(argv[I], "--seed") && I + 1 < argc)
      Seed = std::strtoull(argv[++I], nullptr, 10);
    else if (!std::strcmp(argv[I], "--keep") && I + 1 < argc)
      Keep = argv[++I];
    else if (!std::strcmp(argv[I], "--aot-exe") && I + 2 < argc) {
      Fusevmc = argv[++I];
      ExeEvery = unsigned(std::strtoul(argv[++I], nullptr, 10));
    }
    else {
      std::fprintf(stderr,
                   "usage: fusevm-jit-diff-fuzz [--programs N] [--seed S] "
                   "[--keep FILE] [--aot-exe FUSEVMC EVERY]\n");
      return 64;
    }
  }
  // One engine per configuration, reused across programs like a process's
  // one ORC session. O0 keeps the compile cost of many small programs low;
  // O2 is what fusevm runs.
  JitOptions O2, O0;
  O2.Helpers = O0.Helpers = &nativeRuntimeSymbols();
  O0.OptLevel = 0;
  auto Block = createJitEngine(O2), Linear = createJitEngine(O0),
       Hot = createJitEngine(O0), Warm = createJitEngine(O2),
       AotInner = createJitEngine(O2), Trace = createJitEngine(O0);
  AotLowering Aot(*AotInner);
  // The warm-cache lane: a cold run fills the code cache, then a warm run
  // through a new caching engine (as a new process would make) installs
  // and runs what it kept, generating nothing.
  auto CacheInner = createJitEngine(O0);
  std::string CacheDir = "/tmp/fusevm-jit-diff-cache-" + std::to_string(::getpid());
  CacheConfig CacheCfg;
  CacheCfg.Dir = CacheDir;
  CacheCfg.OptLevel = 0;
  unsigned WarmRuns = 0, WarmCompiled = 0;
  struct Mode {
    const char *Name;
    JitEngine *Jit;
    RunOptions::JitMode M;
    uint32_t Threshold;
    bool Background;
    uint32_t OptThreshold; ///< 0: optimised at once
    bool Stress = false;   ///< trace: leave once at every branch
  } Modes[] = {
      {"block -O2", Block.get(), RunOptions::JitMode::Block, 1, false, 0},
      {"linear -O0", Linear.get(), RunOptions::JitMode::Linear, 1, false, 0},
      {"auto threshold 1 -O0", Hot.get(), RunOptions::JitMode::Auto, 1, false,
       0},
      {"auto threshold 3 -O2, background compiles", Warm.get(),
       RunOptions::JitMode::Auto, 3, true, 0},
      // The two levels: baseline code only; and baseline code swapped for
      // optimised code as soon as it is hot (calls and loops mid-run), on
      // this thread and in the background.
      {"auto threshold 1, baseline only", Warm.get(), RunOptions::JitMode::Auto,
       1, false, 4000000000u},
      {"auto threshold 1, optimised after 2", Warm.get(),
       RunOptions::JitMode::Auto, 1, false, 2},
      {"auto threshold 2, optimised after 3, background compiles", Warm.get(),
       RunOptions::JitMode::Auto, 2, true, 3},
      // As fusevmc compiles ahead of time.
      {"aot lowering", &Aot, RunOptions::JitMode::Block, 1, false, 0},
      // The tracing tier: every loop traced after one backward branch;
      // after two, with every trace leaving once at each branch and every
      // exit recording a side trace at once.
      {"trace threshold 1", Trace.get(), RunOptions::JitMode::Trace, 1, false, 0},
      {"trace threshold 2, stress", Trace.get(), RunOptions::JitMode::Trace, 2,
       false, 0, true}};
  unsigned Exes = 0;
  Gen G(Seed);
  unsigned Errors = 0;
  for (unsigned P = 0; P < Programs; ++P) {
    std::string Text = G.program();
    if (std::getenv("FUSEVM_FUZZ_PRINT"))
      std::fprintf(stderr, "=== program %u\n%s", P, Text.c_str());
    llvm::Expected<Chunk> C = assemble(Text, "gen.fasm");
    if (!C) {
      std::fprintf(stderr, "jit-diff-fuzz: generated program %u does not "
                           "assemble: %s\n%s",
                   P, llvm::toString(C.takeError()).c_str(), Text.c_str());
      return 1;
    }
    // The reference: the plain ops, as isa.md defines them; the quickened
    // interpreter is one more configuration checked against it.
    Outcome Want = runWith(*C, nullptr, RunOptions::JitMode::Auto, 1, false, 0,
                           nullptr, false, /*Plain=*/true);
    Outcome Quick = runWith(*C, nullptr, RunOptions::JitMode::Auto, 1);
    if (!(Quick == Want)) {
      std::fprintf(stderr,
                   "jit-diff-fuzz: program %u (seed %llu) differs in the "
                   "quickened interpreter\n%s",
                   P, (unsigned long long)Seed, Text.c_str());
      show("plain ops", Want);
      show("quickened", Quick);
      return 1;
    }
    if (!Want.Error.empty())
      ++Errors;
    if (Want.Error.find("error: ") == std::string::npos && !Want.Error.empty()) {
      std::fprintf(stderr, "jit-diff-fuzz: program %u rejected: %s\n%s", P,
                   Want.Error.c_str(), Text.c_str());
      return 1;
    }
    for (const Mode &M : Modes) {
      Outcome Got = runWith(*C, M.Jit, M.M, M.Threshold, M.Background,
                            M.OptThreshold, nullptr, M.Stress);
      if (!(Got == Want)) {
        std::fprintf(stderr,
                     "jit-diff-fuzz: program %u (seed %llu) differs under %s\n"
                     "%s",
                     P, (unsigned long long)Seed, M.Name, Text.c_str());
        show("interpreter", Want);
        show(M.Name, Got);
        if (!Keep.empty())
          std::ofstream(Keep) << Text;
        return 1;
      }
    }
    for (int Run = 0; Run < 2; ++Run) {
      std::string Warning;
      auto J = createCachingEngine(*CacheInner, CacheCfg, Warning);
      if (!J) {
        std::fprintf(stderr, "jit-diff-fuzz: cache: %s\n", Warning.c_str());
        return 1;
      }
      uint64_t Compiles = 0;
      Outcome Got = runWith(*C, J.get(), RunOptions::JitMode::Auto, 1, false,
                            2, &Compiles);
      const char *Name = Run ? "warm cache" : "cold cache";
      // A warm run installs optimised code from the first call, so code
      // that speculated on kinds can fail more often than it did cold and
      // be recompiled without the speculation: allowed, and counted.
      WarmCompiled += Run == 1 && Compiles != 0;
      if (!(Got == Want)) {
        std::fprintf(stderr,
                     "jit-diff-fuzz: program %u (seed %llu) differs under %s "
                     "(%llu compiles)\n%s",
                     P, (unsigned long long)Seed, Name,
                     (unsigned long long)Compiles, Text.c_str());
        show("interpreter", Want);
        show(Name, Got);
        if (!Keep.empty())
          std::ofstream(Keep) << Text;
        return 1;
      }
      WarmRuns += Run;
    }
    if (ExeEvery && P % ExeEvery == 0) {
      // The same program as an executable: what it prints, its exit code
      // (the status, or 70 with the interpreter's diagnostic).
      ExeOutcome E = runExe(Fusevmc, Text);
      int WantCode = Want.Error.empty() ? (Want.Status & 255) : 70;
      std::string WantErr = Want.Error.substr(0, Want.Error.find('\n'));
      if (E.Stdout != Want.Stdout || E.Code != WantCode ||
          (!Want.Error.empty() &&
           E.Err.find(WantErr.substr(WantErr.find("error: "))) ==
               std::string::npos)) {
        std::fprintf(stderr,
                     "jit-diff-fuzz: program %u (seed %llu) differs as an AOT "
                     "executable: exit %d (want %d), stderr '%s'\n%s",
                     P, (unsigned long long)Seed, E.Code, WantCode,
                     E.Err.c_str(), Text.c_str());
        show("interpreter", Want);
        return 1;
      }
      ++Exes;
    }
  }
  std::filesystem::remove_all(CacheDir);
  std::printf("jit-diff-fuzz: %u of them also cold then warm through the code "
              "cache (%u warm runs recompiled code whose speculation failed)\n",
              WarmRuns, WarmCompiled);
  if (Exes)
    std::printf("jit-diff-fuzz: %u of them also as AOT executables\n", Exes);
  std::printf("jit-diff-fuzz: %u AOT-lowered functions speculated on a "
              "global's kind from the program text\n", Aot.Speculating);
  std::printf("jit-diff-fuzz: %u programs (seed %llu) x %zu tiers agree with "
              "the interpreter; %u end in a runtime error; %llu compiles, %llu "
              "of them traces, which took %llu side exits\n",
              Programs, (unsigned long long)Seed, sizeof Modes / sizeof *Modes,
              Errors, TotalCompiles, TotalTraces, TotalSideExits);
  return 0;
}
