"""How far the own-state targets put each sprite from where the drawing shows it (forty-fourth session).

own_states.repaired redraws every chunk with each sprite starting where the drawing first shows it in that
chunk and moving on as the caption says, in the captioned shape. Where the drawing moves otherwise, the
target's sprite is offset from the state's within the chunk; a flow model aimed at targets a few pixels off
what its state shows learns to spread the outline. Plain videos of the given weights on tuning prompts (CPU,
float32); per frame where a sprite is found, the distance between the target's centre (drawn_centres, per
chunk, as own_rollouts makes it, from --anchor chunk or context) and the drawing's blob centre, in pixels
and in sprite radii, by chunk (first / later) and by frame within the chunk. With --anchor context, frame 0 of
a later chunk measures how far the model's own chunk lands from the continuation of its context.

    python benchmarks/logs/sprites_2026-12-06_fortyfourth/target_offsets.py WEIGHTS [--num-prompts 16] [--anchor context]
"""
import argparse
from collections import defaultdict

import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import wrapped_delta
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.own_states import blob_centres, drawn_centres, sprite_tracks
from streamt1.sprites.world import FRAME_SIZE, sprite_placements

CHUNK = 3


def offsets(frames: torch.Tensor, caption: str, segment: int, anchor: str) -> list[tuple[str, float, float]]:
    frames = frames.float().div(255)
    t = torch.arange(len(frames))
    scene = parse_caption(caption, num_frames=len(frames))
    tracks = sprite_tracks(frames, scene, t)
    out = []
    for (_, _, _, radius, _), track, centre in zip(sprite_placements(scene, t), tracks,
                                                   drawn_centres(tracks, scene, t, segment, anchor)):
        if track is None or centre is None:
            continue
        seen = track.detected.nonzero().flatten()
        x, y = blob_centres(track.mask[seen], radius[seen])
        dx, dy = wrapped_delta(centre[0][seen] - x), wrapped_delta(centre[1][seen] - y)
        dist = (dx * dx + dy * dy).sqrt()
        for f, d, r in zip(seen.tolist(), dist.tolist(), radius[seen].tolist()):
            part = "first chunk" if f < CHUNK else "later chunks"
            out.append((f"{part}, frame {f % CHUNK} of the chunk", d * FRAME_SIZE, d / r))
            out.append((part, d * FRAME_SIZE, d / r))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights")
    p.add_argument("--num-prompts", type=int, default=16)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=48)
    p.add_argument("--segment", type=int, default=CHUNK)
    p.add_argument("--anchor", default="chunk")
    args = p.parse_args()
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    config = build_config("none", None, [], num_frames=args.num_frames, weights=args.weights, device="cpu",
                          backend="sprites")
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides}
    search = StreamSearch(build_generator(SpritesVideoModel.from_pretrained(args.weights), stream), config.search,
                          None, None, method="none", settings={})
    groups = defaultdict(list)
    for prompt in prompts:
        for key, px, radii in offsets(search.run(prompt, args.num_frames, args.seed, progress=False).frames, prompt,
                                      args.segment, args.anchor):
            groups[key].append((px, radii))
    print(f"{args.weights}: plain, prompts {args.offset}-{args.offset + args.num_prompts - 1}, seed {args.seed}, "
          f"{args.num_frames} frames, segment {args.segment}, anchor {args.anchor}; target centre - drawn blob centre, frames found:")
    for key in sorted(groups):
        g = torch.tensor(groups[key])
        print(f"  {key:<32} {len(g):5d} frames  mean {g[:, 0].mean():5.2f} px  median {g[:, 0].median():5.2f} px"
              f"  90th pct {g[:, 0].quantile(0.9):5.2f} px  mean {g[:, 1].mean():.2f} radii")


if __name__ == "__main__":
    main()
