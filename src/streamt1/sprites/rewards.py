"""Learned rewards for the Sprites world: small conv nets that match pixels against the caption's parts.

* :class:`SpritesImageReward` implements :class:`~streamt1.interfaces.ImageReward`: one logit per
  frame, high when the frame shows what the caption says and is clean (no blur, noise, colour cast).
* :class:`SpritesVideoReward` implements :class:`~streamt1.interfaces.VideoReward`: logits for
  ``motion`` (the described motion happens), ``coherence`` (no flicker, jumps or freezes) and
  ``alignment`` (the clip shows the described sprites and background); ``overall`` is their sum,
  as VideoAlign's Overall is the sum of VQ, MQ and TA. A clip of any length ``T >= 1`` is resampled
  to ``config.num_frames`` frames: its last ``config.recent_frames`` frames (where a search's
  candidates differ) after frames evenly spread over the rest (nearest frame; a short clip repeats
  frames, so a single frame looks frozen; ``frame_plan`` names them, so the search gathers only those);
  those frames and their successive differences are
  stacked as channels of one conv net (early fusion), so motion and flicker are visible to the
  first layer. The net was trained on 12-48-frame windows at the world's 16 fps; ``fps`` is only
  validated.

How the caption is read: :func:`~streamt1.sprites.captions.parse_caption` turns it into sprites
(colour, shape, size, motion) and backgrounds. Each sprite attribute has a learned embedding that
is matched against a 16x16 map of cell features from the pathway that can see it: colour from a
per-pixel pathway (blind to shape), shape and size from a pathway over the frames' outlines (blind
to colour), motion from the full conv net. A sprite scores its best cell's sum of matches, so all
its attributes must be found in the same place. A colour x shape pair never seen in training
("a green circle") is thus scored from what was learned about "green" and about "circle": a text
encoder conditioning one whole conv net instead learned which pairs occur, and ranked held-out
pairs below chance (0.28 pairwise on shape). The background is matched against the pooled
features; cleanliness and coherence do not depend on the caption.

In eval mode (as :meth:`from_pretrained` returns them) the rewards compute without autograd.
Weights are trained by :mod:`streamt1.sprites.train_rewards`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.interfaces import VideoScore, unit_float
from streamt1.models.checkpoints import load_checked
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.files import load_weights, readable_weights, save_weights, weights_and_card
from streamt1.sprites.world import BACKGROUNDS, COLORS, FRAME_SIZE, MOTIONS, SHAPES, SIZES

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"
TRAIN_COMMAND = "streamt1 sprites train-rewards"  # what remakes the rewards' files
VIDEO_PARTS = ("motion", "coherence", "alignment")


@dataclass(frozen=True)
class RewardNetConfig:
    kind: str = "image"  # "image" or "video"
    channels: int = 24  # width of the first conv; the 16x16 cell map is 4x as wide
    num_frames: int = 8  # video: frames a clip is resampled to
    match_dim: int = 64  # width of the sprite queries and of the cell features they are matched with
    # video: how many of those frames are the clip's last frames at full rate. A search's siblings
    # differ only in their newest chunk, which an even spread over a long window would mostly skip.
    recent_frames: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("image", "video"):
            raise ValueError(f"kind={self.kind!r} must be 'image' or 'video'")
        if self.channels < 1:
            raise ValueError(f"channels={self.channels} must be >= 1")
        if self.num_frames < 2:
            raise ValueError(f"num_frames={self.num_frames} must be >= 2 (motion needs two frames)")
        if self.match_dim < 1:
            raise ValueError(f"match_dim={self.match_dim} must be >= 1")
        if not 0 <= self.recent_frames < self.num_frames:
            raise ValueError(f"recent_frames={self.recent_frames} must be in [0, num_frames={self.num_frames})")

    @property
    def in_channels(self) -> int:
        """Image: RGB. Video: early fusion of all frames and their successive differences."""
        return 3 if self.kind == "image" else 3 * self.num_frames + 3 * (self.num_frames - 1)

    def to_json(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- captions


@dataclass(frozen=True)
class CaptionSlots:
    """A caption as attribute indices: ``sprites [B, S, 4]`` (colour, shape, size, motion) and
    ``backgrounds [B, G, 3]`` (kind, colour, second colour or ``len(COLORS)`` for none), each with a
    validity mask (``[B, S]``, ``[B, G]``) for captions with fewer sprites or background changes."""

    sprites: Tensor
    sprite_mask: Tensor
    backgrounds: Tensor
    background_mask: Tensor

    def to(self, device: torch.device) -> CaptionSlots:
        return CaptionSlots(*(t.to(device) for t in (self.sprites, self.sprite_mask, self.backgrounds,
                                                      self.background_mask)))


COLORS_LIST, SIZES_LIST = list(COLORS), list(SIZES)


@lru_cache(maxsize=4096)
def _caption_indices(text: str) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Parse once per distinct caption (a search scores the same prompt thousands of times)."""
    scene = parse_caption(text)
    sprites = tuple(
        (COLORS_LIST.index(s.color), SHAPES.index(s.shape), SIZES_LIST.index(s.size), MOTIONS.index(s.motion))
        for s in scene.all_sprites
    )
    backgrounds = tuple(
        (BACKGROUNDS.index(bg.kind), COLORS_LIST.index(bg.color),
         len(COLORS) if bg.color2 is None else COLORS_LIST.index(bg.color2))
        for _, bg in scene.background_changes()
    )
    return sprites, backgrounds


def _padded(rows: list[tuple[tuple[int, ...], ...]], width: int) -> tuple[Tensor, Tensor]:
    longest = max(len(r) for r in rows)
    values = torch.zeros(len(rows), longest, width, dtype=torch.long)
    mask = torch.zeros(len(rows), longest, dtype=torch.bool)
    for i, r in enumerate(rows):
        values[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = True
    return values, mask


def caption_slots(prompts: Sequence[str]) -> CaptionSlots:
    """Parse ``prompts``; a caption the world cannot express raises ``ValueError`` listing its vocabulary."""
    parsed = [_caption_indices(p) for p in prompts]
    sprites, sprite_mask = _padded([p[0] for p in parsed], 4)
    backgrounds, background_mask = _padded([p[1] for p in parsed], 3)
    return CaptionSlots(sprites, sprite_mask, backgrounds, background_mask)


# --------------------------------------------------------------------------- network


def conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(min(8, c_out), c_out), nn.SiLU())


def conv_stack(c_in: int, c: int, out: int) -> nn.Sequential:
    """``[B, c_in, 64, 64]`` -> ``[B, out, 16, 16]``: six 3x3 convs (two of stride 2) give each cell a
    29-pixel receptive field, enough to see the largest sprite whole."""
    return nn.Sequential(
        conv_block(c_in, c, 1), conv_block(c, 2 * c, 2), conv_block(2 * c, 2 * c, 1),
        conv_block(2 * c, 4 * c, 2), conv_block(4 * c, 4 * c, 1), conv_block(4 * c, out, 1),
    )


def outlines(frames: Tensor) -> Tensor:
    """``[B, F, 3, H, W]`` in [0, 1] -> ``[B, F, H, W]``: colour-gradient magnitude, saturated at a
    quarter of each frame's strongest edge, so a sprite's outline looks the same in any colour."""
    dx = nn.functional.pad(frames.diff(dim=-1), (0, 1))
    dy = nn.functional.pad(frames.diff(dim=-2), (0, 0, 0, 1))
    strength = (dx.square() + dy.square()).sum(2).sqrt()
    return (strength / (0.25 * strength.amax(dim=(-2, -1), keepdim=True)).clamp(min=1e-3)).clamp(max=1)


# Which cell map each sprite attribute is read from (colour, shape, size, motion).
COLOUR_MAP, SHAPE_MAP, FULL_MAP = range(3)
ATTRIBUTE_MAPS = (COLOUR_MAP, SHAPE_MAP, SHAPE_MAP, FULL_MAP)


class SpritesRewardNet(nn.Module):
    """Net input ``[B, C_in, 64, 64]`` -> cell maps ``[B, 3, D, 16, 16]`` and pooled features ``[B, P]``.

    Three pathways, so that each attribute is read from features that cannot see the others and
    unseen colour x shape pairs look like their parts:

    * colour: 1x1 convs over each pixel's colours (all frames), averaged per 4x4 cell: no shapes;
    * shape: a conv stack over the frames' :func:`outlines`: no colours (shape and size);
    * full: a conv stack over the whole input (video: frames and differences): motion, and the
      pooled features for background, cleanliness and coherence.
    """

    def __init__(self, config: RewardNetConfig) -> None:
        super().__init__()
        c, d = config.channels, config.match_dim
        self.frames = 1 if config.kind == "image" else config.num_frames
        self.colour = nn.Sequential(
            nn.Conv2d(3 * self.frames, 2 * c, 1), nn.SiLU(), nn.Conv2d(2 * c, 2 * c, 1), nn.SiLU(),
            nn.AvgPool2d(4), nn.Conv2d(2 * c, d, 1),
        )
        self.shape = nn.Sequential(conv_stack(self.frames, c, 4 * c), nn.Conv2d(4 * c, d, 1))
        self.full = conv_stack(config.in_channels, c, 4 * c)
        self.full_cells = nn.Conv2d(4 * c, d, 1)
        self.trunk = nn.Sequential(conv_block(4 * c, 4 * c, 2), conv_block(4 * c, 4 * c, 2))
        self.pooled_dim = 8 * c  # mean and max pooled

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        frames = inputs[:, : 3 * self.frames]  # the net input starts with the frames' RGB
        edges = outlines(frames.unflatten(1, (self.frames, 3)))
        x = self.full(inputs * 2 - 1)  # [B, 4c, 16, 16]
        y = self.trunk(x)
        cells = torch.stack([self.colour(frames * 2 - 1), self.shape(edges * 2 - 1), self.full_cells(x)], dim=1)
        return cells, torch.cat([y.mean(dim=(2, 3)), y.amax(dim=(2, 3))], dim=1)


class SlotMatcher(nn.Module):
    """Scores of a caption's sprites and backgrounds against a net's features.

    ``sprite_score``: per sprite, the best cell's sum over the chosen attributes of
    ``<embedding, the attribute's cell map>`` (:data:`ATTRIBUTE_MAPS`): all attributes must be
    found in the same cell; masked mean over the caption's sprites -> ``[B]``.
    ``background_score``: best of the caption's backgrounds (any may be on screen) -> ``[B]``.
    """

    def __init__(self, dim: int, pooled_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.attributes = nn.ModuleList(nn.Embedding(n, dim) for n in (len(COLORS), len(SHAPES), len(SIZES),
                                                                         len(MOTIONS)))
        self.background_parts = nn.ModuleList(nn.Embedding(n, dim) for n in (len(BACKGROUNDS), len(COLORS),
                                                                               len(COLORS) + 1))
        self.background_features = nn.Linear(pooled_dim, dim)
        for table in [*self.attributes, *self.background_parts]:
            nn.init.normal_(table.weight, std=dim**-0.5)

    def sprite_score(self, cells: Tensor, slots: CaptionSlots, which: Sequence[int]) -> Tensor:
        """``cells [B, 3, D, h, w]``; ``which`` picks the attributes (0 colour, 1 shape, 2 size, 3 motion)."""
        match = sum(
            torch.einsum("bsd,bdn->bsn", self.attributes[k](slots.sprites[..., k]),
                         cells[:, ATTRIBUTE_MAPS[k]].flatten(2))
            for k in which
        )  # [B, S, cells]
        # (a hard max learns faster here than logsumexp, which starts out as a mean over all cells
        # and so dilutes the few cells a sprite covers)
        best = match.amax(-1)
        mask = slots.sprite_mask.float()
        return (best * mask).sum(1) / mask.sum(1)

    def background_score(self, pooled: Tensor, slots: CaptionSlots) -> Tensor:
        query = sum(table(slots.backgrounds[..., k]) for k, table in enumerate(self.background_parts))  # [B, G, D]
        match = torch.einsum("bgd,bd->bg", query, self.background_features(pooled))
        return match.masked_fill(~slots.background_mask, float("-inf")).amax(1)


def world_sized(images: Tensor) -> Tensor:
    """``[..., C, H, W]`` area-resized to the world's frame size where it is another (an MP4 the CLI wrote
    upscaled for viewing): the rewards' nets were trained at that size."""
    if images.shape[-2:] == (FRAME_SIZE, FRAME_SIZE):
        return images
    flat = images.float().reshape(-1, *images.shape[-3:])
    resized = F.interpolate(flat, size=(FRAME_SIZE, FRAME_SIZE), mode="area")
    return resized.view(*images.shape[:-2], FRAME_SIZE, FRAME_SIZE)


def resample_index(total_frames: int, num_frames: int, recent_frames: int = 0) -> Tensor:
    """``[num_frames]`` indices (CPU) of a ``total_frames`` clip: its last ``recent_frames`` frames,
    after the nearest frames evenly spread over the rest (from frame 0). A clip too short for that
    is spread evenly as a whole (repeating frames where it has fewer than ``num_frames``)."""
    spread = num_frames - recent_frames
    if recent_frames == 0 or total_frames - recent_frames < spread:
        return torch.linspace(0, total_frames - 1, num_frames).round().long()
    rest = total_frames - recent_frames
    return torch.cat([torch.linspace(0, rest - 1, spread).round().long(), torch.arange(rest, total_frames)])


def resample_frames(clips: Tensor, num_frames: int, recent_frames: int = 0) -> Tensor:
    """``[B, T, ...]`` -> ``[B, num_frames, ...]``: the frames :func:`resample_index` picks."""
    return clips[:, resample_index(clips.shape[1], num_frames, recent_frames).to(clips.device)]


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
        self.match = SlotMatcher(config.match_dim, self.net.pooled_dim)
        # caption-free terms: cleanliness (image) or coherence (video)
        self.quality = nn.Sequential(nn.Linear(self.net.pooled_dim, self.net.pooled_dim), nn.SiLU(),
                                     nn.Linear(self.net.pooled_dim, 1))

    def logits(self, images: Tensor, prompts: Sequence[str]) -> Tensor:
        """Net input ``[B, C_in, H, W]`` and captions -> logits ``[B, outputs]``. Frames of another size (an
        MP4 the CLI wrote upscaled for viewing) are area-resized to the world's, which the net was trained on:
        a convolutional net would take them and score them wrongly."""
        slots = caption_slots(prompts).to(self.device)
        weight = self.quality[0].weight
        images = world_sized(images.to(weight.device))
        cells, pooled = self.net(images.to(weight.dtype))
        return self.combine(cells, pooled, slots).float()

    def combine(self, cells: Tensor, pooled: Tensor, slots: CaptionSlots) -> Tensor:
        """Cell maps ``[B, 3, D, h, w]``, pooled ``[B, P]`` and the caption -> logits ``[B, outputs]``."""
        raise NotImplementedError  # defined by each reward

    @property
    def device(self) -> torch.device:
        return self.quality[0].weight.device

    @property
    def module(self) -> nn.Module:
        """The module holding all the weights (what :mod:`streamt1.rewards` places and offloads)."""
        return self

    def save_pretrained(self, folder: str | Path, metadata: dict | None = None) -> Path:
        """Write ``<stem>.safetensors`` and ``<stem>.json`` (config + ``metadata``) atomically."""
        return save_weights({k: v.detach().float().cpu().contiguous() for k, v in self.state_dict().items()},
                            Path(folder) / f"{self.file_stem}.safetensors",
                            {"config": self.config.to_json(), **(metadata or {})})

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | torch.device = "cpu") -> _RewardBase:
        """Load from a folder holding ``<stem>.safetensors`` + ``<stem>.json``, or the ``.safetensors`` file."""
        path = path if path is not None else DEFAULT_WEIGHTS_DIR
        weights, card = weights_and_card(path, cls.file_stem, "Sprites rewards", TRAIN_COMMAND)
        with readable_weights(weights, card, TRAIN_COMMAND):
            fields = json.loads(card.read_text())
            model = cls(RewardNetConfig(**fields["config"]))
            load_checked(model, load_weights(weights, fields, TRAIN_COMMAND), weights)
        logger.info("loaded %s from %s", cls.__name__, weights)
        return model.to(device).eval()


class SpritesImageReward(_RewardBase):
    """``(frames [N, 3, H, W] in [0, 1], prompts) -> logits [N]``; implements ``ImageReward``."""

    kind = "image"
    file_stem = "image_reward"

    def combine(self, cells: Tensor, pooled: Tensor, slots: CaptionSlots) -> Tensor:
        sprites = self.match.sprite_score(cells, slots, (0, 1, 2))  # colour, shape, size
        return (sprites + self.match.background_score(pooled, slots) + self.quality(pooled)[:, 0])[:, None]

    def forward(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be [N, 3, H, W], got {list(frames.shape)}")
        _check_prompts(prompts, frames.shape[0], "frame")
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            return self.logits(unit_float(frames), prompts)[:, 0].to(frames.device)


class SpritesVideoReward(_RewardBase):
    """``(clips [B, T, 3, H, W] in [0, 1], prompts, fps) -> VideoScore``; implements ``PlannedVideoReward``
    (it reads the ``config.num_frames`` frames of :func:`resample_index`)."""

    kind = "video"
    file_stem = "video_reward"

    def frame_plan(self, num_frames: int, fps: float) -> Tensor:
        """Indices of the frames the net reads of a ``num_frames``-frame clip (``fps`` only validated)."""
        if num_frames < 1:
            raise ValueError(f"a clip of {num_frames} frames has nothing to score: need T >= 1")
        if fps <= 0:
            raise ValueError(f"fps={fps} must be > 0")
        return resample_index(num_frames, self.config.num_frames, self.config.recent_frames)

    def with_recent_frames(self, recent_frames: int) -> SpritesVideoReward:
        """This reward, reading ``recent_frames`` recent frames from now on (``config.recent_frames``):
        the weights do not depend on the frame plan, so saved weights can read any plan."""
        self.config = replace(self.config, recent_frames=recent_frames)
        return self

    def fuse(self, clips: Tensor) -> Tensor:
        """Clips ``[B, T, 3, H, W]`` -> the net's input ``[B, (2F-1)*3, H, W]`` (:meth:`fuse_planned`)."""
        return self.fuse_planned(resample_frames(clips, self.config.num_frames, self.config.recent_frames))

    def fuse_planned(self, frames: Tensor) -> Tensor:
        """The planned frames ``[B, F, 3, H, W]`` -> the net's input: F frames and their differences."""
        x = unit_float(frames).to(self.device)  # [B, F, 3, H, W]
        # differences are mapped to [0, 1] like frames, since the net recentres its input
        return torch.cat([x, (x.diff(dim=1) + 1) / 2], dim=1).flatten(1, 2)

    def combine(self, cells: Tensor, pooled: Tensor, slots: CaptionSlots) -> Tensor:
        """Logits ``[B, 3]`` in :data:`VIDEO_PARTS` order."""
        motion = self.match.sprite_score(cells, slots, (0, 1, 3))  # colour, shape, motion
        appearance = self.match.sprite_score(cells, slots, (0, 1, 2))  # colour, shape, size
        alignment = appearance + self.match.background_score(pooled, slots)
        return torch.stack([motion, self.quality(pooled)[:, 0], alignment], dim=1)

    def forward(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        if clips.dim() != 5 or clips.shape[2] != 3 or clips.shape[1] < 1:
            raise ValueError(f"clips must be [B, T>=1, 3, H, W], got {list(clips.shape)}")
        plan = self.frame_plan(clips.shape[1], fps)
        return self.score_planned(clips[:, plan.to(clips.device)], prompts, fps)

    def score_planned(self, frames: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        """The score of clips from their :meth:`frame_plan` frames ``[B, F, 3, H, W]``."""
        f = self.config.num_frames
        if frames.dim() != 5 or frames.shape[1] != f or frames.shape[2] != 3:
            raise ValueError(f"planned frames must be [B, {f}, 3, H, W] (see frame_plan), got {list(frames.shape)}")
        if fps <= 0:
            raise ValueError(f"fps={fps} must be > 0")
        _check_prompts(prompts, frames.shape[0], "clip")
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            logits = self.logits(self.fuse_planned(frames), prompts).to(frames.device)
        parts = {name: logits[:, i] for i, name in enumerate(VIDEO_PARTS)}
        return VideoScore(overall=logits.sum(1), parts=parts)
