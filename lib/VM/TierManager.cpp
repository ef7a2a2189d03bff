//===- TierManager.cpp - What to compile, when, and what it did -----------===//
//
// \file
// The tier policy (DESIGN.md "Tiers", docs/jit.md): auto compiles a
// function at --jit-threshold calls, or a loop by on-stack replacement at
// ten times that many iterations, on the worker thread when a second CPU
// is there; linear and block compile on first call. Failed speculation
// hands an activation back to the interpreter (resumeFrom); a guard that
// keeps failing gets its function recompiled without it. Everything
// decided here is reported as a JitEvent.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

namespace fusevm {

JitEvent Interpreter::event(JitEvent::Kind K, uint32_t F, uint32_t Ip) const {
  JitEvent E;
  E.K = K;
  E.Func = F;
  E.Function = C.functionName(F);
  E.Ip = Ip;
  E.Line = C.lineOf(Ip);
  return E;
}

void Interpreter::emit(JitEvent E) {
  RunStats &S = Out.Stats;
  switch (E.K) {
  case JitEvent::Compiled:
    if (E.Generated) {
      ++S.LLVMCompiles;
      S.CompileMs += E.Ms;
      ++S.LevelCompiles[unsigned(E.Level)];
      S.LevelMs[unsigned(E.Level)] += E.Ms;
    }
    if (!E.Trace)
      ++(E.Linear ? S.LinearCompiled : S.BlockCompiled);
    break;
  case JitEvent::OsrEntry: ++S.OsrEntries; break;
  case JitEvent::Deopt: ++S.Deopts; break;
  case JitEvent::CacheHit: ++S.CacheHits; break;
  case JitEvent::CacheMiss: ++S.CacheMisses; break;
  case JitEvent::CacheStore: ++S.CacheStores; break;
  case JitEvent::CacheReject: ++S.CacheRejects; break;
  case JitEvent::Skipped: case JitEvent::Uncompiled:
  case JitEvent::Recompile: case JitEvent::TraceStart: case JitEvent::TraceStop:
  case JitEvent::TraceAbort: case JitEvent::SideExit: case JitEvent::SideTrace:
  case JitEvent::TraceBlacklist:
    break;
  }
  if (Opts.Listener)
    Opts.Listener->onJitEvent(E);
}

JitRequest Interpreter::makeRequest(uint32_t F, JitLevel Level,
                                    const Value *Args, int64_t OsrIp,
                                    const Value *SlotVals,
                                    const Value *StackVals, size_t StackLen) {
  NativeFn &N = Native[F];
  JitRequest R;
  R.Level = Level;
  R.C = &C;
  R.Info = &Info;
  R.ChunkKey = chunkKey();
  R.Func = F;
  R.Linear = isLinearFunction(C, F) && Opts.Mode != RunOptions::JitMode::Block;
  R.Budget = Opts.InstructionBudget != 0;
  R.NoSpeculation = N.NoSpeculation;
  if (N.Speculate)
    addGlobalKinds(R, F);
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
  return R;
}

void Interpreter::addGlobalKinds(JitRequest &R, uint32_t F) const {
  // The kinds the globals function F reads hold now.
  R.GlobalKinds.resize(C.Names.size(), 0);
  R.ElementKinds.resize(C.Names.size(), 0);
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

const std::string &Interpreter::chunkKey() {
  if (ChunkKey.empty()) {
    uint64_t H = C.opHash();
    ChunkKey.assign(reinterpret_cast<const char *>(&H), sizeof H);
    ChunkKey += C.contentDigest();
  }
  return ChunkKey;
}

void Interpreter::warmStart() {
  JitRequest Q;
  Q.C = &C;
  Q.Info = &Info;
  Q.ChunkKey = chunkKey();
  WarmStart W = Opts.Jit->warmUnits(Q);
  for (const std::string &Why : W.Rejects) {
    JitEvent E;
    E.K = JitEvent::CacheReject;
    E.Reason = Why;
    emit(std::move(E));
  }
  bool Auto = Opts.Mode == RunOptions::JitMode::Auto;
  for (WarmUnit &U : W.Units) {
    if (U.Trace) {
      if (TraceOn && U.Budget == (Opts.InstructionBudget != 0))
        warmTrace(U);
      continue;
    }
    // Only code this run's mode would make: the tier, the budget and, in
    // the forced modes, optimised function code.
    bool Linear = isLinearFunction(C, U.Func) &&
                  Opts.Mode != RunOptions::JitMode::Block;
    if (U.Trace || U.Linear != Linear ||
        U.Budget != (Opts.InstructionBudget != 0) ||
        (Opts.Mode == RunOptions::JitMode::Linear && !Linear) ||
        (!Auto && (U.OsrIp >= 0 || U.Level != firstLevel())))
      continue;
    NativeFn &N = Native[U.Func];
    JitDone D;
    D.Run = RunId;
    D.Gen = N.Gen;
    D.F = U.Func;
    D.OsrIp = U.OsrIp;
    D.Ok = true;
    D.Linear = U.Linear;
    D.Level = U.Level;
    D.Params = U.Params;
    D.Res = std::move(U.Res);
    if (U.OsrIp < 0) {
      // Code for its calls: this run does not ask for it again.
      N.Tried = true;
      N.OptTried = N.OptTried || U.Level == JitLevel::Optimised;
      NativeAt[U.Func] = 0;
    }
    ++N.InFlight;
    install(D);
  }
}

void Interpreter::warmTrace(WarmUnit &U) {
  // A trace a code cache kept: installed at its anchor as it was last
  // compiled (units come newest first), without recording.
  uint32_t At = uint32_t(U.OsrIp);
  llvm::Expected<TraceMetadata> M = TraceMetadata::importBytes(U.TraceMeta, C);
  auto Reject = [&](std::string Why) {
    JitEvent E = event(JitEvent::CacheReject, U.Func, At);
    E.Reason = std::move(Why);
    emit(std::move(E));
  };
  if (!M) {
    Reject("metadata: " + llvm::toString(M.takeError()));
    return;
  }
  if (M->Func != U.Func || M->Anchor != At || M->Marks != U.Marks ||
      U.OsrSlots.size() != Funcs[U.Func].NumSlots || Info.Depth[At] != 0) {
    Reject("metadata: does not match its code");
    return;
  }
  TraceAnchor &A = Anchors[At];
  A.Func = U.Func;
  for (const TraceTree &T : A.Trees)
    if (T.Slots == U.OsrSlots && T.Stack == U.OsrStack)
      return; // an older version of a tree installed already
  TraceTree T;
  T.Slots = U.OsrSlots;
  T.Stack = U.OsrStack;
  T.Marks = M->Marks;
  T.Ops = M->Ops;
  T.SideTraces = M->SideTraces;
  T.NoSpeculation = U.NoSpeculation;
  T.Callees = U.Callees;
  for (size_t K = 0; K < T.Callees.size(); ++K)
    T.CalleeDepth.push_back(uint32_t(T.Callees.size() - K)); // deepest first
  T.Code = U.Res.Osr;
  T.FromCache = true;
  A.Trees.push_back(std::move(T));
  JitEvent H = event(JitEvent::CacheHit, U.Func, At);
  H.Osr = true;
  H.Ms = U.Res.Ms;
  emit(std::move(H));
  JitEvent E = event(JitEvent::Compiled, U.Func, At);
  E.Trace = E.Osr = E.FromCache = true;
  E.Generated = false;
  E.Ops = uint32_t(M->Ops.size());
  E.SideTraces = M->SideTraces;
  E.Ms = U.Res.Ms;
  emit(std::move(E));
  ++Out.Stats.TracesCompiled;
  armAnchor(At);
}

bool Interpreter::jitStarted() {
  if (!JitStarted)
    JitStarted = std::chrono::steady_clock::now() - StartTime >=
                 std::chrono::milliseconds(Opts.JitStartDelayMs);
  return JitStarted;
}

void Interpreter::tryCompile(uint32_t F, const Value *Args, int64_t OsrIp,
                             const Value *SlotVals, const Value *StackVals,
                             size_t StackLen, JitLevel Level) {
  NativeFn &N = Native[F];
  if (Opts.Mode == RunOptions::JitMode::Auto && !jitStarted()) {
    // Too early for the JIT's start-up to pay off: ask again after as much
    // work again (the caller backs off).
    N.Deferred = true;
    N.NextTry = Out.CallCounts[F] + CallTrigger;
    return;
  }
  unsigned L = unsigned(Level);
  // One attempt per function and level for its calls; an on-stack
  // replacement may follow (an activation still running interpreted)
  // unless compiling the function failed.
  bool &Tried = Level == JitLevel::Baseline ? N.Tried : N.OptTried;
  if (OsrIp < 0 ? Tried : N.Failed) {
    if (OsrIp >= 0)
      OsrState[L][size_t(OsrIp)] = OsrRefused;
    return;
  }
  if (OsrIp < 0)
    Tried = true;
  else
    OsrState[L][size_t(OsrIp)] = OsrPending;
  if (Opts.Mode == RunOptions::JitMode::Linear && !isLinearFunction(C, F)) {
    JitEvent E = event(JitEvent::Skipped, F);
    E.Reason = "has jumps (the linear tier takes only functions without jumps)";
    emit(std::move(E));
    N.Failed = true;
    return;
  }
  JitJob J{RunId, N.Gen, F, OsrIp, nullptr, Opts.Jit,
           makeRequest(F, Level, Args, OsrIp, SlotVals, StackVals, StackLen)};
  ++N.InFlight;
  if (Async) {
    // auto: compile on the worker thread while this one keeps interpreting;
    // pollCompiles() installs the code.
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

void Interpreter::install(const JitDone &D) {
  if (D.Run != RunId)
    return; // made for an earlier run
  if (D.TraceTree >= 0) {
    installTrace(D);
    return;
  }
  NativeFn &N = Native[D.F];
  --N.InFlight;
  if (D.Gen != N.Gen)
    return; // made before its function's code was dropped
  unsigned L = unsigned(D.Level);
  if (!D.Ok) {
    JitEvent E = event(JitEvent::Skipped, D.F);
    E.Reason = D.Why;
    emit(std::move(E));
    N.Failed = true;
    if (D.OsrIp >= 0)
      OsrState[L][size_t(D.OsrIp)] = OsrRefused;
    return;
  }
  N.Compiled = true;
  // Optimised code replaces baseline code for the calls that follow (and
  // for baseline code's own calls: they go through the table).
  if (D.Res.Entry && (!N.Entry || D.Level > N.EntryLevel)) {
    N.Entry = D.Res.Entry;
    N.EntryLevel = D.Level;
    FnTable[D.F] = D.Res.Fast;
  }
  if (D.OsrIp >= 0) {
    OsrCode[L][size_t(D.OsrIp)] = D.Res.Osr;
    OsrState[L][size_t(D.OsrIp)] = OsrReady;
  }
  uint32_t At = D.OsrIp >= 0 ? uint32_t(D.OsrIp) : 0;
  auto CacheEvent = [&](JitEvent::Kind K, std::string Reason = "") {
    JitEvent CE = event(K, D.F, At);
    CE.Osr = D.OsrIp >= 0;
    CE.Level = D.Level;
    CE.Reason = std::move(Reason);
    CE.Ms = D.Res.Ms;
    emit(std::move(CE));
  };
  using Outcome = JitResult::CacheOutcome;
  if (!D.Res.CacheReject.empty())
    CacheEvent(JitEvent::CacheReject, D.Res.CacheReject);
  if (D.Res.Cache == Outcome::Hit)
    CacheEvent(JitEvent::CacheHit);
  else if (D.Res.Cache == Outcome::Miss)
    CacheEvent(JitEvent::CacheMiss);
  JitEvent E = event(JitEvent::Compiled, D.F, At);
  const FunctionDef &Def = C.Functions[D.F];
  E.Linear = D.Linear;
  E.Level = D.Level;
  E.OptLevel = D.Res.OptLevel;
  E.Ops = Def.End - Def.Entry;
  E.Params = D.Params;
  E.Osr = D.OsrIp >= 0;
  E.Background = D.Background;
  E.Generated = D.Res.Generated;
  E.FromCache = D.Res.Cache == Outcome::Hit;
  E.Ms = D.Res.Ms;
  emit(std::move(E));
  if (D.Res.Stored)
    CacheEvent(JitEvent::CacheStore);
}

uint8_t Interpreter::tierUp(uint32_t F, uint32_t Ip, Value *SlotVals,
                            Value *StackVals, uint32_t Height) {
  maybePoll();
  HotCounts[Ip] = TierUpPoll; // look again after this many more
  NativeFn &N = Native[F];
  if (!StackVals) {
    // A function entry: optimise the function for its calls.
    if (!N.OptTried && !N.Failed)
      tryCompile(F, SlotVals, -1, nullptr, nullptr, 0, JitLevel::Optimised);
    return 0;
  }
  // A loop header: once optimised code with an entry here is ready, this
  // activation leaves its baseline code for it (resumeFrom enters it).
  uint8_t &State = OsrState[1][Ip];
  if (State == OsrReady) {
    TierUpIp = Ip;
    return 1;
  }
  // A function already being optimised for its calls takes the optimised
  // code at its next call: an entry mid-loop pays off only for a long-running
  // activation, which this one's calls are not.
  if (N.OptTried && F != Info.Main)
    return 0;
  if (State == OsrNone && !N.Failed) {
    // The compile gives an entry for calls too (but main's).
    N.OptTried = N.OptTried || F != Info.Main;
    tryCompile(F, nullptr, Ip, SlotVals, StackVals, Height,
               JitLevel::Optimised);
  }
  return 0;
}

void Interpreter::pollCompiles() {
  std::vector<JitDone> Done;
  Vm.Worker->poll(Done);
  for (const JitDone &D : Done)
    install(D);
}

std::string Interpreter::deoptReason(uint32_t Ip, const Value *SlotVals,
                                     const Value *StackVals,
                                     uint32_t Height) const {
  const Instr &I = C.Ops[Ip];
  std::string Op(mnemonic(I.Op)), Name = I.A < C.Names.size() ? C.Names[I.A] : "?";
  const Value &G = Globals[I.A];
  auto Kind = [](const Value &V) { return std::string(kindName(V.K)); };
  switch (I.Op) {
  case Opcode::GetVar:
    return Op + " " + Name + ": the global now holds a " + Kind(G);
  case Opcode::ArrayGet: case Opcode::ArraySet: {
    const Value &Index = StackVals[Height - 1];
    std::string At = Op + " " + Name + ": ";
    if (!G.isArray())
      return At + "the global holds a " + Kind(G) + ", not an array";
    if (Index.K != ValueKind::Int)
      return At + "the index is a " + Kind(Index) + ", not an int";
    const auto &Items = G.array()->Items;
    if (uint64_t(Index.I) >= Items.size())
      return At + "the index " + std::to_string(Index.I) +
             " is outside the array";
    if (I.Op == Opcode::ArraySet && G.P->RefCount != 1)
      return At + "the array is shared (copy on write)";
    const Value &Elem = Items[size_t(Index.I)];
    if (I.Op == Opcode::ArraySet)
      return At + "storing a " + Kind(StackVals[Height - 2]) +
             " over a " + Kind(Elem);
    return At + "the element is a " + Kind(Elem);
  }
  default:
    (void)SlotVals;
    return Op + ": a speculated kind changed";
  }
}

uint8_t Interpreter::resumeFrom(uint32_t F, uint32_t Ip, Value *SlotVals,
                                Value *StackVals, uint32_t Height,
                                Value *Result) {
  if (Ip == TierUpIp) {
    // Baseline code left for optimised code at this loop header (tierUp):
    // not a failed speculation.
    TierUpIp = UINT32_MAX;
    uint8_t S = OsrCode[1][Ip](&Ctx, SlotVals, StackVals, Result);
    if (S != NativeGuardFailed) {
      emit(event(JitEvent::OsrEntry, F, Ip));
      return S;
    }
    Resume At{Ip, StackVals, Height}; // other kinds now: interpret
    Value R;
    if (!runLoop(F, SlotVals, R, &At)) {
      Ctx.Err = static_cast<uint8_t>(ErrKind);
      Ctx.ErrIp = static_cast<uint32_t>(ErrAt);
      return NativeFailed;
    }
    new (Result) Value(std::move(R));
    return NativeOk;
  }
  JitEvent E = event(JitEvent::Deopt, F, Ip);
  E.Reason = deoptReason(Ip, SlotVals, StackVals, Height);
  NativeFn &N = Native[F];
  bool OpLimit = ++OpDeopts[Ip] == MaxOpDeopts;
  bool FnLimit = ++N.Deopts == MaxDeopts;
  std::string Why = E.Reason;
  emit(std::move(E));
  if (OpLimit || FnLimit) {
    // The speculation keeps failing: later calls get code that does not
    // make it (this op's, or, past the function's limit, any).
    JitEvent R = event(JitEvent::Recompile, F, Ip);
    if (FnLimit) {
      N.Speculate = false;
      R.Reason = "left native code " + std::to_string(MaxDeopts) +
                 " times; recompiling without speculation";
    } else {
      N.NoSpeculation.push_back(Ip);
      R.Reason = "speculation at line " + std::to_string(C.lineOf(Ip)) +
                 " failed " + std::to_string(MaxOpDeopts) +
                 " times (" + Why + "); recompiling without it";
    }
    emit(std::move(R));
    N.Tried = false;
    ++N.Gen;
    N.Entry = nullptr;
    FnTable[F] = nullptr;
    N.OptTried = false;
    N.EntryLevel = JitLevel::Baseline;
    const FunctionDef &D = C.Functions[F];
    for (unsigned L = 0; L < 2; ++L)
      for (uint32_t K = D.Entry; K < D.End; ++K)
        if (OsrState[L][K] == OsrReady) {
          OsrState[L][K] = OsrNone;
          OsrCode[L][K] = nullptr;
        }
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

void Interpreter::reportUncompiled() {
  uint32_t Main = Info.Main;
  for (uint32_t F = 0; F < Native.size(); ++F) {
    const NativeFn &N = Native[F];
    if (N.Compiled || N.Failed)
      continue;
    JitEvent E = event(JitEvent::Uncompiled, F);
    const FunctionDef &D = C.Functions[F];
    uint64_t Calls = Out.CallCounts[F] + (F == Main), Hottest = 0;
    for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip)
      Hottest = std::max(Hottest, loopCount(Ip));
    if (N.InFlight)
      E.Reason = "compile still running at exit";
    else if (N.Deferred)
      E.Reason = "hot only in the run's first " +
                 std::to_string(Opts.JitStartDelayMs) +
                 " ms, too early for a compile to pay off (--jit-delay)";
    else if (Calls == 0)
      E.Reason = "never called";
    else
      E.Reason = "not hot (" + std::to_string(Calls) + " calls, " +
                 std::to_string(Hottest) + " iterations of its hottest loop; " +
                 "compiled at " + std::to_string(CallTrigger) + " calls or " +
                 std::to_string(LoopTrigger) + " iterations)";
    emit(std::move(E));
  }
}

} // namespace fusevm
