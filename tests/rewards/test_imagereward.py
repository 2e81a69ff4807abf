"""ImageReward loaded from a tiny ``ImageReward.pt`` in the released layout, against a plain-op
reference of BLIP's ViT, med.py's cross-attention encoder and the MLP on the saved tensors."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clip_fixtures import (
    CLIP_MEAN,
    CLIP_STD,
    IR_VISION,
    MED_CONFIG,
    imagereward_layout,
    png_roundtrip,
    randomize,
    sample_frames,
    write_imagereward,
)
from PIL import Image
from transformers import BertTokenizer

from streamt1.config import ConfigError
from streamt1.interfaces import ImageReward
from streamt1.rewards import imagereward
from streamt1.rewards.image_common import frames_to_uint8

PROMPTS = ["a red cat", "a blue dog on the mat.", "sky", "a red cat"]


@pytest.fixture(scope="session")
def ir_folder(tmp_path_factory):
    return write_imagereward(tmp_path_factory.mktemp("rewards"))


@pytest.fixture(scope="session")
def ir(ir_folder):
    return imagereward.load(ir_folder, max_batch=3, vision=IR_VISION)


# ---- reference: the authors' forward in plain torch ops on the saved state dict -----------------


def _attention(q, k, v, heads, mask=0.0):
    q, k, v = (t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask, dim=-1)
    return (weights @ v).transpose(1, 2).flatten(2)


def _linear(x, sd, name):
    return F.linear(x, sd[f"{name}.weight"], sd[f"{name}.bias"])


def _norm(x, sd, name, eps):
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps)


def reference_image_embeds(sd, pixels):
    p = "blip.visual_encoder."
    x = F.conv2d(pixels, sd[p + "patch_embed.proj.weight"], sd[p + "patch_embed.proj.bias"], stride=16)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([sd[p + "cls_token"].expand(len(x), 1, -1), x], 1) + sd[p + "pos_embed"]
    for i in range(IR_VISION.depth):
        b = f"{p}blocks.{i}."
        q, k, v = _linear(_norm(x, sd, b + "norm1", 1e-6), sd, b + "attn.qkv").chunk(3, dim=-1)
        x = x + _linear(_attention(q, k, v, IR_VISION.heads), sd, b + "attn.proj")
        x = x + _linear(F.gelu(_linear(_norm(x, sd, b + "norm2", 1e-6), sd, b + "mlp.fc1")), sd, b + "mlp.fc2")
    return _norm(x, sd, p + "norm", 1e-6)


def _bert_attention(x, context, sd, p, mask):
    heads, eps = MED_CONFIG["num_attention_heads"], MED_CONFIG["layer_norm_eps"]
    q = _linear(x, sd, p + "self.query")
    k, v = _linear(context, sd, p + "self.key"), _linear(context, sd, p + "self.value")
    return _norm(_linear(_attention(q, k, v, heads, mask), sd, p + "output.dense") + x, sd, p + "output.LayerNorm", eps)


def reference_scores(sd, pixels, input_ids, attention_mask):
    image = reference_image_embeds(sd, pixels)
    p, eps = "blip.text_encoder.", MED_CONFIG["layer_norm_eps"]
    x = sd[p + "embeddings.word_embeddings.weight"][input_ids]
    x = _norm(x + sd[p + "embeddings.position_embeddings.weight"][: x.shape[1]], sd, p + "embeddings.LayerNorm", eps)
    mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
    for i in range(MED_CONFIG["num_hidden_layers"]):
        layer = f"{p}encoder.layer.{i}."
        x = _bert_attention(x, x, sd, layer + "attention.", mask)
        x = _bert_attention(x, image, sd, layer + "crossattention.", 0.0)  # K / V from the 48-wide image tokens
        h = F.gelu(_linear(x, sd, layer + "intermediate.dense"))
        x = _norm(_linear(h, sd, layer + "output.dense") + x, sd, layer + "output.LayerNorm", eps)
    reward = x[:, 0]
    for index in (0, 2, 4, 6, 7):  # no activations between the Linear layers
        reward = _linear(reward, sd, f"mlp.layers.{index}")
    return (reward[:, 0] - 0.16717362830052426) / 1.0333394966054072


def authors_tokenizer(folder):
    tokenizer = BertTokenizer.from_pretrained(folder / "bert-base-uncased")
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


def authors_pixels(images):
    """Resize(224, bicubic) of a 61 x 97 PIL image is 356 x 224 (w x h); CenterCrop(224) starts at x = 66."""
    out = []
    for image in images:
        image = image.resize((356, 224), Image.BICUBIC).crop((66, 0, 290, 224))
        out.append(torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255)
    mean, std = torch.tensor(CLIP_MEAN).view(3, 1, 1), torch.tensor(CLIP_STD).view(3, 1, 1)
    return (torch.stack(out) - mean) / std


# ---- tests ---------------------------------------------------------------------------------------


def test_scores_equal_the_reference_forward(ir, ir_folder, tmp_path):
    frames = sample_frames()
    sd = torch.load(ir_folder / imagereward.CHECKPOINT, weights_only=True)
    pixels = authors_pixels(png_roundtrip(frames_to_uint8(frames, PROMPTS), tmp_path))
    tokenizer = authors_tokenizer(ir_folder)
    text = tokenizer(PROMPTS, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    expected = reference_scores(sd, pixels, text["input_ids"], text["attention_mask"])
    scores = ir(frames, PROMPTS)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)
    assert scores.shape == (4,) and scores.dtype == torch.float32
    assert (scores[0] - scores[3]).abs() > 1e-3  # same prompt, different image
    assert (scores[0] - ir(frames[:1], ["sky"])).abs() > 1e-3  # same image, different prompt
    assert isinstance(ir, ImageReward) and ir.device == torch.device("cpu")


def test_preprocessing_equals_the_authors_pil_transform(ir, tmp_path):
    uint8 = frames_to_uint8(sample_frames(seed=1, count=2), ["", ""])
    assert torch.equal(ir.pixel_values(uint8), authors_pixels(png_roundtrip(uint8, tmp_path)))


def test_tokens_are_bert_uncased_padded_to_35_with_dec_and_enc_added(ir):
    text = ir.tokenize(["A red cats on the mat."])
    ids = ir.tokenizer.convert_ids_to_tokens(text["input_ids"][0].tolist())
    assert ids[:9] == ["[CLS]", "a", "red", "cat", "##s", "on", "the", "mat", "."] and ids[9] == "[SEP]"
    assert ids[10:] == ["[PAD]"] * 25 and text["attention_mask"][0].sum() == 10
    vocab_size = MED_CONFIG["vocab_size"]
    assert ir.tokenizer.convert_tokens_to_ids(["[DEC]", "[ENC]"]) == [vocab_size - 2, vocab_size - 1]
    assert ir.tokenize(["red " * 50])["input_ids"].shape == (1, 35)


def test_batching_equals_one_by_one_and_uint8_equals_float(ir):
    frames = sample_frames(seed=3, count=5)
    prompts = ["a red cat", "sky", "a blue dog on the mat", "moves left", "a sprite"]
    batched = ir(frames, prompts)
    single = torch.cat([ir(frames[i : i + 1], prompts[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)
    assert torch.equal(ir(frames_to_uint8(frames, prompts), prompts), batched)


def test_bfloat16_keeps_the_mlp_in_float32(ir_folder):
    frames = sample_frames(seed=4, count=2)
    full = imagereward.load(ir_folder, vision=IR_VISION)(frames, PROMPTS[:2])
    half = imagereward.load(ir_folder, dtype=torch.bfloat16, vision=IR_VISION)
    assert half.module.mlp.layers[0].weight.dtype == torch.float32
    assert half.module.blip.visual_encoder.cls_token.dtype == torch.bfloat16
    torch.testing.assert_close(half(frames, PROMPTS[:2]), full, atol=0.1, rtol=0)


def test_a_checkpoint_of_another_size_lists_mis_shaped_and_missing_keys(ir_folder):
    with pytest.raises(ConfigError) as err:
        imagereward.load(ir_folder)  # ViT-L/16 (24 blocks of 1024) against the tiny file
    message = str(err.value)
    assert "missing" in message and "mis-shaped" in message
    assert "blip.visual_encoder.blocks.0.attn.proj.bias: file (48,) vs model (1024,)" in message


def test_unexpected_keys_and_a_wrong_med_config_are_reported(ir_folder, tmp_path):
    folder = shutil.copytree(ir_folder, tmp_path / "ImageReward")
    state = randomize(imagereward_layout(IR_VISION, MED_CONFIG), seed=5)
    state["blip.text_encoder.pooler.dense.weight"] = torch.zeros(32, 32)  # a pooler the release does not have
    torch.save(state, folder / imagereward.CHECKPOINT)
    with pytest.raises(ConfigError, match=r"1 unexpected \(blip.text_encoder.pooler.dense.weight\)"):
        imagereward.load(folder, vision=IR_VISION)
    (folder / "med_config.json").write_text(json.dumps({**MED_CONFIG, "hidden_act": "relu"}))
    with pytest.raises(ConfigError, match="hidden_act"):
        imagereward.load(folder, vision=IR_VISION)
    (folder / "med_config.json").write_text(json.dumps({k: v for k, v in MED_CONFIG.items() if k != "hidden_size"}))
    with pytest.raises(ConfigError, match=r"missing \['hidden_size'\]"):
        imagereward.load(folder, vision=IR_VISION)
