#!/usr/bin/env bash
# Data-path benchmark -> results/bench/data.md: build throughput (1 and 2 jobs), shard I/O, loader.
# Uses the SynthV2M `tiny` train split (24 clips of 10 s), generated into WORK if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_data_work}
cmake --build "$BUILD" --target bench_data vrobin >/dev/null
mkdir -p "$WORK" results/bench
[ -f "$WORK/synth/train.jsonl" ] || "$BUILD/vrobin" data synth tiny "$WORK/synth"
rm -rf "$WORK"/build_* "$WORK"/io_*.h5
out=results/bench/data.md
{
  echo "# Data-path benchmark"
  echo
  echo "- command: \`bench/run_data_bench.sh\` (\`$BUILD/bench_data $WORK/synth/train.jsonl $WORK\`)"
  echo "- commit $(git rev-parse --short=12 HEAD), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo "- clips: SynthV2M tiny train (24 clips, 10 s, 128x128 H.264 @ 24 fps + AAC, separate FLAC music) -> 10 fps 64x64, 16 kHz, 64-bin log-mel"
  echo
  "$BUILD/bench_data" "$WORK/synth/train.jsonl" "$WORK"
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
