//===- Runtime.cpp - Op semantics shared by every tier --------------------===//
//
// \file
// isa.md §3 and §4, one function per op family. Integer arithmetic wraps
// (done in uint64_t, where C++ defines it); containers are copied on the
// first write through a shared reference.
//
//===----------------------------------------------------------------------===//

#include "fusevm/VM/Runtime.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

namespace fusevm {

const char *rtErrorMessage(RtError E) {
  switch (E) {
  case RtError::None:
    return "no error";
  case RtError::DivisionByZero:
    return "division by zero";
  case RtError::ModuloByZero:
    return "modulo by zero";
  case RtError::NotAnArray:
    return "not an array";
  case RtError::NotAHash:
    return "not a hash";
  case RtError::IndexOutOfRange:
    return "index out of range";
  case RtError::RangeStepZero:
    return "range step is zero";
  case RtError::CallDepth:
    return "call depth limit exceeded";
  case RtError::StringLimit:
    return "string length limit exceeded";
  case RtError::ArrayLimit:
    return "array length limit exceeded";
  case RtError::BudgetExhausted:
    return "instruction budget exhausted";
  case RtError::Host:
    return "host error";
  }
  return "error";
}

namespace rt {

static inline int64_t wrap(uint64_t V) { return static_cast<int64_t>(V); }

static int64_t intPow(int64_t X, int64_t Y) {
  uint64_t Result = 1, Base = static_cast<uint64_t>(X);
  uint64_t E = static_cast<uint64_t>(Y);
  while (E) {
    if (E & 1)
      Result *= Base;
    Base *= Base;
    E >>= 1;
  }
  return wrap(Result);
}

RtError arith(Opcode Op, const Value &A, const Value &B, Value &Out) {
  Value X = toNum(A), Y = toNum(B);
  if (X.isInt() && Y.isInt()) {
    int64_t L = X.I, R = Y.I;
    switch (Op) {
    case Opcode::Add:
      Out = Value::integer(wrap(uint64_t(L) + uint64_t(R)));
      return RtError::None;
    case Opcode::Sub:
      Out = Value::integer(wrap(uint64_t(L) - uint64_t(R)));
      return RtError::None;
    case Opcode::Mul:
      Out = Value::integer(wrap(uint64_t(L) * uint64_t(R)));
      return RtError::None;
    case Opcode::Div:
      if (R == 0)
        return RtError::DivisionByZero;
      Out = Value::integer(R == -1 ? wrap(0 - uint64_t(L)) : L / R);
      return RtError::None;
    case Opcode::Mod:
      if (R == 0)
        return RtError::ModuloByZero;
      Out = Value::integer(R == -1 ? 0 : L % R);
      return RtError::None;
    case Opcode::Pow:
      if (R >= 0)
        Out = Value::integer(intPow(L, R));
      else
        Out = Value::floating(std::pow(double(L), double(R)));
      return RtError::None;
    default:
      break;
    }
  }
  double L = X.isInt() ? double(X.I) : X.F;
  double R = Y.isInt() ? double(Y.I) : Y.F;
  double D = 0;
  switch (Op) {
  case Opcode::Add:
    D = L + R;
    break;
  case Opcode::Sub:
    D = L - R;
    break;
  case Opcode::Mul:
    D = L * R;
    break;
  case Opcode::Div:
    D = L / R;
    break;
  case Opcode::Mod:
    D = std::fmod(L, R);
    break;
  case Opcode::Pow:
    D = std::pow(L, R);
    break;
  default:
    break;
  }
  Out = Value::floating(D);
  return RtError::None;
}

Value unary(Opcode Op, const Value &A) {
  Value X = toNum(A);
  if (X.isInt()) {
    uint64_t V = static_cast<uint64_t>(X.I);
    switch (Op) {
    case Opcode::Negate:
      return Value::integer(wrap(0 - V));
    case Opcode::Inc:
      return Value::integer(wrap(V + 1));
    default:
      return Value::integer(wrap(V - 1));
    }
  }
  switch (Op) {
  case Opcode::Negate:
    return Value::floating(-X.F);
  case Opcode::Inc:
    return Value::floating(X.F + 1.0);
  default:
    return Value::floating(X.F - 1.0);
  }
}

bool numCompare(Opcode Op, const Value &A, const Value &B) {
  Value X = toNum(A), Y = toNum(B);
  if (X.isInt() && Y.isInt()) {
    int64_t L = X.I, R = Y.I;
    switch (Op) {
    case Opcode::NumEq: return L == R;
    case Opcode::NumNe: return L != R;
    case Opcode::NumLt: return L < R;
    case Opcode::NumGt: return L > R;
    case Opcode::NumLe: return L <= R;
    default: return L >= R;
    }
  }
  double L = X.isInt() ? double(X.I) : X.F;
  double R = Y.isInt() ? double(Y.I) : Y.F;
  switch (Op) {
  case Opcode::NumEq: return L == R;
  case Opcode::NumNe: return L != R;
  case Opcode::NumLt: return L < R;
  case Opcode::NumGt: return L > R;
  case Opcode::NumLe: return L <= R;
  default: return L >= R;
  }
}

int64_t spaceship(const Value &A, const Value &B) {
  Value X = toNum(A), Y = toNum(B);
  if (X.isInt() && Y.isInt())
    return X.I < Y.I ? -1 : X.I > Y.I ? 1 : 0;
  double L = X.isInt() ? double(X.I) : X.F;
  double R = Y.isInt() ? double(Y.I) : Y.F;
  return L < R ? -1 : L > R ? 1 : 0;
}

int64_t bitop(Opcode Op, const Value &A, const Value &B) {
  int64_t L = toInt(A), R = toInt(B);
  switch (Op) {
  case Opcode::BitAnd:
    return L & R;
  case Opcode::BitOr:
    return L | R;
  case Opcode::BitXor:
    return L ^ R;
  case Opcode::Shl:
    return wrap(uint64_t(L) << (R & 63));
  default:
    return L >> (R & 63);
  }
}

//===-- Strings ------------------------------------------------------------===//

RtError toStrValue(const Value &V, Value &Out, const RtLimits &L) {
  if (V.isStr()) {
    Out = V;
    return RtError::None;
  }
  std::string S;
  if (!appendStr(S, V, L.MaxStr))
    return RtError::StringLimit;
  Out = Value::string(S);
  return RtError::None;
}

namespace {
/// to_str of a value as a view: no copy for strings.
struct StrArg {
  std::string Tmp;
  std::string_view V;
  bool init(const Value &X, const RtLimits &L) {
    if (X.isStr()) {
      V = X.strView();
      return true;
    }
    if (!appendStr(Tmp, X, L.MaxStr))
      return false;
    V = Tmp;
    return true;
  }
};
} // namespace

RtError strCompare(Opcode Op, const Value &A, const Value &B, Value &Out,
                   const RtLimits &L) {
  // Equality of two strings needs no ordering: different lengths differ
  // (a frontend's `type(x) == "undef"` is mostly that), the same object is
  // equal.
  if ((Op == Opcode::StrEq || Op == Opcode::StrNe) && A.isStr() && B.isStr()) {
    const StrObj *X = A.str(), *Y = B.str();
    bool Eq = X == Y || (X->Len == Y->Len &&
                         std::memcmp(X->data(), Y->data(), X->Len) == 0);
    Out = Value::boolean(Eq == (Op == Opcode::StrEq));
    return RtError::None;
  }
  StrArg X, Y;
  if (!X.init(A, L) || !Y.init(B, L))
    return RtError::StringLimit;
  int C = X.V.compare(Y.V); // unsigned bytes: char_traits<char>::compare
  switch (Op) {
  case Opcode::StrEq: Out = Value::boolean(C == 0); break;
  case Opcode::StrNe: Out = Value::boolean(C != 0); break;
  case Opcode::StrLt: Out = Value::boolean(C < 0); break;
  case Opcode::StrGt: Out = Value::boolean(C > 0); break;
  case Opcode::StrLe: Out = Value::boolean(C <= 0); break;
  case Opcode::StrGe: Out = Value::boolean(C >= 0); break;
  default: Out = Value::integer(C < 0 ? -1 : C > 0 ? 1 : 0); break;
  }
  return RtError::None;
}

RtError concat(Value &A, const Value &B, const RtLimits &L) {
  StrArg Y;
  if (!Y.init(B, L))
    return RtError::StringLimit;
  if (A.isStr() && A.str()->RefCount == 1) {
    StrObj *S = A.str();
    uint64_t Need = uint64_t(S->Len) + Y.V.size();
    if (Need > L.MaxStr)
      return RtError::StringLimit;
    if (Need > S->Cap) {
      // Grow geometrically: a uniquely owned string is appended in place.
      uint64_t Cap = std::max<uint64_t>(Need, uint64_t(S->Cap) * 2);
      Cap = std::min<uint64_t>(Cap, L.MaxStr);
      StrObj *N = StrObj::alloc(S->Len, Cap);
      std::memcpy(N->data(), S->data(), S->Len);
      A = Value::adopt(N);
      S = N;
    }
    std::memcpy(S->data() + S->Len, Y.V.data(), Y.V.size());
    S->Len = static_cast<uint32_t>(Need);
    S->HashCache = 0;
    return RtError::None;
  }
  StrArg X;
  if (!X.init(A, L))
    return RtError::StringLimit;
  uint64_t Need = uint64_t(X.V.size()) + Y.V.size();
  if (Need > L.MaxStr)
    return RtError::StringLimit;
  StrObj *N = StrObj::alloc(Need);
  std::memcpy(N->data(), X.V.data(), X.V.size());
  std::memcpy(N->data() + X.V.size(), Y.V.data(), Y.V.size());
  A = Value::adopt(N);
  return RtError::None;
}

RtError concatRepeat(Value &S, const Value &Piece, uint64_t N,
                     const RtLimits &L) {
  StrArg P;
  if (!P.init(Piece, L))
    return RtError::StringLimit;
  StrArg Base;
  if (!Base.init(S, L))
    return RtError::StringLimit;
  uint64_t PLen = P.V.size(), BLen = Base.V.size();
  if (PLen && N > (L.MaxStr - std::min<uint64_t>(BLen, L.MaxStr)) / PLen)
    return RtError::StringLimit;
  uint64_t Total = BLen + PLen * (PLen ? N : 0);
  StrObj *R = StrObj::alloc(Total);
  std::memcpy(R->data(), Base.V.data(), BLen);
  for (uint64_t At = BLen; At < Total; At += PLen)
    std::memcpy(R->data() + At, P.V.data(), PLen);
  S = Value::adopt(R);
  return RtError::None;
}

RtError stringRepeat(const Value &A, const Value &Count, Value &Out,
                     const RtLimits &L) {
  StrArg X;
  if (!X.init(A, L))
    return RtError::StringLimit;
  int64_t N = std::max<int64_t>(toInt(Count), 0);
  uint64_t Len = X.V.size();
  if (Len && uint64_t(N) > L.MaxStr / Len)
    return RtError::StringLimit;
  uint64_t Total = Len * uint64_t(N);
  StrObj *S = StrObj::alloc(Total);
  for (uint64_t I = 0; I < Total; I += Len)
    std::memcpy(S->data() + I, X.V.data(), Len);
  Out = Value::adopt(S);
  return RtError::None;
}

RtError stringLen(const Value &A, Value &Out, const RtLimits &L) {
  switch (A.K) {
  case ValueKind::Str:
    Out = Value::integer(A.str()->Len);
    return RtError::None;
  case ValueKind::Array:
    Out = Value::integer(int64_t(A.array()->Items.size()));
    return RtError::None;
  case ValueKind::Hash:
    Out = Value::integer(A.hash()->size());
    return RtError::None;
  default: {
    std::string S;
    if (!appendStr(S, A, L.MaxStr))
      return RtError::StringLimit;
    Out = Value::integer(int64_t(S.size()));
    return RtError::None;
  }
  }
}

//===-- Arrays -------------------------------------------------------------===//

Value arrayGet(const Value &Container, const Value &Index) {
  if (!Container.isArray())
    return Value();
  int64_t I = toInt(Index);
  const auto &Items = Container.array()->Items;
  if (I < 0 || uint64_t(I) >= Items.size())
    return Value();
  return Items[I];
}

/// The array in \p Container for writing: undef becomes an empty array.
static RtError writableArray(Value &Container, ArrayObj *&Out) {
  if (Container.isUndef())
    Container = Value::emptyArray();
  else if (!Container.isArray())
    return RtError::NotAnArray;
  Out = Container.mutableArray();
  return RtError::None;
}

RtError arraySet(Value &Container, const Value &Index, Value &&V,
                 const RtLimits &L) {
  int64_t I = toInt(Index);
  if (!Container.isUndef() && !Container.isArray())
    return RtError::NotAnArray;
  if (I < 0)
    return RtError::IndexOutOfRange;
  if (uint64_t(I) >= L.MaxArr)
    return RtError::ArrayLimit;
  ArrayObj *A;
  if (RtError E = writableArray(Container, A); E != RtError::None)
    return E;
  if (uint64_t(I) >= A->Items.size())
    A->Items.resize(size_t(I) + 1);
  A->Items[I] = std::move(V);
  return RtError::None;
}

RtError arrayPush(Value &Container, Value &&V, const RtLimits &L) {
  ArrayObj *A;
  if (RtError E = writableArray(Container, A); E != RtError::None)
    return E;
  if (A->Items.size() >= L.MaxArr)
    return RtError::ArrayLimit;
  A->Items.push_back(std::move(V));
  return RtError::None;
}

RtError arrayPop(Value &Container, Value &Out) {
  ArrayObj *A;
  if (RtError E = writableArray(Container, A); E != RtError::None)
    return E;
  if (A->Items.empty()) {
    Out = Value();
    return RtError::None;
  }
  Out = std::move(A->Items.back());
  A->Items.pop_back();
  return RtError::None;
}

RtError arrayShift(Value &Container, Value &Out) {
  ArrayObj *A;
  if (RtError E = writableArray(Container, A); E != RtError::None)
    return E;
  if (A->Items.empty()) {
    Out = Value();
    return RtError::None;
  }
  Out = std::move(A->Items.front());
  A->Items.erase(A->Items.begin());
  return RtError::None;
}

int64_t arrayLen(const Value &Container) {
  return Container.isArray() ? int64_t(Container.array()->Items.size()) : 0;
}

Value asArray(const Value &Container) {
  return Container.isArray() ? Container : Value::emptyArray();
}

//===-- Hashes -------------------------------------------------------------===//

namespace {
/// A hash key: the string itself when the key is a Str, else to_str.
struct Key {
  Value Owned;
  StrObj *S = nullptr;
  bool init(const Value &K, const RtLimits &L) {
    if (K.isStr()) {
      S = K.str();
      return true;
    }
    if (toStrValue(K, Owned, L) != RtError::None)
      return false;
    S = Owned.str();
    return true;
  }
};
} // namespace

RtError hashGet(const Value &Container, const Value &K, Value &Out,
                const RtLimits &L) {
  Key Ky;
  if (!Ky.init(K, L))
    return RtError::StringLimit;
  if (!Container.isHash()) {
    Out = Value();
    return RtError::None;
  }
  Value *V = Container.hash()->find(Ky.S->view(), Ky.S->hash());
  Out = V ? *V : Value();
  return RtError::None;
}

RtError hashSet(Value &Container, const Value &K, Value &&V,
                const RtLimits &L) {
  if (!Container.isUndef() && !Container.isHash())
    return RtError::NotAHash;
  Key Ky;
  if (!Ky.init(K, L))
    return RtError::StringLimit;
  if (Container.isUndef())
    Container = Value::emptyHash();
  HashObj *H = Container.mutableHash();
  if (H->Entries.size() >= L.MaxArr && !H->find(Ky.S->view(), Ky.S->hash()))
    return RtError::ArrayLimit;
  H->set(Ky.S, std::move(V));
  return RtError::None;
}

RtError hashDelete(Value &Container, const Value &K, Value &Out,
                   const RtLimits &L) {
  if (!Container.isUndef() && !Container.isHash())
    return RtError::NotAHash;
  Key Ky;
  if (!Ky.init(K, L))
    return RtError::StringLimit;
  if (Container.isUndef())
    Container = Value::emptyHash();
  HashObj *H = Container.hash();
  if (!H->find(Ky.S->view(), Ky.S->hash())) {
    Out = Value();
    return RtError::None;
  }
  Out = Container.mutableHash()->remove(Ky.S->view(), Ky.S->hash());
  return RtError::None;
}

RtError hashExists(const Value &Container, const Value &K, Value &Out,
                   const RtLimits &L) {
  Key Ky;
  if (!Ky.init(K, L))
    return RtError::StringLimit;
  Out = Value::boolean(Container.isHash() &&
                       Container.hash()->find(Ky.S->view(), Ky.S->hash()));
  return RtError::None;
}

Value hashKeys(const Value &Container) {
  Value Out = Value::emptyArray();
  if (!Container.isHash())
    return Out;
  auto &Items = Out.array()->Items;
  Items.reserve(Container.hash()->size());
  Container.hash()->forEach([&](StrObj &K, const Value &) {
    ++K.RefCount;
    Items.push_back(Value::adopt(&K));
  });
  return Out;
}

Value hashValues(const Value &Container) {
  Value Out = Value::emptyArray();
  if (!Container.isHash())
    return Out;
  auto &Items = Out.array()->Items;
  Items.reserve(Container.hash()->size());
  Container.hash()->forEach(
      [&](StrObj &, const Value &V) { Items.push_back(V); });
  return Out;
}

Value asHash(const Value &Container) {
  return Container.isHash() ? Container : Value::emptyHash();
}

RtError makeHash(Value *Items, unsigned Count, Value &Out, const RtLimits &L) {
  Value H = Value::emptyHash();
  for (unsigned I = 0; I < Count; ++I) {
    Key Ky;
    if (!Ky.init(Items[2 * I], L))
      return RtError::StringLimit;
    H.hash()->set(Ky.S, std::move(Items[2 * I + 1]));
  }
  Out = std::move(H);
  return RtError::None;
}

//===-- Ranges -------------------------------------------------------------===//

RtError range(const Value &From, const Value &To, const Value *Step,
              Value &Out, const RtLimits &L) {
  int64_t F = toInt(From), T = toInt(To), S = Step ? toInt(*Step) : 1;
  if (S == 0)
    return RtError::RangeStepZero;
  // Steps are counted in unsigned arithmetic: the distance between two
  // int64 values always fits, and no element is ever computed by wrapping.
  uint64_t Count = 0;
  if ((S > 0 && F <= T) || (S < 0 && F >= T)) {
    uint64_t Diff = S > 0 ? uint64_t(T) - uint64_t(F) : uint64_t(F) - uint64_t(T);
    uint64_t Mag = S > 0 ? uint64_t(S) : 0 - uint64_t(S);
    uint64_t Steps = Diff / Mag;
    if (Steps >= L.MaxArr)
      return RtError::ArrayLimit;
    Count = Steps + 1;
  }
  Value A = Value::emptyArray();
  auto &Items = A.array()->Items;
  Items.resize(Count);
  uint64_t V = uint64_t(F);
  for (uint64_t I = 0; I < Count; ++I, V += uint64_t(S)) {
    Items[I].I = wrap(V);
    Items[I].K = ValueKind::Int;
  }
  Out = std::move(A);
  return RtError::None;
}

//===-- Builtins (isa.md §4) -----------------------------------------------===//

static Value mathResult(double D) { return Value::floating(D); }

RtError callBuiltin(uint16_t Id, const Value *Args, Value &Out,
                    const RtLimits &L) {
  auto F = [&](unsigned I) { return toFloat(Args[I]); };
  switch (Id) {
  case 0: Out = mathResult(std::sqrt(F(0))); return RtError::None;
  case 1: Out = mathResult(std::sin(F(0))); return RtError::None;
  case 2: Out = mathResult(std::cos(F(0))); return RtError::None;
  case 3: Out = mathResult(std::tan(F(0))); return RtError::None;
  case 4: Out = mathResult(std::atan2(F(0), F(1))); return RtError::None;
  case 5: Out = mathResult(std::exp(F(0))); return RtError::None;
  case 6: Out = mathResult(std::log(F(0))); return RtError::None;
  case 7: case 8: case 9: case 10: {
    Value N = toNum(Args[0]);
    if (N.isInt()) {
      Out = N;
      return RtError::None;
    }
    double D = N.F;
    D = Id == 7 ? std::floor(D) : Id == 8 ? std::ceil(D)
        : Id == 9 ? std::round(D) : std::trunc(D);
    Out = Value::floating(D);
    return RtError::None;
  }
  case 11: {
    Value N = toNum(Args[0]);
    if (N.isInt())
      Out = Value::integer(N.I < 0 ? wrap(0 - uint64_t(N.I)) : N.I);
    else
      Out = Value::floating(std::fabs(N.F));
    return RtError::None;
  }
  case 12: case 13: {
    Value A = toNum(Args[0]), B = toNum(Args[1]);
    if (A.isInt() && B.isInt()) {
      bool PickB = Id == 12 ? B.I < A.I : A.I < B.I;
      Out = PickB ? B : A;
      return RtError::None;
    }
    double X = A.isInt() ? double(A.I) : A.F;
    double Y = B.isInt() ? double(B.I) : B.F;
    bool PickB = Id == 12 ? Y < X : X < Y;
    Out = Value::floating(PickB ? Y : X);
    return RtError::None;
  }
  case 14: Out = Value::integer(toInt(Args[0])); return RtError::None;
  case 15: Out = Value::floating(toFloat(Args[0])); return RtError::None;
  case 16: return toStrValue(Args[0], Out, L);
  case 17: {
    StrArg S;
    if (!S.init(Args[0], L))
      return RtError::StringLimit;
    int64_t Start = toInt(Args[1]), Len = toInt(Args[2]);
    if (Start < 0 || Len < 0 || uint64_t(Start) >= S.V.size()) {
      Out = Value::string("");
      return RtError::None;
    }
    uint64_t Avail = S.V.size() - uint64_t(Start);
    Out = Value::string(S.V.substr(size_t(Start),
                                   size_t(std::min<uint64_t>(Avail, Len))));
    return RtError::None;
  }
  case 18: {
    StrArg H, N;
    if (!H.init(Args[0], L) || !N.init(Args[1], L))
      return RtError::StringLimit;
    size_t P = H.V.find(N.V);
    Out = Value::integer(P == std::string_view::npos ? -1 : int64_t(P));
    return RtError::None;
  }
  case 19: {
    StrArg S;
    if (!S.init(Args[0], L))
      return RtError::StringLimit;
    Out = Value::integer(S.V.empty() ? -1
                                     : static_cast<unsigned char>(S.V[0]));
    return RtError::None;
  }
  case 20: {
    char C = static_cast<char>(toInt(Args[0]) & 255);
    Out = Value::string(std::string_view(&C, 1));
    return RtError::None;
  }
  case 21: case 22: {
    StrArg S;
    if (!S.init(Args[0], L))
      return RtError::StringLimit;
    StrObj *R = StrObj::alloc(S.V.size());
    for (size_t I = 0; I < S.V.size(); ++I) {
      char C = S.V[I];
      if (Id == 21 && C >= 'a' && C <= 'z')
        C = C - 'a' + 'A';
      else if (Id == 22 && C >= 'A' && C <= 'Z')
        C = C - 'A' + 'a';
      R->data()[I] = C;
    }
    Out = Value::adopt(R);
    return RtError::None;
  }
  case 23: {
    timespec Ts;
    clock_gettime(CLOCK_MONOTONIC, &Ts);
    Out = Value::floating(double(Ts.tv_sec) + double(Ts.tv_nsec) * 1e-9);
    return RtError::None;
  }
  case 24: {
    // One string per kind name and thread, shared: a frontend's nil and
    // type tests call type() in inner loops. Each holds one reference for
    // the thread's life (plain pointers: no thread-exit destructor, which
    // could run after the heap's own thread-local state is gone).
    thread_local StrObj *Names[size_t(ValueKind::Hash) + 1] = {};
    StrObj *&N = Names[size_t(Args[0].K)];
    if (!N)
      N = StrObj::make(kindName(Args[0].K));
    ++N->RefCount;
    Out = Value::adopt(N);
    return RtError::None;
  }
  case 25: {
    StrArg S, Sep;
    if (!S.init(Args[0], L) || !Sep.init(Args[1], L))
      return RtError::StringLimit;
    Value A = Value::emptyArray();
    auto &Items = A.array()->Items;
    if (Sep.V.empty()) {
      if (S.V.size() > L.MaxArr)
        return RtError::ArrayLimit;
      Items.reserve(S.V.size());
      for (char C : S.V)
        Items.push_back(Value::string(std::string_view(&C, 1)));
    } else {
      size_t Pos = 0;
      for (;;) {
        if (Items.size() >= L.MaxArr)
          return RtError::ArrayLimit;
        size_t Next = S.V.find(Sep.V, Pos);
        if (Next == std::string_view::npos) {
          Items.push_back(Value::string(S.V.substr(Pos)));
          break;
        }
        Items.push_back(Value::string(S.V.substr(Pos, Next - Pos)));
        Pos = Next + Sep.V.size();
      }
    }
    Out = std::move(A);
    return RtError::None;
  }
  case 26: {
    if (!Args[0].isArray())
      return toStrValue(Args[0], Out, L);
    StrArg Sep;
    if (!Sep.init(Args[1], L))
      return RtError::StringLimit;
    std::string S;
    bool First = true;
    for (const Value &V : Args[0].array()->Items) {
      if (!First) {
        if (S.size() + Sep.V.size() > L.MaxStr)
          return RtError::StringLimit;
        S.append(Sep.V);
      }
      First = false;
      if (!appendStr(S, V, L.MaxStr))
        return RtError::StringLimit;
    }
    Out = Value::string(S);
    return RtError::None;
  }
  default:
    Out = Value();
    return RtError::None;
  }
}

} // namespace rt
} // namespace fusevm
