"""SP50 minus OF2 in imaging_vs_render on the reported split (the SPR rule reads imaging quality this way):
the distance of each video's imaging quality from that of the world's render of the same prompt, which
every results.json holds as the `world` row (stem of seed 0).

    python benchmarks/logs/sprites_2026-12-06_fortyfifth/SPR/imaging_vs_render.py
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
of2 = json.loads((here.parents[1] / "sprites_2026-12-06_fortysecond/OF2/report/all/results.json").read_text())["videos"]


def distances(videos: dict, world: dict, method: str) -> dict[str, float]:
    out = {}
    for stem, scores in videos[method].items():
        render = world[stem.rsplit("-", 1)[0] + "-0"]["imaging_quality"]
        out[stem] = abs(scores["imaging_quality"] - render)
    return out


base = distances(of2, of2["world"], "none")
videos = json.loads((here / "all/results.json").read_text())["videos"]  # SP50's parts, merged
sp50 = distances(videos, videos["world"], "none")
common = sorted(set(base) & set(sp50))
d = paired_difference({k: sp50[k] for k in common}, {k: base[k] for k in common})
print(f"imaging_vs_render, plain, reported split ({len(common)} videos; lower is better): "
      f"OF2 {100 * sum(base[k] for k in common) / len(common):.2f}, "
      f"SP50 {100 * sum(sp50[k] for k in common) / len(common):.2f}, "
      f"SP50 - OF2 {100 * d.mean:+.2f} ± {100 * d.half_width:.2f} "
      f"({'worse beyond noise by more than 0.5' if 100 * (d.mean - d.half_width) > 0.5 else 'not worse by more than 0.5'})")
