"""Shared Qwen2-VL reward pieces: pixel rules, patch layout, key remapping, file messages."""

import pytest
import torch

from streamt1.config import ConfigError
from streamt1.rewards import qwen2vl as q

from qwen_fixtures import PREPROCESSOR, reference_image_processor, reference_smart_resize, to_legacy

SPEC = q.VisionSpec(mean=tuple(PREPROCESSOR["image_mean"]), std=tuple(PREPROCESSOR["image_std"]), rescale=1 / 255,
                    patch_size=14, merge_size=2, temporal_patch_size=2)


def test_smart_resize_gives_the_papers_sizes_and_agrees_with_transformers():
    assert q.smart_resize(480, 832, 28, 200704, 200704) == (336, 588)  # HPSv3 budget
    assert q.smart_resize(480, 832, 28, q.VIDEO_MIN_PIXELS, 200704) == (336, 588)  # VideoAlign
    for height, width in [(60, 104), (480, 832), (720, 1280), (333, 517), (1024, 1024), (28, 600)]:
        for low, high in [(200704, 200704), (q.VIDEO_MIN_PIXELS, 200704), (3136, 12845056)]:
            assert q.smart_resize(height, width, 28, low, high) == reference_smart_resize(height, width, 28, low, high)
    with pytest.raises(ConfigError, match="aspect ratio"):
        q.smart_resize(10, 2100, 28, 3136, 200704)


def test_frame_sampling_follows_the_authors_rounding():
    # smart_nframes + linspace().round() of vision_process.py (counts measured with the authors' code)
    for total, expected in [(81, 10), (33, 4), (57, 8), (9, 4), (3, 2), (2, 2)]:
        assert q.frames_per_clip(total, 16.0, 2.0) == expected
    assert q.sample_frame_indices(81, 10).tolist() == [0, 9, 18, 27, 36, 44, 53, 62, 71, 80]
    assert q.frames_per_clip(81, 16.0, None, nframes=7) == 8  # a fixed count is rounded to pairs too
    with pytest.raises(ConfigError, match="at least 2 frames"):
        q.frames_per_clip(1, 16.0, 2.0)


def test_image_patches_equal_the_processor_bit_for_bit():
    processor = reference_image_processor()
    image = torch.randint(0, 256, (3, 336, 588), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    expected = processor(images=[image.permute(1, 2, 0).numpy()], return_tensors="pt")
    pixels, grid = q.patchify(image[None], SPEC)
    assert grid.tolist() == expected["image_grid_thw"][0].tolist() == [1, 24, 42]
    assert pixels.shape == (1008, 1176)  # 252 merged tokens x 4, 3 * 2 * 14 * 14
    assert torch.equal(pixels, expected["pixel_values"])


def test_video_patches_follow_the_vit_layout():
    frames = torch.randint(0, 256, (4, 3, 56, 84), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    pixels, grid = q.patchify(frames, SPEC)
    assert grid.tolist() == [2, 4, 6]
    mean, std = torch.tensor(SPEC.mean).view(3, 1, 1), torch.tensor(SPEC.std).view(3, 1, 1)
    norm = ((frames.double() / 255).float() - mean) / std
    row = 0
    for t in range(2):  # time, merge-block row, merge-block column, row / column inside the 2x2 block
        for bh in range(2):
            for bw in range(3):
                for mh in range(2):
                    for mw in range(2):
                        y, x = (2 * bh + mh) * 14, (2 * bw + mw) * 14
                        patch = norm[2 * t: 2 * t + 2, :, y: y + 14, x: x + 14].permute(1, 0, 2, 3)  # (C, tp, py, px)
                        assert torch.allclose(pixels[row], patch.reshape(-1), atol=1e-6), row
                        row += 1
    assert row == pixels.shape[0]


def test_legacy_keys_map_onto_the_installed_layout():
    legacy = {"model.layers.0.mlp.up_proj.weight": 1, "model.embed_tokens.weight": 2, "model.norm.weight": 3,
              "visual.blocks.0.attn.qkv.weight": 4, "visual.merger.mlp.0.bias": 5, "rm_head.0.weight": 6,
              "lm_head.weight": 7, "model.visual.patch_embed.proj.weight": 9}  # the last: already composite
    mapped = q.remap_to_installed(legacy)
    assert mapped == {"model.language_model.layers.0.mlp.up_proj.weight": 1,
                      "model.language_model.embed_tokens.weight": 2, "model.language_model.norm.weight": 3,
                      "model.visual.blocks.0.attn.qkv.weight": 4, "model.visual.merger.mlp.0.bias": 5,
                      "rm_head.0.weight": 6, "lm_head.weight": 7, "model.visual.patch_embed.proj.weight": 9}
    assert all(q.remap_to_installed({to_legacy(k): 0}) == {k: 0} for k in mapped)  # the fixtures' inverse
    with pytest.raises(ConfigError, match="model.language_model.norm.weight twice"):
        q.remap_to_installed({"model.norm.weight": 1, "model.language_model.norm.weight": 2})


def test_prompt_templates_are_the_authors_verbatim():
    # sha256 of the strings in MizzenAI/HPSv3 hpsv3/dataset/data_collator_qwen.py (77e8fa3) and
    # KwaiVGI/VideoAlign prompt_template.py (219ab9d): any whitespace edit changes the tokens the heads read
    import hashlib

    from streamt1.rewards import hpsv3, videoalign

    digest = {name: hashlib.sha256(text.encode()).hexdigest()[:16] for name, text in [
        ("instruction", hpsv3.INSTRUCTION), ("suffix", hpsv3.PROMPT_WITH_SPECIAL_TOKEN),
        ("videoalign", videoalign.DETAILED_PROMPT_WITH_SPECIAL_TOKEN)]}
    assert digest == {"instruction": "0393599dad45a971", "suffix": "2471faca094ae5bd", "videoalign": "fdb6309bac618dd0"}
    assert "**Visual Quality:**  \n" in hpsv3.INSTRUCTION and hpsv3.INSTRUCTION.endswith("{text_prompt}\n\n\n")
