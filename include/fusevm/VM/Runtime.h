//===- fusevm/VM/Runtime.h - Op semantics shared by every tier ---*- C++ -*-===//
//
// \file
// The full semantics of every op that is not a pure stack or slot move, as
// plain functions. The interpreter calls them on its slow paths; the JIT
// tiers call them wherever they cannot specialise. One semantics.
//
// Functions that can fail return an RtError (None on success) and leave
// their result in an out-parameter.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_VM_RUNTIME_H
#define FUSEVM_VM_RUNTIME_H

#include "fusevm/Core/Opcode.h"
#include "fusevm/Core/Value.h"

#include <cstdint>
#include <string>

namespace fusevm {

/// The runtime errors of isa.md §5, plus the host's own.
enum class RtError : uint8_t {
  None,
  DivisionByZero,
  ModuloByZero,
  NotAnArray,
  NotAHash,
  IndexOutOfRange,
  RangeStepZero,
  CallDepth,
  StringLimit,
  ArrayLimit,
  BudgetExhausted,
  Host, ///< a host builtin or extended op failed; message kept elsewhere
};

/// The exact phrase isa.md §5 mandates for \p E.
const char *rtErrorMessage(RtError E);

struct RtLimits {
  uint64_t MaxStr;
  uint64_t MaxArr;
};

namespace rt {

/// Add, Sub, Mul, Div, Mod, Pow on num() of both operands.
RtError arith(Opcode Op, const Value &A, const Value &B, Value &Out);
/// Negate, Inc, Dec on num().
Value unary(Opcode Op, const Value &A);
/// NumEq .. NumGe.
bool numCompare(Opcode Op, const Value &A, const Value &B);
/// Spaceship: -1, 0 or 1; 0 when either side is NaN.
int64_t spaceship(const Value &A, const Value &B);
/// BitAnd, BitOr, BitXor, Shl, Shr on to_int().
int64_t bitop(Opcode Op, const Value &A, const Value &B);

/// to_str(v) as a Str value, within the string limit.
RtError toStrValue(const Value &V, Value &Out, const RtLimits &L);
/// StrEq .. StrGe and StrCmp (Out is Bool or Int).
RtError strCompare(Opcode Op, const Value &A, const Value &B, Value &Out,
                   const RtLimits &L);
/// A . B; \p A is consumed and receives the result (appending in place when
/// A is a string with a single owner).
RtError concat(Value &A, const Value &B, const RtLimits &L);
/// \p N times `S = S . Piece` (ConcatConstLoop), built in one allocation.
RtError concatRepeat(Value &S, const Value &Piece, uint64_t N,
                     const RtLimits &L);
RtError stringRepeat(const Value &A, const Value &Count, Value &Out,
                     const RtLimits &L);
RtError stringLen(const Value &A, Value &Out, const RtLimits &L);

// Arrays: reads treat a non-array as empty; writes autovivify undef.
Value arrayGet(const Value &Container, const Value &Index);
RtError arraySet(Value &Container, const Value &Index, Value &&V,
                 const RtLimits &L);
RtError arrayPush(Value &Container, Value &&V, const RtLimits &L);
RtError arrayPop(Value &Container, Value &Out);
RtError arrayShift(Value &Container, Value &Out);
int64_t arrayLen(const Value &Container);
/// Container as an array value (a copy; empty for a non-array).
Value asArray(const Value &Container);

// Hashes: keys are to_str(key).
RtError hashGet(const Value &Container, const Value &Key, Value &Out,
                const RtLimits &L);
RtError hashSet(Value &Container, const Value &Key, Value &&V,
                const RtLimits &L);
RtError hashDelete(Value &Container, const Value &Key, Value &Out,
                   const RtLimits &L);
RtError hashExists(const Value &Container, const Value &Key, Value &Out,
                   const RtLimits &L);
Value hashKeys(const Value &Container);
Value hashValues(const Value &Container);
Value asHash(const Value &Container);
/// MakeHash from \p Count key/value pairs at \p Items (consumed).
RtError makeHash(Value *Items, unsigned Count, Value &Out, const RtLimits &L);

/// Range (HasStep false) and RangeStep.
RtError range(const Value &From, const Value &To, const Value *Step,
              Value &Out, const RtLimits &L);

/// Standard builtin \p Id (0-26) on \p Args.
RtError callBuiltin(uint16_t Id, const Value *Args, Value &Out,
                    const RtLimits &L);

} // namespace rt
} // namespace fusevm

#endif // FUSEVM_VM_RUNTIME_H
