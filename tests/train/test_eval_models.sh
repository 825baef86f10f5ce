#!/usr/bin/env bash
# The evaluation models trained as a user runs them, on SynthV2M tiny with 4-s clips:
#   1. the tagger trains (loss parts per head, loss falls), exports, and `tagger-eval` prints its
#      per-head accuracy on the test-id shard; the export turns a clip's audio file into the
#      shard's latent of that clip (what scoring generated audio relies on);
#   2. the contrastive encoders train, export, and `contrast-eval` prints retrieval recall;
#   3. refused inputs: a clip whose label is outside the vocabulary (the error names the clip and
#      the value), an export of the other kind, a missing shard, no arguments.
# The eval commands run through `test_tagger run ...`, which calls their functions, so this test
# does not depend on the dispatcher in core/main.c.
# Usage: test_eval_models.sh VROBIN TEST_TAGGER REPO WORKDIR PYTHON
set -euo pipefail
V=$1; TT=$2; REPO=$3; W=$4; PY=$5
rm -rf "$W"; mkdir -p "$W"; cd "$W"
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }

"$V" data synth tiny synth --jobs 2 --clip-seconds 4 >/dev/null 2>&1
build=("$V" data build "$REPO/configs/data/synth_tiny.yaml" data.keep_frames=false data.clip_seconds=4)
"${build[@]}" >/dev/null 2>&1
"${build[@]}" data.manifest=synth/test-id.jsonl data.name=test-id data.norm_from=shards/train-00000.h5 >/dev/null 2>&1
small=(model.cnn_channels=[8,16] model.d_model=32 model.embed_dim=16 data.shards=[shards/train-00000.h5]
       run.dir=runs runtime.blas_threads=1 train.batch_size=8 train.warmup_steps=3 train.lr=3e-3 train.ckpt_every=60)

# 1. the tagger
"$V" train "$REPO/configs/experiments/synth_tagger.yaml" "${small[@]}" model.crop_frames=100 train.steps=60 \
  >tagger.log 2>&1 && ok "tagger trains" || { bad "tagger trains"; tail tagger.log; }
$PY - <<'PYEOF' && ok "tagger: per-head parts, loss falls" || bad "tagger: per-head parts, loss falls"
import json, math
rows = [json.loads(l) for l in open("runs/synth_tagger/metrics.jsonl")]
assert len(rows) == 60, len(rows)
for h in ("instrument", "pattern", "tempo", "mode"):
    assert all(0 <= r["acc_" + h] <= 1 and math.isfinite(r["ce_" + h]) for r in rows), h
l = [r["loss"] for r in rows]
first, last = sum(l[:10]) / 10, sum(l[-10:]) / 10
print(f"  mean loss, first 10 steps {first:.3f}, last 10 {last:.3f}")
assert last < 0.9 * first
PYEOF
"$V" export runs/synth_tagger -o tagger.safetensors >/dev/null 2>&1 && ok "tagger export" || bad "tagger export"
"$TT" run tagger-eval tagger.safetensors shards/test-id-00000.h5 --batch 4 >tagger.md 2>tagger_eval.log \
  && ok "tagger-eval" || { bad "tagger-eval"; cat tagger_eval.log; }
$PY - <<'PYEOF' && ok "tagger-eval table" || { bad "tagger-eval table"; cat tagger.md; }
text = open("tagger.md").read()
print("  " + text.replace("\n", "\n  ").rstrip())
assert "on 6 clips" in text
rows = [l.split("|")[1:-1] for l in text.splitlines() if l.startswith("| ") and "---" not in l][1:]
assert [r[0].strip() for r in rows] == ["instrument", "pattern", "tempo", "mode"], rows
for r in rows:
    classes, acc, major, chance = int(r[1]), float(r[2]), float(r[3]), float(r[4])
    assert 0 <= acc <= 1 and 1 / 6 <= major <= 1 and abs(chance - 1 / classes) < 1e-4, r
    assert abs(acc * 6 - round(acc * 6)) < 1e-3, r   # a whole number of the 6 clips
PYEOF
"$TT" latent tagger.safetensors shards/test-id-00000.h5 synth/test-id/test-id-000003.flac test-id-000003 \
  >latent.log 2>&1 && ok "audio -> the export's latent = the shard's ($(cat latent.log))" \
  || { bad "audio -> the export's latent"; cat latent.log; }

# 2. the contrastive encoders
"$V" train "$REPO/configs/experiments/synth_contrast.yaml" "${small[@]}" model.video_layers=1 model.text_layers=1 \
  train.steps=30 >contrast.log 2>&1 && ok "contrast trains" || { bad "contrast trains"; tail contrast.log; }
$PY - <<'PYEOF' && ok "contrast: finite parts, learned temperature" || bad "contrast: finite parts, learned temperature"
import json, math
rows = [json.loads(l) for l in open("runs/synth_contrast/metrics.jsonl")]
assert len(rows) == 30, len(rows)
for k in ("nce_video", "nce_text", "acc_video", "acc_text", "temperature", "loss"):
    assert all(math.isfinite(r[k]) for r in rows), k
assert abs(rows[0]["temperature"] - 0.07) < 1e-3 and rows[-1]["temperature"] != rows[0]["temperature"]
print(f"  loss {rows[0]['loss']:.3f} -> {rows[-1]['loss']:.3f}, temperature {rows[-1]['temperature']:.4f}")
PYEOF
"$V" export runs/synth_contrast -o contrast.safetensors >/dev/null 2>&1 && ok "contrast export" || bad "contrast export"
"$TT" run contrast-eval contrast.safetensors shards/test-id-00000.h5 shards/train-00000.h5 --batch 5 >contrast.md \
  2>contrast_eval.log && ok "contrast-eval" || { bad "contrast-eval"; cat contrast_eval.log; }
$PY - <<'PYEOF' && ok "contrast-eval table" || { bad "contrast-eval table"; cat contrast.md; }
text = open("contrast.md").read()
print("  " + text.replace("\n", "\n  ").rstrip())
assert "on 30 clips (2 shards)" in text
rows = {l.split("|")[1].strip(): l.split("|")[2:-1] for l in text.splitlines() if l.startswith("| ") and "---" not in l}
assert list(rows)[1:] == ["video → music", "music → video", "text → music", "music → text", "chance"], list(rows)
for name in list(rows)[1:5]:
    r1, r5, r10, med, pos, neg = map(float, rows[name])
    assert 0 <= r1 <= r5 <= r10 <= 1 and 1 <= med <= 30 and -1 <= pos <= 1 and -1 <= neg <= 1, (name, rows[name])
assert [float(x) for x in rows["chance"][:4]] == [round(1 / 30, 4), round(5 / 30, 4), round(10 / 30, 4), 15.5]
PYEOF

# 3. refused inputs
$PY - <<'PYEOF'
import json
lines = open("synth/train.jsonl").read().splitlines()[:4]
clip = json.loads(lines[2])
clip["labels"]["instrument"] = "kazoo"
lines[2] = json.dumps(clip)
open("synth/bad.jsonl", "w").write("\n".join(lines) + "\n")
PYEOF
"${build[@]}" data.manifest=synth/bad.jsonl data.name=bad data.norm_from=shards/train-00000.h5 >/dev/null 2>&1
if "$V" train "$REPO/configs/experiments/synth_tagger.yaml" "${small[@]}" data.shards=[shards/bad-00000.h5] \
     run.name=bad train.batch_size=4 train.steps=1 >bad.log 2>&1; then
  bad "a label outside the vocabulary is refused"
else
  grep -q "train-000002" bad.log && grep -q "kazoo" bad.log && grep -q "tagger_instruments" bad.log \
    && ok "a label outside the vocabulary is refused, naming the clip and value" \
    || { bad "the bad-label error names the clip and value"; tail -3 bad.log; }
fi
"$TT" run tagger-eval tagger.safetensors shards/bad-00000.h5 >/dev/null 2>bad_eval.log \
  && bad "tagger-eval refuses the bad label" || { grep -q kazoo bad_eval.log && ok "tagger-eval refuses the bad label"; } \
  || bad "tagger-eval names the bad label"
"$TT" run tagger-eval contrast.safetensors shards/test-id-00000.h5 >/dev/null 2>kind.log \
  && bad "the wrong model kind is refused" \
  || { grep -q "expected a 'tagger' model" kind.log && ok "the wrong model kind is refused"; } || bad "kind message"
"$TT" run contrast-eval contrast.safetensors shards/nope.h5 >/dev/null 2>nope.log \
  && bad "a missing shard is refused" || { grep -q "nope.h5" nope.log && ok "a missing shard is refused"; } \
  || bad "missing shard message"
rc=0; "$TT" run contrast-eval >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && ok "no arguments: usage, exit 2" || bad "no arguments: exit $rc"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
