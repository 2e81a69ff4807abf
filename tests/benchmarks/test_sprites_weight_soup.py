"""``benchmarks/sprites_weight_soup.py``: the mixed model lies the given share of the way from one set of
weights to the other, keeps the shared codec, and refuses models that cannot be mixed."""

import json

import pytest
import torch

from streamt1.sprites.codec import AutoencoderConfig
from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.text import TextEncoderConfig

TEXT = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)


@pytest.fixture(scope="module")
def soup(load_benchmark):
    return load_benchmark("sprites_weight_soup")


def _model(seed: int, codec_seed: int = 0) -> SpritesVideoModel:
    codec = AutoencoderConfig(latent_channels=4, widths=(4, 4, 4))
    torch.manual_seed(codec_seed)
    model = SpritesVideoModel(sprites_wan_config(TEXT, latent_channels=4, dim=32, num_heads=2, num_layers=1),
                              TEXT, autoencoder=codec)
    torch.manual_seed(seed)
    for name, tensor in model.state_dict().items():
        if not name.startswith("autoencoder."):
            tensor.normal_()
    return model


def test_a_share_of_the_way_weight_by_weight_and_the_codec_kept(soup, tmp_path):
    base, other = _model(1), _model(2)
    base.save_pretrained(tmp_path / "base", {"training": {"steps_done": 7}})
    other.save_pretrained(tmp_path / "other", {"training": {"steps_done": 9}})
    soup.main(["--base", str(tmp_path / "base"), "--other", str(tmp_path / "other"), "--share", "0.25",
               "--out", str(tmp_path / "mixed")])
    a, b = SpritesVideoModel.from_pretrained(tmp_path / "base"), SpritesVideoModel.from_pretrained(tmp_path / "other")
    mixed = SpritesVideoModel.from_pretrained(tmp_path / "mixed").state_dict()
    ours, theirs = a.state_dict(), b.state_dict()
    for name, tensor in mixed.items():
        if name.startswith("autoencoder."):
            assert torch.equal(tensor, ours[name])
        else:  # stored in float16, as every Sprites model is
            assert torch.allclose(tensor, 0.75 * ours[name] + 0.25 * theirs[name], atol=2e-3, rtol=1e-3), name
    moved = [n for n in mixed if not n.startswith("autoencoder.") and not torch.equal(ours[n], theirs[n])]
    assert moved and all(not torch.allclose(mixed[n], ours[n]) for n in moved)
    card = json.loads((tmp_path / "mixed" / "sprites_model.json").read_text())["training"]
    assert card["steps_done"] == 7 and card["soup"]["share"] == 0.25
    assert card["soup"]["other_training"] == {"steps_done": 9}


def test_the_ends_of_the_line_are_the_two_models(soup):
    base, other = _model(1), _model(2)
    start = {k: v.clone() for k, v in base.state_dict().items()}
    assert all(torch.equal(v, start[k]) for k, v in soup.mix(base, other, 0.0).state_dict().items())
    end = soup.mix(_model(1), other, 1.0).state_dict()
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in end.items())


def test_models_that_cannot_be_mixed_are_refused(soup):
    with pytest.raises(ValueError, match="codecs differ"):
        soup.mix(_model(1), _model(2, codec_seed=5), 0.5)
    with pytest.raises(ValueError, match="0 \\(BASE\\) to 1"):
        soup.mix(_model(1), _model(2), 1.5)
    small = SpritesVideoModel(sprites_wan_config(TEXT, latent_channels=4, dim=16, num_heads=2, num_layers=1), TEXT,
                              autoencoder=AutoencoderConfig(latent_channels=4, widths=(4, 4, 4)))
    with pytest.raises(ValueError, match="architecture"):
        soup.mix(_model(1), small, 0.5)
