//===- NativeRuntime.cpp - Runtime helpers compiled code calls ------------===//
//
// \file
// The helpers of include/fusevm/JIT/Native.h that need nothing of the
// interpreter: each is a thin wrapper over the same lib/VM/Runtime.cpp
// function the interpreter calls, in the native convention (operands by
// pointer, consumed; result written to Out; an RtError code returned).
// The helpers that need the running interpreter (calls, Print, ReadLine,
// host builtins, extended ops) live in Interpreter.cpp.
//
//===----------------------------------------------------------------------===//

#include "NativeHelpers.h"

#include "fusevm/VM/Runtime.h"

#include <new>

namespace fusevm {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(ArrayObj, Items) == ArrayBeginOffset &&
                  sizeof(ValueVector) == 3 * sizeof(void *),
              "compiled code reads ArrayObj::Items as {begin, end, cap}");
#pragma GCC diagnostic pop

bool isLinearFunction(const Chunk &C, uint32_t F) {
  const FunctionDef &D = C.Functions[F];
  for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip)
    if (hasFlag(C.Ops[Ip].Op, OpBranch) || hasFlag(C.Ops[Ip].Op, OpLoop))
      return false;
  return true;
}

static RtLimits limits(const NativeCtx *X) { return {X->MaxStr, X->MaxArr}; }
static uint8_t code(RtError E) { return static_cast<uint8_t>(E); }
/// Takes the value out of \p P (the caller's scratch memory).
static Value take(Value *P) {
  Value V;
  V.I = P->I;
  V.K = P->K;
  return V;
}
static void put(Value *Out, Value &&V) {
  Out->I = V.I;
  Out->K = V.K;
  V.K = ValueKind::Undef;
}

} // namespace fusevm

using namespace fusevm;

extern "C" {

void fvm_rt_destroy(HeapObj *O) { destroyHeapObj(O); }

uint8_t fvm_rt_arith(NativeCtx *, uint32_t Op, Value *A, Value *B,
                     Value *Out) {
  Value X = take(A), Y = take(B), R;
  RtError E = rt::arith(static_cast<Opcode>(Op), X, Y, R);
  put(Out, std::move(R));
  return code(E);
}

void fvm_rt_unary(uint32_t Op, Value *A, Value *Out) {
  Value X = take(A);
  put(Out, rt::unary(static_cast<Opcode>(Op), X));
}

uint8_t fvm_rt_numcmp(uint32_t Op, Value *A, Value *B) {
  Value X = take(A), Y = take(B);
  return rt::numCompare(static_cast<Opcode>(Op), X, Y);
}

int64_t fvm_rt_spaceship(Value *A, Value *B) {
  Value X = take(A), Y = take(B);
  return rt::spaceship(X, Y);
}

int64_t fvm_rt_bitop(uint32_t Op, Value *A, Value *B) {
  Value X = take(A), Y = take(B);
  if (static_cast<Opcode>(Op) == Opcode::BitNot)
    return ~toInt(X);
  return rt::bitop(static_cast<Opcode>(Op), X, Y);
}

/// truthy(v), consuming v.
uint8_t fvm_rt_truthy(Value *A) {
  Value X = take(A);
  return truthy(X);
}

/// to_int(v), consuming v (SetStatus).
int64_t fvm_rt_to_int(Value *A) {
  Value X = take(A);
  return toInt(X);
}

/// Concat, StringRepeat, StringLen and the string comparisons.
uint8_t fvm_rt_strop(NativeCtx *Ctx, uint32_t Op, Value *A, Value *B,
                     Value *Out) {
  RtLimits L = limits(Ctx);
  Value X = take(A), R;
  RtError E = RtError::None;
  switch (static_cast<Opcode>(Op)) {
  case Opcode::Concat: {
    Value Y = take(B);
    E = rt::concat(X, Y, L);
    R = std::move(X);
    break;
  }
  case Opcode::StringLen:
    E = rt::stringLen(X, R, L);
    break;
  case Opcode::StringRepeat: {
    Value Y = take(B);
    E = rt::stringRepeat(X, Y, R, L);
    break;
  }
  default: {
    Value Y = take(B);
    E = rt::strCompare(static_cast<Opcode>(Op), X, Y, R, L);
    break;
  }
  }
  put(Out, std::move(R));
  return code(E);
}

/// The array and hash ops on global \p N; \p A is the deeper operand, \p B
/// the top one (as many as the op pops).
uint8_t fvm_rt_global(NativeCtx *Ctx, uint32_t Op, uint32_t N, Value *A,
                      Value *B, Value *Out) {
  RtLimits L = limits(Ctx);
  Value &G = Ctx->Globals[N];
  Value R;
  RtError E = RtError::None;
  switch (static_cast<Opcode>(Op)) {
  case Opcode::GetArray: R = rt::asArray(G); break;
  case Opcode::SetArray: {
    Value V = take(A);
    if (!V.isArray())
      E = RtError::NotAnArray;
    else
      G = std::move(V);
    break;
  }
  case Opcode::DeclareArray: G = Value::emptyArray(); break;
  case Opcode::ArrayGet: {
    Value I = take(A);
    R = rt::arrayGet(G, I);
    break;
  }
  case Opcode::ArraySet: {
    Value V = take(A), I = take(B);
    E = rt::arraySet(G, I, std::move(V), L);
    break;
  }
  case Opcode::ArrayPush: E = rt::arrayPush(G, take(A), L); break;
  case Opcode::ArrayPop: E = rt::arrayPop(G, R); break;
  case Opcode::ArrayShift: E = rt::arrayShift(G, R); break;
  case Opcode::ArrayLen: R = Value::integer(rt::arrayLen(G)); break;
  case Opcode::GetHash: R = rt::asHash(G); break;
  case Opcode::SetHash: {
    Value V = take(A);
    if (!V.isHash())
      E = RtError::NotAHash;
    else
      G = std::move(V);
    break;
  }
  case Opcode::DeclareHash: G = Value::emptyHash(); break;
  case Opcode::HashGet: {
    Value K = take(A);
    E = rt::hashGet(G, K, R, L);
    break;
  }
  case Opcode::HashSet: {
    Value V = take(A), K = take(B);
    E = rt::hashSet(G, K, std::move(V), L);
    break;
  }
  case Opcode::HashDelete: {
    Value K = take(A);
    E = rt::hashDelete(G, K, R, L);
    break;
  }
  case Opcode::HashExists: {
    Value K = take(A);
    E = rt::hashExists(G, K, R, L);
    break;
  }
  case Opcode::HashKeys: R = rt::hashKeys(G); break;
  case Opcode::HashValues: R = rt::hashValues(G); break;
  default: break;
  }
  put(Out, std::move(R));
  return code(E);
}

/// SlotArrayGet (A = index) and SlotArraySet (A = value, B = index) on the
/// array in \p Slot (the slot's value, updated in place).
uint8_t fvm_rt_slot_array(NativeCtx *Ctx, uint32_t Op, Value *Slot, Value *A,
                          Value *B, Value *Out) {
  if (static_cast<Opcode>(Op) == Opcode::SlotArrayGet) {
    Value I = take(A);
    put(Out, rt::arrayGet(*Slot, I));
    return 0;
  }
  Value V = take(A), I = take(B);
  return code(rt::arraySet(*Slot, I, std::move(V), limits(Ctx)));
}

/// MakeArray / MakeHash of \p N values (pairs for MakeHash) at \p Items.
uint8_t fvm_rt_make(NativeCtx *Ctx, uint32_t Op, Value *Items, uint32_t N,
                    Value *Out) {
  if (static_cast<Opcode>(Op) == Opcode::MakeArray) {
    Value A = Value::emptyArray();
    auto &V = A.array()->Items;
    V.reserve(N);
    for (uint32_t I = 0; I < N; ++I)
      V.push_back(take(Items + I));
    put(Out, std::move(A));
    return 0;
  }
  Value H;
  RtError E = rt::makeHash(Items, N, H, limits(Ctx));
  for (uint32_t I = 0; I < 2 * N; ++I)
    Items[I].release();
  put(Out, std::move(H));
  return code(E);
}

/// Range (N = 2) and RangeStep (N = 3).
uint8_t fvm_rt_range(NativeCtx *Ctx, Value *Args, uint32_t N, Value *Out) {
  Value From = take(Args), To = take(Args + 1), Step;
  if (N == 3)
    Step = take(Args + 2);
  Value R;
  RtError E = rt::range(From, To, N == 3 ? &Step : nullptr, R, limits(Ctx));
  put(Out, std::move(R));
  return code(E);
}

/// Standard builtins (id < 256).
uint8_t fvm_rt_builtin(NativeCtx *Ctx, uint32_t Id, Value *Args, uint32_t N,
                       Value *Out) {
  Value R;
  RtError E = rt::callBuiltin(static_cast<uint16_t>(Id), Args, R, limits(Ctx));
  for (uint32_t I = 0; I < N; ++I)
    Args[I].release();
  put(Out, std::move(R));
  return code(E);
}

} // extern "C"

const std::vector<fusevm::NativeSymbol> &fusevm::nativeRuntimeSymbols() {
  static const std::vector<NativeSymbol> Table = {
#define X(Name) {#Name, reinterpret_cast<void *>(&Name)},
      FUSEVM_NATIVE_HELPERS(X)
#undef X
  };
  return Table;
}
