"""MUSIQ's multi-scale patches, weight-standardised stem and VBench's imaging-quality preprocessing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from streamt1.metrics import musiq, vbench

from tiny_vbench import random_video, tiny_weights  # noqa: F401  (session fixture)


def test_hashed_positions_spread_patches_over_the_10x10_grid():
    assert musiq.hashed_positions(5, 5).view(5, 5)[0].tolist() == [0, 2, 4, 6, 8]
    assert musiq.hashed_positions(5, 5).view(5, 5)[:, 0].tolist() == [0, 20, 40, 60, 80]
    assert musiq.hashed_positions(2, 13).tolist()[:13] == [0, 0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]


def test_multiscale_patches_of_a_vbench_frame():
    image = torch.rand(1, 3, 295, 512) * 2 - 1  # a 480x832 frame after VBench's 'longer' resize
    tokens = musiq.multiscale_patches(image)
    assert tokens.shape == (1, 49 + 144 + 160, 3 * 32 * 32 + 3)
    scale, mask = tokens[0, :, -2], tokens[0, :, -1]
    expected_scale = torch.tensor([0.0] * 49 + [1.0] * 144 + [2.0] * 160)
    assert torch.equal(scale[mask == 1], expected_scale[mask == 1])
    assert not tokens[0, mask == 0].any()  # padding is all zeros: position 0, scale 0, mask 0
    # 224 scale: 129 x 224 -> 5 x 7 real patches; 384 scale: 221 x 384 -> 7 x 12; original 10 x 16
    assert mask[:49].sum() == 35 and mask[49:193].sum() == 84 and mask[193:].sum() == 160
    padded = F.pad(image, (0, 0, 12, 13))  # SAME padding: 10 * 32 - 295 = 25 rows, 12 on top
    torch.testing.assert_close(tokens[0, 193, :-3], padded[0, :, :32, :32].reshape(-1))
    torch.testing.assert_close(tokens[0, 194, :-3], padded[0, :, :32, 32:64].reshape(-1))


def test_std_conv_standardises_weights_with_the_unbiased_std():
    conv = musiq.StdConv(3, 4, 7, 2, bias=False)
    x = torch.randn(2, 3, 32, 32)
    w = conv.weight
    flat = w.reshape(4, -1)
    standard = (w - flat.mean(1)[:, None, None, None]) / (flat.std(1, unbiased=True)[:, None, None, None] + 1e-5)
    expected = F.conv2d(F.pad(x, (2, 3, 2, 3)), standard, stride=2)  # SAME for 7 / 2 on 32: 5 pixels
    torch.testing.assert_close(conv(x), expected)


def test_imaging_transform_follows_vbench_longer_mode():
    video = torch.full((1, 3, 600, 1000), 51, dtype=torch.uint8)
    frames = musiq.imaging_transform(video)
    assert frames.shape[-2:] == (307, 512)  # int(512 / 1000 * 600) = 307
    torch.testing.assert_close(frames, torch.full_like(frames, 0.2))
    small = musiq.imaging_transform(torch.zeros(1, 3, 240, 320, dtype=torch.uint8))
    assert small.shape[-2:] == (240, 320)  # not above 512: kept


def test_released_layout_loads_and_imaging_quality_is_the_frame_mean_over_100(tiny_weights):
    model = musiq.load_musiq(tiny_weights.root / vbench.MUSIQ_FILE)
    video = random_video(2, 24, 24, seed=7)
    with torch.no_grad():
        per_frame = [float(model(video[i : i + 1].float() / 255)) for i in range(2)]
    assert per_frame[0] != pytest.approx(per_frame[1])  # the frames differ, so do their scores
    expected = sum(per_frame) / 2 / 100
    assert vbench.imaging_quality(video, model) == pytest.approx(expected, abs=1e-6)


def test_multi_output_musiq_is_refused(tmp_path, tiny_weights):
    sd = dict(tiny_weights.musiq_sd, **{"head.weight": torch.zeros(10, 64), "head.bias": torch.zeros(10)})
    torch.save(sd, tmp_path / "musiq_ava.pth")
    with pytest.raises(ValueError, match="single-output"):
        musiq.load_musiq(tmp_path / "musiq_ava.pth")


def test_skipping_padding_patches_in_the_stem_changes_nothing(tiny_weights):
    model = musiq.load_musiq(tiny_weights.root / vbench.MUSIQ_FILE)
    images = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        tokens = musiq.multiscale_patches((images - 0.5) * 2)  # pyiqa: the stem on every patch
        b, length, _ = tokens.shape
        stem = model.stem(tokens[..., :-3].reshape(-1, 3, 32, 32)).reshape(b, length, -1)
        encoded = model.transformer_encoder(model.embedding(stem), tokens[..., -3].long(),
                                            tokens[..., -2].long(), tokens[..., -1])
        torch.testing.assert_close(model(images), model.head(encoded[:, 0]).squeeze(-1))
