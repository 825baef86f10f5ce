#!/bin/sh
# The retrieval baseline on SynthV2M tiny: one wav per test id at the clip's length, each training
# clip retrieves itself (distance 0, its own music sample for sample), the video part finds clips of
# the same visual style, a short training segment is looped, resume keeps files and reuses the
# cached training embeddings, the JSON lists the choices, --contrast embeds with a contrastive
# export, `vrobin eval --audio` scores the result, and refused inputs (missing training music,
# empty manifests, bad weights, an undecodable test video) name what is wrong.
# usage: test_retrieval.sh VROBIN SOURCE_DIR WORK_DIR PYTHON
VROBIN=$1 SRC=$2 W=$3 PY=$4
[ -x "$VROBIN" ] && [ -d "$SRC" ] && [ -n "$W" ] && [ -n "$PY" ] || { echo "usage: $0 VROBIN SOURCE_DIR WORK_DIR PYTHON"; exit 2; }
. "$(dirname "$0")/../check.sh" # PASS/FAIL counters: ok, bad, check
. "$(dirname "$0")/../synth_tiny.sh" # synth_tiny_data

rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
export VROBIN_LOG=warn
synth_tiny_data "$VROBIN" "$SRC" 0 || { echo "0 passed, 1 failed"; exit 1; }
"$VROBIN" retrieve --help >/dev/null 2>&1 || { echo "FAIL: '$VROBIN retrieve' is not a command"; echo "0 passed, 1 failed"; exit 1; }
N=$(grep -c . synth/test-id.jsonl)

# ---- test-id from train: one wav per id, 16-kHz mono, the clip's length; the JSON ----
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/test-id.jsonl --out id 2>err.txt
check '[ $? -eq 0 ] && [ "$(ls id/*.wav | wc -l)" -eq "$N" ] && [ -s id/retrieval.json ] && [ -s id/train_index.bin ]' \
    "retrieve test-id: $(cat err.txt)"
"$PY" - synth/train.jsonl synth/test-id.jsonl id <<'PYEOF' || bad "test-id outputs"
import json, sys
import numpy as np, scipy.io.wavfile as wf
train, test, d = sys.argv[1:]
tr = {json.loads(l)["id"]: json.loads(l) for l in open(train) if l.strip()}
te = [json.loads(l) for l in open(test) if l.strip()]
r = json.load(open(f"{d}/retrieval.json"))
assert r["format"] == "vrobin-retrieval/1" and r["embedding"] == "builtin", r["format"]
assert [c["id"] for c in r["clips"]] == [e["id"] for e in te]
for e, c in zip(te, r["clips"]):
    assert c["train_id"] in tr and c["distance"] > 0, c
    assert abs(c["distance"] - (c["distance_video"] + c["distance_text"])) < 1e-9, c
    sr, x = wf.read(f"{d}/{e['id']}.wav")
    assert sr == 16000 and x.ndim == 1 and len(x) == round((e["end"] - e["start"]) * 16000), (e["id"], sr, x.shape)
    assert np.abs(x).max() > 1000, e["id"]  # music, not silence
PYEOF

# ---- the video part carries the pictures: video-only retrieval mostly finds the same visual style ----
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/test-id.jsonl --out vid --weights video=1,text=0 2>err.txt
check '[ $? -eq 0 ]' "retrieve --weights video=1,text=0: $(cat err.txt)"
"$PY" - synth/train.jsonl synth/test-id.jsonl vid <<'PYEOF' || bad "video-only retrieval is no better than chance on style"
import json, sys
train, test, d = sys.argv[1:]
tr = {json.loads(l)["id"]: json.loads(l)["labels"] for l in open(train) if l.strip()}
te = {json.loads(l)["id"]: json.loads(l)["labels"] for l in open(test) if l.strip()}
clips = json.load(open(f"{d}/retrieval.json"))["clips"]
hits = sum(te[c["id"]]["style"] == tr[c["train_id"]]["style"] for c in clips)
chance = sum(sum(t["style"] == te[c["id"]]["style"] for t in tr.values()) / len(tr) for c in clips)
print(f"video-only retrieval: {hits}/{len(clips)} same style (chance {chance:.2f})")
assert hits >= chance + 2, (hits, chance)
PYEOF

# ---- the training set against itself: every clip finds itself at distance 0, its own music ----
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/train.jsonl --out self 2>err.txt
check '[ $? -eq 0 ]' "retrieve train->train: $(cat err.txt)"
ffmpeg -loglevel error -y -i synth/train/train-000003.flac -ar 16000 -ac 1 ref3.wav
"$PY" - self ref3.wav <<'PYEOF' || bad "self-retrieval"
import json, sys
import numpy as np, scipy.io.wavfile as wf
d, ref = sys.argv[1:]
clips = json.load(open(f"{d}/retrieval.json"))["clips"]
wrong = [(c["id"], c["train_id"], c["distance"]) for c in clips if c["id"] != c["train_id"] or c["distance"] != 0]
assert not wrong, wrong
_, a = wf.read(f"{d}/train-000003.wav")
_, b = wf.read(ref)
assert len(a) == len(b) and np.abs(a.astype(int) - b.astype(int)).max() <= 1, (len(a), len(b))
PYEOF

# ---- a training segment shorter than the test clip is looped to the clip's length ----
head -1 synth/train.jsonl | sed 's/"end":10/"end":3/' >synth/short.jsonl
"$VROBIN" retrieve --train synth/short.jsonl --manifest synth/test-id.jsonl --out short 2>err.txt
check '[ $? -eq 0 ]' "retrieve from a 3-s clip: $(cat err.txt)"
"$PY" - short <<'PYEOF' || bad "looping a 3-s training segment"
import glob, sys
import numpy as np, scipy.io.wavfile as wf
for f in glob.glob(sys.argv[1] + "/*.wav"):
    sr, x = wf.read(f)
    assert len(x) == 160000, (f, len(x))
    p = 3 * sr
    assert np.array_equal(x[p:2 * p], x[:p]) and np.array_equal(x[3 * p:], x[:len(x) - 3 * p]), f
PYEOF

# ---- resume: files kept, the training embeddings reused (also with other weights) ----
touch -d '2001-01-01' id/*.wav id/train_index.bin
VROBIN_LOG=info "$VROBIN" retrieve --train synth/train.jsonl --manifest synth/test-id.jsonl --out id --weights video=2,text=1 2>err.txt
check '[ $? -eq 0 ] && grep -q "reusing the training embeddings" err.txt && grep -q "$N kept" err.txt' "resume: $(cat err.txt)"
check '[ -z "$(find id -name "*.wav" -newer id/retrieval.json)" ] && [ ! id/train_index.bin -nt id/retrieval.json ]' \
    "the resumed run rewrote files"
# a changed training manifest (its bytes: the SHA-256) invalidates the cache
cp synth/train.jsonl synth/train2.jsonl && echo "# changed" >>synth/train2.jsonl
mkdir -p id2 && cp id/train_index.bin id2/
VROBIN_LOG=info "$VROBIN" retrieve --train synth/train2.jsonl --manifest synth/test-id.jsonl --out id2 2>err.txt
check '[ $? -eq 0 ] && ! grep -q "reusing" err.txt' "a stale cache was reused: $(cat err.txt)"

# ---- --contrast: a contrastive export (4 steps: the embeddings only need to be deterministic) ----
SMALL="model.cnn_channels=[8,16] model.d_model=32 model.embed_dim=16 model.video_layers=1 model.text_layers=1
       data.shards=[shards/train-00000.h5] runtime.blas_threads=1 train.batch_size=8 train.warmup_steps=2"
"$VROBIN" data build "$SRC/configs/data/synth_tiny.yaml" data.keep_frames=false data.jobs=2 >>log.txt 2>&1 &&
"$VROBIN" train "$SRC/configs/experiments/synth_contrast.yaml" $SMALL train.steps=4 >>log.txt 2>&1 &&
"$VROBIN" export runs/synth_contrast -o contrast.safetensors >>log.txt 2>&1 || bad "training a contrastive export: $(tail -3 log.txt)"
mkdir -p cself && cp id/train_index.bin cself/
VROBIN_LOG=info "$VROBIN" retrieve --train synth/train.jsonl --manifest synth/train.jsonl --out cself --contrast contrast.safetensors 2>err.txt
check '[ $? -eq 0 ] && ! grep -q "reusing" err.txt' "retrieve --contrast (the built-in cache must not be reused): $(cat err.txt)"
"$PY" -c "
import json
r = json.load(open('cself/retrieval.json'))
assert r['embedding'] == 'contrast' and r['contrast'] == 'contrast.safetensors', r['embedding']
wrong = [(c['id'], c['train_id'], c['distance']) for c in r['clips'] if c['id'] != c['train_id'] or c['distance'] != 0]
assert not wrong, wrong" || bad "self-retrieval with --contrast"

# ---- vrobin eval scores the folder ----
"$VROBIN" eval "$SRC/configs/eval/synth_tiny.yaml" --audio id --name retrieval eval.out_dir=res 2>err.txt
check '[ $? -eq 0 ] && [ -s res/synth_tiny_id/retrieval.json ]' "vrobin eval --audio: $(cat err.txt)"
"$PY" -c "
import json, math
m = json.load(open('res/synth_tiny_id/retrieval.json'))['metrics']
assert math.isfinite(m['fad_mel']) and math.isfinite(m['loris_f1']), m" || bad "eval metrics of the retrieval folder"

# ---- refused inputs ----
sed '2s#"music":"train/#"music":"gone/#' synth/train.jsonl >synth/nomusic.jsonl
"$VROBIN" retrieve --train synth/nomusic.jsonl --manifest synth/test-id.jsonl --out e1 2>err.txt
check '[ $? -eq 1 ] && grep -q "train-000001" err.txt && grep -q "missing" err.txt && [ ! -e e1/retrieval.json ]' \
    "missing training music: $(cat err.txt)"
: >empty.jsonl
"$VROBIN" retrieve --train synth/train.jsonl --manifest empty.jsonl --out e2 2>err.txt
check '[ $? -eq 1 ] && grep -q "empty.jsonl: no clips" err.txt' "empty test manifest: $(cat err.txt)"
"$VROBIN" retrieve --train empty.jsonl --manifest synth/test-id.jsonl --out e3 2>err.txt
check '[ $? -eq 1 ] && grep -q "empty.jsonl: no usable training clips" err.txt' "empty training manifest: $(cat err.txt)"
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/test-id.jsonl --out e4 --weights video=0,text=0 2>err.txt
check '[ $? -eq 2 ] && grep -q "at least one weight" err.txt' "zero weights: $(cat err.txt)"
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/test-id.jsonl --out e5 --weights audio=1 2>err.txt
check '[ $? -eq 2 ] && grep -q "unknown part" err.txt' "unknown weight: $(cat err.txt)"
sed '1s#"video":"test-id/#"video":"nowhere/#' synth/test-id.jsonl >synth/novideo.jsonl
"$VROBIN" retrieve --train synth/train.jsonl --manifest synth/novideo.jsonl --out e6 2>err.txt
check '[ $? -eq 1 ] && grep -q "test-id-000000" err.txt' "undecodable test video: $(cat err.txt)"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
