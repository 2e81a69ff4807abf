import pytest
import torch

from streamt1.interfaces import ImageReward, PlannedVideoReward, VideoReward, VideoScore
from streamt1.sprites.rewards import (
    COLOUR_MAP,
    SHAPE_MAP,
    VIDEO_PARTS,
    RewardNetConfig,
    SlotMatcher,
    SpritesImageReward,
    SpritesVideoReward,
    caption_slots,
    outlines,
    resample_frames,
    resample_index,
)
from streamt1.sprites.world import COLORS, SHAPES, BackgroundSpec, SceneSpec, SpriteSpec, render

SMALL = dict(channels=4, match_dim=8)
PROMPT = "a red circle moves left over a blue background"


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return (
        SpritesImageReward(RewardNetConfig(kind="image", **SMALL)).eval(),
        SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **SMALL)).eval(),
    )


def test_protocols_and_shapes(models):
    image, video = models
    assert isinstance(image, ImageReward) and isinstance(video, VideoReward)
    assert image(torch.rand(3, 3, 64, 64), [PROMPT] * 3).shape == (3,)
    for t in (1, 2, 7, 30):
        score = video(torch.rand(2, t, 3, 64, 64), [PROMPT] * 2, 16.0)
        assert isinstance(score, VideoScore) and score.overall.shape == (2,)
        assert set(score.parts) == set(VIDEO_PARTS)
        assert torch.allclose(score.overall, sum(score.parts.values()))


def test_prompt_changes_the_score(models):
    image, video = models
    frames = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(image(frames, [PROMPT]), image(frames, ["a green square grows"]))
    clips = torch.rand(1, 6, 3, 64, 64)
    assert not torch.allclose(video(clips, [PROMPT], 16.0).parts["motion"],
                              video(clips, ["a red circle moves up over a blue background"], 16.0).parts["motion"])


def test_caption_slots_read_sprites_events_and_backgrounds():
    slots = caption_slots([
        "a small red circle moves left over a blue background",
        "a large green square grows on a red and white checkerboard, then a small blue ring appears "
        "and orbits, then the background turns yellow",
    ])
    assert slots.sprites.shape == (2, 2, 4) and slots.sprite_mask.tolist() == [[True, False], [True, True]]
    assert slots.sprites[0, 0].tolist() == [list(COLORS).index("red"), SHAPES.index("circle"), 0, 0]
    assert slots.sprites[1, 1, :2].tolist() == [list(COLORS).index("blue"), SHAPES.index("ring")]
    assert slots.background_mask.tolist() == [[True, False], [True, True]]
    assert slots.backgrounds[0, 0, 2] == len(COLORS)  # a solid background has no second colour


def _one_hot_matcher() -> SlotMatcher:
    """Colour c is feature c and shape s is feature 8 + s: a cell 'shows' what its features say."""
    matcher = SlotMatcher(dim=len(COLORS) + len(SHAPES), pooled_dim=4)
    with torch.no_grad():
        for table in matcher.attributes:
            table.weight.zero_()
        matcher.attributes[0].weight[:, : len(COLORS)] = torch.eye(len(COLORS))
        matcher.attributes[1].weight[:, len(COLORS):] = torch.eye(len(SHAPES))
    return matcher


def test_colour_and_shape_must_be_found_in_the_same_cell():
    matcher = _one_hot_matcher()
    red, circle = list(COLORS).index("red"), len(COLORS) + SHAPES.index("circle")
    together = torch.zeros(1, 3, matcher.dim, 4, 4)
    together[0, COLOUR_MAP, red, 1, 1] = together[0, SHAPE_MAP, circle, 1, 1] = 1.0
    apart = torch.zeros(1, 3, matcher.dim, 4, 4)
    apart[0, COLOUR_MAP, red, 0, 0] = apart[0, SHAPE_MAP, circle, 3, 3] = 1.0
    slots = caption_slots(["a red circle moves left over a blue background"])
    score = [matcher.sprite_score(cells, slots, (0, 1)).item() for cells in (together, apart)]
    assert score == [2.0, 1.0]


def test_sprite_order_in_the_caption_does_not_matter():
    matcher = _one_hot_matcher()
    cells = torch.rand(1, 3, matcher.dim, 4, 4)
    a = caption_slots(["a red circle moves left and a blue square moves up over a white background"])
    b = caption_slots(["a blue square moves up and a red circle moves left over a white background"])
    assert torch.allclose(matcher.sprite_score(cells, a, (0, 1, 3)), matcher.sprite_score(cells, b, (0, 1, 3)))


def test_resample_frames_spreads_evenly():
    clips = torch.arange(10.0).view(1, 10, 1)
    assert resample_frames(clips, 4).flatten().tolist() == [0.0, 3.0, 6.0, 9.0]
    assert resample_frames(clips[:, :1], 3).flatten().tolist() == [0.0, 0.0, 0.0]


def test_recent_frames_keep_the_clip_end_at_full_rate():
    # 3 recent frames of 8: the last 3, after 5 spread over the other 27
    assert resample_index(30, 8, 3).tolist() == [0, 6, 13, 20, 26, 27, 28, 29]
    assert resample_index(8, 8, 3).tolist() == list(range(8))
    # too short to keep 3 recent and 5 spread distinct frames: spread over the whole clip
    assert torch.equal(resample_index(7, 8, 3), resample_index(7, 8))
    assert torch.equal(resample_index(30, 8, 0), resample_index(30, 8))
    with pytest.raises(ValueError, match="recent_frames"):
        RewardNetConfig(kind="video", num_frames=4, recent_frames=4)


def test_a_change_in_the_last_frames_reaches_the_score_only_through_recent_frames():
    torch.manual_seed(0)
    video = SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **SMALL)).eval()
    clips = torch.rand(1, 20, 3, 64, 64)
    changed = clips.clone()
    changed[:, 18] = torch.rand(3, 64, 64)
    assert video.frame_plan(20, 16.0).tolist() == [0, 6, 13, 19]  # the even spread skips frame 18
    assert torch.equal(*(video(c, [PROMPT], 16.0).overall for c in (clips, changed)))
    video.with_recent_frames(2)  # the same weights, another plan
    assert video.frame_plan(20, 16.0).tolist() == [0, 17, 18, 19]
    assert not torch.allclose(*(video(c, [PROMPT], 16.0).overall for c in (clips, changed)))
    with pytest.raises(ValueError, match="recent_frames=4"):
        video.with_recent_frames(4)


@pytest.mark.parametrize("t", [1, 5, 13, 40])
def test_video_reward_reads_exactly_its_frame_plan(models, t):
    _, video = models
    g = torch.Generator().manual_seed(t)
    clips = torch.randint(0, 256, (2, t, 3, 64, 64), dtype=torch.uint8, generator=g)
    plan = video.frame_plan(t, 16.0)
    assert isinstance(video, PlannedVideoReward) and len(plan) == video.config.num_frames
    unread = torch.ones(t, dtype=torch.bool)
    unread[plan] = False
    garbage = clips.clone()
    garbage[:, unread] = torch.randint(0, 256, garbage[:, unread].shape, dtype=torch.uint8, generator=g)
    score = video(clips, [PROMPT] * 2, 16.0)
    assert torch.equal(video(garbage, [PROMPT] * 2, 16.0).overall, score.overall)  # unread frames change nothing
    planned = video.score_planned(clips[:, plan], [PROMPT] * 2, 16.0)
    assert torch.equal(planned.overall, score.overall)
    assert all(torch.equal(planned.parts[k], score.parts[k]) for k in VIDEO_PARTS)
    read = clips.clone()
    read[:, plan[-1]] = 255 - read[:, plan[-1]]
    assert not torch.equal(video(read, [PROMPT] * 2, 16.0).overall, score.overall)  # a planned frame does


def test_save_and_load_round_trip(models, tmp_path):
    image, video = models
    image.save_pretrained(tmp_path, {"note": "x"})
    video.save_pretrained(tmp_path)
    loaded_image = SpritesImageReward.from_pretrained(tmp_path)
    loaded_video = SpritesVideoReward.from_pretrained(tmp_path / "video_reward.safetensors")
    frames = torch.rand(2, 3, 64, 64)
    clips = torch.rand(1, 5, 3, 64, 64)
    assert torch.equal(loaded_image(frames, [PROMPT] * 2), image(frames, [PROMPT] * 2))
    assert torch.equal(loaded_video(clips, [PROMPT], 16.0).overall, video(clips, [PROMPT], 16.0).overall)
    assert (tmp_path / "image_reward.safetensors").stat().st_size < 2 * 2**20
    # a copy damaged inside (size and header intact, finite numbers a little off) would load and score: its card's
    # checksum stops it
    for stem, cls in (("image_reward", SpritesImageReward), ("video_reward", SpritesVideoReward)):
        weights = tmp_path / f"{stem}.safetensors"
        data = bytearray(weights.read_bytes())
        data[-8] ^= 1
        weights.write_bytes(bytes(data))
        with pytest.raises(ValueError, match=f"{stem}.safetensors does not match the checksum in its card"):
            cls.from_pretrained(tmp_path)


def test_clear_errors(models, tmp_path):
    image, video = models
    with pytest.raises(FileNotFoundError, match="streamt1 sprites train-rewards --out "):
        SpritesImageReward.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="one prompt per frame"):
        image(torch.rand(2, 3, 64, 64), [PROMPT])
    with pytest.raises(ValueError, match="clips must be"):
        video(torch.rand(2, 3, 64, 64), [PROMPT] * 2, 16.0)
    with pytest.raises(ValueError, match=r"planned frames must be \[B, 4, 3, H, W\]"):
        video.score_planned(torch.rand(2, 5, 3, 64, 64), [PROMPT] * 2, 16.0)
    with pytest.raises(ValueError, match="fps=0"):
        video.frame_plan(8, 0)
    with pytest.raises(ValueError, match="cannot express"):
        image(torch.rand(1, 3, 64, 64), ["a cat sleeps"])
    with pytest.raises(ValueError, match="kind"):
        SpritesImageReward(RewardNetConfig(kind="video"))


def test_outlines_are_the_same_for_any_colours():
    def frame(color: str, background: str) -> torch.Tensor:
        sprite = SpriteSpec("triangle", color, "large", "grow", x=0.4, y=0.6)
        return render(SceneSpec(BackgroundSpec("solid", background), (sprite,)), 1)  # [1, 3, H, W]

    red_on_blue, green_on_white = outlines(frame("red", "blue")[None]), outlines(frame("green", "white")[None])
    torch.testing.assert_close(red_on_blue, green_on_white, atol=1e-5, rtol=0)
    square = SpriteSpec("square", "red", "large", "grow", x=0.4, y=0.6)
    other_shape = outlines(render(SceneSpec(BackgroundSpec("solid", "blue"), (square,)), 1)[None])
    assert (other_shape - red_on_blue).abs().amax() > 0.5


def test_frames_written_upscaled_score_as_the_worlds_own(models):
    # the CLI writes Sprites MP4s nearest-upscaled 4x for viewing; `streamt1 score` reads them back at that size
    image, video = models
    g = torch.Generator().manual_seed(0)
    clips = torch.rand(2, 6, 3, 64, 64, generator=g)
    big = clips.repeat_interleave(4, dim=-1).repeat_interleave(4, dim=-2)  # [2, 6, 3, 256, 256]
    prompts = ["a small red circle moves left over a blue background"] * 2
    assert torch.allclose(video(big, prompts, 16.0).overall, video(clips, prompts, 16.0).overall, atol=1e-5)
    assert torch.allclose(image(big[:, 0], prompts), image(clips[:, 0], prompts), atol=1e-5)
