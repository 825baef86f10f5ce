#!/bin/sh
# End to end: SynthV2M tiny shards -> stage 1 + stage 2 training (a few steps) -> vrobin export
# (checked from Python) -> vrobin generate into mp4 (checked with ffprobe) and wav (determinism),
# and the bad inputs, each refused with a clear message and no output left behind.
# usage: test_infer.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn

# ---- a tiny trained model ----
"$VROBIN" data synth tiny synth --jobs 2 >log.txt 2>&1 || { cat log.txt; echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" data build "$SRC/configs/data/synth_tiny.yaml" data.keep_frames=false data.jobs=2 >>log.txt 2>&1 &&
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
"$VROBIN" generate --model model_bf16.safetensors --video $V -o out.webm --seed 7 --steps 2 2>err.txt
check '[ $? -eq 1 ] && [ ! -e out.webm ] && grep -q "cannot go into a webm" err.txt' "h264 into webm: $(cat err.txt)"

# ---- determinism: same seed, same bytes; another seed, other bytes ----
for s in 1 1b 2; do
    "$VROBIN" generate --model model.safetensors --video $V --text "calm strings" -o "s$s.wav" --seed "${s%b}" --steps 4 \
        2>err.txt || bad "generate wav (seed $s): $(cat err.txt)"
done
check 'cmp -s s1.wav s1b.wav' "same seed gave different wav files"
check '! cmp -s s1.wav s2.wav' "different seeds gave the same wav file"
WD=$(probe s1.wav a duration)
check '"$PY" -c "import sys; sys.exit(abs($VD - $WD) > 0.02)"' "wav lasts $WD s, the video $VD s"

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

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
