//===- Assembler.cpp - .fasm text to Chunk (spec/assembly.md) -------------===//
//
// \file
// A line-at-a-time parser over ChunkBuilder. Operands are parsed by their
// kind in Ops.def, so a new op needs no parser change.
//
//===----------------------------------------------------------------------===//

#include "fusevm/Asm/Assembler.h"

#include "fusevm/Core/ChunkBuilder.h"
#include "fusevm/Core/Diag.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace fusevm {

namespace {

struct Token {
  enum KindT { Word, String } Kind;
  std::string Text; ///< decoded bytes for strings
};

bool isIdentStart(char C) {
  return (C >= 'A' && C <= 'Z') || (C >= 'a' && C <= 'z') || C == '_' ||
         C == '.' || C == '$';
}
bool isIdentChar(char C) { return isIdentStart(C) || (C >= '0' && C <= '9'); }

bool isIdentifier(std::string_view S) {
  if (S.empty() || !isIdentStart(S[0]))
    return false;
  for (char C : S)
    if (!isIdentChar(C))
      return false;
  return true;
}

int hexDigit(char C) {
  if (C >= '0' && C <= '9')
    return C - '0';
  if (C >= 'a' && C <= 'f')
    return C - 'a' + 10;
  if (C >= 'A' && C <= 'F')
    return C - 'A' + 10;
  return -1;
}

/// Parses an integer literal (decimal or 0x hex, optional sign) into a
/// sign and magnitude; false if it is not one or overflows 64 bits.
bool parseIntLiteral(std::string_view S, bool &Neg, uint64_t &Mag) {
  Neg = false;
  if (!S.empty() && (S[0] == '+' || S[0] == '-')) {
    Neg = S[0] == '-';
    S.remove_prefix(1);
  }
  if (S.empty())
    return false;
  unsigned Base = 10;
  if (S.size() > 2 && S[0] == '0' && (S[1] == 'x' || S[1] == 'X')) {
    Base = 16;
    S.remove_prefix(2);
  }
  Mag = 0;
  for (char C : S) {
    int D = Base == 16 ? hexDigit(C) : (C >= '0' && C <= '9' ? C - '0' : -1);
    if (D < 0)
      return false;
    if (Mag > (UINT64_MAX - D) / Base)
      return false;
    Mag = Mag * Base + D;
  }
  return true;
}

bool isDigitC(char C) { return C >= '0' && C <= '9'; }

/// A float literal: [+-]?(digits[.digits][e[+-]digits] | .digits[...] | inf | nan).
bool parseFloatLiteral(std::string_view S, double &Out) {
  std::string_view Body = S;
  bool Neg = false;
  if (!Body.empty() && (Body[0] == '+' || Body[0] == '-')) {
    Neg = Body[0] == '-';
    Body.remove_prefix(1);
  }
  if (Body == "inf" || Body == "infinity") {
    Out = Neg ? -INFINITY : INFINITY;
    return true;
  }
  if (Body == "nan") {
    Out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  size_t I = 0, Digits = 0;
  while (I < Body.size() && isDigitC(Body[I]))
    ++I, ++Digits;
  if (I < Body.size() && Body[I] == '.') {
    ++I;
    while (I < Body.size() && isDigitC(Body[I]))
      ++I, ++Digits;
  }
  if (Digits == 0)
    return false;
  if (I < Body.size() && (Body[I] == 'e' || Body[I] == 'E')) {
    ++I;
    if (I < Body.size() && (Body[I] == '+' || Body[I] == '-'))
      ++I;
    size_t Start = I;
    while (I < Body.size() && isDigitC(Body[I]))
      ++I;
    if (I == Start)
      return false;
  }
  if (I != Body.size())
    return false;
  std::string Tmp(Body);
  double D = std::strtod(Tmp.c_str(), nullptr);
  Out = Neg ? -D : D;
  return true;
}

size_t editDistance(std::string_view A, std::string_view B) {
  std::vector<size_t> Row(B.size() + 1);
  for (size_t J = 0; J <= B.size(); ++J)
    Row[J] = J;
  for (size_t I = 1; I <= A.size(); ++I) {
    size_t Diag = Row[0];
    Row[0] = I;
    for (size_t J = 1; J <= B.size(); ++J) {
      size_t Up = Row[J];
      size_t Cost = A[I - 1] == B[J - 1] ? 0 : 1;
      Row[J] = std::min({Row[J] + 1, Row[J - 1] + 1, Diag + Cost});
      Diag = Up;
    }
  }
  return Row[B.size()];
}

class Assembler {
public:
  Assembler(std::string_view Text, std::string_view File)
      : Text(Text), File(File), B(std::string(File)) {}

  llvm::Expected<Chunk> run();

private:
  void error(std::string Msg) {
    if (Errors.size() < 50)
      Errors.push_back({Line, std::move(Msg)});
  }
  bool tokenize(std::string_view L, std::vector<Token> &Out);
  void parseLine(std::string_view L);
  void directive(const std::vector<Token> &T);
  void instruction(const std::vector<Token> &T, size_t First);
  bool operand(Instr &I, unsigned Index, const Token &T, bool &IsBranch,
               std::string &Label, bool &IsCall, std::string &Fn);
  bool number(const Token &T, int64_t Min, uint64_t Max, uint64_t &Out,
              const char *What);
  ChunkBuilder::Label label(const std::string &Name) {
    auto It = Labels.find(Name);
    if (It != Labels.end())
      return It->second.Id;
    LabelState S;
    S.Id = B.makeLabel();
    S.FirstUse = Line;
    Labels.emplace(Name, S);
    return S.Id;
  }

  struct LabelState {
    ChunkBuilder::Label Id = 0;
    uint32_t Defined = 0; ///< line, 0 = not yet
    uint32_t FirstUse = 0;
  };

  std::string_view Text;
  std::string File;
  ChunkBuilder B;
  uint32_t Line = 0;
  std::vector<std::pair<uint32_t, std::string>> Errors;
  std::unordered_map<std::string, LabelState> Labels;
};

bool Assembler::tokenize(std::string_view L, std::vector<Token> &Out) {
  size_t I = 0;
  while (I < L.size()) {
    char C = L[I];
    if (C == ' ' || C == '\t' || C == ',' || C == '\r') {
      ++I;
      continue;
    }
    if (C == ';')
      break;
    if (C == '"') {
      Token T{Token::String, ""};
      ++I;
      bool Closed = false;
      while (I < L.size()) {
        char D = L[I++];
        if (D == '"') {
          Closed = true;
          break;
        }
        if (D != '\\') {
          T.Text.push_back(D);
          continue;
        }
        if (I >= L.size())
          break;
        char E = L[I++];
        switch (E) {
        case '\\': T.Text.push_back('\\'); break;
        case '"': T.Text.push_back('"'); break;
        case 'n': T.Text.push_back('\n'); break;
        case 't': T.Text.push_back('\t'); break;
        case 'r': T.Text.push_back('\r'); break;
        case '0': T.Text.push_back('\0'); break;
        case 'x': {
          int H1 = I < L.size() ? hexDigit(L[I]) : -1;
          int H2 = I + 1 < L.size() ? hexDigit(L[I + 1]) : -1;
          if (H1 < 0 || H2 < 0) {
            error("\\x in a string literal needs two hex digits");
            return false;
          }
          T.Text.push_back(static_cast<char>(H1 * 16 + H2));
          I += 2;
          break;
        }
        default:
          error(std::string("unknown escape '\\") + E +
                "' in a string literal (use \\\\ \\\" \\n \\t \\r \\0 \\xHH)");
          return false;
        }
      }
      if (!Closed) {
        error("unterminated string literal");
        return false;
      }
      Out.push_back(std::move(T));
      continue;
    }
    size_t Start = I;
    while (I < L.size() && L[I] != ' ' && L[I] != '\t' && L[I] != ',' &&
           L[I] != ';' && L[I] != '"' && L[I] != '\r')
      ++I;
    Out.push_back({Token::Word, std::string(L.substr(Start, I - Start))});
  }
  return true;
}

bool Assembler::number(const Token &T, int64_t Min, uint64_t Max,
                       uint64_t &Out, const char *What) {
  bool Neg;
  uint64_t Mag;
  if (T.Kind != Token::Word || !parseIntLiteral(T.Text, Neg, Mag)) {
    error(std::string("expected ") + What + ", got '" + T.Text + "'");
    return false;
  }
  bool Ok;
  if (Neg)
    Ok = Mag == 0 || (Min < 0 && Mag <= uint64_t(-(Min + 1)) + 1);
  else
    Ok = Mag <= Max;
  if (!Ok) {
    error(T.Text + " is out of range for " + What + " (" +
          std::to_string(Min) + " to " + std::to_string(Max) + ")");
    return false;
  }
  Out = Neg ? uint64_t(0) - Mag : Mag;
  return true;
}

bool Assembler::operand(Instr &I, unsigned Index, const Token &T,
                        bool &IsBranch, std::string &LabelName, bool &IsCall,
                        std::string &Fn) {
  uint64_t V = 0;
  OperandKind K = opInfo(I.Op).Operands[Index];
  switch (K) {
  case OperandKind::None:
    return false;
  case OperandKind::I64:
    if (!number(T, INT64_MIN, INT64_MAX, V, "an integer"))
      return false;
    break;
  case OperandKind::U64:
    if (!number(T, 0, UINT64_MAX, V, "an unsigned integer"))
      return false;
    break;
  case OperandKind::I32:
    if (!number(T, INT32_MIN, INT32_MAX, V, "a 32-bit integer"))
      return false;
    V = static_cast<uint32_t>(V);
    break;
  case OperandKind::Byte:
  case OperandKind::Argc:
    if (!number(T, 0, 255, V, "a count"))
      return false;
    break;
  case OperandKind::Count:
  case OperandKind::Builtin:
  case OperandKind::ExtId:
    if (!number(T, 0, 65535, V, "a 16-bit operand"))
      return false;
    break;
  case OperandKind::Slot:
    if (!number(T, 0, 65535, V, "a slot index"))
      return false;
    break;
  case OperandKind::F64: {
    double D;
    if (T.Kind != Token::Word || !parseFloatLiteral(T.Text, D)) {
      error("expected a float, got '" + T.Text + "'");
      return false;
    }
    I.F64 = D;
    return true;
  }
  case OperandKind::Const: {
    Value C;
    double D;
    bool Neg;
    uint64_t Mag;
    if (T.Kind == Token::String) {
      C = Value::string(T.Text);
    } else if (T.Text == "true" || T.Text == "false") {
      C = Value::boolean(T.Text == "true");
    } else if (T.Text == "undef") {
      C = Value();
    } else if (parseIntLiteral(T.Text, Neg, Mag)) {
      if (!number(T, INT64_MIN, INT64_MAX, Mag, "an integer"))
        return false;
      C = Value::integer(static_cast<int64_t>(Mag));
    } else if (parseFloatLiteral(T.Text, D)) {
      C = Value::floating(D);
    } else {
      error("expected a constant (\"text\", number, true, false or undef), "
            "got '" + T.Text + "'");
      return false;
    }
    V = B.constant(C);
    break;
  }
  case OperandKind::Name:
    if (T.Kind == Token::Word && !isIdentifier(T.Text)) {
      error("expected a name (identifier or string literal), got '" + T.Text +
            "'");
      return false;
    }
    V = B.name(T.Text);
    break;
  case OperandKind::Func:
    if (T.Kind == Token::Word && !isIdentifier(T.Text)) {
      error("expected a function name, got '" + T.Text + "'");
      return false;
    }
    IsCall = true;
    Fn = T.Text;
    return true;
  case OperandKind::Target:
    if (T.Kind != Token::Word || !isIdentifier(T.Text)) {
      error("expected a label, got '" + T.Text + "'");
      return false;
    }
    IsBranch = true;
    LabelName = T.Text;
    return true;
  }
  setOperand(I, Index, V);
  return true;
}

void Assembler::instruction(const std::vector<Token> &T, size_t First) {
  const Token &M = T[First];
  Opcode Op;
  if (M.Kind != Token::Word || !lookupMnemonic(M.Text, Op)) {
    std::string Msg = "unknown mnemonic '" + M.Text + "'";
    std::string_view Near = nearestMnemonic(M.Text);
    if (!Near.empty())
      Msg += "; did you mean '" + std::string(Near) + "'?";
    error(Msg);
    return;
  }
  unsigned Want = numOperands(Op);
  size_t Got = T.size() - First - 1;
  if (Got != Want) {
    error("'" + M.Text + "' takes " + std::to_string(Want) + " operand" +
          (Want == 1 ? "" : "s") + ", got " + std::to_string(Got));
    return;
  }
  Instr I(Op);
  bool IsBranch = false, IsCall = false;
  std::string LabelName, Fn;
  for (unsigned N = 0; N < Want; ++N)
    if (!operand(I, N, T[First + 1 + N], IsBranch, LabelName, IsCall, Fn))
      return;
  if (IsBranch)
    B.emitBranch(I, label(LabelName));
  else if (IsCall)
    B.emitCall(Fn, I.U8);
  else
    B.emit(I);
}

void Assembler::directive(const std::vector<Token> &T) {
  const std::string &D = T[0].Text;
  auto Arity = [&](size_t N) {
    if (T.size() - 1 == N)
      return true;
    error("'" + D + "' takes " + std::to_string(N) + " operand" +
          (N == 1 ? "" : "s") + ", got " + std::to_string(T.size() - 1));
    return false;
  };
  if (D == ".func") {
    if (!Arity(2))
      return;
    if (T[1].Kind == Token::Word && !isIdentifier(T[1].Text)) {
      error("expected a function name, got '" + T[1].Text + "'");
      return;
    }
    uint64_t N;
    if (!number(T[2], 0, 255, N, "an arity"))
      return;
    B.beginFunction(T[1].Text, static_cast<unsigned>(N));
  } else if (D == ".end") {
    if (Arity(0))
      B.endFunction();
  } else if (D == ".extop") {
    uint64_t Id, Pops, Pushes;
    if (!Arity(3) || !number(T[1], 0, 65535, Id, "an extended op id") ||
        !number(T[2], 0, 65535, Pops, "a pop count") ||
        !number(T[3], 0, 65535, Pushes, "a push count"))
      return;
    B.declareExtOp(static_cast<uint16_t>(Id), static_cast<uint16_t>(Pops),
                   static_cast<uint16_t>(Pushes));
  } else if (D == ".source") {
    if (!Arity(1))
      return;
    if (T[1].Kind != Token::String) {
      error("'.source' takes a string literal");
      return;
    }
    B.setSourceName(T[1].Text);
  } else {
    error("unknown directive '" + D + "' (.func, .end, .extop, .source)");
  }
}

void Assembler::parseLine(std::string_view L) {
  std::vector<Token> T;
  if (!tokenize(L, T) || T.empty())
    return;
  size_t First = 0;
  if (T[0].Kind == Token::Word) {
    std::string &W = T[0].Text;
    size_t Colon = W.find(':');
    if (Colon != std::string::npos) {
      std::string Name = W.substr(0, Colon);
      std::string Rest = W.substr(Colon + 1);
      if (!isIdentifier(Name)) {
        error("invalid label name '" + Name + "'");
        return;
      }
      LabelState &S = Labels[Name];
      if (S.Defined) {
        error("duplicate label '" + Name + "' (first defined on line " +
              std::to_string(S.Defined) + ")");
        return;
      }
      if (!S.FirstUse && !S.Defined)
        S.Id = B.makeLabel();
      S.Defined = Line;
      B.bind(S.Id);
      if (Rest.empty()) {
        First = 1;
      } else {
        W = Rest; // "label:Op" written without a space
      }
    }
  }
  if (First >= T.size())
    return;
  if (T[First].Kind == Token::Word && !T[First].Text.empty() &&
      T[First].Text[0] == '.' && First == 0) {
    directive(T);
    return;
  }
  if (T[First].Kind == Token::Word && !T[First].Text.empty() &&
      T[First].Text[0] == '.') {
    error("a directive cannot follow a label");
    return;
  }
  instruction(T, First);
}

llvm::Expected<Chunk> Assembler::run() {
  size_t Pos = 0;
  while (Pos <= Text.size()) {
    size_t End = Text.find('\n', Pos);
    if (End == std::string_view::npos)
      End = Text.size();
    ++Line;
    B.setLine(Line);
    std::string_view L = Text.substr(Pos, End - Pos);
    if (!(Line == 1 && L.substr(0, 2) == "#!"))
      parseLine(L);
    if (End == Text.size())
      break;
    Pos = End + 1;
  }
  for (auto &[Name, S] : Labels)
    if (!S.Defined) {
      Errors.push_back({S.FirstUse, "undefined label '" + Name + "'"});
    }
  llvm::Expected<Chunk> C = B.finish();
  if (!C) {
    llvm::handleAllErrors(C.takeError(), [&](const FvmError &E) {
      // Undefined labels were reported above, by name.
      if (E.Message.rfind("jump to a label", 0) != 0)
        Errors.push_back({E.Line, E.Message});
    });
  }
  if (Errors.empty())
    return C;
  std::stable_sort(Errors.begin(), Errors.end(),
                   [](auto &A, auto &B) { return A.first < B.first; });
  llvm::Error All = llvm::Error::success();
  for (auto &[L, Msg] : Errors)
    All = llvm::joinErrors(std::move(All),
                           makeError(ExitRejected, File, L, Msg));
  return All;
}

} // namespace

std::string_view nearestMnemonic(std::string_view Word) {
  std::string_view Best;
  size_t BestD = SIZE_MAX;
  for (unsigned I = 0; I < NumOpcodes; ++I) {
    std::string_view M = detail::OpTable[I].Mnemonic;
    size_t D = editDistance(Word, M);
    // A case-only difference is the most likely slip.
    if (M.size() == Word.size()) {
      bool SameNoCase = true;
      for (size_t J = 0; J < M.size(); ++J)
        if (std::tolower(static_cast<unsigned char>(M[J])) !=
            std::tolower(static_cast<unsigned char>(Word[J])))
          SameNoCase = false;
      if (SameNoCase)
        D = 0;
    }
    if (D < BestD) {
      BestD = D;
      Best = M;
    }
  }
  return BestD <= std::max<size_t>(2, Word.size() / 3) ? Best
                                                       : std::string_view();
}

llvm::Expected<Chunk> assemble(std::string_view Text,
                               std::string_view FileName) {
  Assembler A(Text, FileName);
  return A.run();
}

} // namespace fusevm
