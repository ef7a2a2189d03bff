//===- FuzzOne.h - One hostile input through every reader -------*- C++ -*-===//
#ifndef FUSEVM_TEST_FUZZ_FUZZONE_H
#define FUSEVM_TEST_FUZZ_FUZZONE_H

#include <cstddef>
#include <cstdint>

namespace fusevm::fuzz {

enum class Fate { Rejected, Ran, RuntimeError };

/// Loads \p Data as .fbc or .fasm; when accepted, checks the round trips
/// (text and binary keep the op hash) and runs it with a budget and lowered
/// limits. Aborts on a broken property; sanitizers catch the rest.
Fate fuzzOne(const uint8_t *Data, size_t Size);

} // namespace fusevm::fuzz

#endif
