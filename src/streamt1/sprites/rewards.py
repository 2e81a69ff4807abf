"""Learned rewards for the Sprites world: small text-conditioned conv nets (the HPSv3 / VideoAlign stand-ins).

* :class:`SpritesImageReward` implements :class:`~streamt1.interfaces.ImageReward`: one logit per
  frame, high when the frame shows what the caption says and is clean (no blur, noise, colour cast).
* :class:`SpritesVideoReward` implements :class:`~streamt1.interfaces.VideoReward`: logits for
  ``motion`` (the described motion happens), ``coherence`` (no flicker, jumps or freezes) and
  ``alignment`` (the clip shows the described sprites and background); ``overall`` is their sum,
  as VideoAlign's Overall is the sum of VQ, MQ and TA. A clip of any length ``T >= 1`` is resampled
  to ``config.num_frames`` frames evenly spread over it (nearest frame; a short clip repeats
  frames, so a single frame looks frozen); those frames and their successive differences are
  stacked as channels of one conv net (early fusion), so motion and flicker are visible to the
  first layer. The net was trained on 12-48-frame windows at the world's 16 fps; ``fps`` is only
  validated.

In eval mode (as :meth:`from_pretrained` returns them) the rewards compute without autograd.
Both read the prompt with their own :class:`~streamt1.sprites.text.TinySpritesTextEncoder`
(mean-pooled), which modulates every conv stage (FiLM), so "red circle" vs "red square" can be
told apart where it matters. Weights are trained by :mod:`streamt1.sprites.train_rewards`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from streamt1.interfaces import VideoScore, unit_float
from streamt1.outputs.atomic import atomic_path, atomic_write_json
from streamt1.sprites.files import weights_and_card
from streamt1.sprites.text import TextEncoderConfig, TinySpritesTextEncoder
from streamt1.sprites.world import COLORS, MOTIONS, SHAPES

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"
VIDEO_PARTS = ("motion", "coherence", "alignment")


@dataclass(frozen=True)
class RewardNetConfig:
    kind: str = "image"  # "image" or "video"
    channels: int = 32  # width of the first conv stage; stages use 1x, 2x, 2x, 4x
    num_frames: int = 8  # video: frames a clip is resampled to
    match_dim: int = 32  # width of the text-image dot product added to every logit
    text: TextEncoderConfig = field(default_factory=lambda: TextEncoderConfig(num_layers=1))

    def __post_init__(self) -> None:
        if self.kind not in ("image", "video"):
            raise ValueError(f"kind={self.kind!r} must be 'image' or 'video'")
        if self.channels < 1:
            raise ValueError(f"channels={self.channels} must be >= 1")
        if self.num_frames < 2:
            raise ValueError(f"num_frames={self.num_frames} must be >= 2 (motion needs two frames)")
        if self.match_dim < 1:
            raise ValueError(f"match_dim={self.match_dim} must be >= 1")

    @property
    def in_channels(self) -> int:
        """Image: RGB. Video: early fusion of all frames and their successive differences."""
        return 3 if self.kind == "image" else 3 * self.num_frames + 3 * (self.num_frames - 1)

    @property
    def outputs(self) -> int:
        return 1 if self.kind == "image" else len(VIDEO_PARTS)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Targets of the auxiliary head (training only): what the pixels show, independent of text."""
        names = [f"sprite {c}" for c in COLORS] + [f"shape {s}" for s in SHAPES] + [f"background {c}" for c in COLORS]
        return tuple(names + ([f"motion {m}" for m in MOTIONS] if self.kind == "video" else []))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> RewardNetConfig:
        text = dict(data["text"])
        text["vocab"] = tuple(text["vocab"])
        return cls(**{**data, "text": TextEncoderConfig(**text)})


class FiLMStage(nn.Module):
    """Strided conv, GroupNorm, then a text-dependent per-channel scale and shift, SiLU."""

    def __init__(self, c_in: int, c_out: int, text_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)
        self.norm = nn.GroupNorm(min(8, c_out), c_out)
        self.film = nn.Linear(text_dim, 2 * c_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: Tensor, text: Tensor) -> Tensor:
        scale, shift = self.film(text)[..., None, None].chunk(2, dim=1)  # [B, C, 1, 1] each
        return nn.functional.silu(self.norm(self.conv(x)) * (1 + scale) + shift)


class SpritesRewardNet(nn.Module):
    """Images ``[B, C_in, H, W]`` and pooled text ``[B, D]`` -> mean- and max-pooled features ``[B, F]``."""

    def __init__(self, config: RewardNetConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.channels, config.text.text_dim
        widths = [config.in_channels, c, 2 * c, 2 * c, 4 * c]
        self.text_encoder = TinySpritesTextEncoder(config.text)
        self.stages = nn.ModuleList(FiLMStage(a, b, d) for a, b in zip(widths[:-1], widths[1:]))
        self.feature_dim = 2 * widths[-1]  # mean and max pooled

    def encode_text(self, prompts: Sequence[str]) -> Tensor:
        """Mean over the non-padding token embeddings -> ``[B, D]``."""
        tokens = self.text_encoder(list(prompts))  # [B, L, D], padding rows zero
        count = tokens.abs().sum(-1).gt(0).sum(1, keepdim=True).clamp(min=1)
        return tokens.sum(1) / count

    def forward(self, images: Tensor, text: Tensor) -> Tensor:
        x = images * 2 - 1
        for stage in self.stages:
            x = stage(x, text)
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)  # [B, F]


def resample_frames(clips: Tensor, num_frames: int) -> Tensor:
    """``[B, T, ...]`` -> ``[B, num_frames, ...]``: nearest frames evenly spread over the clip."""
    t = clips.shape[1]
    index = torch.linspace(0, t - 1, num_frames, device=clips.device).round().long()
    return clips[:, index]


def _check_prompts(prompts: Sequence[str], n: int, what: str) -> None:
    if isinstance(prompts, str) or len(prompts) != n:
        got = "a string" if isinstance(prompts, str) else f"{len(prompts)} prompts"
        raise ValueError(f"need one prompt per {what} ({n}), got {got}")


class _RewardBase(nn.Module):
    kind = ""
    file_stem = ""

    def __init__(self, config: RewardNetConfig | None = None) -> None:
        super().__init__()
        config = config or RewardNetConfig(kind=self.kind)
        if config.kind != self.kind:
            raise ValueError(f"config.kind={config.kind!r} but {type(self).__name__} needs {self.kind!r}")
        self.config = config
        self.net = SpritesRewardNet(config)
        width, e = self.net.feature_dim, config.match_dim
        self.head = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, config.outputs))
        # A CLIP-like dot product per output gives text-image agreement a direct path to the score.
        self.image_match = nn.Linear(width, config.outputs * e)
        self.text_match = nn.Linear(config.text.text_dim, config.outputs * e)
        self.attributes = nn.Linear(width, len(config.attribute_names))

    def score(self, images: Tensor, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Net input ``[B, C_in, H, W]`` -> (logits ``[B, outputs]``, pooled features ``[B, F]``)."""
        text = self.net.encode_text(prompts)
        features = self.net(images, text)
        e = self.config.match_dim
        match = (self.image_match(features) * self.text_match(text)).unflatten(1, (-1, e)).sum(-1) / e**0.5
        return self.head(features) + match, features

    @property
    def device(self) -> torch.device:
        return self.head[0].weight.device

    def save_pretrained(self, folder: str | Path, metadata: dict | None = None) -> Path:
        """Write ``<stem>.safetensors`` and ``<stem>.json`` (config + ``metadata``) atomically."""
        folder = Path(folder)
        weights = folder / f"{self.file_stem}.safetensors"
        with atomic_path(weights) as tmp:
            save_file({k: v.detach().float().cpu().contiguous() for k, v in self.state_dict().items()}, str(tmp))
        atomic_write_json(folder / f"{self.file_stem}.json", {"config": self.config.to_json(), **(metadata or {})})
        return weights

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | torch.device = "cpu") -> _RewardBase:
        """Load from a folder holding ``<stem>.safetensors`` + ``<stem>.json``, or the ``.safetensors`` file."""
        path = path if path is not None else DEFAULT_WEIGHTS_DIR
        weights, card = weights_and_card(path, cls.file_stem, "Sprites rewards", "streamt1.sprites.train_rewards")
        config = RewardNetConfig.from_json(json.loads(card.read_text())["config"])
        model = cls(config)
        model.load_state_dict(load_file(str(weights)))
        logger.info("loaded %s from %s", cls.__name__, weights)
        return model.to(device).eval()


class SpritesImageReward(_RewardBase):
    """``(frames [N, 3, H, W] in [0, 1], prompts) -> logits [N]``; implements ``ImageReward``."""

    kind = "image"
    file_stem = "image_reward"

    def forward(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be [N, 3, H, W], got {list(frames.shape)}")
        _check_prompts(prompts, frames.shape[0], "frame")
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            return self.score(frames.to(self.device, torch.float32), prompts)[0][:, 0].to(frames.device)


class SpritesVideoReward(_RewardBase):
    """``(clips [B, T, 3, H, W] in [0, 1], prompts, fps) -> VideoScore``; implements ``VideoReward``."""

    kind = "video"
    file_stem = "video_reward"

    def fuse(self, clips: Tensor) -> Tensor:
        """Clips ``[B, T, 3, H, W]`` -> the net's input ``[B, (2F-1)*3, H, W]``: F frames and their differences."""
        x = unit_float(resample_frames(clips, self.config.num_frames)).to(self.device)  # [B, F, 3, H, W]
        # differences are mapped to [0, 1] like frames, since the net recentres its input
        return torch.cat([x, (x.diff(dim=1) + 1) / 2], dim=1).flatten(1, 2)

    def logits(self, clips: Tensor, prompts: Sequence[str]) -> Tensor:
        """``[B, 3]`` logits in :data:`VIDEO_PARTS` order."""
        return self.score(self.fuse(clips), prompts)[0]

    def forward(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        if clips.dim() != 5 or clips.shape[2] != 3 or clips.shape[1] < 1:
            raise ValueError(f"clips must be [B, T>=1, 3, H, W], got {list(clips.shape)}")
        if fps <= 0:
            raise ValueError(f"fps={fps} must be > 0")
        _check_prompts(prompts, clips.shape[0], "clip")
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            logits = self.logits(clips, prompts).to(clips.device)
        parts = {name: logits[:, i] for i, name in enumerate(VIDEO_PARTS)}
        return VideoScore(overall=logits.sum(1), parts=parts)
