"""Where a Sprites video loses its shapes: shape match by stretch of the video, plain generation.

    python benchmarks/sprites_shape_over_time.py [--weights DIR] [--seed 5]

Tuning prompts 32-63, 96 frames, one seed. For every captioned sprite present from the start, the share
of its detected frames whose mask best matches the captioned shape (streamt1.metrics.sprites.shape_accuracy
on that stretch alone), for frames 0-2 (the first chunk, from the caption alone), 3-23, 24-47 and 48-95,
and how many sprites are still detected in each stretch. A model that draws the shape and keeps it scores
alike in every stretch; one that loses it while streaming falls after the first.

    python benchmarks/sprites_shape_over_time.py --after-context 9 [--chunks 4] [--guidance 3]

With ``--after-context N``: how a continuation keeps what it is shown. Held-out scenes of one sprite and no
events, the world's first N frames given clean (the model's sink and window), then ``--chunks`` chunks
generated after them (``sprites_motion_start.continue_stream``, optionally with classifier-free guidance on
every step); the shape match chunk by chunk, by sprite size. The fifty-seventh session found the shape lost
after clean renders too, a share per chunk, large sprites as well as small.
"""

from __future__ import annotations

import argparse
from typing import Iterable

import torch
from torch import Tensor

from sprites_motion_start import continue_stream
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import caption, parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import SIZES, render_at, sample_scene

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


def one_sprite_scenes(count: int, num_frames: int, seed: int = 7) -> list:
    """Held-out scenes of one sprite, there from the start, and no events."""
    g = torch.Generator().manual_seed(seed)
    scenes: list = []
    while len(scenes) < count:
        scene = sample_scene(g, "eval", num_frames=num_frames, max_sprites=1, max_events=0)
        if scene.sprites:
            scenes.append(scene)
    return scenes


def shape_by_chunk(videos: Tensor, scenes: list, chunk_frames: int) -> dict[str, list[float]]:
    """``{size: share of the detected sprites' frames with the captioned shape, chunk by chunk}`` (and ``"all"``)
    over one-sprite ``videos [N, T, 3, H, W]`` in [0, 1]."""
    chunks = videos.shape[1] // chunk_frames
    rows: dict[str, list[list[float]]] = {size: [[] for _ in range(chunks)] for size in (*SIZES, "all")}
    for video, scene in zip(videos, scenes):
        sprite = scene.sprites[0]
        for k in range(chunks):
            track = track_sprite(video[k * chunk_frames:(k + 1) * chunk_frames].float().clamp(0, 1), sprite)
            if bool(track.detected.any()):
                share = shape_accuracy(track, sprite.shape)
                rows[sprite.size][k].append(share)
                rows["all"][k].append(share)
    return {size: [sum(c) / max(1, len(c)) for c in cells] for size, cells in rows.items() if cells[0]}


def after_context(args: argparse.Namespace) -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SpritesVideoModel.from_pretrained(args.weights).eval().to(device)
    chunk = model.stream.chunk_frames
    total = args.after_context + args.chunks * chunk
    scenes = one_sprite_scenes(args.num_scenes, total)
    frames = torch.stack([render_at(scene, torch.arange(total)) for scene in scenes]).to(device)
    videos = continue_stream(model, frames[:, :args.after_context].contiguous(), [caption(scene) for scene in scenes],
                             args.chunks, args.seed, guidance=args.guidance)
    print(f"{args.weights}: {len(scenes)} one-sprite scenes, {args.chunks} chunks after {args.after_context} clean "
          f"frames, guidance {args.guidance:g}, seed {args.seed}; shape match by chunk, %")
    rendered = shape_by_chunk(frames[:, args.after_context:].cpu(), scenes, chunk)["all"]
    print(f"  render  ({len(scenes):2d})", " ".join(f"{100 * v:5.1f}" for v in rendered))
    for size, shares in shape_by_chunk(videos.cpu(), scenes, chunk).items():
        count = len(scenes) if size == "all" else sum(s.sprites[0].size == size for s in scenes)
        print(f"  {size:6s} ({count:2d})", " ".join(f"{100 * v:5.1f}" for v in shares), flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--after-context", type=int, default=None, metavar="FRAMES",
                   help="continue FRAMES clean rendered frames (whole chunks: the sink and more) instead of plain "
                        "generation, and report by chunk and sprite size")
    p.add_argument("--chunks", type=int, default=4, help="chunks generated after the context (with --after-context)")
    p.add_argument("--num-scenes", type=int, default=48, help="one-sprite scenes (with --after-context)")
    p.add_argument("--guidance", type=float, default=1.0,
                   help="classifier-free guidance on every step of the continuation (with --after-context; 1: none)")
    args = p.parse_args(argv)
    if args.after_context is not None:
        return after_context(args)
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
