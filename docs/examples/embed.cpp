//===- embed.cpp - A tiny frontend embedding fusevm -----------------------===//
//
// Builds a chunk in C++ with ChunkBuilder (no text involved), registers a
// host builtin and an extended op, runs it, and reads the result, the
// status and the statistics. Built and run by the test suite.
//
//   fact(n) = n <= 1 ? 1 : n * fact(n - 1)
//   main: print fact(20); print greet("embedder"); return ext7(40)
//
//===----------------------------------------------------------------------===//

#include "fusevm/Cache/CachingEngine.h"
#include "fusevm/Core/ChunkBuilder.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/JIT/JIT.h"
#include "fusevm/VM/VM.h"

#include <cstdio>
#include <cstring>

using namespace fusevm;

int main(int argc, char **argv) {
  // embed --jit: the same run with the native tiers, loaded from the JIT
  // plugin that is installed with the library (no LLVM linked in here).
  // embed --jit-cache DIR: and with the code cache under DIR (a second run
  // loads the code instead of compiling it).
  bool Jit = argc > 1 && std::strncmp(argv[1], "--jit", 5) == 0;
  const char *CacheDir =
      argc > 2 && std::strcmp(argv[1], "--jit-cache") == 0 ? argv[2] : nullptr;
  ChunkBuilder B("embed.src");
  // main
  B.setLine(1);
  B.loadInt(20);
  B.emitCall("fact", 1);
  B.op(Opcode::PrintLn, 1);
  B.setLine(2);
  B.loadConst(Value::string("embedder"));
  B.callBuiltin(256, 1); // host builtin "greet"
  B.op(Opcode::PrintLn, 1);
  B.setLine(3);
  B.declareExtOp(7, 1, 1); // pops 1, pushes 1
  B.loadInt(40);
  Instr Ext(Opcode::Extended);
  Ext.A = 7;  // id
  Ext.U8 = 2; // inline byte
  B.emit(Ext);
  B.op(Opcode::ReturnValue);

  // fact(n)
  B.beginFunction("fact", 1);
  ChunkBuilder::Label Recurse = B.makeLabel();
  B.setLine(10);
  B.slotOp(Opcode::GetSlot, 0);
  B.loadInt(1);
  B.op(Opcode::NumLe);
  B.jump(Opcode::JumpIfFalse, Recurse);
  B.loadInt(1);
  B.op(Opcode::ReturnValue);
  B.bind(Recurse);
  B.setLine(11);
  B.slotOp(Opcode::GetSlot, 0);
  B.slotOp(Opcode::GetSlot, 0);
  B.op(Opcode::Dec);
  B.emitCall("fact", 1);
  B.op(Opcode::Mul);
  B.op(Opcode::ReturnValue);

  llvm::Expected<Chunk> C = B.finish();
  if (!C)
    return reportError(C.takeError(), "embed");

  VM Vm;
  Vm.registerBuiltin(256, "greet", 1, [](HostCall &Call) {
    return Value::string("hello, " + toStdString(Call.arg(0)));
  });
  Vm.registerExtOp(7, [](HostCall &Call) {
    // payload() is the inline byte of `Extended 7 2`.
    Call.Results.push_back(
        Value::integer(toInt(Call.arg(0)) + int64_t(Call.payload())));
  });

  RunOptions Opts;
  std::unique_ptr<JitEngine> Engine;
  std::unique_ptr<CachingEngine> Cached;
  if (Jit) {
    Engine = createJitEnginePlugin(JitOptions());
    Opts.Jit = Engine.get();
    Opts.Mode = RunOptions::JitMode::Block; // every function native
  }
  if (CacheDir) {
    CacheConfig Cfg;
    Cfg.Dir = CacheDir;
    std::string Warning;
    Cached = createCachingEngine(*Engine, Cfg, Warning);
    if (Cached)
      Opts.Jit = Cached.get();
    else // not fatal: the run goes on without the cache
      std::fprintf(stderr, "embed: warning: %s\n", Warning.c_str());
  }
  RunResult R;
  if (llvm::Error E = Vm.run(*C, Opts, R))
    return reportError(std::move(E), "embed");
  if (Jit)
    std::printf("native: %llu functions compiled, %llu generated, %llu "
                "loaded from the cache\n",
                static_cast<unsigned long long>(R.Stats.BlockCompiled),
                static_cast<unsigned long long>(R.Stats.LLVMCompiles),
                static_cast<unsigned long long>(R.Stats.CacheHits));
  std::printf("result %s, status %d, %llu ops, %llu calls, op hash %016llx\n",
              toStdString(R.Result).c_str(), R.Status,
              static_cast<unsigned long long>(R.Stats.InterpOps),
              static_cast<unsigned long long>(R.Stats.Calls),
              static_cast<unsigned long long>(C->opHash()));
  return 0;
}
