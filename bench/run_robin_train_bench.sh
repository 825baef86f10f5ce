#!/usr/bin/env bash
# Training step of the Video-Robin `small` model, C vs Python torch in one run, plus `vrobin train`
# at 1 vs 2 MPI ranks -> results/bench/train_robin.{md,json} (bench/bench_robin_train.py).
# About 4 minutes on an idle 2-core machine (each round first waits up to 20 s for other jobs to
# finish). BUILD: the build folder; EXTRA: more options for the Python script (e.g.
# EXTRA="--rounds 5"); BENCH_EXE: a bench_robin_step built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmd="BUILD=$BUILD${BENCH_EXE:+ BENCH_EXE=$BENCH_EXE}${EXTRA:+ EXTRA=\"$EXTRA\"} bench/run_robin_train_bench.sh"
if [ -z "${BENCH_EXE:-}" ]; then
  cmake --build "$BUILD" --target vrobin bench_robin_step >/dev/null
  BENCH_EXE=$BUILD/bench_robin_step
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# shellcheck disable=SC2086
exec /usr/bin/python3 bench/bench_robin_train.py "$BUILD" "$BENCH_EXE" --out results/bench --command "$cmd" ${EXTRA:-}
