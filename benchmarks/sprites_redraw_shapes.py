"""What the model's own redraw of a training context looks like (`sprites train --rollout-share`).

    python benchmarks/sprites_redraw_shapes.py [--weights DIR] [--items 24] [--band 0.6 0.95]

Train-split items as the trainer draws them (the sink chunk and four window chunks); each context is
redrawn by the model as :func:`streamt1.sprites.train.redrawn_context` does (every chunk noised to a
sigma in the band and denoised in three Euler steps after the true earlier frames). For the sprites the
caption names, the share of detected frames whose outline matches the captioned shape
(:func:`streamt1.metrics.sprites.shape_accuracy`) in the codec's reconstruction of the render and in the
redraw: the redraw teaches correction only if it carries outline errors like those of the model's own
videos (~30 % right after the first chunk with M2), while the render's placement keeps the targets right.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from torch import Tensor

from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.train import ROLLOUT_SIGMAS, TrainVideoConfig, batch_items, redrawn_context, sample_item


def shapes_and_places(captions: list[tuple[str, int]], videos: Tensor, renders: Tensor) -> tuple[float, int, int, float]:
    """(share of detected frames with the captioned shape, sprites detected, captioned sprites, mean distance
    in px from the same sprite in the render, the shorter way round the wrapping world) over videos and
    renders ``[N, F, 3, H, W]`` of ``(caption, video length)`` pairs."""
    scores, offsets, detected, sprites = [], [], 0, 0
    for (text, length), video, render in zip(captions, videos, renders):
        for sprite in parse_caption(text, length).sprites:
            sprites += 1
            track, true = track_sprite(video, sprite), track_sprite(render, sprite)
            if bool(track.detected.any()):
                detected += 1
                scores.append(shape_accuracy(track, sprite.shape))
            both = track.detected & true.detected
            if bool(both.any()):
                dx, dy = (track.cx - true.cx)[both].abs(), (track.cy - true.cy)[both].abs()
                distance = torch.hypot(torch.minimum(dx, 1 - dx), torch.minimum(dy, 1 - dy))  # fractions of the width
                offsets.append(video.shape[-1] * float(distance.mean()))
    return sum(scores) / max(1, len(scores)), detected, sprites, sum(offsets) / max(1, len(offsets))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--items", type=int, default=24)
    p.add_argument("--band", type=float, nargs=2, default=ROLLOUT_SIGMAS, metavar=("LOW", "HIGH"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    model = SpritesVideoModel.from_pretrained(args.weights).eval()
    config = dataclasses.replace(TrainVideoConfig(workers=0), stream=model.stream)
    g = torch.Generator().manual_seed(args.seed)
    items = [sample_item(g, config) for _ in range(args.items)]
    batch = batch_items(items)
    with torch.no_grad():
        x0 = model.codec.encode(batch.frames)
        text = model.transformer.encode_text(model.text_encoder(list(batch.caption)), batch.video_frames)
        redraw = redrawn_context(model, x0, text, batch.positions, config, torch.Generator().manual_seed(args.seed),
                                 band=tuple(args.band))
        videos = {"render (through the codec)": model.codec.decode_chunk(x0, None)[0],
                  f"redraw from sigma {args.band[0]}-{args.band[1]}": model.codec.decode_chunk(redraw, None)[0]}
    renders = videos["render (through the codec)"]
    captions = [(item.caption, int(item.video_frames)) for item in items]
    for name, frames in videos.items():
        share, detected, sprites, offset = shapes_and_places(captions, frames, renders)
        print(f"{name:34s} captioned shape in {100 * share:5.1f} % of detected frames; "
              f"{detected}/{sprites} sprites detected; {offset:.1f} px from the render's")

if __name__ == "__main__":
    main()
