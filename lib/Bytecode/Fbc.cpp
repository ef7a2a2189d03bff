//===- Fbc.cpp - .fbc reader and writer (cereal) --------------------------===//
//
// \file
// Header (32 bytes, little endian, written by hand so that it can be checked
// before anything else is trusted), then a payload written with cereal's
// portable binary archive. See docs/fbc-format.md.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Bytecode/Fbc.h"

#include "fusevm/Core/Diag.h"

#include <cereal/archives/portable_binary.hpp>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace fusevm {

bool hasFbcMagic(std::string_view Bytes) {
  return Bytes.size() >= sizeof(FbcMagic) &&
         std::memcmp(Bytes.data(), FbcMagic, sizeof(FbcMagic)) == 0;
}

namespace {

using OutArchive = cereal::PortableBinaryOutputArchive;
using InArchive = cereal::PortableBinaryInputArchive;

void putLE(std::string &S, uint64_t V, int N) {
  for (int I = 0; I < N; ++I)
    S.push_back(static_cast<char>(V >> (8 * I)));
}
uint64_t getLE(std::string_view S, size_t At, int N) {
  uint64_t V = 0;
  for (int I = N - 1; I >= 0; --I)
    V = (V << 8) | static_cast<unsigned char>(S[At + I]);
  return V;
}

void saveString(OutArchive &A, std::string_view S) {
  A(static_cast<uint32_t>(S.size()));
  A(cereal::binary_data(S.data(), S.size()));
}

/// Thrown inside the reader for a structural problem; caught at the seam.
struct Malformed {
  std::string Message;
};

/// Reads from the payload with every count checked against what remains.
class Reader {
public:
  Reader(std::istringstream &S, size_t Size) : S(S), Size(Size), A(S) {}

  template <typename T> T get() {
    T V;
    A(V);
    return V;
  }
  size_t remaining() {
    auto Pos = S.tellg();
    if (Pos < 0)
      throw Malformed{"unreadable payload"};
    return Size - static_cast<size_t>(Pos);
  }
  /// A count of items that each take at least \p MinBytes.
  uint32_t count(size_t MinBytes, const char *What) {
    uint32_t N = get<uint32_t>();
    if (MinBytes && N > remaining() / MinBytes)
      throw Malformed{std::string("the ") + What + " count " +
                      std::to_string(N) + " exceeds the file"};
    return N;
  }
  std::string string(const char *What) {
    uint32_t N = count(1, What);
    std::string Out(N, '\0');
    if (N)
      A(cereal::binary_data(Out.data(), N));
    return Out;
  }

private:
  std::istringstream &S;
  size_t Size;

public:
  InArchive A;
};

void saveConstant(OutArchive &A, const Value &V) {
  A(static_cast<uint8_t>(V.K));
  switch (V.K) {
  case ValueKind::Int:
    A(V.I);
    break;
  case ValueKind::Float:
    A(V.F);
    break;
  case ValueKind::Bool:
    A(static_cast<uint8_t>(V.I != 0));
    break;
  case ValueKind::Str:
    saveString(A, V.strView());
    break;
  default:
    break;
  }
}

Value loadConstant(Reader &R, uint32_t Index) {
  uint8_t K = R.get<uint8_t>();
  switch (static_cast<ValueKind>(K)) {
  case ValueKind::Undef:
    return Value();
  case ValueKind::Int:
    return Value::integer(R.get<int64_t>());
  case ValueKind::Float:
    return Value::floating(R.get<double>());
  case ValueKind::Bool: {
    uint8_t B = R.get<uint8_t>();
    if (B > 1)
      throw Malformed{"constant #" + std::to_string(Index) +
                      " is a bool other than 0 or 1"};
    return Value::boolean(B);
  }
  case ValueKind::Str: {
    std::string S = R.string("string length");
    if (S.size() > (size_t(1) << 30))
      throw Malformed{"constant #" + std::to_string(Index) +
                      " is longer than 2^30 bytes"};
    return Value::string(S);
  }
  default:
    throw Malformed{"constant #" + std::to_string(Index) + " has kind " +
                    std::to_string(K) +
                    " (a pool holds int, float, str, bool or undef)"};
  }
}

void saveOp(OutArchive &A, const Instr &I) {
  A(static_cast<uint8_t>(I.Op));
  for (unsigned N = 0; N < numOperands(I.Op); ++N) {
    uint64_t V = getOperand(I, N);
    switch (operandBytes(opInfo(I.Op).Operands[N])) {
    case 1:
      A(static_cast<uint8_t>(V));
      break;
    case 2:
      A(static_cast<uint16_t>(V));
      break;
    case 4:
      A(static_cast<uint32_t>(V));
      break;
    case 8:
      A(V);
      break;
    }
  }
}

Instr loadOp(Reader &R, uint32_t Index) {
  uint8_t Code = R.get<uint8_t>();
  if (Code >= NumOpcodes)
    throw Malformed{"op #" + std::to_string(Index) + " has invalid opcode " +
                    std::to_string(Code)};
  Instr I(static_cast<Opcode>(Code));
  for (unsigned N = 0; N < numOperands(I.Op); ++N) {
    uint64_t V = 0;
    switch (operandBytes(opInfo(I.Op).Operands[N])) {
    case 1:
      V = R.get<uint8_t>();
      break;
    case 2:
      V = R.get<uint16_t>();
      break;
    case 4:
      V = R.get<uint32_t>();
      break;
    case 8:
      V = R.get<uint64_t>();
      break;
    }
    setOperand(I, N, V);
  }
  return I;
}

} // namespace

std::string writeFbc(const Chunk &C) {
  std::ostringstream PS;
  {
    OutArchive A(PS, OutArchive::Options::LittleEndian());
    saveString(A, C.SourceName);
    A(static_cast<uint32_t>(C.Names.size()));
    for (const std::string &N : C.Names)
      saveString(A, N);
    A(static_cast<uint32_t>(C.Constants.size()));
    for (const Value &V : C.Constants)
      saveConstant(A, V);
    A(static_cast<uint32_t>(C.Functions.size()));
    for (const FunctionDef &F : C.Functions)
      A(F.Name, F.Arity, F.Entry, F.End);
    A(static_cast<uint32_t>(C.ExtOps.size()));
    for (const ExtOpDecl &E : C.ExtOps)
      A(E.Id, E.Pops, E.Pushes);
    A(static_cast<uint32_t>(C.Ops.size()));
    for (const Instr &I : C.Ops)
      saveOp(A, I);
    A(static_cast<uint32_t>(C.Lines.size()));
    for (uint32_t L : C.Lines)
      A(L);
  }
  std::string Payload = PS.str();
  std::string Out(FbcMagic, sizeof(FbcMagic));
  putLE(Out, FormatVersion, 4);
  putLE(Out, 0, 4); // flags, none defined
  putLE(Out, Payload.size(), 8);
  putLE(Out, xxh64(Payload.data(), Payload.size()), 8);
  return Out + Payload;
}

llvm::Expected<Chunk> readFbc(std::string_view Bytes,
                              std::string_view FileName) {
  std::string File(FileName);
  auto Bad = [&](std::string Msg) {
    return makeError(ExitRejected, File, 0, "invalid .fbc file: " + Msg);
  };
  size_t MagicPart = std::min(Bytes.size(), sizeof(FbcMagic));
  if (Bytes.empty() || std::memcmp(Bytes.data(), FbcMagic, MagicPart) != 0)
    return Bad("missing magic number");
  if (Bytes.size() < FbcHeaderSize)
    return Bad("truncated header (" + std::to_string(Bytes.size()) +
               " bytes)");
  uint32_t Version = static_cast<uint32_t>(getLE(Bytes, 8, 4));
  if (Version != FormatVersion)
    return makeError(ExitRejected, File, 0,
                     "unsupported format version " + std::to_string(Version) +
                         " (this fusevm reads version " +
                         std::to_string(FormatVersion) + ")");
  uint32_t Flags = static_cast<uint32_t>(getLE(Bytes, 12, 4));
  if (Flags != 0)
    return Bad("unknown flags " + std::to_string(Flags));
  uint64_t Size = getLE(Bytes, 16, 8);
  uint64_t Sum = getLE(Bytes, 24, 8);
  if (Size != Bytes.size() - FbcHeaderSize)
    return Bad("the header announces " + std::to_string(Size) +
               " payload bytes but " +
               std::to_string(Bytes.size() - FbcHeaderSize) + " follow" +
               (Size > Bytes.size() - FbcHeaderSize ? " (truncated file)" : ""));
  std::string_view Payload = Bytes.substr(FbcHeaderSize);
  if (xxh64(Payload.data(), Payload.size()) != Sum)
    return Bad("checksum mismatch (the file is corrupt)");

  Chunk C;
  try {
    std::istringstream S{std::string(Payload)};
    Reader R(S, Payload.size());
    C.SourceName = R.string("source name length");
    uint32_t NumNames = R.count(4, "name");
    if (NumNames > 65536)
      throw Malformed{"more than 65536 names"};
    C.Names.reserve(NumNames);
    for (uint32_t I = 0; I < NumNames; ++I)
      C.Names.push_back(R.string("name length"));
    uint32_t NumConsts = R.count(1, "constant");
    if (NumConsts > 65536)
      throw Malformed{"more than 65536 constants"};
    C.Constants.reserve(NumConsts);
    for (uint32_t I = 0; I < NumConsts; ++I)
      C.Constants.push_back(loadConstant(R, I));
    uint32_t NumFns = R.count(11, "function");
    C.Functions.reserve(NumFns);
    for (uint32_t I = 0; I < NumFns; ++I) {
      FunctionDef F;
      R.A(F.Name, F.Arity, F.Entry, F.End);
      C.Functions.push_back(F);
    }
    uint32_t NumExt = R.count(6, "extended op");
    C.ExtOps.reserve(NumExt);
    for (uint32_t I = 0; I < NumExt; ++I) {
      ExtOpDecl E;
      R.A(E.Id, E.Pops, E.Pushes);
      C.ExtOps.push_back(E);
    }
    uint32_t NumOps = R.count(1, "op");
    C.Ops.reserve(NumOps);
    for (uint32_t I = 0; I < NumOps; ++I)
      C.Ops.push_back(loadOp(R, I));
    uint32_t NumLines = R.count(4, "line");
    if (NumLines != NumOps)
      throw Malformed{"the line table has " + std::to_string(NumLines) +
                      " entries for " + std::to_string(NumOps) + " ops"};
    C.Lines.resize(NumLines);
    for (uint32_t I = 0; I < NumLines; ++I)
      C.Lines[I] = R.get<uint32_t>();
    if (R.remaining() != 0)
      throw Malformed{std::to_string(R.remaining()) +
                      " stray bytes after the line table"};
  } catch (const Malformed &M) {
    return Bad(M.Message);
  } catch (const std::exception &E) {
    // cereal reports reads past the end this way.
    return Bad("truncated payload");
  }
  return C;
}

} // namespace fusevm
