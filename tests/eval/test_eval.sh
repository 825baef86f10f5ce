#!/bin/sh
# End to end: SynthV2M tiny -> a tiny model trained for a few steps -> vrobin export -> vrobin eval
# --model (generation, every metric, the two oracle rows, JSON/CSV/Markdown), resumed generation,
# --audio with another system's files, and the refused inputs (missing file, wrong length, NaN
# audio), each a clear message naming the clip.
# usage: test_eval.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn

# ---- a tiny trained model ----
synth_tiny_data "$VROBIN" "$SRC" || { echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" train "$SRC/configs/experiments/synth_tiny_stage1.yaml" train.steps=6 train.warmup_steps=2 >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_tiny_stage2.yaml" train.steps=6 train.warmup_steps=2 >>log.txt 2>&1 &&
"$VROBIN" export runs/synth_tiny_stage2 -o robin.safetensors >>log.txt 2>&1 ||
    { cat log.txt; echo "0 passed, 1 failed"; exit 1; }
# the eval models, a few steps each (their own tests check what they learn)
SMALL="model.cnn_channels=[8,16] model.d_model=32 model.embed_dim=16 data.shards=[shards/train-00000.h5]
       runtime.blas_threads=1 train.batch_size=8 train.warmup_steps=2 train.ckpt_every=100"
"$VROBIN" train "$SRC/configs/experiments/synth_tagger.yaml" $SMALL model.crop_frames=100 train.steps=4 >>log.txt 2>&1 &&
"$VROBIN" export runs/synth_tagger -o tagger.safetensors >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_contrast.yaml" $SMALL model.video_layers=1 model.text_layers=1 \
    train.steps=4 >>log.txt 2>&1 &&
"$VROBIN" export runs/synth_contrast -o contrast.safetensors >>log.txt 2>&1 ||
    { cat log.txt; echo "0 passed, 1 failed"; exit 1; }

CFG="$SRC/configs/eval/synth_tiny.yaml"
EV="eval.out_dir=res eval.steps=2 eval.batch=3 eval.gl_iters=4 eval.tagger=tagger.safetensors eval.contrast=contrast.safetensors"
B=res/synth_tiny_id
N=$(grep -c . synth/test-id.jsonl)

# ---- a generated system: every output, the oracle rows ----
"$VROBIN" eval "$CFG" --model robin.safetensors $EV 2>err.txt
check '[ $? -eq 0 ]' "eval --model failed: $(cat err.txt)"
for s in robin oracle oracle_decoded; do
    check '[ -s $B/$s.json ] && [ -s $B/$s.csv ] && [ -s $B/$s.md ]' "missing outputs of $s"
done
check '[ "$(ls $B/robin/*.wav | wc -l)" -eq "$N" ]' "generated $(ls $B/robin/*.wav | wc -l) wavs, want $N"
"$PY" - "$B" "$N" <<'PYEOF' || bad "eval JSON contents"
import csv, json, math, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = {s: json.load(open(f"{d}/{s}.json")) for s in ("robin", "oracle", "oracle_decoded")}
for s, r in rows.items():
    assert r["format"] == "vrobin-eval/1" and r["system"] == s and r["bench"] == "synth_tiny_id", (s, r["format"])
    assert r["n_clips"] == n and len(r["clips"]) == n, s
    m = r["metrics"]
    for k in ("fad_mel", "fad_inf_mel", "per_clip_fad_mel", "loris_f1", "tempo_acc1", "mode_acc", "kl", "is",
              "kl_instrument", "instrument_acc", "pattern_acc", "fad_tagger", "align_video_music", "align_text_music"):
        assert isinstance(m[k], (int, float)) and math.isfinite(m[k]), (s, k, m[k])
    assert m["fad_mel"] >= 0
    # tiny sets: 4 reference clips <= k, so PRDC is reported as not measured rather than a number
    assert m["density_mel"] is None and m["coverage_mel"] is None, (s, m["density_mel"])
    for k in ("command", "commit", "machine", "date", "wall_s"):
        assert k in r["header"], (s, k)
    assert "LORIS" in r["definitions"]["beats"] and "D2M-GAN" in r["definitions"]["beats"]
    pts = r["fad_inf_points"]["mel"]
    assert len(pts["n"]) == len(pts["fad"]) >= 2
    row = list(csv.DictReader(open(f"{d}/{s}.csv")))
    assert len(row) == 1 and row[0]["system"] == s and abs(float(row[0]["fad_mel"]) - m["fad_mel"]) <= 1e-5 * m["fad_mel"] + 1e-9
# the header names what was scored (vrobin table --group eval.model); the oracle rows name no model
assert rows["robin"]["header"]["eval"]["model"].endswith("/robin.safetensors"), rows["robin"]["header"]["eval"]
assert "model" not in rows["oracle"]["header"]["eval"] and "audio" not in rows["oracle"]["header"]["eval"]
# the ground truth is much closer to the (same-distribution) reference than a 6-step model's noise
assert rows["oracle"]["metrics"]["fad_mel"] < rows["robin"]["metrics"]["fad_mel"], \
    (rows["oracle"]["metrics"]["fad_mel"], rows["robin"]["metrics"]["fad_mel"])
# the beat tracker recovers the labelled tempo of the ground truth (SynthV2M tiny test-id: 6/6)
assert rows["oracle"]["metrics"]["tempo_acc1"] >= 0.8, rows["oracle"]["metrics"]["tempo_acc1"]
# generated systems carry their latency
t = rows["robin"]["metrics"]
assert t["s_per_10s"] > 0 and t["rtf"] > 0 and t["s_per_10s_locdit"] > 0, t
assert rows["oracle"]["metrics"]["rtf"] is None
# KL(reference || reference) = 0 up to the 1e-6 in audiocraft's log; cosines are cosines
assert abs(rows["oracle"]["metrics"]["kl"]) < 1e-4, rows["oracle"]["metrics"]["kl"]
assert rows["robin"]["metrics"]["kl"] > rows["oracle"]["metrics"]["kl"]
for s, r in rows.items():
    for k in ("align_video_music", "align_text_music"):
        assert -1.0001 <= r["metrics"][k] <= 1.0001, (s, k)
    c = r["clips"][0]
    assert "instrument_pred" in c and "kl" in c and "align_text_music" in c, c.keys()
PYEOF

# ---- the benchmark's table and listening report from these results ----
"$VROBIN" table $B -o table.md --csv table.csv --preset main --plot plots 2>err.txt
check '[ $? -eq 0 ] && grep -q "^| oracle " table.md && grep -q "^| oracle_decoded " table.md && grep -q "^| robin " table.md' \
    "vrobin table: $(cat err.txt)"
check '[ -s plots/fad_inf_mel.png ] && [ -s plots/metrics.png ] && [ -s plots/latency.png ]' "table plots missing: $(ls plots)"
"$VROBIN" report $B -o report/report.html --max-clips 2 2>err.txt
check '[ $? -eq 0 ] && [ "$(grep -c "<video" report/report.html)" -ge 6 ] && [ "$(grep -c "<audio" report/report.html)" -ge 6 ]' \
    "vrobin report: $(cat err.txt)"

# ---- resume: the generated files are kept, the oracle rows are not recomputed ----
touch -d '2001-01-01' $B/robin/*.wav $B/oracle.json
"$VROBIN" eval "$CFG" --model robin.safetensors $EV 2>err.txt
check '[ $? -eq 0 ] && [ -z "$(find $B/robin -name "*.wav" -newer $B/robin.csv)" ]' "resumed eval rewrote generated files: $(cat err.txt)"
check '[ ! $B/oracle.json -nt $B/robin.json ]' "the cached oracle row was recomputed"

# ---- eval.max_clips: only the first clips are generated and scored ----
"$VROBIN" eval "$CFG" --model robin.safetensors --name first3 $EV eval.max_clips=3 eval.name=first3 2>err.txt
check '[ $? -eq 0 ] && [ "$(ls res/first3/first3/*.wav | wc -l)" -eq 3 ] && grep -q "\"n_clips\":[[:space:]]*3" res/first3/first3.json' \
    "eval.max_clips=3: $(cat err.txt)"

# ---- another system's files ----
mkdir -p other && cp $B/robin/*.wav other/
"$VROBIN" eval "$CFG" --audio other $EV 2>err.txt
check '[ $? -eq 0 ] && [ -s $B/other.json ]' "eval --audio failed: $(cat err.txt)"
"$PY" -c "
import json, sys
a, b = (json.load(open('$B/%s.json' % s))['metrics']['fad_mel'] for s in ('robin', 'other'))
sys.exit(abs(a - b) > 1e-9 * max(a, 1))" || bad "the same files scored as --audio give another FAD"
"$PY" -c "
import json, sys
e = json.load(open('$B/other.json'))['header']['eval']
sys.exit(not (e['audio'].endswith('/other') and 'model' not in e))" || bad "the --audio result's header does not name its folder"

# ---- refused inputs ----
FIRST=$(ls other | head -1) ID=${FIRST%.wav}
mkdir -p missing && cp other/*.wav missing/ && rm missing/$FIRST
"$VROBIN" eval "$CFG" --audio missing $EV 2>err.txt
check '[ $? -eq 1 ] && grep -q "$ID" err.txt && grep -q "missing" err.txt && [ ! -e $B/missing.json ]' \
    "a missing file: $(cat err.txt)"
mkdir -p short && cp other/*.wav short/ && ffmpeg -v error -y -i other/$FIRST -t 7 short/$FIRST
"$VROBIN" eval "$CFG" --audio short $EV 2>err.txt
check '[ $? -eq 1 ] && grep -q "$ID" err.txt && grep -q "7.0" err.txt && [ ! -e $B/short.json ]' \
    "a wrong-length file: $(cat err.txt)"
mkdir -p nan && cp other/*.wav nan/ && "$PY" - nan/$FIRST <<'PYEOF'
import numpy as np, sys, wave
x = np.zeros(160000, np.float32); x[1000:2000] = np.nan
import scipy.io.wavfile as w; w.write(sys.argv[1], 16000, x)
PYEOF
"$VROBIN" eval "$CFG" --audio nan $EV 2>err.txt
check '[ $? -eq 1 ] && grep -q "$ID" err.txt && [ ! -e $B/nan.json ]' "NaN audio: $(cat err.txt)"
"$VROBIN" eval "$CFG" --audio other --name oracle $EV 2>err.txt
check '[ $? -eq 1 ] && grep -q "oracle" err.txt' "a system named oracle: $(cat err.txt)"
"$VROBIN" eval "$CFG" $EV 2>err.txt
check '[ $? -eq 2 ]' "no --model/--audio: want usage exit 2"
"$VROBIN" eval "$CFG" --audio other $EV eval.reference=nope.jsonl 2>err.txt
check '[ $? -eq 1 ] && grep -q "nope.jsonl" err.txt' "missing reference manifest: $(cat err.txt)"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
