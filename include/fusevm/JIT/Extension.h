//===- fusevm/JIT/Extension.h - Frontends' ops in native code ----*- C++ -*-===//
//
// \file
// A frontend that declares extended ops (isa.md `Extended`, `.extop`) runs
// them in the interpreter through the handler it registers with
// VM::registerExtOp; compiled code calls that handler through the runtime.
// A JitExtension lowers them instead, inline, in every native tier (block,
// linear, traces): the frontend emits LLVM IR for its op, and the kind
// analysis learns what its results can be.
//
//   struct AddPayload : fusevm::JitExtension {
//     bool lowerExtendedOp(fusevm::ExtLowering &L) override {
//       if (L.id() != 7 || L.argKinds(0) != fusevm::maskOf(fusevm::ValueKind::Int))
//         return false;                      // the runtime call, as before
//       auto &B = L.builder();
//       L.setResult(0, B.CreateAdd(L.argPayload(0), B.getInt64(L.payload())),
//                   B.getInt8(uint8_t(fusevm::ValueKind::Int)));
//       return true;
//     }
//     fusevm::KindMask resultKinds(uint16_t Id, unsigned) const override {
//       return Id == 7 ? fusevm::AnyKind : fusevm::AnyKind;
//     }
//   } Ext;
//   fusevm::JitOptions JO;
//   JO.Extensions.push_back(&Ext);
//   auto Jit = fusevm::createJitEngine(JO);   // linked in: LLVM is shared
//
// Extensions need the engine linked into the program (createJitEngine,
// library FusevmJIT): the plugin has an LLVM of its own. An embedder that
// also uses the code cache names its extensions' version in
// CacheConfig::ExtraKey, so that code made by another version is never
// found. The op's semantics must be the handler's, exactly (the
// differential tests an embedder should run compare the two).
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_JIT_EXTENSION_H
#define FUSEVM_JIT_EXTENSION_H

#include "fusevm/JIT/Native.h"

#include "llvm/IR/IRBuilder.h"

namespace fusevm {

/// One extended op being lowered.
class ExtLowering {
public:
  virtual ~ExtLowering();
  /// Emits at the op's place; leave it where the code continues.
  virtual llvm::IRBuilder<> &builder() = 0;
  virtual uint16_t id() const = 0;
  /// The op's inline operand (its byte for Extended, its word for
  /// ExtendedWide).
  virtual uint64_t payload() const = 0;
  virtual unsigned numArgs() const = 0;
  /// Argument \p K (0: the deepest): payload (i64), kind byte (i8), and the
  /// kinds it may have (KindMask).
  virtual llvm::Value *argPayload(unsigned K) = 0;
  virtual llvm::Value *argKind(unsigned K) = 0;
  virtual KindMask argKinds(unsigned K) const = 0;
  /// The op consumes its arguments: releases argument \p K (a no-op for
  /// numbers) when the lowering does not keep it in a result.
  virtual void releaseArg(unsigned K) = 0;
  /// Sets result \p K (each of the op's declared results once).
  virtual void setResult(unsigned K, llvm::Value *Payload, llvm::Value *Kind) = 0;
};

class JitExtension {
public:
  virtual ~JitExtension();
  /// Lowers the op inline and returns true (every result set), or returns
  /// false, having emitted nothing: the op calls its handler.
  virtual bool lowerExtendedOp(ExtLowering &L) = 0;
  /// Kinds result \p K of extended op \p Id can have (AnyKind: unknown).
  virtual KindMask resultKinds(uint16_t Id, unsigned K) const { return AnyKind; }
};

} // namespace fusevm

#endif // FUSEVM_JIT_EXTENSION_H
