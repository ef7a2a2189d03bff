//===- fusevm/Core/Chunk.h - A compilation unit (isa.md §1) ------*- C++ -*-===//
//
// \file
// A chunk: the op array, constant pool, name pool, function table, line
// table, source name and declared extended ops. Chunks come from the
// assembler, the .fbc reader or a frontend's ChunkBuilder; nothing runs
// before the verifier has accepted one.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_CORE_CHUNK_H
#define FUSEVM_CORE_CHUNK_H

#include "fusevm/Core/Opcode.h"
#include "fusevm/Core/Value.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fusevm {

/// Format version of the instruction set and of .fbc files.
constexpr uint32_t FormatVersion = 1;

struct FunctionDef {
  uint16_t Name;  ///< name pool index
  uint8_t Arity;  ///< parameters, in slots 0 .. Arity-1
  uint32_t Entry; ///< first op
  uint32_t End;   ///< one past the last op
};

struct ExtOpDecl {
  uint16_t Id;
  uint16_t Pops;
  uint16_t Pushes;
};

struct Chunk {
  std::string SourceName;
  std::vector<Instr> Ops;
  std::vector<uint32_t> Lines; ///< one per op; 0 = unknown
  std::vector<Value> Constants; ///< int, float, str, bool or undef
  std::vector<std::string> Names;
  std::vector<FunctionDef> Functions;
  std::vector<ExtOpDecl> ExtOps;

  /// The op hash (isa.md §1; docs/op-hash.md): stable across processes,
  /// builds and machines.
  uint64_t opHash() const;
  /// SHA-256 (32 bytes) of everything compiled code depends on, pools in
  /// their order: ops, constants, names, functions, extended ops (not the
  /// line table or the source name). With the op hash, the key of every
  /// piece of native code made for the chunk (docs/op-hash.md).
  std::string contentDigest() const;

  const ExtOpDecl *findExtOp(uint16_t Id) const {
    for (const ExtOpDecl &E : ExtOps)
      if (E.Id == Id)
        return &E;
    return nullptr;
  }
  uint32_t lineOf(size_t Ip) const { return Ip < Lines.size() ? Lines[Ip] : 0; }
  std::string functionName(size_t F) const {
    uint16_t N = Functions[F].Name;
    return N < Names.size() ? Names[N] : "?";
  }
};

/// XXH64 of \p Len bytes (the published algorithm, seed \p Seed).
uint64_t xxh64(const void *Data, size_t Len, uint64_t Seed = 0);

} // namespace fusevm

#endif // FUSEVM_CORE_CHUNK_H
