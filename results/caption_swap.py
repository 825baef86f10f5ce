#!/usr/bin/python3
"""Which words of a caption does a model read? Manifests whose captions differ in one attribute only.

For each clip of PROBE.jsonl, the caption is replaced by the caption of a DONORS.jsonl clip whose
labels agree on every key in --keep and differ on --change (the music, video and labels stay the
clip's own). Built into shards with `vrobin data build` and scored with `vrobin validate
--no-history` beside the clip's own captions, the rise of the loss is what the model takes from
that attribute's words; `--change none` gives a paraphrase (a different caption, every kept label
the same), the noise floor of the comparison. Donors are drawn with a fixed seed, so the same
arguments write the same file.

usage: /usr/bin/python3 results/caption_swap.py PROBE.jsonl DONORS.jsonl OUT.jsonl --change KEY|none
                                                [--keep KEY,KEY,...] [--seed 0]
e.g.   --change instrument --keep pattern,register,mode   (the instrument words only)
       --change pattern --keep instrument,register,mode   (the pattern words only)
       --change none --keep instrument,pattern,register,mode
"""
import json
import os
import random
import sys


def read(path):
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        sys.exit(f"{path}: not a readable JSONL manifest ({e})")
    for n, row in enumerate(rows, 1):
        if not isinstance(row.get("text"), str) or not isinstance(row.get("labels"), dict):
            sys.exit(f"{path}:{n}: expected a clip with 'text' (string) and 'labels' (object)")
    return rows


def main():
    args = sys.argv[1:]
    opts = {"--change": None, "--keep": "", "--seed": "0"}
    pos = []
    while args:
        a = args.pop(0)
        if a in opts:
            if not args:
                sys.exit(f"{a}: expected a value\n\n{__doc__}")
            opts[a] = args.pop(0)
        else:
            pos.append(a)
    if len(pos) != 3 or not opts["--change"]:
        sys.exit(__doc__)
    try:
        seed = int(opts["--seed"])
    except ValueError:
        sys.exit(f"--seed {opts['--seed']!r}: expected an integer")
    probe, donors = read(pos[0]), read(pos[1])
    change = None if opts["--change"] == "none" else opts["--change"]
    keep = [k for k in opts["--keep"].split(",") if k]
    for key in keep + ([change] if change else []):
        for path, rows in ((pos[0], probe), (pos[1], donors)):
            missing = [n for n, r in enumerate(rows, 1) if key not in r["labels"]]
            if missing:
                sys.exit(f"{path}:{missing[0]}: no label '{key}' (needed by --keep/--change)")
    rnd = random.Random(seed)
    out = []
    for clip in probe:
        lab = clip["labels"]
        cands = [d for d in donors if d["text"] != clip["text"] and all(d["labels"][k] == lab[k] for k in keep)
                 and (change is None or d["labels"][change] != lab[change])]
        if not cands:
            sys.exit(f"{pos[1]}: no donor for clip '{clip.get('id')}' (same {', '.join(keep) or 'nothing'}"
                     f"{', another ' + change if change else ''}); give more donors or keep fewer keys")
        swapped = dict(clip)
        swapped["text"] = rnd.choice(cands)["text"]
        out.append(swapped)
    with open(pos[2] + ".tmp", "w") as f:  # renamed into place: never a half-written manifest
        f.writelines(json.dumps(c) + "\n" for c in out)
    os.replace(pos[2] + ".tmp", pos[2])
    print(f"{pos[2]}: {len(out)} clips, captions from clips with another {change or 'caption'}"
          f"{' and the same ' + ', '.join(keep) if keep else ''}")


if __name__ == "__main__":
    main()
