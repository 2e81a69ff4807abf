"""VBench's formulas, preprocessing and VBench-Long splitting, checked against independent computations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from streamt1.config import ConfigError
from streamt1.metrics import vbench

from tiny_vbench import clip_load_on_cpu, dino_reference, random_video, tiny_weights  # noqa: F401  (session fixture)


def vbench_loop(features: torch.Tensor) -> tuple[float, float, int]:
    """VBench's loop as written in subject_consistency.py: (per-video score, sum, count)."""
    feats = F.normalize(features, dim=-1, p=2)
    total, count = 0.0, 0
    for i in range(1, len(feats)):
        prev = max(0.0, F.cosine_similarity(feats[i - 1 : i], feats[i : i + 1]).item())
        first = max(0.0, F.cosine_similarity(feats[:1], feats[i : i + 1]).item())
        total += (prev + first) / 2
        count += 1
    return total / (len(feats) - 1), total, count


@pytest.fixture(scope="module")
def backbones(tiny_weights):
    return vbench.Backbones(tiny_weights.root, "cpu")


def test_consistency_equals_vbench_loop_including_negative_similarities():
    features = torch.randn(9, 16, generator=torch.Generator().manual_seed(0))  # many cosines < 0
    assert vbench.consistency(features) == pytest.approx(vbench_loop(features)[0], abs=1e-6)


def test_consistency_of_identical_frames_is_one_and_shuffling_a_path_lowers_it():
    assert vbench.consistency(torch.ones(5, 8)) == pytest.approx(1.0)
    angles = torch.arange(10) * 0.1  # a path on a circle: neighbours closest
    path = torch.stack([angles.cos(), angles.sin()], 1)
    shuffled = path[torch.tensor([0, 5, 2, 8, 1, 9, 3, 7, 4, 6])]  # first frame kept: only neighbours change
    assert vbench.consistency(shuffled) < vbench.consistency(path) - 0.01


def test_consistency_needs_two_frames():
    with pytest.raises(ValueError, match="at least 2 frames"):
        vbench.consistency(torch.ones(1, 4))


def test_resize_follows_torchvision_short_side_rule_and_center_crop_rounding():
    assert vbench.short_side_size(480, 832, 224) == (224, 388)  # 224 * 832 / 480 = 388.27, truncated
    assert vbench.short_side_size(832, 480, 224) == (388, 224)
    frames = torch.arange(224 * 389, dtype=torch.float32).reshape(1, 1, 224, 389)
    cropped = vbench.center_crop(frames, 224)
    assert cropped[0, 0, 0, 0] == 82  # (389 - 224) / 2 = 82.5 rounds half to even, as torchvision
    ramp = torch.linspace(0, 255, 832).expand(1, 3, 480, 832).contiguous()
    resized = vbench.resize_short_side(ramp, 224, "bilinear")
    assert resized.shape[-2:] == (224, 388)
    assert not torch.equal(resized, resized.round())  # float frames are not rounded to 0..255 levels


def test_transforms_normalise_after_resizing_in_vbench_order():
    video = torch.full((2, 3, 240, 320), 128, dtype=torch.uint8)
    dino = vbench.dino_transform(video)
    assert dino.shape == (2, 3, 224, 298)
    torch.testing.assert_close(dino[0, :, 0, 0], (128 / 255 - torch.tensor(vbench.IMAGENET_MEAN)) / torch.tensor(vbench.IMAGENET_STD))
    clip = vbench.clip_transform(video)
    assert clip.shape == (2, 3, 224, 224)
    torch.testing.assert_close(clip[1, :, 5, 5], (128 / 255 - torch.tensor(vbench.CLIP_MEAN)) / torch.tensor(vbench.CLIP_STD))


def test_subject_consistency_equals_vbench_on_the_reference_dino(tiny_weights, backbones):
    video = random_video(4, 96, 160, seed=1)
    frames = F.interpolate(video.float(), size=(224, 373), mode="bilinear", align_corners=False) / 255
    frames = (frames - torch.tensor(vbench.IMAGENET_MEAN)[:, None, None]) / torch.tensor(vbench.IMAGENET_STD)[:, None, None]
    expected = vbench_loop(dino_reference(tiny_weights.dino_sd, frames))[0]
    assert vbench.subject_consistency(video, backbones.dino) == pytest.approx(expected, abs=1e-5)
    still = video[:1].expand(5, -1, -1, -1)
    assert vbench.subject_consistency(still, backbones.dino) == pytest.approx(1.0, abs=1e-6)


def _clip_reference_input(video: torch.Tensor) -> torch.Tensor:
    frames = F.interpolate(video.float(), size=(224, 298), mode="bicubic", align_corners=False)[..., 37:261]
    mean, std = torch.tensor(vbench.CLIP_MEAN)[:, None, None], torch.tensor(vbench.CLIP_STD)[:, None, None]
    return (frames / 255 - mean) / std


def test_background_consistency_and_aesthetic_quality_equal_vbench_on_the_reference_clip(tiny_weights, backbones):
    video = random_video(3, 120, 160, seed=2)  # 120x160 -> 224x298 -> crop left (298 - 224) / 2 = 37
    with torch.no_grad():
        b32 = clip_load_on_cpu(tiny_weights.clip_b32)(_clip_reference_input(video))
        l14 = F.normalize(clip_load_on_cpu(tiny_weights.clip_l14)(_clip_reference_input(video)), dim=-1)
        aesthetic = float((tiny_weights.head(l14).squeeze(-1) / 10).mean())
    assert vbench.background_consistency(video, backbones.clip_b32) == pytest.approx(vbench_loop(b32)[0], abs=1e-5)
    assert vbench.aesthetic_quality(video, backbones.clip_l14, backbones.aesthetic_head) == pytest.approx(aesthetic, abs=1e-5)
    assert abs(aesthetic) > 0.05  # the head is not ~0, so the comparison means something


def test_long_clips_of_a_30_second_video_follow_vbench_long():
    assert vbench.clip_ranges(480, 16) == [range(32 * i, 32 * (i + 1)) for i in range(15)]
    ranges = vbench.clip_ranges(477, 16)  # LongLive's 120 latent frames: 14 full clips + the tail
    assert ranges[:14] == [range(32 * i, 32 * (i + 1)) for i in range(14)]
    assert ranges[14] == range(445, 477)  # extended backwards to 32 frames
    assert vbench.clip_ranges(720, 24.0) == [range(48 * i, 48 * (i + 1)) for i in range(15)]
    assert vbench.clip_ranges(60, 29.97) == [range(0, 58), range(2, 60)]  # int(fps) = 29 -> 58 frames
    assert vbench.clip_ranges(20, 16) == [range(20)]  # shorter than a clip: the whole video


def test_automatic_long_mode_starts_at_five_seconds():
    assert vbench.use_long(80, 16, "auto") and not vbench.use_long(79, 16, "auto")
    assert vbench.use_long(10, 16, "on") and not vbench.use_long(800, 16, "off")
    with pytest.raises(ConfigError, match="long="):
        vbench.use_long(10, 16, "yes")


def test_long_score_is_the_clip_mean_and_the_aggregate_pools_frames(backbones):
    video = random_video(12, 32, 32, seed=3)  # 4 fps: 8-frame clips [0, 8) and [4, 12)
    feats = vbench.dino_features(video, backbones.dino)
    per_clip = [vbench_loop(feats[r]) for r in (slice(0, 8), slice(4, 12))]
    result = vbench.score_dimension(video, 4, "subject_consistency", backbones, long=True)
    assert result.clips == pytest.approx([c[0] for c in per_clip], abs=1e-6)
    assert result.value == pytest.approx(sum(c[0] for c in per_clip) / 2, abs=1e-6)
    short = vbench.score_dimension(video[:5], 4, "subject_consistency", backbones, long=False)
    pooled = (sum(c[1] for c in per_clip) + vbench_loop(feats[:5])[1]) / (7 + 7 + 4)
    assert vbench.aggregate([result, short]) == pytest.approx(pooled, abs=1e-6)
    aesthetic = vbench.score_dimension(video[:5], 4, "aesthetic_quality", backbones, long=False)
    assert aesthetic.weight == 1.0  # aesthetic is averaged over videos


def test_unknown_dimensions_are_config_errors_listing_the_available_ones():
    with pytest.raises(ConfigError, match="unknown VBench dimension.*available: .*subject_consistency"):
        vbench.check_dimensions(["beauty"])


def test_missing_weight_names_the_file_and_its_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="ViT-L-14.pt: not found; it comes from OpenAI"):
        vbench.check_weights(["aesthetic_quality"], tmp_path)


def test_every_missing_weight_is_named_at_once(tmp_path):
    names = ["subject_consistency", "aesthetic_quality", "imaging_quality"]
    files = list(dict.fromkeys(f for n in names for f in vbench.DIMENSIONS[n].files))
    with pytest.raises(FileNotFoundError) as missing:
        vbench.check_weights(names, tmp_path)
    message = str(missing.value)
    assert message.startswith(f"{len(files)} of VBench's files are missing")
    assert all(f"\n  {Path(f).name}: not found" in message for f in files)  # a line each
    assert message.count("\n") == len(files)
    # once one is in place, only the others are named
    present = tmp_path / files[0]
    present.parent.mkdir(parents=True)
    present.write_bytes(b"x")
    with pytest.raises(FileNotFoundError) as missing:
        vbench.check_weights(names, tmp_path)
    assert f"{Path(files[0]).name}: not found" not in str(missing.value)


def test_aggregate_is_the_weighted_mean():
    scores = [vbench.DimensionScore(0.5, 2.0), vbench.DimensionScore(1.0, 6.0)]
    assert vbench.aggregate(scores) == pytest.approx((0.5 * 2 + 1.0 * 6) / 8)
