//===- Fuse.cpp - Superinstruction fusion (fusevmc --fuse) ----------------===//
//
// \file
// Writes a new chunk in which plain op sequences are replaced by the fused
// ops of isa.md §3 that stand for them (the table is Core/FusedOps.def;
// matchFused finds the sequences). Every jump target and function range is
// renumbered: this produces a different program file, to be run as is. The
// interpreter does not use this; it quickens in place (lib/VM/Quicken.cpp).
//
// Per function, in one left-to-right pass: a fused loop (AccumSumLoop,
// ConcatConstLoop, PushIntRangeLoop) where one matches whole, else the
// longest straight fused op. Then top-tested loops are rotated:
//     L: SlotLtIntJumpIfFalse i k E; BODY; PreIncSlotVoid i; Jump L; E:
// has its latch `PreIncSlotVoid i; Jump L` replaced by
// `SlotIncLtIntJumpBack i k BODY`, when only that Jump enters L and nothing
// jumps to the Jump (the entry test stays at L).
//
// A fused op keeps the line of its one component that can fail (Concat,
// ArrayPush), else of its first op, so runtime errors name the same line.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Bytecode/Fuse.h"

#include "fusevm/Core/FusedOps.h"

#include <algorithm>
#include <vector>

namespace fusevm {

namespace {

struct Replacement {
  uint32_t Start, Len;
  Instr With;         ///< branch target in the old numbering
  uint32_t LineFrom;  ///< the op whose line the fused op keeps
};

/// Applies non-overlapping replacements sorted by Start.
Chunk apply(const Chunk &C, const std::vector<Replacement> &Reps) {
  Chunk Out = C;
  Out.Ops.clear();
  Out.Lines.clear();
  std::vector<uint32_t> Map(C.Ops.size() + 1);
  size_t R = 0;
  for (uint32_t I = 0; I < C.Ops.size();) {
    Map[I] = static_cast<uint32_t>(Out.Ops.size());
    if (R < Reps.size() && Reps[R].Start == I) {
      for (uint32_t J = 1; J < Reps[R].Len; ++J)
        Map[I + J] = static_cast<uint32_t>(Out.Ops.size());
      Out.Ops.push_back(Reps[R].With);
      Out.Lines.push_back(C.lineOf(Reps[R].LineFrom));
      I += Reps[R].Len;
      ++R;
      continue;
    }
    Out.Ops.push_back(C.Ops[I]);
    Out.Lines.push_back(C.lineOf(I));
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

/// Fused ops in the order they are tried at one place: whole loops first,
/// then straight sequences, longer before shorter.
constexpr Opcode TryOrder[] = {
    Opcode::AccumSumLoop,      Opcode::ConcatConstLoop,
    Opcode::PushIntRangeLoop,  Opcode::SlotIncLtIntJumpBack,
    Opcode::PreIncSlot,        Opcode::AddAssignSlotVoid,
    Opcode::SlotLtIntJumpIfFalse, Opcode::PreIncSlotVoid,
};

} // namespace

Chunk fuseChunk(const Chunk &C, FuseStats *Stats) {
  std::vector<bool> T = jumpTargets(C);
  std::vector<unsigned> In(C.Ops.size() + 1, 0); // branches into each op
  for (const Instr &I : C.Ops)
    if (hasFlag(I.Op, OpBranch) && I.Target < In.size())
      ++In[I.Target];
  std::vector<Replacement> Reps;
  for (const FunctionDef &F : C.Functions) {
    size_t First = Reps.size();
    for (uint32_t I = F.Entry; I < F.End;) {
      FusedMatch M;
      bool Found = false;
      for (Opcode Op : TryOrder)
        if (matchFused(Op, C.Ops, I, F.End, &T, M)) {
          Found = true;
          break;
        }
      if (!Found) {
        ++I;
        continue;
      }
      int Fails = fusedExpansion(M.Fused.Op)->Fails;
      Reps.push_back({I, M.Len, M.Fused, Fails < 0 ? I : I + uint32_t(Fails)});
      I += M.Len;
    }
    // Rotation, on this function's matches.
    std::vector<Replacement> Rotated;
    for (size_t H = First; H < Reps.size(); ++H) {
      const Replacement &Head = Reps[H];
      if (Head.With.Op != Opcode::SlotLtIntJumpIfFalse)
        continue;
      uint32_t L = Head.Start, E = Head.With.Target;
      if (E <= L + Head.Len || E > F.End || In[L] != 1 || T[E - 1])
        continue;
      const Instr &Back = C.Ops[E - 1];
      if (Back.Op != Opcode::Jump || Back.Target != L)
        continue;
      // The latch: a PreIncSlotVoid of the counter ending right at the Jump.
      auto Latch = std::find_if(Reps.begin() + long(First), Reps.end(),
                                [&](const Replacement &R) {
                                  return R.Start + R.Len == E - 1;
                                });
      if (Latch == Reps.end() || Latch->With.Op != Opcode::PreIncSlotVoid ||
          Latch->With.A != Head.With.A || Latch->Start == L + Head.Len)
        continue;
      Instr N(Opcode::SlotIncLtIntJumpBack);
      N.A = Head.With.A;
      N.Imm32 = Head.With.Imm32;
      N.Target = L + Head.Len; // the body, in the old numbering
      Rotated.push_back({Latch->Start, Latch->Len + 1, N, Latch->Start});
      Latch->Len = 0; // replaced by the rotation
    }
    std::erase_if(Reps, [](const Replacement &R) { return R.Len == 0; });
    Reps.insert(Reps.end(), Rotated.begin(), Rotated.end());
  }
  std::sort(Reps.begin(), Reps.end(),
            [](const Replacement &A, const Replacement &B) {
              return A.Start < B.Start;
            });
  if (Stats) {
    Stats->OpsBefore = static_cast<unsigned>(C.Ops.size());
    for (const Replacement &R : Reps)
      ++Stats->Fused[static_cast<unsigned>(R.With.Op)];
  }
  Chunk Out = apply(C, Reps);
  if (Stats)
    Stats->OpsAfter = static_cast<unsigned>(Out.Ops.size());
  return Out;
}

} // namespace fusevm
