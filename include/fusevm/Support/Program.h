//===- fusevm/Support/Program.h - Reading programs, writing outputs -*- C++ -*-===//
//
// \file
// What the tools (and embedders that take files) need around the
// libraries: read a file or standard input, load a program from text or
// binary, and write an output without ever leaving a partial file.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_SUPPORT_PROGRAM_H
#define FUSEVM_SUPPORT_PROGRAM_H

#include "fusevm/Core/Chunk.h"

#include "llvm/Support/Error.h"

#include <string>
#include <string_view>

namespace fusevm {

/// Reads \p Path ("-" = standard input) into \p Out; exit code 66 on error.
llvm::Error readFile(const std::string &Path, std::string &Out);

/// Loads a program from \p Path: .fbc when it starts with the magic number
/// (or with a part of it: a truncated header), .fasm text otherwise
/// (spec/cli.md).
llvm::Expected<Chunk> loadProgram(const std::string &Path);

/// Writes \p Data to \p Path atomically (temporary file + rename), or to
/// standard output for "-"; exit code 74 on error, and nothing is left
/// behind on failure.
llvm::Error writeFileAtomic(const std::string &Path, std::string_view Data);

} // namespace fusevm

#endif // FUSEVM_SUPPORT_PROGRAM_H
