import pytest
import torch

from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.siblings import RecordConfig, record
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward
from streamt1.sprites.text import TextEncoderConfig


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A randomly initialised tiny Sprites model and rewards in the released file layout."""
    folder = tmp_path_factory.mktemp("tiny_weights")
    torch.manual_seed(0)
    text_config = TextEncoderConfig(text_dim=32, num_layers=1, num_heads=2)
    model = SpritesVideoModel(sprites_wan_config(text_config, dim=64, num_heads=2, num_layers=1), text_config)
    model.transformer.init_weights(torch.Generator().manual_seed(0))
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.05)
    model.save_pretrained(folder, {"steps": 0})
    small = dict(channels=4, match_dim=8)
    SpritesImageReward(RewardNetConfig(kind="image", **small)).save_pretrained(folder)
    SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **small)).save_pretrained(folder)
    return folder


RECORDED_FRAMES = 9  # three chunks of the tiny model


@pytest.fixture(scope="session")
def recorded(tiny_weights, tmp_path_factory):
    """Sibling groups of scenes 0 (training split) and 7 (tuning split), recorded by two shards of eight."""
    folder = tmp_path_factory.mktemp("record")
    for shard in (0, 7):
        config = RecordConfig(num_scenes=8, num_frames=RECORDED_FRAMES, weights=str(tiny_weights), shard=shard,
                              num_shards=8)
        assert record(config, folder)["recorded"] == 1
    return folder
