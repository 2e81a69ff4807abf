"""Twenty-ninth session, call W1 against M2 (the committed weights), paired, from the calls' saved scores
(CPU, seconds):

    python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py
    python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py C1 FOLDER/tune   # another candidate
    python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py RO1 A/tune C1 B/tune  # against another base

Plain generation on the tuning split, prompts 32-63 x seeds 5, 6, 7 (96 videos, 96 frames); M2's runs are
the twenty-sixth session's call Z2 (same prompts, seeds, frames and device kind). W.sh's rule (written
before the call): W1 may replace M2 only if its shape or text alignment is above M2's with the 95 %
interval excluding 0 and no ground-truth metric is below M2's beyond noise by more than 0.5 points;
imaging quality is judged by imaging_vs_render (the distance from the render of the same caption; lower
is better, so there the candidate fails if it is larger beyond noise by more than 0.5 points).
"""
import json
import sys
from pathlib import Path

import torch

from streamt1.metrics.sprites import imaging_quality
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import render

logs = Path(__file__).parent.parent
LOWER_IS_BETTER = {"imaging_vs_render"}


_RENDER: dict[str, float] = {}


def render_quality(prompt: str, frames: int = 96) -> float:
    """Imaging quality of the world's render of ``prompt``, scored in 8 bits as the videos are."""
    if prompt not in _RENDER:
        world = (render(parse_caption(prompt, frames), frames).clamp(0, 1) * 255).round().to(torch.uint8)
        _RENDER[prompt] = imaging_quality(world.float() / 255)
    return _RENDER[prompt]


def tuning(folder: str, name: str) -> dict:
    out: dict = {}
    for seed in (5, 6, 7):
        for half in (32, 48):
            label = f"{name}-{half}" + ("" if seed == 5 else f"-s{seed}")
            run = json.loads((logs / folder / f"{label}.json").read_text())
            scores = dict(run["scores"])  # Z2's runs predate the distance: recomputed for both, as sprites_tuning.py does
            scores["imaging_vs_render"] = [abs(q - render_quality(p)) for q, p in zip(scores["imaging_quality"], run["prompts"])]
            for key, values in scores.items():
                out.setdefault(key, {}).update({(seed, half, i): v for i, v in enumerate(values)})
    return out


name, folder = sys.argv[1:3] if len(sys.argv) > 2 else ("W1", str(logs / "sprites_2026-12-05_twentyninth/W1/tune"))
base, base_folder = sys.argv[3:5] if len(sys.argv) > 4 else ("M2", "sprites_2026-12-04_twentysixth/Z2/tune")
w1 = tuning(str(Path(folder).resolve()), name)
m2 = tuning(str((Path(base_folder) if Path(base_folder).is_dir() else logs / base_folder).resolve()), base)  # a path, or one under benchmarks/logs
keys = [k for k in w1 if k in m2 and not k.startswith("reward") and k != "motion_smoothness"]
verdicts = []
print(f"{name} - {base}, plain generation, tuning split ({len(w1['text_alignment'])} videos; points, 95 %):")
for k in keys:
    d = paired_difference(w1[k], m2[k])
    lo, hi = 100 * (d.mean - d.half_width), 100 * (d.mean + d.half_width)
    worse = lo > 0.5 if k in LOWER_IS_BETTER else hi < -0.5
    print(f"  {k:24s} {base} {100 * sum(m2[k].values()) / len(m2[k]):5.1f}  {name} - {base} {100 * d.mean:+5.1f} ± "
          f"{100 * d.half_width:.1f}" + ("  worse beyond noise" if worse else ""))
    verdicts.append((k, lo, worse))
gain = any(k in ("alignment_shape", "text_alignment") and lo > 0 for k, lo, _ in verdicts)
loss = [k for k, _, worse in verdicts if worse and k != "imaging_quality"]
print("rule:", "adopt" if gain and not loss else
      f"keep {base} (gain on shape or text alignment beyond noise: {gain}; worse beyond noise: {loss or 'none'})")
