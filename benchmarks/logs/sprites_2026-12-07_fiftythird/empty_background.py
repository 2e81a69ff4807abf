"""How often does a generated Sprites frame show no background at all, and what does the metric fix of the
fifty-third session (a frame with no sprite-free pixel scores 0, not 1, in background alignment and background
consistency) change on the reported split's plain videos?

    python benchmarks/logs/sprites_2026-12-07_fiftythird/empty_background.py [--num-prompts 32] [--seeds 0,1,2,3]
        [--num-frames 81] [--method none] [--device auto]

Generates the videos with the committed weights (reported split: held-out prompts 0-31 x seeds 0-3, 81 frames),
scores each with the metric as it is now and as it was (the old rule swapped in for the comparison only), and
prints the frames with no sprite-free pixel and the paired difference new - old of the columns it touches.
"""

from __future__ import annotations

import argparse

import torch

import streamt1.metrics.sprites as sprites_metrics
from streamt1 import api
from streamt1.config import build_config
from streamt1.devices import resolve_device
from streamt1.evaluate import eval_prompts
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.captions import parse_caption

COLUMNS = ("alignment_background", "text_alignment", "background_consistency")


def old_masked_similarity(a, b, valid):
    """The rule before the fix: an empty mask scored a perfect match."""
    diff = (a - b).abs().mean(1)
    n = valid.flatten(1).sum(1).clamp(min=1)
    return 1 - (diff * valid).flatten(1).sum(1) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-prompts", type=int, default=32)
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--num-frames", type=int, default=81)
    p.add_argument("--method", default="none")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = str(resolve_device(args.device, "--device"))
    config = build_config(args.method, None, [], num_frames=args.num_frames, device=device)
    search = api.make_search(config, api.load_components(config))
    new_rule = sprites_metrics._masked_similarity
    new, old, empty_frames, empty_videos, total = {}, {}, 0, 0, 0
    for seed in (int(s) for s in args.seeds.split(",")):
        for i, prompt in enumerate(eval_prompts(args.num_prompts, args.num_frames)):
            frames = search.run(prompt, args.num_frames, seed, progress=False).frames.float() / 255
            scene = parse_caption(prompt, num_frames=frames.shape[0])
            tracks = [sprites_metrics.track_sprite(frames, s) for s in scene.all_sprites]
            free = sprites_metrics.sprite_free(tracks, frames)
            empty = int((free.flatten(1).sum(1) == 0).sum())
            empty_frames, empty_videos, total = empty_frames + empty, empty_videos + (empty > 0), total + len(frames)
            key = f"{i}-{seed}"
            new[key] = sprites_metrics.evaluate_video(frames, prompt)
            sprites_metrics._masked_similarity = old_masked_similarity
            try:
                old[key] = sprites_metrics.evaluate_video(frames, prompt)
            finally:
                sprites_metrics._masked_similarity = new_rule
    print(f"{args.method}, {len(new)} videos of {args.num_frames} frames ({device}): {empty_frames} of {total} frames "
          f"show no sprite-free pixel, in {empty_videos} videos")
    for column in COLUMNS:
        diff = paired_difference({k: v[column] for k, v in new.items()}, {k: v[column] for k, v in old.items()})
        mean_new = sum(v[column] for v in new.values()) / len(new)
        print(f"  {column:24s} now {100 * mean_new:5.1f}  now - before {diff.format(100)} points")


if __name__ == "__main__":
    main()
