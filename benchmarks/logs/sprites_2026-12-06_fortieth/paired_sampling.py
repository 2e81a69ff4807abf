"""The fortieth session's CPU screen of plain generation's sampler (cpu_sampling.sh): each sampler minus the
model's own, paired by prompt and seed on the tuning split (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-06_fortieth/paired_sampling.py FOLDER [LABEL ...]
"""
import json
import sys
from pathlib import Path

from streamt1.metrics.stats import paired_difference

LOWER_IS_BETTER = {"imaging_vs_render"}
RULE_METRICS = ("text_alignment", "alignment_background", "alignment_presence", "alignment_shape", "alignment_motion")
folder = Path(sys.argv[1])


def scores(label: str) -> dict:
    """metric -> {(seed, prompt): value}."""
    out: dict = {}
    for seed in (5, 6, 7):
        path = folder / f"{label}-s{seed}.json"
        if path.is_file():
            for key, values in json.loads(path.read_text())["scores"].items():
                out.setdefault(key, {}).update({(seed, 32 + i): v for i, v in enumerate(values)})
    return out


base = scores("base")
for label in sys.argv[2:] or ["S3", "S15", "N12"]:
    run = scores(label)
    if not run:
        print(f"{label}: no runs")
        continue
    common = sorted(set(run["text_alignment"]) & set(base["text_alignment"]))
    print(f"\n{label} - the model's own sampler, plain generation, tuning split ({len(common)} videos; points, 95 %):")
    gains, losses = [], []
    for k in run:
        d = paired_difference({i: run[k][i] for i in common}, {i: base[k][i] for i in common})
        lo, hi = 100 * (d.mean - d.half_width), 100 * (d.mean + d.half_width)
        worse = lo > 0.5 if k in LOWER_IS_BETTER else hi < -0.5
        better = k in RULE_METRICS and lo > 0
        mean_base = 100 * sum(base[k][i] for i in common) / len(common)
        print(f"  {k:24s} own {mean_base:5.1f}  {label} - own {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}"
              + ("  worse beyond noise" if worse else "") + ("  better beyond noise" if better else ""))
        gains += [k] if better else []
        losses += [k] if worse and k != "imaging_quality" else []
    print(f"  rule: {'passes' if gains and not losses else 'fails'} (better: {gains or 'none'}; worse: {losses or 'none'})")
