//===- fusevm/Core/Value.h - fusevm values (isa.md §2) -----------*- C++ -*-===//
//
// \file
// A Value is 16 bytes: an 8-byte payload and a kind tag.
//
//   Kind     payload
//   Undef    unused
//   Bool     B (0/1)
//   Int      I (64-bit two's complement)
//   Float    F (binary64)
//   Status   I (the 32-bit code, sign-extended)
//   Str      P -> StrObj      (reference counted, copy on write)
//   Array    P -> ArrayObj    (reference counted, copy on write)
//   Hash     P -> HashObj     (reference counted, copy on write)
//
// Heap kinds are ordered last so that `K >= ValueKind::Str` tells whether a
// value owns a reference. Values are trivially relocatable: moving the 16
// bytes with memcpy is a valid move, which the interpreter's stacks rely on.
//
// Value semantics (isa.md §2): containers are shared between values and
// copied by the first write through a value that is not the only owner
// (see mutableArray / mutableHash).
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_VALUE_H
#define FUSEVM_CORE_VALUE_H

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fusevm {

enum class ValueKind : uint8_t { Undef, Bool, Int, Float, Status, Str, Array, Hash };

/// The name builtin `type` returns for a kind.
/// In the header so that code without the Core library (the JIT plugin)
/// can use it.
constexpr std::string_view kindName(ValueKind K) {
  switch (K) {
  case ValueKind::Undef:
    return "undef";
  case ValueKind::Bool:
    return "bool";
  case ValueKind::Int:
    return "int";
  case ValueKind::Float:
    return "float";
  case ValueKind::Status:
    return "status";
  case ValueKind::Str:
    return "str";
  case ValueKind::Array:
    return "array";
  case ValueKind::Hash:
    return "hash";
  }
  return "undef";
}


struct HeapObj {
  uint32_t RefCount;
  ValueKind Kind;
};

struct StrObj;
struct ArrayObj;
struct HashObj;

/// Frees a heap object whose count reached zero. Iterative, so that a
/// million nested arrays do not overflow the native stack.
void destroyHeapObj(HeapObj *O);

class Value {
public:
  union {
    int64_t I;
    double F;
    HeapObj *P;
  };
  ValueKind K;

  Value() : I(0), K(ValueKind::Undef) {}
  Value(const Value &O) : I(O.I), K(O.K) { retain(); }
  Value(Value &&O) noexcept : I(O.I), K(O.K) { O.K = ValueKind::Undef; }
  Value &operator=(const Value &O) {
    if (O.isHeap())
      ++O.P->RefCount;
    release();
    I = O.I;
    K = O.K;
    return *this;
  }
  Value &operator=(Value &&O) noexcept {
    if (this != &O) {
      release();
      I = O.I;
      K = O.K;
      O.K = ValueKind::Undef;
    }
    return *this;
  }
  ~Value() { release(); }

  static Value undef() { return Value(); }
  static Value boolean(bool B) { return raw(ValueKind::Bool, B ? 1 : 0); }
  static Value integer(int64_t V) { return raw(ValueKind::Int, V); }
  static Value status(int32_t Code) { return raw(ValueKind::Status, Code); }
  static Value floating(double D) {
    Value V;
    V.F = D;
    V.K = ValueKind::Float;
    return V;
  }
  /// Takes ownership of one reference to \p O.
  static Value adopt(HeapObj *O) {
    Value V;
    V.P = O;
    V.K = O->Kind;
    return V;
  }
  static Value string(std::string_view S);
  static Value emptyArray();
  static Value emptyHash();

  bool isHeap() const { return K >= ValueKind::Str; }
  bool isUndef() const { return K == ValueKind::Undef; }
  bool isInt() const { return K == ValueKind::Int; }
  bool isFloat() const { return K == ValueKind::Float; }
  bool isStr() const { return K == ValueKind::Str; }
  bool isArray() const { return K == ValueKind::Array; }
  bool isHash() const { return K == ValueKind::Hash; }

  StrObj *str() const { return reinterpret_cast<StrObj *>(P); }
  ArrayObj *array() const { return reinterpret_cast<ArrayObj *>(P); }
  HashObj *hash() const { return reinterpret_cast<HashObj *>(P); }
  std::string_view strView() const;

  /// The array of this (Array) value, unshared first (copy on write).
  ArrayObj *mutableArray();
  /// The hash of this (Hash) value, unshared first (copy on write).
  HashObj *mutableHash();

  void retain() const {
    if (isHeap())
      ++P->RefCount;
  }
  void release() {
    if (isHeap() && --P->RefCount == 0)
      destroyHeapObj(P);
  }

private:
  static Value raw(ValueKind K, int64_t Bits) {
    Value V;
    V.I = Bits;
    V.K = K;
    return V;
  }
};
static_assert(sizeof(Value) == 16, "Value must stay 16 bytes");

/// An immutable byte string. Len <= 2^30 (isa.md §5); Cap leaves room for
/// appending in place when the string has a single owner.
struct StrObj : HeapObj {
  uint32_t Len;
  uint32_t Cap;
  uint64_t HashCache; ///< 0 until computed
  char *data() { return reinterpret_cast<char *>(this + 1); }
  const char *data() const { return reinterpret_cast<const char *>(this + 1); }
  std::string_view view() const { return {data(), Len}; }
  uint64_t hash();

  /// A new string of \p Len bytes (contents uninitialised), refcount 1.
  static StrObj *alloc(size_t Len, size_t Cap = 0);
  static StrObj *make(std::string_view S);
};

/// Storage for array elements: buffers of 4 MiB and more ask the kernel
/// for transparent huge pages, so growing a large array costs a few page
/// faults instead of one per 4 KiB.
void *allocArrayStorage(size_t Bytes);
void freeArrayStorage(void *P) noexcept;
template <typename T> struct ArrayAllocator {
  using value_type = T;
  ArrayAllocator() = default;
  template <typename U> ArrayAllocator(const ArrayAllocator<U> &) {}
  T *allocate(size_t N) {
    return static_cast<T *>(allocArrayStorage(N * sizeof(T)));
  }
  void deallocate(T *P, size_t) noexcept { freeArrayStorage(P); }
  template <typename U> bool operator==(const ArrayAllocator<U> &) const {
    return true;
  }
};
using ValueVector = std::vector<Value, ArrayAllocator<Value>>;

struct ArrayObj : HeapObj {
  ValueVector Items;
  static ArrayObj *make();
};

/// Insertion-ordered string -> Value map. Entries keep insertion order with
/// holes for deleted keys (Key == nullptr); Index is an open-addressing
/// table of entry numbers. Holes are compacted when they outnumber entries.
struct HashObj : HeapObj {
  struct Entry {
    StrObj *Key; ///< owned reference; nullptr for a deleted entry
    Value Val;
  };
  std::vector<Entry> Entries;
  std::vector<int32_t> Index; ///< -1 empty, -2 deleted, else entry number
  uint32_t Live = 0;

  static HashObj *make();
  HashObj() = default;
  HashObj(const HashObj &O);
  ~HashObj();

  Value *find(std::string_view Key, uint64_t H);
  /// Inserts or updates; an update keeps the entry's position.
  /// Takes a reference to \p Key only when inserting.
  void set(StrObj *Key, Value V);
  /// Removes \p Key; returns its value or undef.
  Value remove(std::string_view Key, uint64_t H);
  uint32_t size() const { return Live; }

  template <typename Fn> void forEach(Fn F) const {
    for (const Entry &E : Entries)
      if (E.Key)
        F(*E.Key, E.Val);
  }

private:
  int64_t findEntry(std::string_view Key, uint64_t H) const;
  void rebuild(size_t MinCapacity);
};

uint64_t hashBytes(const char *Data, size_t Len);

inline std::string_view Value::strView() const { return str()->view(); }

//===-- Conversions (isa.md §2.1) ------------------------------------------===//

bool truthy(const Value &V);
/// num(v): an Int or Float value.
Value toNum(const Value &V);
int64_t toInt(const Value &V);
double toFloat(const Value &V);
/// Appends to_str(v) to \p Out; false (Out partly written) when Out would
/// grow past \p Limit bytes.
bool appendStr(std::string &Out, const Value &V, size_t Limit);
std::string toStdString(const Value &V);
/// num() of a byte string.
Value parseNumber(std::string_view S);
/// Writes the isa.md §2.1 text of \p D into \p Buf (at least 32 bytes);
/// returns the length.
size_t formatFloat(double D, char *Buf);
/// Writes the decimal text of \p V into \p Buf (at least 21 bytes).
size_t formatInt(int64_t V, char *Buf);
/// Saturating, NaN -> 0 conversion of a double to int64 (to_int).
int64_t floatToInt(double D);

} // namespace fusevm

#endif // FUSEVM_CORE_VALUE_H
