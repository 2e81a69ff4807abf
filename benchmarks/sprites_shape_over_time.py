"""Where a Sprites video loses its shapes: shape match by stretch of the video, plain generation.

    python benchmarks/sprites_shape_over_time.py [--weights DIR] [--seed 5]

Tuning prompts 32-63, 96 frames, one seed. For every captioned sprite present from the start, the share
of its detected frames whose mask best matches the captioned shape (streamt1.metrics.sprites.shape_accuracy
on that stretch alone), for frames 0-2 (the first chunk, from the caption alone), 3-23, 24-47 and 48-95,
and how many sprites are still detected in each stretch. A model that draws the shape and keeps it scores
alike in every stretch; one that loses it while streaming falls after the first.
"""

from __future__ import annotations

import argparse
from typing import Iterable

import torch
from torch import Tensor

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

STRETCHES = ((0, 3), (3, 24), (24, 48), (48, 96))
TUNING = slice(32, 64)  # held-out prompts that `streamt1 evaluate` never reports


def shape_by_stretch(videos: Iterable[tuple[str, Tensor]]) -> tuple[int, dict[tuple[int, int], tuple[int, float]]]:
    """(sprites present from the start, ``{stretch: (sprites detected there, share of their detected frames
    with the captioned shape)}``) over ``(prompt, video [F, 3, H, W] in [0, 1])`` pairs of 96 frames."""
    frames_n = STRETCHES[-1][1]
    match: dict[tuple[int, int], list[float]] = {s: [] for s in STRETCHES}
    seen = {s: 0 for s in STRETCHES}
    total = 0
    for prompt, video in videos:
        for sprite in parse_caption(prompt, frames_n).sprites:  # the sprites there from the start
            total += 1
            for a, b in STRETCHES:
                track = track_sprite(video[a:b], sprite)
                if bool(track.detected.any()):
                    seen[(a, b)] += 1
                    match[(a, b)].append(shape_accuracy(track, sprite.shape))
    return total, {s: (seen[s], sum(match[s]) / max(1, len(match[s]))) for s in STRETCHES}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args(argv)
    frames_n = STRETCHES[-1][1]
    device = "cuda" if torch.cuda.is_available() else "cpu"  # 32 videos: ~6 min on one CPU thread
    config = build_config("none", None, [], num_frames=frames_n, weights=args.weights, device=device, backend="sprites")
    generator = build_generator(SpritesVideoModel.from_pretrained(args.weights),
                                {"global_sink": config.search.global_sink}, device=device)
    search = StreamSearch(generator, config.search, None, None, method="none", settings={})
    prompts = eval_prompts(TUNING.stop, frames_n)[TUNING]
    videos = []
    for i, prompt in enumerate(prompts, 1):
        videos.append((prompt, search.run(prompt, frames_n, args.seed, progress=False).frames.cpu().float() / 255))
        if i % 8 and i < len(prompts):
            continue  # a table every 8 videos: a run stopped at a time limit still says something
        total, table = shape_by_stretch(videos)
        print(f"{args.weights}, seed {args.seed}: {total} sprites present from the start, {i} of {len(prompts)} "
              f"tuning prompts, {frames_n} frames", flush=True)
        for (a, b), (detected, share) in table.items():
            print(f"  frames {a:2d}-{b - 1:2d}: detected {detected:3d} / {total}, shape match {100 * share:.1f} %",
                  flush=True)


if __name__ == "__main__":
    main()
