//===- Chunk.cpp - The op hash --------------------------------------------===//
//
// \file
// XXH64 and the canonical encoding the op hash is taken over. The encoding
// is documented in docs/op-hash.md; changing it changes every cache key, so
// it is pinned by unit tests with literal hash values.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Core/Chunk.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/SHA256.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fusevm {

static inline uint64_t rotl64(uint64_t X, int R) {
  return (X << R) | (X >> (64 - R));
}
static inline uint64_t read64(const uint8_t *P) {
  uint64_t V = 0;
  for (int I = 7; I >= 0; --I)
    V = (V << 8) | P[I];
  return V;
}
static inline uint32_t read32(const uint8_t *P) {
  return uint32_t(P[0]) | uint32_t(P[1]) << 8 | uint32_t(P[2]) << 16 |
         uint32_t(P[3]) << 24;
}

uint64_t xxh64(const void *Data, size_t Len, uint64_t Seed) {
  constexpr uint64_t P1 = 11400714785074694791ull, P2 = 14029467366897019727ull,
                     P3 = 1609587929392839161ull, P4 = 9650029242287828579ull,
                     P5 = 2870177450012600261ull;
  auto Round = [&](uint64_t Acc, uint64_t In) {
    Acc += In * P2;
    Acc = rotl64(Acc, 31);
    return Acc * P1;
  };
  auto Merge = [&](uint64_t Acc, uint64_t V) {
    Acc ^= Round(0, V);
    return Acc * P1 + P4;
  };
  const uint8_t *P = static_cast<const uint8_t *>(Data);
  const uint8_t *End = P + Len;
  uint64_t H;
  if (Len >= 32) {
    uint64_t V1 = Seed + P1 + P2, V2 = Seed + P2, V3 = Seed, V4 = Seed - P1;
    for (; P + 32 <= End; P += 32) {
      V1 = Round(V1, read64(P));
      V2 = Round(V2, read64(P + 8));
      V3 = Round(V3, read64(P + 16));
      V4 = Round(V4, read64(P + 24));
    }
    H = rotl64(V1, 1) + rotl64(V2, 7) + rotl64(V3, 12) + rotl64(V4, 18);
    H = Merge(H, V1);
    H = Merge(H, V2);
    H = Merge(H, V3);
    H = Merge(H, V4);
  } else {
    H = Seed + P5;
  }
  H += Len;
  for (; P + 8 <= End; P += 8) {
    H ^= Round(0, read64(P));
    H = rotl64(H, 27) * P1 + P4;
  }
  if (P + 4 <= End) {
    H ^= uint64_t(read32(P)) * P1;
    H = rotl64(H, 23) * P2 + P3;
    P += 4;
  }
  for (; P < End; ++P) {
    H ^= *P * P5;
    H = rotl64(H, 11) * P1;
  }
  H ^= H >> 33;
  H *= P2;
  H ^= H >> 29;
  H *= P3;
  H ^= H >> 32;
  return H;
}

namespace {
/// Little-endian byte sink for the canonical encoding.
struct Canon {
  std::string B;
  void u8(uint8_t V) { B.push_back(static_cast<char>(V)); }
  void u16(uint16_t V) { le(V, 2); }
  void u32(uint32_t V) { le(V, 4); }
  void u64(uint64_t V) { le(V, 8); }
  void le(uint64_t V, int N) {
    for (int I = 0; I < N; ++I)
      B.push_back(static_cast<char>(V >> (8 * I)));
  }
  void bytes(std::string_view S) {
    u32(static_cast<uint32_t>(S.size()));
    B.append(S);
  }
  void f64(double D) {
    uint64_t Bits;
    if (std::isnan(D))
      Bits = 0x7FF8000000000000ull; // every NaN behaves alike
    else
      std::memcpy(&Bits, &D, 8);
    u64(Bits);
  }
  void constant(const Value &V) {
    u8(static_cast<uint8_t>(V.K));
    switch (V.K) {
    case ValueKind::Int:
      u64(static_cast<uint64_t>(V.I));
      break;
    case ValueKind::Float:
      f64(V.F);
      break;
    case ValueKind::Bool:
      u8(V.I ? 1 : 0);
      break;
    case ValueKind::Str:
      bytes(V.strView());
      break;
    default:
      break;
    }
  }
};
} // namespace

uint64_t Chunk::opHash() const {
  Canon E;
  E.B.append("FVMH", 4);
  E.u32(FormatVersion);
  auto NameAt = [&](uint64_t I) -> std::string_view {
    return I < Names.size() ? std::string_view(Names[I]) : std::string_view();
  };
  E.u32(static_cast<uint32_t>(Ops.size()));
  for (const Instr &I : Ops) {
    E.u8(static_cast<uint8_t>(I.Op));
    for (unsigned N = 0; N < numOperands(I.Op); ++N) {
      uint64_t V = getOperand(I, N);
      OperandKind K = opInfo(I.Op).Operands[N];
      if (K == OperandKind::Const) {
        // Constants and names enter by value, so the pools' order and
        // unused entries do not change the hash.
        if (V < Constants.size())
          E.constant(Constants[V]);
        else
          E.u8(0xFF);
      } else if (K == OperandKind::Name || K == OperandKind::Func) {
        E.bytes(NameAt(V));
      } else if (K == OperandKind::F64) {
        E.f64(I.F64);
      } else {
        E.le(V, static_cast<int>(operandBytes(K)));
      }
    }
  }
  std::vector<FunctionDef> Fns = Functions;
  std::sort(Fns.begin(), Fns.end(), [](const FunctionDef &A, const FunctionDef &B) {
    return A.Entry < B.Entry;
  });
  E.u32(static_cast<uint32_t>(Fns.size()));
  for (const FunctionDef &F : Fns) {
    E.bytes(NameAt(F.Name));
    E.u8(F.Arity);
    E.u32(F.Entry);
    E.u32(F.End);
  }
  std::vector<ExtOpDecl> Ext = ExtOps;
  std::sort(Ext.begin(), Ext.end(),
            [](const ExtOpDecl &A, const ExtOpDecl &B) { return A.Id < B.Id; });
  E.u32(static_cast<uint32_t>(Ext.size()));
  for (const ExtOpDecl &X : Ext) {
    E.u16(X.Id);
    E.u16(X.Pops);
    E.u16(X.Pushes);
  }
  return xxh64(E.B.data(), E.B.size(), 0);
}

std::string Chunk::contentDigest() const {
  Canon E;
  E.B.append("FVMD", 4);
  E.u32(FormatVersion);
  E.u32(static_cast<uint32_t>(Ops.size()));
  for (const Instr &I : Ops) {
    E.u8(static_cast<uint8_t>(I.Op));
    for (unsigned N = 0; N < numOperands(I.Op); ++N)
      E.u64(getOperand(I, N));
  }
  E.u32(static_cast<uint32_t>(Constants.size()));
  for (const Value &V : Constants) {
    E.u8(static_cast<uint8_t>(V.K));
    if (V.K == ValueKind::Str)
      E.bytes(V.strView());
    else
      E.u64(static_cast<uint64_t>(V.I)); // the bits, NaNs as they are
  }
  E.u32(static_cast<uint32_t>(Names.size()));
  for (const std::string &N : Names)
    E.bytes(N);
  E.u32(static_cast<uint32_t>(Functions.size()));
  for (const FunctionDef &F : Functions) {
    E.u16(F.Name);
    E.u8(F.Arity);
    E.u32(F.Entry);
    E.u32(F.End);
  }
  E.u32(static_cast<uint32_t>(ExtOps.size()));
  for (const ExtOpDecl &X : ExtOps) {
    E.u16(X.Id);
    E.u16(X.Pops);
    E.u16(X.Pushes);
  }
  std::array<uint8_t, 32> H = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(E.B.data()), E.B.size()));
  return std::string(reinterpret_cast<const char *>(H.data()), H.size());
}

} // namespace fusevm
