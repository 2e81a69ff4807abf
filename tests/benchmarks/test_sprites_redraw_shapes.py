"""``benchmarks/sprites_redraw_shapes.py``: how often a redrawn context keeps the captioned shape, and where."""

import torch

from streamt1.sprites.captions import caption
from streamt1.sprites.train import misdrawn
from streamt1.sprites.world import render_at, sample_scene


def test_renders_keep_shape_and_place_and_misdrawn_ones_keep_only_the_place(load_benchmark):
    redraw = load_benchmark("sprites_redraw_shapes")
    g = torch.Generator().manual_seed(0)
    scenes = [sample_scene(g, "train", num_frames=48) for _ in range(6)]
    captions = [(caption(scene, g), 48) for scene in scenes]
    times = torch.arange(15)
    renders = torch.stack([render_at(scene, times) for scene in scenes]).clamp(0, 1)
    share, detected, sprites, offset = redraw.shapes_and_places(captions, renders, renders)
    assert sprites > 0 and detected == sprites and share > 0.7 and offset == 0.0  # small or hidden sprites: the metric misses a few
    # the same scenes with every sprite drawn as another shape: wrong outlines in the right places
    wrong = torch.stack([render_at(misdrawn(scene, g), times) for scene in scenes]).clamp(0, 1)
    share, detected, sprites, offset = redraw.shapes_and_places(captions, wrong, renders)
    assert detected > 0 and share < 0.2 and offset < 1.5
    # the same scenes a quarter of the world to the right: the shapes right, the places 16 px off
    moved = renders.roll(16, dims=-1)
    share, _, _, offset = redraw.shapes_and_places(captions, moved, renders)
    assert share > 0.7 and abs(offset - 16) < 1.0
