//===- fusevm/Core/Opcode.h - Opcodes, operand kinds, Instr ------*- C++ -*-===//
//
// \file
// The opcode enum and the static facts about each op, generated from
// Ops.def, and the fixed-width in-memory instruction record.
//
// Instr layout (16 bytes; every tier reads it):
//
//   byte 0      1      2..3  4..5  6..7  8..15
//        +------+------+-----+-----+-----+---------------------------+
//        |  Op  |  U8  |  A  |  B  |  C  | I64 / F64 / U64           |
//        |      |      |     |     |     | or Imm32 (8..11)          |
//        |      |      |     |     |     |    Target (12..15)        |
//        +------+------+-----+-----+-----+---------------------------+
//
// Operands are placed by kind, in assembly order: 16-bit indices (Const,
// Name, Slot, Func, Builtin, ExtId, Count) fill A, B, C; 8-bit operands
// (Argc, Byte) go to U8; 64-bit immediates to the payload; an I32 limit to
// Imm32 and a jump target to Target. No op needs more than that.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_OPCODE_H
#define FUSEVM_CORE_OPCODE_H

#include <cstdint>
#include <string_view>

namespace fusevm {

enum class Opcode : uint8_t {
#define FUSE_OP(Name, O1, O2, O3, O4, Pops, Pushes, Flags) Name,
#include "fusevm/Core/Ops.def"
};

constexpr unsigned NumOpcodes = 0
#define FUSE_OP(Name, O1, O2, O3, O4, Pops, Pushes, Flags) +1
#include "fusevm/Core/Ops.def"
    ;

/// What an operand means; fixes its width, its text form and its checks.
enum class OperandKind : uint8_t {
  None,
  I64,     ///< 64-bit signed immediate (LoadInt)
  F64,     ///< binary64 immediate (LoadFloat)
  U64,     ///< 64-bit payload (ExtendedWide)
  I32,     ///< 32-bit signed limit of fused loops
  Byte,    ///< u8 inline argument (Extended)
  Argc,    ///< u8 value count (Call, CallBuiltin, Print, PrintLn)
  Count,   ///< u16 element count (MakeArray, MakeHash)
  Const,   ///< u16 constant pool index
  Name,    ///< u16 name pool index (a global)
  Slot,    ///< u16 slot index
  Func,    ///< u16 name pool index of a function
  Builtin, ///< u16 builtin id
  ExtId,   ///< u16 extended op id
  Target,  ///< u32 op index (a label in text)
};

enum OpFlag : uint8_t {
  OpBranch = 1 << 0,     ///< has a jump target
  OpTerminator = 1 << 1, ///< control never falls through
  OpCanThrow = 1 << 2,   ///< may raise a runtime error
  OpCall = 1 << 3,       ///< makes a guest call
  OpFused = 1 << 4,      ///< a superinstruction (isa.md "Fused")
  OpLoop = 1 << 5,       ///< a fused loop that runs many iterations
};

/// Stack effect that depends on the instruction's operands.
constexpr int Var = -1;

struct OpInfo {
  std::string_view Mnemonic;
  OperandKind Operands[4];
  int8_t Pops;   ///< or Var
  int8_t Pushes; ///< or Var
  uint8_t Flags;
};

namespace detail {
using enum OperandKind;
inline constexpr OpInfo OpTable[] = {
#define FUSE_OP(Name, O1, O2, O3, O4, Pops, Pushes, Flags)                     \
  {#Name, {O1, O2, O3, O4}, Pops, Pushes, Flags},
#include "fusevm/Core/Ops.def"
};
} // namespace detail

constexpr const OpInfo &opInfo(Opcode Op) {
  return detail::OpTable[static_cast<unsigned>(Op)];
}
constexpr std::string_view mnemonic(Opcode Op) { return opInfo(Op).Mnemonic; }
constexpr bool hasFlag(Opcode Op, OpFlag F) { return opInfo(Op).Flags & F; }
constexpr unsigned numOperands(Opcode Op) {
  unsigned N = 0;
  while (N < 4 && opInfo(Op).Operands[N] != OperandKind::None)
    ++N;
  return N;
}

/// One decoded instruction. Trivially copyable; see the layout above.
struct Instr {
  Opcode Op = Opcode::Nop;
  uint8_t U8 = 0;
  uint16_t A = 0, B = 0, C = 0;
  union {
    int64_t I64;
    double F64;
    uint64_t U64;
    struct {
      int32_t Imm32;
      uint32_t Target;
    };
  };
  Instr() : I64(0) {}
  explicit Instr(Opcode O) : Op(O), I64(0) {}
};
static_assert(sizeof(Instr) == 16, "Instr must stay 16 bytes");

/// Bytes an operand of kind \p K takes in .fbc files and in the op hash.
constexpr unsigned operandBytes(OperandKind K) {
  switch (K) {
  case OperandKind::None:
    return 0;
  case OperandKind::I64:
  case OperandKind::F64:
  case OperandKind::U64:
    return 8;
  case OperandKind::I32:
  case OperandKind::Target:
    return 4;
  case OperandKind::Byte:
  case OperandKind::Argc:
    return 1;
  case OperandKind::Count:
  case OperandKind::Const:
  case OperandKind::Name:
  case OperandKind::Slot:
  case OperandKind::Func:
  case OperandKind::Builtin:
  case OperandKind::ExtId:
    return 2;
  }
  return 0;
}

/// Where operand \p Index of \p Op lives in an Instr: by width (see the
/// layout above), 16-bit operands filling A, B, C in order.
enum class OperandField : uint8_t { None, U8, A, B, C, Wide, Imm32, Target };
constexpr OperandField operandField(Opcode Op, unsigned Index) {
  unsigned Next16 = 0;
  for (unsigned I = 0; I < 4; ++I) {
    OperandKind K = opInfo(Op).Operands[I];
    OperandField F = OperandField::None;
    switch (operandBytes(K)) {
    case 8:
      F = OperandField::Wide;
      break;
    case 4:
      F = K == OperandKind::Target ? OperandField::Target : OperandField::Imm32;
      break;
    case 2:
      F = Next16 == 0 ? OperandField::A
                      : Next16 == 1 ? OperandField::B : OperandField::C;
      ++Next16;
      break;
    case 1:
      F = OperandField::U8;
      break;
    default:
      return OperandField::None;
    }
    if (I == Index)
      return F;
  }
  return OperandField::None;
}

/// Reads operand \p Index of \p I as an unsigned 64-bit pattern.
uint64_t getOperand(const Instr &I, unsigned Index);
/// Stores \p V (already range-checked for its kind) as operand \p Index.
void setOperand(Instr &I, unsigned Index, uint64_t V);

/// Finds an opcode by exact mnemonic.
bool lookupMnemonic(std::string_view Name, Opcode &Op);

} // namespace fusevm

#endif // FUSEVM_CORE_OPCODE_H
