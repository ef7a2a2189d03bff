//===- fusevm.cpp - Run a fusevm program ----------------------------------===//
//
// \file
// fusevm [options] PROGRAM [--] [ARGS...]   (spec/cli.md)
//
// A thin driver: parse flags, load (text or binary), verify and run through
// the embedding API, print --stats, exit with the documented code.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Bytecode/Fbc.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/VM/VM.h"

#include "ToolSupport.h"

#include <chrono>
#include <cstdio>
#include <iostream>

using namespace fusevm;


static void printStats(const RunStats &S) {
  std::fprintf(
      stderr,
      "{\"interp_ops\": %llu, \"llvm_compiles\": %llu, \"compile_ms\": %.3f, "
      "\"linear_compiled\": 0, \"block_compiled\": 0, \"native_calls\": 0, "
      "\"traces_recorded\": 0, \"traces_compiled\": 0, "
      "\"traces_aborted\": 0, \"trace_entries\": 0, \"side_exits\": 0, "
      "\"guard_failures\": 0, \"side_traces\": 0, \"traces_blacklisted\": 0, "
      "\"cache_hits\": 0, \"cache_misses\": 0, \"cache_stores\": 0, "
      "\"calls\": %llu, \"back_edges\": %llu}\n",
      static_cast<unsigned long long>(S.InterpOps),
      static_cast<unsigned long long>(S.LLVMCompiles), S.CompileMs,
      static_cast<unsigned long long>(S.Calls),
      static_cast<unsigned long long>(S.BackEdges));
}

int main(int argc, char **argv) {
  CLI::App App{"fusevm - run fusevm bytecode (.fasm text or .fbc binary)", "fusevm"};
  tools::setupApp(App, "fusevm",
      "Usage: fusevm [options] PROGRAM [--] [ARGS...]\n"
            "  PROGRAM is a .fasm or .fbc file, or - for standard input;\n"
            "  ARGS become the global array ARGV.");
  App.prefix_command(); // PROGRAM and everything after it are the program's
  App.footer(
      "Exit codes: the program's status & 255 when it ends normally;\n"
      "64 usage error, 65 input rejected (malformed or failed verification),\n"
      "66 input cannot be opened, 70 runtime error.\n"
      "This build has the interpreter only: the JIT tiers (linear, block,\n"
      "trace) and the code cache are not built yet.");
  std::string Jit = "auto";
  uint32_t MaxDepth = DefaultMaxCallDepth;
  bool Stats = false, PrintResult = false;
  App.add_option("--jit", Jit,
                 "Execution tier: auto (default: the interpreter, then the "
                 "tiers that pay off; today the interpreter) or off "
                 "(interpreter only)")
      ->type_name("MODE");
  App.add_option("--max-call-depth", MaxDepth,
                 "Call-depth limit, main included (default 100000)")
      ->check(CLI::Range(1u, 100000000u))
      ->type_name("N");
  App.add_flag("--stats", Stats,
               "At exit, print one JSON object of counters on stderr");
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
  if (Jit != "auto" && Jit != "off") {
    if (Jit == "linear" || Jit == "block" || Jit == "trace")
      std::fprintf(stderr,
                   "fusevm: error: --jit=%s: the %s tier is not built yet; "
                   "this build has the interpreter only (--jit=off or auto)\n",
                   Jit.c_str(), Jit.c_str());
    else
      std::fprintf(stderr,
                   "fusevm: error: --jit=%s: unknown mode (auto, off, "
                   "linear, block, trace)\n",
                   Jit.c_str());
    return ExitUsage;
  }

  RunOptions Opts;
  Opts.MaxCallDepth = MaxDepth;
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
    printStats(R.Stats);
  return Code;
}
