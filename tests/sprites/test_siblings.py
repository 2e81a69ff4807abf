"""Recording the search's own sibling candidates on train scenes (tiny model, CPU)."""

import dataclasses
import json

import pytest
import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.search.pruning import fuse
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.rewards import SpritesImageReward, SpritesVideoReward
from streamt1.sprites.siblings import (
    RecordConfig,
    is_tuning,
    load_groups,
    load_scene,
    record,
    scene_path,
    shard_scenes,
    train_prompt,
)
from streamt1.sprites.world import is_eval_scene


def test_recorded_groups_are_what_the_search_scored(recorded, tiny_weights):
    train, tuning = load_groups(recorded)
    assert len(train) == len(tuning) == 3  # one group per chunk of each scene
    image = SpritesImageReward.from_pretrained(tiny_weights)
    video = SpritesVideoReward.from_pretrained(tiny_weights)
    tau = build_config("stream-t1").search.tau
    for group in train + tuning:
        n = len(group)
        frames, clips = group.image_frames(), group.video_clips()
        assert n == 4 and frames.dtype == clips.dtype == torch.uint8
        assert frames.shape == (n, 3, 3, 64, 64)
        assert clips.shape == (n, 3 * (group.chunk_index + 1), 3, 64, 64)  # the window: all earlier chunks
        assert torch.equal(clips[:, -3:], group.chunks)
        short = image(frames.flatten(0, 1), [group.prompt] * frames.shape[:2].numel()).view(n, -1).mean(1)
        long = video(clips, [group.prompt] * n, group.fps).overall
        # the rewards give the stored inputs the scores the search gave them: same windows, same frames
        torch.testing.assert_close(fuse(short, long, group.alpha(tau)), group.recorded_fused, rtol=1e-4, atol=1e-4)
        for truth in (group.video_truth(), group.image_truth()):
            assert truth.shape == (n,) and bool(((truth >= 0) & (truth <= 1)).all())


def recorded_frames(folder) -> int:
    return json.loads((folder / "record.json").read_text())["num_frames"]


def test_held_out_prompts_are_never_recorded(recorded):
    frames = recorded_frames(recorded)
    held_out = set(eval_prompts(64, frames))
    for path in sorted(recorded.glob("scene-*.pt")):
        _, groups = load_scene(path)
        for group in groups:
            assert not is_eval_scene(parse_caption(group.prompt)) and group.prompt not in held_out
    for index in range(300):  # every train prompt the recorder can draw is free of held-out pairs
        assert not is_eval_scene(parse_caption(train_prompt(index, frames)))


def test_shards_split_the_scenes_and_the_tuning_split_is_every_eighth():
    shards = [shard_scenes(30, i, 4) for i in range(4)]
    assert sorted(sum(shards, [])) == list(range(30))
    assert [i for i in range(30) if is_tuning(i)] == [7, 15, 23]
    with pytest.raises(ValueError, match="shard=4"):
        shard_scenes(30, 4, 4)


def test_resuming_records_only_the_missing_scenes(recorded, tiny_weights, tmp_path):
    folder = tmp_path / "resume"
    folder.mkdir()
    for name in ("record.json", "scene-000000.pt", "scene-000007.pt"):
        (folder / name).write_bytes((recorded / name).read_bytes())
    kept = scene_path(folder, 7).stat().st_mtime_ns
    scene_path(folder, 0).unlink()
    config = RecordConfig(num_scenes=8, num_frames=recorded_frames(recorded), weights=str(tiny_weights), shard=0,
                          num_shards=7)
    summary = record(config, folder)  # shard 0 of 7: scenes 0 and 7
    assert summary["recorded"] == 1 and summary["already_there"] == 1
    assert scene_path(folder, 7).stat().st_mtime_ns == kept
    again, first = load_scene(scene_path(folder, 0))[1], load_scene(scene_path(recorded, 0))[1]
    assert torch.equal(again[-1].video_clips(), first[-1].video_clips())  # same scene, same seed, same video
    with pytest.raises(ValueError, match="num_frames"):
        record(dataclasses.replace(config, num_frames=12), folder)


def test_a_length_the_model_cannot_make_is_refused_before_the_folder_is_claimed(tiny_weights, tmp_path):
    folder = tmp_path / "rejected"
    with pytest.raises(ValueError, match="num_frames=5 must be a positive multiple"):
        record(RecordConfig(num_scenes=1, num_frames=5, weights=str(tiny_weights)), folder)
    assert not (folder / "record.json").exists()  # so the corrected command may use the same --out


@pytest.mark.parametrize("minutes", [0, -1])
def test_a_time_limit_that_ends_every_run_at_once_is_refused(minutes):
    from streamt1.sprites.rank_rewards import RankRewardsConfig
    from streamt1.sprites.train import TrainVideoConfig
    from streamt1.sprites.train_codec import TrainCodecConfig
    from streamt1.sprites.train_rewards import TrainRewardsConfig

    for config in (RecordConfig, TrainVideoConfig, TrainCodecConfig, TrainRewardsConfig, RankRewardsConfig):
        with pytest.raises(ValueError, match=f"max_minutes={minutes} must be > 0"):
            config(max_minutes=minutes)


def test_a_negative_worker_count_is_named_in_the_training_configs():
    from streamt1.sprites.train import TrainVideoConfig
    from streamt1.sprites.train_codec import TrainCodecConfig

    for config in (TrainVideoConfig, TrainCodecConfig):
        with pytest.raises(ValueError, match="workers=-2 must be >= 0"):
            config(workers=-2)


def test_a_generator_only_folder_records_with_the_built_in_pathway_rewards(tiny_weights, tmp_path):
    """`streamt1 sprites train --out` writes the model alone; recording with it takes the built-in rewards."""
    model_only = tmp_path / "model"
    model_only.mkdir()
    for name in ("sprites_model.safetensors", "sprites_model.json"):
        (model_only / name).write_bytes((tiny_weights / name).read_bytes())
    config = RecordConfig(num_scenes=1, num_frames=6, weights=str(model_only))
    assert record(config, tmp_path / "record")["recorded"] == 1
    (group, *_), _ = load_groups(tmp_path / "record")
    image, video = SpritesImageReward.from_pretrained(), SpritesVideoReward.from_pretrained()  # built in
    frames, clips, n = group.image_frames(), group.video_clips(), len(group)
    short = image(frames.flatten(0, 1), [group.prompt] * frames.shape[:2].numel()).view(n, -1).mean(1)
    long = video(clips, [group.prompt] * n, group.fps).overall
    tau = build_config("stream-t1").search.tau
    torch.testing.assert_close(fuse(short, long, group.alpha(tau)), group.recorded_fused, rtol=1e-4, atol=1e-4)
