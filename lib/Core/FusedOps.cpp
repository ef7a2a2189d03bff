//===- FusedOps.cpp - Expanding and matching fused ops --------------------===//

#include "fusevm/Core/FusedOps.h"

namespace fusevm {
namespace {

namespace table {
using enum Opcode;
constexpr FusedOperand None{};
constexpr FusedOperand Arg(int N) { return {FusedOperand::FromArg, N}; }
constexpr FusedOperand Lit(int64_t V) { return {FusedOperand::Literal, V}; }
constexpr FusedJump ToArg(int N) {
  return {FusedJump::ToArg, static_cast<uint8_t>(N)};
}
constexpr FusedJump ToHead{FusedJump::ToHead, 0};
constexpr FusedJump ToExit{FusedJump::ToExit, 0};
constexpr ExpansionOp E(Opcode Op, FusedOperand O = {}, FusedJump J = {}) {
  return {Op, O, J};
}
template <typename... T> constexpr uint8_t count(T...) { return sizeof...(T); }

constexpr FusedExpansion Table[] = {
#define FUSED_OP(Name, Fails, ...)                                             \
  {Name, Fails, count(__VA_ARGS__), {__VA_ARGS__}},
#include "fusevm/Core/FusedOps.def"
};
} // namespace table

/// The literal an operand of kind \p K holds, as Instr stores it.
int64_t operandValue(const Instr &I, unsigned N) {
  uint64_t V = getOperand(I, N);
  OperandKind K = opInfo(I.Op).Operands[N];
  if (K == OperandKind::I32)
    return static_cast<int32_t>(static_cast<uint32_t>(V));
  return static_cast<int64_t>(V);
}

/// Backtracking matcher: expansion op \p P against chunk op \p At.
class Matcher {
public:
  Matcher(const FusedExpansion &X, std::span<const Instr> Ops, uint32_t Start,
          uint32_t Limit, const std::vector<bool> *Targeted)
      : X(X), Ops(Ops), Start(Start), Limit(Limit), Targeted(Targeted) {}

  bool run(FusedMatch &M) {
    if (!step(0, Start))
      return false;
    M.Fused = Instr(X.Op);
    for (unsigned N = 0; N < numOperands(X.Op); ++N)
      setOperand(M.Fused, N, static_cast<uint64_t>(Args[N]));
    M.Len = End - Start;
    return true;
  }

private:
  const FusedExpansion &X;
  std::span<const Instr> Ops;
  uint32_t Start, Limit;
  const std::vector<bool> *Targeted;
  int64_t Args[4] = {};
  bool Bound[4] = {};
  /// Jumps to the exit, checked once the length is known.
  uint32_t ExitJumps[MaxExpansionLen];
  unsigned NumExitJumps = 0;
  uint32_t End = 0;

  bool usable(uint32_t At) const {
    return At < Limit && At < Ops.size() && (At == Start || !Targeted || !(*Targeted)[At]);
  }
  bool bind(unsigned N, int64_t V) {
    OperandKind K = opInfo(X.Op).Operands[N];
    if (K == OperandKind::I32 && (V < INT32_MIN || V > INT32_MAX))
      return false;
    if (Bound[N])
      return Args[N] == V;
    Bound[N] = true;
    Args[N] = V;
    return true;
  }

  bool step(unsigned P, uint32_t At) {
    if (P == X.Len) {
      End = At;
      for (unsigned J = 0; J < NumExitJumps; ++J)
        if (Ops[ExitJumps[J]].Target != End)
          return false;
      return true;
    }
    const ExpansionOp &E = X.Ops[P];
    // `Inc` and `LoadInt 1; Add` are interchangeable.
    bool PatInc = E.Op == Opcode::Inc;
    bool PatAddOne = E.Op == Opcode::LoadInt &&
                     E.Operand.K == FusedOperand::Literal && E.Operand.V == 1 &&
                     P + 1 < X.Len && X.Ops[P + 1].Op == Opcode::Add;
    if (PatInc || PatAddOne) {
      unsigned Next = P + (PatInc ? 1 : 2);
      if (usable(At) && Ops[At].Op == Opcode::Inc && tryStep(Next, At + 1))
        return true;
      if (usable(At) && usable(At + 1) && Ops[At].Op == Opcode::LoadInt &&
          Ops[At].I64 == 1 && Ops[At + 1].Op == Opcode::Add)
        return tryStep(Next, At + 2);
      return false;
    }
    if (!usable(At) || Ops[At].Op != E.Op)
      return false;
    const Instr &I = Ops[At];
    if (E.Operand.K == FusedOperand::Literal && operandValue(I, 0) != E.Operand.V)
      return false;
    if (E.Operand.K == FusedOperand::FromArg &&
        !bind(static_cast<unsigned>(E.Operand.V), operandValue(I, 0)))
      return false;
    switch (E.Jump.K) {
    case FusedJump::NoJump:
      break;
    case FusedJump::ToArg:
      if (!bind(E.Jump.Arg, I.Target))
        return false;
      break;
    case FusedJump::ToHead:
      if (I.Target != Start)
        return false;
      break;
    case FusedJump::ToExit:
      ExitJumps[NumExitJumps++] = At;
      break;
    }
    return tryStep(P + 1, At + 1);
  }
  /// step() with the bindings restored when it fails.
  bool tryStep(unsigned P, uint32_t At) {
    int64_t SavedArgs[4];
    bool SavedBound[4];
    std::copy(std::begin(Args), std::end(Args), SavedArgs);
    std::copy(std::begin(Bound), std::end(Bound), SavedBound);
    unsigned SavedExits = NumExitJumps;
    if (step(P, At))
      return true;
    std::copy(std::begin(SavedArgs), std::end(SavedArgs), Args);
    std::copy(std::begin(SavedBound), std::end(SavedBound), Bound);
    NumExitJumps = SavedExits;
    return false;
  }
};

} // namespace

std::span<const FusedExpansion> fusedExpansions() { return table::Table; }

const FusedExpansion *fusedExpansion(Opcode Op) {
  for (const FusedExpansion &X : table::Table)
    if (X.Op == Op)
      return &X;
  return nullptr;
}

void expandFused(const Instr &I, uint32_t Head, uint32_t Exit,
                 std::vector<Instr> &Out) {
  const FusedExpansion *X = fusedExpansion(I.Op);
  if (!X) {
    Out.push_back(I);
    return;
  }
  for (unsigned P = 0; P < X->Len; ++P) {
    const ExpansionOp &E = X->Ops[P];
    Instr O(E.Op);
    if (E.Operand.K == FusedOperand::Literal)
      setOperand(O, 0, static_cast<uint64_t>(E.Operand.V));
    else if (E.Operand.K == FusedOperand::FromArg)
      setOperand(O, 0, static_cast<uint64_t>(operandValue(
                           I, static_cast<unsigned>(E.Operand.V))));
    switch (E.Jump.K) {
    case FusedJump::NoJump: break;
    case FusedJump::ToArg: O.Target = static_cast<uint32_t>(getOperand(I, E.Jump.Arg)); break;
    case FusedJump::ToHead: O.Target = Head; break;
    case FusedJump::ToExit: O.Target = Exit; break;
    }
    Out.push_back(O);
  }
}

std::vector<bool> jumpTargets(const Chunk &C) {
  std::vector<bool> T(C.Ops.size() + 1, false);
  for (const Instr &I : C.Ops)
    if (hasFlag(I.Op, OpBranch) && I.Target < T.size())
      T[I.Target] = true;
  for (const FunctionDef &F : C.Functions)
    if (F.Entry < T.size())
      T[F.Entry] = true;
  return T;
}

bool matchFused(Opcode Op, std::span<const Instr> Ops, uint32_t Start,
                uint32_t Limit, const std::vector<bool> *Targeted,
                FusedMatch &M) {
  const FusedExpansion *X = fusedExpansion(Op);
  if (!X || Start >= Ops.size() || Ops[Start].Op != X->Ops[0].Op)
    return false;
  return Matcher(*X, Ops, Start, Limit, Targeted).run(M);
}

bool matchTypeTest(const Chunk &C, const Instr &Call, const Instr &Name,
                   const Instr &Cmp, TypeTest &T) {
  constexpr uint16_t BuiltinType = 24; // isa.md section 4
  if (Call.Op != Opcode::CallBuiltin || Call.A != BuiltinType || Call.U8 != 1 ||
      Name.Op != Opcode::LoadConst || Name.A >= C.Constants.size() ||
      !C.Constants[Name.A].isStr() ||
      (Cmp.Op != Opcode::StrEq && Cmp.Op != Opcode::StrNe))
    return false;
  std::string_view S = C.Constants[Name.A].strView();
  T.Kind = -1;
  for (unsigned K = 0; K <= unsigned(ValueKind::Hash); ++K)
    if (kindName(ValueKind(K)) == S)
      T.Kind = int(K);
  T.Negated = Cmp.Op == Opcode::StrNe;
  return true;
}

} // namespace fusevm
