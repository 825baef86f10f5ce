#!/usr/bin/env bash
# Trainer benchmark -> results/bench/train.md: steps/s and samples/s of the test model (mlp_test)
# at 1 rank and 2 MPI ranks, two widths, batch 32, real shard shapes (bench/bench_train.c).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_train_work}
MPIRUN=${MPIRUN:-mpirun}
cmake --build "$BUILD" --target bench_train >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$WORK"
mkdir -p results/bench
out=results/bench/train.md
{
  echo "# Trainer benchmark (test model)"
  echo
  echo "- command: \`bench/run_train_bench.sh\` (\`$BUILD/bench_train $WORK $MPIRUN configs\`)"
  echo "- commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo "- model: \`mlp_test\` (train/mlp_test.c), global batch 32 clips of [500, 64] latents + [100, 31] video"
  echo "  features from 4 shards written by the benchmark; 1 rank: no mpirun, default threads (1 torch,"
  echo "  OpenBLAS default); 2 ranks: \`mpirun -np 2\`, 1 torch + 1 OpenBLAS thread each (16 clips per rank)."
  echo "- medians over steps 11..end of each run's metrics.jsonl (\`step_s\`, \`allreduce_s\`); data wait is the"
  echo "  mean share of the step spent waiting for the loader. The real model's benchmark comes with it."
  echo
  "$BUILD/bench_train" "$WORK" "$MPIRUN" configs
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
