//===- TestUtil.h - Helpers for the unit tests ------------------*- C++ -*-===//
#ifndef FUSEVM_UNITTESTS_TESTUTIL_H
#define FUSEVM_UNITTESTS_TESTUTIL_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/VM/VM.h"

#include <string>
#include <string_view>
#include <vector>

namespace fusevm::test {

/// What a run printed and how it ended.
struct Outcome {
  std::string Out;
  int Code = 0;      ///< exit code as the tool would give it
  std::string Err;   ///< the diagnostic, formatted as the tool prints it
  RunResult Result;
};

/// Assembles \p Src (file name "t.fasm"), verifies and runs it on \p Vm.
Outcome runText(std::string_view Src, std::vector<std::string> Args = {},
                std::string Input = "", VM *Vm = nullptr,
                RunOptions Opts = RunOptions());
/// Runs an already built chunk.
Outcome runChunk(const Chunk &C, VM &Vm, RunOptions Opts = RunOptions(),
                 std::string Input = "");
/// Assembles or fails the test.
Chunk assembleOk(std::string_view Src);
/// The first diagnostic of an llvm::Error (consumed), "" for success.
std::string errorText(llvm::Error E, int *Code = nullptr);
/// One JIT engine (the runtime's helpers registered) for the whole test
/// program, created on first use.
JitEngine &engine();

} // namespace fusevm::test

#endif
