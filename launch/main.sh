#!/usr/bin/env bash
# The main job on a bare machine, on the embedded default (SynthV2M tiny):
#   install + build -> vrobin doctor -> SynthV2M tiny -> HDF5 shards (train, test-id) -> verify
#   -> train the tiny Video-Robin model, stage 1 (text -> music) then stage 2 (video + text)
#   -> loss curves (PNG) -> export -> music for a test video (mp4) -> vrobin eval on test-id (with
#   both oracle rows) -> the table printed, plots and the HTML report -> wrapper and data benchmarks.
# Outputs go to runs/main/ (synth/, shards/, runs/, stage*.png, generated.mp4, results/, report/).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
V=build/vrobin
OUT=runs/main
mkdir -p "$OUT"

echo "== vrobin doctor =="
$V doctor

echo "== SynthV2M tiny -> $OUT/synth =="
$V data synth tiny "$OUT/synth"

echo "== shards -> $OUT/shards =="
$V data build configs/data/synth_tiny.yaml data.manifest="$OUT/synth/train.jsonl" data.out_dir="$OUT/shards"
$V data build configs/data/synth_tiny.yaml data.manifest="$OUT/synth/test-id.jsonl" data.out_dir="$OUT/shards" \
    data.name=test-id data.norm_from="$OUT/shards/train-00000.h5"
$V data verify "$OUT"/shards/*.h5
$V inspect "$OUT/shards/train-00000.h5" > "$OUT/inspect.txt"
head -12 "$OUT/inspect.txt"

echo "== training (tiny model): stage 1, then stage 2 from stage 1 =="
train_args=(run.dir="$OUT/runs" run.overwrite=true "data.shards=[$OUT/shards/train-00000.h5]")
$V train configs/experiments/synth_tiny_stage1.yaml "${train_args[@]}"
$V train configs/experiments/synth_tiny_stage2.yaml "${train_args[@]}" train.init_from="$OUT/runs/synth_tiny_stage1"
$V plot "$OUT/runs/synth_tiny_stage1" -o "$OUT/stage1.png"
$V plot "$OUT/runs/synth_tiny_stage2" -o "$OUT/stage2.png"

echo "== export and generate =="
$V export "$OUT/runs/synth_tiny_stage2" -o "$OUT/robin.safetensors"
$V generate --model "$OUT/robin.safetensors" --video "$OUT/synth/test-id/test-id-000000.mp4" \
    --text "Bright piano playing a lively melody" -o "$OUT/generated.mp4" --seed 1

echo "== evaluation on SynthV2M tiny test-id (reference: val) =="
(cd "$OUT" && ../../$V eval ../../configs/eval/synth_tiny.yaml --model robin.safetensors eval.out_dir=results)
$V table "$OUT/results/synth_tiny_id" -o "$OUT/results/table.md" --preset main --plot "$OUT/results/plots"
$V report "$OUT/results/synth_tiny_id" -o "$OUT/report/report.html" --max-clips 3
sed -n '/^| system/,/^$/p' "$OUT/results/table.md"
echo "table: $OUT/results/table.md, plots: $OUT/results/plots/, report: $OUT/report/report.html"

echo "== benchmarks =="
bench/run_wrapper_bench.sh
bench/run_data_bench.sh
