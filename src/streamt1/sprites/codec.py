"""A learned per-frame autoencoder for the Sprites world: 64x64 RGB <-> ``latent_channels`` x 16 x 16.

Pixel-unshuffle (the first Sprites codec) is lossless but leaves the video model to draw every pixel
of a 4x4 cell from a blurred x0 prediction: sprites came out as clusters of blocks of their colour
(issue 9: shape alignment 17 %). A decoder trained on rendered frames turns a compact latent into clean
edges, as a VAE does for latent diffusion. The latents are normalised per channel (statistics of the
training frames, stored with the weights) so the flow's unit-variance noise fits them.

Small on purpose: the decoder runs for every candidate of every chunk on the CPU (about 0.2 GFLOP per
frame), the encoder only in training.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.models.codec import PerFrameCodec


# Frames 64x64 -> latents 16x16, one latent frame per frame, for either Sprites codec (the learned
# one here, PixelUnshuffle with this factor for models trained without it).
LATENT_FACTOR = 4


@dataclass(frozen=True)
class AutoencoderConfig:
    latent_channels: int = 16
    # Encoder features at 64x64, 32x32 and 16x16; the decoder runs at 16x16 with the last and at
    # 32x32 and 64x64 with half the first two (the pixel shuffles), hence even widths.
    widths: tuple[int, int, int] = (32, 64, 128)

    def __post_init__(self) -> None:
        if self.latent_channels < 1 or len(self.widths) != 3 or min(self.widths) < 2 or any(w % 2 for w in self.widths):
            raise ValueError(f"AutoencoderConfig {self}: latent_channels >= 1 and three even widths >= 2")

    @classmethod
    def from_dict(cls, d: dict) -> AutoencoderConfig:
        return cls(**{**d, "widths": tuple(d["widths"])})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="circular")  # the world wraps


class SpritesAutoencoder(nn.Module):
    """Two stride-2 stages down, two pixel-shuffle stages up; latents normalised by stored statistics."""

    factor = LATENT_FACTOR

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()) -> None:
        super().__init__()
        self.config = config
        w1, w2, w3 = config.widths
        c = config.latent_channels
        self.encoder = nn.Sequential(
            _conv(3, w1), nn.SiLU(), _conv(w1, w2, 2), nn.SiLU(), _conv(w2, w2), nn.SiLU(),
            _conv(w2, w3, 2), nn.SiLU(), _conv(w3, w3), nn.SiLU(), nn.Conv2d(w3, c, 1),
        )
        self.decoder = nn.Sequential(
            _conv(c, w3), nn.SiLU(), _conv(w3, w3), nn.SiLU(), _conv(w3, 4 * w2 // 2), nn.PixelShuffle(2), nn.SiLU(),
            _conv(w2 // 2, w2 // 2), nn.SiLU(), _conv(w2 // 2, 4 * w1 // 2), nn.PixelShuffle(2), nn.SiLU(),
            _conv(w1 // 2, 3),
        )
        # Per-channel statistics of the raw latents (set_statistics after training): the normalised
        # latents the video model sees have mean 0 and variance 1 per channel.
        self.register_buffer("latent_mean", torch.zeros(c))
        self.register_buffer("latent_std", torch.ones(c))

    def encode_raw(self, images: Tensor) -> Tensor:
        """Images ``[B, 3, 64, 64]`` in [0, 1] -> raw latents ``[B, C, 16, 16]``."""
        return self.encoder(images * 2 - 1)

    def decode_raw(self, z: Tensor) -> Tensor:
        """Raw latents -> images in [0, 1] (not clamped: the training loss sees the overshoot)."""
        return (self.decoder(z) + 1) / 2

    def normalise(self, z: Tensor) -> Tensor:
        return (z - self.latent_mean[:, None, None]) / self.latent_std[:, None, None]

    def denormalise(self, z: Tensor) -> Tensor:
        return z * self.latent_std[:, None, None] + self.latent_mean[:, None, None]

    @torch.no_grad()
    def set_statistics(self, raw: Tensor) -> None:
        """Normalise by the per-channel mean and std of raw latents ``[B, C, h, w]``."""
        self.latent_mean.copy_(raw.mean((0, 2, 3)))
        self.latent_std.copy_(raw.std((0, 2, 3)).clamp_min(1e-4))


class AutoencoderCodec(PerFrameCodec):
    """:class:`~streamt1.models.codec.LatentCodec` over a :class:`SpritesAutoencoder`: one latent frame per
    frame, stateless (its cache is always None). Runs the autoencoder in float32 on the latents' device."""

    def __init__(self, autoencoder: SpritesAutoencoder) -> None:
        self.autoencoder = autoencoder.eval()

    @property
    def latent_channels(self) -> int:
        return self.autoencoder.config.latent_channels

    @property
    def spatial_factor(self) -> int:
        return LATENT_FACTOR

    def _moved(self, device: torch.device) -> SpritesAutoencoder:
        if next(self.autoencoder.parameters()).device != device:
            self.autoencoder.to(device)
        return self.autoencoder

    def encode(self, frames: Tensor) -> Tensor:
        n, t, c, h, w = frames.shape
        if c != 3 or h % self.spatial_factor or w % self.spatial_factor:
            raise ValueError(f"frames {tuple(frames.shape)} must be [N, T, 3, H, W] with H, W divisible by "
                             f"{LATENT_FACTOR}")
        with _float32(frames.device):  # training targets at full precision, also under autocast
            ae = self._moved(frames.device)
            z = ae.normalise(ae.encode_raw(frames.reshape(n * t, c, h, w).float()))
        return z.unflatten(0, (n, t)).transpose(1, 2)  # [N, C, T, h, w]

    def decode_chunk(self, latents: Tensor, cache: None) -> tuple[Tensor, None]:
        n, c, f, h, w = latents.shape
        if c != self.latent_channels:
            raise ValueError(f"latents have {c} channels; this autoencoder takes {self.latent_channels}")
        with _float32(latents.device):
            ae = self._moved(latents.device)
            z = latents.transpose(1, 2).reshape(n * f, c, h, w).float()
            frames = ae.decode_raw(ae.denormalise(z)).clamp(0, 1)
        return frames.unflatten(0, (n, f)), None


def _float32(device: torch.device) -> contextlib.ExitStack:
    """No gradients and no autocast: the frozen codec runs in float32."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.no_grad())
    stack.enter_context(torch.autocast(device.type, enabled=False))
    return stack


def reconstruction_loss(images: Tensor, decoded: Tensor) -> Tensor:
    """L1 plus MSE, with pixels on an edge of the rendered image (a sprite's outline, a pattern's
    border) weighted 5x: they are few, and a shape is its outline."""
    gray = images.mean(1, keepdim=True)
    edges = (F.max_pool2d(gray, 3, 1, 1) + F.max_pool2d(-gray, 3, 1, 1)) > 0.05  # local range
    weights = 1 + 4 * edges.float()
    error = decoded - images
    return ((error.abs() + error.square()) * weights).sum() / (weights.sum() * 3)
