import pytest
import torch
import torch.nn.functional as F

from streamt1.metrics import METRIC_NAMES, evaluate_video
from streamt1.sprites.world import BackgroundSpec, SceneSpec, SpriteSpec, render

SCENE = SceneSpec(
    BackgroundSpec("vertical gradient", "blue", "white"),
    (
        SpriteSpec("square", "red", "large", "left", x=0.5, y=0.3),
        SpriteSpec("triangle", "yellow", "medium", "orbit", x=0.5, y=0.62),
    ),
)
CAPTION = "a large red square moves left and a medium yellow triangle orbits over a vertical gradient from blue to white"


@pytest.fixture(scope="module")
def clean():
    video = render(SCENE, 48)
    return video, evaluate_video(video, CAPTION)


def test_clean_render_scores_at_the_top(clean):
    _, m = clean
    assert set(METRIC_NAMES) <= set(m)
    assert m["subject_consistency"] > 0.95
    assert m["background_consistency"] > 0.99
    assert m["motion_smoothness"] > 0.99
    assert m["imaging_quality"] > 0.85
    assert m["text_alignment"] > 0.95
    assert evaluate_video(render(SCENE, 48), SCENE) == pytest.approx(m, abs=1e-3)


def test_colour_flicker_lowers_consistency(clean):
    video, m = clean
    flicker = video.clone()
    flicker[1::3] = flicker[1::3, [2, 0, 1]]  # rotate colour channels on every third frame
    f = evaluate_video(flicker, CAPTION)
    assert f["subject_consistency"] < m["subject_consistency"] - 0.1
    assert f["background_consistency"] < m["background_consistency"] - 0.05


def test_frame_shuffle_lowers_motion_smoothness(clean):
    video, m = clean
    shuffled = video[torch.randperm(len(video), generator=torch.Generator().manual_seed(0))]
    assert evaluate_video(shuffled, CAPTION)["motion_smoothness"] < m["motion_smoothness"] - 0.005


def test_noise_and_blur_lower_imaging_quality(clean):
    video, m = clean
    noisy = (video + 0.05 * torch.randn(video.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    blurred = F.avg_pool2d(video, 5, stride=1, padding=2, count_include_pad=False)
    assert evaluate_video(noisy, CAPTION)["imaging_quality"] < m["imaging_quality"] - 0.2
    assert evaluate_video(blurred, CAPTION)["imaging_quality"] < m["imaging_quality"] - 0.2


def test_wrong_caption_lowers_text_alignment(clean):
    video, m = clean
    wrong_motion = evaluate_video(video, CAPTION.replace("moves left", "moves right"))
    assert wrong_motion["alignment_motion"] <= 0.5 and wrong_motion["text_alignment"] < m["text_alignment"] - 0.1
    wrong_shape = evaluate_video(video, CAPTION.replace("red square", "red circle"))
    assert wrong_shape["alignment_shape"] < m["alignment_shape"] - 0.3
    wrong_background = evaluate_video(video, CAPTION.replace("from blue to white", "from green to black"))
    assert wrong_background["alignment_background"] < 0.5
    missing = evaluate_video(video, CAPTION.replace("medium yellow", "medium green"))
    assert missing["alignment_presence"] <= 0.5 and missing["subject_consistency"] <= 0.5


def test_grow_and_reversed_grow():
    scene = SceneSpec(BackgroundSpec("solid", "black"), (SpriteSpec("diamond", "green", "medium", "grow"),))
    video = render(scene, 48)
    assert evaluate_video(video, "a medium green diamond grows over a black background")["alignment_motion"] > 0.9
    assert evaluate_video(video.flip(0), "a medium green diamond grows over a black background")["alignment_motion"] == 0


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 3 frames"):
        evaluate_video(torch.rand(2, 3, 64, 64), CAPTION)
    with pytest.raises(ValueError, match=r"\[T, 3, H, H\]"):
        evaluate_video(torch.rand(5, 64, 64), CAPTION)


def test_a_sprite_colour_that_fills_the_frame_is_scored_not_an_error():
    # a model can paint the whole frame in the sprite's colour: the crop around that "sprite" is
    # wider than the frame, which circular padding must wrap more than once (it raised before)
    video = render(SCENE, 48)
    video[10:] = torch.tensor([1.0, 0.0, 0.0])[None, :, None, None]  # red everywhere from frame 10
    scores = evaluate_video(video, CAPTION)
    assert all(0.0 <= scores[name] <= 1.0 for name in METRIC_NAMES)
    assert scores["subject_consistency"] < evaluate_video(render(SCENE, 48), CAPTION)["subject_consistency"]
    # no background left to see is a miss at the end, not a match (an empty mask used to score 1)
    assert scores["alignment_background"] == pytest.approx(0.5)  # the first frames right, the last ones not


def test_uint8_frames_score_as_the_same_video_in_floats():
    video = render(SCENE, 24)
    as_bytes = (video * 255).round().to(torch.uint8)
    floats, ints = evaluate_video(as_bytes.float() / 255, CAPTION), evaluate_video(as_bytes, CAPTION)
    assert ints == floats and ints["text_alignment"] > 0.9
    with pytest.raises(ValueError, match="floats in \\[0, 1\\] or uint8, got torch.int64"):
        evaluate_video(as_bytes.long(), CAPTION)


def test_wrap_pad_is_circular_padding_and_goes_on_past_one_frame():
    from streamt1.metrics.sprites import _wrap_pad

    images = torch.rand(2, 1, 5, 7)
    for pad in (0, 1, 4, 5):  # F.pad wraps up to the frame size (5 rows)
        torch.testing.assert_close(_wrap_pad(images, pad), F.pad(images, (pad,) * 4, mode="circular"))
    wide = _wrap_pad(images, 12)  # more than twice the rows
    assert wide.shape[-2:] == (5 + 24, 7 + 24)
    assert torch.equal(wide[..., 12:17, 12:19], images) and torch.equal(wide[..., 2:7, 12:19], images)
