"""VBench's motion smoothness formula, and AMT-S read from the released container without its pickle code."""

from __future__ import annotations

import argparse
import os
import pickle

import numpy as np
import pytest
import torch

from streamt1.metrics import amt
from streamt1.models.checkpoints import CheckpointError

from tiny_vbench import random_video


def midpoint(img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
    """An ideal interpolator for videos that change linearly."""
    return (img0 + img1) / 2


def vbench_motion_loop(video: torch.Tensor) -> float:
    """VBench's steps on numpy frames: even frames, midpoints, uint8 truncation, |odd - midpoint|."""
    frames = [f.permute(1, 2, 0).numpy() for f in video]
    evens = [f.astype(np.float32) / np.float32(255.0) for f in frames[::2]]
    middles = [((a + b) / 2 * 255.0).clip(0, 255).astype(np.uint8) for a, b in zip(evens[:-1], evens[1:])]
    odds = frames[1::2]
    diffs = [np.mean(np.abs(odds[i].astype(np.int16) - middles[i].astype(np.int16))) for i in range(len(middles))]
    return (255.0 - float(np.mean(diffs))) / 255.0


def test_still_and_linear_videos_are_perfectly_smooth_with_an_exact_interpolator():
    still = random_video(1, 20, 28, seed=0).expand(7, -1, -1, -1)
    assert amt.motion_smoothness(still, midpoint) == 1.0
    ramp = (torch.arange(9) * 20).to(torch.uint8)[:, None, None, None].expand(9, 3, 20, 28)
    assert amt.motion_smoothness(ramp, midpoint) == 1.0


def test_motion_smoothness_equals_vbench_steps_and_jumps_score_lower():
    video = random_video(8, 20, 28, seed=1)  # odd size: padding to 32 x 32 is undone exactly
    assert amt.motion_smoothness(video, midpoint) == pytest.approx(vbench_motion_loop(video), abs=1e-12)
    assert amt.motion_smoothness(video, midpoint) < 0.8
    with pytest.raises(ValueError, match="at least 3 frames"):
        amt.motion_smoothness(video[:2], midpoint)


def test_replicate_padding_splits_like_amt_input_padder():
    padded, pads = amt.replicate_pad(torch.zeros(1, 3, 20, 33))
    assert padded.shape[-2:] == (32, 48) and pads == (7, 8, 6, 6)


class _Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


@pytest.fixture(scope="module")
def amt_file(tmp_path_factory):
    """A random AMT-S in the release's container: {"state_dict", training state that needs pickle}."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("amt") / "amt-s.pth"
    torch.save({"state_dict": amt.AmtS().state_dict(), "epoch": np.int64(300),
                "args": argparse.Namespace(lr=2e-4), "payload": _Exploit()}, path)
    return path


def test_amt_s_loads_from_the_release_container_without_running_its_pickle(amt_file, tmp_path, monkeypatch):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(amt_file, weights_only=True)  # why VBench needs weights_only=False
    monkeypatch.chdir(tmp_path)
    model = amt.load_amt_s(amt_file)
    assert not (tmp_path / "pwned").exists()
    names = set(model.state_dict())
    for key in ("feat_encoder.layer2.0.downsample.0.weight", "encoder.pyramid4.1.1.weight",
                "decoder4.convblock.1.conv5.bias", "decoder1.convblock.2.weight", "update3.gru.2.bias",
                "update2.flow_head.0.weight", "comb_block.1.weight"):  # names from VBench's vendored AMT
        assert key in names
    assert round(sum(p.numel() for p in model.parameters()) / 1e4) == 299  # AMT-S: 2.99 M parameters
    frames = torch.rand(2, 1, 3, 128, 128)
    with torch.no_grad():
        out = model(frames[0], frames[1], torch.full((1, 1, 1, 1), 0.5))
        assert out.shape == (1, 3, 128, 128) and 0 <= out.min() and out.max() <= 1  # no NaN either
        with pytest.raises(ValueError, match="at least 128 x 128"):
            model(frames[0, ..., :64, :], frames[1, ..., :64, :], torch.full((1, 1, 1, 1), 0.5))


def test_a_non_amt_file_is_refused(tmp_path):
    torch.save({"state_dict": {"weight": torch.zeros(2)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="not an AMT-S checkpoint"):
        amt.load_amt_s(tmp_path / "other.pth")

