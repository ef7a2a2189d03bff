//===- CodeGen.h - IR to machine code, for the JIT and AOT ------*- C++ -*-===//
//
// \file
// What turns a lowered module into an object file, shared by the JIT
// engine and the ahead-of-time compiler: the target machine (always PIC,
// small code model: DESIGN.md), the IR optimisation pipeline of each level,
// and object or assembly emission.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_JIT_CODEGEN_H
#define FUSEVM_LIB_JIT_CODEGEN_H

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace fusevm::jit {

struct TargetOptions {
  std::string Triple;   ///< empty: this machine
  std::string CPU;      ///< empty: this machine's (with its features)
  std::string Features; ///< extra "+feat,-feat"; with an explicit CPU only
  unsigned OptLevel = 2;
};

/// Initialises LLVM's targets once per process.
void initializeTargets();

/// The target machine for \p O.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &O);

/// A short description of \p TM that names everything its code depends on
/// (triple, CPU, features, level): part of the names and cache keys of
/// compiled code.
std::string targetKey(const llvm::TargetMachine &TM, unsigned OptLevel);

/// The IR optimiser of one level, built once and run on many modules
/// (setting a pipeline up costs ≈0.7 ms; a JIT compiles many modules).
class Optimizer {
public:
  /// Level 0: no passes. \p Baseline: the one pass baseline compiles run
  /// (allocas to SSA values), whatever \p Level.
  Optimizer(llvm::TargetMachine *TM, unsigned Level, bool Baseline = false);
  ~Optimizer();
  void run(llvm::Module &M);

private:
  struct Pipeline;
  llvm::TargetMachine *TM;
  unsigned Level;
  bool Baseline;
  std::unique_ptr<Pipeline> P;
};

/// The object file of \p M.
llvm::Expected<std::string> emitObject(llvm::Module &M,
                                       llvm::TargetMachine &TM);
/// Its assembly (for --dump=asm; \p M is left as it was).
std::string emitAssembly(const llvm::Module &M, llvm::TargetMachine &TM);

} // namespace fusevm::jit

#endif // FUSEVM_LIB_JIT_CODEGEN_H
