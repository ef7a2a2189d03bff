//===- fusevm/AOT/AOT.h - Ahead-of-time compilation ---------------*- C++ -*-===//
//
// \file
// `fusevmc --emit=llvm|obj`: every function of a verified chunk through the
// one lowering and the JIT's code generation, with kinds from a
// whole-program analysis instead of a run's profile; the object carries the
// chunk and exports fusevm_aot_entry (AotImage.h). No LLVM header here.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_AOT_AOT_H
#define FUSEVM_AOT_AOT_H

#include "fusevm/Core/Chunk.h"
#include "fusevm/JIT/Native.h"
#include "fusevm/Verify/Verifier.h"

#include "llvm/Support/Error.h"

#include <string>

namespace fusevm {

struct AotOptions {
  unsigned OptLevel = 2;
  std::string Triple; ///< empty: this machine
  std::string CPU;    ///< empty: this machine's (with its features)
};

enum class AotOutput { LLVM, Object };

/// LLVM IR text (AotOutput::LLVM) or a relocatable object file for \p C.
llvm::Expected<std::string> compileAot(const Chunk &C, const VerifyInfo &Info,
                                       const AotOptions &O, AotOutput Kind);

/// Parameter kinds of each function from the arguments at its call sites,
/// over the whole program (an optimistic fixpoint, so that a recursive
/// call's `n - 1` keeps the int the outside call passes; a function called
/// with one number kind everywhere gets it, guarded; else AnyKind).
std::vector<std::vector<KindMask>> wholeProgramParamKinds(const Chunk &C,
                                                          const VerifyInfo &Info);

/// What the compiled code may speculate on the kinds globals hold, by name
/// index (JitRequest::GlobalKinds and ElementKinds), from every write to
/// them in the whole program: a global only ever given one number kind (a
/// counter, a constant) and an array only ever filled with one (a field of
/// records, a sieve) get it, guarded; 0 elsewhere. Ahead of time there is
/// no run to take a snapshot from, so this is the JIT's snapshot made from
/// the program text: an optimistic fixpoint, so that `n = n + 1` after
/// `n = 0` keeps n an int.
struct GlobalSpeculation {
  std::vector<KindMask> Vars, Elements;
};
GlobalSpeculation
wholeProgramGlobalKinds(const Chunk &C, const VerifyInfo &Info,
                        const std::vector<std::vector<KindMask>> &Params);

} // namespace fusevm

#endif // FUSEVM_AOT_AOT_H
