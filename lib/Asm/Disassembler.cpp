//===- Disassembler.cpp - Chunk to .fasm text -----------------------------===//
//
// \file
// Writes text that the assembler turns back into a chunk with the same op
// hash: literals where the chunk has pool indices (the op hash takes
// constants and names by value), a label `L<ip>` at every jump target, and
// the functions in op order.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Asm/Assembler.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace fusevm {

static bool isIdent(std::string_view S) {
  auto Start = [](char C) {
    return (C >= 'A' && C <= 'Z') || (C >= 'a' && C <= 'z') || C == '_' ||
           C == '.' || C == '$';
  };
  if (S.empty() || !Start(S[0]))
    return false;
  for (char C : S)
    if (!Start(C) && !(C >= '0' && C <= '9'))
      return false;
  return true;
}

std::string quoteString(std::string_view S) {
  static const char Hex[] = "0123456789ABCDEF";
  std::string Out = "\"";
  for (unsigned char C : S) {
    switch (C) {
    case '\\': Out += "\\\\"; break;
    case '"': Out += "\\\""; break;
    case '\n': Out += "\\n"; break;
    case '\t': Out += "\\t"; break;
    case '\r': Out += "\\r"; break;
    case '\0': Out += "\\0"; break;
    default:
      if (C < 0x20 || C >= 0x7F) {
        Out += "\\x";
        Out += Hex[C >> 4];
        Out += Hex[C & 15];
      } else {
        Out += static_cast<char>(C);
      }
    }
  }
  return Out + "\"";
}

/// A float literal that reads back as exactly \p D and is never an int.
static std::string floatLiteral(double D) {
  if (std::isnan(D))
    return "nan";
  if (std::isinf(D))
    return D < 0 ? "-inf" : "inf";
  char Buf[64];
  auto R = std::to_chars(Buf, Buf + sizeof(Buf), D);
  std::string S(Buf, R.ptr);
  if (S.find_first_of(".e") == std::string::npos)
    S += ".0";
  return S;
}

static std::string nameOperand(std::string_view N) {
  return isIdent(N) ? std::string(N) : quoteString(N);
}

static std::string constLiteral(const Value &V) {
  switch (V.K) {
  case ValueKind::Int:
    return std::to_string(V.I);
  case ValueKind::Float:
    return floatLiteral(V.F);
  case ValueKind::Str:
    return quoteString(V.strView());
  case ValueKind::Bool:
    return V.I ? "true" : "false";
  default:
    return "undef";
  }
}

std::string disassemble(const Chunk &C) {
  std::string Out;
  char Buf[32];
  std::snprintf(Buf, sizeof(Buf), "%016llx",
                static_cast<unsigned long long>(C.opHash()));
  Out += "; fusevm assembly, op hash 0x" + std::string(Buf) + "\n";
  Out += ".source " + quoteString(C.SourceName) + "\n";
  for (const ExtOpDecl &E : C.ExtOps)
    Out += ".extop " + std::to_string(E.Id) + " " + std::to_string(E.Pops) +
           " " + std::to_string(E.Pushes) + "\n";

  std::set<uint32_t> Targets;
  for (const Instr &I : C.Ops)
    if (hasFlag(I.Op, OpBranch))
      Targets.insert(I.Target);

  std::vector<FunctionDef> Fns = C.Functions;
  std::sort(Fns.begin(), Fns.end(),
            [](const FunctionDef &A, const FunctionDef &B) {
              return A.Entry < B.Entry;
            });
  auto Name = [&](uint64_t I) -> std::string {
    return I < C.Names.size() ? nameOperand(C.Names[I])
                              : "\"<bad name " + std::to_string(I) + ">\"";
  };
  size_t NextFn = 0;
  for (uint32_t Ip = 0; Ip < C.Ops.size(); ++Ip) {
    while (NextFn < Fns.size() && Fns[NextFn].Entry == Ip) {
      const FunctionDef &F = Fns[NextFn++];
      bool IsMain = Ip == 0 && F.Name < C.Names.size() &&
                    C.Names[F.Name] == "main" && F.Arity == 0;
      if (!IsMain)
        Out += "\n.func " + Name(F.Name) + " " + std::to_string(F.Arity) + "\n";
    }
    if (Targets.count(Ip))
      Out += "L" + std::to_string(Ip) + ":\n";
    const Instr &I = C.Ops[Ip];
    Out += "        ";
    Out += mnemonic(I.Op);
    for (unsigned N = 0; N < numOperands(I.Op); ++N) {
      uint64_t V = getOperand(I, N);
      Out += N ? ", " : " ";
      switch (opInfo(I.Op).Operands[N]) {
      case OperandKind::None:
        break;
      case OperandKind::I64:
        Out += std::to_string(static_cast<int64_t>(V));
        break;
      case OperandKind::U64: {
        std::snprintf(Buf, sizeof(Buf), "0x%llx",
                      static_cast<unsigned long long>(V));
        Out += Buf;
        break;
      }
      case OperandKind::F64:
        Out += floatLiteral(I.F64);
        break;
      case OperandKind::I32:
        Out += std::to_string(I.Imm32);
        break;
      case OperandKind::Byte:
      case OperandKind::Argc:
      case OperandKind::Count:
      case OperandKind::Slot:
      case OperandKind::Builtin:
      case OperandKind::ExtId:
        Out += std::to_string(V);
        break;
      case OperandKind::Const:
        Out += V < C.Constants.size() ? constLiteral(C.Constants[V])
                                      : "\"<bad constant>\"";
        break;
      case OperandKind::Name:
      case OperandKind::Func:
        Out += Name(V);
        break;
      case OperandKind::Target:
        Out += "L" + std::to_string(V);
        break;
      }
    }
    Out += "\n";
  }
  return Out;
}

} // namespace fusevm
