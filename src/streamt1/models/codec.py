"""Latent codecs: what turns a chunk of latents into frames (and frames into latents for training).

:class:`LatentCodec` is the protocol the generator decodes through; a causal video VAE keeps a
per-history streaming cache, which the codec itself selects and advances. :class:`PixelUnshuffleCodec`
is the lossless, stateless codec of the built-in Sprites world (a :class:`PerFrameCodec`, as is the
Sprites world's learned autoencoder).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch.nn.functional as F
from torch import Tensor


@runtime_checkable
class LatentCodec(Protocol):
    """Latents ``[N, C, F, h, w]`` <-> frames ``[N, T, 3, H, W]`` in [0, 1], ``H = h * spatial_factor``."""

    @property
    def latent_channels(self) -> int: ...

    @property
    def spatial_factor(self) -> int: ...

    def frames_per_chunk(self, latent_frames: int) -> int:
        """Decoded frames of a chunk of ``latent_frames`` after the first chunk."""
        ...

    def first_chunk_frames(self, latent_frames: int) -> int:
        """Decoded frames of the first chunk (a causal VAE decodes its first latent frame to one frame)."""
        ...

    def initial_cache(self, n: int) -> Any:
        """Decoder state of ``n`` fresh streams (nothing decoded yet)."""
        ...

    def decode_chunk(self, latents: Tensor, cache: Any) -> tuple[Tensor, Any]:
        """Decode one chunk per stream; returns ``(frames [N, T, 3, H, W] in [0, 1], new cache)``."""
        ...

    def select_cache(self, cache: Any, index: Tensor) -> Any:
        """Streams ``index`` (``[N]`` long, may repeat) of a cache."""
        ...

    def encode(self, frames: Tensor) -> Tensor:
        """Frames ``[N, T, 3, H, W]`` in [0, 1] -> latents ``[N, C, F, h, w]`` (for training)."""
        ...


class PerFrameCodec:
    """What every stateless codec of one latent frame per frame shares: its cache is always None."""

    def frames_per_chunk(self, latent_frames: int) -> int:
        return latent_frames

    def first_chunk_frames(self, latent_frames: int) -> int:
        return latent_frames

    def initial_cache(self, n: int) -> None:
        return None

    def select_cache(self, cache: None, index: Tensor) -> None:
        return None


class PixelUnshuffleCodec(PerFrameCodec):
    """Lossless codec: ``2x - 1`` then space-to-depth by ``factor``; one latent frame per frame.

    64x64 RGB with factor 4 -> 48 channels at 16x16. Stateless: the cache is always None.
    """

    def __init__(self, factor: int = 4) -> None:
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"factor={factor!r} is invalid: expected a positive int")
        self.factor = factor

    @property
    def latent_channels(self) -> int:
        return 3 * self.factor**2

    @property
    def spatial_factor(self) -> int:
        return self.factor

    def encode(self, frames: Tensor) -> Tensor:
        n, t, c, h, w = frames.shape
        if c != 3 or h % self.factor or w % self.factor:
            raise ValueError(
                f"frames {tuple(frames.shape)} must be [N, T, 3, H, W] with H, W divisible by {self.factor}"
            )
        z = F.pixel_unshuffle(frames.reshape(n * t, c, h, w) * 2 - 1, self.factor)  # [N*T, C', h', w']
        return z.unflatten(0, (n, t)).transpose(1, 2)  # [N, C', T, h', w']

    def decode_chunk(self, latents: Tensor, cache: None) -> tuple[Tensor, None]:
        n, c, f, h, w = latents.shape
        if c != self.latent_channels:
            raise ValueError(
                f"latents have {c} channels; PixelUnshuffleCodec(factor={self.factor}) "
                f"needs {self.latent_channels}"
            )
        x = F.pixel_shuffle(latents.transpose(1, 2).reshape(n * f, c, h, w), self.factor)  # [N*F, 3, H, W]
        frames = ((x.float() + 1) / 2).clamp(0, 1)
        return frames.unflatten(0, (n, f)), None
