//===- fusevm/Bytecode/Fbc.h - Binary .fbc files and loading ----*- C++ -*-===//
//
// \file
// The binary form of a chunk (layout in docs/fbc-format.md) and the one
// function the tools use to load a program from text or binary.
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

/// Reads \p Path ("-" = standard input) into \p Out; exit code 66 on error.
llvm::Error readFile(const std::string &Path, std::string &Out);

/// Loads a program from \p Path: .fbc when it starts with the magic number,
/// .fasm text otherwise (spec/cli.md).
llvm::Expected<Chunk> loadProgram(const std::string &Path);

/// Writes \p Data to \p Path atomically (temporary file + rename), or to
/// standard output for "-"; exit code 74 on error, and nothing is left
/// behind on failure.
llvm::Error writeFileAtomic(const std::string &Path, std::string_view Data);

} // namespace fusevm

#endif // FUSEVM_BYTECODE_FBC_H
