#!/bin/sh
# End to end for the full-sequence DiT baseline (model.kind fullseq_dit, models/fullseq.h):
# SynthV2M tiny shards -> stage 1 + stage 2 (configs/experiments/synth_fullseq*.yaml at test size, a
# few steps) -> vrobin export -> vrobin generate: a wav as long as the video, same seed same bytes,
# a 20-s video over half-overlapping windows, and batch mode over a manifest (batch 1 = batch 3).
# usage: test_fullseq_e2e.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data
near() { awk -v a="$1" -v b="$2" -v e="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= e) }'; }
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn

# ---- a tiny trained baseline: the experiment configs, shrunk ----
SMALL="data.shards=[shards/train-00000.h5] model.d_model=32 model.n_heads=2 model.dit_layers=2 model.text_layers=1
       train.steps=6 train.warmup_steps=2 train.batch_size=4 train.ckpt_every=6"
synth_tiny_data "$VROBIN" "$SRC" || { echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" train "$SRC/configs/experiments/synth_fullseq_stage1.yaml" $SMALL >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_fullseq.yaml" $SMALL >>log.txt 2>&1 ||
    { cat log.txt; echo "0 passed, 1 failed"; exit 1; }
check 'grep -q fullseq_dit runs/synth_fullseq/config.json' \
    "stage 2 did not train the fullseq_dit model"

"$VROBIN" export runs/synth_fullseq -o model.safetensors 2>err.txt
check '[ $? -eq 0 ] && [ -s model.safetensors ]' "export failed: $(cat err.txt)"

# ---- one video: music of its length, deterministic per seed ----
V=synth/test-id/test-id-000000.mp4
for s in 1 1b 2; do
    "$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o "s$s.wav" --seed "${s%b}" \
        --steps 4 2>err.txt || bad "generate (seed $s): $(cat err.txt)"
done
check 'near "$(dur s1.wav)" "$(dur $V)" 0.02' "wav lasts $(dur s1.wav) s, the video $(dur $V) s"
check 'cmp -s s1.wav s1b.wav' "same seed gave different wav files"
check '! cmp -s s1.wav s2.wav' "different seeds gave the same wav file"

# ---- a 20-s video: several windows, the later ones continuing the music already made ----
for i in 0 1; do echo "file 'synth/test-id/test-id-00000$i.mp4'"; done >concat.txt
ffmpeg -v error -y -f concat -safe 0 -i concat.txt -map 0:v -c copy long.mp4 || bad "ffmpeg concat"
VROBIN_LOG=info "$VROBIN" generate --model model.safetensors --video long.mp4 -o long.wav --seed 3 --steps 3 \
    --griffin-lim-iters 4 2>long.txt || bad "generate 20 s: $(cat long.txt)"
check 'near "$(dur long.wav)" "$(dur long.mp4)" 0.02' "20-s video: music lasts $(dur long.wav) s, video $(dur long.mp4) s"
check 'grep -Eq "in [3-9] window\(s\)" long.txt' "20-s video: expected 3 or more windows: $(cat long.txt)"

# ---- batch mode: the same music whether clips share a model call or not ----
head -3 synth/test-id.jsonl >synth/three.jsonl  # video paths are relative to the manifest
for b in 1 3; do
    "$VROBIN" generate --model model.safetensors --manifest synth/three.jsonl --out "b$b" --batch $b --seed 5 --steps 3 \
        --griffin-lim-iters 4 2>"b$b.txt" || bad "batch $b: $(cat b$b.txt)"
done
check '[ "$(ls b1/*.wav | wc -l)" -eq 3 ] && [ "$(ls b3/*.wav | wc -l)" -eq 3 ]' "batch mode: expected 3 wav files each"
# batching changes only the summation order of matmuls: a few LSB of 16-bit PCM at most
"$PY" - b1 b3 <<'EOF2' || bad "batch 1 and batch 3 gave different music"
import glob, os, sys
import numpy as np, scipy.io.wavfile as w
worst, files = 0, sorted(glob.glob(sys.argv[1] + "/*.wav"))
assert len(files) == 3, files
for f in files:
    a = w.read(f)[1].astype(float); b = w.read(os.path.join(sys.argv[2], os.path.basename(f)))[1].astype(float)
    assert a.shape == b.shape == (160000,), (f, a.shape, b.shape)
    assert np.abs(a).max() > 1000, f + ": silent"
    worst = max(worst, np.abs(a - b).max())
print("batch 1 vs batch 3: max |diff| %d LSB" % worst)
sys.exit(1 if worst > 32 else 0)
EOF2

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
