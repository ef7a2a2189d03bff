//===- Interpreter.h - One run of a chunk ------------------------*- C++ -*-===//
//
// \file
// The Interpreter is one run of a verified chunk: the dispatch loop
// (Interpreter.cpp), the tier manager that decides what to compile and
// installs native code (TierManager.cpp), and the bridge through which
// native code calls back into the run (NativeBridge.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_INTERPRETER_H
#define FUSEVM_LIB_VM_INTERPRETER_H

#include "FrameStack.h"
#include "HostIO.h"
#include "JitWorker.h"
#include "Tracing.h"

#include "fusevm/JIT/Events.h"
#include "fusevm/VM/Runtime.h"
#include "fusevm/VM/VM.h"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fusevm {

class Interpreter {
public:
  Interpreter(VM &Vm, const Chunk &C, const VerifyInfo &Info,
              const RunOptions &Opts, RunResult &Out);

  llvm::Error run();

  // What compiled code calls back into (NativeHelpers.h; NativeBridge.cpp).
  NativeCtx Ctx;
  uint8_t callFromNative(uint32_t CallIp, Value *Args, Value *Result);
  uint8_t interpretCall(uint32_t F, Value *Args, Value *Result);
  uint8_t resumeFrom(uint32_t F, uint32_t Ip, Value *SlotVals, Value *StackVals,
                     uint32_t Height, Value *Result);
  uint8_t hostBuiltin(uint32_t Id, Value *Args, uint32_t N, Value *Result);
  uint8_t extendedOp(uint32_t Ip, Value *Args, Value *Results);
  uint8_t print(bool Newline, Value *Args, uint32_t N);
  uint8_t readLine(Value *Result);

private:
  //===-- The dispatch loop (Interpreter.cpp) ------------------------------===//

  /// Where a deoptimised activation continues: op \p Ip with the frame's
  /// slots (all of them, in Args) and operand stack as compiled code had
  /// them.
  struct Resume {
    uint32_t Ip;
    Value *Stack;
    uint32_t Height;
    /// The tracing tier: record (TraceRecorder) over the plain ops, and
    /// pause when the activation is back at the anchor, moving its slots
    /// and stack back to the frame at these indices of Fs.Slots, Fs.Stack.
    bool Record = false;
    size_t OuterSlots = 0, OuterStack = 0;
  };
  /// Runs from a call of \p Func with \p Args (moved into its slots), or
  /// from \p At, to that activation's return: main's run, or a call made by
  /// compiled code. False on a runtime error (ErrKind, ErrAt). Counted
  /// counts ops (interp_ops) and charges the instruction budget; a run that
  /// wants neither saves both updates on every op and back edge.
  template <bool Counted>
  bool loop(uint32_t Func, Value *Args, Value &Result, const Resume *At);
  bool runLoop(uint32_t Func, Value *Args, Value &Result,
               const Resume *At = nullptr) {
    return Opts.CountOps || Opts.InstructionBudget || Opts.Profile
               ? loop<true>(Func, Args, Result, At)
               : loop<false>(Func, Args, Result, At);
  }
  llvm::Error prepare();
  llvm::Error runtimeError(size_t At, std::string Message);

  //===-- The tier manager (TierManager.cpp) -------------------------------===//

  struct NativeFn {
    NativeEntryFn Entry = nullptr;
    bool Tried = false;    ///< a compile for its calls was asked for
    bool Failed = false;   ///< compiling it failed or was refused
    bool Compiled = false; ///< some code of it was installed
    bool Speculate = true; ///< on kinds read from globals (JitRequest)
    bool OptTried = false; ///< an optimised compile for its calls was asked for
    bool Deferred = false; ///< got hot before JitStartDelayMs
    uint64_t NextTry = 0;  ///< calls before the next compile attempt
    JitLevel EntryLevel = JitLevel::Baseline; ///< of Entry
    uint32_t InFlight = 0; ///< compiles submitted, not yet installed
    uint32_t Deopts = 0;
    uint32_t Gen = 0;      ///< bumped when its code is dropped
    /// Ops whose speculation failed too often: compiled without it.
    std::vector<uint32_t> NoSpeculation;
  };
  /// A function that leaves native code this often is recompiled without
  /// any speculation; one op that fails this often, without its own.
  static constexpr uint32_t MaxDeopts = 64, MaxOpDeopts = 4;
  /// Compiles function \p F specialised to the kinds of \p Args (or, for
  /// an on-stack replacement at \p OsrIp, to its frame) when the mode
  /// allows: now, or (auto) on the worker thread.
  void tryCompile(uint32_t F, const Value *Args, int64_t OsrIp,
                  const Value *Slots, const Value *Stack, size_t StackLen,
                  JitLevel Level);
  /// The level a compile the interpreter asks for gets: auto starts at
  /// the baseline (unless OptimiseThreshold is 0), the forced modes
  /// optimise at once.
  JitLevel firstLevel() const {
    return Opts.Mode == RunOptions::JitMode::Auto && Opts.OptimiseThreshold
               ? JitLevel::Baseline
               : JitLevel::Optimised;
  }
  JitRequest makeRequest(uint32_t F, JitLevel Level, const Value *Args,
                         int64_t OsrIp, const Value *Slots, const Value *Stack,
                         size_t StackLen);
public:
  /// Baseline code's counter ran out at \p Ip (a function entry when
  /// \p Stack is null, else a loop header): ask for optimised code, install
  /// what is ready; 1 when the activation should leave for it here.
  uint8_t tierUp(uint32_t F, uint32_t Ip, Value *Slots, Value *Stack,
                 uint32_t Height);
private:
  void install(const JitDone &D);
  /// A warm run (the engine has a code cache): installs the code earlier
  /// runs kept for this program, so that it runs from the first call.
  void warmStart();
  void warmTrace(WarmUnit &U);
  /// JitRequest::ChunkKey (op hash and content digest), made once.
  const std::string &chunkKey();
  /// Adds speculation on the kinds of the globals function \p F reads.
  void addGlobalKinds(JitRequest &R, uint32_t F) const;
  /// Installs what the worker finished, if anything.
  void pollCompiles();
  void maybePoll() {
    if (Async && Vm.Worker->HasResults.load(std::memory_order_relaxed))
      pollCompiles();
  }
  /// Why compiled code gave up at op \p Ip, from the values it handed over.
  std::string deoptReason(uint32_t Ip, const Value *Slots, const Value *Stack,
                          uint32_t Height) const;
  /// The end of a run: an event for every function without native code.
  void reportUncompiled();
  void emit(JitEvent E);
  JitEvent event(JitEvent::Kind K, uint32_t F, uint32_t Ip = 0) const;
  /// Back-edge counts, including what the OSR trigger reset.
  uint64_t loopCount(uint32_t Ip) const {
    return Out.LoopCounts[Ip] + LoopTotals[Ip] - (Bias.empty() ? 0 : Bias[Ip]);
  }
  void resetLoopCount(uint32_t Ip) {
    LoopTotals[Ip] += Out.LoopCounts[Ip];
    Out.LoopCounts[Ip] = 0;
    if (!Bias.empty()) {
      LoopTotals[Ip] -= Bias[Ip];
      Bias[Ip] = 0;
    }
  }

  /// False until the run is JitStartDelayMs old (checked when something
  /// gets hot, not per op).
  bool jitStarted();
  bool JitStarted = false;
  std::chrono::steady_clock::time_point StartTime;
  bool JitOn = false;
  bool Async = false;
  uint64_t RunId = 0;
  std::shared_ptr<const RunCode> Shared; ///< what worker compiles read
  std::string ChunkKey; ///< JitRequest::ChunkKey, made once per run
  enum : uint8_t { OsrNone, OsrPending, OsrReady, OsrRefused };
  /// Per level (JitLevel) and op (loop header): entries for on-stack
  /// replacement.
  std::vector<uint8_t> OsrState[2];
  std::vector<NativeOsrFn> OsrCode[2];
  /// Per op: NativeCtx::HotCounts, baseline code's tier-up countdowns.
  std::vector<uint32_t> HotCounts;
  /// Counts between the later checks a baseline entry or loop makes.
  uint32_t TierUpPoll = 1024;
  /// The loop header tierUp told baseline code to leave at.
  uint32_t TierUpIp = UINT32_MAX;
  std::vector<uint64_t> LoopTotals; ///< per op, counts reset by the trigger
  std::vector<uint32_t> OpDeopts;   ///< per op, deoptimisations there
  uint64_t CallTrigger = UINT64_MAX; ///< calls before a compile
  uint64_t LoopTrigger = UINT64_MAX; ///< back edges before an OSR
  std::vector<NativeFn> Native;
  /// Per function: the call count from which the interpreter's Call looks
  /// for native code (nativeCall keeps it: a call that has nothing to find
  /// costs one compare).
  std::vector<uint64_t> NativeAt;
  std::vector<void *> FnTable;

  //===-- The tracing tier (Tracing.cpp) -----------------------------------===//

  enum class TraceStep : uint8_t {
    Continue, ///< go on interpreting at ContinueAt with Height stack values
    Returned, ///< the activation returned (Result)
    Failed,   ///< a runtime error (Ctx.Err, Ctx.ErrIp); the frame is gone
  };
  /// The loop header \p At of function \p F was reached often enough: enter
  /// its trace, record one, or neither (TraceLookup, docs/trace.md).
  TraceStep traceAt(uint32_t F, uint32_t At, size_t FrameSlots,
                    size_t StackBase, uint32_t &Height, uint32_t &ContinueAt,
                    Value &Result);
  /// Runs the activation from \p From, recording, until it is back at
  /// \p At (or returns, or fails).
  TraceStep record(uint32_t F, uint32_t At, uint32_t From, size_t FrameSlots,
                   size_t StackBase, uint32_t &Height, uint32_t &ContinueAt,
                   Value &Result);
  void recordingDone(TraceAnchor &A, uint32_t At, bool Side, size_t Tree,
                     uint32_t ExitIp);
  void compileTrace(uint32_t At, size_t Tree);
  void installTrace(const JitDone &D);
  void armAnchor(uint32_t At);
  bool kindsMatch(const TraceTree &T, const Value *Slots, const Value *Stack,
                  uint32_t Height) const;
  void traceEvent(JitEvent::Kind K, uint32_t F, uint32_t At, std::string Reason);
  /// RunResult::Traces, at the end of the run.
  void reportTraces();

  static constexpr size_t MaxTreesPerAnchor = 4;
  bool TraceOn = false;
  TraceJitConfig TraceCfg;
  std::vector<Instr> PlainCode; ///< the ops before quickening (recording)
  TraceRecorder Recorder;
  std::unordered_map<uint32_t, TraceAnchor> Anchors;
  /// Per op: a loop count an armed anchor was given (armAnchor), not real
  /// back edges.
  std::vector<uint32_t> Bias;
  std::vector<uint8_t> StressBits;
  struct PauseState {
    bool Yes = false;
    uint32_t Ip = 0, Height = 0;
  } Paused;

  //===-- Native code entered from the interpreter (NativeBridge.cpp) ------===//

  /// The interpreter's Call when native code may take it: NativeOk (the
  /// result replaces the arguments at ArgsAt), NativeFailed, or
  /// NativeGuardFailed when the interpreter should make the call itself.
  [[gnu::noinline]] uint8_t nativeCall(uint32_t F, size_t ArgsAt,
                                       uint32_t Depth, uint32_t CallIp);
  /// Compiles \p F if \p Calls makes it hot, then runs its native code on
  /// \p Args: NativeGuardFailed when there is none to run (or its entry
  /// guard refused), the interpreter's to make.
  uint8_t enterNative(uint32_t F, uint64_t Calls, Value *Args, Value *Result);
  /// Out of line: a frame address taken in the dispatch loop would cost it
  /// the frame-pointer register.
  [[gnu::noinline]] bool nativeStackOk() const;

  //===-- State of the run -------------------------------------------------===//

  RtError ErrKind = RtError::None;
  size_t ErrAt = 0;
  /// The innermost running loop()'s place among nested runs.
  struct NestState {
    size_t BaseFrames = 0, BaseScopes = 0, EntryDepth = 1, EntryStackTop = 0;
    size_t FrameLimit = 0;
    const Instr *OsrTo = nullptr;
  } Nest;

  VM &Vm;
  const Chunk &C;
  const VerifyInfo &Info;
  const RunOptions &Opts;
  RunResult &Out;
  RtLimits Limits;
  OutBuffer Output;
  InReader Input;

  std::vector<Instr> Code; ///< the chunk's ops, quickened (Quicken.h)
  std::vector<FnRt> Funcs;
  std::vector<Value> Globals;
  struct ExtRt {
    uint16_t Pops, Pushes;
    const ExtOpFn *Fn;
  };
  std::vector<ExtRt> Ext;

  FrameStack Fs;
  ValueStack ExtArgs; ///< an extended op's arguments, moved aside
  std::string HostMessage;
};

} // namespace fusevm

#endif // FUSEVM_LIB_VM_INTERPRETER_H
