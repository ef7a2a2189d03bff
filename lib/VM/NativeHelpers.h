//===- NativeHelpers.h - Declarations of the native runtime helpers -------===//
//
// \file
// Every extern "C" helper compiled code may call (include/fusevm/JIT/Native.h
// states the convention), listed once in FUSEVM_NATIVE_HELPERS so that the
// symbol table handed to the JIT cannot miss one.
//
//===----------------------------------------------------------------------===//
#ifndef FUSEVM_LIB_VM_NATIVEHELPERS_H
#define FUSEVM_LIB_VM_NATIVEHELPERS_H

#include "fusevm/JIT/Native.h"

extern "C" {
using fusevm::HeapObj;
using fusevm::NativeCtx;
using fusevm::Value;

void fvm_rt_destroy(HeapObj *O);
uint8_t fvm_rt_arith(NativeCtx *, uint32_t Op, Value *A, Value *B, Value *Out);
void fvm_rt_unary(uint32_t Op, Value *A, Value *Out);
uint8_t fvm_rt_numcmp(uint32_t Op, Value *A, Value *B);
int64_t fvm_rt_spaceship(Value *A, Value *B);
int64_t fvm_rt_bitop(uint32_t Op, Value *A, Value *B);
uint8_t fvm_rt_truthy(Value *A);
int64_t fvm_rt_to_int(Value *A);
uint8_t fvm_rt_strop(NativeCtx *, uint32_t Op, Value *A, Value *B, Value *Out);
uint8_t fvm_rt_global(NativeCtx *, uint32_t Op, uint32_t N, Value *A,
                      Value *B, Value *Out);
uint8_t fvm_rt_slot_array(NativeCtx *, uint32_t Op, Value *Slot, Value *A,
                          Value *B, Value *Out);
uint8_t fvm_rt_make(NativeCtx *, uint32_t Op, Value *Items, uint32_t N,
                    Value *Out);
uint8_t fvm_rt_range(NativeCtx *, Value *Args, uint32_t N, Value *Out);
uint8_t fvm_rt_builtin(NativeCtx *, uint32_t Id, Value *Args, uint32_t N,
                       Value *Out);
// In Interpreter.cpp: they need the running interpreter.
uint8_t fvm_rt_host_builtin(NativeCtx *, uint32_t Id, Value *Args, uint32_t N,
                            Value *Out);
uint8_t fvm_rt_extended(NativeCtx *, uint32_t Ip, Value *Args, Value *Results);
uint8_t fvm_rt_print(NativeCtx *, uint32_t Newline, Value *Args, uint32_t N);
uint8_t fvm_rt_readline(NativeCtx *, Value *Out);
uint8_t fvm_rt_call(NativeCtx *, uint32_t F, Value *Args, Value *Out);
uint8_t fvm_rt_interp_call(NativeCtx *, uint32_t F, Value *Args, Value *Out);
uint8_t fvm_rt_tier_up(NativeCtx *, uint32_t F, uint32_t Ip, Value *Slots,
                       Value *Stack, uint32_t Height);
uint8_t fvm_rt_resume(NativeCtx *, uint32_t F, uint32_t Ip, Value *Slots,
                      Value *Stack, uint32_t Height, Value *Out);
}

#define FUSEVM_NATIVE_HELPERS(X)                                               \
  X(fvm_rt_destroy) X(fvm_rt_arith) X(fvm_rt_unary) X(fvm_rt_numcmp)           \
  X(fvm_rt_spaceship) X(fvm_rt_bitop) X(fvm_rt_truthy) X(fvm_rt_to_int)        \
  X(fvm_rt_strop) X(fvm_rt_global) X(fvm_rt_slot_array) X(fvm_rt_make)         \
  X(fvm_rt_range) X(fvm_rt_builtin) X(fvm_rt_host_builtin)                     \
  X(fvm_rt_extended) X(fvm_rt_print) X(fvm_rt_readline) X(fvm_rt_call)         \
  X(fvm_rt_interp_call) X(fvm_rt_resume) X(fvm_rt_tier_up)

#endif // FUSEVM_LIB_VM_NATIVEHELPERS_H
