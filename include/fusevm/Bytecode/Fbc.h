//===- fusevm/Bytecode/Fbc.h - Binary .fbc files -------------------*- C++ -*-===//
//
// \file
// The binary form of a chunk (layout in docs/fbc-format.md).
//
// The reader treats every byte as hostile: each count is checked against the
// bytes that remain before anything is allocated, every opcode and constant
// kind is checked, and the payload checksum is verified first. Indices are
// left to the verifier.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_BYTECODE_FBC_H
#define FUSEVM_BYTECODE_FBC_H

#include "fusevm/Core/Chunk.h"

#include "llvm/Support/Error.h"

#include <string>
#include <string_view>

namespace fusevm {

/// The first 8 bytes of every .fbc file.
inline constexpr char FbcMagic[8] = {'\x7f', 'F', 'V', 'M', '\r', '\n', '\x1a', '\n'};
constexpr size_t FbcHeaderSize = 32;

bool hasFbcMagic(std::string_view Bytes);

/// Encodes \p C as .fbc bytes.
std::string writeFbc(const Chunk &C);

/// Decodes .fbc bytes; \p FileName is used in diagnostics only.
llvm::Expected<Chunk> readFbc(std::string_view Bytes, std::string_view FileName);

} // namespace fusevm

#endif // FUSEVM_BYTECODE_FBC_H
