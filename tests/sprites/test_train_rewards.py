import dataclasses
import json

import pytest
import torch

from streamt1.sprites.captions import caption, same_content
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward, resample_index
from streamt1.sprites.train_rewards import (
    IMAGE_NEGATIVES,
    VIDEO_NEGATIVES,
    TrainRewardsConfig,
    degrade_clip,
    degrade_frames,
    init_config,
    main,
    mismatch_scene,
    played_backwards,
    sample_pair,
    stalled_scene,
    train,
)
from streamt1.sprites.world import render, render_at, sample_scene

TINY = TrainRewardsConfig(
    steps=5, batch_size=2, workers=0, log_every=2, eval_batches=1, min_window=4, max_window=8,
    net=RewardNetConfig(channels=4, num_frames=4, match_dim=8),
)


def test_mismatches_change_the_caption_content():
    g = torch.Generator().manual_seed(0)
    for seed in range(30):
        scene = sample_scene(seed, num_frames=160)
        for kind in ("color", "shape", "motion", "background"):
            wrong = mismatch_scene(scene, 0, 10, kind, "train", g)
            assert wrong is not None and not same_content(wrong, scene)
            assert caption(wrong) != caption(scene)


def test_degradations_change_pixels_and_keep_shapes():
    g = torch.Generator().manual_seed(0)
    clip = render(sample_scene(1), 8)
    later = render(sample_scene(1), 8, start_frame=30)
    for kind in ("blur", "noise", "color_shift", "low_contrast"):
        out = degrade_frames(clip, kind, g)
        assert out.shape == clip.shape and (out - clip).abs().mean() > 1e-3
    for kind in ("frozen", "jump", "flicker", "partial_noise"):
        out = degrade_clip(clip, later, kind, g)
        assert out.shape == clip.shape and not torch.equal(out, clip)


def test_a_reversed_window_keeps_the_frame_gaps_of_its_plan():
    scene = sample_scene(1)
    times = (10 + resample_index(30, 8, 3)).float()  # 5 spread frames, then 3 recent ones
    clip, back = render_at(scene, times), played_backwards(scene, times)
    assert torch.equal(back[0], clip[-1]) and torch.equal(back[-1], clip[0])  # the window's ends swapped
    # still dense at the end: the window's first three frames, last to first (a flip would put them first)
    assert torch.equal(back[-3:], render_at(scene, times[0] + torch.tensor([2.0, 1.0, 0.0])))
    assert not torch.equal(back, clip.flip(0))


def test_a_stalled_sprite_starts_in_place_and_barely_moves():
    from streamt1.sprites.world import DIRECTIONS, sprite_placements

    g = torch.Generator().manual_seed(0)
    checked = 0
    for seed in range(40):
        scene = sample_scene(seed, num_frames=160)
        start, stop = 40, 88
        stalled = stalled_scene(scene, start, stop, g)
        directed = [s for s in scene.all_sprites if s.motion in DIRECTIONS]
        if stalled is None:
            continue
        changed = [(a, b) for a, b in zip(scene.all_sprites, stalled.all_sprites) if a != b]
        assert len(changed) == 1 and changed[0][1].speed == 0.05 and changed[0][0] in directed
        ends = torch.tensor([float(start), float(stop - 1)])
        moving, still = render_at(scene, ends), render_at(stalled, ends)
        assert torch.allclose(moving[0], still[0], atol=1e-3)  # the same frame where the window starts
        assert not torch.allclose(moving[1], still[1], atol=1e-2)  # apart by its end
        index = stalled.all_sprites.index(changed[0][1])
        window = torch.arange(start, stop).float()
        cx = [p[1] for p in sprite_placements(stalled, window)][index]
        cy = [p[2] for p in sprite_placements(stalled, window)][index]
        step = torch.hypot(*((c.diff() + 0.5).remainder(1.0) - 0.5 for c in (cx, cy)))  # wrapped per-frame moves
        travel = step.sum()
        assert float(travel) * 64 < 2.0  # under 0.05 x 0.5 px per frame: about 1 px over 48 frames
        checked += 1
    assert checked >= 10
    still = sample_scene(0, num_frames=160)
    still = dataclasses.replace(still, sprites=tuple(dataclasses.replace(s, motion="orbit") for s in still.sprites),
                                events=())
    assert stalled_scene(still, 0, 10, g) is None  # no sprite of a directed motion
    pairs = [sample_pair(g, "train", TINY) for _ in range(150)]
    kinds = [VIDEO_NEGATIVES[p["video_kind"]] for p in pairs]
    assert "stalled" in kinds
    for p in pairs:
        if VIDEO_NEGATIVES[p["video_kind"]] == "stalled":
            assert p["video_neg_text"] == p["text"] and p["video_labels"].tolist() == [0, 1, 1]
            assert not torch.equal(p["video_neg"], p["clip"])


def test_sample_pair_is_deterministic_and_covers_kinds():
    a = sample_pair(torch.Generator().manual_seed(3), "train", TINY)
    b = sample_pair(torch.Generator().manual_seed(3), "train", TINY)
    assert a["text"] == b["text"] and torch.equal(a["video_neg"], b["video_neg"])
    assert a["clip"].shape == (4, 3, 64, 64) and a["frame"].shape == (3, 64, 64)
    g = torch.Generator().manual_seed(0)
    pairs = [sample_pair(g, "train", TINY) for _ in range(60)]
    assert len({p["image_kind"] for p in pairs}) > len(IMAGE_NEGATIVES) // 2
    assert len({p["video_kind"] for p in pairs}) > len(VIDEO_NEGATIVES) // 2


def test_training_loop_runs_and_saves(tmp_path):
    summary = train(TINY, tmp_path, "cpu")
    card = json.loads((tmp_path / "train_rewards.json").read_text())
    assert card["final"]["step"] == 5 and set(card["accuracy"]) == {"train", "eval"}
    assert summary["final"] == card["final"]
    image = SpritesImageReward.from_pretrained(tmp_path)
    video = SpritesVideoReward.from_pretrained(tmp_path)
    assert image(torch.rand(1, 3, 64, 64), ["a red circle grows"]).isfinite().all()
    assert video(torch.rand(1, 6, 3, 64, 64), ["a red circle grows"], 16.0).overall.isfinite().all()


def test_training_can_start_from_saved_rewards_with_another_frame_plan(tmp_path, capsys):
    first = tmp_path / "first"
    train(TINY, first, "cpu")
    net = init_config(first, recent_frames=2)
    assert net.recent_frames == 2 and net.num_frames == TINY.net.num_frames
    config = dataclasses.replace(TINY, steps=1, net=dataclasses.replace(net, kind="image"))
    before = SpritesVideoReward.from_pretrained(first).state_dict()
    summary = train(dataclasses.replace(config, lr=0.0), tmp_path / "second", "cpu", init=first)
    video = SpritesVideoReward.from_pretrained(tmp_path / "second")
    assert summary["init"] == str(first) and video.config.recent_frames == 2
    assert SpritesImageReward.from_pretrained(tmp_path / "second").config.recent_frames == 0  # a frame has no plan
    for key, value in video.state_dict().items():  # lr 0: the weights are those it started from
        torch.testing.assert_close(value, before[key])
    wider = dataclasses.replace(config, net=dataclasses.replace(config.net, channels=8))
    with pytest.raises(ValueError, match="not config.net's"):
        train(wider, tmp_path / "third", "cpu", init=first)
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "third"), "--init", str(first), "--channels", "8"])
    assert "--channels cannot change the nets of --init" in capsys.readouterr().err


def test_train_negatives_never_name_a_held_out_pair():
    from streamt1.sprites.captions import parse_caption
    from streamt1.sprites.world import HELD_OUT_PAIRS

    g = torch.Generator().manual_seed(3)
    for _ in range(200):
        pair = sample_pair(g, "train", TINY)
        for text in (pair["text"], pair["image_neg_text"], pair["video_neg_text"]):
            assert not {(s.color, s.shape) for s in parse_caption(text).all_sprites} & HELD_OUT_PAIRS


def test_empty_negatives_keep_the_caption_and_drop_every_sprite():
    from streamt1.sprites.train_rewards import VIDEO_LABELS

    g = torch.Generator().manual_seed(4)
    seen = {"image": 0, "video": 0}
    for _ in range(300):
        pair = sample_pair(g, "train", TINY)
        if IMAGE_NEGATIVES[pair["image_kind"]] == "empty":
            seen["image"] += 1
            assert pair["image_neg_text"] == pair["text"] and not torch.equal(pair["image_neg"], pair["frame"])
        if VIDEO_NEGATIVES[pair["video_kind"]] == "empty":
            seen["video"] += 1
            assert pair["video_neg_text"] == pair["text"] and pair["video_neg"].shape == pair["clip"].shape
            assert pair["video_labels"].tolist() == list(VIDEO_LABELS["empty"]) == [0, 1, 0]
    assert seen["image"] > 0 and seen["video"] > 0
