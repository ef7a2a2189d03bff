//===- ChunkBuilder.cpp - Build chunks from C++ ---------------------------===//

#include "fusevm/Core/ChunkBuilder.h"

#include "fusevm/Core/Diag.h"

namespace fusevm {

ChunkBuilder::ChunkBuilder(std::string SourceName) {
  C.SourceName = std::move(SourceName);
  InFunction = true; // main
  CurName = "main";
}

void ChunkBuilder::errorAt(uint32_t Line, std::string Message) {
  if (Errors.size() < 50)
    Errors.push_back({Line, std::move(Message)});
}

static std::string constKey(const Value &V) {
  switch (V.K) {
  case ValueKind::Int:
  case ValueKind::Float:
    return std::string(reinterpret_cast<const char *>(&V.I), 8);
  case ValueKind::Bool:
    return V.I ? "1" : "0";
  case ValueKind::Str:
    return std::string(V.strView());
  default:
    return "";
  }
}

uint16_t ChunkBuilder::constant(const Value &V) {
  if (V.K == ValueKind::Array || V.K == ValueKind::Hash ||
      V.K == ValueKind::Status) {
    error("a constant must be an int, float, str, bool or undef");
    return 0;
  }
  auto Key = std::make_pair(static_cast<uint8_t>(V.K), constKey(V));
  auto It = ConstIndex.find(Key);
  if (It != ConstIndex.end())
    return It->second;
  if (C.Constants.size() >= 65536) {
    error("too many constants (the pool holds 65536)");
    return 0;
  }
  uint16_t Index = static_cast<uint16_t>(C.Constants.size());
  C.Constants.push_back(V);
  ConstIndex.emplace(std::move(Key), Index);
  return Index;
}

uint16_t ChunkBuilder::name(std::string_view N) {
  auto It = NameIndex.find(std::string(N));
  if (It != NameIndex.end())
    return It->second;
  if (C.Names.size() >= 65536) {
    error("too many names (the pool holds 65536)");
    return 0;
  }
  uint16_t Index = static_cast<uint16_t>(C.Names.size());
  C.Names.emplace_back(N);
  NameIndex.emplace(std::string(N), Index);
  return Index;
}

void ChunkBuilder::declareExtOp(uint16_t Id, uint16_t Pops, uint16_t Pushes) {
  if (C.findExtOp(Id)) {
    error("extended op " + std::to_string(Id) + " is declared twice");
    return;
  }
  C.ExtOps.push_back({Id, Pops, Pushes});
}

void ChunkBuilder::closeFunction() {
  if (!InFunction)
    return;
  uint32_t N = size();
  bool FallsOff = N == CurEntry || LabelAtEnd ||
                  !hasFlag(C.Ops.back().Op, OpTerminator);
  if (FallsOff)
    emit(Instr(Opcode::Return));
  C.Functions.push_back({name(CurName), static_cast<uint8_t>(CurArity),
                         CurEntry, size()});
  InFunction = false;
}

void ChunkBuilder::beginFunction(std::string_view Name, unsigned Arity) {
  // An explicit `.func main 0` before any code is main itself.
  bool IsImplicitMain = InFunction && C.Functions.empty() && size() == 0 &&
                        !LabelAtEnd && CurName == "main";
  if (IsImplicitMain && Name == "main" && Arity == 0)
    return;
  if (Arity > 255)
    error("function '" + std::string(Name) + "' has " + std::to_string(Arity) +
          " parameters; at most 255 are allowed");
  if (FunctionLine.count(std::string(Name)) || Name == "main")
    error("function '" + std::string(Name) + "' is defined twice");
  closeFunction();
  FunctionLine[std::string(Name)] = CurLine;
  InFunction = true;
  CurName = std::string(Name);
  CurArity = Arity;
  CurEntry = size();
  LabelAtEnd = false;
}

void ChunkBuilder::endFunction() { closeFunction(); }

ChunkBuilder::Label ChunkBuilder::makeLabel() {
  Labels.emplace_back();
  return static_cast<Label>(Labels.size() - 1);
}

void ChunkBuilder::bind(Label L) {
  if (L >= Labels.size()) {
    error("unknown label");
    return;
  }
  if (!InFunction) {
    // A label after .end starts no function; it belongs to nothing.
    error("label outside a function");
    return;
  }
  if (Labels[L].Pos >= 0) {
    error("label bound twice");
    return;
  }
  Labels[L].Pos = size();
  Labels[L].Function = static_cast<uint32_t>(C.Functions.size());
  LabelAtEnd = true;
}

uint32_t ChunkBuilder::emit(const Instr &I) {
  if (!InFunction) {
    // Code after `.end` and before the next `.func` has no function.
    error("instruction outside a function (after .end)");
  }
  C.Ops.push_back(I);
  C.Lines.push_back(CurLine);
  LabelAtEnd = false;
  return size() - 1;
}

uint32_t ChunkBuilder::emitBranch(Instr I, Label L) {
  uint32_t At = emit(I);
  Branches.push_back({At, L, CurLine});
  return At;
}

uint32_t ChunkBuilder::emitCall(std::string_view Fn, uint8_t Argc) {
  Instr I(Opcode::Call);
  I.U8 = Argc;
  uint32_t At = emit(I);
  Calls.push_back({At, std::string(Fn), CurLine});
  return At;
}

uint32_t ChunkBuilder::op(Opcode Op, unsigned Operand) {
  Instr I(Op);
  if (numOperands(Op) > 0)
    setOperand(I, 0, Operand);
  return emit(I);
}

uint32_t ChunkBuilder::loadInt(int64_t V) {
  Instr I(Opcode::LoadInt);
  I.I64 = V;
  return emit(I);
}

uint32_t ChunkBuilder::loadFloat(double V) {
  Instr I(Opcode::LoadFloat);
  I.F64 = V;
  return emit(I);
}

uint32_t ChunkBuilder::loadConst(const Value &V) {
  Instr I(Opcode::LoadConst);
  I.A = constant(V);
  return emit(I);
}

uint32_t ChunkBuilder::slotOp(Opcode Op, uint16_t Slot) {
  Instr I(Op);
  I.A = Slot;
  return emit(I);
}

uint32_t ChunkBuilder::nameOp(Opcode Op, std::string_view Name) {
  Instr I(Op);
  I.A = name(Name);
  return emit(I);
}

uint32_t ChunkBuilder::callBuiltin(uint16_t Id, uint8_t Argc) {
  Instr I(Opcode::CallBuiltin);
  I.A = Id;
  I.U8 = Argc;
  return emit(I);
}

llvm::Expected<Chunk> ChunkBuilder::finish() {
  closeFunction();
  for (const BranchFixup &F : Branches) {
    if (F.L >= Labels.size() || Labels[F.L].Pos < 0) {
      errorAt(F.Line, "jump to a label that is never defined");
      continue;
    }
    C.Ops[F.Op].Target = static_cast<uint32_t>(Labels[F.L].Pos);
  }
  for (const CallFixup &F : Calls) {
    if (!FunctionLine.count(F.Fn) && F.Fn != "main") {
      errorAt(F.Line, "call of unknown function '" + F.Fn + "'");
      continue;
    }
    C.Ops[F.Op].A = name(F.Fn);
  }
  if (C.Ops.size() > UINT32_MAX / 2)
    errorAt(0, "too many ops");
  if (Errors.empty())
    return std::move(C);
  llvm::Error All = llvm::Error::success();
  for (auto &[Line, Msg] : Errors)
    All = llvm::joinErrors(std::move(All),
                           makeError(ExitRejected, C.SourceName, Line, Msg));
  return All;
}

} // namespace fusevm
