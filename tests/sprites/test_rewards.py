import pytest
import torch

from streamt1.interfaces import ImageReward, VideoReward, VideoScore
from streamt1.sprites.rewards import (
    VIDEO_PARTS,
    RewardNetConfig,
    SpritesImageReward,
    SpritesVideoReward,
    resample_frames,
)
from streamt1.sprites.text import TextEncoderConfig

SMALL = dict(channels=4, text=TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2))
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
    image, _ = models
    for stage in image.net.stages:  # FiLM starts at zero; make the text matter for this check
        torch.nn.init.normal_(stage.film.weight, std=0.5)
    frames = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(image(frames, [PROMPT]), image(frames, ["a green square grows"]))


def test_resample_frames_spreads_evenly():
    clips = torch.arange(10.0).view(1, 10, 1)
    assert resample_frames(clips, 4).flatten().tolist() == [0.0, 3.0, 6.0, 9.0]
    assert resample_frames(clips[:, :1], 3).flatten().tolist() == [0.0, 0.0, 0.0]


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


def test_clear_errors(models, tmp_path):
    image, video = models
    with pytest.raises(FileNotFoundError, match="train_rewards"):
        SpritesImageReward.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="one prompt per frame"):
        image(torch.rand(2, 3, 64, 64), [PROMPT])
    with pytest.raises(ValueError, match="clips must be"):
        video(torch.rand(2, 3, 64, 64), [PROMPT] * 2, 16.0)
    with pytest.raises(ValueError, match="cannot express"):
        image(torch.rand(1, 3, 64, 64), ["a cat sleeps"])
    with pytest.raises(ValueError, match="kind"):
        SpritesImageReward(RewardNetConfig(kind="video"))
