//===- Quicken.h - Superinstructions chosen at load time ---------*- C++ -*-===//
//
// \file
// Quickening rewrites the interpreter's copy of the code in place: the
// first op of a sequence becomes one op that does the work of the whole
// sequence and continues after it; the other ops stay where they are,
// unchanged. So op indices never move (trace anchors, deopt and OSR resume
// points, error lines, counters and cache keys all name ops of the chunk
// as written), and a jump into the middle of a quickened sequence simply
// runs the plain ops from there.
//
// Two kinds of replacement:
//  - isa.md's fused ops, found through the one table of their expansions
//    (Core/FusedOps.def); their U8 holds how many plain ops they stand for
//    (1 for a fused op written in the chunk itself);
//  - the interpreter's internal ops below, which no chunk or file ever
//    holds. Their operands come from the first op; the rest are read from
//    the sequence's own (unchanged) ops at run time.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_QUICKEN_H
#define FUSEVM_LIB_VM_QUICKEN_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/Verify/Verifier.h"

#include <vector>

namespace fusevm {

#define FUSE_INTERNAL_OPS(X)                                                   \
  X(GetSlot2)        /* GetSlot a; GetSlot b */                                \
  X(SlotIntLtJF)     /* GetSlot s; LoadInt k; NumLt; JumpIfFalse t */          \
  X(SlotIntLeJF)                                                               \
  X(SlotIntGtJF)                                                               \
  X(SlotIntGeJF)                                                               \
  X(SlotIntEqJF)                                                               \
  X(SlotIntNeJF)                                                               \
  X(SlotSlotLtJF)    /* GetSlot a; GetSlot b; NumLt; JumpIfFalse t */          \
  X(SlotSlotLeJF)                                                              \
  X(SlotSlotGtJF)                                                              \
  X(SlotSlotGeJF)                                                              \
  X(SlotSlotEqJF)                                                              \
  X(SlotSlotNeJF)                                                              \
  X(ForLtK)         /* a counted loop's latch (see "The For ops"), < k */   \
  X(ForLeK)                                                                    \
  X(ForGtK)                                                                    \
  X(ForGeK)                                                                    \
  X(ForLtS)          /* ... < slot */                                         \
  X(ForLeS)                                                                    \
  X(ForGtS)                                                                    \
  X(ForGeS)                                                                    \
  X(ForLtKV)         /* ... < k, stepping by a slot */                        \
  X(ForLeKV)                                                                   \
  X(ForGtKV)                                                                   \
  X(ForGeKV)                                                                   \
  X(ForLoop)         /* ... any other */                                      \
  X(AddKJump)        /* GetSlot s; LoadInt k; Add|Sub; SetSlot s; Jump t */   \
  X(AddSlotJump)     /* GetSlot a; GetSlot b; Add; SetSlot a; Jump t */        \
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
  X(SlotArrayGetG)   /* GetSlot s; ArrayGet a */                               \
  X(SlotArraySetG)   /* GetSlot s; ArraySet a (the value is on the stack) */  \
  X(ImmSlotArraySet) /* LoadTrue|LoadFalse|LoadInt k; GetSlot s; ArraySet a */ \
  X(TopAddSlot)      /* GetSlot s; Add (top of stack + slot) */               \
  X(TopSubSlot)                                                               \
  X(TopMulSlot)                                                               \
  X(FloatCmpJump)    /* LoadFloat k; NumXx; JumpIfTrue|JumpIfFalse t */     \
  X(TypeIs)          /* CallBuiltin type 1; LoadConst "name"; StrEq|StrNe */

enum InternalOp : unsigned {
  InternalBase = NumOpcodes - 1,
#define X(Name) IOp_##Name,
  FUSE_INTERNAL_OPS(X)
#undef X
  InternalEnd
};
static_assert(InternalEnd <= 256, "internal ops must fit the opcode byte");
constexpr Opcode internalOp(InternalOp I) { return static_cast<Opcode>(I); }

/// The For ops: the latch of a counted loop as a frontend emits it,
///     L:  GetSlot i; GetSlot lim | LoadInt k; NumLt|Le|Gt|Ge|Eq|Ne; JumpIfFalse E
///         BODY
///     P:  GetSlot i; LoadInt s; Add|Sub; SetSlot i    (or Inc, Dec, a slot
///         Jump L                                       step `GetSlot t; Add`,
///                                                      or the fused
///                                                      PreIncSlotVoid or
///                                                      AddAssignSlotVoid)
/// become, at P: i = i + step; count the back edge to L; then the test of
/// L, jumping to BODY (L + 4) or to E (L+3's target, read from that op,
/// which nothing rewrites). Always A = i, Target = L + 4, U8 = the compare
/// (ForCmpMask: 0 Lt, 1 Le, 2 Gt, 3 Ge, 4 Eq, 5 Ne), ForConstLimit,
/// ForStepSlot and P's distance to the Jump (ForJumpShift); then, by op:
///   ForXxK   Imm32 = k, B = the constant step (16 bits)
///   ForXxS   B = the limit's slot, Imm32 = the constant step
///   ForXxKV  Imm32 = k, C = the step's slot
///   ForLoop  any test; B = the limit's slot, C = the step's slot,
///            Imm32 = the constant step; k read from L+1 (Target - 3)
/// TypeIs's B for a name that is no kind's (Core/FusedOps.h TypeTest).
enum : uint16_t { NoKind = 0xffff };

enum : uint8_t {
  ForCmpMask = 7,
  ForConstLimit = 8,
  ForStepSlot = 16,
  ForJumpShift = 5,
};

/// Quickens \p Code (a copy of \p C's ops) in place. \p C is verified.
void quicken(std::vector<Instr> &Code, const Chunk &C, const VerifyInfo &Info);

} // namespace fusevm

#endif // FUSEVM_LIB_VM_QUICKEN_H
