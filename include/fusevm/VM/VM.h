//===- fusevm/VM/VM.h - The embedding API ------------------------*- C++ -*-===//
//
// \file
// What a frontend uses to run bytecode:
//
//   fusevm::VM Vm;
//   Vm.registerBuiltin(256, "twice", 1, [](fusevm::HostCall &C) {
//     return fusevm::Value::integer(2 * fusevm::toInt(C.arg(0)));
//   });
//   fusevm::RunResult R;
//   if (llvm::Error E = Vm.run(Chunk, fusevm::RunOptions(), R))
//     ...                       // FvmError: exit code 65 (rejected) or 70
//   R.Result, R.Status, R.Stats  // main's result, status register, counters
//
// See docs/embedding.md. The interpreter never initialises LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_VM_VM_H
#define FUSEVM_VM_VM_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/JIT/Trace.h"
#include "fusevm/Verify/Verifier.h"
#include "fusevm/JIT/Events.h"
#include "fusevm/JIT/Native.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm {

/// Limits of isa.md §5. A host may lower them (a sandbox, a fuzzer), never
/// raise them.
constexpr uint64_t MaxStringBytes = uint64_t(1) << 30;
constexpr uint64_t MaxArrayElements = uint64_t(1) << 28;
constexpr uint32_t DefaultMaxCallDepth = 100000;

/// The arguments of a host builtin or extended-op call.
class HostCall {
public:
  HostCall(const Value *Args, unsigned NumArgs, uint16_t Id, uint64_t Payload)
      : Args(Args), NumArgs(NumArgs), Id(Id), Payload(Payload) {}
  const Value &arg(unsigned I) const { return Args[I]; }
  unsigned numArgs() const { return NumArgs; }
  uint16_t id() const { return Id; }
  /// The inline byte (Extended) or 64-bit payload (ExtendedWide).
  uint64_t payload() const { return Payload; }
  /// Ends the program with a runtime error (exit 70) at the calling op.
  void fail(std::string Message) {
    Failed = true;
    Error = std::move(Message);
  }
  bool failed() const { return Failed; }
  const std::string &error() const { return Error; }
  /// Results of an extended op: exactly its declared push count.
  std::vector<Value> Results;

private:
  const Value *Args;
  unsigned NumArgs;
  uint16_t Id;
  uint64_t Payload;
  bool Failed = false;
  std::string Error;
};

using BuiltinFn = std::function<Value(HostCall &)>;
using ExtOpFn = std::function<void(HostCall &)>;

/// How often each op ran, and each op right after another (the op-pair
/// profile superinstructions are chosen from; `fusevm --profile-ops`).
/// Counts are by opcode over the ops dispatched, in order, whatever
/// activation they belong to. Profile with RunOptions::Superinstructions
/// off to count the plain ops as written.
struct OpProfile {
  std::vector<uint64_t> Ops = std::vector<uint64_t>(256);
  std::vector<uint64_t> Pairs = std::vector<uint64_t>(256 * 256); ///< [A * 256 + B]
  unsigned Last = 256; ///< the op dispatched last (256: none yet)
  void record(uint8_t Op) {
    ++Ops[Op];
    if (Last < 256)
      ++Pairs[Last * 256 + Op];
    Last = Op;
  }
};

struct RunOptions {
  /// The global ARGV.
  std::vector<std::string> Args;
  uint32_t MaxCallDepth = DefaultMaxCallDepth;
  /// 0 = unlimited. Otherwise the run stops with a runtime error once this
  /// many backward branches, calls and fused-loop iterations have run.
  uint64_t InstructionBudget = 0;
  /// Count executed ops into RunStats::InterpOps (`--stats`); off, the
  /// interpreter saves the per-op update and the count stays 0.
  bool CountOps = true;
  /// Quicken: run the fused ops of isa.md and the interpreter's own
  /// superinstructions in place of the plain sequences they stand for
  /// (op indices unchanged; docs/interpreter.md). Observably identical,
  /// fewer dispatches; interp_ops then counts dispatches.
  bool Superinstructions = true;
  uint64_t MaxStringLen = MaxStringBytes;
  uint64_t MaxArrayLen = MaxArrayElements;
  /// The native tiers (include/fusevm/JIT/JIT.h makes one); null runs the
  /// interpreter only and never touches LLVM.
  JitEngine *Jit = nullptr;
  enum class JitMode : uint8_t {
    Auto,   ///< compile what got hot: JitThreshold calls or loop iterations
    Linear, ///< compile every function without jumps on its first call
    Block,  ///< compile every function on its first call
    Trace,  ///< trace hot loops, interpret the rest (docs/trace.md)
  } Mode = JitMode::Auto;
  /// The tracing tier's tuning (Trace mode).
  TraceJitConfig Trace;
  /// Trace mode: every trace leaves once at each of its branches (before
  /// it), so that every exit path runs (tests).
  bool TraceStress = false;
  /// Auto: calls of a function, or iterations of one of its loops (then
  /// entered mid-function by on-stack replacement), before it is compiled.
  uint32_t JitThreshold = 1000;
  /// auto: no compile starts before the run is this many milliseconds old.
  /// A process's first compile pays a fixed cost (loading and starting
  /// LLVM: ~13 ms here) that a shorter run cannot earn back. `fusevm`
  /// uses 10; 0 (the default here) compiles as soon as code is hot.
  uint32_t JitStartDelayMs = 0;
  /// auto: code is first compiled at the baseline level (cheap to make);
  /// a function whose baseline code runs this many more calls, or one of
  /// its loops ten times as many iterations, is compiled again, optimised,
  /// and swapped in. 0: compile optimised at once.
  uint32_t OptimiseThreshold = 1000;
  /// auto: compile on a background thread while the interpreter carries
  /// on, so a short run never waits for LLVM (off: compile and wait, which
  /// makes what gets compiled when deterministic). Only when the process
  /// may use more than one CPU.
  bool BackgroundCompile = true;
  /// At the end of the run, wait up to this many milliseconds for the
  /// background compiles it asked for (running or queued) to finish, so
  /// that a code cache keeps them for the next run; 0: drop them.
  uint32_t FinishCompilesMs = 0;
  /// Records the op-pair profile here (counts ops like CountOps).
  OpProfile *Profile = nullptr;
  /// Receives every JIT event of the run (compiles, refusals, OSR entries,
  /// deoptimisations; include/fusevm/JIT/Events.h), on this thread.
  JitEventListener *Listener = nullptr;
  /// Where Print/PrintLn output goes; default: standard output.
  std::function<void(std::string_view)> Output;
  /// Next input line without "\n" (false at end of input); default: stdin.
  std::function<bool(std::string &)> ReadLine;
};

/// Counters of one run (spec/cli.md `--stats`).
struct RunStats {
  uint64_t InterpOps = 0;   ///< ops executed by the interpreter
  uint64_t Calls = 0;       ///< guest calls made
  uint64_t BackEdges = 0;   ///< backward branches taken
  uint64_t LLVMCompiles = 0;
  double CompileMs = 0;
  uint64_t LinearCompiled = 0; ///< functions compiled by the linear tier
  uint64_t BlockCompiled = 0;  ///< functions compiled by the block tier
  uint64_t NativeCalls = 0;    ///< entries into compiled functions
  uint64_t OsrEntries = 0;     ///< loops entered mid-function in native code
  uint64_t Deopts = 0;         ///< failed speculations resumed by the interpreter
  /// LLVM code generation runs by level (JitLevel), and their time.
  uint64_t LevelCompiles[2] = {};
  double LevelMs[2] = {};
  /// Code cache (fusevm/Cache/CachingEngine.h): units loaded, generated
  /// because missing, stored, and entries refused.
  uint64_t CacheHits = 0, CacheMisses = 0, CacheStores = 0, CacheRejects = 0;
  /// The tracing tier (spec/cli.md keys).
  uint64_t TracesRecorded = 0, TracesCompiled = 0, TracesAborted = 0,
           TraceEntries = 0, SideExits = 0, GuardFailures = 0, SideTraces = 0,
           TracesBlacklisted = 0;
};

struct RunResult {
  Value Result;        ///< main's result (undef for a plain Return)
  int32_t Status = 0;  ///< the status register
  int exitCode() const { return Status & 255; }
  RunStats Stats;
  /// Per-function call counters and per-op backward-branch counters, as the
  /// tier manager reads them.
  std::vector<uint64_t> CallCounts;
  std::vector<uint64_t> LoopCounts;
  /// The tracing tier's loop headers, ascending (TraceStatus).
  std::vector<TraceStatus> Traces;
};

class VM {
public:
  VM();
  ~VM();
  VM(const VM &) = delete;
  VM &operator=(const VM &) = delete;

  /// Registers builtin \p Id (>= 256) taking \p Argc arguments (-1: any).
  void registerBuiltin(uint16_t Id, std::string Name, int Argc, BuiltinFn Fn);
  /// Registers the handler of extended op \p Id.
  void registerExtOp(uint16_t Id, ExtOpFn Fn);

  /// The builtins the verifier must accept.
  const HostEnv &hostEnv() const { return Env; }

  /// Verifies \p C, then runs it. On a runtime error, stdout is flushed and
  /// an FvmError with exit code 70 and FILE:LINE is returned; \p Out still
  /// holds the statistics. A chunk that fails verification, or uses an
  /// extended op without a handler, is exit code 65 and never starts.
  llvm::Error run(const Chunk &C, const RunOptions &Opts, RunResult &Out);

private:
  HostEnv Env;
  std::vector<BuiltinFn> Builtins;   ///< by id - 256
  std::vector<std::string> BuiltinNames;
  std::vector<ExtOpFn> ExtOps;       ///< by id
  /// The compile thread and the lock every engine use takes (created on
  /// the first run with a JIT; its destructor waits for a compile in
  /// flight).
  std::shared_ptr<class JitWorker> Worker;
  friend class Interpreter;
};

} // namespace fusevm

#endif // FUSEVM_VM_VM_H
