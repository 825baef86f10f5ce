#!/usr/bin/env bash
# Wrapper benchmark: C vs Python torch in one run -> results/bench/wrapper.{md,json}
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -x "$BUILD/bench_wrapper" ] || cmake --build "$BUILD" --target bench_wrapper
exec /usr/bin/python3 bench/bench_wrapper.py "$BUILD" results/bench
