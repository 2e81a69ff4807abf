"""HPSv2.1 loaded from a tiny checkpoint in open_clip's layout, against a plain-op reference forward."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_fixtures import (
    CLIP_MEAN,
    CLIP_STD,
    EOT,
    SOT,
    clip_bpe,
    hps_arch,
    open_clip_layout,
    png_roundtrip,
    randomize,
    sample_frames,
    write_hpsv2,
)

from streamt1.config import ConfigError
from streamt1.interfaces import ImageReward
from streamt1.rewards import hpsv2
from streamt1.rewards.image_common import frames_to_uint8

PROMPTS = ["a red cat", "a blue dog on the mat", "sky", "a red cat"]
VOCAB = clip_bpe()[0]
ARCH = hps_arch(len(VOCAB))


@pytest.fixture(scope="session")
def hps_folder(tmp_path_factory):
    return write_hpsv2(tmp_path_factory.mktemp("rewards"))


@pytest.fixture(scope="session")
def hps(hps_folder):
    return hpsv2.load(hps_folder, max_batch=3, architecture=ARCH)


# ---- reference: open_clip's forward in plain torch ops on the saved state dict -------------------


def _layer_norm(x, sd, name):
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], 1e-5)


def _block(x, sd, p, heads, mask):
    h = _layer_norm(x, sd, p + "ln_1")
    q, k, v = F.linear(h, sd[p + "attn.in_proj_weight"], sd[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
    q, k, v = (t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in (q, k, v))  # [B, heads, L, d]
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask, dim=-1)
    h = (weights @ v).transpose(1, 2).flatten(2)
    x = x + F.linear(h, sd[p + "attn.out_proj.weight"], sd[p + "attn.out_proj.bias"])
    h = F.gelu(F.linear(_layer_norm(x, sd, p + "ln_2"), sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"]))
    return x + F.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])


def reference_scores(sd, pixels, tokens):
    x = F.conv2d(pixels, sd["visual.conv1.weight"], stride=ARCH.patch_size).flatten(2).transpose(1, 2)
    x = torch.cat([sd["visual.class_embedding"].expand(len(x), 1, -1), x], 1) + sd["visual.positional_embedding"]
    x = _layer_norm(x, sd, "visual.ln_pre")
    for i in range(ARCH.vision_layers):
        x = _block(x, sd, f"visual.transformer.resblocks.{i}.", ARCH.vision_heads, 0.0)
    image = _layer_norm(x[:, 0], sd, "visual.ln_post") @ sd["visual.proj"]

    length = tokens.shape[1]
    causal = torch.triu(torch.full((length, length), float("-inf")), 1)
    x = sd["token_embedding.weight"][tokens] + sd["positional_embedding"]
    for i in range(ARCH.text_layers):
        x = _block(x, sd, f"transformer.resblocks.{i}.", ARCH.text_heads, causal)
    x = _layer_norm(x, sd, "ln_final")
    text = x[torch.arange(len(x)), tokens.argmax(-1)] @ sd["text_projection"]
    return F.cosine_similarity(image, text, dim=-1)


def reference_pixels(images):
    """HPSv2 val transform on PIL images of 61 x 97: ToTensor, Resize(224) -> 224 x 356, crop left 66."""
    out = []
    for image in images:
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float()[None] / 255
        x = F.interpolate(x, size=(224, 356), mode="bicubic", align_corners=False, antialias=True)
        out.append(x[0, :, :, 66:290])
    mean, std = torch.tensor(CLIP_MEAN).view(3, 1, 1), torch.tensor(CLIP_STD).view(3, 1, 1)
    return (torch.stack(out) - mean) / std


def reference_tokens(prompts):
    rows = [[VOCAB[SOT], *(VOCAB[w + "</w>"] for w in p.split()), VOCAB[EOT]] for p in prompts]
    return torch.tensor([row + [0] * (77 - len(row)) for row in rows])


# ---- tests ---------------------------------------------------------------------------------------


def test_scores_equal_the_open_clip_reference_forward(hps, hps_folder, tmp_path):
    frames = sample_frames()
    sd = torch.load(hps_folder / hpsv2.CHECKPOINT, weights_only=True)["state_dict"]
    pixels = reference_pixels(png_roundtrip(frames_to_uint8(frames, PROMPTS), tmp_path))
    expected = reference_scores(sd, pixels, reference_tokens(PROMPTS))
    scores = hps(frames, PROMPTS)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)
    assert scores.dtype == torch.float32 and scores.shape == (4,)
    assert (scores[0] - scores[3]).abs() > 1e-3  # same prompt, different image
    assert (scores[0] - hps(frames[:1], ["sky"])).abs() > 1e-3  # same image, different prompt
    assert isinstance(hps, ImageReward) and hps.device == torch.device("cpu")
    assert sum(p.numel() for p in hps.module.parameters()) == sum(t.numel() for t in sd.values())


def test_preprocessing_equals_the_val_transform_on_the_png(hps, tmp_path):
    frames = sample_frames(seed=1, count=2)
    uint8 = frames_to_uint8(frames, ["", ""])
    expected = reference_pixels(png_roundtrip(uint8, tmp_path))
    assert torch.equal(hps.pixel_values(uint8), expected)


def test_frames_at_the_model_size_are_only_cropped(hps):
    uint8 = frames_to_uint8(sample_frames(seed=2, count=1, height=224, width=229), [""])
    # no resize at 224; crop left round(2.5) = 2
    cropped = uint8[..., :, 2:226].float() / 255
    expected = (cropped - torch.tensor(CLIP_MEAN).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)
    assert torch.equal(hps.pixel_values(uint8), expected)


def test_tokenizer_follows_open_clip(hps):
    tokens = hps.tokenize(["a red cat", "Cat &amp;amp; dog", "red " * 100])
    assert torch.equal(tokens[0], reference_tokens(["a red cat"])[0])
    amp = [VOCAB["&</w>"]]
    assert tokens[1, :5].tolist() == [VOCAB[SOT], VOCAB["cat</w>"], *amp, VOCAB["dog</w>"], VOCAB[EOT]]
    assert tokens[2].tolist() == [VOCAB[SOT]] + [VOCAB["red</w>"]] * 75 + [VOCAB[EOT]]  # truncated to 77


def test_batching_equals_one_by_one_and_uint8_equals_float(hps):
    frames = sample_frames(seed=3, count=5)
    prompts = ["a red cat", "sky", "a blue dog on the mat", "moves left", "a sprite"]
    batched = hps(frames, prompts)
    single = torch.cat([hps(frames[i : i + 1], prompts[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(batched, single, atol=1e-6, rtol=0)
    assert torch.equal(hps(frames_to_uint8(frames, prompts), prompts), batched)


def test_a_checkpoint_of_another_size_lists_mis_shaped_and_missing_keys(hps_folder):
    with pytest.raises(ConfigError) as err:
        hpsv2.load(hps_folder)  # the ViT-H-14 default against the tiny file
    message = str(err.value)
    assert "missing" in message and "mis-shaped" in message
    assert f"token_embedding.weight: file ({len(VOCAB)}, {ARCH.text_width}) vs model (49408, 1024)" in message


def test_unexpected_keys_are_listed(hps_folder, tmp_path):
    folder = shutil.copytree(hps_folder, tmp_path / "HPSv2")
    state = randomize(open_clip_layout(ARCH), seed=5)
    state["visual.attn_pool.query"] = torch.zeros(4)
    torch.save({"state_dict": state}, folder / hpsv2.CHECKPOINT)
    with pytest.raises(ConfigError, match=r"1 unexpected \(visual.attn_pool.query\)"):
        hpsv2.load(folder, architecture=ARCH)


def test_bfloat16_scores_stay_close(hps_folder):
    frames = sample_frames(seed=4, count=2)
    full = hpsv2.load(hps_folder, architecture=ARCH)(frames, PROMPTS[:2])
    half = hpsv2.load(hps_folder, dtype=torch.bfloat16, architecture=ARCH)(frames, PROMPTS[:2])
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, full, atol=0.05, rtol=0)
