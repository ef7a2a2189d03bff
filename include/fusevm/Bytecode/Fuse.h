//===- fusevm/Bytecode/Fuse.h - Superinstruction fusion ----------*- C++ -*-===//
//
// \file
// `fusevmc --fuse`: rewrites unfused op sequences into the fused
// superinstructions of isa.md §3 wherever that is exactly equivalent. Each
// fused op is defined as its expansion, so the rewrite only has to match
// expansions and make sure no jump lands inside a matched sequence.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_BYTECODE_FUSE_H
#define FUSEVM_BYTECODE_FUSE_H

#include "fusevm/Core/Chunk.h"

namespace fusevm {

struct FuseStats {
  unsigned OpsBefore = 0, OpsAfter = 0;
  unsigned Fused[NumOpcodes] = {}; ///< fused ops created, by opcode
};

/// The fused form of \p C (a verified chunk); the result verifies too.
Chunk fuseChunk(const Chunk &C, FuseStats *Stats = nullptr);

} // namespace fusevm

#endif // FUSEVM_BYTECODE_FUSE_H
