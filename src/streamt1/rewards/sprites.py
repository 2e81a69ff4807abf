"""Loaders of the built-in Sprites rewards (``sprites-image``, ``sprites-video``) for the registry."""

from __future__ import annotations

from pathlib import Path

import torch

from streamt1.rewards.placement import Sliced
from streamt1.sprites.rewards import SpritesImageReward, SpritesVideoReward


def _load(cls: type[SpritesImageReward] | type[SpritesVideoReward], folder: str | Path, device: torch.device | str, dtype: torch.dtype,
          max_batch: int) -> Sliced:
    reward = cls.from_pretrained(folder, device=device)
    return Sliced(reward.to(dtype=dtype), max_batch)


def load_image(folder: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
               max_batch: int = 64) -> Sliced:
    """``image_reward.safetensors`` + ``.json`` from ``folder``."""
    return _load(SpritesImageReward, folder, device, dtype, max_batch)


def load_video(folder: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
               max_batch: int = 64) -> Sliced:
    """``video_reward.safetensors`` + ``.json`` from ``folder``."""
    return _load(SpritesVideoReward, folder, device, dtype, max_batch)
