//===- Verifier.cpp - isa.md §6 -------------------------------------------===//
//
// \file
// Three passes: the function table, the per-op operand checks, and an
// abstract interpretation of each function over (stack height, scope
// chain). A scope chain is interned as a node (parent, height at PushFrame)
// so that two paths agree exactly when their node ids are equal.
//
// Reading of §6 (docs/verifier.md): two paths must agree on the heights at
// which the open scopes were pushed, not only on their number, because
// PopFrame restores that height; and "control can run past the last op" is
// checked on the op text: the last op of every function must be Jump,
// Return or ReturnValue (the assembler appends Return where needed).
//
//===----------------------------------------------------------------------===//

#include "fusevm/Verify/Verifier.h"

#include "fusevm/Core/Diag.h"

#include <algorithm>
#include <map>

namespace fusevm {

namespace {
struct StdBuiltin {
  const char *Name;
  int Argc;
};
constexpr StdBuiltin StdBuiltins[NumStandardBuiltins] = {
    {"sqrt", 1},  {"sin", 1},   {"cos", 1},   {"tan", 1},    {"atan2", 2},
    {"exp", 1},   {"log", 1},   {"floor", 1}, {"ceil", 1},   {"round", 1},
    {"trunc", 1}, {"abs", 1},   {"min", 2},   {"max", 2},    {"int", 1},
    {"float", 1}, {"str", 1},   {"substr", 3}, {"index", 2}, {"ord", 1},
    {"chr", 1},   {"upper", 1}, {"lower", 1}, {"clock", 0},  {"type", 1},
    {"split", 2}, {"join", 2},
};
} // namespace

int standardBuiltinArity(uint16_t Id) {
  return Id < NumStandardBuiltins ? StdBuiltins[Id].Argc : -1;
}
std::string_view standardBuiltinName(uint16_t Id) {
  return Id < NumStandardBuiltins ? StdBuiltins[Id].Name : "";
}

namespace {

class Verifier {
public:
  Verifier(const Chunk &C, const HostEnv &Env) : C(C), Env(Env) {}
  llvm::Expected<VerifyInfo> run();

private:
  llvm::Error fail(size_t Ip, std::string Msg) {
    uint32_t Line = C.lineOf(Ip);
    if (!Line)
      Msg += " (op #" + std::to_string(Ip) + ")";
    return makeError(ExitRejected, C.SourceName.empty() ? "<chunk>" : C.SourceName,
                     Line, std::move(Msg));
  }
  llvm::Error failChunk(std::string Msg) {
    return makeError(ExitRejected, C.SourceName.empty() ? "<chunk>" : C.SourceName,
                     0, std::move(Msg));
  }
  std::string fnName(size_t F) const { return C.functionName(F); }
  llvm::Error checkFunctionTable();
  llvm::Error checkOperands(size_t Ip, const FunctionDef &F, uint32_t FIdx);
  llvm::Error flow(uint32_t FIdx);
  /// Pops and pushes of the op at \p Ip.
  void effect(size_t Ip, int &Pops, int &Pushes) const;
  uint32_t intern(uint32_t Parent, uint16_t Height) {
    auto Key = std::make_pair(Parent, Height);
    auto It = ScopeIds.find(Key);
    if (It != ScopeIds.end())
      return It->second;
    uint32_t Id = static_cast<uint32_t>(Scopes.size());
    Scopes.push_back({Parent, Height, Parent ? uint16_t(Scopes[Parent].Depth + 1)
                                             : uint16_t(1)});
    ScopeIds.emplace(Key, Id);
    return Id;
  }

  struct ScopeNode {
    uint32_t Parent; ///< 0 = no open scope
    uint16_t Height; ///< stack height at the PushFrame
    uint16_t Depth;
  };

  const Chunk &C;
  const HostEnv &Env;
  VerifyInfo Info;
  std::vector<uint32_t> ScopeOf; ///< scope node per op
  std::vector<ScopeNode> Scopes{{0, 0, 0}};
  std::map<std::pair<uint32_t, uint16_t>, uint32_t> ScopeIds;
  std::vector<int32_t> FuncByName;
};

llvm::Error Verifier::checkFunctionTable() {
  if (C.Ops.empty())
    return failChunk("the chunk has no ops");
  if (C.Lines.size() != C.Ops.size())
    return failChunk("the line table does not match the ops");
  if (C.Functions.empty())
    return failChunk("the function table is empty");
  std::vector<uint32_t> Order(C.Functions.size());
  for (uint32_t I = 0; I < Order.size(); ++I)
    Order[I] = I;
  std::sort(Order.begin(), Order.end(), [&](uint32_t A, uint32_t B) {
    return C.Functions[A].Entry < C.Functions[B].Entry;
  });
  FuncByName.assign(C.Names.size(), -1);
  uint32_t Expect = 0;
  for (uint32_t F : Order) {
    const FunctionDef &D = C.Functions[F];
    if (D.Name >= C.Names.size())
      return failChunk("function #" + std::to_string(F) +
                       " has name index " + std::to_string(D.Name) +
                       " outside the name pool");
    if (FuncByName[D.Name] >= 0)
      return failChunk("function '" + fnName(F) + "' is defined twice");
    FuncByName[D.Name] = static_cast<int32_t>(F);
    if (D.Entry != Expect)
      return failChunk("function table: function '" + fnName(F) +
                       "' starts at op " + std::to_string(D.Entry) +
                       ", expected " + std::to_string(Expect) +
                       " (ranges must not overlap and must cover the ops)");
    if (D.End <= D.Entry || D.End > C.Ops.size())
      return failChunk("function table: function '" + fnName(F) +
                       "' has the bad range [" + std::to_string(D.Entry) +
                       ", " + std::to_string(D.End) + ")");
    Expect = D.End;
  }
  if (Expect != C.Ops.size())
    return failChunk("function table: ops from " + std::to_string(Expect) +
                     " on belong to no function");
  const FunctionDef &M = C.Functions[Order[0]];
  if (C.Names[M.Name] != "main" || M.Arity != 0)
    return failChunk("the function at op 0 must be 'main' with arity 0, not '" +
                     fnName(Order[0]) + "' with arity " +
                     std::to_string(M.Arity));
  Info.Main = Order[0];
  Info.FuncOf.resize(C.Ops.size());
  Info.Funcs.resize(C.Functions.size());
  for (uint32_t F = 0; F < C.Functions.size(); ++F) {
    const FunctionDef &D = C.Functions[F];
    for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip)
      Info.FuncOf[Ip] = F;
    Info.Funcs[F] = {D.Arity, 0, 0};
  }
  return llvm::Error::success();
}

llvm::Error Verifier::checkOperands(size_t Ip, const FunctionDef &F,
                                    uint32_t FIdx) {
  const Instr &I = C.Ops[Ip];
  std::string M(mnemonic(I.Op));
  for (unsigned N = 0; N < numOperands(I.Op); ++N) {
    uint64_t V = getOperand(I, N);
    switch (opInfo(I.Op).Operands[N]) {
    case OperandKind::Const:
      if (V >= C.Constants.size())
        return fail(Ip, "'" + M + "': constant index " + std::to_string(V) +
                            " is outside the pool (" +
                            std::to_string(C.Constants.size()) + " entries)");
      break;
    case OperandKind::Name:
      if (V >= C.Names.size())
        return fail(Ip, "'" + M + "': name index " + std::to_string(V) +
                            " is outside the pool (" +
                            std::to_string(C.Names.size()) + " entries)");
      break;
    case OperandKind::Func: {
      if (V >= C.Names.size() || FuncByName[V] < 0)
        return fail(Ip, "'Call': name index " + std::to_string(V) +
                            " is not a function");
      const FunctionDef &Callee = C.Functions[FuncByName[V]];
      if (Callee.Arity != I.U8)
        return fail(Ip, "'Call " + C.Names[V] + "' passes " +
                            std::to_string(I.U8) + " argument" +
                            (I.U8 == 1 ? "" : "s") + " but '" + C.Names[V] +
                            "' takes " + std::to_string(Callee.Arity));
      Info.Callee[Ip] = static_cast<uint32_t>(FuncByName[V]);
      break;
    }
    case OperandKind::Slot:
      Info.Funcs[FIdx].NumSlots =
          std::max<uint32_t>(Info.Funcs[FIdx].NumSlots, uint32_t(V) + 1);
      break;
    case OperandKind::Builtin: {
      if (V < FirstHostBuiltin) {
        int Argc = standardBuiltinArity(static_cast<uint16_t>(V));
        if (Argc < 0)
          return fail(Ip, "builtin id " + std::to_string(V) +
                              " is not assigned (standard builtins are 0-" +
                              std::to_string(NumStandardBuiltins - 1) + ")");
        if (Argc != I.U8)
          return fail(Ip, "builtin " + std::to_string(V) + " (" +
                              std::string(standardBuiltinName(V)) +
                              ") takes " + std::to_string(Argc) +
                              " argument" + (Argc == 1 ? "" : "s") +
                              ", not " + std::to_string(I.U8));
      } else {
        auto It = Env.Builtins.find(static_cast<uint16_t>(V));
        if (It == Env.Builtins.end())
          return fail(Ip, "builtin id " + std::to_string(V) +
                              " is not registered by the host");
        if (It->second >= 0 && It->second != I.U8)
          return fail(Ip, "host builtin " + std::to_string(V) + " takes " +
                              std::to_string(It->second) +
                              " arguments, not " + std::to_string(I.U8));
      }
      break;
    }
    case OperandKind::ExtId:
      if (!C.findExtOp(static_cast<uint16_t>(V)))
        return fail(Ip, "extended op " + std::to_string(V) +
                            " is used but not declared (.extop)");
      break;
    case OperandKind::Target:
      if (V < F.Entry || V >= F.End)
        return fail(Ip, "'" + M + "' jumps to op " + std::to_string(V) +
                            ", outside function '" + fnName(FIdx) + "'");
      break;
    default:
      break;
    }
  }
  return llvm::Error::success();
}

void Verifier::effect(size_t Ip, int &Pops, int &Pushes) const {
  const Instr &I = C.Ops[Ip];
  const OpInfo &Info = opInfo(I.Op);
  Pops = Info.Pops;
  Pushes = Info.Pushes;
  switch (I.Op) {
  case Opcode::MakeArray:
    Pops = I.A;
    break;
  case Opcode::MakeHash:
    Pops = 2 * I.A;
    break;
  case Opcode::Call:
  case Opcode::CallBuiltin:
  case Opcode::Print:
  case Opcode::PrintLn:
    Pops = I.U8;
    break;
  case Opcode::Extended:
  case Opcode::ExtendedWide: {
    const ExtOpDecl *D = C.findExtOp(I.A);
    Pops = D ? D->Pops : 0;
    Pushes = D ? D->Pushes : 0;
    break;
  }
  case Opcode::PopFrame:
    Pops = 0; // handled by flow()
    break;
  default:
    break;
  }
}

llvm::Error Verifier::flow(uint32_t FIdx) {
  const FunctionDef &F = C.Functions[FIdx];
  const Instr &Last = C.Ops[F.End - 1];
  if (!hasFlag(Last.Op, OpTerminator))
    return fail(F.End - 1, "control can run past the last op of function '" +
                               fnName(FIdx) + "' (end it with Jump, Return "
                                              "or ReturnValue)");
  std::vector<uint32_t> Work{F.Entry};
  Info.Height[F.Entry] = 0;
  ScopeOf[F.Entry] = 0;
  uint32_t MaxStack = 0, MaxDepth = 0;

  auto Reach = [&](size_t From, uint32_t To, int32_t H,
                   uint32_t S) -> llvm::Error {
    if (Info.Height[To] < 0) {
      Info.Height[To] = H;
      ScopeOf[To] = S;
      Work.push_back(To);
      return llvm::Error::success();
    }
    if (Info.Height[To] != H)
      return fail(To, "the operand-stack height differs between paths that "
                      "reach this op (" +
                          std::to_string(Info.Height[To]) + " and " +
                          std::to_string(H) + ", the latter from op #" +
                          std::to_string(From) + ")");
    if (ScopeOf[To] != S) {
      if (Scopes[ScopeOf[To]].Depth != Scopes[S].Depth)
        return fail(To, "the scope depth differs between paths that reach "
                        "this op (" +
                            std::to_string(Scopes[ScopeOf[To]].Depth) +
                            " and " + std::to_string(Scopes[S].Depth) + ")");
      return fail(To, "the open scopes were pushed at different stack "
                      "heights on the paths that reach this op");
    }
    return llvm::Error::success();
  };

  while (!Work.empty()) {
    uint32_t Ip = Work.back();
    Work.pop_back();
    const Instr &I = C.Ops[Ip];
    int32_t H = Info.Height[Ip];
    uint32_t S = ScopeOf[Ip];
    int Pops, Pushes;
    effect(Ip, Pops, Pushes);
    if (H < Pops)
      return fail(Ip, "stack underflow: '" + std::string(mnemonic(I.Op)) +
                          "' needs " + std::to_string(Pops) + " operand" +
                          (Pops == 1 ? "" : "s") + " but the stack holds " +
                          std::to_string(H));
    int32_t NewH = H - Pops + Pushes;
    uint32_t NewS = S;
    if (I.Op == Opcode::PushFrame) {
      if (Scopes[S].Depth == UINT16_MAX)
        return fail(Ip, "too many nested scopes");
      NewS = intern(S, static_cast<uint16_t>(H));
    } else if (I.Op == Opcode::PopFrame) {
      if (S == 0)
        return fail(Ip, "'PopFrame' without an open scope");
      if (H < Scopes[S].Height)
        return fail(Ip, "the stack (" + std::to_string(H) +
                            ") is below its height at the matching "
                            "PushFrame (" +
                            std::to_string(Scopes[S].Height) + ")");
      NewH = Scopes[S].Height;
      Info.PopHeight[Ip] = Scopes[S].Height;
      NewS = Scopes[S].Parent;
    }
    if (NewH > 65535 || H + std::max(0, Pushes - Pops) > 65535)
      return fail(Ip, "the operand stack would exceed 65535 values");
    MaxStack = std::max<uint32_t>(MaxStack, std::max(NewH, H));
    MaxDepth = std::max<uint32_t>(MaxDepth, Scopes[NewS].Depth);
    Info.Depth[Ip] = Scopes[S].Depth;
    if (hasFlag(I.Op, OpBranch)) {
      if (llvm::Error E = Reach(Ip, I.Target, NewH, NewS))
        return E;
    }
    if (!hasFlag(I.Op, OpTerminator)) {
      if (Ip + 1 >= F.End)
        return fail(Ip, "control can run past the last op of function '" +
                            fnName(FIdx) + "'");
      if (llvm::Error E = Reach(Ip, Ip + 1, NewH, NewS))
        return E;
    }
  }
  FunctionFacts &Facts = Info.Funcs[FIdx];
  Facts.MaxStack = MaxStack;
  Facts.MaxDepth = MaxDepth;
  return llvm::Error::success();
}

llvm::Expected<VerifyInfo> Verifier::run() {
  if (llvm::Error E = checkFunctionTable())
    return E;
  size_t N = C.Ops.size();
  Info.Height.assign(N, -1);
  Info.Depth.assign(N, 0);
  Info.PopHeight.assign(N, 0);
  Info.Callee.assign(N, 0);
  ScopeOf.assign(N, 0);
  for (uint32_t F = 0; F < C.Functions.size(); ++F) {
    const FunctionDef &D = C.Functions[F];
    for (uint32_t Ip = D.Entry; Ip < D.End; ++Ip)
      if (llvm::Error E = checkOperands(Ip, D, F))
        return E;
  }
  for (uint32_t F = 0; F < C.Functions.size(); ++F)
    if (llvm::Error E = flow(F))
      return E;
  Info.Leader.assign(N, false);
  for (const FunctionDef &D : C.Functions)
    Info.Leader[D.Entry] = true;
  for (size_t Ip = 0; Ip < N; ++Ip) {
    const Instr &I = C.Ops[Ip];
    if (hasFlag(I.Op, OpBranch))
      Info.Leader[I.Target] = true;
    if ((hasFlag(I.Op, OpBranch) || hasFlag(I.Op, OpTerminator)) && Ip + 1 < N)
      Info.Leader[Ip + 1] = true;
  }
  return Info;
}

} // namespace

llvm::Expected<VerifyInfo> verify(const Chunk &C, const HostEnv &Env) {
  Verifier V(C, Env);
  return V.run();
}

} // namespace fusevm
