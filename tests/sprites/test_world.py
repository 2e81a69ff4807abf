import dataclasses

import pytest
import torch

from streamt1.sprites.world import (
    HELD_OUT_PAIRS,
    BackgroundSpec,
    Event,
    EventKind,
    SceneSpec,
    SpriteSpec,
    color_tensor,
    eval_scenes,
    is_eval_scene,
    render,
    render_background,
    roll_steps,
    sample_scene,
    shape_contrast,
)


def _color_fraction(frames: torch.Tensor, color: str) -> torch.Tensor:
    """[T] share of pixels within 0.1 of a sprite colour."""
    dist = (frames - color_tensor(color)[None, :, None, None]).norm(dim=1)
    return (dist < 0.1).float().mean(dim=(1, 2))


def _centroid_x(frames: torch.Tensor, color: str) -> torch.Tensor:
    dist = (frames - color_tensor(color)[None, :, None, None]).norm(dim=1)
    mask = (dist < 0.1).float()
    xs = torch.arange(frames.shape[-1], dtype=torch.float32)
    return (mask.sum(1) * xs).sum(1) / mask.sum((1, 2))


def test_render_shape_range_and_determinism():
    scene = sample_scene(7, num_frames=160)
    assert scene == sample_scene(7, num_frames=160)
    assert scene != sample_scene(8, num_frames=160)
    video = render(scene, 160)
    assert video.shape == (160, 3, 64, 64)
    assert video.min() >= 0 and video.max() <= 1
    assert torch.equal(video, render(scene, 160))
    assert torch.allclose(render(scene, 10, start_frame=50), video[50:60])


def test_generator_and_seed_give_the_same_scene():
    assert sample_scene(torch.Generator().manual_seed(3)) == sample_scene(3)


def test_linear_motion_direction_and_wrap_keeps_sprite_in_frame():
    sprite = SpriteSpec("square", "red", "medium", "left", x=0.5, y=0.5)
    video = render(SceneSpec(BackgroundSpec("solid", "blue"), (sprite,)), 160)
    xs = _centroid_x(video[:20], "red")
    assert (xs.diff() <= 0).all() and xs[0] - xs[-1] > 5  # moves left
    area = _color_fraction(video, "red")
    assert area.min() > 0.5 * area.max()  # wraps around instead of leaving the frame


def test_grow_and_shrink_change_area():
    bg = BackgroundSpec("solid", "black")
    grow = render(SceneSpec(bg, (SpriteSpec("circle", "white", motion="grow"),)), 80)
    shrink = render(SceneSpec(bg, (SpriteSpec("circle", "white", motion="shrink"),)), 80)
    assert _color_fraction(grow[-1:], "white") > 2 * _color_fraction(grow[:1], "white")
    assert _color_fraction(shrink[-1:], "white") < 0.5 * _color_fraction(shrink[:1], "white")


def test_bounce_stays_inside_the_frame():
    sprite = SpriteSpec("circle", "yellow", "large", "bounce", x=0.5, y=0.5, speed=4.0, phase=0.1)
    video = render(SceneSpec(BackgroundSpec("solid", "black"), (sprite,)), 160)
    dist = (video - color_tensor("yellow")[None, :, None, None]).norm(dim=1) < 0.1
    edges = torch.cat([dist[:, 0], dist[:, -1], dist[:, :, 0], dist[:, :, -1]], dim=1)
    assert not edges.any()


def test_events_change_background_and_sprites():
    red = SpriteSpec("circle", "red", "large", "orbit", x=0.5, y=0.5)
    green = SpriteSpec("square", "green", "large", "grow", x=0.3, y=0.3)
    events = (
        Event(40, EventKind.BACKGROUND, background=BackgroundSpec("solid", "white")),
        Event(60, EventKind.ENTER, sprite=green),
        Event(90, EventKind.LEAVE, target=0),
    )
    scene = SceneSpec(BackgroundSpec("solid", "blue"), (red,), events)
    video = render(scene, 120)
    corner = video[:, :, 0, -1]
    assert torch.allclose(corner[0], render_background(BackgroundSpec("solid", "blue"))[:, 0, 0])
    assert torch.allclose(corner[-1], render_background(BackgroundSpec("solid", "white"))[:, 0, 0])
    assert _color_fraction(video[:55], "green").max() == 0 and _color_fraction(video[80:], "green").min() > 0
    assert _color_fraction(video[:85], "red").min() > 0 and _color_fraction(video[100:], "red").max() == 0


def test_event_band_places_events_in_their_slot_and_draws_the_same_scene_otherwise():
    """A band of (0.5, 0.5) puts every event at its slot's middle (one slot per event in the clip's 20-90 %);
    the scene's other draws (sprites, backgrounds, event kinds) are the ones the world's own band gives."""
    frames, centred = 200, 0
    for seed in range(40):
        spread, timed = sample_scene(seed, num_frames=frames), sample_scene(seed, num_frames=frames, event_band=(0.5, 0.5))
        assert len(spread.events) == len(timed.events)
        untimed = [dataclasses.replace(s, events=tuple(dataclasses.replace(e, frame=0) for e in s.events))
                   for s in (spread, timed)]
        assert untimed[0] == untimed[1]
        slot = 0.7 * frames / max(len(timed.events), 1)
        for i, event in enumerate(timed.events):
            assert event.frame == int(0.2 * frames + slot * (i + 0.5))
            centred += 1
        for i, event in enumerate(spread.events):  # the world's own band: within the slot's middle 80 %
            assert 0.2 * frames + slot * (i + 0.1) - 1 <= event.frame <= 0.2 * frames + slot * (i + 0.9)
    assert centred >= 20
    for band in ((0.6, 0.4), (-0.1, 0.5), (0.5, 1.2)):
        with pytest.raises(ValueError, match="event_band"):
            sample_scene(0, event_band=band)


def test_split_holds_out_colour_shape_pairs():
    for seed in range(150):
        train, held = sample_scene(seed, "train"), sample_scene(seed, "eval")
        assert not is_eval_scene(train)
        assert (held.sprites[0].color, held.sprites[0].shape) in HELD_OUT_PAIRS
    scenes = eval_scenes(4)
    assert scenes == eval_scenes(4) and all(is_eval_scene(s) for s in scenes)


def test_sampled_sprites_have_distinct_colours_from_each_other_and_backgrounds():
    for seed in range(100):
        scene = sample_scene(seed)
        colors = [s.color for s in scene.all_sprites]
        assert len(set(colors)) == len(colors)
        for _, bg in scene.background_changes():
            assert not set(bg.colors) & set(colors)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: SpriteSpec("hexagon", "red"), "shape"),
        (lambda: SpriteSpec("circle", "pink"), "color"),
        (lambda: SpriteSpec("circle", "red", x=1.5), "x"),
        (lambda: BackgroundSpec("stripes", "red"), "color2"),
        (lambda: BackgroundSpec("solid", "red", "blue"), "color2"),
        (lambda: Event(3, EventKind.LEAVE), "target"),
        (lambda: SceneSpec(BackgroundSpec(), ()), "sprites"),
        (lambda: SceneSpec(BackgroundSpec(), (SpriteSpec("circle", "red"),), (Event(5, EventKind.LEAVE, target=2),)), "target"),
    ],
)
def test_invalid_specs_name_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_render_rejects_bad_lengths():
    with pytest.raises(ValueError, match="num_frames"):
        render(sample_scene(0), 0)


@pytest.mark.parametrize("kind", ["solid", "vertical gradient", "horizontal gradient", "stripes", "checkerboard"])
def test_roll_steps_are_the_offsets_a_background_repeats_at(kind):
    spec = BackgroundSpec(kind, "blue", None if kind == "solid" else "white")
    scene = SceneSpec(spec, (SpriteSpec("circle", "red"),))
    image = render_background(spec)
    for axis, step in enumerate(roll_steps(scene)):
        dim = 1 + axis  # rows, columns of [3, H, W]
        if step:
            torch.testing.assert_close(image.roll(step, dims=dim), image, atol=1e-4, rtol=0)
        if step != 1:  # a smaller offset would move the background
            assert (image.roll(max(step // 2, 1), dims=dim) - image).abs().max() > 0.05


def test_shape_contrast_marks_only_the_pixels_where_another_shape_would_differ():
    square = SpriteSpec("square", "red", "large", "right", x=0.5, y=0.5, speed=0.05)
    green = SpriteSpec("circle", "green", "large", "right", x=0.2, y=0.2, speed=0.05)
    scene = SceneSpec(BackgroundSpec("solid", "blue"), (square,), (Event(30, EventKind.ENTER, sprite=green),))
    contrast = shape_contrast(scene, torch.arange(3))
    assert contrast.shape == (3, 64, 64) and 0 <= contrast.min() and contrast.max() <= 1
    r = 0.15 * 64  # the large square's radius in pixels; its corners lie at 0.85 r from the centre
    corner = 32 + int(0.75 * r)  # pixel centres sit at half pixels
    assert contrast[0, corner, corner] > 0.5  # a circle or a diamond leaves the square's corner empty
    assert contrast[0, 32, 32] > 0.5  # a ring leaves the centre empty
    outside = render(scene, 1)[0, :, 32, 41] - render_background(BackgroundSpec("solid", "blue"))[:, 32, 41]
    assert outside.abs().max() == 0 and contrast[0, 32, 41] > 0.5  # beyond the square, where a circle reaches
    assert contrast[0, :, :8].max() == 0 and contrast[0, :8].max() == 0  # far from the sprite
    entered = shape_contrast(scene, torch.tensor([40]))  # the green circle is visible from frame 30 on
    near_green = round(0.2 * 64)
    assert contrast[0, near_green - 8:near_green + 8, near_green - 8:near_green + 8].max() == 0
    assert entered[0, near_green - 8:near_green + 8, near_green - 8:near_green + 8].max() > 0.5
