#!/bin/sh
# End to end: SynthV2M tiny shards -> stage 1 + stage 2 training (a few steps) -> vrobin export
# (checked from Python) -> vrobin generate into mp4 (checked with ffprobe) and wav (determinism),
# a 60-s video continued over 12 windows, batch mode over a manifest (batch 1 vs 4, resume,
# timings.json, bad clips), and the bad inputs, each refused with a clear message and no output
# left behind.
# usage: test_infer.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn

# ---- a tiny trained model ----
synth_tiny_data "$VROBIN" "$SRC" || { echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" train "$SRC/configs/experiments/synth_tiny_stage1.yaml" train.steps=8 train.warmup_steps=2 >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_tiny_stage2.yaml" train.steps=8 train.warmup_steps=2 >>log.txt 2>&1 ||
    { cat log.txt; echo "0 passed, 1 failed"; exit 1; }
RUN=runs/synth_tiny_stage2
EMA=$RUN/ckpt/$(cat $RUN/latest)/ema.safetensors

# ---- export ----
"$VROBIN" export $RUN -o model.safetensors 2>err.txt
check '[ $? -eq 0 ] && [ -s model.safetensors ] && [ -s model.config.json ]' "export failed: $(cat err.txt)"
"$PY" "$SRC/tests/infer/check_export.py" model.safetensors "$EMA" shards/train-00000.h5 || bad "export check (Python)"
"$VROBIN" export $RUN -o model_bf16.safetensors --dtype bf16 --step 8 2>err.txt
check '[ $? -eq 0 ]' "bf16 export failed: $(cat err.txt)"
"$PY" "$SRC/tests/infer/check_export.py" model_bf16.safetensors "$EMA" shards/train-00000.h5 bf16 || bad "bf16 export check"
"$VROBIN" export $RUN -o nostep.safetensors --step 7 2>err.txt
check '[ $? -eq 1 ] && [ ! -e nostep.safetensors ] && grep -q step_00000007 err.txt' "export of a missing step: $(cat err.txt)"
"$VROBIN" export runs/nonexistent -o none.safetensors 2>err.txt
check '[ $? -eq 1 ] && [ ! -e none.safetensors ] && grep -q "runs/nonexistent" err.txt' "export of a missing run: $(cat err.txt)"
"$VROBIN" export $RUN 2>err.txt
check '[ $? -eq 2 ] && grep -q "missing -o" err.txt' "export without -o"

# ---- generate into mp4: the picture copied, new music of the video's length ----
V=synth/test-id/test-id-000000.mp4
probe() { ffprobe -v error -select_streams "$2" -show_entries "stream=$3" -of csv=p=0 "$1" | head -1; }
"$VROBIN" generate --model model.safetensors --video $V --text "Bright piano playing a lively melody" \
    -o out.mp4 --seed 7 --steps 4 2>err.txt
check '[ $? -eq 0 ] && [ -s out.mp4 ]' "generate mp4 failed: $(cat err.txt)"
check '[ "$(probe out.mp4 v codec_name)" = "$(probe $V v codec_name)" ]' "video codec changed"
check '[ "$(probe out.mp4 v nb_frames)" = "$(probe $V v nb_frames)" ]' "video frame count changed"
check '[ "$(ffmpeg -v error -i out.mp4 -map 0:v -c copy -f md5 -)" = "$(ffmpeg -v error -i $V -map 0:v -c copy -f md5 -)" ]' \
    "video packets were not copied unchanged"
check '[ "$(probe out.mp4 a codec_name)" = aac ]' "no AAC audio stream in out.mp4"
VD=$(probe $V v duration) AD=$(probe out.mp4 a duration)
check '"$PY" -c "import sys; sys.exit(abs($VD - $AD) > 0.1)"' "audio lasts $AD s, the video $VD s"
# refused before the model runs (no progress over patches), not after it
VROBIN_LOG=info "$VROBIN" generate --model model_bf16.safetensors --video $V -o out.webm --seed 7 --steps 2 2>err.txt
check '[ $? -eq 1 ] && [ ! -e out.webm ] && grep -q "cannot go into a webm" err.txt && ! grep -q "patches" err.txt' \
    "h264 into webm: $(cat err.txt)"

# ---- determinism: same seed, same bytes; another seed, other bytes ----
# (4 Griffin-Lim iterations: the determinism is the model's; the default 32 cost most of each run)
for s in 1 1b 2; do
    "$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o "s$s.wav" --seed "${s%b}" --steps 4 \
        --griffin-lim-iters 4 2>err.txt || bad "generate wav (seed $s): $(cat err.txt)"
done
check 'cmp -s s1.wav s1b.wav' "same seed gave different wav files"
check '! cmp -s s1.wav s2.wav' "different seeds gave the same wav file"
"$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o s1t.wav --seed 1 --steps 4 \
    --griffin-lim-iters 4 --dit-threads 2 2>err.txt
check '[ $? -eq 0 ] && cmp -s s1.wav s1t.wav' "--dit-threads 2 changed the music: $(cat err.txt)"
# bf16 kernel: its own music (not the fp32 bytes), the same every time; refused on CPUs without AVX512-BF16
for s in a b; do
    "$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o "s1bf_$s.wav" --seed 1 --steps 4 \
        --griffin-lim-iters 4 --precision bf16 2>"err_bf_$s.txt"
    echo $? >"rc_bf_$s.txt"
done
if grep -qw avx512_bf16 /proc/cpuinfo; then
    check '[ "$(cat rc_bf_a.txt)" = 0 ] && cmp -s s1bf_a.wav s1bf_b.wav' "--precision bf16 is not deterministic: $(cat err_bf_a.txt)"
    check '! cmp -s s1.wav s1bf_a.wav' "--precision bf16 gave the fp32 bytes: the bf16 kernel did not run"
else
    check '[ "$(cat rc_bf_a.txt)" = 1 ] && grep -q "AVX512-BF16" err_bf_a.txt && [ ! -e s1bf_a.wav ]' \
        "--precision bf16 without AVX512-BF16: expected a clear error and no file, got: $(cat err_bf_a.txt)"
fi
"$VROBIN" generate --model model.safetensors --video $V -o bad.wav --precision fp16 2>err.txt
check '[ $? -eq 2 ] && grep -q "expected fp32 or bf16" err.txt && [ ! -e bad.wav ]' "--precision fp16: $(cat err.txt)"
WD=$(probe s1.wav a duration)
check '"$PY" -c "import sys; sys.exit(abs($VD - $WD) > 0.02)"' "wav lasts $WD s, the video $VD s"

# ---- a 60-s video: six SynthV2M clips back to back, one window of the model is 10 s ----
for i in 0 1 2 3 4 0; do echo "file 'synth/test-id/test-id-00000$i.mp4'"; done >concat.txt
ffmpeg -v error -y -f concat -safe 0 -i concat.txt -map 0:v -c copy long.mp4 || bad "ffmpeg concat"
LD=$(ffprobe -v error -show_entries format=duration -of csv=p=0 long.mp4)  # the decoder's length
# twice for determinism; once in the sanitizer pass (VROBIN_TEST_SANITIZED=1: the same code path)
LONG_RUNS="a b"
[ "${VROBIN_TEST_SANITIZED:-0}" = 1 ] && LONG_RUNS=a
for s in $LONG_RUNS; do
    VROBIN_LOG=info "$VROBIN" generate --model model.safetensors --video long.mp4 --text "calm strings" -o "long_$s.wav" \
        --seed 3 --steps 3 --griffin-lim-iters 4 2>"long_$s.txt" || bad "generate 60 s: $(cat long_$s.txt)"
done
LW=$(probe long_a.wav a duration)
check '"$PY" -c "import sys; sys.exit(not ($LD > 59.9 and abs($LD - $LW) < 0.02))"' "60-s video: music lasts $LW s, video $LD s"
check 'grep -q "in 12 window(s)" long_a.txt' "60-s video: expected 11 half-window continuations after the first window: $(cat long_a.txt)"
check 'grep -q "generate: 601/601 patches" long_a.txt' "no progress over patches: $(cat long_a.txt)"
[ "$LONG_RUNS" = a ] || check 'cmp -s long_a.wav long_b.wav' "60-s video: same seed gave different music"

# ---- batch mode: one wav per clip id, batch-independent seeds, resume, timings ----
N=$(grep -c '"id"' synth/test-id.jsonl)
gen_manifest() { # DIR BATCH [MANIFEST]
    VROBIN_LOG=info "$VROBIN" generate --model model.safetensors --manifest "${3:-synth/test-id.jsonl}" --out "$1" \
        --batch "$2" --seed 5 --steps 3 --griffin-lim-iters 4 2>"$1.txt"
}
gen_manifest b1 1 || bad "batch 1: $(cat b1.txt)"
gen_manifest b4 4 || bad "batch 4: $(cat b4.txt)"
check '[ "$(ls b1/*.wav | wc -l)" -eq "$N" ] && [ "$(ls b4/*.wav | wc -l)" -eq "$N" ]' "batch mode wrote $(ls b1/*.wav | wc -l) wavs, want $N"
check 'grep -q "generate: $N/$N clips" b4.txt' "no progress over clips: $(cat b4.txt)"
# batching changes only the summation order of matmuls: a few LSB of 16-bit PCM at most
same_music() { "$PY" - "$@" <<'EOF2'
import sys, glob, os
import numpy as np, scipy.io.wavfile as w
worst = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.wav")):
    a = w.read(f)[1].astype(float); b = w.read(os.path.join(sys.argv[2], os.path.basename(f)))[1].astype(float)
    assert a.shape == b.shape == (160000,), (f, a.shape, b.shape)
    worst = max(worst, np.abs(a - b).max())
    assert np.abs(a).max() > 1000, f + ": silent"
print("batch 1 vs batch 4: max |diff| %d LSB" % worst)
sys.exit(1 if worst > 32 else 0)
EOF2
}
same_music b1 b4 || bad "batch 1 and batch 4 gave different music"
check '! cmp -s b1/test-id-000000.wav b1/test-id-000001.wav' "two clips got the same music"
cp b1/test-id-000001.wav keep1.wav
cp b4/test-id-000000.wav keep4.wav
rm b1/test-id-000001.wav b4/test-id-000001.wav b4/test-id-000004.wav
cp b4/timings.json b4_first.json
gen_manifest b1 1 || bad "batch 1 resume: $(cat b1.txt)"
gen_manifest b4 4 || bad "batch 4 resume: $(cat b4.txt)"
check 'cmp -s keep1.wav b1/test-id-000001.wav' "batch 1: a resumed clip differs from its first run"
check 'cmp -s keep4.wav b4/test-id-000000.wav' "batch 4: a skipped clip was rewritten"
same_music b1 b4 >/dev/null || bad "batch 4 after resume differs from batch 1"
"$PY" - b4/timings.json "$N" <<'EOF2' || bad "timings.json after resume: $(cat b4/timings.json)"
import json, sys
t = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert t["n_generated"] == 2 and t["n_skipped"] == n - 2 and t["n_failed"] == 0, t
assert t["clips_per_second"] > 0 and t["batch"] == 4 and t["steps"] == 3
ids = sorted(c["id"] for c in t["clips"])
assert len(ids) == n == len(set(ids)), ids   # the skipped clips' entries carried over
for c in t["clips"]:
    for k in ("decode", "planner", "rite", "locdit", "decoder", "write", "total"):
        assert c[k] >= 0, (c, k)
    assert c["seconds_audio"] == 10 and c["locdit"] > 0
EOF2
VROBIN_LOG=warn "$VROBIN" generate --model model.safetensors --manifest synth/test-id.jsonl --out b4 --seed 6 2>warn.txt
check '[ $? -eq 0 ] && grep -q "made with other settings" warn.txt && cmp -s keep4.wav b4/test-id-000000.wav' \
    "resume with another seed: no warning, or clips rewritten: $(cat warn.txt)"

# a manifest with bad clips: the good one is written, the bad ones are reported, exit 1
V0=$(pwd)/synth/test-id/test-id-000000.mp4
printf '%s\n' "{\"id\": \"good\", \"video\": \"$V0\", \"text\": \"piano\", \"start\": 0, \"end\": 4}" \
    "{\"id\": \"missing\", \"video\": \"nope.mp4\", \"text\": \"\"}" \
    "{\"id\": \"../escape\", \"video\": \"$V0\", \"text\": \"\"}" \
    "{\"id\": \"late\", \"video\": \"$V0\", \"text\": \"\", \"start\": 8, \"end\": 14}" \
    "{\"id\": \"typo\", \"vidoe\": \"$V0\", \"text\": \"\"}" >bad.jsonl
gen_manifest badout 2 bad.jsonl
check '[ $? -eq 1 ] && grep -q "4 of 5 clips failed" badout.txt' "bad manifest: exit/message: $(cat badout.txt)"
check '[ -s badout/good.wav ] && [ ! -e escape.wav ] && [ "$(ls badout | wc -l)" -eq 2 ]' "bad manifest: outputs $(ls badout)"
GD=$(probe badout/good.wav a duration)
check '"$PY" -c "import sys; sys.exit(abs($GD - 4) > 0.02)"' "a 4-s manifest window gave $GD s"
"$PY" - badout/timings.json <<'EOF2' || bad "bad manifest timings: $(cat badout/timings.json)"
import json, sys
t = json.load(open(sys.argv[1]))
why = {f["line"]: f["error"] for f in t["failed"]}
assert t["n_failed"] == 4 and [c["id"] for c in t["clips"]] == ["good"], t
assert "nope.mp4" in why[2] and "cannot name a file" in why[3] and "ends after" in why[4] and "vidoe" in why[5], why
EOF2

# ---- bad inputs: exit code, message, no output ----
: >empty.mp4
echo "not a video" >text.mp4
head -c 100000 model.safetensors >trunc.safetensors
expect() { # CODE WORDS OUT ARGS...
    code=$1 words=$2 out=$3
    shift 3
    "$VROBIN" generate "$@" 2>err.txt >/dev/null
    rc=$?
    if [ $rc -ne "$code" ] || ! grep -q "$words" err.txt || [ -e "$out" ] || ls "$out".tmp* >/dev/null 2>&1; then
        bad "generate $* -> rc $rc (want $code), output left: $([ -e "$out" ] && echo yes || echo no), message: $(cat err.txt)"
    else
        ok
    fi
}
expect 1 "no video stream" x.mp4 --model model.safetensors --video synth/test-id/test-id-000000.flac -o x.mp4
expect 1 "empty file" x.mp4 --model model.safetensors --video empty.mp4 -o x.mp4
expect 1 "not a media file" x.wav --model model.safetensors --video text.mp4 -o x.wav
expect 1 "No such file" x.wav --model model.safetensors --video missing.mp4 -o x.wav
expect 1 "out of range" x.mp4 --model trunc.safetensors --video $V -o x.mp4
expect 1 "not a vrobin export" x.mp4 --model "$EMA" --video $V -o x.mp4
expect 1 "not writable" nodir/x.wav --model model.safetensors --video $V -o nodir/x.wav
expect 2 "missing --video" x.mp4 --model model.safetensors -o x.mp4
expect 2 "missing -o" x.mp4 --model model.safetensors --video $V
expect 2 "unknown output type" x.avi --model model.safetensors --video $V -o x.avi
expect 2 "exclude each other" x.wav --model model.safetensors --video $V --manifest synth/test-id.jsonl -o x.wav
expect 2 "missing --out DIR" x.wav --model model.safetensors --manifest synth/test-id.jsonl
expect 2 "batch is for --manifest" x.wav --model model.safetensors --video $V -o x.wav --batch 2
expect 1 "not a vrobin export" xdir --model "$EMA" --manifest synth/test-id.jsonl --out xdir

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
