"""Fixtures shared across test folders."""

from pathlib import Path

import pytest
import torch

from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.track_reward import TrackPerception, TrackRewardConfig, save_perception


@pytest.fixture(scope="session")
def sprites_weights(tmp_path_factory) -> Path:
    """A tiny randomly initialised Sprites model and rewards in the released file layout."""
    folder = tmp_path_factory.mktemp("sprites_weights")
    torch.manual_seed(0)
    text_config = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)
    model = SpritesVideoModel(sprites_wan_config(text_config, dim=32, num_heads=2, num_layers=1), text_config)
    model.transformer.init_weights(torch.Generator().manual_seed(0))
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.05)  # a non-zero head: videos vary
    model.save_pretrained(folder, {"steps": 0})
    small = dict(channels=4, match_dim=8)
    SpritesImageReward(RewardNetConfig(kind="image", **small)).save_pretrained(folder)
    SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **small)).save_pretrained(folder)
    save_perception(TrackPerception(TrackRewardConfig(hidden=4, shape_channels=2, motion_hidden=8, background_dim=4,
                                                      background_hidden=8)), folder)
    return folder


@pytest.fixture
def count_passes(monkeypatch):
    """``count_passes(model) -> [n]``: from now on, ``n`` counts the candidate-chunks the transformer runs
    (denoising steps through ``forward_chunk``, the commit's clean pass through ``chunk_kv``)."""
    def install(model) -> list[int]:
        count = [0]

        def counting(forward):
            def counted(x, *args, **kwargs):
                count[0] += x.shape[0]
                return forward(x, *args, **kwargs)
            return counted

        monkeypatch.setattr(model, "forward_chunk", counting(model.forward_chunk))
        monkeypatch.setattr(model, "chunk_kv", counting(model.chunk_kv))
        return count
    return install
