//===- FrameStack.h - The interpreter's activations --------------*- C++ -*-===//
//
// \file
// Guest calls never recurse natively: every activation's slots and operand
// stack live in two growable arrays of Values, with a call frame per
// active call and the enclosing slot base of each open scope. The dispatch
// loop keeps the running activation in an Activation (locals the compiler
// keeps in registers) and moves between activations through this API.
//
// Stack discipline: memory at and above the stack pointer holds no live
// value. Values are trivially relocatable, so moves between the operand
// stack and slots are plain 16-byte copies.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_FRAMESTACK_H
#define FUSEVM_LIB_VM_FRAMESTACK_H

#include "fusevm/Core/Opcode.h"
#include "fusevm/Core/Value.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace fusevm {

/// Frames' slots and operand stacks are bounded like the heap objects of
/// isa.md §5: a call that would pass these is "call depth limit exceeded".
constexpr size_t MaxSlotValues = size_t(1) << 26;
constexpr size_t MaxStackValues = size_t(1) << 26;

/// What a call needs to know about its callee.
struct FnRt {
  uint32_t Entry;
  uint32_t NumSlots;
  uint32_t MaxStack;
};

/// The running activation.
struct Activation {
  uint32_t Func;
  size_t FrameSlots; ///< the function's slot base
  size_t CurSlots;   ///< the innermost open scope's slot base
  size_t StackBase;  ///< the operand stack base
};

/// A suspended caller. 32 bytes, so that Calls.size() is a shift, not a
/// division (the return path compares it). Indices fit 32 bits: both
/// buffers are capped at 2^26 values.
struct CallFrame {
  const Instr *RetIp;
  uint32_t Func;
  uint32_t ScopeBase; ///< Scopes.size() at the call
  uint32_t FrameSlots, CurSlots, StackBase;
};
static_assert(sizeof(CallFrame) == 32, "see CallFrame");

/// A growable array of Values whose unused tail holds no live value.
struct ValueStack {
  Value *Mem = nullptr;
  size_t Cap = 0;
  ~ValueStack() { std::free(Mem); }
  /// Ensures room for \p Need values; false when out of memory.
  bool reserve(size_t Need) {
    if (Need <= Cap)
      return true;
    size_t NewCap = Cap ? Cap : 256;
    while (NewCap < Need)
      NewCap *= 2;
    void *P = std::realloc(static_cast<void *>(Mem), NewCap * sizeof(Value));
    if (!P)
      return false;
    Mem = static_cast<Value *>(P);
    Cap = NewCap;
    return true;
  }
};

[[gnu::always_inline]] inline void rawMove(Value *Dst, const Value *Src,
                                           size_t N) {
  if (N) // memcpy with a null pointer is undefined even for 0 bytes
    std::memcpy(static_cast<void *>(Dst), static_cast<const void *>(Src),
                N * sizeof(Value));
}
[[gnu::always_inline]] inline void setUndef(Value *V, size_t N) {
  for (size_t I = 0; I < N; ++I)
    V[I].K = ValueKind::Undef;
}
[[gnu::always_inline]] inline void releaseRange(Value *From, Value *To) {
  for (Value *V = From; V < To; ++V)
    if (V->isHeap() && --V->P->RefCount == 0)
      destroyHeapObj(V->P);
}

class FrameStack {
public:
  ValueStack Stack, Slots;
  /// Live extents: exact whenever control is outside the dispatch loop
  /// (calls into native code, errors), for unwinding and nested runs.
  size_t StackTop = 0, SlotTop = 0;
  std::vector<CallFrame> Calls;
  std::vector<size_t> Scopes; ///< enclosing slot base of each open scope

  ~FrameStack() {
    releaseRange(Stack.Mem, Stack.Mem + StackTop);
    releaseRange(Slots.Mem, Slots.Mem + SlotTop);
  }

  /// True when an activation of \p Fn with its stack at \p StackAt may not
  /// fit the buffers as they are (the rare case: grow()).
  [[gnu::always_inline]] bool tight(size_t StackAt, const FnRt &Fn) const {
    return SlotTop + Fn.NumSlots >= Slots.Cap ||
           StackAt + Fn.MaxStack >= Stack.Cap;
  }
  /// Room for that activation; false when a limit or memory refuses.
  bool grow(size_t StackAt, const FnRt &Fn) {
    return SlotTop + Fn.NumSlots <= MaxSlotValues &&
           StackAt + Fn.MaxStack <= MaxStackValues &&
           Slots.reserve(SlotTop + Fn.NumSlots + 1) &&
           Stack.reserve(StackAt + Fn.MaxStack + 1);
  }

  /// Calls function \p F from \p A: the caller is saved (it continues at
  /// \p RetIp), the \p Argc arguments at \p ArgsAt become the callee's
  /// first slots, and \p A becomes the callee's activation. The buffers
  /// must have room (tight/grow).
  [[gnu::always_inline]] void call(Activation &A, const Instr *RetIp,
                                   uint32_t F, const FnRt &Fn, size_t ArgsAt,
                                   unsigned Argc) {
    Calls.push_back({RetIp, A.Func, static_cast<uint32_t>(Scopes.size()),
                     static_cast<uint32_t>(A.FrameSlots),
                     static_cast<uint32_t>(A.CurSlots),
                     static_cast<uint32_t>(A.StackBase)});
    Value *Args = Stack.Mem + ArgsAt, *S = Slots.Mem + SlotTop;
    // Field by field: a memcpy of a few values compiles to `rep movsq`,
    // whose start-up cost dominated small calls.
    for (unsigned K = 0; K < Argc; ++K) {
      S[K].I = Args[K].I;
      S[K].K = Args[K].K;
    }
    setUndef(S + Argc, Fn.NumSlots - Argc);
    A.FrameSlots = A.CurSlots = SlotTop;
    SlotTop += Fn.NumSlots;
    A.StackBase = ArgsAt;
    A.Func = F;
  }

  /// Releases the activation \p A (its operand stack up to \p Sp, its
  /// slots and scopes); afterwards the stack pointer is A.StackBase.
  [[gnu::always_inline]] void discard(const Activation &A, Value *Sp) {
    releaseRange(Stack.Mem + A.StackBase, Sp);
    releaseRange(Slots.Mem + A.FrameSlots, Slots.Mem + SlotTop);
    SlotTop = A.FrameSlots;
  }

  /// Returns from the discarded activation \p A to its caller, which
  /// becomes \p A again; the result goes where the arguments were.
  [[gnu::always_inline]] const Instr *ret(Activation &A, Value &&Result) {
    const CallFrame &F = Calls.back();
    if (Scopes.size() != F.ScopeBase)
      Scopes.resize(F.ScopeBase);
    new (Stack.Mem + A.StackBase) Value(std::move(Result));
    A.StackBase = F.StackBase;
    A.FrameSlots = F.FrameSlots;
    A.CurSlots = F.CurSlots;
    A.Func = F.Func;
    const Instr *RetIp = F.RetIp;
    Calls.pop_back();
    return RetIp;
  }

  /// PushFrame: a fresh scope of \p NumSlots undef slots; false when a
  /// limit or memory refuses.
  [[gnu::always_inline]] bool openScope(Activation &A, uint32_t NumSlots) {
    if (SlotTop + NumSlots > MaxSlotValues ||
        !Slots.reserve(SlotTop + NumSlots + 1))
      return false;
    Scopes.push_back(A.CurSlots);
    A.CurSlots = SlotTop;
    SlotTop += NumSlots;
    setUndef(Slots.Mem + A.CurSlots, NumSlots);
    return true;
  }

  /// PopFrame: releases the innermost scope's slots.
  [[gnu::always_inline]] void closeScope(Activation &A) {
    releaseRange(Slots.Mem + A.CurSlots, Slots.Mem + SlotTop);
    SlotTop = A.CurSlots;
    A.CurSlots = Scopes.back();
    Scopes.pop_back();
  }
};

} // namespace fusevm

#endif // FUSEVM_LIB_VM_FRAMESTACK_H
