"""A tiny random Sprites model and rewards (the released file layout), and one reference bench run."""

from pathlib import Path

import pytest
import torch

from streamt1.bench import run_bench
from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward
from streamt1.sprites.text import TextEncoderConfig

from bench_fixtures import tiny_settings


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_weights")
    torch.manual_seed(0)
    text_config = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)
    model = SpritesVideoModel(sprites_wan_config(text_config, dim=32, num_heads=2, num_layers=1), text_config)
    model.transformer.init_weights(torch.Generator().manual_seed(0))
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.05)
    model.save_pretrained(folder, {"steps": 0})
    small = dict(channels=4, match_dim=8)
    SpritesImageReward(RewardNetConfig(kind="image", **small)).save_pretrained(folder)
    SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **small)).save_pretrained(folder)
    return folder




@pytest.fixture(scope="session")
def single_threaded():
    """Same thread count in every process, so float reductions match bit for bit across runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def reference_run(tiny_weights, tmp_path_factory, single_threaded) -> Path:
    """One uninterrupted single-process run: 2 prompts x 1 seed x (none, stream-t1)."""
    out = tmp_path_factory.mktemp("reference")
    run_bench(tiny_settings(tiny_weights, out))
    return out
