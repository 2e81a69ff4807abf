import dataclasses
import json

import pytest
import torch

from streamt1.config import build_config
from streamt1.models.codec import LatentCodec
from streamt1.search.beam import StreamSearch
from streamt1.sprites.codec import AutoencoderCodec, AutoencoderConfig, SpritesAutoencoder, reconstruction_loss
from streamt1.sprites.model import SpritesVideoModel, build_generator, sprites_wan_config
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.train import TrainVideoConfig, train
from streamt1.sprites.train_codec import TrainCodecConfig, codec_loss, load_codec, sample_frames
from streamt1.sprites.train_codec import train as train_codec
from streamt1.sprites.world import render, sample_scene

SMALL = AutoencoderConfig(latent_channels=4, widths=(8, 8, 16))
TEXT = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)


def test_codec_shapes_and_protocol():
    codec = AutoencoderCodec(SpritesAutoencoder(SMALL))
    assert isinstance(codec, LatentCodec) and codec.spatial_factor == 4 and codec.latent_channels == 4
    frames = torch.rand(2, 3, 3, 64, 64)
    z = codec.encode(frames)
    assert z.shape == (2, 4, 3, 16, 16) and not z.requires_grad
    decoded, cache = codec.decode_chunk(z, codec.initial_cache(2))
    assert decoded.shape == frames.shape and cache is None and 0 <= decoded.min() and decoded.max() <= 1
    with pytest.raises(ValueError, match="channels"):
        codec.decode_chunk(torch.zeros(1, 5, 3, 16, 16), None)
    with pytest.raises(ValueError, match="divisible"):
        codec.encode(torch.rand(1, 1, 3, 62, 62))
    for widths in ((1, 8, 16), (8, 9, 16)):  # the decoder halves the first two widths
        with pytest.raises(ValueError, match="even widths"):
            AutoencoderConfig(widths=widths)


def test_statistics_normalise_the_latents_and_decoding_undoes_them():
    ae = SpritesAutoencoder(SMALL)
    images = render(sample_scene(0, "train", num_frames=16), 16)
    raw = ae.encode_raw(images).detach()
    ae.set_statistics(raw * 3 + 1)  # statistics of another scale: these latents are not unit-variance
    assert (ae.normalise(raw).std((0, 2, 3)) - 1 / 3).abs().max() < 1e-3
    ae.set_statistics(raw)  # a second call replaces the first
    z = ae.normalise(raw)
    assert z.mean((0, 2, 3)).abs().max() < 1e-3 and (z.std((0, 2, 3)) - 1).abs().max() < 1e-3
    torch.testing.assert_close(ae.denormalise(z), raw, rtol=1e-5, atol=1e-5)
    codec = AutoencoderCodec(ae)
    torch.testing.assert_close(codec.decode_chunk(codec.encode(images[None]), None)[0][0],
                               ae.decode_raw(raw).clamp(0, 1), rtol=1e-5, atol=1e-5)


def test_reconstruction_loss_weighs_edges_and_is_zero_only_for_a_perfect_copy():
    images = render(sample_scene(1, "train", num_frames=4), 4)
    assert reconstruction_loss(images, images) == 0
    flat = images.mean((2, 3), keepdim=True).expand_as(images)  # edges lost, colours kept
    assert reconstruction_loss(images, flat) > reconstruction_loss(images, images + 0.01)


def test_training_lowers_the_loss_and_saves_a_loadable_codec(tmp_path):
    config = TrainCodecConfig(steps=40, batch_size=2, frames_per_item=4, workers=0, log_every=10, lr=3e-3,
                              eval_clips=2, eval_frames=8, model=SMALL)
    card = train_codec(config, tmp_path)
    losses = [row["loss"] for row in card["training"]["history"]]
    assert len(losses) == 4 and losses[-1] < losses[0]
    saved = json.loads((tmp_path / "sprites_codec.json").read_text())
    assert AutoencoderConfig.from_dict(saved["codec_config"]) == SMALL and saved["held_out"]["clips"] == 2
    assert saved["held_out"]["metrics_rendered"]["text_alignment"] > 0.8  # the world's renders score high
    ae = load_codec(tmp_path)
    assert ae.config == SMALL and ae.latent_std.ne(1).any()  # statistics were set and saved
    frames = sample_frames(torch.Generator().manual_seed(0), config)
    assert frames.shape == (4, 3, 64, 64)
    g = torch.Generator().manual_seed(0)
    assert codec_loss(ae, frames, config, g).isfinite()
    (tmp_path / "sprites_codec.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="corrupt"):
        load_codec(tmp_path)
    with pytest.raises(FileNotFoundError, match="train-codec"):
        load_codec(tmp_path / "missing")


def test_video_model_with_a_learned_codec_saves_loads_and_generates(tmp_path):
    model = SpritesVideoModel(sprites_wan_config(TEXT, SMALL.latent_channels, dim=32, ffn_dim=64, num_heads=2,
                                                 num_layers=1), TEXT, autoencoder=SMALL)
    assert not any(p.requires_grad for p in model.autoencoder.parameters())
    model.autoencoder.set_statistics(torch.randn(8, 4, 16, 16) * 2 + 1)
    model.save_pretrained(tmp_path)
    loaded = SpritesVideoModel.from_pretrained(tmp_path)
    assert AutoencoderConfig.from_dict(json.loads((tmp_path / "sprites_model.json").read_text())["codec_config"]) == SMALL
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        if name.startswith("autoencoder."):  # kept float32, unlike the transformer's float16
            assert torch.equal(a, b), name
    generator = build_generator(loaded)
    assert generator.codec.latent_channels == 4
    result = StreamSearch(generator, build_config("none").search, method="none").run(
        "a red circle moves left over a blue background", 6, seed=0, progress=False)
    assert result.frames.shape == (6, 3, 64, 64) and result.latents.shape[:2] == (4, 6)
    with pytest.raises(ValueError, match="latent channels"):
        SpritesVideoModel(sprites_wan_config(TEXT, dim=32, ffn_dim=64, num_heads=2, num_layers=1), TEXT,
                          autoencoder=SMALL)


def test_video_training_on_a_learned_codec_keeps_it_frozen_and_continues_with_it(tmp_path):
    ae = SpritesAutoencoder(SMALL)
    ae.set_statistics(torch.randn(8, 4, 16, 16))
    from streamt1.sprites.train_codec import save_codec

    save_codec(ae, tmp_path / "codec", {})
    tiny = TrainVideoConfig(steps=2, batch_size=2, workers=0, log_every=1, save_every=1, max_video_frames=48,
                            wan_overrides=dict(dim=32, ffn_dim=64, num_heads=2, num_layers=1), text=TEXT,
                            codec=str(tmp_path / "codec"))
    train(tiny, tmp_path / "model")
    trained = SpritesVideoModel.from_pretrained(tmp_path / "model")
    for a, b in zip(trained.autoencoder.state_dict().values(), ae.state_dict().values()):
        assert torch.equal(a, b)
    # --init continues on the model's own codec; giving another codec with it is refused
    train(dataclasses.replace(tiny, codec=None, init=str(tmp_path / "model")), tmp_path / "more")
    assert SpritesVideoModel.from_pretrained(tmp_path / "more").transformer.config.in_dim == 4
    with pytest.raises(ValueError, match="own codec"):
        train(dataclasses.replace(tiny, init=str(tmp_path / "model")), tmp_path / "bad")
    # a PixelUnshuffle model cannot continue on a learned codec
    train(dataclasses.replace(tiny, codec=None), tmp_path / "pixels")
    with pytest.raises(ValueError, match="PixelUnshuffle latents"):
        train(dataclasses.replace(tiny, init=str(tmp_path / "pixels")), tmp_path / "bad")
