#!/usr/bin/env bash
# Quality against sampling cost (issue 9): one trained Video-Robin export scored on SynthV2M test-id
# with the Euler solver at 5/10/20 steps and Heun at 3/5/10 steps (Heun evaluates the velocity
# twice per step, so Heun at N steps costs about Euler at 2N) -> results/solver_sweep.{md,csv} and
# plots/solver_sweep/ (FAD against eval.steps, one curve per solver). Latency per step count and
# solver at batch 1 comes from bench/run_generate_speed_bench.sh (an idle machine); the seconds in
# this table are eval's batched generation, on whatever else the machine was doing.
# usage: bench/run_solver_sweep.sh WORK MODEL [clips (default 24)]
#   WORK: a folder with synth/ (vrobin data synth), e.g. runs/reproduce_small; MODEL: an export in it
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:?usage: bench/run_solver_sweep.sh WORK MODEL [clips]}
MODEL=${2:?usage: bench/run_solver_sweep.sh WORK MODEL [clips]}
CLIPS=${3:-24}
V=${VROBIN:-$REPO/build/vrobin}
OUT=$REPO/results
cd "$WORK"
for run in euler:5 euler:10 euler:20 heun:3 heun:5 heun:10; do
    solver=${run%%:*} steps=${run##*:}
    "$V" eval "$REPO/configs/eval/synth_small_id.yaml" --model "$MODEL" --name "${solver}_${steps}" \
        eval.name=solver_sweep eval.out_dir=scores eval.solver="$solver" eval.steps="$steps" eval.max_clips="$CLIPS"
done
mkdir -p "$OUT/plots/solver_sweep"
"$V" table scores/solver_sweep -o "$OUT/solver_sweep.md" --csv "$OUT/solver_sweep.csv" \
    --columns fad_mel,fad_inf_clips_mel,per_clip_fad_mel,tempo_acc1,loris_f1,s_per_10s \
    --title "Euler vs Heun at several step counts: $MODEL on SynthV2M test-id ($CLIPS clips)" \
    --plot "$OUT/plots/solver_sweep" --sweep eval.steps --sweep-y fad_mel,fad_inf_clips_mel --group eval.solver
