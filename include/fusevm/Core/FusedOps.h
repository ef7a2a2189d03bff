//===- fusevm/Core/FusedOps.h - What each fused op stands for ----*- C++ -*-===//
//
// \file
// The expansions of isa.md's fused superinstructions (FusedOps.def, the one
// copy of that table), and the two things every user of them does: expand
// a fused op into its plain ops (the JIT's lowering), and find a fused op's
// plain sequence in a chunk (`fusevmc --fuse`, the interpreter's
// quickening).
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_FUSEDOPS_H
#define FUSEVM_CORE_FUSEDOPS_H

#include "fusevm/Core/Chunk.h"

#include <cstdint>
#include <span>
#include <vector>

namespace fusevm {

/// Where an expansion op's operand comes from.
struct FusedOperand {
  enum Kind : uint8_t { NoOperand, FromArg, Literal } K = NoOperand;
  int64_t V = 0; ///< the fused op's operand index, or the literal
};

/// Where an expansion op's jump goes.
struct FusedJump {
  enum Kind : uint8_t { NoJump, ToArg, ToHead, ToExit } K = NoJump;
  uint8_t Arg = 0; ///< for ToArg: the fused op's operand index
};

struct ExpansionOp {
  Opcode Op;
  FusedOperand Operand;
  FusedJump Jump;
};

constexpr unsigned MaxExpansionLen = 13;

struct FusedExpansion {
  Opcode Op;
  int8_t Fails; ///< index of the component that can raise an error, or -1
  uint8_t Len;
  ExpansionOp Ops[MaxExpansionLen];
};

/// Every fused op's expansion, in FusedOps.def order.
std::span<const FusedExpansion> fusedExpansions();
/// The expansion of \p Op, or null when \p Op is not a fused op.
const FusedExpansion *fusedExpansion(Opcode Op);

/// The plain ops fused op \p I stands for. \p Head is the index of the
/// first of them and \p Exit the index just past them, in whatever
/// numbering the caller gives its ops (targets are resolved into Target).
void expandFused(const Instr &I, uint32_t Head, uint32_t Exit,
                 std::vector<Instr> &Out);

/// True for ops that some jump targets, and for every function's first op:
/// the places a fused sequence may start but never continue through.
std::vector<bool> jumpTargets(const Chunk &C);

/// A fused op found in place of plain ops.
struct FusedMatch {
  Instr Fused;  ///< the fused op, operands filled in
  uint32_t Len; ///< plain ops it stands for, from Start
};

/// Does the expansion of \p Op start at \p Start of \p Ops? Only ops before
/// \p Limit (the function's end) count, an `I32` operand must fit in 32
/// bits, and a loop's exit jump must leave to just past the sequence. With
/// \p Targeted (a rewrite that removes the other ops), no op after the
/// first may be a jump target; without it (a rewrite in place, where the
/// other ops stay and a jump into them runs them) any may.
bool matchFused(Opcode Op, std::span<const Instr> Ops, uint32_t Start,
                uint32_t Limit, const std::vector<bool> *Targeted,
                FusedMatch &M);

/// A frontend's type test, `CallBuiltin 24 1; LoadConst "name"; StrEq|StrNe`
/// (`x == nil` is `type(x) == "undef"`): the interpreter (TypeIs) and the
/// lowering compare the value's kind with Kind instead of making a string.
struct TypeTest {
  int Kind;     ///< the ValueKind the name names, or -1 (never equal)
  bool Negated; ///< StrNe
};
/// Whether \p Call, \p Name, \p Cmp (consecutive ops of \p C) are a type
/// test; \p T says which.
bool matchTypeTest(const Chunk &C, const Instr &Call, const Instr &Name,
                   const Instr &Cmp, TypeTest &T);

} // namespace fusevm

#endif // FUSEVM_CORE_FUSEDOPS_H
