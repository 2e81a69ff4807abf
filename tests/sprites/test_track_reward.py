import json

import pytest
import torch

from streamt1.agreement import fused_truth, truth_metrics
from streamt1.interfaces import ImageReward, VideoReward, VideoScore
from streamt1.metrics.sprites import evaluate_video, track_sprite
from streamt1.rewards import get_reward
from streamt1.sprites.track_reward import (
    PARTS,
    SpritesTrackImageReward,
    SpritesTrackVideoReward,
    TrackJudge,
    TrackPerception,
    TrackRewardConfig,
    load_perception,
    motion_features,
    save_perception,
    video_overall,
)
from streamt1.sprites.train_track_reward import TrainTrackConfig, all_backgrounds, degrade, mask_targets, train
from streamt1.sprites.world import COLORS, BackgroundSpec, SceneSpec, SpriteSpec, render, render_background

PROMPT = "a large red square moves left over a blue background"
SCENE = SceneSpec(BackgroundSpec("solid", "blue"), (SpriteSpec("square", "red", "large", "left", x=0.7, y=0.5),))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A perception trained briefly on rendered clips only (CPU, seconds)."""
    out = tmp_path_factory.mktemp("track")
    config = TrainTrackConfig(renders=24, render_frames=24, segment_steps=1000, head_steps=300, background_steps=300,
                              batch_size=64)
    report = train(config, out)
    return out, report


def test_training_reaches_the_truths_perception(trained):
    _, report = trained
    assert report["segmenter_abs_error"] < 0.03  # colour masks: a per-pixel function of RGB and the word
    assert report["detector_accuracy"] > 0.9
    assert report["background_abs_error"] < 0.1


def test_saved_card_and_float16_weights_keep_the_masks(trained, tmp_path):
    out, report = trained
    card = json.loads((out / "track_reward.json").read_text())
    assert card["report"]["detector_accuracy"] == report["detector_accuracy"]
    torch.manual_seed(1)
    p = TrackPerception()
    save_perception(p, tmp_path)
    q = load_perception(tmp_path)
    pixels, colours = torch.rand(2000, 3), torch.arange(len(COLORS))
    with torch.no_grad():
        gap = (torch.sigmoid(p.mask_logits(pixels, colours)) - torch.sigmoid(q.mask_logits(pixels, colours))).abs()
    assert 0 < float(gap.max()) < 0.01  # stored in float16, read back in float32


def test_batched_scores_equal_one_clip_at_a_time_with_mixed_prompts(trained):
    out, _ = trained
    judge = TrackJudge(load_perception(out))
    other = "a small green triangle moves right over a red and white checkerboard"
    second = SceneSpec(BackgroundSpec("checkerboard", "red", "white"),
                       (SpriteSpec("triangle", "green", "small", "right", x=0.3),))
    clips = torch.stack([render(SCENE, 9), render(second, 9), render(SCENE, 9).flip(-1), render(second, 9)])
    prompts = [PROMPT, other, PROMPT, other]
    batched = judge.score(clips, prompts, 16.0)
    for clip, prompt, row in zip(clips, prompts, batched):
        single = judge.parts(clip, prompt, 16.0)
        assert single.keys() == row.keys() and all(abs(single[k] - row[k]) < 1e-5 for k in row)
    assert batched[0] != batched[1]


def test_lower_precision_weights_score_float_inputs(trained):
    out, _ = trained
    perception = load_perception(out).to(dtype=torch.bfloat16)
    clips = render(SCENE, 6)[None]
    score = SpritesTrackVideoReward(perception)(clips, [PROMPT], 16.0)
    assert score.overall.dtype == torch.float32 and 0 <= float(score.overall) <= 1
    assert SpritesTrackImageReward(perception)(clips[:, 0], [PROMPT]).shape == (1,)


def test_reward_follows_the_truth_on_clear_differences(trained):
    out, _ = trained
    video = SpritesTrackVideoReward(load_perception(out))
    image = SpritesTrackImageReward(load_perception(out))
    good = render(SCENE, 16)
    other_colour = render(SceneSpec(SCENE.background, (SpriteSpec("square", "green", "large", "left", x=0.7),)), 16)
    still = render(SceneSpec(SCENE.background, (SpriteSpec("square", "red", "large", "grow", x=0.7),)), 16)
    clips = torch.stack([good, other_colour, still])
    score = video(clips, [PROMPT] * 3, 16.0)
    truth = [evaluate_video(c, PROMPT) for c in clips]
    assert score.overall[0] > score.overall[1] and score.overall[0] > score.overall[2]
    assert score.parts["alignment_presence"][0] > 0.9 and score.parts["alignment_presence"][1] < 0.1
    assert score.parts["alignment_motion"][0] > score.parts["alignment_motion"][2]
    assert truth[0]["alignment_motion"] > truth[2]["alignment_motion"]
    frames = image(clips[:, 0], [PROMPT] * 3)
    assert frames.shape == (3,) and frames[0] > frames[1]


def test_protocols_shapes_and_bad_input():
    torch.manual_seed(0)
    p = TrackPerception(TrackRewardConfig(hidden=4, shape_channels=2, motion_hidden=8, background_dim=4))
    video, image = SpritesTrackVideoReward(p), SpritesTrackImageReward(p)
    assert isinstance(video, VideoReward) and isinstance(image, ImageReward)
    score = video(torch.rand(2, 5, 3, 64, 64), [PROMPT] * 2, 16.0)
    assert isinstance(score, VideoScore) and score.overall.shape == (2,) and set(score.parts) == set(PARTS)
    assert image((torch.rand(3, 3, 128, 128) * 255).to(torch.uint8), [PROMPT] * 3).shape == (3,)  # resized
    with pytest.raises(ValueError, match="one prompt per clip"):
        video(torch.rand(2, 5, 3, 64, 64), [PROMPT], 16.0)
    with pytest.raises(ValueError, match=r"\[B, T>=1"):
        video(torch.rand(5, 3, 64, 64), [PROMPT], 16.0)
    with pytest.raises(ValueError, match="must be >= 1"):
        TrackRewardConfig(hidden=0)


def test_overall_weighs_the_parts_as_the_fused_truth():
    parts = dict(zip(PARTS, (0.8, 0.4, 1.0, 0.2, 0.6)))
    clip = render(SCENE, 9)
    metrics = truth_metrics((clip * 255).round().to(torch.uint8), PROMPT, 16.0)
    assert video_overall(parts) == pytest.approx(0.5 * 0.8 + 0.5 * (0.4 + 1.0 + 0.2 + 0.6) / 4)
    assert video_overall({k: metrics[k] for k in PARTS}) == pytest.approx(fused_truth(metrics))


def test_motion_features_need_two_seen_frames():
    clip = render(SCENE, 8)
    track = track_sprite(clip, SCENE.sprites[0])
    feats = motion_features(track, 16.0, 8)
    assert feats is not None and feats.shape == (3 * 8 + 4,)
    assert feats[3 * 8] < 0  # moving left: negative mean x velocity
    track.detected[:] = False
    track.detected[3] = True
    assert motion_features(track, 16.0, 8) is None


def test_training_targets_are_the_truths():
    pixels = torch.tensor([[0.9, 0.1, 0.1], [0.15, 0.3, 0.95], [0.5, 0.5, 0.5]])
    targets = mask_targets(pixels)
    assert targets.shape == (len(COLORS), 3)
    assert targets[list(COLORS).index("red"), 0] == 1 and targets[list(COLORS).index("blue"), 1] == 1
    assert targets[:, 2].max() < 1
    specs = all_backgrounds()
    assert len(specs) == len(set(specs)) and BackgroundSpec("solid", "blue") in specs
    g = torch.Generator().manual_seed(0)
    frames = render(SCENE, 4)
    degraded = degrade(frames, g)
    assert degraded.shape == frames.shape and 0 <= degraded.min() and degraded.max() <= 1
    assert not torch.equal(degraded, frames)


def test_registry_loads_the_track_reward(trained):
    out, _ = trained
    entry = get_reward("sprites-track-video", "video")
    assert entry.missing(out) == []
    from streamt1.rewards.sprites import load_track_image, load_track_video
    video, image = load_track_video(out, max_batch=2), load_track_image(out, max_batch=2)
    clips = render(SCENE, 6)[None].expand(3, -1, -1, -1, -1)
    assert video(clips, [PROMPT] * 3, 16.0).overall.shape == (3,)
    assert image(clips[:, 0], [PROMPT] * 3).shape == (3,)


def test_missing_weights_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-track-reward"):
        load_perception(tmp_path)


def test_judge_parts_match_the_truth_with_the_truths_own_masks(monkeypatch):
    """The judgement rules are the ground truth's: given the truth's colour masks, detections and rendered
    backgrounds in place of the learned ones, the judge reproduces consistency, presence and background."""
    frames = render(SCENE, 12)
    truth = evaluate_video(frames, PROMPT)
    p = TrackPerception()
    judge = TrackJudge(p)
    monkeypatch.setattr(judge, "tracks", lambda clips, scene: [[track_sprite(c, s) for s in scene.all_sprites]
                                                               for c in clips])
    monkeypatch.setattr(p, "backgrounds", lambda specs: torch.stack([render_background(s) for s in specs]))
    parts = judge.parts(frames, PROMPT, 16.0)
    for key in ("subject_consistency", "alignment_presence", "alignment_background"):
        assert parts[key] == pytest.approx(truth[key], abs=1e-6)
