#!/usr/bin/env bash
# The whole test suite, from a bare machine: install dependencies, build (Release), run ctest;
# then the same suite on an ASan + UBSan build (every C part, libtorch-linked ones included).
# Usage: launch/test.sh [extra ctest args, e.g. -R config]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

launch/setup.sh                                     # packages + build/ (Release)
echo "== ctest (Release build) =="
(cd build && ctest --output-on-failure -j"$JOBS" "$@")

echo "== ctest (ASan + UBSan build) =="
# -O1: the sanitizers' usual level; at -O0 the instrumented C kernels crawl (models_locdit_fast:
# 134 s at -O0 in CI, 54 s at -O1 beside a 2-rank training). Assertions stay on (Debug: no NDEBUG)
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVROBIN_SANITIZE=ON \
    -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" >/dev/null
cmake --build build-asan -j"$JOBS"
# VROBIN_TEST_SANITIZED=1: the end-to-end scripts skip the parts that test results rather than
# code paths (e.g. that a 120-step loss falls); the Release pass above ran them
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   VROBIN_TEST_SANITIZED=1 ctest --output-on-failure -j"$JOBS" -LE reproduce "$@")
