//===- Tracing.cpp - The tracing tier: record, compile, enter, exit -------===//
//
// \file
// docs/trace.md. A loop header that gets hot (TraceThreshold backward
// branches) is recorded: the interpreter runs one iteration in its counted
// loop over the plain ops, calling TraceRecorder::record before each op,
// and stops when the anchor's frame is back at the anchor. The recording
// is compiled (JitRequest::Trace) into a trace: native code that borrows
// the frame, loops while the path holds, and writes the frame back at a
// side exit, where the interpreter continues. An exit taken HotExit times
// records a side trace from there; it is merged into the tree and the tree
// compiled again.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"
#include "Tracing.h"

#include <algorithm>
#include <cstdlib>

namespace fusevm {

//===-- The recorder -------------------------------------------------------===//

void TraceRecorder::start(const Chunk &Ch, const Instr *Plain, uint32_t F,
                          uint32_t A, uint32_t Start, const TraceJitConfig &Config) {
  C = &Ch;
  Code = Plain;
  Cfg = Config;
  Func = F;
  Anchor = A;
  From = Start;
  Entry = Ch.Functions[F].Entry;
  Active = true;
  Closed = Aborted = false;
  Ops.clear();
  Marks.assign(Ch.Functions[F].End - Entry, TraceOff);
  Pending = -1;
  LastDepth = 0;
  LastIp = UINT32_MAX;
  Callees.clear();
  Written.clear();
  CalleesSeen.clear();
  CalleeDepth.clear();
}

/// Merges what one more call showed into what a callee was seen with:
/// kinds that differ become any.
static void mergeCallee(std::vector<JitRequest::Callee> &Cs,
                        std::vector<uint32_t> &Depths, uint32_t F,
                        const std::vector<KindMask> &Params, uint32_t Depth) {
  for (size_t K = 0; K < Cs.size(); ++K) {
    if (Cs[K].Func != F)
      continue;
    for (size_t P = 0; P < Params.size() && P < Cs[K].Params.size(); ++P)
      if (Cs[K].Params[P] != Params[P])
        Cs[K].Params[P] = AnyKind;
    Depths[K] = std::max(Depths[K], Depth);
    return;
  }
  JitRequest::Callee Ce;
  Ce.Func = F;
  Ce.Params = Params;
  Cs.push_back(std::move(Ce));
  Depths.push_back(Depth);
}

void TraceRecorder::abort(TraceAbortReason R) {
  if (!Active)
    return;
  Active = false;
  Aborted = true;
  Why = R;
}

static SlotKind kindBelow(const Value *Base, const Value *Sp, unsigned N) {
  return Sp - Base > long(N) ? slotKindOf(Sp[-1 - long(N)].K) : SlotKind::Unknown;
}

bool TraceRecorder::record(uint32_t Ip, uint32_t Depth, const Value *Base,
                           const Value *Sp) {
  // Back at the anchor in its own frame: the recording closes (or, aborted,
  // the interpreter takes over again here).
  bool AtAnchor = Ip == Anchor && Depth == 0 && (!Ops.empty() || LastIp != UINT32_MAX);
  if (!Active) {
    LastIp = Ip;
    return AtAnchor;
  }
  if (Pending >= 0 && Depth == 0) {
    // The branch before this op of the anchor's frame went one way.
    const Instr &B = Code[Pending];
    bool Jumped = Ip == B.Target && B.Target != uint32_t(Pending) + 1;
    uint8_t &M = Marks[uint32_t(Pending) - Entry];
    uint8_t Dir = Jumped ? TraceJumped : TraceFell;
    M = M == TraceOff || M == TraceOn || M == Dir ? Dir : TraceBoth;
    Ops[PendingOp].Branch = Jumped ? 1 : 0;
    Pending = -1;
  }
  if (AtAnchor) {
    Active = false;
    Closed = true;
    return true;
  }
  if (Ops.size() >= Cfg.MaxTraceLen) {
    abort(TraceAbortReason::TooLong);
    return false;
  }
  // A backward jump inside a called function: a loop there (it may get a
  // trace of its own).
  if (Depth > 0 && Depth == LastDepth && Ip <= LastIp) {
    abort(TraceAbortReason::InnerLoop);
    return false;
  }
  if (Depth + 1 > DeoptInfo::MaxFrames) {
    abort(TraceAbortReason::InlineDepth);
    return false;
  }
  if (Depth > LastDepth) {
    // A call was followed: the callee, and how often it is on the way.
    uint32_t Callee = CallTarget;
    Callees.push_back(Callee);
    unsigned Same = unsigned(std::count(Callees.begin(), Callees.end(), Callee)) +
                    (Callee == Func);
    if (Same > Cfg.MaxInlineRecursion) {
      abort(TraceAbortReason::Recursion);
      return false;
    }
  } else if (Depth < LastDepth && !Callees.empty()) {
    Callees.resize(Depth);
  }
  LastDepth = Depth;
  LastIp = Ip;
  const Instr &I = Code[Ip];
  TraceOp Op;
  Op.Ip = Ip;
  Op.Func = Depth == 0 ? Func : Callees.back();
  Op.Depth = uint8_t(Depth);
  Op.Top = kindBelow(Base, Sp, 0);
  Op.Second = kindBelow(Base, Sp, 1);
  Ops.push_back(Op);
  if (I.Op == Opcode::Call) {
    CallTarget = I.A; // a function index in the interpreter's copy
    // The kinds of its arguments (numbers specialise, like a call's
    // compile in the block tier).
    unsigned Arity = C->Functions[I.A].Arity;
    std::vector<KindMask> Params(Arity, AnyKind);
    for (unsigned K = 0; K < Arity && Sp - Base >= long(Arity); ++K) {
      ValueKind Kd = Sp[long(K) - long(Arity)].K;
      if (Kd == ValueKind::Int || Kd == ValueKind::Float)
        Params[K] = maskOf(Kd);
    }
    mergeCallee(CalleesSeen, CalleeDepth, I.A, Params, Depth + 1);
  }
  if (Depth != 0)
    return false;
  uint8_t &M = Marks[Ip - Entry];
  if (M == TraceOff)
    M = TraceOn;
  switch (I.Op) {
  case Opcode::Return: case Opcode::ReturnValue:
    abort(TraceAbortReason::LeavesFunction);
    return false;
  case Opcode::PushFrame: case Opcode::PopFrame:
    abort(TraceAbortReason::ScopeChange);
    return false;
  default:
    break;
  }
  if (Sp - Base > long(DeoptInfo::MaxStackPerExit)) {
    abort(TraceAbortReason::StackTooDeep);
    return false;
  }
  // The slots an exit restores: those the trace writes.
  if (numOperands(I.Op) && opInfo(I.Op).Operands[0] == OperandKind::Slot &&
      I.Op != Opcode::GetSlot && I.Op != Opcode::SlotArrayGet) {
    for (unsigned N = 0; N < numOperands(I.Op); ++N)
      if (opInfo(I.Op).Operands[N] == OperandKind::Slot) {
        uint32_t S = uint32_t(getOperand(I, N));
        if (std::find(Written.begin(), Written.end(), S) == Written.end())
          Written.push_back(S);
      }
    if (Written.size() > DeoptInfo::MaxSlotsPerFrame) {
      abort(TraceAbortReason::TooManySlots);
      return false;
    }
  }
  if (hasFlag(I.Op, OpBranch) && !hasFlag(I.Op, OpTerminator)) {
    Pending = Ip;
    PendingOp = Ops.size() - 1;
  }
  return false;
}

//===-- The tier ------------------------------------------------------------===//

void Interpreter::traceEvent(JitEvent::Kind K, uint32_t F, uint32_t At,
                             std::string Reason) {
  JitEvent E = event(K, F, At);
  E.Reason = std::move(Reason);
  emit(std::move(E));
}

void Interpreter::armAnchor(uint32_t At) {
  // The next backward branch to this header enters its trace at once.
  LoopTotals[At] += Out.LoopCounts[At] - Bias[At];
  Out.LoopCounts[At] = LoopTrigger - 1;
  Bias[At] = uint32_t(LoopTrigger - 1);
}

bool Interpreter::kindsMatch(const TraceTree &T, const Value *Slots,
                             const Value *Stack, uint32_t Height) const {
  if (T.Stack.size() != Height)
    return false;
  for (size_t K = 0; K < T.Slots.size(); ++K)
    if (Slots[K].K != T.Slots[K])
      return false;
  for (size_t K = 0; K < Height; ++K)
    if (Stack[K].K != T.Stack[K])
      return false;
  return true;
}

void Interpreter::compileTrace(uint32_t At, size_t Tree) {
  TraceAnchor &A = Anchors.at(At);
  TraceTree &T = A.Trees[Tree];
  JitRequest R = makeRequest(A.Func, JitLevel::Optimised, nullptr, -1,
                             nullptr, nullptr, 0);
  R.OsrIp = At;
  R.OsrSlots = T.Slots;
  R.OsrStack = T.Stack;
  R.Linear = false;
  R.Trace = T.Marks;
  R.NoSpeculation = T.NoSpeculation;
  R.ParamMasks.assign(C.Functions[A.Func].Arity, AnyKind);
  // Callees, deepest first (so that each finds the ones it calls made).
  std::vector<size_t> Order(T.Callees.size());
  for (size_t K = 0; K < Order.size(); ++K)
    Order[K] = K;
  std::stable_sort(Order.begin(), Order.end(), [&](size_t X, size_t Y) {
    return T.CalleeDepth[X] > T.CalleeDepth[Y];
  });
  for (size_t K : Order) {
    JitRequest::Callee Ce = T.Callees[K];
    if (Ce.Func == A.Func)
      continue; // the anchor's function itself: through the table
    if (!Native.empty()) {
      Ce.NoSpeculation = Native[Ce.Func].NoSpeculation;
      if (!Native[Ce.Func].Speculate)
        continue; // its speculation failed too often: interpreted
    }
    addGlobalKinds(R, Ce.Func);
    R.TraceCallees.push_back(std::move(Ce));
  }
  if (!StressBits.empty())
    R.TraceStress = true;
  // What a later process needs to install it again (code cache).
  TraceMetadata M;
  M.ChunkOpHash = C.opHash();
  M.Func = A.Func;
  M.Anchor = At;
  M.Ops = T.Ops;
  for (ValueKind K : T.Slots)
    M.AnchorSlots.push_back(slotKindOf(K));
  for (ValueKind K : T.Stack)
    M.AnchorStack.push_back(slotKindOf(K));
  M.Marks = T.Marks;
  M.SideTraces = T.SideTraces;
  R.TraceMeta = M.exportBytes();
  T.Pending = true;
  T.FromCache = false; // this version is this run's
  ++T.Gen;
  JitJob J{RunId, T.Gen, A.Func, At, nullptr, Opts.Jit, std::move(R)};
  J.TraceTree = int32_t(Tree);
  if (Async) {
    Vm.Worker->supersede(RunId, At, int32_t(Tree)); // older versions' compiles
    if (!Shared)
      Shared = std::make_shared<const RunCode>(RunCode{C, Info});
    J.Code = Shared;
    J.R.C = &Shared->C;
    J.R.Info = &Shared->Info;
    Vm.Worker->submit(std::move(J));
    return;
  }
  install(Vm.Worker->compileNow(J));
}

void Interpreter::installTrace(const JitDone &D) {
  auto It = Anchors.find(uint32_t(D.OsrIp));
  if (It == Anchors.end() || size_t(D.TraceTree) >= It->second.Trees.size())
    return;
  TraceAnchor &A = It->second;
  TraceTree &T = A.Trees[size_t(D.TraceTree)];
  if (D.Gen != T.Gen)
    return; // a later version of the tree is coming
  T.Pending = false;
  if (!D.Ok) {
    traceEvent(JitEvent::Skipped, A.Func, uint32_t(D.OsrIp),
               "trace not compiled: " + D.Why);
    A.Blacklisted = true;
    ++Out.Stats.TracesBlacklisted;
    return;
  }
  T.Code = D.Res.Osr;
  ++Out.Stats.TracesCompiled;
  // Blacklisting judges the tree as it is now.
  A.ExitsWithoutSide = 0;
  A.RecentEntries = 0;
  A.RecentIterations = 0;
  JitEvent E = event(JitEvent::Compiled, A.Func, uint32_t(D.OsrIp));
  E.Trace = true;
  E.Osr = true;
  E.SideTraces = T.SideTraces;
  E.Ops = uint32_t(T.Ops.size());
  E.Level = JitLevel::Optimised;
  E.OptLevel = D.Res.OptLevel;
  E.Background = D.Background;
  E.Generated = D.Res.Generated;
  E.FromCache = D.Res.Cache == JitResult::CacheOutcome::Hit;
  E.Ms = D.Res.Ms;
  emit(std::move(E));
  armAnchor(uint32_t(D.OsrIp));
}

Interpreter::TraceStep Interpreter::record(uint32_t F, uint32_t At,
                                           uint32_t From, size_t FrameSlots,
                                           size_t StackBase, uint32_t &Height,
                                           uint32_t &ContinueAt, Value &Result) {
  Recorder.start(C, PlainCode.data(), F, At, From, TraceCfg);
  // The recording activation takes the frame (moved aside first: the frame
  // stack may move when the recording's frame is pushed).
  uint32_t NumSlots = Funcs[F].NumSlots;
  std::vector<uint64_t> Held(2 * (size_t(NumSlots) + Height));
  Value *Slots = reinterpret_cast<Value *>(Held.data());
  Value *Base = Slots + NumSlots;
  rawMove(Slots, Fs.Slots.Mem + FrameSlots, NumSlots);
  rawMove(Base, Fs.Stack.Mem + StackBase, Height);
  Resume R{From, Base, Height};
  R.Record = true;
  R.OuterSlots = FrameSlots;
  R.OuterStack = StackBase;
  Paused = {};
  Value Rv;
  bool Ok = loop<true>(F, Slots, Rv, &R);
  if (!Recorder.Closed && !Recorder.Aborted)
    Recorder.abort(Ok ? TraceAbortReason::LeavesFunction : TraceAbortReason::Error);
  if (!Ok) {
    Ctx.Err = static_cast<uint8_t>(ErrKind);
    Ctx.ErrIp = static_cast<uint32_t>(ErrAt);
    return TraceStep::Failed;
  }
  if (!Paused.Yes) {
    Result = std::move(Rv);
    return TraceStep::Returned;
  }
  Height = Paused.Height;
  ContinueAt = Paused.Ip;
  return TraceStep::Continue;
}

void Interpreter::recordingDone(TraceAnchor &A, uint32_t At, bool Side,
                                size_t Tree, uint32_t ExitIp) {
  if (Recorder.Aborted) {
    ++Out.Stats.TracesAborted;
    traceEvent(JitEvent::TraceAbort, A.Func, At,
               std::string(Side ? "side trace at line " +
                                      std::to_string(C.lineOf(ExitIp)) + ": "
                                : "") +
                   traceAbortReasonName(Recorder.Why));
    if (Side) {
      ++A.Trees[Tree].Exits[ExitIp].Failed;
      return;
    }
    if (++A.Aborts >= TraceCfg.MaxAborts) {
      A.Blacklisted = true;
      ++Out.Stats.TracesBlacklisted;
      traceEvent(JitEvent::TraceBlacklist, A.Func, At,
                 "recording aborted " + std::to_string(A.Aborts) + " times");
    }
    return;
  }
  ++Out.Stats.TracesRecorded;
  traceEvent(JitEvent::TraceStop, A.Func, At,
             std::to_string(Recorder.Ops.size()) + " ops");
  TraceTree &T = A.Trees[Tree];
  for (size_t K = 0; K < Recorder.CalleesSeen.size(); ++K)
    mergeCallee(T.Callees, T.CalleeDepth, Recorder.CalleesSeen[K].Func,
                Recorder.CalleesSeen[K].Params, Recorder.CalleeDepth[K]);
  if (Side) {
    // The branches whose way off the tree led to this exit now go both
    // ways; the side path's own marks join the tree's.
    for (uint32_t K = 0; K < T.Marks.size(); ++K) {
      uint8_t M = Recorder.Marks[K];
      if (M == TraceOff)
        continue;
      uint8_t &Tm = T.Marks[K];
      Tm = Tm == TraceOff || Tm == TraceOn ? M
           : (M == TraceOn || M == Tm)     ? Tm
                                           : TraceBoth;
    }
    uint32_t Entry = C.Functions[A.Func].Entry;
    for (uint32_t K = 0; K < T.Marks.size(); ++K) {
      uint8_t &Tm = T.Marks[K];
      const Instr &B = PlainCode[Entry + K];
      if ((Tm == TraceFell && B.Target == ExitIp) ||
          (Tm == TraceJumped && Entry + K + 1 == ExitIp))
        Tm = TraceBoth;
    }
    ++T.SideTraces;
    ++Out.Stats.SideTraces;
    traceEvent(JitEvent::SideTrace, A.Func, At,
               "from line " + std::to_string(C.lineOf(ExitIp)) + ", " +
                   std::to_string(Recorder.Ops.size()) + " ops");
  } else {
    T.Marks = Recorder.Marks;
    T.Ops = Recorder.Ops;
  }
  compileTrace(At, Tree);
}

Interpreter::TraceStep Interpreter::traceAt(uint32_t F, uint32_t At,
                                            size_t FrameSlots, size_t StackBase,
                                            uint32_t &Height,
                                            uint32_t &ContinueAt,
                                            Value &Result) {
  ContinueAt = At;
  auto [It, New] = Anchors.try_emplace(At);
  TraceAnchor &A = It->second;
  if (New)
    A.Func = F;
  maybePoll();
  if (A.Blacklisted) {
    resetLoopCount(At);
    return TraceStep::Continue;
  }
  Value *Slots = Fs.Slots.Mem + FrameSlots;
  Value *Base = Fs.Stack.Mem + StackBase;
  uint32_t NumSlots = Funcs[F].NumSlots;
  size_t Tree = A.Trees.size();
  for (size_t K = 0; K < A.Trees.size(); ++K)
    if (kindsMatch(A.Trees[K], Slots, Base, Height))
      Tree = K;
  if (Tree == A.Trees.size()) {
    // No tree for these kinds (a loop whose kinds change between phases
    // gets one per phase): record one.
    if (A.Trees.size() >= MaxTreesPerAnchor) {
      resetLoopCount(At);
      return TraceStep::Continue;
    }
    TraceTree T;
    for (uint32_t K = 0; K < NumSlots; ++K)
      T.Slots.push_back(Slots[K].K);
    for (uint32_t K = 0; K < Height; ++K)
      T.Stack.push_back(Base[K].K);
    A.Trees.push_back(std::move(T));
    traceEvent(JitEvent::TraceStart, F, At, "");
    TraceStep S = record(F, At, At, FrameSlots, StackBase, Height, ContinueAt,
                         Result);
    recordingDone(A, At, false, Tree, At);
    if (Recorder.Aborted) {
      A.Trees.pop_back();
      // Try again at the next backward branch: a count that always lands
      // on the same iteration (the last of a short loop, say) would abort
      // the same way every time.
      armAnchor(At);
    } else {
      resetLoopCount(At);
    }
    return S;
  }
  TraceTree &T = A.Trees[Tree];
  if (!T.Code) {
    resetLoopCount(At); // compiling: interpret meanwhile
    return TraceStep::Continue;
  }
  // Enter: the trace borrows the frame and writes it back where it leaves.
  ++A.Entries;
  ++Out.Stats.TraceEntries;
  if (!A.ExitBuf)
    A.ExitBuf.reset(new uint64_t[2 * (size_t(NumSlots) + Info.Funcs[F].MaxStack + 8)]);
  Value *Buf = reinterpret_cast<Value *>(A.ExitBuf.get());
  uint64_t Iters = Ctx.TraceIters;
  uint8_t S = T.Code(&Ctx, Slots, Base, Buf);
  A.Iterations += Ctx.TraceIters - Iters;
  A.RecentIterations += Ctx.TraceIters - Iters;
  ++A.RecentEntries;
  if (S == NativeGuardFailed) {
    resetLoopCount(At);
    return TraceStep::Continue;
  }
  if (S != NativeTraceExit) {
    // A runtime error: the trace released the frame (as an OSR entry does).
    return TraceStep::Failed;
  }
  Slots = Fs.Slots.Mem + FrameSlots; // calls it made may have moved them
  Base = Fs.Stack.Mem + StackBase;
  uint32_t ExitIp = Ctx.ExitIp;
  Height = Ctx.ExitHeight;
  rawMove(Slots, Buf, NumSlots);
  rawMove(Base, Buf + NumSlots, Height);
  ContinueAt = ExitIp;
  armAnchor(At);
  if (Ctx.ExitKind == TraceExitGuard) {
    ++A.GuardFailures;
    ++Out.Stats.GuardFailures;
    uint32_t &N = T.GuardFails[ExitIp];
    if (++N == 4 && std::find(T.NoSpeculation.begin(), T.NoSpeculation.end(),
                              ExitIp) == T.NoSpeculation.end()) {
      // The guard keeps failing: the tree is compiled again without it.
      T.NoSpeculation.push_back(ExitIp);
      traceEvent(JitEvent::Recompile, F, ExitIp,
                 "trace guard at line " + std::to_string(C.lineOf(ExitIp)) +
                     " failed 4 times; recompiling without it");
      compileTrace(At, Tree);
    }
    return TraceStep::Continue;
  }
  ++A.SideExits;
  ++Out.Stats.SideExits;
  TraceTree::Exit &E = T.Exits[ExitIp];
  if (!E.Logged) {
    E.Logged = true;
    traceEvent(JitEvent::SideExit, F, ExitIp,
               "first exit of the trace at line " +
                   std::to_string(C.lineOf(At)) + " here");
  }
  if (T.Pending || T.FromCache)
    return TraceStep::Continue; // a new version is coming, or none will
  bool CanGrow = T.SideTraces < TraceCfg.MaxTraceChain && E.Failed < 2 &&
                 ExitIp != At;
  if (!CanGrow) {
    if (++A.ExitsWithoutSide > TraceCfg.MaxSideExits &&
        A.RecentIterations < 2 * A.RecentEntries) {
      // Its exits keep firing and it hardly loops between them: the loop
      // is better off interpreted.
      A.Blacklisted = true;
      ++Out.Stats.TracesBlacklisted;
      traceEvent(JitEvent::TraceBlacklist, F, At,
                 std::to_string(A.ExitsWithoutSide) +
                     " side exits without a side trace");
    }
    return TraceStep::Continue;
  }
  if (++E.Taken < TraceCfg.HotExit)
    return TraceStep::Continue;
  // A hot exit: record from here back to the anchor.
  E.Taken = 0;
  traceEvent(JitEvent::TraceStart, F, ExitIp,
             "side trace of the trace at line " + std::to_string(C.lineOf(At)));
  TraceStep St = record(F, At, ExitIp, FrameSlots, StackBase, Height,
                        ContinueAt, Result);
  recordingDone(A, At, true, Tree, ExitIp);
  return St;
}

void Interpreter::reportTraces() {
  for (auto &[At, A] : Anchors) {
    TraceStatus S;
    S.Func = A.Func;
    S.Anchor = At;
    S.Blacklisted = A.Blacklisted;
    for (const TraceTree &T : A.Trees) {
      S.Compiled |= T.Code != nullptr;
      S.SideTraces += T.SideTraces;
    }
    S.Entries = A.Entries;
    S.SideExits = A.SideExits;
    S.GuardFailures = A.GuardFailures;
    S.Aborts = A.Aborts;
    Out.Traces.push_back(S);
  }
  std::sort(Out.Traces.begin(), Out.Traces.end(),
            [](const TraceStatus &X, const TraceStatus &Y) {
              return X.Anchor < Y.Anchor;
            });
}

} // namespace fusevm
