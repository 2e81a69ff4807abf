"""PickScore loaded from a tiny CLIPModel folder, against the authors' README computation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from clip_fixtures import (
    CLIP_MEAN,
    CLIP_STD,
    assert_missing_file_message,
    png_roundtrip,
    sample_frames,
    write_pickscore,
)
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

from streamt1.config import ConfigError
from streamt1.interfaces import ImageReward
from streamt1.rewards import pickscore
from streamt1.rewards.image_common import frames_to_uint8

PROMPTS = ["a red cat", "a blue dog on the mat", "sky", "a red cat"]


@pytest.fixture(scope="session")
def pick_folder(tmp_path_factory):
    return write_pickscore(tmp_path_factory.mktemp("rewards"))


@pytest.fixture(scope="session")
def pick(pick_folder):
    return pickscore.load(pick_folder, max_batch=3)


def readme_scores(folder, images, prompts):
    """The PickScore README: from_pretrained model + processor, normalised embeddings, logit_scale.exp() * cos."""
    model = CLIPModel.from_pretrained(folder).eval()
    image_processor = CLIPImageProcessorPil.from_pretrained(folder / "processor")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "processor")
    with torch.no_grad():
        image = model.get_image_features(**image_processor(images=images, return_tensors="pt")).pooler_output
        text = tokenizer(prompts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        text = model.get_text_features(**text).pooler_output
    image, text = image / image.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
    return model.logit_scale.exp() * (text * image).sum(-1)


def test_scores_equal_the_readme_computation(pick, pick_folder, tmp_path):
    frames = sample_frames()
    images = png_roundtrip(frames_to_uint8(frames, PROMPTS), tmp_path)
    scores = pick(frames, PROMPTS)
    torch.testing.assert_close(scores, readme_scores(pick_folder, images, PROMPTS), atol=1e-5, rtol=1e-5)
    assert scores.shape == (4,) and scores.dtype == torch.float32
    assert (scores[0] - scores[3]).abs() > 1e-3  # same prompt, different image
    assert (scores[0] - pick(frames[:1], ["sky"])).abs() > 1e-3  # same image, different prompt
    assert isinstance(pick, ImageReward) and pick.device == torch.device("cpu")


def test_preprocessing_is_the_pil_clip_processor_on_the_png(pick, tmp_path):
    uint8 = frames_to_uint8(sample_frames(seed=1, count=2), ["", ""])
    images = png_roundtrip(uint8, tmp_path)
    pixels = pick.pixel_values(uint8)
    assert torch.equal(pixels, pick.image_processor(images=images, return_tensors="pt")["pixel_values"])
    # the geometry by hand: shortest edge 61 -> 224 (224 x 356), crop left (356 - 224) // 2 = 66
    cropped = [np.asarray(im.resize((356, 224), Image.BICUBIC).crop((66, 0, 290, 224))) for im in images]
    by_hand = torch.from_numpy(np.stack(cropped)).permute(0, 3, 1, 2).float() / 255
    by_hand = (by_hand - torch.tensor(CLIP_MEAN).view(3, 1, 1)) / torch.tensor(CLIP_STD).view(3, 1, 1)
    torch.testing.assert_close(pixels, by_hand, atol=1e-6, rtol=0)


def test_batching_equals_one_by_one_and_uint8_equals_float(pick):
    frames = sample_frames(seed=3, count=5)
    prompts = ["a red cat", "sky", "a blue dog on the mat", "moves left", "a sprite"]
    batched = pick(frames, prompts)
    single = torch.cat([pick(frames[i : i + 1], prompts[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)
    assert torch.equal(pick(frames_to_uint8(frames, prompts), prompts), batched)


def test_pytorch_model_bin_loads_like_safetensors(pick, pick_folder, tmp_path):
    folder = shutil.copytree(pick_folder, tmp_path / "PickScore")
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    frames = sample_frames(seed=4, count=2)
    assert torch.equal(pickscore.load(folder)(frames, PROMPTS[:2]), pick(frames, PROMPTS[:2]))


@pytest.mark.parametrize(
    "missing, named",  # the registry's required files are tested for every reward in test_reward_registry
    [
        ("model.safetensors", "model.safetensors or pytorch_model.bin"),
        ("processor/vocab.json", "processor/tokenizer.json or processor/vocab.json"),
        ("processor/merges.txt", "processor/merges.txt"),
    ],
)
def test_missing_weight_or_tokenizer_files_are_named_with_their_alternatives(pick_folder, tmp_path, missing, named):
    folder = shutil.copytree(pick_folder, tmp_path / "PickScore")
    (folder / missing).unlink()
    with pytest.raises(FileNotFoundError) as err:
        pickscore.load(folder)
    assert_missing_file_message(err.value, named, pickscore.ENTRY, folder)


def test_a_checkpoint_that_does_not_fit_the_config_lists_the_keys(pick_folder, tmp_path):
    folder = shutil.copytree(pick_folder, tmp_path / "PickScore")
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"]["num_hidden_layers"] = 3
    config["text_config"]["intermediate_size"] = 48
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as err:
        pickscore.load(folder)
    message = str(err.value)
    assert "missing (vision_model.encoder.layers.2." in message
    assert "text_model.encoder.layers.0.mlp.fc1.bias: file (64,) vs model (48,)" in message


def test_unexpected_keys_are_listed(pick_folder, tmp_path):
    folder = shutil.copytree(pick_folder, tmp_path / "PickScore")
    state = load_file(folder / "model.safetensors")
    state["vision_model.head.weight"] = torch.zeros(2, 2)
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ConfigError, match=r"1 unexpected \(vision_model.head.weight\)"):
        pickscore.load(folder)
