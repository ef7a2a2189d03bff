//===- Lower.h - Verified bytecode to LLVM IR -------------------*- C++ -*-===//
//
// \file
// The one lowering every native tier shares (DESIGN.md "JIT on ORC"): a
// function of a verified chunk, as written in the chunk (fused ops are
// expanded here, from Core/FusedOps.def), becomes LLVM IR. A kind analysis
// proves which kinds each stack entry and slot can hold, so int and float
// code is emitted inline without checks where it is proven, with checks
// where it is not, and every other op calls the runtime helper the
// interpreter's semantics live in.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_JIT_LOWER_H
#define FUSEVM_LIB_JIT_LOWER_H

#include "fusevm/JIT/Native.h"

#include "llvm/IR/Module.h"

#include <string>

namespace fusevm {

/// Names of the functions lowerFunction defines for one request.
struct LoweredNames {
  std::string Fast;  ///< fastcc {i64, i8} (ctx, i32 depth, p0, k0, ...)
  std::string Entry; ///< i8 (ctx, args, out): NativeEntryFn
  std::string Osr;   ///< i8 (ctx, slots, stack, out): NativeOsrFn, or ""
};

/// Defines the functions of \p R in \p M, named \p Prefix + ".fast",
/// ".entry" and ".osr". The module's contents depend on nothing but the
/// request and the prefix.
LoweredNames lowerFunction(llvm::Module &M, const JitRequest &R,
                           const std::string &Prefix,
                           const std::vector<class JitExtension *> *Ext = nullptr);

/// What function \p R.Func does with values, under \p R's parameter kinds
/// and speculation: the ahead-of-time compiler's whole-program analyses
/// are built on it.
struct SiteKinds {
  /// Every call it makes: (callee, a mask per argument).
  std::vector<std::pair<uint32_t, std::vector<KindMask>>> Calls;
  /// Every write to a global (SetVar, DeclareVar, SetArray, SetHash) or to
  /// the array in one (ArraySet, ArrayPush): the op, the global's name
  /// index and the kinds of the value written.
  struct Store {
    Opcode Op;
    uint32_t Name;
    KindMask Value;
    /// The value is a new empty array (`MakeArray 0`, a frontend's `{}`),
    /// as far as the straight-line code before the write shows.
    bool EmptyArray = false;
  };
  std::vector<Store> Stores;
};
SiteKinds siteKinds(const JitRequest &R);

} // namespace fusevm

#endif // FUSEVM_LIB_JIT_LOWER_H
