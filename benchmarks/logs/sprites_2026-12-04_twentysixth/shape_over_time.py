"""Where a Sprites video loses its shapes: shape match by stretch of the video, plain generation (CPU).

    python benchmarks/logs/sprites_2026-12-04_twentysixth/shape_over_time.py [--weights DIR] [--seed 5]

Tuning prompts 32-63, 96 frames, one seed. For every captioned sprite present from the start, the share
of its detected frames whose mask best matches the captioned shape (streamt1.metrics.sprites.shape_accuracy
on that stretch alone), for frames 0-2 (the first chunk, from the caption alone), 3-23, 24-47 and 48-95,
and how many sprites are still detected in each stretch. A model that draws the shape and keeps it scores
alike in every stretch; one that loses it while streaming falls after the first.
"""
import argparse

import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

STRETCHES = ((0, 3), (3, 24), (24, 48), (48, 96))

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
p.add_argument("--seed", type=int, default=5)
args = p.parse_args()
frames_n = STRETCHES[-1][1]
config = build_config("none", None, [], num_frames=frames_n, weights=args.weights, device="cpu", backend="sprites")
generator = build_generator(SpritesVideoModel.from_pretrained(args.weights), {"global_sink": config.search.global_sink},
                            device="cpu")
search = StreamSearch(generator, config.search, None, None, method="none", settings={})
match = {s: [] for s in STRETCHES}
seen = {s: 0 for s in STRETCHES}
total = 0
for prompt in eval_prompts(64, frames_n)[32:]:
    video = search.run(prompt, frames_n, args.seed, progress=False).frames.float() / 255
    for sprite in parse_caption(prompt, frames_n).sprites:  # the sprites there from the start
        total += 1
        for a, b in STRETCHES:
            track = track_sprite(video[a:b], sprite)
            if bool(track.detected.any()):
                seen[(a, b)] += 1
                match[(a, b)].append(shape_accuracy(track, sprite.shape))
print(f"{args.weights}, seed {args.seed}: {total} sprites present from the start, 32 tuning prompts, {frames_n} frames")
for a, b in STRETCHES:
    m = match[(a, b)]
    print(f"  frames {a:2d}-{b - 1:2d}: detected {seen[(a, b)]:3d} / {total}, shape match {100 * sum(m) / max(1, len(m)):.1f} %")
