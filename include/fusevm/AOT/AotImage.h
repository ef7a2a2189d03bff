//===- fusevm/AOT/AotImage.h - What an AOT object carries --------*- C++ -*-===//
//
// \file
// An object file from `fusevmc --emit=obj` holds one FusevmAotImage: the
// program's chunk (as .fbc bytes: the runtime verifies it, reports
// FILE:LINE from its line table and interprets whatever compiled code hands
// back), the compiled code of every function, and the versions it needs.
// Its one exported symbol is
//
//   int fusevm_aot_entry(int argc, char **argv);
//
// which calls fusevm_aot_run(&image, argc, argv) in the fusevm runtime
// library (libfusevm-runtime.a). A C or C++ program may call
// fusevm_aot_entry from its own main; linked without one, the runtime
// library's main calls it. Plain C layout: the compiler emits it as LLVM
// constants.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_AOT_AOTIMAGE_H
#define FUSEVM_AOT_AOTIMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 'FVMA', little endian.
#define FUSEVM_AOT_MAGIC 0x414d5646u
/// The contract between compiled code and the runtime: NativeCtx's layout,
/// the helpers' names and signatures, this struct. Bumped when any changes.
#define FUSEVM_AOT_ABI 2u

struct FusevmAotFunction {
  void *Entry; /* NativeEntryFn, or null: interpreted */
  void *Fast;  /* its fastcc body */
  /* The same function without speculation on the kinds globals hold
     (equal to Entry and Fast when it makes none): what the runtime hands
     out once a speculation keeps failing. */
  void *PlainEntry;
  void *PlainFast;
};

struct FusevmAotImage {
  uint32_t Magic;        /* FUSEVM_AOT_MAGIC */
  uint32_t Abi;          /* FUSEVM_AOT_ABI of the compiler */
  uint32_t Format;       /* instruction set / .fbc format version */
  uint32_t NumFunctions; /* entries in Functions: the chunk's function table */
  const char *Version;   /* fusevm version of the compiler */
  const uint8_t *Chunk;  /* the program as .fbc bytes */
  uint64_t ChunkSize;
  const struct FusevmAotFunction *Functions;
};

/// Runs the program of \p Image with ARGV = argv[1..]: exits as fusevm
/// would (the status register, 70 after a runtime error, 65 when the
/// image does not fit this runtime).
int fusevm_aot_run(const struct FusevmAotImage *Image, int argc, char **argv);

/// Defined by every AOT object.
int fusevm_aot_entry(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif // FUSEVM_AOT_AOTIMAGE_H
