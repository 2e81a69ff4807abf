"""Loaders of the built-in Sprites rewards (``sprites-image``, ``sprites-video``, ``sprites-track-image``,
``sprites-track-video``) for the registry."""

from __future__ import annotations

from pathlib import Path

import torch

from streamt1.rewards.placement import Sliced
from streamt1.sprites.rewards import SpritesImageReward, SpritesVideoReward
from streamt1.sprites.track_reward import SpritesTrackImageReward, SpritesTrackVideoReward, load_perception


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


def load_track_image(folder: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                     max_batch: int = 64) -> Sliced:
    """``track_reward.safetensors`` + ``.json`` from ``folder``: the track reward's frame score."""
    return Sliced(SpritesTrackImageReward(load_perception(folder, device).to(dtype=dtype)), max_batch)


def load_track_video(folder: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                     max_batch: int = 64) -> Sliced:
    """``track_reward.safetensors`` + ``.json`` from ``folder``: the track reward's clip score."""
    return Sliced(SpritesTrackVideoReward(load_perception(folder, device).to(dtype=dtype)), max_batch)
