//===- fusevm.cpp - Run a fusevm program ----------------------------------===//
//
// \file
// fusevm [options] PROGRAM [--] [ARGS...]   (spec/cli.md)
//
// A thin driver: parse flags, load (text or binary), verify and run through
// the embedding API, print --stats, exit with the documented code.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Cache/CachingEngine.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/JIT/Events.h"
#include "fusevm/JIT/JIT.h"
#include "fusevm/JIT/Trace.h"
#include "fusevm/Support/Program.h"
#include "fusevm/VM/VM.h"

#include "CacheCommand.h"
#include "ToolSupport.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <malloc.h>

using namespace fusevm;


/// --jit-log and the JIT keys of --stats, from the tiers' events.
class ToolListener final : public JitEventListener {
public:
  bool Log = false;
  JitStatsListener Counts;
  void onJitEvent(const JitEvent &E) override {
    Counts.onJitEvent(E);
    if (Log) {
      std::string Line = "fusevm: " + formatJitEvent(E) + "\n";
      std::fwrite(Line.data(), 1, Line.size(), stderr);
    }
  }
};

static void printStats(const RunStats &S, const JitStatsListener &J) {
  // Refused cache entries, in all and by reason.
  uint64_t Rejects = 0;
  std::string ByReason;
  for (const auto &[Why, N] : J.CacheRejects) {
    Rejects += N;
    ByReason += ", \"cache_rejects_" + Why + "\": " + std::to_string(N);
  }
  std::fprintf(
      stderr,
      "{\"interp_ops\": %llu, \"llvm_compiles\": %llu, \"compile_ms\": %.3f, "
      "\"linear_compiled\": %llu, \"block_compiled\": %llu, "
      "\"native_calls\": %llu, "
      "\"traces_recorded\": %llu, \"traces_compiled\": %llu, "
      "\"traces_aborted\": %llu, \"trace_entries\": %llu, \"side_exits\": %llu, "
      "\"guard_failures\": %llu, \"side_traces\": %llu, \"traces_blacklisted\": %llu, "
      "\"cache_hits\": %llu, \"cache_misses\": %llu, \"cache_stores\": %llu, "
      "\"calls\": %llu, \"back_edges\": %llu, \"osr_entries\": %llu, "
      "\"deopts\": %llu, \"recompiles\": %llu, "
      "\"baseline_compiles\": %llu, \"baseline_ms\": %.3f, "
      "\"optimised_compiles\": %llu, \"optimised_ms\": %.3f, "
      "\"cache_load_ms\": %.3f, \"cache_rejects\": %llu%s}\n",
      static_cast<unsigned long long>(S.InterpOps),
      static_cast<unsigned long long>(J.LLVMCompiles), J.CompileMs,
      static_cast<unsigned long long>(J.LinearCompiled),
      static_cast<unsigned long long>(J.BlockCompiled),
      static_cast<unsigned long long>(S.NativeCalls),
      static_cast<unsigned long long>(S.TracesRecorded),
      static_cast<unsigned long long>(S.TracesCompiled),
      static_cast<unsigned long long>(S.TracesAborted),
      static_cast<unsigned long long>(S.TraceEntries),
      static_cast<unsigned long long>(S.SideExits),
      static_cast<unsigned long long>(S.GuardFailures),
      static_cast<unsigned long long>(S.SideTraces),
      static_cast<unsigned long long>(S.TracesBlacklisted),
      static_cast<unsigned long long>(J.CacheHits),
      static_cast<unsigned long long>(J.CacheMisses),
      static_cast<unsigned long long>(J.CacheStores),
      static_cast<unsigned long long>(S.Calls),
      static_cast<unsigned long long>(S.BackEdges),
      static_cast<unsigned long long>(J.OsrEntries),
      static_cast<unsigned long long>(J.Deopts),
      static_cast<unsigned long long>(J.Recompiles),
      static_cast<unsigned long long>(J.LevelCompiles[0]), J.LevelMs[0],
      static_cast<unsigned long long>(J.LevelCompiles[1]), J.LevelMs[1],
      J.CacheLoadMs, static_cast<unsigned long long>(Rejects), ByReason.c_str());
}

/// --profile-ops: {"ops": {OP: n}, "pairs": [[A, B, n], ...]} (pairs by
/// count, descending).
static int writeProfile(const OpProfile &P, const std::string &Path) {
  std::string J = "{\"ops\": {";
  bool First = true;
  for (unsigned Op = 0; Op < NumOpcodes; ++Op)
    if (P.Ops[Op]) {
      J += (First ? "\"" : ", \"") +
           std::string(mnemonic(static_cast<Opcode>(Op))) +
           "\": " + std::to_string(P.Ops[Op]);
      First = false;
    }
  J += "}, \"pairs\": [";
  std::vector<std::pair<uint64_t, unsigned>> Pairs;
  for (unsigned I = 0; I < NumOpcodes * 256; ++I)
    if (P.Pairs[I])
      Pairs.push_back({P.Pairs[I], I});
  std::sort(Pairs.rbegin(), Pairs.rend());
  First = true;
  for (auto [N, I] : Pairs) {
    J += std::string(First ? "" : ", ") + "[\"" +
         std::string(mnemonic(static_cast<Opcode>(I / 256))) + "\", \"" +
         std::string(mnemonic(static_cast<Opcode>(I % 256))) + "\", " +
         std::to_string(N) + "]";
    First = false;
  }
  J += "]}\n";
  if (Path == "-") {
    std::fwrite(J.data(), 1, J.size(), stderr);
    return 0;
  }
  if (llvm::Error E = writeFileAtomic(Path, J))
    return reportError(std::move(E), "fusevm");
  return 0;
}

/// Programs that build and drop arrays, strings and hashes in a loop would
/// otherwise make glibc hand the top of the heap back to the kernel and
/// take it again on every iteration (two brk calls per fresh array).
static void tuneAllocator() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "cache")
    return runCacheCommand(argc - 1, argv + 1);
  tuneAllocator();
  CLI::App App{"fusevm - run fusevm bytecode (.fasm text or .fbc binary)", "fusevm"};
  tools::setupApp(App, "fusevm",
      "Usage: fusevm [options] PROGRAM [--] [ARGS...]\n"
            "       fusevm cache stats|clear|prune|verify DIR (see fusevm cache --help)\n"
            "  PROGRAM is a .fasm or .fbc file, or - for standard input\n"
            "  (./cache for a program named cache); ARGS become the global\n"
            "  array ARGV.");
  App.prefix_command(); // PROGRAM and everything after it are the program's
  App.footer(
      "Exit codes: the program's status & 255 when it ends normally;\n"
      "64 usage error, 65 input rejected (malformed or failed verification),\n"
      "66 input cannot be opened, 70 runtime error. A cache that cannot be\n"
      "used or written is a warning, never a failed run.\n"
      "Tiers built: the interpreter; linear, block and trace (LLVM), with\n"
      "the SQLite code cache.\n"
      "Environment: FUSEVM_CACHE=DIR means --cache=DIR.");
  std::string Jit = "auto", Dump;
  uint32_t MaxDepth = DefaultMaxCallDepth;
  uint32_t Threshold = RunOptions().JitThreshold;
  bool Stats = false, PrintResult = false, JitLog = false, JitSync = false;
  App.add_option("--jit", Jit,
                 "Execution tier: auto (default: interpret, compile what gets "
                 "hot), off (interpreter only, never touches LLVM), linear "
                 "(compile every function without jumps on its first call), "
                 "block (compile every function on its first call), trace "
                 "(record hot loops and compile them as traces; functions "
                 "stay interpreted)")
      ->type_name("MODE");
  uint32_t TraceThreshold = TraceJitConfig().TraceThreshold;
  App.add_option("--trace-threshold", TraceThreshold,
                 "trace: backward branches through a loop header before it "
                 "is recorded (default 50; FUSEVM_TRACE_THRESHOLD and the "
                 "other FUSEVM_TRACE_* variables of docs/trace.md tune the "
                 "rest)")
      ->check(CLI::Range(1u, 1000000000u))
      ->type_name("N");
  App.add_option("--jit-threshold", Threshold,
                 "auto: calls of a function before it is compiled, or 10x "
                 "that many iterations of one of its loops (default 1000)")
      ->check(CLI::Range(1u, 4000000000u))
      ->type_name("N");
  uint32_t OptThreshold = RunOptions().OptimiseThreshold;
  App.add_option("--jit-opt-threshold", OptThreshold,
                 "auto: more calls of a function in its baseline code (or "
                 "10x that many iterations of one of its loops) before it is "
                 "compiled again, optimised; 0: optimise at once (default "
                 "1000)")
      ->check(CLI::Range(0u, 400000000u))
      ->type_name("N");
  uint32_t JitDelay = 10;
  App.add_option("--jit-delay", JitDelay,
                 "auto: milliseconds before the first compile may start: "
                 "LLVM's start-up costs more than a shorter run can earn "
                 "back (default 10; 0 when --jit-threshold, "
                 "--jit-opt-threshold or --jit-sync is given)")
      ->check(CLI::Range(0u, 3600000u))
      ->type_name("MS");
  App.add_flag("--jit-sync", JitSync,
               "auto: compile on the interpreter's thread and wait, instead "
               "of in the background (deterministic; for tests)");
  App.add_flag("--jit-log", JitLog,
               "One line on stderr per compile, and per function left "
               "uncompiled with the reason");
  App.add_option("--dump", Dump,
                 "ir: print the optimised LLVM IR of everything compiled to "
                 "stderr; asm: its machine code")
      ->check(CLI::IsMember({"ir", "asm"}))
      ->type_name("KIND");
  App.add_option("--max-call-depth", MaxDepth,
                 "Call-depth limit, main included (default 100000)")
      ->check(CLI::Range(1u, 100000000u))
      ->type_name("N");
  App.add_flag("--stats", Stats,
               "At exit, print one JSON object of counters on stderr");
  std::string ProfileOps;
  App.add_option("--profile-ops", ProfileOps,
                 "Count how often each op, and each op right after another, "
                 "runs in the interpreter (plain ops: no superinstructions, "
                 "no JIT) and write the counts as JSON to FILE (- for stderr)"
                 "; see docs/interpreter.md")
      ->type_name("FILE");
  std::string CacheDir;
  bool NoCache = false;
  App.add_option("--cache", CacheDir,
                 "Keep compiled code in the SQLite cache under DIR (created "
                 "owner-only) and reuse it: a later run of the same program "
                 "loads its code instead of compiling. A run with a cache "
                 "waits up to 2 s at exit for the compiles it asked for, so "
                 "that they are kept. Not used with --dump, "
                 "FUSEVM_JIT_DEBUG or FUSEVM_JIT_PERF (they need LLVM's own "
                 "loader); see docs/cache.md")
      ->type_name("DIR");
  App.add_flag("--no-cache", NoCache, "Ignore FUSEVM_CACHE and --cache");
  App.add_flag("--print-result", PrintResult,
               "Print to_str of main's result and a newline at the end");
  if (int Code = tools::parseArgs(App, "fusevm", argc, argv); Code >= 0)
    return Code;

  std::vector<std::string> Rest = App.remaining();
  if (!Rest.empty() && Rest[0] == "--")
    Rest.erase(Rest.begin());
  if (Rest.empty()) {
    std::fprintf(stderr, "fusevm: error: no program given (see --help)\n");
    return ExitUsage;
  }
  if (Rest[0].size() > 1 && Rest[0][0] == '-') {
    std::fprintf(stderr, "fusevm: error: unknown option '%s' (see --help)\n",
                 Rest[0].c_str());
    return ExitUsage;
  }
  if (Jit != "auto" && Jit != "off" && Jit != "linear" && Jit != "block" &&
      Jit != "trace") {
    std::fprintf(stderr,
                 "fusevm: error: --jit=%s: unknown mode (modes: auto, off, "
                 "linear, block, trace)\n",
                 Jit.c_str());
    return ExitUsage;
  }

  RunOptions Opts;
  Opts.MaxCallDepth = MaxDepth;
  std::unique_ptr<JitEngine> Engine;
  std::unique_ptr<CachingEngine> Cached;
  if (Jit != "off") {
    JitOptions JO;
    JO.DumpIR = Dump == "ir";
    JO.DumpAsm = Dump == "asm";
    // FUSEVM_JIT_DEBUG=1 / FUSEVM_JIT_PERF=1: let gdb / perf see JIT code.
    JO.DebuggerSupport = std::getenv("FUSEVM_JIT_DEBUG") != nullptr;
    JO.PerfSupport = std::getenv("FUSEVM_JIT_PERF") != nullptr;
    if (const char *L = std::getenv("FUSEVM_JIT_OPT"))
      JO.OptLevel = unsigned(std::atoi(L));
    Engine = createJitEnginePlugin(JO);
    Opts.Jit = Engine.get();
    Opts.Mode = Jit == "linear"  ? RunOptions::JitMode::Linear
                : Jit == "block" ? RunOptions::JitMode::Block
                : Jit == "trace" ? RunOptions::JitMode::Trace
                                 : RunOptions::JitMode::Auto;
    std::vector<std::string> TraceWarnings;
    TraceJitConfig TC;
    TC.TraceThreshold = TraceThreshold;
    Opts.Trace = TC.withEnvironment(&TraceWarnings);
    if (App.count("--trace-threshold"))
      Opts.Trace.TraceThreshold = TraceThreshold; // the flag wins
    for (const std::string &W : TraceWarnings)
      std::fprintf(stderr, "fusevm: warning: %s\n", W.c_str());
    // FUSEVM_TRACE_STRESS=1: every trace leaves once at each of its
    // branches (tests; docs/trace.md).
    if (const char *St = std::getenv("FUSEVM_TRACE_STRESS"))
      Opts.TraceStress = std::string(St) == "1";
    Opts.JitThreshold = Threshold;
    Opts.OptimiseThreshold = OptThreshold;
    // Thresholds set by hand mean "compile when I say": no delay then,
    // unless one is asked for too.
    bool Tuned = App.count("--jit-threshold") || App.count("--jit-opt-threshold") ||
                 App.count("--jit-sync");
    Opts.JitStartDelayMs = Tuned && !App.count("--jit-delay") ? 0 : JitDelay;
    Opts.BackgroundCompile = !JitSync;
    if (CacheDir.empty())
      if (const char *Env = std::getenv("FUSEVM_CACHE"))
        CacheDir = Env;
    bool Bypass = JO.DumpIR || JO.DumpAsm || JO.DebuggerSupport || JO.PerfSupport;
    if (!CacheDir.empty() && !NoCache && !Bypass) {
      CacheConfig Cfg;
      Cfg.Dir = CacheDir;
      Cfg.OptLevel = JO.OptLevel;
      std::string Warning;
      Cached = createCachingEngine(*Engine, Cfg, Warning);
      if (Cached) {
        Opts.Jit = Cached.get();
        Opts.FinishCompilesMs = 2000;
      } else {
        std::fprintf(stderr, "fusevm: warning: %s; running without the code cache\n",
                     Warning.c_str());
      }
    }
  }
  // Only when asked for: the pair table alone is half a megabyte.
  std::unique_ptr<OpProfile> Profile;
  if (!ProfileOps.empty()) {
    // The plain ops as written, in the interpreter only.
    Profile = std::make_unique<OpProfile>();
    Opts.Profile = Profile.get();
    Opts.Superinstructions = false;
    Opts.Jit = nullptr;
  }
  ToolListener Listener;
  Listener.Log = JitLog;
  Opts.Listener = &Listener;
  Opts.CountOps = Stats;
  Opts.Args.assign(Rest.begin() + 1, Rest.end());
  if (!Opts.Args.empty() && Opts.Args[0] == "--")
    Opts.Args.erase(Opts.Args.begin());

  llvm::Expected<Chunk> C = loadProgram(Rest[0]);
  if (!C)
    return reportError(C.takeError(), "fusevm");

  VM Vm;
  RunResult R;
  llvm::Error E = Vm.run(*C, Opts, R);
  int Code = E ? reportError(std::move(E), "fusevm") : R.exitCode();
  if (Code == R.exitCode() && PrintResult) {
    std::string S = toStdString(R.Result);
    S.push_back('\n');
    std::fwrite(S.data(), 1, S.size(), stdout);
    std::fflush(stdout);
  }
  if (Stats)
    printStats(R.Stats, Listener.Counts);
  if (!ProfileOps.empty())
    if (int Bad = writeProfile(*Profile, ProfileOps))
      return Bad;
  if (Cached)
    Cached->finish();
  if (Engine) {
    // A background compile may still be running for a program that has
    // finished: leave without waiting for it (or running destructors that
    // would).
    std::fflush(nullptr);
    std::_Exit(Code);
  }
  return Code;
}
