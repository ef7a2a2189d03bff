//===- Opcode.cpp - Operand access and mnemonic lookup --------------------===//

#include "fusevm/Core/Opcode.h"

#include <cstring>

namespace fusevm {

uint64_t getOperand(const Instr &I, unsigned Index) {
  switch (operandField(I.Op, Index)) {
  case OperandField::None:
    return 0;
  case OperandField::U8:
    return I.U8;
  case OperandField::A:
    return I.A;
  case OperandField::B:
    return I.B;
  case OperandField::C:
    return I.C;
  case OperandField::Wide:
    return I.U64;
  case OperandField::Imm32:
    return static_cast<uint32_t>(I.Imm32);
  case OperandField::Target:
    return I.Target;
  }
  return 0;
}

void setOperand(Instr &I, unsigned Index, uint64_t V) {
  switch (operandField(I.Op, Index)) {
  case OperandField::None:
    return;
  case OperandField::U8:
    I.U8 = static_cast<uint8_t>(V);
    return;
  case OperandField::A:
    I.A = static_cast<uint16_t>(V);
    return;
  case OperandField::B:
    I.B = static_cast<uint16_t>(V);
    return;
  case OperandField::C:
    I.C = static_cast<uint16_t>(V);
    return;
  case OperandField::Wide:
    I.U64 = V;
    return;
  case OperandField::Imm32:
    I.Imm32 = static_cast<int32_t>(static_cast<uint32_t>(V));
    return;
  case OperandField::Target:
    I.Target = static_cast<uint32_t>(V);
    return;
  }
}

bool lookupMnemonic(std::string_view Name, Opcode &Op) {
  for (unsigned I = 0; I < NumOpcodes; ++I)
    if (detail::OpTable[I].Mnemonic == Name) {
      Op = static_cast<Opcode>(I);
      return true;
    }
  return false;
}

} // namespace fusevm
