"""The Wan2.1 video VAE as a streaming latent codec, on diffusers' ``AutoencoderKLWan``.

diffusers decodes a video one latent frame at a time, threading a list ``feat_cache`` (one entry
per causal 3-D conv of the decoder: ``None`` before the first frame, the string ``"Rep"`` for a
temporal upsampler that has seen only the first frame, else the conv's last input frames
``[N, C, <=2, H, W]``) and a counter ``feat_idx`` through ``decoder(...)``; ``_decode`` resets both
per call. We call the same ``decoder`` per frame with our own list, so a stream can stop after a
chunk and resume later, and the list is batched over candidates: selecting rows forks or prunes
streams without re-decoding. diffusers itself is not modified.

Latents are normalised per channel as in Wan (``(z - mean) / std``, statistics from the VAE
config's ``latents_mean`` / ``latents_std``). The first latent frame decodes to one frame, every
later one to ``scale_factor_temporal`` frames (a 3-frame chunk: 9 frames first, 12 after).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLWan
from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers
from torch import Tensor

from streamt1.models.checkpoints import CheckpointError, load_checked, read_checkpoint, require_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WanDecoderCache:
    """Causal-conv state of ``batch`` decoder streams (one per candidate / history)."""

    feats: tuple[Tensor | str | None, ...]  # per decoder causal conv, in diffusers' call order
    batch: int
    latent_frames: int  # latent frames decoded so far; 0 = the stream has not started


def _conv_state_rows(entry: Tensor | str | None, index: Tensor) -> Tensor | str | None:
    return entry.index_select(0, index.to(entry.device)) if isinstance(entry, Tensor) else entry


class WanVAECodec:
    """Streaming decode / encode of normalised Wan latents ``[N, C, F, h, w]`` (a :class:`LatentCodec`)."""

    def __init__(self, vae: AutoencoderKLWan) -> None:
        if vae.config.patch_size is not None:
            raise ValueError(
                f"patch_size={vae.config.patch_size}: only the Wan2.1 VAE (patch_size=None) is supported"
            )
        self.vae = vae.eval().requires_grad_(False)
        self._num_convs = vae._cached_conv_counts["decoder"]
        self._mean = torch.tensor(vae.config.latents_mean, dtype=torch.float32)  # [C]
        self._std = torch.tensor(vae.config.latents_std, dtype=torch.float32)  # [C]

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_wan_checkpoint(
        cls,
        path: str | Path,
        *,
        config: Mapping[str, Any] | None = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> WanVAECodec:
        """From Wan's ``Wan2.1_VAE.pth``, converted with diffusers' single-file key mapping.

        ``base_dim`` and ``z_dim`` are read from the tensor shapes; ``config`` overrides the
        other ``AutoencoderKLWan`` arguments (its defaults are the Wan2.1 VAE).
        """
        path = require_file(path, "Wan2.1_VAE.pth")
        state_dict = convert_wan_vae_to_diffusers(read_checkpoint(path))
        shaping = [k for k in ("encoder.conv_in.weight", "post_quant_conv.weight") if k not in state_dict]
        if shaping:  # another file in its place (a generator, the text encoder): say so, not KeyError
            raise CheckpointError(f"{path} is not a Wan2.1 VAE checkpoint: it lacks {', '.join(shaping)} (it holds "
                                  f"{len(state_dict)} tensors, e.g. {next(iter(state_dict), 'none')}); put "
                                  "Wan2.1_VAE.pth from Wan-AI/Wan2.1-T2V-1.3B there")
        kwargs = dict(config or {})
        kwargs.setdefault("base_dim", state_dict["encoder.conv_in.weight"].shape[0])
        kwargs.setdefault("z_dim", state_dict["post_quant_conv.weight"].shape[0])
        with torch.device("meta"):  # every tensor comes from the file: no random init
            vae = AutoencoderKLWan(**kwargs)
        state_dict = {k: v.to(device=device, dtype=dtype) for k, v in state_dict.items()}
        load_checked(vae, state_dict, path, assign=True)
        logger.info("loaded Wan VAE from %s", path)
        return cls(vae)

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> WanVAECodec:
        """From a diffusers folder (``config.json`` + weights), e.g. ``Wan2.1-T2V-1.3B-Diffusers/vae``."""
        folder = require_file(folder)
        vae = AutoencoderKLWan.from_pretrained(str(folder), torch_dtype=dtype, local_files_only=True)
        return cls(vae.to(device=device))

    # ---------------------------------------------------------------- geometry
    @property
    def latent_channels(self) -> int:
        return self.vae.config.z_dim

    @property
    def temporal_factor(self) -> int:
        return self.vae.config.scale_factor_temporal

    @property
    def spatial_factor(self) -> int:
        return self.vae.config.scale_factor_spatial

    def frames_per_chunk(self, latent_frames: int) -> int:
        """Decoded frames of a chunk after the first: ``temporal_factor`` per latent frame."""
        return latent_frames * self.temporal_factor

    def first_chunk_frames(self, latent_frames: int) -> int:
        """Decoded frames of the first chunk: the stream's first latent frame gives a single frame."""
        return self.frames_per_chunk(latent_frames) - (self.temporal_factor - 1)

    @property
    def device(self) -> torch.device:
        return self.vae.post_quant_conv.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.vae.post_quant_conv.weight.dtype

    # ---------------------------------------------------------------- cache
    def initial_cache(self, n: int) -> WanDecoderCache:
        """``n`` streams that have decoded nothing yet."""
        if n <= 0:
            raise ValueError(f"n={n} must be a positive number of streams")
        return WanDecoderCache(feats=(None,) * self._num_convs, batch=n, latent_frames=0)

    def select_cache(self, cache: WanDecoderCache, index: Tensor) -> WanDecoderCache:
        """Rows ``index`` ([K] long) of ``cache``: forks (repeated rows) and prunes streams."""
        index = torch.as_tensor(index, dtype=torch.long)
        if index.ndim != 1 or (index.numel() and (int(index.min()) < 0 or int(index.max()) >= cache.batch)):
            raise ValueError(f"index must be 1-D with entries in [0, {cache.batch}), got {index.tolist()}")
        feats = tuple(_conv_state_rows(entry, index) for entry in cache.feats)
        return WanDecoderCache(feats=feats, batch=index.numel(), latent_frames=cache.latent_frames)

    # ---------------------------------------------------------------- decode / encode
    def _check_latents(self, latents: Tensor) -> None:
        if latents.ndim != 5 or latents.shape[1] != self.latent_channels:
            raise ValueError(
                f"latents must be [N, {self.latent_channels}, F, h, w], got {tuple(latents.shape)}"
            )

    def denormalize(self, latents: Tensor) -> Tensor:
        """Normalised latents -> the VAE's raw latent space: ``z * std + mean`` per channel."""
        shape = (1, -1, 1, 1, 1)
        mean = self._mean.to(latents.device).view(shape)
        std = self._std.to(latents.device).view(shape)
        return latents.float() * std + mean

    @torch.no_grad()
    def decode_chunk(self, latents: Tensor, cache: WanDecoderCache) -> tuple[Tensor, WanDecoderCache]:
        """Decode the next latent frames of each stream.

        latents: ``[N, C, F, h, w]`` normalised; ``cache``: the same ``N`` streams.
        Returns frames ``[N, T, 3, H, W]`` in [0, 1] (float32) and the advanced cache.
        """
        self._check_latents(latents)
        n, _, num_frames, _, _ = latents.shape
        if n != cache.batch:
            raise ValueError(f"latents hold {n} streams but the cache holds {cache.batch}; select_cache first")
        z = self.denormalize(latents).to(device=self.device, dtype=self.dtype)
        x = self.vae.post_quant_conv(z)  # 1x1x1 conv: frame-wise, needs no cache
        feats = list(cache.feats)  # diffusers replaces entries in place; the parent cache stays intact
        outs = []
        for f in range(num_frames):
            first = cache.latent_frames == 0 and f == 0
            outs.append(self.vae.decoder(x[:, :, f : f + 1], feat_cache=feats, feat_idx=[0], first_chunk=first))
        video = torch.cat(outs, dim=2).float().clamp(-1.0, 1.0)  # [N, 3, T, H, W]
        frames = ((video + 1.0) / 2.0).permute(0, 2, 1, 3, 4)  # [N, T, 3, H, W]
        new_cache = WanDecoderCache(feats=tuple(feats), batch=n, latent_frames=cache.latent_frames + num_frames)
        return frames, new_cache

    @torch.no_grad()
    def encode(self, frames: Tensor) -> Tensor:
        """Frames ``[N, T, 3, H, W]`` in [0, 1] (T = 1 + k * temporal factor) -> normalised latents (posterior mode)."""
        if frames.ndim != 5 or frames.shape[2] != self.vae.config.in_channels:
            raise ValueError(f"frames must be [N, T, 3, H, W], got {tuple(frames.shape)}")
        num_frames = frames.shape[1]
        if (num_frames - 1) % self.temporal_factor:
            raise ValueError(f"T={num_frames} frames: T - 1 must be a multiple of {self.temporal_factor}")
        x = (frames.permute(0, 2, 1, 3, 4) * 2.0 - 1.0).to(device=self.device, dtype=self.dtype)
        mu = self.vae.encode(x).latent_dist.mode().float()  # [N, C, F, h, w]
        shape = (1, -1, 1, 1, 1)
        return (mu - self._mean.to(mu.device).view(shape)) / self._std.to(mu.device).view(shape)
