//===- Quicken.cpp - Superinstructions chosen at load time ----------------===//
//
// \file
// See Quicken.h. Per function, three passes, each leaving alone the ops an
// earlier one took:
//  1. whole loops that isa.md's fused loop ops stand for (AccumSumLoop,
//     ConcatConstLoop, PushIntRangeLoop: run in closed form);
//  2. counted-loop latches (ForLoop);
//  3. left to right, isa.md's straight fused ops, then the internal ops.
// Only sequences whose ops raise no error, or whose one erring op is the
// last one run (the general path runs that op itself), are rewritten, so
// no diagnostic changes.
//
//===----------------------------------------------------------------------===//

#include "Quicken.h"

#include "fusevm/Core/FusedOps.h"

namespace fusevm {
namespace {

class Quickener {
public:
  Quickener(std::vector<Instr> &Code, const Chunk &C)
      : Code(Code), C(C), Taken(Code.size(), false),
        Pinned(Code.size(), false) {}

  void function(const FunctionDef &F) {
    for (uint32_t I = F.Entry; I < F.End; ++I)
      for (Opcode Op : {Opcode::AccumSumLoop, Opcode::ConcatConstLoop,
                        Opcode::PushIntRangeLoop})
        if (tryFused(Op, I, F.End))
          break;
    for (uint32_t J = F.Entry; J < F.End; ++J)
      forLoop(J, F.Entry);
    for (uint32_t I = F.Entry; I < F.End; ++I) {
      if (Taken[I] || Pinned[I])
        continue;
      bool Done = internalJump(I, F.End);
      for (Opcode Op : {Opcode::SlotIncLtIntJumpBack, Opcode::PreIncSlot,
                        Opcode::AddAssignSlotVoid, Opcode::PreIncSlotVoid})
        if (!Done && (Done = tryFused(Op, I, F.End)))
          break;
      if (!Done)
        internal(I, F.End);
    }
  }

private:
  std::vector<Instr> &Code;
  const Chunk &C;
  std::vector<bool> Taken; ///< part of a rewritten sequence
  /// Ops a ForLoop reads at run time: never the first op of a rewrite.
  std::vector<bool> Pinned;

  Opcode op(size_t I) const { return I < Code.size() ? C.Ops[I].Op : Opcode::Nop; }
  bool free(uint32_t I, uint32_t Len, uint32_t End) const {
    if (I + Len > End)
      return false;
    for (uint32_t J = I; J < I + Len; ++J)
      if (Taken[J])
        return false;
    return true;
  }
  void take(uint32_t I, uint32_t Len) {
    for (uint32_t J = I; J < I + Len; ++J)
      Taken[J] = true;
  }

  bool tryFused(Opcode Op, uint32_t I, uint32_t End) {
    FusedMatch M;
    if (Taken[I] || !matchFused(Op, C.Ops, I, End, nullptr, M) ||
        !free(I, M.Len, End) || M.Len > 255)
      return false;
    M.Fused.U8 = static_cast<uint8_t>(M.Len);
    Code[I] = M.Fused;
    take(I, M.Len);
    return true;
  }

  /// The step of a latch `GetSlot i; <step>; SetSlot i` starting at \p P
  /// and ending just before \p J: a constant (\p Step) or a slot
  /// (\p StepSlot >= 0).
  bool latchStep(uint32_t P, uint32_t J, uint16_t &Slot, int64_t &Step,
                 int &StepSlot) const {
    const auto &O = C.Ops;
    StepSlot = -1;
    if (J == P + 1 && O[P].Op == Opcode::PreIncSlotVoid) {
      Slot = O[P].A;
      Step = 1;
      return true;
    }
    if (J == P + 1 && O[P].Op == Opcode::AddAssignSlotVoid) {
      Slot = O[P].A;
      StepSlot = O[P].B;
      return true;
    }
    if (O[P].Op != Opcode::GetSlot || O[J - 1].Op != Opcode::SetSlot ||
        O[J - 1].A != O[P].A)
      return false;
    Slot = O[P].A;
    if (J == P + 3 && (O[P + 1].Op == Opcode::Inc || O[P + 1].Op == Opcode::Dec)) {
      Step = O[P + 1].Op == Opcode::Inc ? 1 : -1;
      return true;
    }
    if (J == P + 4 && O[P + 1].Op == Opcode::GetSlot &&
        O[P + 2].Op == Opcode::Add) {
      StepSlot = O[P + 1].A;
      return true;
    }
    if (J == P + 4 && O[P + 1].Op == Opcode::LoadInt &&
        (O[P + 2].Op == Opcode::Add || O[P + 2].Op == Opcode::Sub)) {
      int64_t K = O[P + 1].I64;
      if (K < INT32_MIN + 1 || K > INT32_MAX)
        return false;
      Step = O[P + 2].Op == Opcode::Add ? K : -K;
      return true;
    }
    return false;
  }

  /// A `Jump L` at \p J closing a counted loop whose test is at L.
  void forLoop(uint32_t J, uint32_t Entry) {
    const auto &O = C.Ops;
    if (O[J].Op != Opcode::Jump || O[J].Target > J)
      return;
    uint32_t L = O[J].Target;
    if (L + 4 > J || O[L].Op != Opcode::GetSlot ||
        (O[L + 1].Op != Opcode::GetSlot && O[L + 1].Op != Opcode::LoadInt) ||
        O[L + 3].Op != Opcode::JumpIfFalse)
      return;
    uint8_t Cmp;
    switch (O[L + 2].Op) {
    case Opcode::NumLt: Cmp = 0; break;
    case Opcode::NumLe: Cmp = 1; break;
    case Opcode::NumGt: Cmp = 2; break;
    case Opcode::NumGe: Cmp = 3; break;
    case Opcode::NumEq: Cmp = 4; break;
    case Opcode::NumNe: Cmp = 5; break;
    default: return;
    }
    for (uint32_t Len : {1u, 3u, 4u}) {
      if (J < L + 4 + Len || J < Entry + Len)
        continue;
      uint32_t P = J - Len;
      uint16_t Slot;
      int64_t Step = 0;
      int StepSlot;
      if (!latchStep(P, J, Slot, Step, StepSlot) || Slot != O[L].A ||
          !free(P, Len + 1, J + 1) || Taken[L] || Taken[L + 1] ||
          Taken[L + 3])
        continue;
      bool ConstLimit = O[L + 1].Op == Opcode::LoadInt;
      int64_t K = ConstLimit ? O[L + 1].I64 : 0;
      bool KFits = K >= INT32_MIN && K <= INT32_MAX;
      Instr N(internalOp(IOp_ForLoop));
      N.A = Slot;
      N.B = ConstLimit ? 0 : O[L + 1].A;
      N.C = StepSlot >= 0 ? uint16_t(StepSlot) : 0;
      N.U8 = uint8_t(Cmp | (ConstLimit ? ForConstLimit : 0) |
                     (StepSlot >= 0 ? ForStepSlot : 0) | Len << ForJumpShift);
      N.Imm32 = static_cast<int32_t>(Step);
      if (Cmp < 4 && ConstLimit && KFits && StepSlot < 0 &&
          Step >= INT16_MIN && Step <= INT16_MAX) {
        N.Op = internalOp(InternalOp(IOp_ForLtK + Cmp));
        N.B = static_cast<uint16_t>(static_cast<int16_t>(Step));
        N.Imm32 = static_cast<int32_t>(K);
      } else if (Cmp < 4 && !ConstLimit && StepSlot < 0) {
        N.Op = internalOp(InternalOp(IOp_ForLtS + Cmp));
      } else if (Cmp < 4 && ConstLimit && KFits && StepSlot >= 0) {
        N.Op = internalOp(InternalOp(IOp_ForLtKV + Cmp));
        N.Imm32 = static_cast<int32_t>(K);
      }
      N.Target = L + 4; // the body
      Code[P] = N;
      take(P, Len + 1);
      Pinned[L + 1] = Pinned[L + 3] = true;
      return;
    }
  }

  /// An update of a slot, then a jump (a latch that is not a counted
  /// loop's): AddKJump or AddSlotJump at \p I. A = the slot, Imm32 = the
  /// step or B = the step's slot, C = the Jump's offset, Target = its
  /// target.
  bool internalJump(uint32_t I, uint32_t End) {
    Instr &First = Code[I];
    for (uint32_t Len : {1u, 3u, 4u}) {
      uint16_t Slot;
      int64_t Step = 0;
      int StepSlot;
      if (op(I + Len) != Opcode::Jump || !free(I, Len + 1, End) ||
          Pinned[I + Len] || !latchStep(I, I + Len, Slot, Step, StepSlot))
        continue;
      First.Op = internalOp(StepSlot >= 0 ? IOp_AddSlotJump : IOp_AddKJump);
      First.A = Slot;
      First.B = StepSlot >= 0 ? uint16_t(StepSlot) : 0;
      First.C = static_cast<uint16_t>(Len);
      First.Imm32 = static_cast<int32_t>(Step);
      First.Target = C.Ops[I + Len].Target;
      take(I, Len + 1);
      return true;
    }
    return false;
  }

  /// The internal ops of pass 3 at \p I.
  void internal(uint32_t I, uint32_t End) {
    Instr &First = Code[I];
    uint32_t Len = 0;
    InternalOp Use = InternalBase;
    auto compareJF = [&](InternalOp Lt) {
      switch (op(I + 2)) {
      case Opcode::NumLt: return InternalOp(Lt + 0);
      case Opcode::NumLe: return InternalOp(Lt + 1);
      case Opcode::NumGt: return InternalOp(Lt + 2);
      case Opcode::NumGe: return InternalOp(Lt + 3);
      case Opcode::NumEq: return InternalOp(Lt + 4);
      case Opcode::NumNe: return InternalOp(Lt + 5);
      default: return InternalBase;
      }
    };
    Opcode Op0 = First.Op;
    if (Op0 == Opcode::GetSlot && op(I + 3) == Opcode::JumpIfFalse &&
        free(I, 4, End)) {
      if (op(I + 1) == Opcode::LoadInt)
        Use = compareJF(IOp_SlotIntLtJF);
      else if (op(I + 1) == Opcode::GetSlot)
        Use = compareJF(IOp_SlotSlotLtJF);
      Len = 4;
    }
    if (Use == InternalBase && Op0 == Opcode::GetSlot &&
        op(I + 1) == Opcode::GetSlot && op(I + 3) == Opcode::SetSlot &&
        free(I, 4, End)) {
      Len = 4;
      switch (op(I + 2)) {
      case Opcode::Add: Use = IOp_SlotSlotAddSet; break;
      case Opcode::Sub: Use = IOp_SlotSlotSubSet; break;
      case Opcode::Mul: Use = IOp_SlotSlotMulSet; break;
      default: break;
      }
    }
    if (Use == InternalBase &&
        (Op0 == Opcode::LoadTrue || Op0 == Opcode::LoadFalse ||
         Op0 == Opcode::LoadInt) &&
        op(I + 1) == Opcode::GetSlot && op(I + 2) == Opcode::ArraySet &&
        free(I, 3, End)) {
      // U8 (unused by these ops) records which constant the op loads.
      First.U8 = Op0 == Opcode::LoadInt ? 2 : Op0 == Opcode::LoadTrue;
      Use = IOp_ImmSlotArraySet;
      Len = 3;
    }
    if (Use == InternalBase && Op0 == Opcode::LoadFloat &&
        (op(I + 2) == Opcode::JumpIfTrue || op(I + 2) == Opcode::JumpIfFalse) &&
        free(I, 3, End)) {
      switch (op(I + 1)) {
      case Opcode::NumLt: case Opcode::NumLe: case Opcode::NumGt:
      case Opcode::NumGe: case Opcode::NumEq: case Opcode::NumNe:
        Use = IOp_FloatCmpJump;
        Len = 3;
        break;
      default:
        break;
      }
    }
    TypeTest TT;
    if (Use == InternalBase && Op0 == Opcode::CallBuiltin && free(I, 3, End) &&
        matchTypeTest(C, C.Ops[I], C.Ops[I + 1], C.Ops[I + 2], TT)) {
      // B = the kind the name names (NoKind: none, never equal), C = 1 for
      // StrNe.
      First.B = TT.Kind < 0 ? NoKind : uint16_t(TT.Kind);
      First.C = TT.Negated;
      Use = IOp_TypeIs;
      Len = 3;
    }
    if (Use == InternalBase && Op0 == Opcode::GetSlot &&
        op(I + 1) == Opcode::LoadInt && free(I, 3, End)) {
      Len = 3;
      if (op(I + 2) == Opcode::Add)
        Use = IOp_SlotIntAdd;
      else if (op(I + 2) == Opcode::Sub)
        Use = IOp_SlotIntSub;
    }
    if (Use == InternalBase && free(I, 2, End)) {
      Len = 2;
      Opcode Next = op(I + 1);
      if (Op0 == Opcode::GetSlot && Next == Opcode::GetSlot)
        Use = IOp_GetSlot2;
      else if (Op0 == Opcode::GetSlot && Next == Opcode::ArrayGet)
        Use = IOp_SlotArrayGetG;
      else if (Op0 == Opcode::GetSlot && Next == Opcode::ArraySet)
        Use = IOp_SlotArraySetG;
      else if (Op0 == Opcode::GetSlot && Next == Opcode::Add)
        Use = IOp_TopAddSlot;
      else if (Op0 == Opcode::GetSlot && Next == Opcode::Sub)
        Use = IOp_TopSubSlot;
      else if (Op0 == Opcode::GetSlot && Next == Opcode::Mul)
        Use = IOp_TopMulSlot;
      else if (Next == Opcode::SetSlot && Op0 == Opcode::Add)
        Use = IOp_AddSet;
      else if (Next == Opcode::SetSlot && Op0 == Opcode::Sub)
        Use = IOp_SubSet;
      else if (Next == Opcode::SetSlot && Op0 == Opcode::Mul)
        Use = IOp_MulSet;
      else if (Op0 == Opcode::LoadInt && First.I64 > 0 && Next == Opcode::Mod)
        Use = IOp_IntModPos; // a positive divisor: never "modulo by zero"
      else if (Op0 == Opcode::LoadInt && First.I64 > 0 && Next == Opcode::Div)
        Use = IOp_IntDivPos;
    }
    if (Use == InternalBase)
      return;
    First.Op = internalOp(Use);
    take(I, Len);
  }
};

} // namespace

void quicken(std::vector<Instr> &Code, const Chunk &C, const VerifyInfo &) {
  Quickener Q(Code, C);
  for (const FunctionDef &F : C.Functions)
    Q.function(F);
}

} // namespace fusevm
