#!/usr/bin/env python3
"""Self time per ATen op of a Chrome trace written by libtorch's legacy profiler
(bench_robin_step --profile F, i.e. tt_profile_begin/end; the same format as
torch.autograd.profiler.profile().export_chrome_trace in Python).

    /usr/bin/python3 bench/profile_ops.py TRACE.json [--top N] [--by-shape]

Self time = an event's duration minus its direct children's (events nest on one thread).
Time outside every event (the C code between ATen calls, vrobin's fused kernels called from
the forward of a custom autograd function, ...) is shown as "(outside ATen ops)".
"""
import argparse
import json
from collections import defaultdict


def self_times(events, by_shape=False):
    """[(name, self_us, dur_us)] of complete events, nesting reconstructed per thread."""
    out = []
    by_tid = defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_tid[e.get("tid")].append(e)
    for evs in by_tid.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [event, children's total]
        def close(until):
            while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= until:
                ev, kids = stack.pop()
                name = ev["name"]
                if by_shape and ev.get("args", {}).get("shapes"):
                    name += " " + json.dumps(ev["args"]["shapes"]).replace(" ", "")
                out.append((name, ev["dur"] - kids, ev["dur"], not stack))
                if stack:
                    stack[-1][1] += ev["dur"]
        for e in evs:
            close(e["ts"])
            stack.append([e, 0.0])
        close(float("inf"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--by-shape", action="store_true", help="one row per op and input shapes")
    a = ap.parse_args()
    with open(a.trace) as f:
        events = json.load(f)
    rows = self_times(events, a.by_shape)
    xs = [e for e in events if e.get("ph") == "X"]
    span = (max(e["ts"] + e["dur"] for e in xs) - min(e["ts"] for e in xs)) / 1e3 if xs else 0.0
    agg = defaultdict(lambda: [0, 0.0])
    top_level = 0.0
    for name, self_us, dur_us, is_top in rows:
        agg[name][0] += 1
        agg[name][1] += self_us
        if is_top:
            top_level += dur_us
    total_self = sum(v[1] for v in agg.values()) / 1e3
    print("| op | calls | self, ms | share of the span |")
    print("|---|---:|---:|---:|")
    for name, (calls, us) in sorted(agg.items(), key=lambda kv: -kv[1][1])[: a.top]:
        print("| %s | %d | %.1f | %.1f %% |" % (name, calls, us / 1e3, 100 * us / 1e3 / span if span else 0))
    outside = span - top_level / 1e3
    print("| (outside ATen ops) | | %.1f | %.1f %% |" % (outside, 100 * outside / span if span else 0))
    print("\nspan %.1f ms, in ATen ops %.1f ms (self times summed), %d events" % (span, total_self, len(rows)))


if __name__ == "__main__":
    main()
