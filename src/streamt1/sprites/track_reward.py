"""An object-centric Sprites reward: learned perception, judged by the ground truth's own rules.

The pathway nets of :mod:`streamt1.sprites.rewards` order a search's sibling candidates like the
ground truth in 55-59 % of the pairs: siblings differ by a few pixels of one sprite's outline or
speed, which a conv net's pooled features do not resolve. Detector-based judges of compositional
generation (GenEval: a detector finds each object, a classifier names its colour, fixed rules check
counts and positions) split perception from judgement; this reward does the same for the Sprites world.

* Perception, learned, from pixels and the caption's words (:class:`TrackPerception`): a
  colour-conditioned segmenter (a per-pixel MLP of the pixel's RGB and the colour word's embedding:
  the sprite's soft mask), a detector (the mask's area against a learned threshold per shape and size),
  a shape classifier of the scale-normalised mask crop, a motion scorer of the mask's centroid and
  area track for each motion word, and a decoder that draws the background a caption names.
* Judgement, the ground truth's rules (:mod:`streamt1.metrics.sprites`): VBench's subject-consistency
  formula on the learned masks' crops, presence at the clip's edges, the background match on
  sprite-free pixels, and the fused score's weights (:func:`streamt1.agreement.fused_truth`).

:mod:`streamt1.sprites.train_track_reward` trains the perception to reproduce the ground truth's (its
colour masks, detections, template shapes and motion matches) on rendered clips and on the model's
own candidates. The reward thus imitates the analytic judge as a preference model imitates its
raters: its agreement says how well it imitates, and a search on it comes close to a search on the
truth itself (the oracle). It reads pixels and the caption only, never a scene's parameters.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.agreement import fused_truth
from streamt1.interfaces import VideoScore, unit_float
from streamt1.metrics.sprites import (
    SpriteTrack,
    wrapped_delta,
    background_match,
    normalized_crops,
    presence,
    shape_frames,
    sprite_free,
    subject_consistency,
    track_from_mask,
)
from streamt1.models.checkpoints import load_checked
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.files import load_weights, readable_weights, save_weights, weights_and_card
from streamt1.sprites.rewards import world_sized
from streamt1.sprites.world import (BACKGROUNDS, COLORS, FPS, FRAME_SIZE, MOTIONS, SHAPES, SIZES, BackgroundSpec,
                                   SceneSpec)

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"
FILE_STEM = "track_reward"
TRAIN_COMMAND = "streamt1 sprites train-track-reward"
PARTS = ("subject_consistency", "alignment_background", "alignment_presence", "alignment_shape", "alignment_motion")
COLOURS, SIZE_NAMES = list(COLORS), list(SIZES)


@dataclass(frozen=True)
class TrackRewardConfig:
    colour_dim: int = 8  # colour-word embedding read by the segmenter
    hidden: int = 16  # segmenter width (per pixel and sprite, so kept small for the CPU)
    shape_channels: int = 16
    motion_points: int = 8  # samples of a track's path the motion scorer reads
    motion_hidden: int = 64
    background_dim: int = 32
    background_hidden: int = 64

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 1:
                raise ValueError(f"{name}={value} must be >= 1")


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.SiLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


class TrackPerception(nn.Module):
    """The learned parts; each is trained on its own target (:mod:`streamt1.sprites.train_track_reward`)."""

    def __init__(self, config: TrackRewardConfig = TrackRewardConfig()) -> None:
        super().__init__()
        self.config = c = config
        self.colours = nn.Embedding(len(COLORS), c.colour_dim)
        self.segment_pixel = nn.Linear(3, c.hidden)
        self.segment_colour = nn.Linear(c.colour_dim, c.hidden)
        self.segment_rest = nn.Sequential(nn.SiLU(), nn.Linear(c.hidden, c.hidden), nn.SiLU(), nn.Linear(c.hidden, 1))
        # detected when log(area) > threshold[shape, size] (a sprite's drawn area depends on both)
        self.detect_threshold = nn.Parameter(torch.full((len(SHAPES), len(SIZES)), math.log(20.0)))
        self.detect_sharpness = nn.Parameter(torch.tensor(5.0))
        k = c.shape_channels
        self.shape_conv = nn.Sequential(
            nn.Conv2d(1, k, 3, padding=1), nn.SiLU(), nn.Conv2d(k, k, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(k, 2 * k, 3, stride=2, padding=1), nn.SiLU(), nn.Flatten(),
        )
        self.shape_head = _mlp([2 * k * 36 + 1, 4 * k, len(SHAPES)])
        self.motions = nn.Embedding(len(MOTIONS), 16)
        self.motion_net = _mlp([self.motion_features_dim + 16, c.motion_hidden, c.motion_hidden, 1])
        self.background_parts = nn.ModuleList(nn.Embedding(n, c.background_dim)
                                              for n in (len(BACKGROUNDS), len(COLORS), len(COLORS) + 1))
        self.background_net = _mlp([c.background_dim, c.background_hidden, 3 * FRAME_SIZE * FRAME_SIZE])

    @property
    def motion_features_dim(self) -> int:
        return 3 * self.config.motion_points + 4

    @property
    def device(self) -> torch.device:
        return self.segment_pixel.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.segment_pixel.weight.dtype

    # ------------------------------------------------------------------ the parts (inputs cast to the weights'
    # dtype, outputs float32)
    def mask_logits(self, pixels: Tensor, colours: Tensor) -> Tensor:
        """``pixels [..., 3]`` in [0, 1] and colour indices ``[S]`` -> ``[S, ...]`` mask logits."""
        by_pixel = self.segment_pixel(pixels.to(self.dtype) * 2 - 1)
        by_colour = self.segment_colour(self.colours(colours))  # [S, h]
        hidden = by_pixel[None] + by_colour.view(len(colours), *([1] * (pixels.dim() - 1)), -1)
        return self.segment_rest(hidden)[..., 0].float()

    def masks(self, frames: Tensor, colours: Sequence[str]) -> Tensor:
        """Soft masks ``[S, T, H, W]`` of each colour in ``frames [T, 3, H, W]`` (float in [0, 1])."""
        index = torch.tensor([COLOURS.index(c) for c in colours], device=self.device)
        pixels = frames.to(self.device).permute(0, 2, 3, 1)
        # in pieces of 64 frames: the hidden layer is [S, frames, H, W, hidden]
        return torch.cat([torch.sigmoid(self.mask_logits(piece, index)) for piece in pixels.split(64)], dim=1)

    def detect_logits(self, area: Tensor, cell: Tensor | int) -> Tensor:
        """Seen (> 0) or not, from mask areas and :func:`detect_cell` (one, or one per area)."""
        return (self.detect_sharpness * (area.clamp(min=1e-3).log() - self.detect_threshold.flatten()[cell])).float()

    def shape_logits(self, crops: Tensor, radius_px: Tensor) -> Tensor:
        """Mask crops ``[N, 1, g, g]`` (:func:`normalized_crops`) and radii ``[N]`` -> ``[N, len(SHAPES)]``."""
        features = torch.cat([self.shape_conv(crops.to(self.dtype) * 2 - 1),
                              radius_px.clamp(min=1).log()[:, None].to(self.dtype)], 1)
        return self.shape_head(features).float()

    def motion_scores(self, features: Tensor, motions: Tensor) -> Tensor:
        """Track features ``[N, D]`` (:func:`motion_features`) and motion indices ``[N]`` -> match ``[N]`` in [0, 1]."""
        logits = self.motion_net(torch.cat([features.to(self.dtype), self.motions(motions)], 1))[:, 0]
        return torch.sigmoid(logits).float()

    def backgrounds(self, specs: Sequence[BackgroundSpec]) -> Tensor:
        """The backgrounds ``[N, 3, H, W]`` the specs name, as this decoder draws them."""
        index = torch.tensor([(BACKGROUNDS.index(s.kind), COLOURS.index(s.color),
                               len(COLORS) if s.color2 is None else COLOURS.index(s.color2)) for s in specs],
                             device=self.device)
        embedded = sum(table(index[:, k]) for k, table in enumerate(self.background_parts))
        return torch.sigmoid(self.background_net(F.silu(embedded))).view(-1, 3, FRAME_SIZE, FRAME_SIZE).float()


def detect_cell(shape: str, size: str) -> int:
    """The detector's threshold index of a sprite's shape and size (its drawn area depends on both)."""
    return SHAPES.index(shape) * len(SIZES) + SIZE_NAMES.index(size)


def motion_features(track: SpriteTrack, fps: float, points: int) -> Tensor | None:
    """``[3 * points + 4]``: the track's unwrapped path and log area at ``points`` detected frames
    spread evenly (relative to the first), its mean velocity, path speed (frame widths per second)
    and duration; None when it is seen in fewer than two frames (no motion to judge)."""
    seen = track.detected.nonzero().flatten()
    if len(seen) < 2:
        return None
    duration = float(seen[-1] - seen[0]) / fps
    dx, dy = wrapped_delta(track.cx[seen].diff()), wrapped_delta(track.cy[seen].diff())
    x, y = (torch.cat([v.new_zeros(1), v.cumsum(0)]) for v in (dx, dy))
    log_area = track.area[seen].clamp(min=1).log()
    pick = torch.linspace(0, len(seen) - 1, points).round().long()
    velocity = torch.stack([x[-1], y[-1], (dx.square() + dy.square()).sqrt().sum()]) / duration
    return torch.cat([5 * x[pick], 5 * y[pick], log_area[pick] - log_area[0], 10 * velocity,
                      torch.tensor([duration]).to(x)]).float()


@lru_cache(maxsize=4096)
def scene_of(prompt: str, num_frames: int) -> SceneSpec:
    """The caption read as the ground truth reads it: its events spread over the clip."""
    return parse_caption(prompt, num_frames=num_frames)


class TrackJudge:
    """The ground truth's parts of clips, from :class:`TrackPerception` instead of colour distances.

    The learned parts run batched over all clips of a call (one segmenter pass per prompt, one shape and
    one motion pass in all), on the perception's device; the tracks and rules run on the CPU.
    """

    def __init__(self, perception: TrackPerception) -> None:
        self.perception = perception
        self._backgrounds: dict[tuple[BackgroundSpec, BackgroundSpec], Tensor] = {}

    @torch.no_grad()
    def backgrounds(self, first: BackgroundSpec, last: BackgroundSpec) -> Tensor:
        """``[2, 3, H, W]`` on the CPU: the decoded first and last background (kept, as the weights are fixed)."""
        if (first, last) not in self._backgrounds:
            self._backgrounds[first, last] = self.perception.backgrounds([first, last]).float().cpu()
        return self._backgrounds[first, last]

    @torch.no_grad()
    def tracks(self, clips: Tensor, scene: SceneSpec) -> list[list[SpriteTrack]]:
        """Per clip of ``clips [B, T, 3, H, W]`` (float in [0, 1]), the tracks of ``scene``'s sprites."""
        p, sprites = self.perception, scene.all_sprites
        b, t = clips.shape[:2]
        masks = p.masks(clips.flatten(0, 1), [s.color for s in sprites])  # [S, B*T, H, W]
        seen = torch.stack([p.detect_logits(m.flatten(1).sum(1), detect_cell(s.shape, s.size)) > 0
                            for s, m in zip(sprites, masks)])
        masks, seen = masks.float().cpu().unflatten(1, (b, t)), seen.cpu().unflatten(1, (b, t))
        return [[track_from_mask(masks[k, i], seen[k, i]) for k in range(len(sprites))] for i in range(b)]

    @torch.no_grad()
    def score(self, clips: Tensor, prompts: Sequence[str], fps: float, motion: bool = True) -> list[dict[str, float]]:
        """:data:`PARTS` of each clip of ``clips [B, T, 3, H, W]`` (float in [0, 1]); ``motion=False`` skips the
        parts a single frame cannot show (consistency and motion, left out of the results). As in the ground
        truth, a sprite seen in one frame only has subject consistency 1 (one never seen: 0) and motion 0."""
        p = self.perception
        t = clips.shape[1]
        rows: list[tuple] = [()] * len(clips)
        for prompt in dict.fromkeys(prompts):
            index = [i for i, q in enumerate(prompts) if q == prompt]
            scene = scene_of(prompt, t)
            backgrounds = self.backgrounds(scene.background, scene.background_changes()[-1][1])
            for i, tracks in zip(index, self.tracks(clips[index], scene)):
                rows[i] = (scene, tracks, backgrounds)
        crops, radii, owners, feats, words, movers = [], [], [], [], [], []
        for i, (scene, tracks, _) in enumerate(rows):
            for k, (sprite, track) in enumerate(zip(scene.all_sprites, tracks)):
                pick = shape_frames(track)
                if len(pick):
                    crops.append(normalized_crops(track.mask[:, None], track)[pick])
                    radii.append((track.area[pick].clamp(min=1.0) / math.pi).sqrt())
                    owners += [(i, k, SHAPES.index(sprite.shape))] * len(pick)
                f = motion_features(track, fps, p.config.motion_points) if motion else None
                if f is not None:
                    feats.append(f)
                    words.append(MOTIONS.index(sprite.motion))
                    movers.append((i, k))
        shape = [[[] for _ in scene.all_sprites] for scene, _, _ in rows]
        if crops:
            probs = p.shape_logits(torch.cat(crops).to(p.device), torch.cat(radii).to(p.device)).softmax(1).cpu()
            for (i, k, captioned), prob in zip(owners, probs):
                shape[i][k].append(float(prob[captioned]))
        moved = [[0.0] * len(scene.all_sprites) for scene, _, _ in rows]
        if feats:
            matches = p.motion_scores(torch.stack(feats).to(p.device), torch.tensor(words, device=p.device)).cpu()
            for (i, k), m in zip(movers, matches.tolist()):
                moved[i][k] = m
        out, clips = [], clips.float().cpu()
        for i, (scene, tracks, (first_bg, last_bg)) in enumerate(rows):
            frames, n = clips[i], len(tracks)
            parts = {
                "alignment_background": background_match(frames, sprite_free(tracks, frames), first_bg, last_bg),
                "alignment_presence": sum(presence(tr, w) for tr, w in zip(tracks, scene.sprite_windows())) / n,
                "alignment_shape": sum(sum(v) / len(v) if v else 0.0 for v in shape[i]) / n,
            }
            if motion:
                parts.update(subject_consistency=subject_consistency(tracks), alignment_motion=sum(moved[i]) / n)
            out.append(parts)
        return out

    def parts(self, frames: Tensor, prompt: str, fps: float, motion: bool = True) -> dict[str, float]:
        """:meth:`score` of one clip ``[T, 3, H, W]``."""
        return self.score(frames[None], [prompt], fps, motion)[0]


def video_overall(parts: dict[str, float]) -> float:
    """The fused ground truth's weights: half subject consistency, half the mean of the four alignment parts."""
    text = sum(parts[k] for k in PARTS[1:]) / 4
    return fused_truth({"text_alignment": text, "subject_consistency": parts["subject_consistency"]})


class _TrackRewardBase:
    def __init__(self, perception: TrackPerception) -> None:
        self.perception = perception.eval()
        self.judge = TrackJudge(self.perception)

    @property
    def module(self) -> nn.Module:
        return self.perception

    @property
    def device(self) -> torch.device:
        return self.perception.device

    def to(self, *args, **kwargs):
        self.perception.to(*args, **kwargs)
        return self


class SpritesTrackVideoReward(_TrackRewardBase):
    """``(clips [B, T, 3, H, W], prompts, fps) -> VideoScore``; overall = the fused ground truth's weighting
    of :data:`PARTS` (each in [0, 1])."""

    def __call__(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        if clips.dim() != 5 or clips.shape[2] != 3 or clips.shape[1] < 1:
            raise ValueError(f"clips must be [B, T>=1, 3, H, W], got {list(clips.shape)}")
        if isinstance(prompts, str) or len(prompts) != len(clips):
            raise ValueError(f"need one prompt per clip ({len(clips)})")
        rows = self.judge.score(world_sized(unit_float(clips)).to(self.device), list(prompts), fps)
        parts = {k: torch.tensor([r[k] for r in rows]) for k in PARTS}
        overall = torch.tensor([video_overall(r) for r in rows])
        return VideoScore(overall=overall.to(clips.device), parts={k: v.to(clips.device) for k, v in parts.items()})


class SpritesTrackImageReward(_TrackRewardBase):
    """``(frames [N, 3, H, W], prompts) -> [N]``: mean of the background, presence and shape parts of
    each frame, read as a one-frame clip under the caption, as the ground truth reads a search's chunk
    (:data:`~streamt1.sprites.siblings.IMAGE_TRUTH_PARTS`). A caption's events are spread over that one
    frame, so where sprites enter or leave or the background changes each frame is asked for both the
    start and the end state (a limit of the chunk truth it imitates)."""

    def __call__(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be [N, 3, H, W], got {list(frames.shape)}")
        if isinstance(prompts, str) or len(prompts) != len(frames):
            raise ValueError(f"need one prompt per frame ({len(frames)})")
        planned = world_sized(unit_float(frames)).to(self.device)
        rows = self.judge.score(planned[:, None], list(prompts), float(FPS), motion=False)
        return torch.tensor([sum(r.values()) / len(r) for r in rows]).to(frames.device)


def save_perception(perception: TrackPerception, folder: str | Path, metadata: dict | None = None) -> Path:
    """Write ``track_reward.safetensors`` (float16) and ``track_reward.json`` (config + ``metadata``) atomically."""
    # float16 on disk (half the size; a mask moves by < 0.01, the sibling orders not at all), float32 in memory
    return save_weights({k: v.detach().half().cpu().contiguous() for k, v in perception.state_dict().items()},
                        Path(folder) / f"{FILE_STEM}.safetensors",
                        {"config": asdict(perception.config), **(metadata or {})})


def load_perception(path: str | Path | None = None, device: str | torch.device = "cpu") -> TrackPerception:
    """From a folder holding ``track_reward.safetensors`` + ``.json``, or that ``.safetensors`` file."""
    weights, card = weights_and_card(path if path is not None else DEFAULT_WEIGHTS_DIR, FILE_STEM,
                                     "the Sprites track reward", TRAIN_COMMAND)
    with readable_weights(weights, card, TRAIN_COMMAND):
        fields = json.loads(card.read_text())
        try:
            config = TrackRewardConfig(**fields["config"])
        except ValueError as err:
            if isinstance(err, json.JSONDecodeError):
                raise
            raise ValueError(f"{card}: {err}; re-copy it or retrain with `{TRAIN_COMMAND} --out {weights.parent}`"
                             ) from None
        perception = TrackPerception(config)
        load_checked(perception, load_weights(weights, fields, TRAIN_COMMAND), weights)
    logger.info("loaded the track reward's perception from %s", weights)
    return perception.to(device).eval()
