"""Which part of imaging quality a model loses: sharpness or noise, in the first chunk or later (CPU).

    python benchmarks/logs/sprites_2026-12-04_twentysixth/imaging_parts.py NAME=DIR NAME=DIR ...

Plain generation of tuning prompts 32-39, seed 5, 48 frames with each model; prints per model the mean
Crete-Roffet sharpness and Immerkaer noise of frames 0-2 (the first chunk) and of frames 3-47, and the
imaging quality of streamt1.metrics.sprites (their clamped product), with the paired difference of each
model against the first.
"""
import sys

import torch

from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import NOISE_REF, SHARPNESS_REF, blur_sharpness, noise_sigma
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.search.beam import StreamSearch
from streamt1.config import build_config

FRAMES, SEED = 48, 5
prompts = eval_prompts(40, FRAMES)[32:]
rows = {}
for arg in sys.argv[1:]:
    name, folder = arg.split("=")
    config = build_config("none", None, [], num_frames=FRAMES, weights=folder, device="cpu", backend="sprites")
    generator = build_generator(SpritesVideoModel.from_pretrained(folder), {"global_sink": config.search.global_sink}, device="cpu")
    search = StreamSearch(generator, config.search, None, None, method="none", settings={})
    out = {}
    for i, prompt in enumerate(prompts):
        gray = (search.run(prompt, FRAMES, SEED, progress=False).frames.float() / 255).mean(1, keepdim=True)
        sharp, noise = blur_sharpness(gray), noise_sigma(gray)
        quality = (sharp / SHARPNESS_REF).clamp(0, 1) * (1 - noise / NOISE_REF).clamp(0, 1)
        for part, span in (("first", slice(0, 3)), ("later", slice(3, None))):
            for key, v in (("sharp", sharp), ("noise", noise), ("quality", quality)):
                out.setdefault(f"{part} {key}", {})[i] = float(v[span].mean())
    rows[name] = out
base = next(iter(rows))
for name, out in rows.items():
    print(name, ", ".join(f"{k} {sum(v.values()) / len(v):.4f}" for k, v in out.items()))
    if name != base:
        print("  -", base, ", ".join(f"{k} {paired_difference(v, rows[base][k]).mean:+.4f} ± "
                                    f"{paired_difference(v, rows[base][k]).half_width:.4f}" for k, v in out.items()))
