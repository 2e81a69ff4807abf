"""Frame conversion and torchvision geometry shared by the CLIP-family rewards."""

from __future__ import annotations

import pytest
import torch

from streamt1.rewards.image_common import (
    center_crop_box,
    frames_to_uint8,
    score_in_batches,
    shorter_side_size,
)


def test_float_frames_round_to_the_pixels_written_to_png():
    frames = torch.tensor([0.0, 1.0, 1.5, -0.2, 0.1, 0.9]).view(1, 3, 1, 2)
    expected = torch.tensor([0, 255, 255, 0, 26, 230], dtype=torch.uint8).view(1, 3, 1, 2)  # round(x * 255)
    assert torch.equal(frames_to_uint8(frames, ["p"]), expected)
    assert torch.equal(frames_to_uint8(expected, ["p"]), expected)  # uint8 passes unchanged


@pytest.mark.parametrize(
    "frames, prompts, fragment",
    [
        (torch.zeros(2, 3, 4), ["a", "b"], "[N, 3, H, W]"),
        (torch.zeros(1, 4, 4, 4), ["a"], "[N, 3, H, W]"),
        (torch.zeros(2, 3, 4, 4), ["a"], "one prompt per frame"),
        (torch.zeros(1, 3, 4, 4, dtype=torch.int32), ["a"], "uint8 or float"),
        (torch.full((1, 3, 4, 4), float("nan")), ["a"], "NaN"),
    ],
)
def test_bad_frames_are_rejected(frames, prompts, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        frames_to_uint8(frames, prompts)


def test_resize_and_crop_geometry_is_torchvisions():
    assert shorter_side_size(61, 97, 224) == (224, 356)  # long side int(224 * 97 / 61) = 356 (356.2)
    assert shorter_side_size(97, 61, 224) == (356, 224)
    assert shorter_side_size(480, 832, 224) == (224, 388)  # 388.27 truncated
    assert shorter_side_size(224, 300, 224) == (224, 300)
    assert center_crop_box(224, 356, 224) == (0, 66)
    assert center_crop_box(224, 229, 224) == (0, 2)  # round(2.5) = 2: half to even
    assert center_crop_box(231, 224, 224) == (4, 0)  # round(3.5) = 4


def test_batches_never_exceed_max_batch_and_keep_order():
    seen = []

    def score(frames, prompts):
        seen.append(len(prompts))
        return frames.float().mean(dim=(1, 2, 3))

    frames = torch.arange(7, dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 3, 2, 2)
    scores = score_in_batches(frames, [str(i) for i in range(7)], 3, score)
    assert seen == [3, 3, 1]
    assert torch.equal(scores, torch.arange(7, dtype=torch.float32))
