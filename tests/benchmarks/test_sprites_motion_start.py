"""``benchmarks/sprites_motion_start.py``: its scenes, its motion scores and its stream continuation."""

import pytest
import torch

from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import DIRECTIONS, FRAME_SIZE, LINEAR_SPEED, render_at


@pytest.fixture(scope="module")
def probe(load_benchmark):
    return load_benchmark("sprites_motion_start")


def test_scenes_move_one_sprite_straight_and_renders_score_full_motion(probe):
    scenes = probe.straight_scenes(4, 27)
    assert all(len(s.sprites) == 1 and s.sprites[0].motion in DIRECTIONS and not s.events for s in scenes)
    renders = torch.stack([render_at(s, torch.arange(27)) for s in scenes])
    motion, detected = probe.motion_scores(renders, scenes)
    assert motion > 0.95 and detected == 1.0
    still = renders[:, :1].expand(-1, 27, -1, -1, -1)  # the world paused: no motion to match
    assert probe.motion_scores(still, scenes) == (0.0, 1.0)


def test_speed_profile_reads_a_render_at_its_own_speed_and_a_still_or_backward_video_below_it(probe):
    scenes = probe.straight_scenes(3, 48)
    renders = torch.stack([render_at(s, torch.arange(48)) for s in scenes])
    profile = probe.speed_profile(renders, scenes)
    assert profile.shape == (3, 2)  # 47 steps: two whole seconds of 16
    assert torch.allclose(profile, torch.ones_like(profile), atol=0.1)
    still = renders[:, :1].expand(-1, 48, -1, -1, -1)
    assert probe.speed_profile(still, scenes).abs().max() < 1e-4
    backwards = torch.stack([render_at(s, 47 - 0.5 * torch.arange(48)) for s in scenes])  # half speed, reversed
    assert torch.allclose(probe.speed_profile(backwards, scenes), torch.full((3, 2), -0.5), atol=0.1)


def test_continuing_a_context_gives_the_asked_chunks_deterministically(probe, sprites_weights):
    model = SpritesVideoModel.from_pretrained(sprites_weights).eval()
    scenes = probe.straight_scenes(2, 15)
    context = torch.stack([render_at(s, torch.arange(9)) for s in scenes])
    captions = ["a red circle moves left over a blue background"] * 2
    a = probe.continue_stream(model, context, captions, 2, seed=0)
    assert a.shape == (2, 6, 3, 64, 64)
    assert torch.equal(a, probe.continue_stream(model, context, captions, 2, seed=0))
    assert not torch.equal(a, probe.continue_stream(model, context, captions, 2, seed=1))
    assert torch.equal(a, probe.continue_stream(model, context, captions, 2, seed=0, video_frames=15))
    # guidance away from a still past: nothing to guide after a context that stands still (its first chunk), a change
    # after one that moves
    still = context[:, -1:].expand(-1, 9, -1, -1, -1).contiguous()
    assert torch.allclose(probe.continue_stream(model, still, captions, 1, seed=0),
                          probe.continue_stream(model, still, captions, 1, seed=0, still_guidance=2.0), atol=1e-5)
    assert not torch.allclose(a, probe.continue_stream(model, context, captions, 2, seed=0, still_guidance=2.0),
                              atol=1e-3)
    assert torch.equal(a, probe.continue_stream(model, context, captions, 2, seed=0, guidance=1.0))  # no guidance


def test_guidance_on_a_continuation_moves_it_away_from_the_empty_captions(probe):
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval()  # trained with dropped captions
    context = torch.stack([render_at(s, torch.arange(9)) for s in probe.straight_scenes(1, 12)])
    own, null = (probe.continue_stream(model, context, [c], 1, seed=0) for c in ("a red circle moves left", ""))
    guided = probe.continue_stream(model, context, ["a red circle moves left"], 1, seed=0, guidance=3.0)
    assert (guided - null).abs().mean() > (own - null).abs().mean() + 1e-3


def test_a_continuation_tells_the_model_its_videos_length(probe):
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval()  # conditioned on its progress
    assert model.transformer.config.progress_embedding
    scenes = probe.straight_scenes(1, 12)
    context = torch.stack([render_at(s, torch.arange(9)) for s in scenes])
    captions = ["a red circle moves left over a blue background"]
    assert not torch.equal(probe.continue_stream(model, context, captions, 1, seed=0),
                           probe.continue_stream(model, context, captions, 1, seed=0, video_frames=96))


def test_a_continuation_attends_as_far_back_as_the_models_window(probe, sprites_weights):
    import dataclasses

    narrow = SpritesVideoModel.from_pretrained(sprites_weights).eval()
    wide = SpritesVideoModel.from_pretrained(sprites_weights).eval()
    wide.stream = dataclasses.replace(narrow.stream, window_frames=narrow.stream.window_frames + 6)
    scenes = probe.straight_scenes(1, 15)
    captions = ["a red circle moves left over a blue background"]
    short = torch.stack([render_at(s, torch.arange(9)) for s in scenes])  # sink + window: both see all of it
    assert torch.equal(probe.continue_stream(narrow, short, captions, 1, seed=0),
                       probe.continue_stream(wide, short, captions, 1, seed=0))
    long = torch.stack([render_at(s, torch.arange(15)) for s in scenes])  # only the wide window sees frames 3-8
    assert not torch.equal(probe.continue_stream(narrow, long, captions, 1, seed=0),
                           probe.continue_stream(wide, long, captions, 1, seed=0))


def test_displacement_reads_pixels_travelled_along_the_scene_and_a_reversed_scene_goes_back(probe):
    scenes = [s for s in probe.straight_scenes(8, 33) if s.sprites[0].motion in probe.REVERSED][:3]
    renders = torch.stack([render_at(s, torch.arange(33)) for s in scenes])
    speeds = torch.tensor([s.sprites[0].speed for s in scenes])
    expected = LINEAR_SPEED * speeds * 2 * FRAME_SIZE  # 32 steps: two seconds at each sprite's speed
    assert torch.allclose(probe.displacement(renders, scenes), expected, rtol=0.1)
    assert probe.displacement(renders[:, :1].expand(-1, 33, -1, -1, -1), scenes).abs().max() < 1e-3
    turned = [probe.reversed_scene(s) for s in scenes]
    assert [DIRECTIONS[t.sprites[0].motion] for t in turned] == [tuple(-v for v in DIRECTIONS[s.sprites[0].motion])
                                                                  for s in scenes]
    back = torch.stack([render_at(t, torch.arange(33)) for t in turned])
    assert torch.allclose(probe.displacement(back, scenes), -expected, rtol=0.1)  # measured along the own way
