#!/usr/bin/env bash
# End-to-end data path, as a user runs it:
#   1. vrobin data synth tiny -> build train (+ test-id with the train normalisation) -> verify -> inspect,
#      and h5py reads the shards with the documented schema;
#   2. SynthV2M ground truth: beat tracker vs labelled tempo, cut peaks vs labelled cuts (test_groundtruth);
#   3. a corpus of bad media (truncated mp4, text named .mp4, no audio, zero-length, 1 frame, huge
#      caption, invalid UTF-8, missing file, too short, absurd fps) next to good clips: the build
#      completes, lists every bad clip with its reason, and writes a shard that verifies.
# Usage: test_data_e2e.sh VROBIN TEST_GROUNDTRUTH MAKE_BAD_MEDIA WORKDIR
set -euo pipefail
V=$1; GT=$2; MKBAD=$3; W=$4
PY=/usr/bin/python3
rm -rf "$W"; mkdir -p "$W"; cd "$W"
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }

# ---- 1. synth -> shards ----
"$V" data synth tiny synth --jobs 2
echo 'data: {manifest: synth/train.jsonl, out_dir: shards, name: train}' > build.yaml
"$V" data build build.yaml && ok "build train" || bad "build train"
"$V" data build build.yaml data.manifest=synth/test-id.jsonl data.name=test-id data.norm_from=shards/train-00000.h5 \
  && ok "build test-id" || bad "build test-id"
"$V" data verify shards/train-00000.h5 shards/test-id-00000.h5 && ok "verify" || bad "verify"
"$V" inspect shards/train-00000.h5 > inspect.txt && grep -q "format_version 1, 24 clips" inspect.txt && ok "inspect" || bad "inspect"
ls shards | grep -q tmp && bad "temp files left in shards/" || ok "no temp files"
$PY - <<'PYEOF' && ok "h5py reads the shards" || bad "h5py reads the shards"
import h5py, json, numpy as np
with h5py.File("shards/train-00000.h5", "r") as f, h5py.File("shards/test-id-00000.h5", "r") as g:
    assert f.attrs["format_version"] == 1
    a = f["audio_latent"]; assert a.dtype == np.float16 and a.shape == (24, 500, 64), (a.dtype, a.shape)
    assert f["video_feat"].shape == (24, 100, 31) and f["frames"].shape == (24, 100, 64, 64, 3)
    assert a.chunks == (1, 500, 64)
    ids = [s.decode() for s in f["id"][:]]; assert ids[0] == "train-000000", ids[0]
    lab = json.loads(f["labels_json"][0]); assert "tempo_bpm" in lab
    x = a[:].astype(np.float64)
    m, s = f["norm/audio_mean"][:], f["norm/audio_std"][:]
    assert np.allclose(x.reshape(-1, 64).mean(0), m, atol=1e-2), "norm mean = this build's mean"
    assert np.array_equal(g["norm/audio_mean"][:], m), "test-id carries the train normalisation"
    assert np.isfinite(x).all() and x.min() >= np.log(1e-5) - 1e-2
print("h5py ok")
PYEOF
python_report() { $PY -c "import json,sys; r=json.load(open('$1')); print(r['n_ok'], r['n_skipped'])"; }
[ "$(python_report shards/train_report.json)" = "24 0" ] && ok "report counts" || bad "report counts"

# ---- 2. ground truth of the benchmark ----
"$GT" synth/train.jsonl synth/val.jsonl synth/test-id.jsonl synth/test-ood.jsonl && ok "ground truth" || bad "ground truth"

# ---- 3. bad media corpus ----
sh "$MKBAD" media >/dev/null
g=media/good; b=media/bad
long=$($PY -c "print('x' * 100000)")
{
  echo "{\"id\":\"good_mp4\",\"video\":\"$g/h264_aac.mp4\",\"text\":\"a test pattern\",\"end\":4}"
  echo "{\"id\":\"good_mkv\",\"video\":\"$g/h264_flac.mkv\",\"text\":\"another\"}"
  echo "{\"id\":\"good_webm\",\"video\":\"$g/vp9_opus.webm\",\"text\":\"vp9\"}"
  echo "{\"id\":\"good_music\",\"video\":\"$b/no_audio.mp4\",\"music\":\"$g/audio.flac\",\"text\":\"video + separate music\"}"
  echo "{\"id\":\"truncated\",\"video\":\"$b/truncated.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"truncated_noindex\",\"video\":\"$b/truncated_noindex.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"text_as_mp4\",\"video\":\"$b/text.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"no_audio\",\"video\":\"$b/no_audio.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"zero_length\",\"video\":\"$b/empty.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"one_frame\",\"video\":\"$b/one_frame.mp4\",\"music\":\"$g/audio.flac\",\"text\":\"\"}"
  echo "{\"id\":\"too_short\",\"video\":\"$b/short_2s.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"absurd_fps\",\"video\":\"$b/fps1000.mkv\",\"music\":\"$g/audio.flac\",\"text\":\"\"}"
  echo "{\"id\":\"missing\",\"video\":\"$b/does_not_exist.mp4\",\"text\":\"\"}"
  echo "{\"id\":\"huge_caption\",\"video\":\"$g/h264_aac.mp4\",\"text\":\"$long\"}"
  printf '{"id":"bad_utf8","video":"%s/h264_aac.mp4","text":"caf\xe9"}\n' "$g"
  echo "{\"id\":\"bad_json\", \"video\": "
} > bad.jsonl
echo 'data: {manifest: bad.jsonl, out_dir: badshards, name: mixed, clip_seconds: 3}' > mixed.yaml
"$V" data build mixed.yaml 2> build.log \
  && ok "mixed build completes" || { bad "mixed build completes"; cat build.log; }
"$V" data verify badshards/mixed-00000.h5 && ok "mixed shard verifies" || bad "mixed shard verifies"
$PY - <<'PYEOF' && ok "every bad clip listed with its reason" || { bad "every bad clip listed with its reason"; cat build.log; }
import json
r = json.load(open("badshards/mixed_report.json"))
reasons = {s["id"] or "line%d" % s["line"]: s["reason"] for s in r["skipped"]}
for k, v in sorted(reasons.items()):
    print(f"  skipped {k:18s} {v}")
expect = {"truncated": "", "truncated_noindex": "", "text_as_mp4": "", "no_audio": "audio", "zero_length": "",
          "one_frame": "", "too_short": "", "absurd_fps": "", "missing": "", "huge_caption": "caption",
          "bad_utf8": "UTF-8", "line16": "JSON"}
missing = [k for k in expect if k not in reasons]
assert not missing, f"not reported: {missing}"
wrong = [k for k, sub in expect.items() if sub.lower() not in reasons[k].lower()]
assert not wrong, f"reason lacks the expected word: {[(k, reasons[k]) for k in wrong]}"
assert r["n_ok"] == 4, r["n_ok"]
PYEOF
# ---- 4. a folder of videos -> manifest (windows of 2 s, own soundtracks) -> shards ----
mkdir -p folder/sub
cp "$g/h264_aac.mp4" folder/a.mp4; cp "$g/vp9_opus.webm" folder/sub/b.webm; cp "$b/no_audio.mp4" folder/c.mp4
echo "a caption for a" > folder/a.txt
"$V" data manifest folder -o folder.jsonl --window 2 --stride 2 && ok "data manifest" || bad "data manifest"
$PY - <<'PYEOF' && ok "folder manifest windows and captions" || bad "folder manifest windows and captions"
import json
rows = [json.loads(l) for l in open("folder.jsonl")]
ids = [r["id"] for r in rows]
assert ids[:2] == ["a_0", "a_1"] and "sub/b_0" in ids, ids
a0 = rows[0]; assert a0["text"] == "a caption for a" and a0["start"] == 0 and a0["end"] == 2, a0
PYEOF
echo 'data: {manifest: folder.jsonl, out_dir: foldershards, name: folder, clip_seconds: 2, keep_frames: false}' > folder.yaml
"$V" data build folder.yaml 2>folder.log && ok "folder build" || { bad "folder build"; cat folder.log; }
grep -q "c_0.*no audio stream" folder.log && ok "video without soundtrack skipped with its reason" \
  || { bad "video without soundtrack skipped with its reason"; cat folder.log; }

# ---- 5. external features (.npy / .h5) and external latents (a VAE's [T, D] as .npy) ----
$PY - <<'PYEOF'
import numpy as np, h5py
np.save("feat.npy", np.arange(40 * 8, dtype=np.float32).reshape(40, 8))     # 40 rows -> resampled to 30 frames
with h5py.File("feat.h5", "w") as f:
    f["features"] = np.ones((30, 8), dtype=np.float64) * 0.5
np.save("latent.npy", np.linspace(-1, 1, 200 * 16, dtype=np.float32).reshape(200, 16))  # 4 s at 50 frames/s
PYEOF
{
  echo "{\"id\":\"npyfeat\",\"video\":\"$g/h264_aac.mp4\",\"text\":\"\",\"features\":\"feat.npy\"}"
  echo "{\"id\":\"h5feat\",\"video\":\"$g/h264_aac.mp4\",\"text\":\"\",\"features\":\"feat.h5\"}"
} > ext.jsonl
echo "{\"id\":\"vae\",\"video\":\"$g/h264_aac.mp4\",\"music\":\"latent.npy\",\"text\":\"\"}" > lat.jsonl
echo 'data: {out_dir: extshards, clip_seconds: 3, keep_frames: false}' > ext.yaml
"$V" data build ext.yaml data.manifest=ext.jsonl data.name=ext && "$V" data build ext.yaml data.manifest=lat.jsonl data.name=lat \
  && ok "external features and latents build" || bad "external features and latents build"
$PY - <<'PYEOF' && ok "external arrays land in the shard" || bad "external arrays land in the shard"
import h5py, numpy as np
with h5py.File("extshards/ext-00000.h5", "r") as f:
    v = f["video_feat"][:]
    assert v.shape == (2, 30, 31 + 8), v.shape
    src = np.arange(40 * 8, dtype=np.float32).reshape(40, 8)
    want = src[[int((t + 0.5) * 40 / 30) for t in range(30)]]
    assert np.array_equal(v[0, :, 31:], want), "npy features resampled by nearest frame"
    assert np.all(v[1, :, 31:] == 0.5), "h5 features"
with h5py.File("extshards/lat-00000.h5", "r") as f:
    a = f["audio_latent"][0].astype(np.float32)
    assert f.attrs["latent_kind"] in (b"external", "external") and a.shape == (150, 16), a.shape
    assert np.allclose(a, np.linspace(-1, 1, 200 * 16, dtype=np.float32).reshape(200, 16)[:150], atol=1e-3)
print("external ok")
PYEOF

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
