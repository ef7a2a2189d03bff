//===- fusevm/Verify/Verifier.h - isa.md §6 ----------------------*- C++ -*-===//
//
// \file
// Verify once, then trust: a chunk the verifier accepts has, at every
// reachable op, one operand-stack height and one scope state whatever path
// reaches it, so the interpreter needs no stack checks and the JIT maps
// stack positions straight to SSA values. The facts computed here are kept
// for both.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_VERIFY_VERIFIER_H
#define FUSEVM_VERIFY_VERIFIER_H

#include "fusevm/Core/Chunk.h"

#include "llvm/Support/Error.h"

#include <unordered_map>
#include <vector>

namespace fusevm {

/// What the host provides beyond the chunk.
struct HostEnv {
  /// Host builtin id (>= 256) -> argc it takes, or -1 for any argc.
  std::unordered_map<uint16_t, int> Builtins;
};

/// Argument count of standard builtin \p Id (isa.md §4), or -1 if unassigned.
int standardBuiltinArity(uint16_t Id);
/// Name of standard builtin \p Id, or "" if unassigned.
std::string_view standardBuiltinName(uint16_t Id);
constexpr uint16_t NumStandardBuiltins = 27;
constexpr uint16_t FirstHostBuiltin = 256;

struct FunctionFacts {
  uint32_t NumSlots;   ///< max(arity, 1 + highest slot index used)
  uint32_t MaxStack;   ///< highest operand-stack height reached
  uint32_t MaxDepth;   ///< deepest scope nesting
};

struct VerifyInfo {
  /// Operand-stack height before each op; -1 where the op is unreachable.
  std::vector<int32_t> Height;
  /// Open scopes (PushFrame) before each op.
  std::vector<uint16_t> Depth;
  /// Stack height to restore at each PopFrame (its PushFrame's height).
  std::vector<uint16_t> PopHeight;
  /// True where a basic block starts.
  std::vector<bool> Leader;
  /// Function (index into Chunk::Functions) that holds each op.
  std::vector<uint32_t> FuncOf;
  /// Callee function index of each Call op (else 0).
  std::vector<uint32_t> Callee;
  /// Indexed like Chunk::Functions.
  std::vector<FunctionFacts> Funcs;
  uint32_t Main = 0;
};

/// Checks \p C against isa.md §6. Errors are exit code 65 with FILE:LINE
/// from the chunk's source name and line table.
llvm::Expected<VerifyInfo> verify(const Chunk &C, const HostEnv &Env = {});

} // namespace fusevm

#endif // FUSEVM_VERIFY_VERIFIER_H
