"""The thirty-ninth session's decision (calls.sh, call T5's part A): Stream-T1 with the track reward minus
Stream-T1 with the pathway rewards on the tuning split, paired by prompt and seed (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-06_thirtyninth/paired_tune.py FOLDER   # the call's returned files

FOLDER holds benchmarks/sprites_tuning.py's ``path-s{5,6,7}.json`` (prompts 32-63) and ``track-s{5,6,7}.json``
or their halves ``track-{32,48}-s{5,6,7}.json`` (prompts 32-47, 48-63).
"""
import json
import sys
from pathlib import Path

from streamt1.metrics.stats import paired_difference

LOWER_IS_BETTER = {"imaging_vs_render"}
folder = Path(sys.argv[1])


def scores(label: str) -> dict:
    """metric -> {(seed, prompt): value} over the runs found."""
    out: dict = {}
    for seed in (5, 6, 7):
        for name, offset in ((f"{label}-s{seed}", 32), (f"{label}-32-s{seed}", 32), (f"{label}-48-s{seed}", 48)):
            path = folder / f"{name}.json"
            if path.is_file():
                run = json.loads(path.read_text())
                for key, values in run["scores"].items():
                    out.setdefault(key, {}).update({(seed, offset + i): v for i, v in enumerate(values)})
    return out


track, path = scores("track"), scores("path")
keys = [k for k in track if k in path and not k.startswith("reward")]
common = sorted(set(track["text_alignment"]) & set(path["text_alignment"]))
print(f"Stream-T1, track reward - pathway rewards, tuning split ({len(common)} videos both finished; points, 95 %):")
verdicts = []
for k in keys:
    d = paired_difference({i: track[k][i] for i in common}, {i: path[k][i] for i in common})
    lo, hi = 100 * (d.mean - d.half_width), 100 * (d.mean + d.half_width)
    worse = lo > 0.5 if k in LOWER_IS_BETTER else hi < -0.5
    base = 100 * sum(path[k][i] for i in common) / len(common)
    print(f"  {k:24s} path {base:5.1f}  track - path {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}"
          + ("  worse beyond noise" if worse else ""))
    verdicts.append((k, lo, worse))
gain = any(k in ("subject_consistency", "text_alignment") and lo > 0 for k, lo, _ in verdicts)
loss = [k for k, _, worse in verdicts if worse and k != "imaging_quality"]
print("rule:", "adopt the track reward" if gain and not loss else
      f"keep the pathway rewards (gain beyond noise: {gain}; worse beyond noise: {loss or 'none'})")
