//===- Value.cpp - Values, containers and conversions ---------------------===//
//
// \file
// Heap objects (strings, arrays, insertion-ordered hashes) and the
// conversions of isa.md §2.1: truthy, num, to_int, to_float, to_str and the
// exact float printing rule.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Core/Value.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <sys/mman.h>

namespace fusevm {

//===-- Heap objects --------------------------------------------------------===//

StrObj *StrObj::alloc(size_t Len, size_t Cap) {
  if (Cap < Len)
    Cap = Len;
  void *Mem = std::malloc(sizeof(StrObj) + Cap);
  if (!Mem)
    throw std::bad_alloc();
  auto *S = static_cast<StrObj *>(Mem);
  S->RefCount = 1;
  S->Kind = ValueKind::Str;
  S->Len = static_cast<uint32_t>(Len);
  S->Cap = static_cast<uint32_t>(Cap);
  S->HashCache = 0;
  return S;
}

StrObj *StrObj::make(std::string_view Text) {
  StrObj *S = alloc(Text.size());
  if (!Text.empty())
    std::memcpy(S->data(), Text.data(), Text.size());
  return S;
}

uint64_t hashBytes(const char *Data, size_t Len) {
  // A small multiply-xorshift hash over 8-byte words; keys are short.
  uint64_t H = 0x9E3779B97F4A7C15ull ^ (Len * 0xC2B2AE3D27D4EB4Full);
  size_t I = 0;
  for (; I + 8 <= Len; I += 8) {
    uint64_t W;
    std::memcpy(&W, Data + I, 8);
    H = (H ^ W) * 0xBF58476D1CE4E5B9ull;
    H ^= H >> 31;
  }
  uint64_t Tail = 0;
  for (size_t J = 0; I + J < Len; ++J)
    Tail |= uint64_t(static_cast<unsigned char>(Data[I + J])) << (8 * J);
  H = (H ^ Tail) * 0x94D049BB133111EBull;
  H ^= H >> 29;
  H *= 0xBF58476D1CE4E5B9ull;
  H ^= H >> 32;
  return H ? H : 1;
}

uint64_t StrObj::hash() {
  if (!HashCache)
    HashCache = hashBytes(data(), Len);
  return HashCache;
}

void *allocArrayStorage(size_t Bytes) {
  constexpr size_t Huge = size_t(4) << 20, Align = size_t(2) << 20;
  void *P = nullptr;
  if (Bytes >= Huge) {
    if (posix_memalign(&P, Align, Bytes) != 0)
      throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(P, Bytes & ~(Align - 1), MADV_HUGEPAGE); // a hint; may fail
#endif
    return P;
  }
  P = std::malloc(Bytes ? Bytes : 1);
  if (!P)
    throw std::bad_alloc();
  return P;
}

void freeArrayStorage(void *P) noexcept { std::free(P); }

ArrayObj *ArrayObj::make() {
  auto *A = new ArrayObj();
  A->RefCount = 1;
  A->Kind = ValueKind::Array;
  return A;
}

HashObj *HashObj::make() {
  auto *H = new HashObj();
  H->RefCount = 1;
  H->Kind = ValueKind::Hash;
  return H;
}

HashObj::HashObj(const HashObj &O)
    : HeapObj{1, ValueKind::Hash}, Entries(O.Entries), Index(O.Index),
      Live(O.Live) {
  for (Entry &E : Entries)
    if (E.Key)
      ++E.Key->RefCount;
}

HashObj::~HashObj() {
  for (Entry &E : Entries)
    if (E.Key && --E.Key->RefCount == 0)
      std::free(E.Key);
}

int64_t HashObj::findEntry(std::string_view Key, uint64_t H) const {
  if (Index.empty())
    return -1;
  size_t Mask = Index.size() - 1;
  for (size_t I = H & Mask;; I = (I + 1) & Mask) {
    int32_t Slot = Index[I];
    if (Slot == -1)
      return -1;
    if (Slot >= 0) {
      StrObj *K = Entries[Slot].Key;
      if (K && K->HashCache == H && K->Len == Key.size() &&
          std::memcmp(K->data(), Key.data(), Key.size()) == 0)
        return Slot;
    }
  }
}

Value *HashObj::find(std::string_view Key, uint64_t H) {
  int64_t E = findEntry(Key, H);
  return E < 0 ? nullptr : &Entries[E].Val;
}

void HashObj::rebuild(size_t MinCapacity) {
  if (Live != Entries.size()) {
    size_t Out = 0;
    for (size_t I = 0; I < Entries.size(); ++I)
      if (Entries[I].Key) {
        if (Out != I) {
          Entries[Out].Key = Entries[I].Key;
          Entries[Out].Val = std::move(Entries[I].Val);
        }
        ++Out;
      }
    Entries.resize(Out);
  }
  size_t Cap = 8;
  while (Cap < 2 * MinCapacity)
    Cap *= 2;
  Index.assign(Cap, -1);
  size_t Mask = Cap - 1;
  for (size_t E = 0; E < Entries.size(); ++E) {
    size_t I = Entries[E].Key->hash() & Mask;
    while (Index[I] != -1)
      I = (I + 1) & Mask;
    Index[I] = static_cast<int32_t>(E);
  }
}

void HashObj::set(StrObj *Key, Value V) {
  uint64_t H = Key->hash();
  int64_t E = findEntry(Key->view(), H);
  if (E >= 0) {
    Entries[E].Val = std::move(V);
    return;
  }
  if ((Entries.size() + 1) * 2 > Index.size())
    rebuild(Live + 1 > Entries.size() / 2 ? Live + 1 : Entries.size());
  size_t Mask = Index.size() - 1;
  size_t I = H & Mask;
  while (Index[I] >= 0)
    I = (I + 1) & Mask;
  Index[I] = static_cast<int32_t>(Entries.size());
  ++Key->RefCount;
  Entries.push_back(Entry{Key, std::move(V)});
  ++Live;
}

Value HashObj::remove(std::string_view Key, uint64_t H) {
  int64_t E = findEntry(Key, H);
  if (E < 0)
    return Value();
  size_t Mask = Index.size() - 1;
  for (size_t I = H & Mask;; I = (I + 1) & Mask)
    if (Index[I] == E) {
      Index[I] = -2;
      break;
    }
  Entry &Ent = Entries[E];
  Value Out = std::move(Ent.Val);
  if (--Ent.Key->RefCount == 0)
    std::free(Ent.Key);
  Ent.Key = nullptr;
  --Live;
  if (Entries.size() > 16 && Entries.size() > 2 * size_t(Live))
    rebuild(Live);
  return Out;
}

void destroyHeapObj(HeapObj *O) {
  // Children whose count drops to zero are queued, not freed recursively.
  thread_local std::vector<HeapObj *> Work;
  thread_local bool Active = false;
  Work.push_back(O);
  if (Active)
    return;
  Active = true;
  auto Drop = [](Value &V) {
    if (V.isHeap() && --V.P->RefCount == 0)
      Work.push_back(V.P);
    V.K = ValueKind::Undef;
  };
  while (!Work.empty()) {
    HeapObj *X = Work.back();
    Work.pop_back();
    switch (X->Kind) {
    case ValueKind::Array: {
      auto *A = static_cast<ArrayObj *>(X);
      for (Value &V : A->Items)
        Drop(V);
      delete A;
      break;
    }
    case ValueKind::Hash: {
      auto *H = static_cast<HashObj *>(X);
      for (HashObj::Entry &E : H->Entries)
        Drop(E.Val);
      delete H;
      break;
    }
    default:
      std::free(X);
      break;
    }
  }
  Active = false;
}

Value Value::string(std::string_view S) { return adopt(StrObj::make(S)); }
Value Value::emptyArray() { return adopt(ArrayObj::make()); }
Value Value::emptyHash() { return adopt(HashObj::make()); }

ArrayObj *Value::mutableArray() {
  ArrayObj *A = array();
  if (A->RefCount != 1) {
    ArrayObj *Copy = ArrayObj::make();
    Copy->Items = A->Items;
    --A->RefCount;
    P = Copy;
    return Copy;
  }
  return A;
}

HashObj *Value::mutableHash() {
  HashObj *H = hash();
  if (H->RefCount != 1) {
    auto *Copy = new HashObj(*H);
    --H->RefCount;
    P = Copy;
    return Copy;
  }
  return H;
}

//===-- Conversions --------------------------------------------------------===//

bool truthy(const Value &V) {
  switch (V.K) {
  case ValueKind::Undef:
    return false;
  case ValueKind::Bool:
  case ValueKind::Int:
    return V.I != 0;
  case ValueKind::Float:
    return V.F != 0.0; // NaN != 0 is true: NaN is truthy
  case ValueKind::Status:
    return V.I == 0;
  case ValueKind::Str: {
    const StrObj *S = V.str();
    return S->Len != 0 && !(S->Len == 1 && S->data()[0] == '0');
  }
  case ValueKind::Array:
    return !V.array()->Items.empty();
  case ValueKind::Hash:
    return V.hash()->size() != 0;
  }
  return false;
}

static bool isSpace(char C) {
  return C == ' ' || C == '\t' || C == '\n' || C == '\r' || C == '\v' ||
         C == '\f';
}
static bool isDigit(char C) { return C >= '0' && C <= '9'; }

static bool equalsNoCase(std::string_view A, std::string_view Lower) {
  if (A.size() != Lower.size())
    return false;
  for (size_t I = 0; I < A.size(); ++I) {
    char C = A[I];
    if (C >= 'A' && C <= 'Z')
      C = C - 'A' + 'a';
    if (C != Lower[I])
      return false;
  }
  return true;
}

static double parseDouble(std::string_view Digits) {
  // strtod rounds correctly and saturates to inf/0 on overflow/underflow
  // (from_chars leaves the value unset there). The C locale is never changed.
  std::string Tmp(Digits);
  return std::strtod(Tmp.c_str(), nullptr);
}

Value parseNumber(std::string_view S) {
  while (!S.empty() && isSpace(S.front()))
    S.remove_prefix(1);
  while (!S.empty() && isSpace(S.back()))
    S.remove_suffix(1);
  if (S.empty())
    return Value::integer(0);
  bool Neg = false;
  std::string_view Body = S;
  if (Body[0] == '+' || Body[0] == '-') {
    Neg = Body[0] == '-';
    Body.remove_prefix(1);
  }
  if (Body.empty())
    return Value::integer(0);

  // [+-]?[0-9]+ : int, or float if it does not fit in 64 bits.
  size_t I = 0;
  while (I < Body.size() && isDigit(Body[I]))
    ++I;
  if (I == Body.size()) {
    uint64_t Mag = 0;
    bool Overflow = false;
    for (char C : Body) {
      unsigned D = C - '0';
      if (Mag > (UINT64_MAX - D) / 10) {
        Overflow = true;
        break;
      }
      Mag = Mag * 10 + D;
    }
    uint64_t Limit = Neg ? (uint64_t(1) << 63) : uint64_t(INT64_MAX);
    if (!Overflow && Mag <= Limit)
      return Value::integer(Neg ? int64_t(0 - Mag) : int64_t(Mag));
    double D = parseDouble(Body);
    return Value::floating(Neg ? -D : D);
  }

  // [+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?
  size_t J = I;
  bool Ok = true;
  if (I > 0) {
    if (J < Body.size() && Body[J] == '.') {
      ++J;
      while (J < Body.size() && isDigit(Body[J]))
        ++J;
    }
  } else if (Body[0] == '.' && Body.size() > 1 && isDigit(Body[1])) {
    J = 1;
    while (J < Body.size() && isDigit(Body[J]))
      ++J;
  } else {
    Ok = false;
  }
  if (Ok && J < Body.size() && (Body[J] == 'e' || Body[J] == 'E')) {
    size_t K = J + 1;
    if (K < Body.size() && (Body[K] == '+' || Body[K] == '-'))
      ++K;
    size_t ExpStart = K;
    while (K < Body.size() && isDigit(Body[K]))
      ++K;
    J = K > ExpStart ? K : std::string_view::npos;
  }
  if (Ok && J == Body.size()) {
    double D = parseDouble(Body);
    return Value::floating(Neg ? -D : D);
  }

  // [+-]?(inf|infinity|nan), any case.
  if (equalsNoCase(Body, "inf") || equalsNoCase(Body, "infinity"))
    return Value::floating(Neg ? -INFINITY : INFINITY);
  if (equalsNoCase(Body, "nan"))
    return Value::floating(std::numeric_limits<double>::quiet_NaN());
  return Value::integer(0);
}

Value toNum(const Value &V) {
  switch (V.K) {
  case ValueKind::Int:
  case ValueKind::Float:
    return V;
  case ValueKind::Undef:
    return Value::integer(0);
  case ValueKind::Bool:
  case ValueKind::Status:
    return Value::integer(V.I);
  case ValueKind::Array:
    return Value::integer(int64_t(V.array()->Items.size()));
  case ValueKind::Hash:
    return Value::integer(int64_t(V.hash()->size()));
  case ValueKind::Str:
    return parseNumber(V.strView());
  }
  return Value::integer(0);
}

int64_t floatToInt(double D) {
  if (D != D)
    return 0;
  if (D >= 9223372036854775808.0)
    return INT64_MAX;
  if (D < -9223372036854775808.0)
    return INT64_MIN;
  return static_cast<int64_t>(D);
}

int64_t toInt(const Value &V) {
  if (V.K == ValueKind::Int)
    return V.I;
  Value N = toNum(V);
  return N.isInt() ? N.I : floatToInt(N.F);
}

double toFloat(const Value &V) {
  if (V.K == ValueKind::Float)
    return V.F;
  Value N = toNum(V);
  return N.isInt() ? static_cast<double>(N.I) : N.F;
}

size_t formatInt(int64_t V, char *Buf) {
  auto R = std::to_chars(Buf, Buf + 21, V);
  return static_cast<size_t>(R.ptr - Buf);
}

size_t formatFloat(double D, char *Buf) {
  if (D != D) {
    std::memcpy(Buf, "nan", 3);
    return 3;
  }
  if (std::isinf(D)) {
    if (D < 0) {
      std::memcpy(Buf, "-inf", 4);
      return 4;
    }
    std::memcpy(Buf, "inf", 3);
    return 3;
  }
  if (D == 0) {
    if (std::signbit(D)) {
      std::memcpy(Buf, "-0", 2);
      return 2;
    }
    Buf[0] = '0';
    return 1;
  }
  // Shortest round-trip digits in scientific form: d[.ddd]e[+-]XX.
  char Sci[40];
  auto R = std::to_chars(Sci, Sci + sizeof(Sci), std::fabs(D),
                         std::chars_format::scientific);
  char Digits[24];
  int K = 0;
  const char *P = Sci;
  for (; P < R.ptr && *P != 'e'; ++P)
    if (*P != '.')
      Digits[K++] = *P;
  int Exp = 0;
  std::from_chars(P + 1 + (P[1] == '+'), R.ptr, Exp);
  int N = Exp + 1; // value = 0.d1..dk x 10^n

  size_t L = 0;
  if (D < 0)
    Buf[L++] = '-';
  if (K <= N && N <= 21) {
    std::memcpy(Buf + L, Digits, K);
    L += K;
    for (int I = 0; I < N - K; ++I)
      Buf[L++] = '0';
  } else if (0 < N && N <= 21) {
    std::memcpy(Buf + L, Digits, N);
    L += N;
    Buf[L++] = '.';
    std::memcpy(Buf + L, Digits + N, K - N);
    L += K - N;
  } else if (-6 < N && N <= 0) {
    Buf[L++] = '0';
    Buf[L++] = '.';
    for (int I = 0; I < -N; ++I)
      Buf[L++] = '0';
    std::memcpy(Buf + L, Digits, K);
    L += K;
  } else {
    Buf[L++] = Digits[0];
    if (K > 1) {
      Buf[L++] = '.';
      std::memcpy(Buf + L, Digits + 1, K - 1);
      L += K - 1;
    }
    Buf[L++] = 'e';
    Buf[L++] = N - 1 < 0 ? '-' : '+';
    L += formatInt(N - 1 < 0 ? 1 - N : N - 1, Buf + L);
  }
  return L;
}

static bool appendScalar(std::string &Out, const Value &V, size_t Limit) {
  char Buf[40];
  switch (V.K) {
  case ValueKind::Undef:
    break;
  case ValueKind::Bool:
    if (V.I)
      Out.push_back('1');
    break;
  case ValueKind::Int:
  case ValueKind::Status:
    Out.append(Buf, formatInt(V.I, Buf));
    break;
  case ValueKind::Float:
    Out.append(Buf, formatFloat(V.F, Buf));
    break;
  case ValueKind::Str:
    if (V.str()->Len > Limit || Out.size() > Limit - V.str()->Len)
      return false;
    Out.append(V.strView());
    break;
  case ValueKind::Array:
  case ValueKind::Hash:
    break; // handled by appendStr
  }
  return Out.size() <= Limit;
}

bool appendStr(std::string &Out, const Value &V, size_t Limit) {
  if (V.K != ValueKind::Array && V.K != ValueKind::Hash)
    return appendScalar(Out, V, Limit);
  // Nested containers are walked with an explicit stack, never recursively.
  struct Frame {
    const HeapObj *Obj;
    size_t Next;
    bool First;
  };
  std::vector<Frame> Stack;
  Stack.push_back({V.P, 0, true});
  while (!Stack.empty()) {
    Frame &F = Stack.back();
    const Value *Item = nullptr;
    if (F.Obj->Kind == ValueKind::Array) {
      const auto &Items = static_cast<const ArrayObj *>(F.Obj)->Items;
      if (F.Next == Items.size()) {
        Stack.pop_back();
        continue;
      }
      if (!F.First)
        Out.push_back(' ');
      Item = &Items[F.Next++];
    } else {
      const auto &Entries = static_cast<const HashObj *>(F.Obj)->Entries;
      while (F.Next < Entries.size() && !Entries[F.Next].Key)
        ++F.Next;
      if (F.Next == Entries.size()) {
        Stack.pop_back();
        continue;
      }
      if (!F.First)
        Out.push_back(' ');
      const HashObj::Entry &E = Entries[F.Next++];
      if (E.Key->Len > Limit || Out.size() > Limit - E.Key->Len)
        return false;
      Out.append(E.Key->view());
      Out.push_back('=');
      Item = &E.Val;
    }
    F.First = false;
    if (Item->K == ValueKind::Array || Item->K == ValueKind::Hash)
      Stack.push_back({Item->P, 0, true});
    else if (!appendScalar(Out, *Item, Limit))
      return false;
  }
  return Out.size() <= Limit;
}

std::string toStdString(const Value &V) {
  std::string S;
  appendStr(S, V, SIZE_MAX);
  return S;
}

} // namespace fusevm
