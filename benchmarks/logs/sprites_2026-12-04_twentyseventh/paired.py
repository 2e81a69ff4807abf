"""G.sh's runs paired against the default (guided_chunks 1), seeds 5 and 6 together (CPU, under a minute).

    python benchmarks/logs/sprites_2026-12-04_twentyseventh/paired.py
    python benchmarks/logs/sprites_2026-12-04_twentyseventh/paired.py FOLDER LABEL [LABEL ...]  # other runs, same pairing
"""
import json
import sys
from pathlib import Path

from streamt1.metrics.sprites import imaging_quality
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import render

G = Path(__file__).parent / "G"
SEEDS = (5, 6)
METRICS = ("subject_consistency", "text_alignment", "alignment_background", "alignment_presence", "alignment_shape",
           "alignment_motion", "imaging_quality", "imaging_vs_render")


def load(label: str, folder: Path = G) -> dict[str, dict]:
    """metric -> {(seed, prompt index): value}; imaging_vs_render recomputed where a run predates it."""
    out: dict[str, dict] = {}
    for seed in SEEDS:
        run = json.loads((folder / f"{label}-s{seed}.json").read_text())
        scores = dict(run["scores"])
        scores["imaging_vs_render"] = [abs(q - RENDER[p]) for q, p in zip(scores["imaging_quality"], run["prompts"])]
        for name in METRICS:
            out.setdefault(name, {}).update({(seed, i): v for i, v in enumerate(scores[name])})
    return out


prompts = json.loads((G / "gc1-s5.json").read_text())["prompts"]
RENDER = {p: imaging_quality(render(parse_caption(p, 96), 96).clamp(0, 1)) for p in prompts}
base = load("gc1")
print("gc1 (default) means:", ", ".join(f"{k} {100 * sum(v.values()) / len(v):.1f}" for k, v in base.items()))
folder, labels = (Path(sys.argv[1]), sys.argv[2:]) if len(sys.argv) > 2 else (G, ["gc2", "gc4"])
for label in labels:
    if not (folder / f"{label}-s{SEEDS[-1]}.json").exists():
        continue
    other = load(label, folder)
    diffs = {k: paired_difference(other[k], base[k]) for k in METRICS}
    print(f"{label} - gc1 ({len(other[METRICS[0]])} videos, points, 95 %):",
          ", ".join(f"{k} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}" for k, d in diffs.items()))
