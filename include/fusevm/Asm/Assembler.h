//===- fusevm/Asm/Assembler.h - .fasm text <-> Chunk -------------*- C++ -*-===//
//
// \file
// The text form of spec/assembly.md. assemble() reports every problem as
// "FILE:LINE: error: ..." (exit code 65) and produces nothing on error;
// disassemble() writes text that assembles to a chunk with the same op hash.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_ASM_ASSEMBLER_H
#define FUSEVM_ASM_ASSEMBLER_H

#include "fusevm/Core/Chunk.h"

#include "llvm/Support/Error.h"

#include <string>
#include <string_view>

namespace fusevm {

/// Assembles \p Text; \p FileName names the file in diagnostics and is the
/// default source name of the chunk.
llvm::Expected<Chunk> assemble(std::string_view Text, std::string_view FileName);

/// The .fasm text of \p C.
std::string disassemble(const Chunk &C);

/// The mnemonic nearest to \p Word (edit distance), or "" if none is close.
std::string_view nearestMnemonic(std::string_view Word);

/// \p S as a .fasm string literal, with escapes.
std::string quoteString(std::string_view S);

} // namespace fusevm

#endif // FUSEVM_ASM_ASSEMBLER_H
