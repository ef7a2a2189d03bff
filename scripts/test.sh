#!/usr/bin/env bash
# Set up (packages, configure, build) and run every test: unit tests,
# lit + FileCheck, the conformance suite under every tier, the fuzzers, the
# embedding example and the benchmark harness in quick mode; then the same
# code built with ASan + UBSan (unit tests, conformance under every mode,
# the JIT differential fuzzer) and with switch dispatch (conformance).
#
#   scripts/test.sh            everything (what CI runs)
#   FUSEVM_TEST_EXTRA=0 scripts/test.sh
#                              only the main build's tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# -V shows each runner's own counts (conformance, fuzz inputs, lit, gtest).
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -V "$@"

[ "${FUSEVM_TEST_EXTRA:-1}" = "0" ] && exit 0
SUITE="$(cd .. && pwd)/shared/conformance"
MODES=(--mode off --mode auto --mode linear --mode block --mode hot
       --mode fbc --mode fuse --mode warm --mode trace1 --mode trace-stress)

echo "== ASan + UBSan build (build-asan): unit tests, conformance, JIT fuzzer"
if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFUSEVM_SANITIZE=ON -DFUSEVM_SANITIZER_TESTS=OFF >/dev/null
fi
cmake --build build-asan --target FusevmUnitTests fusevm fusevmc \
  fusevm-jit-diff-fuzz
# LLVM itself is not instrumented; its static constructors and the JIT's
# code memory live as long as the process, so leaks are checked by the
# unit test that runs 10,000 failing programs, not at exit.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/unittests/FusevmUnitTests --gtest_brief=1
python3 test/conformance/run.py --fusevm build-asan/tools/fusevm/fusevm \
  --fusevmc build-asan/tools/fusevmc/fusevmc --suite "$SUITE" "${MODES[@]}" \
  --timeout 300
build-asan/test/fuzz/fusevm-jit-diff-fuzz --programs 60 --seed 7
for what in corrupt concurrent; do
  python3 test/cache/run.py --fusevm build-asan/tools/fusevm/fusevm \
    --fusevmc build-asan/tools/fusevmc/fusevmc --programs bench --runs 20 "$what"
done

echo "== switch-dispatch build (build-switch): conformance"
if [ ! -f build-switch/build.ninja ]; then
  cmake -S . -B build-switch -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFUSEVM_COMPUTED_GOTO=OFF -DFUSEVM_BUILD_TESTS=OFF >/dev/null
fi
cmake --build build-switch --target fusevm fusevmc
python3 test/conformance/run.py --fusevm build-switch/tools/fusevm/fusevm \
  --fusevmc build-switch/tools/fusevmc/fusevmc --suite "$SUITE" "${MODES[@]}"
echo "test.sh: all passed"
