//===- Fuse.cpp - Superinstruction fusion ---------------------------------===//
//
// \file
// Two passes, each a list of non-overlapping replacements applied at once
// with every jump target and function range remapped:
//
//  1. op level:
//       GetSlot s; LoadInt k; NumLt; JumpIfFalse t  -> SlotLtIntJumpIfFalse s k t
//       GetSlot s; Inc; Dup; SetSlot s              -> PreIncSlot s
//       GetSlot s; Inc; SetSlot s                   -> PreIncSlotVoid s
//       GetSlot s; LoadInt 1; Add; SetSlot s        -> PreIncSlotVoid s
//       GetSlot a; GetSlot b; Add; SetSlot a        -> AddAssignSlotVoid a b
//     (Add of int 1 is Inc: both are num(v) + 1, wrapping for ints.)
//  2. loop level, on the result of 1, for a top-tested loop
//       L: SlotLtIntJumpIfFalse i k E; BODY; PreIncSlotVoid i; Jump L; E:
//     with BODY = AddAssignSlotVoid sum i          -> AccumSumLoop sum i k
//          BODY = GetSlot s; LoadConst c; Concat; SetSlot s
//                                                  -> ConcatConstLoop c s i k
//          BODY = GetSlot i; ArrayPush a           -> PushIntRangeLoop a i k
//     and otherwise, when nothing else jumps to L or to the Jump, the loop is
//     rotated: `PreIncSlotVoid i; Jump L` becomes
//     `SlotIncLtIntJumpBack i k L+1` (the entry test stays at L).
//
// A sequence is matched only if no jump lands on any of its ops but the
// first, so every path through it is the one the fused op implements. A
// fused op keeps the line of its one component that can fail (Concat,
// ArrayPush; the others cannot), so runtime errors name the same line.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Bytecode/Fuse.h"

#include <algorithm>
#include <vector>

namespace fusevm {

namespace {

struct Replacement {
  uint32_t Start, Len;
  std::vector<Instr> With; ///< branch targets in the old numbering
  /// Offset of the op whose line the fused op keeps: the one that can raise
  /// a runtime error, so diagnostics name the same line as unfused code.
  uint32_t LineFrom = 0;
};

std::vector<bool> jumpTargets(const Chunk &C) {
  std::vector<bool> T(C.Ops.size() + 1, false);
  for (const Instr &I : C.Ops)
    if (hasFlag(I.Op, OpBranch) && I.Target < T.size())
      T[I.Target] = true;
  for (const FunctionDef &F : C.Functions)
    if (F.Entry < T.size())
      T[F.Entry] = true; // never fuse across a function start
  return T;
}

/// Applies non-overlapping replacements sorted by Start.
Chunk apply(const Chunk &C, std::vector<Replacement> &Reps) {
  std::sort(Reps.begin(), Reps.end(),
            [](const Replacement &A, const Replacement &B) {
              return A.Start < B.Start;
            });
  Chunk Out = C;
  Out.Ops.clear();
  Out.Lines.clear();
  std::vector<uint32_t> Map(C.Ops.size() + 1);
  size_t R = 0;
  std::vector<std::pair<size_t, bool>> Fixups; // new index, is new instr
  for (uint32_t I = 0; I < C.Ops.size();) {
    Map[I] = static_cast<uint32_t>(Out.Ops.size());
    if (R < Reps.size() && Reps[R].Start == I) {
      for (uint32_t J = 1; J < Reps[R].Len; ++J)
        Map[I + J] = static_cast<uint32_t>(Out.Ops.size());
      for (const Instr &N : Reps[R].With) {
        Out.Ops.push_back(N);
        Out.Lines.push_back(C.Lines[I + Reps[R].LineFrom]);
      }
      I += Reps[R].Len;
      ++R;
      continue;
    }
    Out.Ops.push_back(C.Ops[I]);
    Out.Lines.push_back(C.Lines[I]);
    ++I;
  }
  Map[C.Ops.size()] = static_cast<uint32_t>(Out.Ops.size());
  for (Instr &I : Out.Ops)
    if (hasFlag(I.Op, OpBranch))
      I.Target = Map[I.Target];
  for (FunctionDef &F : Out.Functions) {
    F.Entry = Map[F.Entry];
    F.End = Map[F.End];
  }
  return Out;
}

bool fitsI32(int64_t V) { return V >= INT32_MIN && V <= INT32_MAX; }

bool is(const Chunk &C, uint32_t I, Opcode Op) {
  return I < C.Ops.size() && C.Ops[I].Op == Op;
}

/// No jump lands on ops Start+1 .. Start+Len-1, and all are in one function.
bool sealed(const std::vector<bool> &T, const Chunk &C, uint32_t Start,
            uint32_t Len) {
  if (Start + Len > C.Ops.size())
    return false;
  for (uint32_t J = Start + 1; J < Start + Len; ++J)
    if (T[J])
      return false;
  return true;
}

Chunk opLevel(const Chunk &C, FuseStats *S) {
  std::vector<bool> T = jumpTargets(C);
  std::vector<Replacement> Reps;
  const auto &O = C.Ops;
  for (uint32_t I = 0; I < O.size();) {
    auto Emit = [&](uint32_t Len, Instr N) {
      Reps.push_back({I, Len, {N}});
      if (S)
        ++S->Fused[static_cast<unsigned>(N.Op)];
      I += Len;
    };
    if (O[I].Op == Opcode::GetSlot) {
      uint16_t Sl = O[I].A;
      if (is(C, I + 1, Opcode::LoadInt) && is(C, I + 2, Opcode::NumLt) &&
          is(C, I + 3, Opcode::JumpIfFalse) && fitsI32(O[I + 1].I64) &&
          sealed(T, C, I, 4)) {
        Instr N(Opcode::SlotLtIntJumpIfFalse);
        N.A = Sl;
        N.Imm32 = static_cast<int32_t>(O[I + 1].I64);
        N.Target = O[I + 3].Target;
        Emit(4, N);
        continue;
      }
      if (is(C, I + 1, Opcode::Inc) && is(C, I + 2, Opcode::Dup) &&
          is(C, I + 3, Opcode::SetSlot) && O[I + 3].A == Sl &&
          sealed(T, C, I, 4)) {
        Instr N(Opcode::PreIncSlot);
        N.A = Sl;
        Emit(4, N);
        continue;
      }
      if (is(C, I + 1, Opcode::Inc) && is(C, I + 2, Opcode::SetSlot) &&
          O[I + 2].A == Sl && sealed(T, C, I, 3)) {
        Instr N(Opcode::PreIncSlotVoid);
        N.A = Sl;
        Emit(3, N);
        continue;
      }
      if (is(C, I + 1, Opcode::LoadInt) && O[I + 1].I64 == 1 &&
          is(C, I + 2, Opcode::Add) && is(C, I + 3, Opcode::SetSlot) &&
          O[I + 3].A == Sl && sealed(T, C, I, 4)) {
        Instr N(Opcode::PreIncSlotVoid);
        N.A = Sl;
        Emit(4, N);
        continue;
      }
      if (is(C, I + 1, Opcode::GetSlot) && is(C, I + 2, Opcode::Add) &&
          is(C, I + 3, Opcode::SetSlot) && O[I + 3].A == Sl &&
          sealed(T, C, I, 4)) {
        Instr N(Opcode::AddAssignSlotVoid);
        N.A = Sl;
        N.B = O[I + 1].A;
        Emit(4, N);
        continue;
      }
    }
    ++I;
  }
  return apply(C, Reps);
}

Chunk loopLevel(const Chunk &C, FuseStats *S) {
  std::vector<bool> T = jumpTargets(C);
  // How many branches target each op (rotation needs exactly one at L).
  std::vector<unsigned> In(C.Ops.size() + 1, 0);
  for (const Instr &I : C.Ops)
    if (hasFlag(I.Op, OpBranch) && I.Target < In.size())
      ++In[I.Target];
  std::vector<Replacement> Reps;
  const auto &O = C.Ops;
  for (uint32_t L = 0; L < O.size(); ++L) {
    if (O[L].Op != Opcode::SlotLtIntJumpIfFalse)
      continue;
    uint16_t Ctr = O[L].A;
    int32_t K = O[L].Imm32;
    uint32_t E = O[L].Target;
    // L: test; BODY; PreIncSlotVoid i; Jump L; E:
    if (E < L + 3 || E > O.size() || !is(C, E - 1, Opcode::Jump) ||
        O[E - 1].Target != L || !is(C, E - 2, Opcode::PreIncSlotVoid) ||
        O[E - 2].A != Ctr)
      continue;
    uint32_t BodyLen = E - 2 - (L + 1);
    auto Body = [&](uint32_t J) -> const Instr & { return O[L + 1 + J]; };
    auto Loop = [&](Instr N, uint32_t LineFrom = 0) {
      Reps.push_back({L, E - L, {N}, LineFrom});
      if (S)
        ++S->Fused[static_cast<unsigned>(N.Op)];
      L = E - 1;
    };
    if (sealed(T, C, L, E - L)) {
      if (BodyLen == 1 && Body(0).Op == Opcode::AddAssignSlotVoid &&
          Body(0).B == Ctr) {
        Instr N(Opcode::AccumSumLoop);
        N.A = Body(0).A;
        N.B = Ctr;
        N.Imm32 = K;
        Loop(N);
        continue;
      }
      if (BodyLen == 4 && Body(0).Op == Opcode::GetSlot &&
          Body(1).Op == Opcode::LoadConst && Body(2).Op == Opcode::Concat &&
          Body(3).Op == Opcode::SetSlot && Body(3).A == Body(0).A) {
        Instr N(Opcode::ConcatConstLoop);
        N.A = Body(1).A;
        N.B = Body(0).A;
        N.C = Ctr;
        N.Imm32 = K;
        Loop(N, /*the Concat*/ 3);
        continue;
      }
      if (BodyLen == 2 && Body(0).Op == Opcode::GetSlot &&
          Body(0).A == Ctr && Body(1).Op == Opcode::ArrayPush) {
        Instr N(Opcode::PushIntRangeLoop);
        N.A = Body(1).A;
        N.B = Ctr;
        N.Imm32 = K;
        Loop(N, /*the ArrayPush*/ 2);
        continue;
      }
    }
    // Rotation: only the back edge may enter at L, nothing at the Jump.
    if (In[L] == 1 && !T[E - 1] && BodyLen > 0) {
      Instr N(Opcode::SlotIncLtIntJumpBack);
      N.A = Ctr;
      N.Imm32 = K;
      N.Target = L + 1;
      Reps.push_back({E - 2, 2, {N}});
      if (S)
        ++S->Fused[static_cast<unsigned>(N.Op)];
    }
  }
  // Rotations found inside loops that were fused whole are dropped.
  std::sort(Reps.begin(), Reps.end(),
            [](const Replacement &A, const Replacement &B) {
              return A.Start < B.Start;
            });
  std::vector<Replacement> Kept;
  for (Replacement &R : Reps) {
    if (!Kept.empty() && R.Start < Kept.back().Start + Kept.back().Len) {
      if (S)
        --S->Fused[static_cast<unsigned>(R.With[0].Op)];
      continue;
    }
    Kept.push_back(std::move(R));
  }
  return apply(C, Kept);
}

} // namespace

Chunk fuseChunk(const Chunk &C, FuseStats *Stats) {
  if (Stats)
    Stats->OpsBefore = static_cast<unsigned>(C.Ops.size());
  Chunk Out = loopLevel(opLevel(C, Stats), Stats);
  if (Stats)
    Stats->OpsAfter = static_cast<unsigned>(Out.Ops.size());
  return Out;
}

} // namespace fusevm
