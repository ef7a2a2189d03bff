//===- Interpreter.cpp - The dispatch loop --------------------------------===//
//
// \file
// Runs a verified chunk. Design (DESIGN.md "Interpreter"; docs/interpreter.md):
//  - pre-decoded code: the chunk's 16-byte Instr records, with Call operands
//    rewritten to function indices and PopFrame to its restore height, and
//    quickened in place (Quicken.h): op indices are the chunk's own;
//  - computed-goto dispatch (FUSEVM_COMPUTED_GOTO), else a switch;
//  - no operand-stack checks: the verifier fixed every height, so each
//    function reserves its maximum on entry;
//  - guest calls never recurse natively (FrameStack.h);
//  - per-function call counters and per-target backward-branch counters
//    for the tier manager (TierManager.cpp).
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"
#include "Quicken.h"

#include "fusevm/Core/Diag.h"
#include "fusevm/Core/FusedOps.h"

#include <pthread.h>
#include <sched.h>

namespace fusevm {

Interpreter::Interpreter(VM &Vm, const Chunk &C, const VerifyInfo &Info,
                         const RunOptions &Opts, RunResult &Out)
    : Vm(Vm), C(C), Info(Info), Opts(Opts), Out(Out), Output(Opts.Output),
      Input(Opts.ReadLine) {
  Limits.MaxStr = std::min<uint64_t>(Opts.MaxStringLen, MaxStringBytes);
  Limits.MaxArr = std::min<uint64_t>(Opts.MaxArrayLen, MaxArrayElements);
}

/// The native stack this thread may use below the current frame.
static size_t nativeStackAvailable() {
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
  return Avail;
}

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
    } else if (hasFlag(I.Op, OpFused)) {
      I.U8 = 1; // a fused op written in the chunk stands for itself
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
  LoopTotals.assign(C.Ops.size(), 0);
  TraceOn = Opts.Jit && Opts.Mode == RunOptions::JitMode::Trace;
  if (TraceOn) {
    // The recorder runs the plain ops: every branch is the chunk's own.
    PlainCode = Code;
    TraceCfg = Opts.Trace;
    Bias.assign(C.Ops.size(), 0);
  }
  if (Opts.Superinstructions)
    quicken(Code, C, Info);

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
  StartTime = std::chrono::steady_clock::now();
  if (JitOn) {
    Native.assign(C.Functions.size(), NativeFn());
    FnTable.assign(C.Functions.size(), nullptr);
    Ctx.FnTable = FnTable.data();
    bool Auto = Opts.Mode == RunOptions::JitMode::Auto;
    uint64_t N = std::max<uint32_t>(Opts.JitThreshold, 1);
    // The trace mode compiles loops only (functions stay interpreted).
    CallTrigger = TraceOn ? UINT64_MAX : Auto ? N : 1;
    NativeAt.assign(C.Functions.size(), CallTrigger);
    if (!Vm.Worker)
      Vm.Worker = std::make_shared<JitWorker>();
    // A background compile needs a CPU of its own to pay off: on one CPU
    // (taskset, a container) it would only slow the interpreter down.
    cpu_set_t Cpus;
    bool SeveralCpus = sched_getaffinity(0, sizeof Cpus, &Cpus) != 0 ||
                       CPU_COUNT(&Cpus) > 1;
    Async = (Auto || TraceOn) && Opts.BackgroundCompile && SeveralCpus;
    RunId = Vm.Worker->newRun();
    for (unsigned L = 0; L < 2; ++L) {
      OsrState[L].assign(C.Ops.size(), OsrNone);
      OsrCode[L].assign(C.Ops.size(), nullptr);
    }
    // Baseline code asks to be optimised after OptimiseThreshold more
    // calls, or ten times as many loop iterations.
    uint64_t T = std::max<uint32_t>(Opts.OptimiseThreshold, 1);
    HotCounts.assign(C.Ops.size(), uint32_t(std::min<uint64_t>(10 * T, UINT32_MAX)));
    for (const FunctionDef &D : C.Functions)
      HotCounts[D.Entry] = uint32_t(T);
    TierUpPoll = uint32_t(std::min<uint64_t>(T, 256));
    Ctx.HotCounts = HotCounts.data();
    OpDeopts.assign(C.Ops.size(), 0);
    // Loops wait longer than calls: a function whose loops run a few
    // iterations per call gets compiled once for its calls, not first for
    // one on-stack replacement.
    LoopTrigger = TraceOn ? std::max<uint32_t>(TraceCfg.TraceThreshold, 1)
                  : Auto  ? 10 * N
                          : UINT64_MAX;
    if (TraceOn && Opts.TraceStress) {
      StressBits.assign(C.Ops.size(), 0);
      Ctx.TraceStress = StressBits.data();
    }
    // Compiled code recurses on the native stack; below this mark, calls
    // are interpreted (explicit frames on the heap), so the call-depth
    // limit, not the native stack, bounds recursion.
    uintptr_t Here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    size_t Avail = nativeStackAvailable();
    size_t Margin = std::min<size_t>(Avail / 2, size_t(512) << 10);
    Ctx.StackLimit = Here - Avail + Margin;
    warmStart();
  }
  return llvm::Error::success();
}

llvm::Error Interpreter::runtimeError(size_t At, std::string Message) {
  Output.flush();
  return makeError(ExitRuntime, C.SourceName, C.lineOf(At), Message);
}

llvm::Error Interpreter::run() {
  if (llvm::Error E = prepare())
    return E;
  Value Result;
  uint32_t Main = Info.Main;
  uint8_t S = NativeGuardFailed; // main runs in the interpreter
  // The forced modes compile main first; auto runs main natively only when
  // a code cache had code for it.
  if (JitOn && ((Opts.Mode != RunOptions::JitMode::Auto && !TraceOn) ||
                Native[Main].Entry)) {
    tryCompile(Main, nullptr, -1, nullptr, nullptr, 0, firstLevel());
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
  if (JitOn) {
    // Compiles still in flight are not waited for (their code, if it comes,
    // is for a run that is over), unless a code cache keeps them for the
    // next run.
    if (Opts.FinishCompilesMs && Async)
      Vm.Worker->drain(Opts.FinishCompilesMs);
    maybePoll();
    if (!TraceOn) // the trace mode compiles loops, never functions
      reportUncompiled();
    Vm.Worker->cancel(RunId);
  }
  // Every backward branch the interpreter took was counted at its target.
  for (size_t Ip = 0; Ip < LoopTotals.size(); ++Ip) {
    Out.LoopCounts[Ip] += LoopTotals[Ip];
    if (!Bias.empty())
      Out.LoopCounts[Ip] -= Bias[Ip];
    Out.Stats.BackEdges += Out.LoopCounts[Ip];
  }
  if (TraceOn)
    reportTraces();
  if (!Ok) {
    std::string Msg =
        ErrKind == RtError::Host ? HostMessage : rtErrorMessage(ErrKind);
    return runtimeError(ErrAt, Msg);
  }
  Out.Result = std::move(Result);
  Output.flush();
  return llvm::Error::success();
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
/// The op about to be dispatched: counted (interp_ops), and recorded for
/// the op-pair profile when one is asked for (RunOptions::Profile).
#define COUNT_OP()                                                             \
  do {                                                                         \
    if constexpr (Counted) {                                                   \
      ++NumOps;                                                                \
      if (__builtin_expect(Prof != nullptr, 0))                                \
        Prof->record(static_cast<uint8_t>(Ip->Op));                            \
      if (__builtin_expect(Rec != nullptr, 0) &&                               \
          Rec->record(static_cast<uint32_t>(Ip - CodeBase),                    \
                      static_cast<uint32_t>(Fs.Calls.size() - Nest.BaseFrames),\
                      Fs.Stack.Mem + Act.StackBase, Sp))                       \
        goto pause;                                                            \
    }                                                                          \
  } while (0)
#define NEXT                                                                   \
  do {                                                                         \
    ++Ip;                                                                      \
    COUNT_OP();                                                                \
    DISPATCH();                                                                \
  } while (0)
#define JUMP(Target)                                                           \
  do {                                                                         \
    Ip = (Target);                                                             \
    COUNT_OP();                                                                \
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
/// Errors inside a fused op (see raise_fused, raise_loop_budget).
#define RAISE_FUSED(E)                                                         \
  do {                                                                         \
    Err = (E);                                                                 \
    goto raise_fused;                                                          \
  } while (0)
#define CHECK_FUSED(Expr)                                                      \
  do {                                                                         \
    RtError E_ = (Expr);                                                       \
    if (E_ != RtError::None)                                                   \
      RAISE_FUSED(E_);                                                         \
  } while (0)
#define RAISE_LOOP_BUDGET()                                                    \
  do {                                                                         \
    Err = RtError::BudgetExhausted;                                            \
    goto raise_loop_budget;                                                    \
  } while (0)
/// After a fused op: continue past the plain ops it stands for.
#define SKIP                                                                   \
  do {                                                                         \
    Ip += Ip->U8;                                                              \
    COUNT_OP();                                                                \
    DISPATCH();                                                                \
  } while (0)
/// A taken branch to \p T: count backward edges and charge the budget.
#define BRANCH(T)                                                              \
  do {                                                                         \
    const Instr *T_ = (T);                                                     \
    if (T_ <= Ip) {                                                            \
      if (Counted && --Fuel == 0)                                                         \
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

[[gnu::always_inline]] static inline int64_t wrapAdd(int64_t A, int64_t B) {
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

/// Releases a heap value (the rare path of an overwrite).
[[gnu::noinline]] static void releaseHeap(Value &V) {
  if (--V.P->RefCount == 0)
    destroyHeapObj(V.P);
}
/// D = an int or float result, releasing what D held.
[[gnu::always_inline]] static inline void setNum(Value &D, int64_t R) {
  if (D.isHeap())
    releaseHeap(D);
  D.I = R;
  D.K = ValueKind::Int;
}
[[gnu::always_inline]] static inline void setNum(Value &D, double R) {
  if (D.isHeap())
    releaseHeap(D);
  D.F = R;
  D.K = ValueKind::Float;
}
/// D = A op B for Add, Sub and Mul (which never fail) off the int and
/// float fast paths; out of line, so that the fast paths keep the
/// dispatch loop's registers. D may be A or B.
[[gnu::noinline]] static void arithSlow(Opcode Op, const Value &A,
                                        const Value &B, Value &D) {
  Value R;
  rt::arith(Op, A, B, R);
  D = std::move(R);
}
/// The same on the two stack values at \p A, which it consumes.
[[gnu::noinline]] static void arithPopSlow(Opcode Op, Value *A, Value &D) {
  Value R;
  rt::arith(Op, A[0], A[1], R);
  A[1].release();
  A[0].release();
  D = std::move(R);
}
/// S = S + Step with Add's semantics (Add never fails): the step of a For
/// op (Quicken.h) off its int fast path.
[[gnu::noinline]] static void forStep(Value &S, const Value &Step) {
  if (S.K == ValueKind::Int && Step.K == ValueKind::Int) {
    S.I = wrapAdd(S.I, Step.I);
    return;
  }
  Value R;
  rt::arith(Opcode::Add, S, Step, R);
  S = std::move(R);
}
/// The test of a ForLoop (== or !=, or any other).
static bool forTest(uint8_t U8, const Value &A, const Value &B) {
  static constexpr Opcode Ops[] = {Opcode::NumLt, Opcode::NumLe, Opcode::NumGt,
                                   Opcode::NumGe, Opcode::NumEq, Opcode::NumNe};
  return rt::numCompare(Ops[U8 & ForCmpMask], A, B);
}

template <bool Counted>
bool Interpreter::loop(uint32_t Func, Value *Args, Value &Result,
                       const Resume *At) {
  // A recording runs the plain ops (op indices are the same).
  const bool Recording = Counted && At && At->Record;
  const Instr *const CodeBase = Recording ? PlainCode.data() : Code.data();
  TraceRecorder *const Rec = Recording ? &Recorder : nullptr;
  const Value *const Consts = C.Constants.data();
  Value *const Glob = Globals.data();
  const Instr *Ip = CodeBase + (At ? At->Ip : Funcs[Func].Entry);
  uint64_t NumOps = 0, NumCalls = 0;
  OpProfile *const Prof = Opts.Profile;
  uint64_t Fuel = Ctx.Fuel;
  // This loop may run nested in a call from compiled code: its own frames
  // start at BaseFrames, and its first activation is call depth EntryDepth.
  // They live in members, not in registers the dispatch loop needs: a
  // nested run saves the outer run's and restores them on the way out.
  const NestState Outer = Nest;
  Nest.BaseFrames = Fs.Calls.size();
  Nest.BaseScopes = Fs.Scopes.size();
  Nest.EntryDepth = Ctx.Depth;
  // A call is refused when the caller's depth, Calls.size() - BaseFrames
  // + EntryDepth, reaches MaxDepth: one compare against this.
  Nest.FrameLimit = Ctx.MaxDepth + Nest.BaseFrames - Nest.EntryDepth;
  Nest.EntryStackTop = Fs.StackTop;
  auto depth = [this] {
    return static_cast<uint32_t>(Fs.Calls.size() - Nest.BaseFrames +
                                 Nest.EntryDepth);
  };
  uint64_t *const LoopCounts = Out.LoopCounts.data();
  uint64_t *const CallCounts = Out.CallCounts.data();
  RtError Err = RtError::None;
  Value RetVal;

  Activation Act{Func, Fs.SlotTop, Fs.SlotTop, Fs.StackTop};
  {
    const FnRt &Fn = Funcs[Func];
    if (!Fs.grow(Act.StackBase, Fn)) {
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
    Value *S = Fs.Slots.Mem + Fs.SlotTop;
    rawMove(S, Args, Arity);
    setUndef(S + Arity, Fn.NumSlots - Arity);
    Fs.SlotTop += Fn.NumSlots;
    if (At) {
      rawMove(Fs.Stack.Mem + Act.StackBase, At->Stack, At->Height);
      Fs.StackTop = Act.StackBase + At->Height;
    }
  }
  if (Nest.BaseFrames == 0)
    Fs.Calls.reserve(256);
  // The three pointers every op uses live in callee-saved registers: left
  // to itself, GCC spills the slot pointer in a function this large, and
  // every slot access then pays a load.
  register Value *Sp asm("r14") = Fs.Stack.Mem + Fs.StackTop;
  register Value *SlotPtr asm("r13") = Fs.Slots.Mem + Act.CurSlots;

#if FUSEVM_COMPUTED_GOTO
  static const void *const Labels[] = {
#define FUSE_OP(Name, O1, O2, O3, O4, Pops, Pushes, Flags) &&L_##Name,
#include "fusevm/Core/Ops.def"
#define X(Name) &&L_##Name,
      FUSE_INTERNAL_OPS(X)
#undef X
  };
#endif

  COUNT_OP();
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
    if (Fs.Calls.size() >= Nest.FrameLimit) // the call-depth limit
      RAISE(RtError::CallDepth);
    if (Counted && --Fuel == 0)
      RAISE(RtError::BudgetExhausted);
    unsigned Argc = Ip->U8;
    size_t ArgsAt = static_cast<size_t>(Sp - Fs.Stack.Mem) - Argc;
    if (__builtin_expect(JitOn, 0) && CallCounts[F] + 1 >= NativeAt[F]) {
      // Native code for the callee (out of line: the interpreter's own
      // call path stays as short as without a JIT). Everything it touches
      // (the stack buffers may move) is re-read afterwards.
      Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
      Ctx.Fuel = Fuel;
      uint8_t S = nativeCall(F, ArgsAt, depth(),
                             static_cast<uint32_t>(Ip - CodeBase));
      if (S != NativeGuardFailed) {
        Fuel = Ctx.Fuel;
        SlotPtr = Fs.Slots.Mem + Act.CurSlots;
        Sp = Fs.Stack.Mem + ArgsAt; // arguments consumed; the result is here
        if (S == NativeFailed)
          goto raise_native;
        ++Sp;
        ++NumCalls;
        ++CallCounts[F];
        NEXT;
      }
    }
    // One test on the common path; growth (and its limits) is rare.
    if (__builtin_expect(Fs.tight(ArgsAt, Fn), 0) && !Fs.grow(ArgsAt, Fn))
      RAISE(RtError::CallDepth);
    ++NumCalls;
    ++CallCounts[F];
    Fs.call(Act, Ip + 1, F, Fn, ArgsAt, Argc);
    SlotPtr = Fs.Slots.Mem + Act.CurSlots;
    Sp = Fs.Stack.Mem + ArgsAt;
    JUMP(CodeBase + Fn.Entry);
  }
  OP(Return) RetVal = Value(); goto do_return;
  OP(ReturnValue) --Sp; RetVal = std::move(*Sp); goto do_return;
do_return : {
  // A return discards the activation's operand stack and open scopes.
  Fs.discard(Act, Sp);
  Sp = Fs.Stack.Mem + Act.StackBase;
  if (Fs.Calls.size() == Nest.BaseFrames) {
    Fs.Scopes.resize(Nest.BaseScopes);
    goto finish;
  }
  Ip = Fs.ret(Act, std::move(RetVal));
  ++Sp; // the result, where the arguments were
  SlotPtr = Fs.Slots.Mem + Act.CurSlots;
  COUNT_OP();
  DISPATCH();
}
  OP(PushFrame) {
    if (!Fs.openScope(Act, Funcs[Act.Func].NumSlots))
      RAISE(RtError::CallDepth);
    SlotPtr = Fs.Slots.Mem + Act.CurSlots;
  }
  NEXT;
  OP(PopFrame) {
    Fs.closeScope(Act);
    SlotPtr = Fs.Slots.Mem + Act.CurSlots;
    Value *Keep = Fs.Stack.Mem + Act.StackBase + Ip->A;
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
  // U8 is how many plain ops one stands for (Quicken.h): SKIP continues
  // after them.
  OP(PreIncSlot) {
    Value &S = SlotPtr[Ip->A];
    if (S.K == ValueKind::Int)
      S.I = wrapAdd(S.I, 1);
    else
      S = rt::unary(Opcode::Inc, S);
    new (Sp) Value(S);
    ++Sp;
  }
  SKIP;
  OP(PreIncSlotVoid) incSlot(SlotPtr[Ip->A]); SKIP;
  OP(AddAssignSlotVoid) addAssign(SlotPtr[Ip->A], SlotPtr[Ip->B]); SKIP;
  OP(SlotLtIntJumpIfFalse) {
    const Value &S = SlotPtr[Ip->A];
    bool Lt = S.K == ValueKind::Int
                  ? S.I < Ip->Imm32
                  : rt::numCompare(Opcode::NumLt, S, Value::integer(Ip->Imm32));
    if (!Lt)
      BRANCH(CodeBase + Ip->Target);
  }
  SKIP;
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
  SKIP;
  // The fused loops run in closed form when their counter is an int, and
  // count their iterations as the plain loop's back edges to its header
  // (this op); with an instruction budget that the loop would exhaust, they
  // run step by step to fail where the plain loop fails.
  OP(AccumSumLoop) {
    Value &Sum = SlotPtr[Ip->A];
    Value &I = SlotPtr[Ip->B];
    int64_t K = Ip->Imm32;
    uint64_t N = I.K == ValueKind::Int && I.I < K ? uint64_t(K) - uint64_t(I.I) : 0;
    uint64_t &Iterations = LoopCounts[Ip - CodeBase];
    if (Ip->A != Ip->B && Sum.K == ValueKind::Int && I.K == ValueKind::Int &&
        !(Counted && Fuel <= N)) {
      if (N) {
        // sum of I.I .. K-1 in closed form; exact in 128 bits, then wrapped
        // to 64 like the step-by-step loop.
        __int128 T = static_cast<__int128>(N) *
                     (static_cast<__int128>(I.I) + K - 1) / 2;
        Sum.I = wrapAdd(Sum.I, static_cast<int64_t>(static_cast<uint64_t>(
                                   static_cast<unsigned __int128>(T))));
        I.I = K;
        Iterations += N;
        if constexpr (Counted)
          Fuel -= N;
      }
    } else {
      const Value Limit = Value::integer(K), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        Value R;
        CHECK_FUSED(rt::arith(Opcode::Add, Sum, I, R));
        Sum = std::move(R);
        CHECK_FUSED(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
        ++Iterations;
        if (Counted && --Fuel == 0)
          RAISE_LOOP_BUDGET();
      }
    }
  }
  SKIP;
  OP(ConcatConstLoop) {
    Value &S = SlotPtr[Ip->B];
    Value &I = SlotPtr[Ip->C];
    const Value &Piece = Consts[Ip->A];
    int64_t Lim = Ip->Imm32;
    uint64_t N = I.K == ValueKind::Int && I.I < Lim ? uint64_t(Lim) - uint64_t(I.I) : 0;
    uint64_t &Iterations = LoopCounts[Ip - CodeBase];
    if (Ip->B != Ip->C && I.K == ValueKind::Int && !(Counted && Fuel <= N)) {
      if (N) {
        CHECK_FUSED(rt::concatRepeat(S, Piece, N, Limits));
        I.I = Lim;
        Iterations += N;
        if constexpr (Counted)
          Fuel -= N;
      }
    } else {
      const Value Limit = Value::integer(Lim), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        CHECK_FUSED(rt::concat(S, Piece, Limits));
        Value R;
        CHECK_FUSED(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
        ++Iterations;
        if (Counted && --Fuel == 0)
          RAISE_LOOP_BUDGET();
      }
    }
  }
  SKIP;
  OP(PushIntRangeLoop) {
    Value &I = SlotPtr[Ip->B];
    Value &G = Glob[Ip->A];
    int64_t K = Ip->Imm32;
    uint64_t N = I.K == ValueKind::Int && I.I < K ? uint64_t(K) - uint64_t(I.I) : 0;
    uint64_t &Iterations = LoopCounts[Ip - CodeBase];
    if (I.K == ValueKind::Int && !(Counted && Fuel <= N)) {
      if (N) {
        if (G.isUndef())
          G = Value::emptyArray();
        else if (!G.isArray())
          RAISE_FUSED(RtError::NotAnArray);
        ArrayObj *A = G.mutableArray();
        if (N > Limits.MaxArr - A->Items.size())
          RAISE_FUSED(RtError::ArrayLimit);
        A->Items.reserve(A->Items.size() + N);
        for (int64_t V = I.I; V < K; ++V)
          A->Items.push_back(Value::integer(V));
        I.I = K;
        Iterations += N;
        if constexpr (Counted)
          Fuel -= N;
      }
    } else {
      const Value Limit = Value::integer(K), One = Value::integer(1);
      while (rt::numCompare(Opcode::NumLt, I, Limit)) {
        CHECK_FUSED(rt::arrayPush(G, Value(I), Limits));
        Value R;
        CHECK_FUSED(rt::arith(Opcode::Add, I, One, R));
        I = std::move(R);
        ++Iterations;
        if (Counted && --Fuel == 0)
          RAISE_LOOP_BUDGET();
      }
    }
  }
  SKIP;

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

  //===-- Internal superinstructions (Quicken.h) ---------------------------===//
#include "InternalOps.inc"

#if !FUSEVM_COMPUTED_GOTO
  }
#endif

osr : {
  // A loop got hot: compile the function with an entry at this header and
  // continue there in native code, which runs the activation to its return.
  const Instr *OsrTo = Nest.OsrTo;
  uint32_t At = static_cast<uint32_t>(OsrTo - CodeBase);
  Value *Base = Fs.Stack.Mem + Act.StackBase;
  size_t StackLen = static_cast<size_t>(Sp - Base);
  if (TraceOn) {
    // The tracing tier (Tracing.cpp); not while recording, and only in the
    // function's own scope.
    if (Recording || Act.CurSlots != Act.FrameSlots || Info.Depth[At] != 0) {
      resetLoopCount(At);
      JUMP(OsrTo);
    }
    Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
    Ctx.Fuel = Fuel;
    Ctx.Depth = depth();
    uint32_t Height = static_cast<uint32_t>(StackLen), ContinueAt = At;
    Value R;
    TraceStep St = traceAt(Act.Func, At, Act.FrameSlots, Act.StackBase,
                           Height, ContinueAt, R);
    Fuel = Ctx.Fuel;
    SlotPtr = Fs.Slots.Mem + Act.CurSlots;
    if (St == TraceStep::Continue) {
      Sp = Fs.Stack.Mem + Act.StackBase + Height;
      Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
      JUMP(CodeBase + ContinueAt);
    }
    // The frame's slots and stack went to the code that finished it.
    setUndef(Fs.Slots.Mem + Act.FrameSlots, Fs.SlotTop - Act.FrameSlots);
    Sp = Fs.Stack.Mem + Act.StackBase;
    if (St == TraceStep::Failed)
      goto raise_native;
    RetVal = std::move(R);
    goto do_return;
  }
  maybePoll();
  std::vector<uint8_t> &State = OsrState[unsigned(firstLevel())];
  // Optimised code with an entry here (a warm run's, from the code cache)
  // makes a baseline compile pointless.
  if (State[At] == OsrNone && OsrState[1][At] != OsrReady) {
    if (Act.CurSlots == Act.FrameSlots && Info.Depth[At] == 0) {
      Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
      tryCompile(Act.Func, nullptr, At, SlotPtr, Base, StackLen, firstLevel());
      if (Async && firstLevel() == JitLevel::Baseline) {
        // A loop this hot runs long: its optimised code is compiled right
        // behind the baseline code, which takes over while it is made and
        // looks for it often (tierUp).
        tryCompile(Act.Func, nullptr, At, SlotPtr, Base, StackLen,
                   JitLevel::Optimised);
        HotCounts[At] = std::min<uint32_t>(HotCounts[At], 256);
      }
    } else {
      State[At] = OsrRefused; // inside a scope: not an entry we make
    }
  }
  if (State[At] != OsrReady)
    resetLoopCount(At); // back off; a pending (or deferred) compile is
                        // looked for again after as many iterations
  // The best code with an entry here.
  NativeOsrFn Fn = OsrState[1][At] == OsrReady   ? OsrCode[1][At]
                   : OsrState[0][At] == OsrReady ? OsrCode[0][At]
                                                 : nullptr;
  if (Fn && nativeStackOk()) {
    Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
    Ctx.Fuel = Fuel;
    Ctx.Depth = depth();
    Value R;
    uint8_t S = Fn(&Ctx, Fs.Slots.Mem + Act.FrameSlots, Base, &R);
    Fuel = Ctx.Fuel;
    SlotPtr = Fs.Slots.Mem + Act.CurSlots;
    Sp = Fs.Stack.Mem + Fs.StackTop;
    if (S != NativeGuardFailed) {
      // The frame's slots and stack now belong to the native code.
      setUndef(Fs.Slots.Mem + Act.FrameSlots, Fs.SlotTop - Act.FrameSlots);
      Sp = Fs.Stack.Mem + Act.StackBase;
      emit(event(JitEvent::OsrEntry, Act.Func, At));
      if (S == NativeFailed)
        goto raise_native;
      RetVal = std::move(R);
      goto do_return;
    }
    resetLoopCount(At); // other kinds now: try again later
  }
  JUMP(OsrTo);
}

  // Only the counted loop records: the other one never pauses, but keeps
  // the label (its address taken, so that it counts as used).
  [[maybe_unused]] static void *const PauseLabel = &&pause;
pause : {
  // A recording activation is back at its anchor: its frame goes back to
  // the interpreter run that started the recording, which carries on.
  uint32_t H = static_cast<uint32_t>(Sp - (Fs.Stack.Mem + Act.StackBase));
  rawMove(Fs.Slots.Mem + At->OuterSlots, Fs.Slots.Mem + Act.FrameSlots,
          Funcs[Act.Func].NumSlots);
  rawMove(Fs.Stack.Mem + At->OuterStack, Fs.Stack.Mem + Act.StackBase, H);
  Fs.SlotTop = Act.FrameSlots;
  Fs.StackTop = Nest.EntryStackTop;
  Paused.Yes = true;
  Paused.Ip = static_cast<uint32_t>(Ip - CodeBase);
  Paused.Height = H;
  Nest = Outer;
  if (Opts.CountOps)
    Out.Stats.InterpOps += NumOps;
  Out.Stats.Calls += NumCalls;
  Ctx.Fuel = Fuel;
  return true;
}
raise_native:
  Err = static_cast<RtError>(Ctx.Err);
  ErrAt = Ctx.ErrIp;
  goto fail;
raise_fused:
  // A fused op quickened in place reports the op of its sequence that
  // fails (Quicken.h: U8 > 1); one written in the chunk, itself.
  ErrAt = static_cast<size_t>(Ip - CodeBase) +
          (Ip->U8 > 1 ? static_cast<size_t>(fusedExpansion(Ip->Op)->Fails) : 0);
  goto fail;
raise_loop_budget:
  // The budget runs out at a fused loop's back edge: its last op.
  ErrAt = static_cast<size_t>(Ip - CodeBase) + Ip->U8 - 1;
  goto fail;
raise:
  ErrAt = static_cast<size_t>(Ip - CodeBase);
fail:
  Nest = Outer;
  ErrKind = Err;
  Fs.StackTop = static_cast<size_t>(Sp - Fs.Stack.Mem);
  if (Opts.CountOps)
    Out.Stats.InterpOps += NumOps;
  Out.Stats.Calls += NumCalls;
  Ctx.Fuel = Fuel;
  return false;
finish:
  Fs.StackTop = Nest.EntryStackTop;
  Nest = Outer;
  Result = std::move(RetVal);
  if (Opts.CountOps)
    Out.Stats.InterpOps += NumOps;
  Out.Stats.Calls += NumCalls;
  Ctx.Fuel = Fuel;
  return true;
}

template bool Interpreter::loop<true>(uint32_t, Value *, Value &, const Resume *);
template bool Interpreter::loop<false>(uint32_t, Value *, Value &, const Resume *);

} // namespace fusevm
