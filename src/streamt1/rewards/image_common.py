"""What the CLIP-family image rewards (PickScore, HPSv2, ImageReward) share.

* Frames in: ``[N, 3, H, W]`` uint8, or float in [0, 1] turned into uint8 by
  :func:`streamt1.interfaces.to_uint8` (the rule the project uses when it writes frames to PNG / video),
  so a float frame scores exactly like the lossless PNG of the frame the user gets to see.
* PIL geometry as torchvision computes it (``Resize(int)`` keeps the aspect ratio and truncates the
  long side; ``CenterCrop`` rounds the offsets half to even), so the in-memory path equals the
  authors' ``Image.open(png)`` path pixel for pixel.
* Files: checked against the reward's registry entry (:mod:`streamt1.rewards`) before loading; a
  checkpoint that does not fit raises :class:`~streamt1.config.ConfigError` listing missing /
  unexpected / mis-shaped keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from transformers.initialization import no_init_weights  # skip the random init of loaded weights (5.x)

from streamt1.config import ConfigError
from streamt1.interfaces import to_uint8
from streamt1.models.checkpoints import CheckpointError, load_checked
from streamt1.rewards import check_max_batch

# OpenAI CLIP normalisation, used by all three rewards.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def load_reward_weights(module: nn.Module, state_dict: Mapping[str, Tensor], source: Path) -> None:
    """:func:`~streamt1.models.checkpoints.load_checked`, its error a ConfigError that asks whether the
    file is this reward's."""
    try:
        load_checked(module, state_dict, source)
    except CheckpointError as err:
        raise ConfigError(f"{err}; is this the right file for this reward?") from err


def frames_to_uint8(frames: Tensor, prompts: Sequence[str]) -> Tensor:
    """Validate ``[N, 3, H, W]`` frames and one prompt per frame; return them as uint8 on the CPU."""
    if frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be [N, 3, H, W], got {list(frames.shape)}")
    if len(prompts) != frames.shape[0]:
        raise ValueError(f"got {frames.shape[0]} frames but {len(prompts)} prompts; give one prompt per frame")
    if frames.is_floating_point() and torch.isnan(frames).any():
        raise ValueError("frames contain NaN")
    return to_uint8(frames).cpu()


def to_pil(frame: Tensor) -> Image.Image:
    """``[3, H, W]`` uint8 -> RGB PIL image (what ``Image.open`` gives for the lossless PNG)."""
    return Image.fromarray(frame.permute(1, 2, 0).numpy(), mode="RGB")


def pil_to_tensor(image: Image.Image) -> Tensor:
    """torchvision ``ToTensor``: ``[3, H, W]`` float32 in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255


def shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)`` output ``(h, w)``: shorter side -> size, longer side truncated."""
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def center_crop_box(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``CenterCrop(size)`` offsets ``(top, left)`` (Python round: half to even)."""
    return int(round((height - size) / 2.0)), int(round((width - size) / 2.0))


def normalize(pixels: Tensor, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> Tensor:
    """``[..., 3, H, W]`` -> ``(x - mean) / std`` per channel."""
    mean_t = torch.tensor(mean, dtype=pixels.dtype).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=pixels.dtype).view(3, 1, 1)
    return (pixels - mean_t) / std_t


def score_in_batches(
    frames: Tensor, prompts: Sequence[str], max_batch: int, score: Callable[[Tensor, list[str]], Tensor]
) -> Tensor:
    """``score`` over slices of at most ``max_batch`` frames; float32 scores ``[N]`` on the CPU."""
    uint8 = frames_to_uint8(frames, prompts)
    chunks = [
        score(uint8[start : start + max_batch], list(prompts[start : start + max_batch])).float().cpu()
        for start in range(0, uint8.shape[0], max_batch)
    ]
    return torch.cat(chunks) if chunks else torch.zeros(0)


class BatchedImageReward:
    """The :class:`~streamt1.interfaces.ImageReward` adapter the CLIP-family rewards share: frames are
    validated and turned into uint8 once, then ``_score(uint8 frames, prompts)`` runs on slices of at
    most ``max_batch``; ``module`` holds every weight."""

    def __init__(self, module: nn.Module, max_batch: int) -> None:
        check_max_batch(max_batch)
        self.module = module.eval()
        self.max_batch = max_batch

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def __call__(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        return score_in_batches(frames, prompts, self.max_batch, self._score)

    def _score(self, frames: Tensor, prompts: list[str]) -> Tensor:
        raise NotImplementedError
