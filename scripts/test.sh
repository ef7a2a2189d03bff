#!/usr/bin/env bash
# Set up (packages, configure, build) and run every test: unit tests,
# lit + FileCheck, the conformance suite, the ASan/UBSan mutation fuzzer and
# the embedding example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# -V shows each runner's own counts (conformance, fuzz inputs, lit, gtest).
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -V "$@"
