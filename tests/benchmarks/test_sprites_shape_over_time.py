"""``benchmarks/sprites_shape_over_time.py``: the share of frames with the captioned shape, stretch by stretch."""

import torch

from streamt1.evaluate import eval_prompts
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.train import misdrawn
from streamt1.sprites.world import render, render_at


def test_renders_keep_their_shapes_and_a_video_misdrawn_after_the_first_chunk_loses_them(load_benchmark):
    over_time = load_benchmark("sprites_shape_over_time")
    frames_n = over_time.STRETCHES[-1][1]
    prompts = eval_prompts(40, frames_n)[32:40]
    scenes = [parse_caption(p, frames_n) for p in prompts]
    renders = [render(scene, frames_n).clamp(0, 1) for scene in scenes]
    total, right = over_time.shape_by_stretch(zip(prompts, renders))
    assert total == sum(len(scene.sprites) for scene in scenes) > 0
    assert all(detected == total for detected, _ in right.values())  # rendered sprites are found everywhere
    assert all(share > 0.85 for _, share in right.values())  # small or hidden sprites: the metric misses a few
    # the first chunk right, every later frame drawn with other shapes: only the first stretch keeps them
    g = torch.Generator().manual_seed(0)
    wrong = [torch.cat([r[:3], render(misdrawn(scene, g), frames_n).clamp(0, 1)[3:]]) for r, scene in zip(renders, scenes)]
    _, lost = over_time.shape_by_stretch(zip(prompts, wrong))
    shares = [share for _, share in lost.values()]
    assert shares[0] > 0.85 and all(share < 0.2 for share in shares[1:])


def test_shape_by_chunk_reads_renders_whole_and_a_sprite_misdrawn_from_its_second_chunk_as_lost(load_benchmark):
    over_time = load_benchmark("sprites_shape_over_time")
    scenes = over_time.one_sprite_scenes(6, 9)
    assert all(len(s.all_sprites) == 1 and s.sprites and not s.events for s in scenes)
    renders = torch.stack([render_at(s, torch.arange(9)).clamp(0, 1) for s in scenes])
    right = over_time.shape_by_chunk(renders, scenes, 3)
    assert len(right["all"]) == 3 and min(right["all"]) > 0.8
    assert set(right) - {"all"} == {s.sprites[0].size for s in scenes}
    g = torch.Generator().manual_seed(0)
    wrong = torch.stack([torch.cat([r[:3], render_at(misdrawn(s, g), torch.arange(3, 9)).clamp(0, 1)])
                         for r, s in zip(renders, scenes)])
    lost = over_time.shape_by_chunk(wrong, scenes, 3)["all"]
    assert lost[0] == right["all"][0] and max(lost[1:]) < 0.2
