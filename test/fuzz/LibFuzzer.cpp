//===- LibFuzzer.cpp - libFuzzer entry for longer runs on demand ----------===//
//
// Build with clang (docs/testing.md):
//   CC=clang-19 CXX=clang++-19 cmake -S . -B build-fuzz -G Ninja \
//     -DFUSEVM_LIBFUZZER=ON && ninja -C build-fuzz fusevm-libfuzzer
//   build-fuzz/test/fuzz/fusevm-libfuzzer -max_total_time=600 CORPUS_DIR
//
//===----------------------------------------------------------------------===//

#include "FuzzOne.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  fusevm::fuzz::fuzzOne(Data, Size);
  return 0;
}
