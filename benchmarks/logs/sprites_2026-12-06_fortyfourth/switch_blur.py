"""Is the own-window candidates' blur where their context shows a shape other than the caption's? (forty-fourth
session). The own-window loss aims each later chunk at the captioned shape while its context, the model's own
earlier chunks, often shows another: plain teacher forcing never shows that pair (context and target always
agree), so a model that cannot tell the two apart may learn to blend the two outlines.

Plain videos of two weights on tuning prompts (CPU, float32). Each chunk after the first is put in a class by
what the chunk before it shows: every sprite found there in its captioned shape ("context right"), or some
sprite in another shape ("context wrong"); and whether a sprite's shape changes from that chunk to this one.
Printed per class: chunks, mean sharpness of their frames (metrics.sprites.blur_sharpness / SHARPNESS_REF, as
imaging quality has it), and the share of their sprites in the captioned shape.

    python benchmarks/logs/sprites_2026-12-06_fortyfourth/switch_blur.py BASE_WEIGHTS CANDIDATE_WEIGHTS \
        [--num-prompts 16] [--offset 32] [--seed 5] [--num-frames 96]
"""
import argparse
from collections import defaultdict

import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import SHARPNESS_REF, blur_sharpness, template_ious, track_sprite
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.world import SHAPES

CHUNK = 3


def chunk_shapes(frames: torch.Tensor, caption: str) -> tuple[list[list[int | None]], list[int]]:
    """Per chunk, per sprite: the shape index most of its detected frames match (None: not found); and the
    captioned shape indices."""
    scene = parse_caption(caption, num_frames=len(frames))
    rows, wanted = [], [SHAPES.index(s.shape) for s in scene.all_sprites]
    tracks = [track_sprite(frames, s) for s in scene.all_sprites]
    for start in range(0, len(frames) - CHUNK + 1, CHUNK):
        row = []
        for track in tracks:
            seen = track.detected[start:start + CHUNK].nonzero().flatten() + start
            row.append(None if len(seen) == 0 else int(template_ious(track, seen).argmax(1).mode().values))
        rows.append(row)
    return rows, wanted


def classes(frames: torch.Tensor, caption: str) -> list[tuple[str, str, float, float]]:
    """(context class, change class, sharpness, share in captioned shape) per chunk after the first."""
    frames = frames.float().div(255)
    sharp = (blur_sharpness(frames.mean(1, keepdim=True)) / SHARPNESS_REF).clamp(0, 1)
    rows, wanted = chunk_shapes(frames, caption)
    out = []
    for k in range(1, len(rows)):
        before, now = rows[k - 1], rows[k]
        found = [(b, w) for b, w in zip(before, wanted) if b is not None]
        if not found:
            continue
        context = "context right" if all(b == w for b, w in found) else "context wrong"
        changed = any(b is not None and n is not None and b != n for b, n in zip(before, now))
        right = [n == w for n, w in zip(now, wanted) if n is not None]
        out.append((context, "shape changes" if changed else "shape kept",
                    float(sharp[k * CHUNK:(k + 1) * CHUNK].mean()), sum(right) / max(len(right), 1)))
    return out


def run(weights: str, prompts: list[str], frames: int, seed: int) -> list[tuple[str, str, float, float]]:
    config = build_config("none", None, [], num_frames=frames, weights=weights, device="cpu", backend="sprites")
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides}
    search = StreamSearch(build_generator(SpritesVideoModel.from_pretrained(weights), stream), config.search, None, None,
                          method="none", settings={})
    rows = []
    for p in prompts:
        rows += classes(search.run(p, frames, seed, progress=False).frames, p)
    return rows


def report(name: str, rows: list[tuple[str, str, float, float]]) -> None:
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for context, change, sharp, right in rows:
        for key in ("all", context, change, f"{context}, {change}"):
            groups[key].append((sharp, right))
    print(f"{name}: {len(rows)} later chunks")
    for key in sorted(groups, key=lambda k: (k != "all", k)):
        g = torch.tensor(groups[key])
        half = 1.96 * g[:, 0].std() / len(g) ** 0.5 if len(g) > 1 else float("nan")
        print(f"  {key:<34} {len(g):4d} chunks  sharpness {100 * g[:, 0].mean():5.1f} ± {100 * half:.1f}"
              f"  captioned shape {100 * g[:, 1].mean():5.1f} %")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("candidate")
    p.add_argument("--num-prompts", type=int, default=16)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=96)
    args = p.parse_args()
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    print(f"plain, prompts {args.offset}-{args.offset + args.num_prompts - 1}, seed {args.seed}, "
          f"{args.num_frames} frames, CPU float32; sharpness in points (95 % interval over chunks, not independent)")
    for weights in (args.base, args.candidate):
        report(weights, run(weights, prompts, args.num_frames, args.seed))


if __name__ == "__main__":
    main()
