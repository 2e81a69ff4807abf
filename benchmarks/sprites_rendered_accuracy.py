"""Held-out accuracy of Sprites rewards on rendered clips: the caption's render above each kind of negative.

    python benchmarks/sprites_rendered_accuracy.py [--pairs 512] [--frames 24] [--split eval]

The pairs are `streamt1 sprites train-rewards`' own (:func:`streamt1.sprites.train_rewards.sample_pair`:
mismatched captions, the background alone, degraded frames; for clips also other or reversed motion,
frozen, flickering, jumping, partly noisy and stalled clips), drawn from the eval split, whose scenes
each show a colour x shape pair no training caption names. Every clip is ``--frames`` consecutive frames
at 16 fps, so rewards that read motion over time (the track reward) and rewards that read a frame plan
(the pathway rewards) see the same clips. Prints, per reward and kind, the share of pairs whose positive
scores above its negative (ties count half).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import replace

import torch

from streamt1.sprites.rewards import SpritesImageReward, SpritesVideoReward
from streamt1.sprites.track_reward import SpritesTrackImageReward, SpritesTrackVideoReward, load_perception
from streamt1.sprites.train_rewards import IMAGE_NEGATIVES, VIDEO_NEGATIVES, TrainRewardsConfig, sample_pair
from streamt1.sprites.world import FPS


def accuracy(pos: torch.Tensor, neg: torch.Tensor) -> list[float]:
    return ((pos > neg).float() + 0.5 * (pos == neg).float()).tolist()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=512)
    p.add_argument("--frames", type=int, default=24, help="consecutive frames per clip (8 to 48)")
    p.add_argument("--split", default="eval", choices=("eval", "train"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    base = TrainRewardsConfig()
    # a window of exactly --frames frames, read whole (num_frames = window: consecutive frames)
    config = replace(base, min_window=args.frames, max_window=args.frames,
                     net=replace(base.net, num_frames=args.frames, recent_frames=0))
    g = torch.Generator().manual_seed(args.seed)
    pairs = [sample_pair(g, args.split, config) for _ in range(args.pairs)]
    perception = load_perception()
    rewards = {
        "track": (SpritesTrackImageReward(perception), SpritesTrackVideoReward(perception)),
        "pathway": (SpritesImageReward.from_pretrained(), SpritesVideoReward.from_pretrained()),
    }
    texts = [x["text"] for x in pairs]
    frames = torch.stack([x["frame"] for x in pairs])
    image_neg, image_texts = torch.stack([x["image_neg"] for x in pairs]), [x["image_neg_text"] for x in pairs]
    clips = torch.stack([x["clip"] for x in pairs])
    video_neg, video_texts = torch.stack([x["video_neg"] for x in pairs]), [x["video_neg_text"] for x in pairs]
    print(f"{args.pairs} pairs, {args.split} split, clips of {args.frames} frames at {FPS} fps")
    for name, (image, video) in rewards.items():
        with torch.no_grad():
            image_ok = accuracy(image(frames, texts), image(image_neg, image_texts))
            video_ok = accuracy(video(clips, texts, float(FPS)).overall,
                                video(video_neg, video_texts, float(FPS)).overall)
        for kind_name, ok, kinds, names in (("image", image_ok, "image_kind", IMAGE_NEGATIVES),
                                            ("video", video_ok, "video_kind", VIDEO_NEGATIVES)):
            by_kind: dict[str, list[float]] = defaultdict(list)
            for value, x in zip(ok, pairs):
                by_kind[names[x[kinds]]].append(value)
            parts = ", ".join(f"{k} {sum(v) / len(v):.2f} ({len(v)})" for k, v in sorted(by_kind.items()))
            print(f"{name:8s} {kind_name} reward: all {sum(ok) / len(ok):.3f}; {parts}")


if __name__ == "__main__":
    main()
