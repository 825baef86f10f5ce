#!/usr/bin/env bash
# Generation latency benchmark -> results/bench/generate_latency.{md,json,png}: one 10-s clip at
# batch 1 through `vrobin generate`'s stages (bench/bench_generate.c) with the `small` model
# (random weights): KV cache on at 5/10/20/50 Euler steps with LocDiT through the C kernel and
# through libtorch ops (back to back at each step count), the C kernel on two threads at 20
# steps, KV cache off at 5/20. ~8-10 min on 2 cores.
# usage: bench/run_generate_bench.sh [key=value ...]   (config overrides, e.g. runtime.torch_threads=2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/bench_generate_work}
CONFIG=${CONFIG:-configs/model/small.yaml}
REPEATS=${REPEATS:-3}
. bench/generate_setup.sh # bench_generate built, WORK/clip.mp4 written
out=results/bench/generate_latency
"$BUILD/bench_generate" "$WORK/clip.mp4" "$CONFIG" --repeats "$REPEATS" --steps 5,10,20,50 --no-kv 5,20 \
    --fast both --two-threads 20 \
    --json "$out.json.tmp" --md "$out.md.tmp" --dat "$WORK/stages.dat" \
    --commit "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --command "bench/run_generate_bench.sh $* (= $BUILD/bench_generate CLIP $CONFIG --repeats $REPEATS --steps 5,10,20,50 --no-kv 5,20 --fast both --two-threads 20 $*)" \
    "$@"
mv "$out.json.tmp" "$out.json"
mv "$out.md.tmp" "$out.md"
if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal pngcairo size 1100,560 noenhanced
set output "$out.png.tmp"
set title "vrobin generate, $(basename "$CONFIG" .yaml) model (random weights), one 10-s clip at batch 1: seconds per stage"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set ylabel "seconds per 10-s clip"
set key outside right top
set grid ytics
set xtics rotate by -30
titles = "features planner RITE LocDiT Griffin-Lim mux"
plot for [i=2:7] "$WORK/stages.dat" using i:xtic(1) title word(titles, i - 1)
GP
    mv "$out.png.tmp" "$out.png"
    printf "\n![stage split: seconds per stage for each setting](generate_latency.png)\n" >>"$out.md"
fi
cat "$out.md"
