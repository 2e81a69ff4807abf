"""Whether a Sprites video follows its captioned background changes: plain generation, change by change.

    python benchmarks/sprites_background_changes.py [--weights DIR] [--seeds 5,6,7] [--num-frames 96]
        [--num-prompts 64] [--set KEY=VALUE ...]

Held-out prompts after the 32 that `streamt1 evaluate` reports (32-95 by default) that caption at least one change ("then the background turns ..."). Per change, the
distance of every frame's background from the old and the new background (the median over pixels of the
mean absolute RGB difference: sprites cover too few pixels to move a median). A change is *followed* when
the last frames before the next change (or the end), the same share the ground truth's background check
reads, are nearer the new background than the old; its *delay* is the frame from which every frame of the
segment stays nearer the new one, minus the captioned frame; its *residual* is the distance from the new
background over those last frames. The world's own renders (the ceiling) print first. The model runs in
float32 unless ``--set run.dtype=...`` says otherwise; ``--set`` takes any config override (e.g.
``run.guided_chunks=0``: guidance on every chunk). Grouped by the new
background's kind (solid, gradient, stripes, checkerboard), since the kinds differ in what a model must draw.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Iterable, NamedTuple

import torch
from torch import Tensor

from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import EDGE_FRACTION
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import render, render_background

REPORTED = 32  # the held-out prompts `streamt1 evaluate` reports: never read here


class Change(NamedTuple):
    kind: str  # the new background's kind
    followed: bool
    delay: int | None  # frames after the captioned one (None: never settles on the new background)
    residual: float  # distance from the new background over the segment's last frames


def background_distance(video: Tensor, background: Tensor) -> Tensor:
    """``[T]``: per frame of ``video [T, 3, H, W]``, the median over pixels of ``|frame - background|``
    (mean over RGB)."""
    return (video - background[None]).abs().mean(1).flatten(1).median(1).values


def changes_of(prompt: str, video: Tensor) -> list[Change]:
    """Every captioned background change of ``prompt`` as ``video [T, 3, H, W]`` in [0, 1] shows it."""
    frames = video.shape[0]
    steps = parse_caption(prompt, frames).background_changes()
    out = []
    for i in range(1, len(steps)):
        start, end = steps[i][0], steps[i + 1][0] if i + 1 < len(steps) else frames
        old, new = (render_background(spec, video.shape[-1]).to(video) for spec in (steps[i - 1][1], steps[i][1]))
        to_old, to_new = background_distance(video[start:end], old), background_distance(video[start:end], new)
        nearer = to_new < to_old
        last = max(1, round(frames * EDGE_FRACTION))
        followed = bool(nearer[-last:].float().mean() > 0.5)
        after = torch.nonzero(~nearer).flatten()  # the segment's frames still nearer the old background
        settled = 0 if len(after) == 0 else int(after[-1]) + 1
        delay = settled if settled < len(nearer) else None
        out.append(Change(steps[i][1].kind, followed, delay, float(to_new[-last:].mean())))
    return out


def summarise(videos: Iterable[tuple[str, Tensor]]) -> dict[str, tuple[int, float, float | None, float]]:
    """``{kind: (changes, share followed, median delay of the followed ones, mean residual)}`` plus ``"all"``."""
    groups: dict[str, list[Change]] = defaultdict(list)
    for prompt, video in videos:
        for change in changes_of(prompt, video):
            groups[change.kind].append(change)
            groups["all"].append(change)
    table = {}
    for kind, changes in sorted(groups.items()):
        delays = sorted(c.delay for c in changes if c.followed and c.delay is not None)
        table[kind] = (len(changes), sum(c.followed for c in changes) / len(changes),
                       float(delays[len(delays) // 2]) if delays else None,
                       sum(c.residual for c in changes) / len(changes))
    return table


def print_table(title: str, table: dict[str, tuple[int, float, float | None, float]]) -> None:
    print(title, flush=True)
    for kind, (n, followed, delay, residual) in table.items():
        shown = "-" if delay is None else f"{delay:.0f}"
        print(f"  {kind:20s} changes {n:3d}  followed {100 * followed:5.1f} %  median delay {shown:>3s} frames  "
              f"residual {residual:.3f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--seeds", default="5,6,7", help="comma-separated (default: the tuning seeds)")
    p.add_argument("--num-frames", type=int, default=96)
    p.add_argument("--num-prompts", type=int, default=64, help="prompts read, from the 33rd on (default 64)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, repeatable (e.g. run.guided_chunks=0)")
    args = p.parse_args(argv)
    frames = args.num_frames
    candidates = eval_prompts(REPORTED + args.num_prompts, frames)[REPORTED:]
    prompts = [q for q in candidates if parse_caption(q, frames).background_changes()[1:]]
    print_table(f"the world's renders, {len(prompts)} of {len(candidates)} unreported held-out prompts with a "
                f"background change, {frames} frames",
                summarise((q, render(parse_caption(q, frames), frames).clamp(0, 1)) for q in prompts))
    device = "cuda" if torch.cuda.is_available() else "cpu"  # ~7 s a 96-frame video on two CPU threads
    config = build_config("none", None, ["run.dtype=float32", *args.overrides], num_frames=frames,
                          weights=args.weights, device=device, backend="sprites")
    search = api.make_search(config, api.load_components(config))
    videos = []
    for seed in (int(s) for s in args.seeds.split(",")):
        videos += [(q, search.run(q, frames, seed, progress=False).frames.cpu().float() / 255) for q in prompts]
        settings = f" ({' '.join(args.overrides)})" if args.overrides else ""
        print_table(f"{args.weights}, plain generation{settings}, seeds up to {seed}: {len(videos)} videos",
                    summarise(videos))


if __name__ == "__main__":
    main()
