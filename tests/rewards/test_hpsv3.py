"""HPSv3 from its released layout: scores of the built model through the authors' file path."""

import inspect
import shutil

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from streamt1.config import ConfigError
from streamt1.interfaces import ImageReward
from streamt1.rewards import hpsv3

from clip_fixtures import png_roundtrip
from qwen_fixtures import (QWEN2VL_CHAT_TEMPLATE, authors_hidden_states, reference_image_processor,
                           reference_smart_resize)

PROMPTS = ["a red ball bounces on a blue floor", "a cat", "a blue floor under a red ball, wide shot, film grain"]


def _frames(n=3, height=90, width=150, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, height, width), dtype=torch.uint8, generator=gen)


def authors_inputs(release, frames, prompts, tmp_path):
    """hpsv3/inference.py on PNG files: fetch_image (open, RGB, smart_resize, PIL bicubic), chat template,
    the stock processor (pixels by transformers' PIL image processor, pads expanded, right padding)."""
    images = []
    for image in png_roundtrip(frames, tmp_path):
        height, width = reference_smart_resize(image.height, image.width, 28, hpsv3.PIXELS, hpsv3.PIXELS)
        images.append(image.resize((width, height), Image.BICUBIC))
    vision = reference_image_processor()(images=images, return_tensors="pt")
    messages = [[{"role": "user", "content": [
        {"type": "image", "image": str(tmp_path / f"frame{i}.png"), "min_pixels": hpsv3.PIXELS, "max_pixels": hpsv3.PIXELS},
        {"type": "text", "text": hpsv3.INSTRUCTION.format(text_prompt=p) + hpsv3.PROMPT_WITH_SPECIAL_TOKEN}]}]
        for i, p in enumerate(prompts)]
    tok = release.tokenizer
    texts = tok.apply_chat_template(messages, chat_template=QWEN2VL_CHAT_TEMPLATE, tokenize=False,
                                    add_generation_prompt=True)
    texts = [t.replace("<|image_pad|>", "<|placeholder|>" * (int(g.prod()) // 4), 1)
             .replace("<|placeholder|>", "<|image_pad|>") for t, g in zip(texts, vision["image_grid_thw"])]
    tok.padding_side = "right"
    text = tok(texts, padding=True, return_tensors="pt")
    return text["input_ids"], text["attention_mask"], vision["pixel_values"], vision["image_grid_thw"]


def authors_mu(release, ids, mask, pixels, grid, positions="sequential"):
    model, image_id = release.model, release.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    with torch.no_grad():
        if positions == "sequential":
            hidden = authors_hidden_states(model, ids, mask, pixels, grid, image_id)
        else:  # the installed composite forward: 3-D M-RoPE from get_rope_index
            extra = {"mm_token_type_ids": (ids == image_id).int()}  # required by 5.x, unknown to 4.57
            if "mm_token_type_ids" not in inspect.signature(model.model.forward).parameters:
                extra = {}
            hidden = model.model(input_ids=ids, attention_mask=mask, pixel_values=pixels, image_grid_thw=grid,
                                 **extra).last_hidden_state
        logits = model.rm_head(hidden)  # [B, L, 2]
    at_reward = ids == release.tokenizer.convert_tokens_to_ids(hpsv3.REWARD_TOKEN)
    return logits[at_reward][:, 0]


def test_scores_equal_the_built_model_on_the_authors_png_path(hpsv3_release, hpsv3_reward, tmp_path):
    frames = _frames()
    ids, mask, pixels, grid = authors_inputs(hpsv3_release, frames, PROMPTS, tmp_path)
    batch = hpsv3_reward.preprocess(frames, PROMPTS)
    assert torch.equal(batch.input_ids, ids) and torch.equal(batch.attention_mask, mask)
    assert torch.equal(batch.pixel_values, pixels) and torch.equal(batch.grid_thw, grid)
    expected = authors_mu(hpsv3_release, ids, mask, pixels, grid)
    scores = hpsv3_reward(frames, PROMPTS)
    assert isinstance(hpsv3_reward, ImageReward) and scores.shape == (3,) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, expected, rtol=1e-4, atol=1e-4)
    # weights scaled up: pixels, prompts and positions all move the score far beyond the tolerance
    assert (scores[:, None] - scores[None]).abs().max() > 0.1
    assert (hpsv3_reward(frames, PROMPTS[::-1]) - scores).abs().max() > 0.1
    mrope = authors_mu(hpsv3_release, ids, mask, pixels, grid, positions="mrope")
    assert (mrope - scores).abs().max() > 0.05


def test_batches_score_like_single_frames(hpsv3_reward):
    frames = _frames(seed=1)
    batched = hpsv3_reward(frames, PROMPTS)  # max_batch=2: a padded pair, then one
    singles = torch.cat([hpsv3_reward(frames[i:i + 1], PROMPTS[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, singles, rtol=1e-5, atol=1e-5)


def test_float_frames_score_as_their_rounded_uint8(hpsv3_reward):
    frames = _frames(n=1, seed=2)
    as_float = (frames.float() + torch.rand(frames.shape) - 0.5).clamp(0, 255) / 255  # off-grid values
    rounded = (as_float * 255).round().to(torch.uint8)
    assert torch.equal(hpsv3_reward.preprocess(as_float, PROMPTS[:1]).pixel_values,
                       hpsv3_reward.preprocess(rounded, PROMPTS[:1]).pixel_values)


def test_a_480x832_frame_becomes_336x588_and_252_tokens(hpsv3_reward):
    batch = hpsv3_reward.preprocess(torch.zeros(1, 3, 480, 832, dtype=torch.uint8), ["x"])
    assert batch.grid_thw.tolist() == [[1, 24, 42]] and batch.pixel_values.shape == (1008, 1176)
    assert int((batch.input_ids == hpsv3_reward.prompt.media_token_id).sum()) == 252


def test_module_holds_every_weight_and_the_head_stays_float32(hpsv3_release, hpsv3_reward):
    file_keys = set(load_file(str(hpsv3_release.path / hpsv3.CHECKPOINT))) - {"lm_head.weight"}
    assert len(hpsv3_reward.module.state_dict()) == len(file_keys)
    assert hpsv3_reward.device == torch.device("cpu")
    bf16 = hpsv3.load(hpsv3_release.path / hpsv3.CHECKPOINT, dtype=torch.bfloat16)  # the file's path works too
    assert {p.dtype for p in bf16.module.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in bf16.module.rm_head.parameters()} == {torch.float32}
    score = bf16(_frames(n=1, seed=3), PROMPTS[:1])  # runs on the CPU (the authors' CUDA-only autocast does not)
    assert torch.isfinite(score).all()


def _copy(release, tmp_path):
    return shutil.copytree(release.path, tmp_path / "hpsv3")


def test_wrong_keys_and_shapes_are_listed(hpsv3_release, tmp_path):
    folder = _copy(hpsv3_release, tmp_path)
    state = load_file(str(folder / hpsv3.CHECKPOINT))
    state["model.extra.weight"] = state.pop("model.norm.weight")
    state["rm_head.5.weight"] = torch.zeros(3, 16)
    save_file(state, str(folder / hpsv3.CHECKPOINT))
    with pytest.raises(ConfigError) as info:
        hpsv3.load(folder)
    message = str(info.value)
    assert "1 missing (model.language_model.norm.weight)" in message
    assert "1 unexpected (model.language_model.extra.weight)" in message
    assert "1 mis-shaped (rm_head.5.weight: file (3, 16) vs model (2, 16))" in message


def test_a_checkpoint_for_another_vocabulary_is_refused(hpsv3_release, tmp_path):
    folder = _copy(hpsv3_release, tmp_path)
    state = load_file(str(folder / hpsv3.CHECKPOINT))
    state["lm_head.weight"] = state["lm_head.weight"][:-1].contiguous()
    save_file(state, str(folder / hpsv3.CHECKPOINT))
    with pytest.raises(ConfigError, match="mis-shaped .lm_head.weight"):
        hpsv3.load(folder)


def test_bad_calls_are_explained(hpsv3_reward):
    with pytest.raises(ConfigError, match=r"\[N, 3, H, W\]"):
        hpsv3_reward(torch.zeros(3, 64, 64, dtype=torch.uint8), ["x"])
    with pytest.raises(ConfigError, match="one prompt per frame"):
        hpsv3_reward(_frames(n=2), ["x"])
    with pytest.raises(ConfigError, match="must not contain the special tokens"):
        hpsv3_reward(_frames(n=1), ["sneaky <|Reward|>"])
