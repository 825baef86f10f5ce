#!/bin/sh
# End to end for the autoregressive frame-level baseline (model.kind ar_frames, models/arframe.h):
# SynthV2M tiny shards -> stage 1 + stage 2 (configs/experiments/synth_ar*.yaml at test size, a few
# steps) -> vrobin export -> vrobin generate: a wav as long as the video, same seed same bytes, a
# 20-s video over half-overlapping windows (each continuing the frames before it), batch mode over
# a manifest, and a clear error for a flow-solver option the model does not have.
# usage: test_arframe_e2e.sh VROBIN SOURCE_DIR WORK_DIR
VROBIN=$1 SRC=$2 W=$3
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data
near() { awk -v a="$1" -v b="$2" -v e="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= e) }'; }
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn

# ---- a tiny trained baseline: the experiment configs, shrunk ----
SMALL="data.shards=[shards/train-00000.h5] model.d_model=32 model.n_heads=2 model.planner_layers=2 model.text_layers=1
       train.steps=6 train.warmup_steps=2 train.batch_size=4 train.ckpt_every=6"
synth_tiny_data "$VROBIN" "$SRC" || { echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" train "$SRC/configs/experiments/synth_ar_stage1.yaml" $SMALL >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_ar.yaml" $SMALL >>log.txt 2>&1 ||
    { cat log.txt; echo "0 passed, 1 failed"; exit 1; }
check 'grep -q ar_frames runs/synth_ar/config.json && grep -q "\"ce\"" runs/synth_ar/metrics.jsonl' \
    "stage 2 did not train the ar_frames model (or logged no cross-entropy)"

"$VROBIN" export runs/synth_ar -o model.safetensors 2>err.txt
check '[ $? -eq 0 ] && [ -s model.safetensors ]' "export failed: $(cat err.txt)"

# ---- one video: music of its length, deterministic per seed ----
V=synth/test-id/test-id-000000.mp4
for s in 1 1b 2; do
    "$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o "s$s.wav" --seed "${s%b}" \
        --griffin-lim-iters 4 2>err.txt || bad "generate (seed $s): $(cat err.txt)"
done
check 'near "$(dur s1.wav)" "$(dur $V)" 0.02' "wav lasts $(dur s1.wav) s, the video $(dur $V) s"
check 'cmp -s s1.wav s1b.wav' "same seed gave different wav files"
check '! cmp -s s1.wav s2.wav' "different seeds gave the same wav file"
"$VROBIN" generate --model model.safetensors --video $V -o heun.wav --solver heun 2>err.txt
check '[ $? -ne 0 ] && grep -q "no flow solver" err.txt && [ ! -e heun.wav ]' \
    "--solver heun on ar_frames: expected a clear error and no file, got: $(cat err.txt)"
"$VROBIN" generate --model model.safetensors --video $V -o bf16.wav --precision bf16 2>err.txt
check '[ $? -ne 0 ] && grep -q "precision bf16 is a mode of the Video-Robin LocDiT kernel" err.txt && [ ! -e bf16.wav ]' \
    "--precision bf16 on ar_frames: expected a clear error and no file, got: $(cat err.txt)"

# ---- a 20-s video: several windows, the later ones continuing the frames already made ----
# (the windows are generate's, tested under the sanitizers by infer_export_generate; here only in Release)
if [ "${VROBIN_TEST_SANITIZED:-0}" != 1 ]; then
for i in 0 1; do echo "file 'synth/test-id/test-id-00000$i.mp4'"; done >concat.txt
ffmpeg -v error -y -f concat -safe 0 -i concat.txt -map 0:v -c copy long.mp4 || bad "ffmpeg concat"
VROBIN_LOG=info "$VROBIN" generate --model model.safetensors --video long.mp4 -o long.wav --seed 3 \
    --griffin-lim-iters 4 2>long.txt || bad "generate 20 s: $(cat long.txt)"
check 'near "$(dur long.wav)" "$(dur long.mp4)" 0.02' "20-s video: music lasts $(dur long.wav) s, video $(dur long.mp4) s"
check 'grep -Eq "in [3-9] window\(s\)" long.txt' "20-s video: expected 3 or more windows: $(cat long.txt)"
fi

# ---- batch mode: one wav per clip ----
head -3 synth/test-id.jsonl >synth/three.jsonl  # video paths are relative to the manifest
"$VROBIN" generate --model model.safetensors --manifest synth/three.jsonl --out b3 --batch 3 --seed 5 \
    --griffin-lim-iters 4 2>b3.txt || bad "batch 3: $(cat b3.txt)"
check '[ "$(ls b3/*.wav | wc -l)" -eq 3 ]' "batch mode: expected 3 wav files, got $(ls b3)"
check 'near "$(dur b3/$(ls b3 | grep wav | head -1))" 10 0.02' "batch mode: a 10-s clip gave $(dur b3/*.wav | head -1) s"

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
