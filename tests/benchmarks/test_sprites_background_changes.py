"""``benchmarks/sprites_background_changes.py``: does a video follow its captioned background changes."""

from streamt1.evaluate import eval_prompts
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import render


def test_renders_follow_every_change_and_a_video_frozen_on_its_first_background_follows_none(load_benchmark):
    changes = load_benchmark("sprites_background_changes")
    frames = 96
    prompts = [q for q in eval_prompts(96, frames)[32:] if len(parse_caption(q, frames).background_changes()) == 2]
    renders = [(q, render(parse_caption(q, frames), frames).clamp(0, 1)) for q in prompts]
    n, followed, delay, residual = changes.summarise(renders)["all"]
    assert n == len(prompts) >= 8 and followed == 1.0 and residual < 1e-3
    assert 0 < delay <= 8  # the world cross-fades over FADE_FRAMES = 8 frames
    frozen = [(q, video[:1].expand_as(video)) for q, video in renders]  # the first background throughout
    n, followed, delay, residual = changes.summarise(frozen)["all"]
    assert followed == 0.0 and delay is None and residual > 0.05
