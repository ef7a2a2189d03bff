//===- Interpreter.cpp - The fusevm interpreter ---------------------------===//
//
// \file
// Runs a verified chunk. Design (DESIGN.md "Interpreter"):
//  - pre-decoded code: the chunk's 16-byte Instr records, with Call operands
//    rewritten to function indices and PopFrame to its restore height;
//  - computed-goto dispatch (FUSEVM_COMPUTED_GOTO), else a switch;
//  - no operand-stack checks: the verifier fixed every height, so each
//    function reserves its maximum on entry;
//  - guest calls never recurse natively: frames live on an explicit stack,
//    so 100000 frames cost heap, not native stack;
//  - per-function call counters and per-target backward-branch counters
//    for the tier manager.
//
// Stack discipline: Sp points past the top; memory at and above Sp holds no
// live value. Values are trivially relocatable, so moves between the
// operand stack and slots are plain copies of 16 bytes.
//
//===----------------------------------------------------------------------===//

#include "fusevm/VM/VM.h"

#include "fusevm/Bytecode/Fuse.h"
#include "fusevm/Core/Diag.h"
#include "fusevm/VM/Runtime.h"

#include "NativeHelpers.h"

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace fusevm {

VM::VM() = default;
VM::~VM() = default;

void VM::registerBuiltin(uint16_t Id, std::string Name, int Argc,
                         BuiltinFn Fn) {
  if (Id < FirstHostBuiltin)
    return; // 0-255 are the standard table's
  size_t I = Id - FirstHostBuiltin;
  if (Builtins.size() <= I) {
    Builtins.resize(I + 1);
    BuiltinNames.resize(I + 1);
  }
  Builtins[I] = std::move(Fn);
  BuiltinNames[I] = std::move(Name);
  Env.Builtins[Id] = Argc;
}

void VM::registerExtOp(uint16_t Id, ExtOpFn Fn) {
  if (ExtOps.size() <= Id)
    ExtOps.resize(size_t(Id) + 1);
  ExtOps[Id] = std::move(Fn);
}

namespace {

/// Buffered standard output; flushed before ReadLine, at exit and before a
/// runtime error is reported.
class OutBuffer {
public:
  explicit OutBuffer(const std::function<void(std::string_view)> &Sink)
      : Sink(Sink) {
    Buf.reserve(1 << 16);
  }
  std::string Buf;
  void flush() {
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
  void maybeFlush() {
    if (Buf.size() >= (1 << 16))
      flush();
  }

private:
  const std::function<void(std::string_view)> &Sink;
};

/// Lines from standard input (fd 0), or the host's reader.
class InReader {
public:
  explicit InReader(const std::function<bool(std::string &)> &Host)
      : Host(Host) {}
  /// False at end of input. A line longer than \p Max is an error (Err set).
  bool readLine(std::string &Line, uint64_t Max, bool &TooLong) {
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

private:
  bool fill() {
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
  const std::function<bool(std::string &)> &Host;
  std::string Buf;
  size_t Pos = 0;
  bool Eof = false;
};

/// Internal superinstructions, chosen at pre-decode (quicken()); never in a
/// chunk or a file. Each replaces the first op of a sequence that no jump
/// enters; the other ops stay in place, unexecuted, so op indices, jump
/// targets, lines and counters do not move. Only sequences whose ops cannot
/// fail qualify, so no diagnostic can change.
#define FUSE_INTERNAL_OPS(X)                                                   \
  X(GetSlot2)        /* GetSlot a; GetSlot b */                                \
  X(SlotIntLtJF)     /* GetSlot s; LoadInt k; NumLt; JumpIfFalse t */          \
  X(SlotIntLeJF)                                                               \
  X(SlotIntGtJF)                                                               \
  X(SlotIntGeJF)                                                               \
  X(SlotIntEqJF)                                                               \
  X(SlotIntNeJF)                                                               \
  X(SlotSlotAddSet)  /* GetSlot a; GetSlot b; Add; SetSlot c */                \
  X(SlotSlotSubSet)                                                            \
  X(SlotSlotMulSet)                                                            \
  X(AddSet)          /* Add; SetSlot c */                                      \
  X(SubSet)                                                                    \
  X(MulSet)                                                                    \
  X(SlotIntAdd)      /* GetSlot s; LoadInt k; Add */                           \
  X(SlotIntSub)                                                                \
  X(IntModPos)       /* LoadInt k (k > 0); Mod */                              \
  X(IntDivPos)       /* LoadInt k (k > 0); Div */                              \
  X(SlotArrayGetG)   /* GetSlot s; ArrayGet a */                              \
  X(SlotArraySetG)   /* GetSlot s; ArraySet a (the value is on the stack) */ \
  X(ImmSlotArraySet) /* LoadTrue|LoadFalse|LoadInt k; GetSlot s; ArraySet a */ \
  X(PreIncJump)      /* PreIncSlotVoid s; Jump t */                           \
  X(AddAssignJump)   /* AddAssignSlotVoid a b; Jump t */                     \
  X(TopAddSlot)      /* GetSlot s; Add (top of stack + slot) */               \
  X(TopSubSlot)                                                               \
  X(TopMulSlot)                                                               \
  X(FloatCmpJump)    /* LoadFloat k; NumXx; JumpIfTrue|JumpIfFalse t */

enum InternalOp : unsigned {
  InternalBase = NumOpcodes - 1,
#define X(Name) IOp_##Name,
  FUSE_INTERNAL_OPS(X)
#undef X
  InternalEnd
};
static_assert(InternalEnd <= 256, "internal ops must fit the opcode byte");
constexpr Opcode internalOp(InternalOp I) { return static_cast<Opcode>(I); }

struct FnRt {
  uint32_t Entry;
  uint32_t NumSlots;
  uint32_t MaxStack;
};

/// 32 bytes, so that Frames.size() is a shift, not a division (the return
/// path compares it). Slot and stack indices fit 32 bits: both buffers are
/// capped at 2^26 values (MaxSlotValues, MaxStackValues).
struct CallFrame {
  const Instr *RetIp;
  uint32_t Func;
  uint32_t ScopeBase;  ///< Scopes.size() at the call
  uint32_t FrameSlots; ///< the caller's function slot base
  uint32_t CurSlots;   ///< the caller's innermost scope slot base
  uint32_t StackBase;  ///< the caller's operand stack base
};
static_assert(sizeof(CallFrame) == 32, "see CallFrame");

/// A growable array of Values whose unused tail holds no live value.
struct ValueStack {
  Value *Mem = nullptr;
  size_t Cap = 0;
  ~ValueStack() { std::free(Mem); }
  /// Ensures room for \p Need values; returns false when out of memory.
  bool reserve(size_t Need) {
    if (Need <= Cap)
      return true;
    size_t NewCap = Cap ? Cap : 256;
    while (NewCap < Need)
      NewCap *= 2;
    void *P = std::realloc(static_cast<void *>(Mem), NewCap * sizeof(Value));
    if (!P)
      return false;
    Mem = static_cast<Value *>(P);
    Cap = NewCap;
    return true;
  }
};

[[gnu::always_inline]] inline void rawMove(Value *Dst, const Value *Src, size_t N) {
  if (N) // memcpy with a null pointer is undefined even for 0 bytes
    std::memcpy(static_cast<void *>(Dst), static_cast<const void *>(Src),
              N * sizeof(Value));
}
[[gnu::always_inline]] inline void setUndef(Value *V, size_t N) {
  for (size_t I = 0; I < N; ++I)
    V[I].K = ValueKind::Undef;
}
[[gnu::always_inline]] inline void releaseRange(Value *From, Value *To) {
  for (Value *V = From; V < To; ++V)
    if (V->isHeap() && --V->P->RefCount == 0)
      destroyHeapObj(V->P);
}

} // namespace

/// What compiles on the worker thread read: a copy of the run's chunk and
/// verifier facts, alive as long as a compile needs them.
struct RunCode {
  Chunk C;
  VerifyInfo Info;
};

struct JitJob {
  uint64_t Run;
  uint32_t Gen, F;
  int64_t OsrIp;
  std::shared_ptr<const RunCode> Code;
  JitEngine *Engine;
  JitRequest R;
};

struct JitDone {
  uint64_t Run;
  uint32_t Gen, F;
  int64_t OsrIp;
  bool Ok;
  JitResult Res;
  std::string Why;
};

struct JitCounters {
  uint64_t Compiles = 0, LinearCompiled = 0, BlockCompiled = 0;
  double CompileMs = 0;
};

/// Compiles for the VM on one background thread (auto mode), and
/// serialises every use of an engine, background or not.
class JitWorker {
public:
  ~JitWorker() {
    {
      std::lock_guard<std::mutex> L(M);
      Stop = true;
      Queue.clear();
    }
    CV.notify_all();
    if (T.joinable())
      T.join();
  }
  uint64_t newRun() { return ++Runs; }
  void submit(JitJob J) {
    std::lock_guard<std::mutex> L(M);
    Queue.push_back(std::move(J));
    if (!T.joinable())
      T = std::thread([this] { main(); });
    CV.notify_one();
  }
  bool compileNow(JitEngine &E, const JitRequest &R, JitResult &Res,
                  std::string &Why) {
    std::lock_guard<std::mutex> L(EngineLock);
    JitCounters Before{E.Compiles, E.LinearCompiled, E.BlockCompiled,
                       E.CompileMs};
    bool Ok = E.compile(R, Res, Why);
    // The engine may serve other VMs too: count what this compile did.
    std::lock_guard<std::mutex> C(CounterLock);
    Counters.Compiles += E.Compiles - Before.Compiles;
    Counters.LinearCompiled += E.LinearCompiled - Before.LinearCompiled;
    Counters.BlockCompiled += E.BlockCompiled - Before.BlockCompiled;
    Counters.CompileMs += E.CompileMs - Before.CompileMs;
    return Ok;
  }
  void poll(std::vector<JitDone> &Out) {
    std::lock_guard<std::mutex> L(M);
    Out.swap(Done);
    HasResults.store(false, std::memory_order_relaxed);
  }
  /// Drops run \p Run's queued jobs (one in flight finishes unused).
  void cancel(uint64_t Run) {
    std::lock_guard<std::mutex> L(M);
    std::erase_if(Queue, [Run](const JitJob &J) { return J.Run == Run; });
    std::erase_if(Done, [Run](const JitDone &D) { return D.Run == Run; });
  }
  JitCounters counters() {
    std::lock_guard<std::mutex> L(CounterLock);
    return Counters;
  }
  std::atomic<bool> HasResults{false};

private:
  void main() {
    // Compiling is background work: let the program's own threads (and
    // anything else on the machine) go first.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    for (;;) {
      JitJob J;
      {
        std::unique_lock<std::mutex> L(M);
        CV.wait(L, [this] { return Stop || !Queue.empty(); });
        if (Stop)
          return;
        J = std::move(Queue.front());
        Queue.pop_front();
      }
      JitDone D{J.Run, J.Gen, J.F, J.OsrIp, false, {}, {}};
      D.Ok = compileNow(*J.Engine, J.R, D.Res, D.Why);
      std::lock_guard<std::mutex> L(M);
      if (Stop)
        return;
      Done.push_back(std::move(D));
      HasResults.store(true, std::memory_order_relaxed);
    }
  }
  std::mutex M, EngineLock, CounterLock;
  std::condition_variable CV;
  std::deque<JitJob> Queue;
  std::vector<JitDone> Done;
  JitCounters Counters;
  bool Stop = false;
  std::atomic<uint64_t> Runs{0};
  std::thread T;
};

class Interpreter {
public:
  Interpreter(VM &Vm, const Chunk &C, const VerifyInfo &Info,
              const RunOptions &Opts, RunResult &Out)
      : Vm(Vm), C(C), Info(Info), Opts(Opts), Out(Out), Output(Opts.Output),
        Input(Opts.ReadLine) {
    Limits.MaxStr = std::min<uint64_t>(Opts.MaxStringLen, MaxStringBytes);
    Limits.MaxArr = std::min<uint64_t>(Opts.MaxArrayLen, MaxArrayElements);
  }
  ~Interpreter() {
    releaseRange(Stack.Mem, Stack.Mem + StackTop);
    releaseRange(Slots.Mem, Slots.Mem + SlotTop);
  }

  llvm::Error run();

  // The helpers compiled code calls back into (NativeHelpers.h).
  NativeCtx Ctx;
  uint8_t callFromNative(uint32_t CallIp, Value *Args, Value *Result);
  /// The interpreter's Call when native code may take it: NativeOk (the
  /// result replaces the arguments at ArgsAt), NativeFailed, or
  /// NativeGuardFailed when the interpreter should make the call itself.
  [[gnu::noinline]] uint8_t nativeCall(uint32_t F, size_t ArgsAt,
                                       uint32_t Depth, uint32_t CallIp);
  /// Compiles \p F if \p Calls makes it hot, then runs its native code
  /// on \p Args: NativeGuardFailed when there is none to run (or its
  /// entry guard refused), the interpreter's to make.
  uint8_t enterNative(uint32_t F, uint64_t Calls, Value *Args, Value *Result);
  uint8_t interpretCall(uint32_t F, Value *Args, Value *Result);
  uint8_t resumeFrom(uint32_t F, uint32_t Ip, Value *SlotVals, Value *StackVals,
                     uint32_t Height, Value *Result);
  uint8_t hostBuiltin(uint32_t Id, Value *Args, uint32_t N, Value *Result);
  uint8_t extendedOp(uint32_t Ip, Value *Args, Value *Results);
  uint8_t print(bool Newline, Value *Args, uint32_t N);
  uint8_t readLine(Value *Result);

private:
  /// The dispatch loop, from a call of \p Func with \p Args (moved into its
  /// slots) to that activation's return: main's run, or a call made by
  /// compiled code. False on a runtime error (ErrKind, ErrAt).
  /// CountOps = false leaves interp_ops at 0 and saves a counter update
  /// per op.
  /// Where a deoptimised activation continues: op \p Ip with the frame's
  /// slots (all of them, in Args) and operand stack as compiled code had
  /// them.
  struct Resume {
    uint32_t Ip;
    Value *Stack;
    uint32_t Height;
  };
  template <bool CountOps>
  bool loop(uint32_t Func, Value *Args, Value &Result, const Resume *At);
  bool runLoop(uint32_t Func, Value *Args, Value &Result,
               const Resume *At = nullptr) {
    return Opts.CountOps ? loop<true>(Func, Args, Result, At)
                         : loop<false>(Func, Args, Result, At);
  }
  llvm::Error prepare();
  void quicken();
  llvm::Error runtimeError(size_t At, std::string Message);

  // Tier policy (DESIGN.md "Tiers"): when to compile, and entering native
  // code from the interpreter.
  struct NativeFn {
    NativeEntryFn Entry = nullptr;
    bool Tried = false;    ///< a compile for its calls was asked for
    bool Failed = false;   ///< compiling it failed or was refused
    bool Compiled = false; ///< some code of it was installed
    bool Speculate = true; ///< on kinds read from globals (JitRequest)
    uint32_t Deopts = 0;
    uint32_t Gen = 0;      ///< bumped when its code is dropped
  };
  static constexpr uint32_t MaxDeopts = 64;
  /// Compiles function \p F specialised to the kinds of \p Args (or, for
  /// an on-stack replacement at \p OsrIp, to its frame) when the mode
  /// allows: now, or (auto) on the worker thread.
  void tryCompile(uint32_t F, const Value *Args, int64_t OsrIp,
                  const Value *Slots, const Value *Stack, size_t StackLen);
  void install(const JitDone &D);
  /// Installs what the worker finished, if anything.
  void pollCompiles();
  void maybePoll() {
    if (Async && Vm.Worker->HasResults.load(std::memory_order_relaxed))
      pollCompiles();
  }
  bool Async = false;
  uint64_t RunId = 0;
  std::shared_ptr<const RunCode> Shared; ///< what worker compiles read
  enum : uint8_t { OsrNone, OsrPending, OsrReady, OsrRefused };
  std::vector<uint8_t> OsrState;   ///< per op (loop header)
  std::vector<NativeOsrFn> OsrCode; ///< per op, when OsrReady
  bool nativeStackOk() const {
    return reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) >
           Ctx.StackLimit;
  }
  bool JitOn = false;
  uint64_t CallTrigger = UINT64_MAX; ///< calls before a compile
  uint64_t LoopTrigger = UINT64_MAX; ///< back edges before an OSR
  std::vector<NativeFn> Native;
  std::vector<void *> FnTable;
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

  std::vector<Instr> Code;
  std::vector<FnRt> Funcs;
  std::vector<Value> Globals;
  struct ExtRt {
    uint16_t Pops, Pushes;
    const ExtOpFn *Fn;
  };
  std::vector<ExtRt> Ext;

  ValueStack Stack, Slots;
  ValueStack ExtArgs; ///< an extended op's arguments, moved aside
  size_t StackTop = 0, SlotTop = 0; ///< live extents, for unwinding
  std::vector<CallFrame> Frames;
  std::vector<size_t> Scopes; ///< enclosing slot base of each open scope
  std::string HostMessage;
};

llvm::Error Interpreter::prepare() {
  // One pass: operands the interpreter wants resolved, and a handler for
  // every extended op used (checked before the run starts).
  Code = C.Ops;
  for (size_t Ip = 0; Ip < Code.size(); ++Ip) {
    Instr &I = Code[Ip];
    if (I.Op == Opcode::Call) {
      I.A = static_cast<uint16_t>(Info.Callee[Ip]);
    } else if (I.Op == Opcode::PopFrame) {
      I.A = Info.PopHeight[Ip];
    } else if (I.Op == Opcode::Extended || I.Op == Opcode::ExtendedWide) {
      if (I.A >= Vm.ExtOps.size() || !Vm.ExtOps[I.A])
        return makeError(ExitRejected, C.SourceName, C.lineOf(Ip),
                         "extended op " + std::to_string(I.A) +
                             " has no handler registered by this host");
      const ExtOpDecl *D = C.findExtOp(I.A);
      I.B = static_cast<uint16_t>(Ext.size());
      Ext.push_back({D->Pops, D->Pushes, &Vm.ExtOps[I.A]});
    }
  }
  Funcs.resize(C.Functions.size());
  for (size_t F = 0; F < C.Functions.size(); ++F)
    Funcs[F] = {C.Functions[F].Entry, Info.Funcs[F].NumSlots,
                Info.Funcs[F].MaxStack};
  Globals.resize(C.Names.size());
  for (size_t N = 0; N < C.Names.size(); ++N)
    if (C.Names[N] == "ARGV") {
      Value A = Value::emptyArray();
      for (const std::string &S : Opts.Args)
        A.array()->Items.push_back(Value::string(S));
      Globals[N] = std::move(A);
    }
  Out.CallCounts.assign(C.Functions.size(), 0);
  Out.LoopCounts.assign(C.Ops.size(), 0);
  if (Opts.Superinstructions)
    quicken();

  Ctx = NativeCtx();
  Ctx.Globals = Globals.data();
  Ctx.Consts = C.Constants.data();
  Ctx.Fuel = Opts.InstructionBudget ? Opts.InstructionBudget : UINT64_MAX;
  Ctx.MaxDepth = Opts.MaxCallDepth ? Opts.MaxCallDepth : 1;
  Ctx.MaxStr = Limits.MaxStr;
  Ctx.MaxArr = Limits.MaxArr;
  Ctx.Run = this;
  Ctx.Depth = 1;
  JitOn = Opts.Jit != nullptr;
  if (JitOn) {
    Native.assign(C.Functions.size(), NativeFn());
    FnTable.assign(C.Functions.size(), nullptr);
    Ctx.FnTable = FnTable.data();
    bool Auto = Opts.Mode == RunOptions::JitMode::Auto;
    uint64_t N = std::max<uint32_t>(Opts.JitThreshold, 1);
    CallTrigger = Auto ? N : 1;
    if (!Vm.Worker)
      Vm.Worker = std::make_shared<JitWorker>();
    // A background compile needs a CPU of its own to pay off: on one CPU
    // (taskset, a container) it would only slow the interpreter down.
    cpu_set_t Cpus;
    bool SeveralCpus = sched_getaffinity(0, sizeof Cpus, &Cpus) != 0 ||
                       CPU_COUNT(&Cpus) > 1;
    Async = Auto && Opts.BackgroundCompile && SeveralCpus;
    RunId = Vm.Worker->newRun();
    OsrState.assign(C.Ops.size(), OsrNone);
    OsrCode.assign(C.Ops.size(), nullptr);
    // Loops wait longer than calls: a function whose loops run a few
    // iterations per call gets compiled once for its calls, not first for
    // one on-stack replacement.
    LoopTrigger = Auto ? 10 * N : UINT64_MAX;
    // Compiled code recurses on the native stack; below this mark, calls
    // are interpreted (explicit frames on the heap), so the call-depth
    // limit, not the native stack, bounds recursion.
    uintptr_t Here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    size_t Avail = size_t(8) << 20;
    pthread_attr_t A;
    if (pthread_getattr_np(pthread_self(), &A) == 0) {
      void *Lo;
      size_t Size;
      if (pthread_attr_getstack(&A, &Lo, &Size) == 0 &&
          Here > reinterpret_cast<uintptr_t>(Lo))
        Avail = std::min<size_t>(Here - reinterpret_cast<uintptr_t>(Lo),
                                 size_t(256) << 20);
      pthread_attr_destroy(&A);
    }
    size_t Margin = std::min<size_t>(Avail / 2, size_t(512) << 10);
    Ctx.StackLimit = Here - Avail + Margin;
  }
  return llvm::Error::success();
}

void Interpreter::tryCompile(uint32_t F, const Value *Args, int64_t OsrIp,
                             const Value *SlotVals, const Value *StackVals,
                             size_t StackLen) {
  NativeFn &N = Native[F];
  bool Linear = isLinearFunction(C, F);
  // One attempt per function for its calls; an on-stack replacement may
  // follow (an activation still running interpreted) unless compiling the
  // function failed.
  if (OsrIp < 0 ? N.Tried : N.Failed) {
    if (OsrIp >= 0)
      OsrState[size_t(OsrIp)] = OsrRefused;
    return;
  }
  if (OsrIp < 0)
    N.Tried = true;
  else
    OsrState[size_t(OsrIp)] = OsrPending;
  std::string Name = C.functionName(F);
  if (Opts.Mode == RunOptions::JitMode::Linear && !Linear) {
    Opts.Jit->log("jit: skip " + Name + ": has jumps (the linear tier takes "
                  "only functions without jumps)");
    N.Failed = true;
    return;
  }
  JitRequest R;
  R.C = &C;
  R.Info = &Info;
  R.Func = F;
  R.Linear = Linear && Opts.Mode != RunOptions::JitMode::Block;
  R.Budget = Opts.InstructionBudget != 0;
  if (N.Speculate) {
    // The kinds the globals this function reads hold now.
    R.GlobalKinds.assign(C.Names.size(), 0);
    R.ElementKinds.assign(C.Names.size(), 0);
    const FunctionDef &D = C.Functions[F];
    for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip) {
      const Instr &I = C.Ops[Ip];
      const Value &G = Globals[I.A];
      if (I.Op == Opcode::GetVar) {
        R.GlobalKinds[I.A] = maskOf(G.K);
      } else if ((I.Op == Opcode::ArrayGet || I.Op == Opcode::ArraySet) &&
                 G.isArray() && !R.ElementKinds[I.A]) {
        const auto &Items = G.array()->Items;
        size_t Step = Items.size() / 4096 + 1; // a sample of big arrays
        KindMask M = 0;
        for (size_t K = 0; K < Items.size(); K += Step)
          M |= maskOf(Items[K].K);
        R.ElementKinds[I.A] = M;
      }
    }
  }
  unsigned Arity = C.Functions[F].Arity;
  R.ParamMasks.assign(Arity, AnyKind);
  // Specialise on the argument kinds of this call or, entering a running
  // activation, on what its parameter slots hold now (guarded either way).
  const Value *Seen = Args ? Args : SlotVals;
  if (Seen)
    for (unsigned I = 0; I < Arity; ++I)
      if (Seen[I].K == ValueKind::Int || Seen[I].K == ValueKind::Float)
        R.ParamMasks[I] = maskOf(Seen[I].K);
  if (OsrIp >= 0) {
    R.OsrIp = OsrIp;
    for (uint32_t S = 0; S < Funcs[F].NumSlots; ++S)
      R.OsrSlots.push_back(SlotVals[S].K);
    for (size_t H = 0; H < StackLen; ++H)
      R.OsrStack.push_back(StackVals[H].K);
  }
  if (Async) {
    // auto: compile on the worker thread while this one keeps interpreting;
    // pollCompiles() installs the code.
    if (!Shared)
      Shared = std::make_shared<const RunCode>(RunCode{C, Info});
    R.C = &Shared->C;
    R.Info = &Shared->Info;
    Vm.Worker->submit({RunId, N.Gen, F, OsrIp, Shared, Opts.Jit, std::move(R)});
    return;
  }
  JitDone D{RunId, N.Gen, F, OsrIp, false, {}, {}};
  D.Ok = Vm.Worker->compileNow(*Opts.Jit, R, D.Res, D.Why);
  install(D);
}

void Interpreter::install(const JitDone &D) {
  NativeFn &N = Native[D.F];
  if (D.Run != RunId || D.Gen != N.Gen)
    return; // made for an earlier run, or before a recompile was asked
  if (!D.Ok) {
    Opts.Jit->log("jit: skip " + C.functionName(D.F) + ": " + D.Why);
    N.Failed = true;
    if (D.OsrIp >= 0)
      OsrState[size_t(D.OsrIp)] = OsrRefused;
    return;
  }
  N.Compiled = true;
  if (!N.Entry) {
    N.Entry = D.Res.Entry;
    FnTable[D.F] = D.Res.Fast;
  }
  if (D.OsrIp >= 0) {
    OsrCode[size_t(D.OsrIp)] = D.Res.Osr;
    OsrState[size_t(D.OsrIp)] = OsrReady;
  }
}

void Interpreter::pollCompiles() {
  std::vector<JitDone> Done;
  Vm.Worker->poll(Done);
  for (const JitDone &D : Done)
    install(D);
}

void Interpreter::quicken() {
  const size_t N = Code.size();
  // Ops 1 .. Len-1 of the sequence at I must not be entered by any jump.
  auto Sealed = [&](size_t I, size_t Len) {
    if (I + Len > N)
      return false;
    for (size_t J = I + 1; J < I + Len; ++J)
      if (Info.Leader[J])
        return false;
    return true;
  };
  auto Op = [&](size_t I) { return I < N ? Code[I].Op : Opcode::Nop; };
  for (size_t I = 0; I < N;) {
    Instr &First = Code[I];
    size_t Len = 0;
    InternalOp Use = InternalBase;
    if (First.Op == Opcode::GetSlot && Op(I + 1) == Opcode::LoadInt &&
        Op(I + 3) == Opcode::JumpIfFalse && Sealed(I, 4)) {
      switch (Op(I + 2)) {
      case Opcode::NumLt: Use = IOp_SlotIntLtJF; break;
      case Opcode::NumLe: Use = IOp_SlotIntLeJF; break;
      case Opcode::NumGt: Use = IOp_SlotIntGtJF; break;
      case Opcode::NumGe: Use = IOp_SlotIntGeJF; break;
      case Opcode::NumEq: Use = IOp_SlotIntEqJF; break;
      case Opcode::NumNe: Use = IOp_SlotIntNeJF; break;
      default: break;
      }
      Len = 4;
    }
    if (Use == InternalBase && First.Op == Opcode::GetSlot &&
        Op(I + 1) == Opcode::GetSlot && Op(I + 3) == Opcode::SetSlot &&
        Sealed(I, 4)) {
      Len = 4;
      switch (Op(I + 2)) {
      case Opcode::Add: Use = IOp_SlotSlotAddSet; break;
      case Opcode::Sub: Use = IOp_SlotSlotSubSet; break;
      case Opcode::Mul: Use = IOp_SlotSlotMulSet; break;
      default: break;
      }
    }
    if (Use == InternalBase &&
        (First.Op == Opcode::LoadTrue || First.Op == Opcode::LoadFalse ||
         First.Op == Opcode::LoadInt) &&
        Op(I + 1) == Opcode::GetSlot && Op(I + 2) == Opcode::ArraySet &&
        Sealed(I, 3)) {
      // U8 (unused by these ops) records which constant the op loads.
      First.U8 = First.Op == Opcode::LoadInt ? 2 : First.Op == Opcode::LoadTrue;
      Use = IOp_ImmSlotArraySet;
      Len = 3;
    }
    if (Use == InternalBase && First.Op == Opcode::LoadFloat &&
        (Op(I + 2) == Opcode::JumpIfTrue || Op(I + 2) == Opcode::JumpIfFalse) &&
        Sealed(I, 3)) {
      switch (Op(I + 1)) {
      case Opcode::NumLt: case Opcode::NumLe: case Opcode::NumGt:
      case Opcode::NumGe: case Opcode::NumEq: case Opcode::NumNe:
        Use = IOp_FloatCmpJump;
        Len = 3;
        break;
      default:
        break;
      }
    }
    if (Use == InternalBase && First.Op == Opcode::GetSlot &&
        Op(I + 1) == Opcode::LoadInt && Sealed(I, 3)) {
      Len = 3;
      if (Op(I + 2) == Opcode::Add)
        Use = IOp_SlotIntAdd;
      else if (Op(I + 2) == Opcode::Sub)
        Use = IOp_SlotIntSub;
    }
    if (Use == InternalBase && Sealed(I, 2)) {
      Len = 2;
      Opcode Next = Op(I + 1);
      if (First.Op == Opcode::GetSlot && Next == Opcode::GetSlot)
        Use = IOp_GetSlot2;
      else if (First.Op == Opcode::GetSlot && Next == Opcode::ArrayGet)
        Use = IOp_SlotArrayGetG;
      else if (First.Op == Opcode::GetSlot && Next == Opcode::ArraySet)
        Use = IOp_SlotArraySetG;
      else if (First.Op == Opcode::GetSlot && Next == Opcode::Add)
        Use = IOp_TopAddSlot;
      else if (First.Op == Opcode::GetSlot && Next == Opcode::Sub)
        Use = IOp_TopSubSlot;
      else if (First.Op == Opcode::GetSlot && Next == Opcode::Mul)
        Use = IOp_TopMulSlot;
      else if (First.Op == Opcode::PreIncSlotVoid && Next == Opcode::Jump)
        Use = IOp_PreIncJump;
      else if (First.Op == Opcode::AddAssignSlotVoid && Next == Opcode::Jump)
        Use = IOp_AddAssignJump;
      else if (Next == Opcode::SetSlot && First.Op == Opcode::Add)
        Use = IOp_AddSet;
      else if (Next == Opcode::SetSlot && First.Op == Opcode::Sub)
        Use = IOp_SubSet;
      else if (Next == Opcode::SetSlot && First.Op == Opcode::Mul)
        Use = IOp_MulSet;
      else if (First.Op == Opcode::LoadInt && First.I64 > 0 &&
               Next == Opcode::Mod)
        Use = IOp_IntModPos; // a positive divisor: never "modulo by zero"
      else if (First.Op == Opcode::LoadInt && First.I64 > 0 &&
               Next == Opcode::Div)
        Use = IOp_IntDivPos;
    }
    if (Use == InternalBase) {
      ++I;
      continue;
    }
    First.Op = internalOp(Use);
    I += Len;
  }
}

llvm::Error Interpreter::runtimeError(size_t At, std::string Message) {
  Output.flush();
  return makeError(ExitRuntime, C.SourceName, C.lineOf(At), Message);
}

// Dispatch. Each op body ends in NEXT (fall through to the next op) or
// JUMP (continue at a new Ip).
#if FUSEVM_COMPUTED_GOTO
#define DISPATCH() goto *Labels[static_cast<uint8_t>(Ip->Op)]
#define OP(Name) L_##Name:
#define IOP(Name) L_##Name:
#else
#define DISPATCH() goto dispatch_switch
#define OP(Name) case Opcode::Name:
#define IOP(Name) case internalOp(IOp_##Name):
#endif
#define NEXT                                                                   \
  do {                                                                         \
    ++Ip;                                                                      \
    if constexpr (CountOps)                                                    \
      ++NumOps;                                                                \
    DISPATCH();                                                                \
  } while (0)
#define JUMP(Target)                                                           \
  do {                                                                         \
    Ip = (Target);                                                             \
    if constexpr (CountOps)                                                    \
      ++NumOps;                                                                \
    DISPATCH();                                                                \
  } while (0)
#define RAISE(E)                                                               \
  do {                                                                         \
    Err = (E);                                                                 \
    goto raise;                                                                \
  } while (0)
#define CHECK(Expr)                                                            \
  do {                                                                         \
    RtError E_ = (Expr);                                                       \
    if (E_ != RtError::None)                                                   \
      RAISE(E_);                                                               \
  } while (0)
/// A taken branch to \p T: count backward edges and charge the budget.
#define BRANCH(T)                                                              \
  do {                                                                         \
    const Instr *T_ = (T);                                                     \
    if (T_ <= Ip) {                                                            \
      ++BackEdges;                                                             \
      if (--Fuel == 0)                                                         \
        RAISE(RtError::BudgetExhausted);                                       \
      if (__builtin_expect(++LoopCounts[T_ - CodeBase] >= LoopTrigger, 0)) {   \
        Nest.OsrTo = T_;                                                       \
        goto osr;                                                              \
      }                                                                        \
    }                                                                          \
    JUMP(T_);                                                                  \
  } while (0)
#define PUSH_INT(V)                                                            \
  do {                                                                         \
    Sp->I = (V);                                                               \
    Sp->K = ValueKind::Int;                                                    \
    ++Sp;                                                                      \
  } while (0)
#define PUSH_BOOL(V)                                                           \
  do {                                                                         \
    Sp->I = (V) ? 1 : 0;                                                       \
    Sp->K = ValueKind::Bool;                                                   \
    ++Sp;                                                                      \
  } while (0)

/// Frames' slots and operand stacks are bounded like the heap objects of
/// isa.md §5: a call that would pass these is "call depth limit exceeded".
constexpr size_t MaxSlotValues = size_t(1) << 26;
constexpr size_t MaxStackValues = size_t(1) << 26;

static inline int64_t wrapAdd(int64_t A, int64_t B) {
  return static_cast<int64_t>(uint64_t(A) + uint64_t(B));
}
static inline bool fastTruthy(const Value &V) {
  return V.K == ValueKind::Bool ? V.I != 0 : truthy(V);
}
/// ArrayGet with an int index on an array: replaces the index at \p Top by
/// the element (undef out of range). False: take the general path.
[[gnu::always_inline]] static inline bool fastArrayGet(const Value &C,
                                                      Value *Top) {
  if (C.K != ValueKind::Array || Top->K != ValueKind::Int)
    return false;
  const auto &Items = static_cast<const ArrayObj *>(C.P)->Items;
  if (uint64_t(Top->I) < Items.size())
    new (Top) Value(Items[size_t(Top->I)]);
  else
    Top->K = ValueKind::Undef;
  return true;
}
/// Appends \p V when \p I is one past the end (and within the limit).
[[gnu::noinline]] static bool appendArraySet(ValueVector &Items,
                                             uint64_t I, const Value &V,
                                             uint64_t MaxArr) {
  if (I != Items.size() || I >= MaxArr)
    return false;
  Items.emplace_back();
  Items.back().I = V.I;
  Items.back().K = V.K;
  return true;
}
/// ArraySet of \p VI[0] at int index \p VI[1] into an array with a single
/// owner, in range or appending. False: take the general path.
[[gnu::always_inline]] static inline bool
fastArraySet(Value &C, Value *VI, uint64_t MaxArr) {
  if (C.K != ValueKind::Array || VI[1].K != ValueKind::Int ||
      C.P->RefCount != 1)
    return false;
  auto &Items = static_cast<ArrayObj *>(C.P)->Items;
  uint64_t I = uint64_t(VI[1].I);
  if (I < Items.size()) {
    Value &D = Items[size_t(I)];
    D.release();
    D.I = VI[0].I;
    D.K = VI[0].K;
    return true;
  }
  return appendArraySet(Items, I, VI[0], MaxArr);
}
/// PreIncSlotVoid's semantics on a slot: num(v) + 1, wrapping for ints.
static inline void incSlot(Value &S) {
  if (S.K == ValueKind::Int)
    S.I = static_cast<int64_t>(uint64_t(S.I) + 1);
  else
    S = rt::unary(Opcode::Inc, S);
}
/// AddAssignSlotVoid's semantics: A = A + B (Add never fails).
static inline void addAssign(Value &A, const Value &B) {
  if (A.K == ValueKind::Int && B.K == ValueKind::Int) {
    A.I = static_cast<int64_t>(uint64_t(A.I) + uint64_t(B.I));
  } else if (A.K == ValueKind::Float && B.K == ValueKind::Float) {
    A.F += B.F;
  } else {
    Value R;
    rt::arith(Opcode::Add, A, B, R);
    A = std::move(R);
  }
}
/// Moves the popped stack value at \p From into \p Dst (a slot or global).
static inline void storeFrom(Value &Dst, Value *From) {
  Dst.release();
  Dst.I = From->I;
  Dst.K = From->K;
}
/// truthy() of the popped stack value at \p V, releasing it.
static inline bool popTruthy(Value *V) {
  if (V->K == ValueKind::Bool)
    return V->I != 0;
  bool T = truthy(*V);
  V->release();
  return T;
}
static inline void rawSwap(Value *A, Value *B) {
  alignas(Value) unsigned char T[sizeof(Value)];
  std::memcpy(T, static_cast<void *>(A), sizeof(Value));
  std::memcpy(static_cast<void *>(A), static_cast<void *>(B), sizeof(Value));
  std::memcpy(static_cast<void *>(B), T, sizeof(Value));
}

llvm::Error Interpreter::run() {
  if (llvm::Error E = prepare())
    return E;
  JitCounters Jit0; // the engine's counters before this run
  if (JitOn)
    Jit0 = Vm.Worker->counters();
  Value Result;
  uint32_t Main = Info.Main;
  uint8_t S = NativeGuardFailed; // main runs in the interpreter
  if (JitOn && Opts.Mode != RunOptions::JitMode::Auto) {
    tryCompile(Main, nullptr, -1, nullptr, nullptr, 0);
    if (Native[Main].Entry) {
      ++Out.CallCounts[Main];
      S = Native[Main].Entry(&Ctx, nullptr, &Result);
    }
  }
  bool Ok = S == NativeOk;
  if (S == NativeGuardFailed) {
    Ok = runLoop(Main, nullptr, Result);
  } else if (!Ok) {
    ErrKind = static_cast<RtError>(Ctx.Err);
    ErrAt = Ctx.ErrIp;
  }
  Out.Status = Ctx.Status;
  Out.Stats.NativeCalls = Ctx.NativeCalls;
  if (JitEngine *J = Opts.Jit) {
    // --jit-log accounts for every function: compiled ones were logged by
    // the engine, refusals by tryCompile; these are the rest.
    for (uint32_t F = 0; F < Native.size(); ++F) {
      if (Native[F].Tried || Native[F].Compiled)
        continue;
      const FunctionDef &D = C.Functions[F];
      uint64_t Calls = Out.CallCounts[F] + (F == Main), Hottest = 0;
      for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip)
        Hottest = std::max(Hottest, Out.LoopCounts[Ip]);
      std::string Line = "jit: left " + C.functionName(F) + " uncompiled: ";
      if (Calls == 0)
        Line += "never called";
      else
        Line += "not hot (" + std::to_string(Calls) + " calls, " +
                std::to_string(Hottest) + " iterations of its hottest loop; " +
                "compiled at " + std::to_string(CallTrigger) + " calls or " +
                std::to_string(LoopTrigger) + " iterations)";
      J->log(Line);
    }
    // Compiles still in flight are not waited for: their code, if it comes,
    // is for a run that is over.
    Vm.Worker->cancel(RunId);
    JitCounters Now = Vm.Worker->counters();
    Out.Stats.LLVMCompiles = Now.Compiles - Jit0.Compiles;
    Out.Stats.CompileMs = Now.CompileMs - Jit0.CompileMs;
    Out.Stats.LinearCompiled = Now.LinearCompiled - Jit0.LinearCompiled;
    Out.Stats.BlockCompiled = Now.BlockCompiled - Jit0.BlockCompiled;
  }
  if (!Ok) {
    std::string Msg =
        ErrKind == RtError::Host ? HostMessage : rtErrorMessage(ErrKind);
    return runtimeError(ErrAt, Msg);
  }
  Out.Result = std::move(Result);
  Output.flush();
  return llvm::Error::success();
}

template <bool CountOps>
bool Interpreter::loop(uint32_t Func, Value *Args, Value &Result,
                       const Resume *At) {
  const Instr *const CodeBase = Code.data();
  const Value *const Consts = C.Constants.data();
  Value *const Glob = Globals.data();
  const Instr *Ip = CodeBase + (At ? At->Ip : Funcs[Func].Entry);
  uint32_t CurFunc = Func;
  uint64_t NumOps = 0, BackEdges = 0, NumCalls = 0;
  uint64_t Fuel = Ctx.Fuel;
  const uint32_t MaxDepth = Ctx.MaxDepth;
  // This loop may run nested in a call from compiled code: its own frames
  // start at BaseFrames, and its first activation is call depth EntryDepth.
  // They live in members, not in registers the dispatch loop needs: a
  // nested run saves the outer run's and restores them on the way out.
  const NestState Outer = Nest;
  Nest.BaseFrames = Frames.size();
  Nest.BaseScopes = Scopes.size();
  Nest.EntryDepth = Ctx.Depth;
  // A call is refused when the caller's depth, Frames.size() - BaseFrames
  // + EntryDepth, reaches MaxDepth: one compare against this.
  Nest.FrameLimit = MaxDepth + Nest.BaseFrames - Nest.EntryDepth;

  Nest.EntryStackTop = StackTop;
  uint64_t *const LoopCounts = Out.LoopCounts.data();
  uint64_t *const CallCounts = Out.CallCounts.data();
  RtError Err = RtError::None;
  Value RetVal;

  size_t FrameSlots = SlotTop; // current function's slot base
  size_t CurSlots = SlotTop;   // innermost open scope's slot base
  size_t StackBase = StackTop; // current function's operand stack base
  {
    const FnRt &Fn = Funcs[CurFunc];
    if (SlotTop + Fn.NumSlots > MaxSlotValues ||
        StackBase + Fn.MaxStack > MaxStackValues ||
        !Stack.reserve(StackBase + Fn.MaxStack + 1) ||
        !Slots.reserve(SlotTop + Fn.NumSlots + 1)) {
      unsigned Held = At ? Fn.NumSlots : Args ? C.Functions[Func].Arity : 0;
      releaseRange(Args, Args + Held);
      if (At)
        releaseRange(At->Stack, At->Stack + At->Height);
      ErrKind = RtError::CallDepth;
      ErrAt = Ctx.ErrIp; // the calling op, recorded by the caller
      Nest = Outer;
      return false;
    }
    unsigned Arity = At ? Fn.NumSlots : Args ? C.Functions[Func].Arity : 0;
    Value *S = Slots.Mem + SlotTop;
    rawMove(S, Args, Arity);
    setUndef(S + Arity, Fn.NumSlots - Arity);
    SlotTop += Fn.NumSlots;
    if (At) {
      rawMove(Stack.Mem + StackBase, At->Stack, At->Height);
      StackTop = StackBase + At->Height;
    }
  }
  if (Nest.BaseFrames == 0)
    Frames.reserve(256);
  Value *Sp = Stack.Mem + StackTop;
  Value *SlotPtr = Slots.Mem + CurSlots;

#if FUSEVM_COMPUTED_GOTO
  static const void *const Labels[] = {
#define FUSE_OP(Name, O1, O2, O3, O4, Pops, Pushes, Flags) &&L_##Name,
#include "fusevm/Core/Ops.def"
#define X(Name) &&L_##Name,
      FUSE_INTERNAL_OPS(X)
#undef X
  };
#endif

  if constexpr (CountOps)
    ++NumOps;
  DISPATCH();
#if !FUSEVM_COMPUTED_GOTO
dispatch_switch:
  switch (Ip->Op) {
#endif

  //===-- Constants and stack ----------------------------------------------===//
  OP(Nop) NEXT;
  OP(LoadInt) PUSH_INT(Ip->I64); NEXT;
  OP(LoadFloat) {
    Sp->F = Ip->F64;
    Sp->K = ValueKind::Float;
    ++Sp;
  }
  NEXT;
  OP(LoadConst) new (Sp) Value(Consts[Ip->A]); ++Sp; NEXT;
  OP(LoadTrue) PUSH_BOOL(true); NEXT;
  OP(LoadFalse) PUSH_BOOL(false); NEXT;
  OP(LoadUndef) Sp->K = ValueKind::Undef; ++Sp; NEXT;
  OP(Pop) --Sp; Sp->release(); NEXT;
  OP(Dup) new (Sp) Value(Sp[-1]); ++Sp; NEXT;
  OP(Dup2) {
    new (Sp) Value(Sp[-2]);
    new (Sp + 1) Value(Sp[-1]);
    Sp += 2;
  }
  NEXT;
  OP(Swap) rawSwap(Sp - 1, Sp - 2); NEXT;
  OP(Rot) { // a b c -> b c a
    rawSwap(Sp - 3, Sp - 2);
    rawSwap(Sp - 2, Sp - 1);
  }
  NEXT;

  //===-- Globals and slots ------------------------------------------------===//
  OP(GetVar) new (Sp) Value(Glob[Ip->A]); ++Sp; NEXT;
  OP(SetVar) --Sp; storeFrom(Glob[Ip->A], Sp); NEXT;
  OP(DeclareVar) --Sp; storeFrom(Glob[Ip->A], Sp); NEXT;
  OP(GetSlot) new (Sp) Value(SlotPtr[Ip->A]); ++Sp; NEXT;
  OP(SetSlot) --Sp; storeFrom(SlotPtr[Ip->A], Sp); NEXT;
  OP(SlotArrayGet) {
    if (fastArrayGet(SlotPtr[Ip->A], Sp - 1))
      NEXT;
    Sp[-1] = rt::arrayGet(SlotPtr[Ip->A], Sp[-1]);
  }
  NEXT;
  OP(SlotArraySet) {
    if (fastArraySet(SlotPtr[Ip->A], Sp - 2, Limits.MaxArr)) {
      Sp -= 2;
      NEXT;
    }
    CHECK(rt::arraySet(SlotPtr[Ip->A], Sp[-1], std::move(Sp[-2]), Limits));
    Sp[-1].release();
    Sp -= 2;
  }
  NEXT;

  //===-- Arrays -----------------------------------------------------------===//
  OP(GetArray) new (Sp) Value(rt::asArray(Glob[Ip->A])); ++Sp; NEXT;
  OP(SetArray) {
    if (!Sp[-1].isArray())
      RAISE(RtError::NotAnArray);
    --Sp;
    Glob[Ip->A] = std::move(*Sp);
  }
  NEXT;
  OP(DeclareArray) Glob[Ip->A] = Value::emptyArray(); NEXT;
  OP(ArrayGet) {
    if (fastArrayGet(Glob[Ip->A], Sp - 1))
      NEXT;
    Sp[-1] = rt::arrayGet(Glob[Ip->A], Sp[-1]);
  }
  NEXT;
  OP(ArraySet) {
    if (fastArraySet(Glob[Ip->A], Sp - 2, Limits.MaxArr)) {
      Sp -= 2;
      NEXT;
    }
    CHECK(rt::arraySet(Glob[Ip->A], Sp[-1], std::move(Sp[-2]), Limits));
    Sp[-1].release();
    Sp -= 2;
  }
  NEXT;
  OP(ArrayPush) {
    CHECK(rt::arrayPush(Glob[Ip->A], std::move(Sp[-1]), Limits));
    --Sp;
  }
  NEXT;
  OP(ArrayPop) {
    Value V;
    CHECK(rt::arrayPop(Glob[Ip->A], V));
    new (Sp) Value(std::move(V));
    ++Sp;
  }
  NEXT;
  OP(ArrayShift) {
    Value V;
    CHECK(rt::arrayShift(Glob[Ip->A], V));
    new (Sp) Value(std::move(V));
    ++Sp;
  }
  NEXT;
  OP(ArrayLen) PUSH_INT(rt::arrayLen(Glob[Ip->A])); NEXT;
  OP(MakeArray) {
    unsigned N = Ip->A;
    Value A = Value::emptyArray();
    auto &Items = A.array()->Items;
    Items.resize(N);
    rawMove(Items.data(), Sp - N, N);
    Sp -= N;
    new (Sp) Value(std::move(A));
    ++Sp;
  }
  NEXT;

  //===-- Hashes -----------------------------------------------------------===//
  OP(GetHash) new (Sp) Value(rt::asHash(Glob[Ip->A])); ++Sp; NEXT;
  OP(SetHash) {
    if (!Sp[-1].isHash())
      RAISE(RtError::NotAHash);
    --Sp;
    Glob[Ip->A] = std::move(*Sp);
  }
  NEXT;
  OP(DeclareHash) Glob[Ip->A] = Value::emptyHash(); NEXT;
  OP(HashGet) {
    Value V;
    CHECK(rt::hashGet(Glob[Ip->A], Sp[-1], V, Limits));
    Sp[-1] = std::move(V);
  }
  NEXT;
  OP(HashSet) {
    CHECK(rt::hashSet(Glob[Ip->A], Sp[-1], std::move(Sp[-2]), Limits));
    Sp[-1].release();
    Sp -= 2;
  }
  NEXT;
  OP(HashDelete) {
    Value V;
    CHECK(rt::hashDelete(Glob[Ip->A], Sp[-1], V, Limits));
    Sp[-1] = std::move(V);
  }
  NEXT;
  OP(HashExists) {
    Value V;
    CHECK(rt::hashExists(Glob[Ip->A], Sp[-1], V, Limits));
    Sp[-1] = std::move(V);
  }
  NEXT;
  OP(HashKeys) new (Sp) Value(rt::hashKeys(Glob[Ip->A])); ++Sp; NEXT;
  OP(HashValues) new (Sp) Value(rt::hashValues(Glob[Ip->A])); ++Sp; NEXT;
  OP(MakeHash) {
    unsigned N = Ip->A;
    Value H;
    CHECK(rt::makeHash(Sp - 2 * N, N, H, Limits));
    releaseRange(Sp - 2 * N, Sp);
    Sp -= 2 * N;
    new (Sp) Value(std::move(H));
    ++Sp;
  }
  NEXT;

  //===-- Arithmetic: int and float fast paths, else the runtime -----------===//
#define ARITH_FAST(Name, IntExpr, FloatOp)                                     \
  OP(Name) {                                                                   \
    Value *A = Sp - 2, *B = Sp - 1;                                            \
    if (A->K == ValueKind::Int && B->K == ValueKind::Int) {                    \
      A->I = static_cast<int64_t>(IntExpr);                                    \
      --Sp;                                                                    \
      NEXT;                                                                    \
    }                                                                          \
    if (A->K == ValueKind::Float && B->K == ValueKind::Float) {                \
      A->F FloatOp B->F;                                                       \
      --Sp;                                                                    \
      NEXT;                                                                    \
    }                                                                          \
    goto arith_slow;                                                           \
  }
  // Integer ops wrap: computed in uint64_t, where C++ defines overflow.
  ARITH_FAST(Add, uint64_t(A->I) + uint64_t(B->I), +=)
  ARITH_FAST(Sub, uint64_t(A->I) - uint64_t(B->I), -=)
  ARITH_FAST(Mul, uint64_t(A->I) * uint64_t(B->I), *=)
#undef ARITH_FAST
  OP(Div) {
    Value *A = Sp - 2, *B = Sp - 1;
    if (A->K == ValueKind::Int && B->K == ValueKind::Int && B->I > 0) {
      A->I /= B->I;
      --Sp;
      NEXT;
    }
    if (A->K == ValueKind::Float && B->K == ValueKind::Float) {
      A->F /= B->F;
      --Sp;
      NEXT;
    }
    goto arith_slow;
  }
  OP(Mod) {
    Value *A = Sp - 2, *B = Sp - 1;
    if (A->K == ValueKind::Int && B->K == ValueKind::Int && B->I > 0) {
      A->I %= B->I;
      --Sp;
      NEXT;
    }
    goto arith_slow;
  }
  OP(Pow) goto arith_slow;
arith_slow : {
  Value R;
  CHECK(rt::arith(Ip->Op, Sp[-2], Sp[-1], R));
  Sp[-1].release();
  --Sp;
  Sp[-1] = std::move(R);
}
  NEXT;
  OP(Negate) {
    Value *A = Sp - 1;
    if (A->K == ValueKind::Int)
      A->I = static_cast<int64_t>(0 - uint64_t(A->I));
    else if (A->K == ValueKind::Float)
      A->F = -A->F;
    else
      *A = rt::unary(Opcode::Negate, *A);
  }
  NEXT;
  OP(Inc) {
    Value *A = Sp - 1;
    if (A->K == ValueKind::Int)
      A->I = wrapAdd(A->I, 1);
    else
      *A = rt::unary(Opcode::Inc, *A);
  }
  NEXT;
  OP(Dec) {
    Value *A = Sp - 1;
    if (A->K == ValueKind::Int)
      A->I = wrapAdd(A->I, -1);
    else
      *A = rt::unary(Opcode::Dec, *A);
  }
  NEXT;

  //===-- Strings ----------------------------------------------------------===//
  OP(Concat) {
    // `s = s . x`: when the next op stores into the slot or global the left
    // operand was read from, that reference is dead already; dropping it
    // first leaves the string one owner, so it grows in place (amortised
    // O(1) appends instead of a copy each time). Nothing can observe the
    // slot in between: the store is the next op, and an error ends the run.
    Value &L = Sp[-2];
    if (L.K == ValueKind::Str && L.P->RefCount == 2) {
      const Instr &Next = Ip[1];
      Value *Dead = Next.Op == Opcode::SetSlot  ? &SlotPtr[Next.A]
                    : Next.Op == Opcode::SetVar ? &Glob[Next.A]
                                                : nullptr;
      if (Dead && Dead->K == ValueKind::Str && Dead->P == L.P) {
        --L.P->RefCount;
        Dead->K = ValueKind::Undef;
      }
    }
    CHECK(rt::concat(L, Sp[-1], Limits));
    Sp[-1].release();
    --Sp;
  }
  NEXT;
  OP(StringRepeat) {
    Value R;
    CHECK(rt::stringRepeat(Sp[-2], Sp[-1], R, Limits));
    Sp[-1].release();
    --Sp;
    Sp[-1] = std::move(R);
  }
  NEXT;
  OP(StringLen) {
    Value R;
    CHECK(rt::stringLen(Sp[-1], R, Limits));
    Sp[-1] = std::move(R);
  }
  NEXT;

  //===-- Comparison -------------------------------------------------------===//
#define NUM_COMPARE(Name, CmpOp)                                               \
  OP(Name) {                                                                   \
    Value *A = Sp - 2, *B = Sp - 1;                                            \
    bool R;                                                                    \
    if (A->K == ValueKind::Int && B->K == ValueKind::Int) {                    \
      R = A->I CmpOp B->I;                                                     \
    } else if (A->K == ValueKind::Float && B->K == ValueKind::Float) {         \
      R = A->F CmpOp B->F;                                                     \
    } else {                                                                   \
      R = rt::numCompare(Opcode::Name, *A, *B);                                \
      B->release();                                                            \
      A->release();                                                            \
    }                                                                          \
    A->I = R;                                                                  \
    A->K = ValueKind::Bool;                                                    \
    --Sp;                                                                      \
  }                                                                            \
  NEXT;
  NUM_COMPARE(NumEq, ==)
  NUM_COMPARE(NumNe, !=)
  NUM_COMPARE(NumLt, <)
  NUM_COMPARE(NumGt, >)
  NUM_COMPARE(NumLe, <=)
  NUM_COMPARE(NumGe, >=)
#undef NUM_COMPARE
  OP(Spaceship) {
    int64_t R = rt::spaceship(Sp[-2], Sp[-1]);
    Sp[-1].release();
    --Sp;
    Sp[-1].release();
    Sp[-1].I = R;
    Sp[-1].K = ValueKind::Int;
  }
  NEXT;
  OP(StrEq) goto str_compare;
  OP(StrNe) goto str_compare;
  OP(StrLt) goto str_compare;
  OP(StrGt) goto str_compare;
  OP(StrLe) goto str_compare;
  OP(StrGe) goto str_compare;
  OP(StrCmp) goto str_compare;
str_compare : {
  Value R;
  CHECK(rt::strCompare(Ip->Op, Sp[-2], Sp[-1], R, Limits));
  Sp[-1].release();
  --Sp;
  Sp[-1] = std::move(R);
}
  NEXT;

  //===-- Logic and bits ---------------------------------------------------===//
  OP(LogNot) {
    bool R = !fastTruthy(Sp[-1]);
    Sp[-1].release();
    Sp[-1].I = R;
    Sp[-1].K = ValueKind::Bool;
  }
  NEXT;
  OP(LogAnd) {
    bool R = fastTruthy(Sp[-2]) && fastTruthy(Sp[-1]);
    Sp[-1].release();
    --Sp;
    Sp[-1].release();
    Sp[-1].I = R;
    Sp[-1].K = ValueKind::Bool;
  }
  NEXT;
  OP(LogOr) {
    bool R = fastTruthy(Sp[-2]) || fastTruthy(Sp[-1]);
    Sp[-1].release();
    --Sp;
    Sp[-1].release();
    Sp[-1].I = R;
    Sp[-1].K = ValueKind::Bool;
  }
  NEXT;
  OP(BitAnd) goto bit_op;
  OP(BitOr) goto bit_op;
  OP(BitXor) goto bit_op;
  OP(Shl) goto bit_op;
  OP(Shr) goto bit_op;
bit_op : {
  int64_t R = rt::bitop(Ip->Op, Sp[-2], Sp[-1]);
  Sp[-1].release();
  --Sp;
  Sp[-1].release();
  Sp[-1].I = R;
  Sp[-1].K = ValueKind::Int;
}
  NEXT;
  OP(BitNot) {
    int64_t R = ~toInt(Sp[-1]);
    Sp[-1].release();
    Sp[-1].I = R;
    Sp[-1].K = ValueKind::Int;
  }
  NEXT;

  //===-- Control flow -----------------------------------------------------===//
  OP(Jump) BRANCH(CodeBase + Ip->Target);
  OP(JumpIfTrue) {
    --Sp;
    bool T = popTruthy(Sp);
    if (T)
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;
  OP(JumpIfFalse) {
    --Sp;
    bool T = popTruthy(Sp);
    if (!T)
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;
  OP(JumpIfTrueKeep) {
    if (fastTruthy(Sp[-1]))
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;
  OP(JumpIfFalseKeep) {
    if (!fastTruthy(Sp[-1]))
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;

  //===-- Functions and scopes ---------------------------------------------===//
  OP(Call) {
    uint32_t F = Ip->A;
    const FnRt &Fn = Funcs[F];
    if (Frames.size() >= Nest.FrameLimit) // the call-depth limit
      RAISE(RtError::CallDepth);
    if (--Fuel == 0)
      RAISE(RtError::BudgetExhausted);
    unsigned Argc = Ip->U8;
    size_t ArgsAt = static_cast<size_t>(Sp - Stack.Mem) - Argc;
    if (__builtin_expect(JitOn, 0)) {
      // Native code for the callee (out of line: the interpreter's own
      // call path stays as short as without a JIT). Everything it touches
      // (the stack buffers may move) is re-read afterwards.
      StackTop = static_cast<size_t>(Sp - Stack.Mem);
      Ctx.Fuel = Fuel;
      uint8_t S = nativeCall(
          F, ArgsAt,
          static_cast<uint32_t>(Frames.size() - Nest.BaseFrames + Nest.EntryDepth),
          static_cast<uint32_t>(Ip - CodeBase));
      if (S != NativeGuardFailed) {
        Fuel = Ctx.Fuel;
        SlotPtr = Slots.Mem + CurSlots;
        Sp = Stack.Mem + ArgsAt; // arguments consumed; the result is here
        if (S == NativeFailed)
          goto raise_native;
        ++Sp;
        ++NumCalls;
        ++CallCounts[F];
        NEXT;
      }
    }
    // One test on the common path; growth (and its limits) is rare.
    if (__builtin_expect(SlotTop + Fn.NumSlots >= Slots.Cap ||
                             ArgsAt + Fn.MaxStack >= Stack.Cap,
                         0)) {
      if (SlotTop + Fn.NumSlots > MaxSlotValues ||
          ArgsAt + Fn.MaxStack > MaxStackValues ||
          !Slots.reserve(SlotTop + Fn.NumSlots + 1) ||
          !Stack.reserve(ArgsAt + Fn.MaxStack + 1))
        RAISE(RtError::CallDepth);
    }
    ++NumCalls;
    ++CallCounts[F];
    Frames.push_back({Ip + 1, CurFunc, static_cast<uint32_t>(Scopes.size()),
                      static_cast<uint32_t>(FrameSlots),
                      static_cast<uint32_t>(CurSlots),
                      static_cast<uint32_t>(StackBase)});
    Value *Args = Stack.Mem + ArgsAt;
    SlotPtr = Slots.Mem + SlotTop;
    // Field by field: a memcpy of a few values compiles to `rep movsq`,
    // whose start-up cost dominated small calls.
    for (unsigned A = 0; A < Argc; ++A) {
      SlotPtr[A].I = Args[A].I;
      SlotPtr[A].K = Args[A].K;
    }
    setUndef(SlotPtr + Argc, Fn.NumSlots - Argc);
    FrameSlots = CurSlots = SlotTop;
    SlotTop += Fn.NumSlots;
    StackBase = ArgsAt;
    Sp = Args;
    CurFunc = F;
    JUMP(CodeBase + Fn.Entry);
  }
  OP(Return) RetVal = Value(); goto do_return;
  OP(ReturnValue) --Sp; RetVal = std::move(*Sp); goto do_return;
do_return : {
  // A return discards the activation's operand stack and open scopes.
  releaseRange(Stack.Mem + StackBase, Sp);
  releaseRange(Slots.Mem + FrameSlots, Slots.Mem + SlotTop);
  SlotTop = FrameSlots;
  Sp = Stack.Mem + StackBase;
  if (Frames.size() == Nest.BaseFrames) {
    Scopes.resize(Nest.BaseScopes);
    goto finish;
  }
  const CallFrame &F = Frames.back();
  if (Scopes.size() != F.ScopeBase)
    Scopes.resize(F.ScopeBase);
  new (Sp) Value(std::move(RetVal));
  ++Sp;
  StackBase = F.StackBase;
  FrameSlots = F.FrameSlots;
  CurSlots = F.CurSlots;
  SlotPtr = Slots.Mem + CurSlots;
  CurFunc = F.Func;
  Ip = F.RetIp;
  Frames.pop_back();
  if constexpr (CountOps)
    ++NumOps;
  DISPATCH();
}
  OP(PushFrame) {
    uint32_t N = Funcs[CurFunc].NumSlots;
    if (SlotTop + N > MaxSlotValues || !Slots.reserve(SlotTop + N + 1))
      RAISE(RtError::CallDepth);
    Scopes.push_back(CurSlots);
    CurSlots = SlotTop;
    SlotTop += N;
    SlotPtr = Slots.Mem + CurSlots;
    setUndef(SlotPtr, N);
  }
  NEXT;
  OP(PopFrame) {
    releaseRange(Slots.Mem + CurSlots, Slots.Mem + SlotTop);
    SlotTop = CurSlots;
    CurSlots = Scopes.back();
    Scopes.pop_back();
    SlotPtr = Slots.Mem + CurSlots;
    Value *Keep = Stack.Mem + StackBase + Ip->A;
    releaseRange(Keep, Sp);
    Sp = Keep;
  }
  NEXT;

  //===-- Input and output -------------------------------------------------===//
  OP(Print) goto print;
  OP(PrintLn) goto print;
print : {
  unsigned N = Ip->U8;
  Sp -= N; // print() consumes the values, failing or not
  CHECK(static_cast<RtError>(print(Ip->Op == Opcode::PrintLn, Sp, N)));
}
  NEXT;
  OP(ReadLine) {
    CHECK(static_cast<RtError>(readLine(Sp)));
    ++Sp;
  }
  NEXT;

  //===-- Collections ------------------------------------------------------===//
  OP(Range) {
    Value R;
    CHECK(rt::range(Sp[-2], Sp[-1], nullptr, R, Limits));
    Sp[-1].release();
    --Sp;
    Sp[-1] = std::move(R);
  }
  NEXT;
  OP(RangeStep) {
    Value R;
    CHECK(rt::range(Sp[-3], Sp[-2], &Sp[-1], R, Limits));
    releaseRange(Sp - 2, Sp);
    Sp -= 2;
    Sp[-1] = std::move(R);
  }
  NEXT;

  //===-- Fused superinstructions: exactly their expansions ----------------===//
  OP(PreIncSlot) {
    Value &S = SlotPtr[Ip->A];
    if (S.K == ValueKind::Int)
      S.I = wrapAdd(S.I, 1);
    else
      S = rt::unary(Opcode::Inc, S);
    new (Sp) Value(S);
    ++Sp;
  }
  NEXT;
  OP(PreIncSlotVoid) incSlot(SlotPtr[Ip->A]); NEXT;
  OP(AddAssignSlotVoid) addAssign(SlotPtr[Ip->A], SlotPtr[Ip->B]); NEXT;
  OP(SlotLtIntJumpIfFalse) {
    const Value &S = SlotPtr[Ip->A];
    bool Lt = S.K == ValueKind::Int
                  ? S.I < Ip->Imm32
                  : rt::numCompare(Opcode::NumLt, S, Value::integer(Ip->Imm32));
    if (!Lt)
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;
  OP(SlotIncLtIntJumpBack) {
    Value &S = SlotPtr[Ip->A];
    bool Lt;
    if (S.K == ValueKind::Int) {
      S.I = wrapAdd(S.I, 1);
      Lt = S.I < Ip->Imm32;
    } else {
      S = rt::unary(Opcode::Inc, S);
      Lt = rt::numCompare(Opcode::NumLt, S, Value::integer(Ip->Imm32));
    }
    if (Lt)
      BRANCH(CodeBase + Ip->Target);
  }
  NEXT;
  OP(AccumSumLoop) {
    Value &Sum = SlotPtr[Ip->A];
    Value &I = SlotPtr[Ip->B];
    int64_t K = Ip->Imm32;
    if (Ip->A != Ip->B && Sum.K == ValueKind::Int && I.K == ValueKind::Int) {
      if (I.I < K) {
        // sum of I.I .. K-1 in closed form; exact in 128 bits, then wrapped
        // to 64 like the step-by-step loop.
        __int128 N = static_cast<__int128>(K) - I.I;
        __int128 T = N * (static_cast<__int128>(I.I) + K - 1) / 2;
        Sum.I = wrapAdd(Sum.I, static_cast<int64_t>(static_cast<uint64_t>(
                                   static_cast<unsigned __int128>(T))));
        I.I = K;
      }
    } else {
      const Value Limit = Value::integer(K), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        if (--Fuel == 0)
          RAISE(RtError::BudgetExhausted);
        Value R;
        CHECK(rt::arith(Opcode::Add, Sum, I, R));
        Sum = std::move(R);
        CHECK(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
      }
    }
  }
  NEXT;
  OP(ConcatConstLoop) {
    Value &S = SlotPtr[Ip->B];
    Value &I = SlotPtr[Ip->C];
    const Value &Piece = Consts[Ip->A];
    int64_t Lim = Ip->Imm32;
    if (Ip->B != Ip->C && I.K == ValueKind::Int) {
      if (I.I < Lim) {
        CHECK(rt::concatRepeat(S, Piece, uint64_t(Lim) - uint64_t(I.I),
                               Limits));
        I.I = Lim;
      }
    } else {
      const Value Limit = Value::integer(Lim), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        if (--Fuel == 0)
          RAISE(RtError::BudgetExhausted);
        CHECK(rt::concat(S, Piece, Limits));
        Value R;
        CHECK(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
      }
    }
  }
  NEXT;
  OP(PushIntRangeLoop) {
    Value &I = SlotPtr[Ip->B];
    Value &G = Glob[Ip->A];
    int64_t K = Ip->Imm32;
    if (I.K == ValueKind::Int) {
      if (I.I < K) {
        uint64_t N = uint64_t(K) - uint64_t(I.I);
        if (G.isUndef())
          G = Value::emptyArray();
        else if (!G.isArray())
          RAISE(RtError::NotAnArray);
        ArrayObj *A = G.mutableArray();
        if (N > Limits.MaxArr - A->Items.size())
          RAISE(RtError::ArrayLimit);
        A->Items.reserve(A->Items.size() + N);
        for (int64_t V = I.I; V < K; ++V)
          A->Items.push_back(Value::integer(V));
        I.I = K;
      }
    } else {
      const Value Limit = Value::integer(K), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        if (--Fuel == 0)
          RAISE(RtError::BudgetExhausted);
        CHECK(rt::arrayPush(G, Value(I), Limits));
        Value R;
        CHECK(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
      }
    }
  }
  NEXT;

  //===-- Status, builtins and extensions ----------------------------------===//
  OP(SetStatus) {
    Ctx.Status = static_cast<int32_t>(static_cast<uint32_t>(toInt(Sp[-1])));
    --Sp;
    Sp->release();
  }
  NEXT;
  OP(GetStatus) {
    Sp->I = Ctx.Status;
    Sp->K = ValueKind::Status;
    ++Sp;
  }
  NEXT;
  OP(CallBuiltin) {
    unsigned N = Ip->U8;
    uint16_t Id = Ip->A;
    Value R;
    if (Id < FirstHostBuiltin) {
      CHECK(rt::callBuiltin(Id, Sp - N, R, Limits));
    } else {
      Sp -= N; // hostBuiltin() consumes the arguments
      CHECK(static_cast<RtError>(hostBuiltin(Id, Sp, N, Sp)));
      ++Sp;
      NEXT;
    }
    releaseRange(Sp - N, Sp);
    Sp -= N;
    new (Sp) Value(std::move(R));
    ++Sp;
  }
  NEXT;
  OP(Extended) goto extended;
  OP(ExtendedWide) goto extended;
extended : {
  const ExtRt &X = Ext[Ip->B];
  // The results overwrite the arguments: move those aside first.
  if (!ExtArgs.reserve(X.Pops + 1u))
    RAISE(RtError::StringLimit);
  rawMove(ExtArgs.Mem, Sp - X.Pops, X.Pops);
  Sp -= X.Pops;
  CHECK(static_cast<RtError>(
      extendedOp(static_cast<uint32_t>(Ip - CodeBase), ExtArgs.Mem, Sp)));
  Sp += X.Pushes;
}
  NEXT;

  //===-- Internal superinstructions (see quicken()) -----------------------===//
  IOP(GetSlot2) {
    new (Sp) Value(SlotPtr[Ip->A]);
    new (Sp + 1) Value(SlotPtr[Ip[1].A]);
    Sp += 2;
    Ip += 1;
  }
  NEXT;
#define SLOT_INT_JF(Name, Cmp, CmpOp)                                          \
  IOP(Name) {                                                                  \
    const Value &S = SlotPtr[Ip->A];                                           \
    int64_t K = Ip[1].I64;                                                     \
    bool R = S.K == ValueKind::Int                                             \
                 ? S.I CmpOp K                                                 \
                 : rt::numCompare(Opcode::Cmp, S, Value::integer(K));          \
    if (!R)                                                                    \
      BRANCH(CodeBase + Ip[3].Target);                                         \
    Ip += 3;                                                                   \
  }                                                                            \
  NEXT;
  SLOT_INT_JF(SlotIntLtJF, NumLt, <)
  SLOT_INT_JF(SlotIntLeJF, NumLe, <=)
  SLOT_INT_JF(SlotIntGtJF, NumGt, >)
  SLOT_INT_JF(SlotIntGeJF, NumGe, >=)
  SLOT_INT_JF(SlotIntEqJF, NumEq, ==)
  SLOT_INT_JF(SlotIntNeJF, NumNe, !=)
#undef SLOT_INT_JF
#define SLOT_SLOT_ARITH_SET(Name, Arith, IntExpr, FloatOp)                     \
  IOP(Name) {                                                                  \
    const Value &A = SlotPtr[Ip->A], &B = SlotPtr[Ip[1].A];                    \
    Value &D = SlotPtr[Ip[3].A];                                               \
    if (A.K == ValueKind::Int && B.K == ValueKind::Int) {                      \
      int64_t R = static_cast<int64_t>(IntExpr);                               \
      D.release();                                                             \
      D.I = R;                                                                 \
      D.K = ValueKind::Int;                                                    \
    } else if (A.K == ValueKind::Float && B.K == ValueKind::Float) {           \
      double R = A.F FloatOp B.F;                                              \
      D.release();                                                             \
      D.F = R;                                                                 \
      D.K = ValueKind::Float;                                                  \
    } else {                                                                   \
      Value R;                                                                 \
      CHECK(rt::arith(Opcode::Arith, A, B, R));                                \
      D = std::move(R);                                                        \
    }                                                                          \
    Ip += 3;                                                                   \
  }                                                                            \
  NEXT;
  SLOT_SLOT_ARITH_SET(SlotSlotAddSet, Add, uint64_t(A.I) + uint64_t(B.I), +)
  SLOT_SLOT_ARITH_SET(SlotSlotSubSet, Sub, uint64_t(A.I) - uint64_t(B.I), -)
  SLOT_SLOT_ARITH_SET(SlotSlotMulSet, Mul, uint64_t(A.I) * uint64_t(B.I), *)
#undef SLOT_SLOT_ARITH_SET
#define ARITH_SET(Name, Arith, IntExpr, FloatOp)                               \
  IOP(Name) {                                                                  \
    Value *A = Sp - 2, *B = Sp - 1;                                            \
    Value &D = SlotPtr[Ip[1].A];                                               \
    if (A->K == ValueKind::Int && B->K == ValueKind::Int) {                    \
      int64_t R = static_cast<int64_t>(IntExpr);                               \
      D.release();                                                             \
      D.I = R;                                                                 \
      D.K = ValueKind::Int;                                                    \
    } else if (A->K == ValueKind::Float && B->K == ValueKind::Float) {         \
      double R = A->F FloatOp B->F;                                            \
      D.release();                                                             \
      D.F = R;                                                                 \
      D.K = ValueKind::Float;                                                  \
    } else {                                                                   \
      Value R;                                                                 \
      CHECK(rt::arith(Opcode::Arith, *A, *B, R));                              \
      B->release();                                                            \
      A->release();                                                            \
      D = std::move(R);                                                        \
    }                                                                          \
    Sp -= 2;                                                                   \
    Ip += 1;                                                                   \
  }                                                                            \
  NEXT;
  ARITH_SET(AddSet, Add, uint64_t(A->I) + uint64_t(B->I), +)
  ARITH_SET(SubSet, Sub, uint64_t(A->I) - uint64_t(B->I), -)
  ARITH_SET(MulSet, Mul, uint64_t(A->I) * uint64_t(B->I), *)
#undef ARITH_SET
#define SLOT_INT_ARITH(Name, Arith, IntExpr)                                   \
  IOP(Name) {                                                                  \
    const Value &S = SlotPtr[Ip->A];                                           \
    int64_t K = Ip[1].I64;                                                     \
    if (S.K == ValueKind::Int) {                                               \
      Sp->I = static_cast<int64_t>(IntExpr);                                   \
      Sp->K = ValueKind::Int;                                                  \
    } else {                                                                   \
      Value R;                                                                 \
      CHECK(rt::arith(Opcode::Arith, S, Value::integer(K), R));                \
      new (Sp) Value(std::move(R));                                            \
    }                                                                          \
    ++Sp;                                                                      \
    Ip += 2;                                                                   \
  }                                                                            \
  NEXT;
  SLOT_INT_ARITH(SlotIntAdd, Add, uint64_t(S.I) + uint64_t(K))
  SLOT_INT_ARITH(SlotIntSub, Sub, uint64_t(S.I) - uint64_t(K))
#undef SLOT_INT_ARITH
  IOP(IntModPos) {
    Value *A = Sp - 1;
    if (A->K == ValueKind::Int) {
      A->I %= Ip->I64;
    } else {
      Value R;
      CHECK(rt::arith(Opcode::Mod, *A, Value::integer(Ip->I64), R));
      *A = std::move(R);
    }
    Ip += 1;
  }
  NEXT;
  IOP(IntDivPos) {
    Value *A = Sp - 1;
    if (A->K == ValueKind::Int) {
      A->I /= Ip->I64;
    } else {
      Value R;
      CHECK(rt::arith(Opcode::Div, *A, Value::integer(Ip->I64), R));
      *A = std::move(R);
    }
    Ip += 1;
  }
  NEXT;
  IOP(SlotArraySetG) {
    // Stack: value; index from slot A; array in global Ip[1].A. The general
    // path pushes the index and runs the ArraySet op itself, so errors are
    // reported at the ArraySet's line.
    Value &G = Glob[Ip[1].A];
    new (Sp) Value(SlotPtr[Ip->A]);
    if (fastArraySet(G, Sp - 1, Limits.MaxArr)) {
      --Sp;
      Ip += 1;
      NEXT;
    }
    ++Sp;
  }
  NEXT; // the general path: the ArraySet op that follows
  IOP(ImmSlotArraySet) {
    Value &G = Glob[Ip[2].A];
    const Value &Index = SlotPtr[Ip[1].A];
    if (G.K == ValueKind::Array && Index.K == ValueKind::Int &&
        G.P->RefCount == 1) {
      auto &Items = static_cast<ArrayObj *>(G.P)->Items;
      if (uint64_t(Index.I) < Items.size()) {
        // Write first, then drop the old value: the store does not wait
        // for the (often cache-missing) load of the old element.
        Value &D = Items[size_t(Index.I)];
        ValueKind OldK = D.K;
        HeapObj *OldP = D.P;
        D.I = Ip->U8 == 2 ? Ip->I64 : Ip->U8;
        D.K = Ip->U8 == 2 ? ValueKind::Int : ValueKind::Bool;
        if (OldK >= ValueKind::Str && --OldP->RefCount == 0)
          destroyHeapObj(OldP);
        Ip += 2;
        NEXT;
      }
    }
    // General path: the constant and the index as the ops would leave
    // them, then the ArraySet op itself.
    if (Ip->U8 == 2) {
      Sp->I = Ip->I64;
      Sp->K = ValueKind::Int;
    } else {
      Sp->I = Ip->U8;
      Sp->K = ValueKind::Bool;
    }
    new (Sp + 1) Value(Index);
    Sp += 2;
    Ip += 1;
  }
  NEXT;
  IOP(PreIncJump) {
    incSlot(SlotPtr[Ip->A]);
    BRANCH(CodeBase + Ip[1].Target);
  }
  IOP(AddAssignJump) {
    addAssign(SlotPtr[Ip->A], SlotPtr[Ip->B]);
    BRANCH(CodeBase + Ip[1].Target);
  }
#define TOP_ARITH_SLOT(Name, Arith, IntExpr, FloatOp)                          \
  IOP(Name) {                                                                  \
    Value *A = Sp - 1;                                                         \
    const Value &B = SlotPtr[Ip->A];                                           \
    if (A->K == ValueKind::Float && B.K == ValueKind::Float) {                 \
      A->F = A->F FloatOp B.F;                                                 \
    } else if (A->K == ValueKind::Int && B.K == ValueKind::Int) {              \
      A->I = static_cast<int64_t>(IntExpr);                                    \
    } else {                                                                   \
      Value R;                                                                 \
      CHECK(rt::arith(Opcode::Arith, *A, B, R));                               \
      *A = std::move(R);                                                       \
    }                                                                          \
    Ip += 1;                                                                   \
  }                                                                            \
  NEXT;
  TOP_ARITH_SLOT(TopAddSlot, Add, uint64_t(A->I) + uint64_t(B.I), +)
  TOP_ARITH_SLOT(TopSubSlot, Sub, uint64_t(A->I) - uint64_t(B.I), -)
  TOP_ARITH_SLOT(TopMulSlot, Mul, uint64_t(A->I) * uint64_t(B.I), *)
#undef TOP_ARITH_SLOT
  IOP(FloatCmpJump) {
    // top <cmp> k, then branch; the constant is the LoadFloat's operand.
    Value *A = Sp - 1;
    double K = Ip->F64;
    Opcode Cmp = Ip[1].Op;
    bool R;
    if (A->K == ValueKind::Float) {
      double X = A->F;
      switch (Cmp) {
      case Opcode::NumLt: R = X < K; break;
      case Opcode::NumLe: R = X <= K; break;
      case Opcode::NumGt: R = X > K; break;
      case Opcode::NumGe: R = X >= K; break;
      case Opcode::NumEq: R = X == K; break;
      default: R = X != K; break;
      }
    } else {
      R = rt::numCompare(Cmp, *A, Value::floating(K));
      A->release();
    }
    --Sp;
    if (R == (Ip[2].Op == Opcode::JumpIfTrue))
      BRANCH(CodeBase + Ip[2].Target);
    Ip += 2;
  }
  NEXT;
  IOP(SlotArrayGetG) {
    const Value &Index = SlotPtr[Ip->A];
    const Value &G = Glob[Ip[1].A];
    if (G.K == ValueKind::Array && Index.K == ValueKind::Int) {
      const auto &Items = static_cast<const ArrayObj *>(G.P)->Items;
      if (uint64_t(Index.I) < Items.size())
        new (Sp) Value(Items[size_t(Index.I)]);
      else
        Sp->K = ValueKind::Undef;
    } else {
      new (Sp) Value(rt::arrayGet(G, Index));
    }
    ++Sp;
    Ip += 1;
  }
  NEXT;

#if !FUSEVM_COMPUTED_GOTO
  }
#endif

osr : {
  // A loop got hot: compile the function with an entry at this header and
  // continue there in native code, which runs the activation to its return.
  const Instr *OsrTo = Nest.OsrTo;
  size_t At = static_cast<size_t>(OsrTo - CodeBase);
  size_t StackLen = static_cast<size_t>(Sp - (Stack.Mem + StackBase));
  maybePoll();
  if (OsrState[At] == OsrNone) {
    if (CurSlots == FrameSlots && Info.Depth[At] == 0) {
      StackTop = static_cast<size_t>(Sp - Stack.Mem);
      tryCompile(CurFunc, nullptr, static_cast<int64_t>(At), SlotPtr,
                 Stack.Mem + StackBase, StackLen);
    } else {
      OsrState[At] = OsrRefused; // inside a scope: not an entry we make
    }
  }
  if (OsrState[At] == OsrRefused || OsrState[At] == OsrPending)
    LoopCounts[At] = 0; // back off; a pending compile is looked for again
                        // after as many iterations
  NativeOsrFn Fn = OsrState[At] == OsrReady ? OsrCode[At] : nullptr;
  if (Fn && nativeStackOk()) {
    StackTop = static_cast<size_t>(Sp - Stack.Mem);
    Ctx.Fuel = Fuel;
    Ctx.Depth = static_cast<uint32_t>(Frames.size() - Nest.BaseFrames +
                                      Nest.EntryDepth);
    Value R;
    uint8_t S = Fn(&Ctx, Slots.Mem + FrameSlots, Stack.Mem + StackBase, &R);
    Fuel = Ctx.Fuel;
    SlotPtr = Slots.Mem + CurSlots;
    Sp = Stack.Mem + StackTop;
    if (S != NativeGuardFailed) {
      // The frame's slots and stack now belong to the native code.
      setUndef(Slots.Mem + FrameSlots, SlotTop - FrameSlots);
      Sp = Stack.Mem + StackBase;
      ++Out.Stats.OsrEntries;
      if (S == NativeFailed)
        goto raise_native;
      RetVal = std::move(R);
      goto do_return;
    }
    LoopCounts[At] = 0; // other kinds now: try again later
  }
  JUMP(OsrTo);
}

raise_native:
  Err = static_cast<RtError>(Ctx.Err);
  ErrAt = Ctx.ErrIp;
  goto fail;
raise:
  ErrAt = static_cast<size_t>(Ip - CodeBase);
fail:
  Nest = Outer;
  ErrKind = Err;
  StackTop = static_cast<size_t>(Sp - Stack.Mem);
  Out.Stats.InterpOps += NumOps;
  Out.Stats.Calls += NumCalls;
  Out.Stats.BackEdges += BackEdges;
  Ctx.Fuel = Fuel;
  return false;
finish:
  StackTop = Nest.EntryStackTop;
  Nest = Outer;
  Result = std::move(RetVal);
  Out.Stats.InterpOps += NumOps;
  Out.Stats.Calls += NumCalls;
  Out.Stats.BackEdges += BackEdges;
  Ctx.Fuel = Fuel;
  return true;
}

//===-- Native code calling back into the interpreter ---------------------===//

uint8_t Interpreter::resumeFrom(uint32_t F, uint32_t Ip, Value *SlotVals,
                                Value *StackVals, uint32_t Height,
                                Value *Result) {
  ++Out.Stats.Deopts;
  if (++Native[F].Deopts == MaxDeopts) {
    // The speculation keeps failing: later calls get code that makes none.
    Opts.Jit->log("jit: " + C.functionName(F) + " left native code " +
                  std::to_string(MaxDeopts) +
                  " times; recompiling without speculation");
    Native[F].Tried = false;
    Native[F].Speculate = false;
    ++Native[F].Gen;
    Native[F].Entry = nullptr;
    FnTable[F] = nullptr;
  }
  Resume At{Ip, StackVals, Height};
  Value R;
  if (!runLoop(F, SlotVals, R, &At)) {
    Ctx.Err = static_cast<uint8_t>(ErrKind);
    Ctx.ErrIp = static_cast<uint32_t>(ErrAt);
    return NativeFailed;
  }
  new (Result) Value(std::move(R));
  return NativeOk;
}

uint8_t Interpreter::interpretCall(uint32_t F, Value *Args, Value *Result) {
  Value R;
  if (!runLoop(F, Args, R)) {
    Ctx.Err = static_cast<uint8_t>(ErrKind);
    Ctx.ErrIp = static_cast<uint32_t>(ErrAt);
    return NativeFailed;
  }
  new (Result) Value(std::move(R));
  return NativeOk;
}

uint8_t Interpreter::enterNative(uint32_t F, uint64_t Calls, Value *Args,
                                 Value *Result) {
  NativeFn &N = Native[F];
  maybePoll();
  if (!N.Entry && !N.Tried && Calls >= CallTrigger)
    tryCompile(F, Args, -1, nullptr, nullptr, 0);
  if (!N.Entry || !nativeStackOk())
    return NativeGuardFailed;
  return N.Entry(&Ctx, Args, Result);
}

uint8_t Interpreter::nativeCall(uint32_t F, size_t ArgsAt, uint32_t Depth,
                                uint32_t CallIp) {
  Ctx.Depth = Depth + 1;
  Ctx.ErrIp = CallIp;
  Value R;
  // This call is counted by the interpreter once it is made.
  uint8_t S = enterNative(F, Out.CallCounts[F] + 1, Stack.Mem + ArgsAt, &R);
  if (S == NativeOk)
    new (Stack.Mem + ArgsAt) Value(std::move(R));
  return S;
}

uint8_t Interpreter::callFromNative(uint32_t CallIp, Value *Args,
                                    Value *Result) {
  uint32_t F = Info.Callee[CallIp];
  ++Out.CallCounts[F];
  ++Out.Stats.Calls;
  uint8_t S = enterNative(F, Out.CallCounts[F], Args, Result);
  if (S != NativeGuardFailed)
    return S;
  Ctx.ErrIp = CallIp; // where a failure to set up the frame is reported
  return interpretCall(F, Args, Result);
}

uint8_t Interpreter::hostBuiltin(uint32_t Id, Value *Args, uint32_t N,
                                 Value *Result) {
  HostCall HC(Args, N, static_cast<uint16_t>(Id), 0);
  Value R = Vm.Builtins[Id - FirstHostBuiltin](HC);
  releaseRange(Args, Args + N);
  if (HC.failed()) {
    HostMessage = HC.error();
    Result->K = ValueKind::Undef;
    return static_cast<uint8_t>(RtError::Host);
  }
  new (Result) Value(std::move(R));
  return 0;
}

uint8_t Interpreter::extendedOp(uint32_t At, Value *Args, Value *Results) {
  const Instr &I = Code[At];
  const ExtRt &X = Ext[I.B];
  HostCall HC(Args, X.Pops, I.A,
              I.Op == Opcode::Extended ? I.U8 : I.U64);
  (*X.Fn)(HC);
  releaseRange(Args, Args + X.Pops);
  if (HC.failed()) {
    HostMessage = HC.error();
    return static_cast<uint8_t>(RtError::Host);
  }
  if (HC.Results.size() != X.Pushes) {
    HostMessage = "extended op " + std::to_string(I.A) + " handler returned " +
                  std::to_string(HC.Results.size()) + " values, declared " +
                  std::to_string(X.Pushes);
    return static_cast<uint8_t>(RtError::Host);
  }
  for (size_t K = 0; K < HC.Results.size(); ++K)
    new (Results + K) Value(std::move(HC.Results[K]));
  return 0;
}

uint8_t Interpreter::print(bool Newline, Value *Args, uint32_t N) {
  size_t Start = Output.Buf.size();
  for (Value *V = Args; V < Args + N; ++V)
    if (!appendStr(Output.Buf, *V, Output.Buf.size() + Limits.MaxStr)) {
      Output.Buf.resize(Start);
      releaseRange(Args, Args + N);
      return static_cast<uint8_t>(RtError::StringLimit);
    }
  if (Newline)
    Output.Buf.push_back('\n');
  releaseRange(Args, Args + N);
  Output.maybeFlush();
  return 0;
}

uint8_t Interpreter::readLine(Value *Result) {
  Output.flush();
  std::string Line;
  bool TooLong;
  Result->K = ValueKind::Undef;
  if (Input.readLine(Line, Limits.MaxStr, TooLong)) {
    if (TooLong)
      return static_cast<uint8_t>(RtError::StringLimit);
    new (Result) Value(Value::string(Line));
  }
  return 0;
}

llvm::Error VM::run(const Chunk &C, const RunOptions &Opts, RunResult &Out) {
  llvm::Expected<VerifyInfo> Info = verify(C, Env);
  if (!Info)
    return Info.takeError();
  if (Opts.Superinstructions) {
    // Pre-decode step: run the fused form. Fusion keeps a chunk valid; the
    // second verification computes the facts for the fused ops.
    Chunk Fused = fuseChunk(C);
    llvm::Expected<VerifyInfo> FusedInfo = verify(Fused, Env);
    if (FusedInfo) {
      Interpreter I(*this, Fused, *FusedInfo, Opts, Out);
      return I.run();
    }
    llvm::consumeError(FusedInfo.takeError());
    assert(false && "fuseChunk produced a chunk that fails verification");
  }
  Interpreter I(*this, C, *Info, Opts, Out);
  return I.run();
}

} // namespace fusevm

//===-- The helpers of NativeHelpers.h that need the running interpreter --===//

using fusevm::Interpreter;
static Interpreter &run(NativeCtx *Ctx) {
  return *static_cast<Interpreter *>(Ctx->Run);
}

extern "C" {
uint8_t fvm_rt_host_builtin(NativeCtx *Ctx, uint32_t Id, Value *Args,
                            uint32_t N, Value *Out) {
  return run(Ctx).hostBuiltin(Id, Args, N, Out);
}
uint8_t fvm_rt_extended(NativeCtx *Ctx, uint32_t Ip, Value *Args,
                        Value *Results) {
  return run(Ctx).extendedOp(Ip, Args, Results);
}
uint8_t fvm_rt_print(NativeCtx *Ctx, uint32_t Newline, Value *Args,
                     uint32_t N) {
  return run(Ctx).print(Newline != 0, Args, N);
}
uint8_t fvm_rt_readline(NativeCtx *Ctx, Value *Out) {
  return run(Ctx).readLine(Out);
}
/// A call from compiled code to a function that has no native code (yet).
/// Failures come back with Ctx->Err and ErrIp set: NativeFailed.
uint8_t fvm_rt_call(NativeCtx *Ctx, uint32_t CallIp, Value *Args, Value *Out) {
  return run(Ctx).callFromNative(CallIp, Args, Out);
}
/// A failed speculation: the interpreter finishes the activation from the
/// op that speculated, with the frame compiled code had.
uint8_t fvm_rt_resume(NativeCtx *Ctx, uint32_t F, uint32_t Ip, Value *Slots,
                      Value *Stack, uint32_t Height, Value *Out) {
  return run(Ctx).resumeFrom(F, Ip, Slots, Stack, Height, Out);
}
/// A compiled function whose entry guard failed runs in the interpreter.
uint8_t fvm_rt_interp_call(NativeCtx *Ctx, uint32_t F, Value *Args,
                           Value *Out) {
  return run(Ctx).interpretCall(F, Args, Out);
}
}
