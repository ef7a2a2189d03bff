//===- KindAnalysis.cpp - What each stack entry and slot can hold ---------===//
//
// \file
// A forward dataflow over kind masks (one bit per ValueKind) for every
// stack entry and slot of every scope level, seeded by the entry's
// specialisation (parameter kinds, or the exact kinds of a frame entered by
// on-stack replacement) and by speculation on globals. The emitter reads
// the masks to emit only the paths they allow.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

namespace fusevm::jit {

/// Kinds num(v) can give for a v of kinds \p M.
KindMask numOf(KindMask M) {
  if (M == 0)
    return 0; // unreachable so far (the analysis is still converging)
  KindMask R = 0;
  if (M & (MInt | MBool | MUndef | MStatus | MArr | MHash))
    R |= MInt;
  if (M & MFloat)
    R |= MFloat;
  if (M & MStr)
    R |= MNum;
  return R ? R : MNum;
}

KindMask arithMask(Opcode Op, KindMask A, KindMask B) {
  KindMask NA = numOf(A), NB = numOf(B), R = 0;
  if (!NA || !NB)
    return 0;
  if ((NA & MInt) && (NB & MInt))
    R |= Op == Opcode::Pow ? MNum : MInt;
  if ((NA | NB) & MFloat)
    R |= MFloat;
  return R;
}

KindMask builtinMask(uint16_t Id, const KindMask *Args) {
  switch (Id) {
  case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 15: case 23:
    return MFloat;
  case 7: case 8: case 9: case 10: case 11:
    return numOf(Args[0]);
  case 12: case 13:
    return arithMask(Opcode::Add, Args[0], Args[1]);
  case 14: case 18: case 19:
    return MInt;
  case 16: case 17: case 20: case 21: case 22: case 24: case 26:
    return MStr;
  case 25:
    return MArr;
  default:
    return AnyKind;
  }
}

/// The one number-like kind in \p M, as a mask, or 0.
static KindMask speculable(KindMask M) {
  return M == MInt || M == MFloat || M == MBool ? M : 0;
}

/// Speculation at op \p O unless it kept failing there (JitRequest).
static bool mayGuard(const JitRequest &R, const XOp &O) {
  for (uint32_t Ip : R.NoSpeculation)
    if (Ip == O.Orig)
      return false;
  return true;
}

KindMask Lowerer::specVar(const XOp &O) const {
  uint32_t N = O.I.A;
  return N < Req.GlobalKinds.size() && mayGuard(Req, O)
             ? speculable(Req.GlobalKinds[N])
             : 0;
}

KindMask Lowerer::specElem(const XOp &O) const {
  uint32_t N = O.I.A;
  return N < Req.ElementKinds.size() && mayGuard(Req, O)
             ? speculable(Req.ElementKinds[N])
             : 0;
}

void Lowerer::transfer(const XOp &O, State &S) const {
  const Instr &I = O.I;
  auto pop = [&] {
    KindMask M = S.Stack.back();
    S.Stack.pop_back();
    return M;
  };
  auto popN = [&](unsigned N) { S.Stack.resize(S.Stack.size() - N); };
  auto push = [&](KindMask M) { S.Stack.push_back(M); };
  auto slot = [&](uint16_t Sl) -> KindMask & {
    return S.Slots[S.Level * NumSlots + Sl];
  };
  switch (I.Op) {
  case Opcode::Nop: case Opcode::Jump: case Opcode::JumpIfTrueKeep:
  case Opcode::JumpIfFalseKeep: case Opcode::DeclareArray:
  case Opcode::DeclareHash:
    break;
  case Opcode::LoadInt: push(MInt); break;
  case Opcode::LoadFloat: push(MFloat); break;
  case Opcode::LoadConst: push(maskOf(Prog.Constants[I.A].K)); break;
  case Opcode::LoadTrue: case Opcode::LoadFalse: push(MBool); break;
  case Opcode::LoadUndef: push(MUndef); break;
  case Opcode::Pop: case Opcode::SetVar: case Opcode::DeclareVar:
  case Opcode::SetArray: case Opcode::ArrayPush: case Opcode::SetHash:
  case Opcode::JumpIfTrue: case Opcode::JumpIfFalse: case Opcode::ReturnValue:
  case Opcode::SetStatus:
    pop();
    break;
  case Opcode::Dup: push(S.Stack.back()); break;
  case Opcode::Dup2: {
    KindMask A = S.Stack[S.Stack.size() - 2], Bm = S.Stack.back();
    push(A);
    push(Bm);
    break;
  }
  case Opcode::Swap:
    std::swap(S.Stack[S.Stack.size() - 1], S.Stack[S.Stack.size() - 2]);
    break;
  case Opcode::Rot: { // a b c -> b c a
    size_t N = S.Stack.size();
    KindMask A = S.Stack[N - 3];
    S.Stack[N - 3] = S.Stack[N - 2];
    S.Stack[N - 2] = S.Stack[N - 1];
    S.Stack[N - 1] = A;
    break;
  }
  case Opcode::GetVar: {
    KindMask Sp = S.Level == 0 ? specVar(O) : 0;
    push(Sp ? Sp : AnyKind);
    break;
  }
  case Opcode::ArrayPop: case Opcode::ArrayShift:
    push(AnyKind);
    break;
  case Opcode::GetSlot: push(slot(I.A)); break;
  case Opcode::SetSlot: slot(I.A) = pop(); break;
  case Opcode::ArrayGet: {
    KindMask Sp = S.Level == 0 ? specElem(O) : 0;
    pop();
    push(Sp ? Sp : AnyKind);
    break;
  }
  case Opcode::SlotArrayGet: case Opcode::HashGet: case Opcode::HashDelete:
    pop();
    push(AnyKind);
    break;
  case Opcode::SlotArraySet:
    popN(2);
    slot(I.A) |= MArr;
    break;
  case Opcode::ArraySet: case Opcode::HashSet: popN(2); break;
  case Opcode::GetArray: case Opcode::HashKeys: case Opcode::HashValues:
    push(MArr);
    break;
  case Opcode::ArrayLen: push(MInt); break;
  case Opcode::MakeArray: popN(I.A); push(MArr); break;
  case Opcode::GetHash: push(MHash); break;
  case Opcode::HashExists: pop(); push(MBool); break;
  case Opcode::MakeHash: popN(2u * I.A); push(MHash); break;
  case Opcode::Add: case Opcode::Sub: case Opcode::Mul: case Opcode::Div:
  case Opcode::Mod: case Opcode::Pow: {
    KindMask Bm = pop(), A = pop();
    push(arithMask(I.Op, A, Bm));
    break;
  }
  case Opcode::Negate: case Opcode::Inc: case Opcode::Dec:
    push(numOf(pop()));
    break;
  case Opcode::Concat: {
    popN(2);
    push(MStr);
    // The in-place append (emitOp) may leave the slot the next op stores to
    // undef for a moment.
    size_t XI = size_t(&O - XOps.data());
    if (XI + 1 < XOps.size() && XOps[XI + 1].I.Op == Opcode::SetSlot)
      S.Slots[S.Level * NumSlots + XOps[XI + 1].I.A] |= MUndef;
    break;
  }
  case Opcode::StringRepeat: popN(2); push(MStr); break;
  case Opcode::StringLen: pop(); push(MInt); break;
  case Opcode::NumEq: case Opcode::NumNe: case Opcode::NumLt:
  case Opcode::NumGt: case Opcode::NumLe: case Opcode::NumGe:
  case Opcode::StrEq: case Opcode::StrNe: case Opcode::StrLt:
  case Opcode::StrGt: case Opcode::StrLe: case Opcode::StrGe:
  case Opcode::LogAnd: case Opcode::LogOr:
    popN(2);
    push(MBool);
    break;
  case Opcode::Spaceship: case Opcode::StrCmp: case Opcode::BitAnd:
  case Opcode::BitOr: case Opcode::BitXor: case Opcode::Shl: case Opcode::Shr:
    popN(2);
    push(MInt);
    break;
  case Opcode::LogNot: pop(); push(MBool); break;
  case Opcode::BitNot: pop(); push(MInt); break;
  case Opcode::Call: {
    // A self-call whose arguments satisfy this specialisation's guards
    // returns what this function returns (SelfRet, found by fixpoint).
    KindMask Res = AnyKind;
    if (Info.Callee[O.Orig] == FuncIdx) {
      bool Within = true;
      for (unsigned A = 0; A < I.U8; ++A) {
        KindMask Pm = A < Req.ParamMasks.size() ? Req.ParamMasks[A] : AnyKind;
        if (S.Stack[S.Stack.size() - I.U8 + A] & ~Pm)
          Within = false;
      }
      if (Within)
        Res = SelfRet;
    }
    popN(I.U8);
    push(Res);
    break;
  }
  case Opcode::Return: break;
  case Opcode::PushFrame:
    ++S.Level;
    for (uint32_t Sl = 0; Sl < NumSlots; ++Sl)
      S.Slots[S.Level * NumSlots + Sl] = MUndef;
    break;
  case Opcode::PopFrame:
    --S.Level;
    S.Stack.resize(Info.PopHeight[O.Orig]);
    break;
  case Opcode::Print: case Opcode::PrintLn: popN(I.U8); break;
  case Opcode::ReadLine: push(MStr | MUndef); break;
  case Opcode::Range: popN(2); push(MArr); break;
  case Opcode::RangeStep: popN(3); push(MArr); break;
  case Opcode::GetStatus: push(MStatus); break;
  case Opcode::CallBuiltin: {
    KindMask Args[3] = {AnyKind, AnyKind, AnyKind};
    for (unsigned A = 0; A < I.U8 && A < 3; ++A)
      Args[A] = S.Stack[S.Stack.size() - I.U8 + A];
    popN(I.U8);
    push(I.A < FirstHostBuiltin ? builtinMask(I.A, Args) : AnyKind);
    break;
  }
  case Opcode::Extended: case Opcode::ExtendedWide: {
    const ExtOpDecl *E = Prog.findExtOp(I.A);
    popN(E->Pops);
    for (unsigned K = 0; K < E->Pushes; ++K) {
      // What a frontend's lowering says its results can be.
      KindMask M = Ext && !Ext->empty() ? KindMask(0) : AnyKind;
      if (Ext)
        for (const JitExtension *X : *Ext)
          M |= X->resultKinds(I.A, K);
      push(M ? M : AnyKind);
    }
    break;
  }
  case Opcode::PreIncSlot: case Opcode::PreIncSlotVoid:
  case Opcode::AddAssignSlotVoid: case Opcode::SlotLtIntJumpIfFalse:
  case Opcode::SlotIncLtIntJumpBack: case Opcode::AccumSumLoop:
  case Opcode::ConcatConstLoop: case Opcode::PushIntRangeLoop:
    break; // expanded before analysis (expand())
  }
}

void Lowerer::analyse(uint32_t Seed, const State &S0) {
  In.assign(XOps.size(), State());
  std::vector<uint32_t> Work;
  auto flow = [&](uint32_t To, const State &S) {
    State &Dst = In[To];
    bool Changed = false;
    if (!Dst.Reached) {
      Dst = S;
      Dst.Reached = true;
      Changed = true;
    } else {
      for (size_t K = 0; K < S.Stack.size() && K < Dst.Stack.size(); ++K)
        if ((Dst.Stack[K] | S.Stack[K]) != Dst.Stack[K]) {
          Dst.Stack[K] |= S.Stack[K];
          Changed = true;
        }
      for (size_t K = 0; K < S.Slots.size(); ++K)
        if ((Dst.Slots[K] | S.Slots[K]) != Dst.Slots[K]) {
          Dst.Slots[K] |= S.Slots[K];
          Changed = true;
        }
    }
    if (Changed)
      Work.push_back(To);
  };
  flow(Seed, S0);
  while (!Work.empty()) {
    uint32_t At = Work.back();
    Work.pop_back();
    State S = In[At];
    const XOp &O = XOps[At];
    // A trace follows the direction its recording took; the other is a
    // side exit, where the analysis does not go.
    if (!Req.Trace.empty() && traceMark(O.Orig) == TraceOff &&
        OrigToX[O.Orig - Def.Entry] == At)
      continue;
    transfer(O, S);
    Opcode Op = O.I.Op;
    uint8_t Dir = traceDirection(At);
    if (hasFlag(Op, OpBranch) && Dir != TraceFell)
      flow(O.T, S);
    if (!hasFlag(Op, OpTerminator) && At + 1 < XOps.size() && Dir != TraceJumped)
      flow(At + 1, S);
  }
}


uint8_t Lowerer::traceDirection(uint32_t XI) const {
  const XOp &O = XOps[XI];
  Opcode Op = O.I.Op;
  if (Req.Trace.empty() || !hasFlag(Op, OpBranch) || hasFlag(Op, OpTerminator) ||
      OrigToX[O.Orig - Def.Entry] != XI || Prog.Ops[O.Orig].Op != Op)
    return 0;
  uint8_t M = traceMark(O.Orig);
  return M == TraceFell || M == TraceJumped ? M : 0;
}

void Lowerer::heapPlaces() {
  HeapStack.assign(StackSlots, false);
  HeapSlot.assign(size_t(Levels) * NumSlots, false);
  for (const State &S : In) {
    if (!S.Reached)
      continue;
    for (size_t H = 0; H < S.Stack.size() && H < StackSlots; ++H)
      if (S.Stack[H] & MHeap)
        HeapStack[H] = true;
    for (size_t I = 0; I < S.Slots.size(); ++I)
      if (S.Slots[I] & MHeap)
        HeapSlot[I] = true;
  }
}

SiteKinds Lowerer::siteKinds() {
  State S0;
  S0.Reached = true;
  S0.Slots.assign(size_t(Levels) * NumSlots, MUndef);
  for (unsigned K = 0; K < Def.Arity; ++K)
    S0.Slots[K] = K < Req.ParamMasks.size() ? Req.ParamMasks[K] : AnyKind;
  SelfRet = AnyKind;
  analyse(0, S0);
  SiteKinds Sites;
  std::vector<bool> Target(XOps.size() + 1, false);
  for (const XOp &O : XOps)
    if (hasFlag(O.I.Op, OpBranch))
      Target[O.T] = true;
  // The op that pushed the top of the stack at X, within the straight-line
  // code before it (-1: not found there): the latest op that took the stack
  // down to that entry's position or below (and so pushed it).
  auto producerOfTop = [&](size_t X) -> int64_t {
    size_t Pos = In[X].Stack.size() - 1;
    for (size_t J = X; J-- > 0;) {
      if (Target[J + 1] || !In[J].Reached)
        return -1;
      if (In[J].Stack.size() <= Pos + consumed(XOps[J], Prog))
        return int64_t(J);
    }
    return -1;
  };
  for (size_t X = 0; X < XOps.size(); ++X) {
    const XOp &O = XOps[X];
    if (!In[X].Reached)
      continue;
    const std::vector<KindMask> &Stack = In[X].Stack;
    switch (O.I.Op) {
    case Opcode::Call:
      Sites.Calls.push_back({Info.Callee[O.Orig],
                             std::vector<KindMask>(Stack.end() - O.I.U8, Stack.end())});
      break;
    case Opcode::SetVar: case Opcode::DeclareVar: case Opcode::SetArray:
    case Opcode::SetHash: case Opcode::ArrayPush: {
      SiteKinds::Store St{O.I.Op, O.I.A, Stack.back()};
      int64_t P = O.I.Op == Opcode::ArrayPush ? -1 : producerOfTop(X);
      St.EmptyArray = P >= 0 && XOps[size_t(P)].I.Op == Opcode::MakeArray &&
                      XOps[size_t(P)].I.A == 0;
      Sites.Stores.push_back(St);
      break;
    }
    case Opcode::ArraySet: // v i ->
      Sites.Stores.push_back({O.I.Op, O.I.A, Stack[Stack.size() - 2]});
      break;
    default:
      break;
    }
  }
  return Sites;
}

} // namespace fusevm::jit
