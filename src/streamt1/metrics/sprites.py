"""Ground-truth metrics for Sprites videos: analytic, no learned model, independent of the rewards.

The scene parameters (from the caption, or the scene itself) say which colours to look for, so
each sprite is tracked by a soft colour mask; everything else is measured on pixels. The names
and conventions follow VBench (each score in [0, 1], higher is better):

* ``subject_consistency``: VBench's formula (mean over t >= 1 of
  ``(max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t))) / 2``) with ``f_t`` = the sprite's colour
  mask sampled around its centroid, scale-normalised (so growing is not a change of identity);
  averaged over sprites, over the frames from a sprite's first to its last detection.
* ``background_consistency``: the same formula with ``1 - mean |a - b|`` over pixels that no sprite
  covers in either frame, instead of the cosine of CLIP features.
* ``motion_smoothness``: VBench interpolates odd frames from even ones; here the interpolation is
  the average of the two neighbours, score ``1 - mean |f_t - (f_{t-1} + f_{t+1}) / 2|``.
* ``imaging_quality``: sharpness (Crété-Roffet et al. 2007, "The blur effect": how much gradient
  a re-blur destroys) times a noise penalty (Immerkær 1996 fast noise estimate).
* ``text_alignment``: mean of background match, sprite presence, shape match (template IoU) and
  motion direction match against the caption; the parts are returned as ``alignment_*`` too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import (
    DIRECTIONS,
    FPS,
    SCALE_RANGE,
    SHAPES,
    SIZES,
    SceneSpec,
    SpriteSpec,
    color_tensor,
    render_background,
    shape_sdf,
)

METRIC_NAMES = (
    "subject_consistency",
    "background_consistency",
    "motion_smoothness",
    "imaging_quality",
    "text_alignment",
)
MASK_NEAR, MASK_FAR = 0.2, 0.35  # RGB distance to the sprite colour: full mask .. no mask
CROP_GRID = 24  # samples per side of a scale-normalised sprite crop
CROP_EXTENT = 2.0  # crop half-width in equivalent-disc radii
MIN_SPEED = 0.02  # frame widths per second below which a sprite counts as still
EDGE_FRACTION = 0.15  # share of the clip at each end used for "initial" and "final" checks
BACKGROUND_TOLERANCE = 0.15  # mean absolute error at which the background match reaches 0
SHARPNESS_REF = 0.5  # blur-effect sharpness of a clean render (anti-aliased one-pixel edges)
NOISE_REF = 0.08  # estimated noise sigma at which the imaging quality reaches 0


@dataclass
class SpriteTrack:
    """A sprite found by colour in every frame."""

    mask: Tensor  # [T, H, W] soft colour mask
    area: Tensor  # [T] in pixels
    cx: Tensor  # [T] centroid, fraction of the width (circular mean: positions wrap)
    cy: Tensor  # [T]
    detected: Tensor  # [T] bool


@lru_cache(maxsize=None)
def unit_area(shape: str) -> float:
    """Area of a shape of radius 1 (in squared radii)."""
    c = torch.linspace(-1.5, 1.5, 601)
    inside = shape_sdf(shape, c[None, :], c[:, None]) < 0
    return float(inside.float().mean()) * 9.0


def color_mask(frames: Tensor, color: str) -> Tensor:
    """Soft mask ``[T, H, W]`` of pixels close to a sprite colour."""
    dist = (frames - color_tensor(color).to(frames)[None, :, None, None]).norm(dim=1)
    return ((MASK_FAR - dist) / (MASK_FAR - MASK_NEAR)).clamp(0, 1)


def _circular_mean(weights: Tensor, axis_len: int, dim: int) -> Tensor:
    """Weighted circular mean position along one axis, as a fraction in [0, 1)."""
    pos = (torch.arange(axis_len, dtype=weights.dtype, device=weights.device) + 0.5) / axis_len
    angle = 2 * math.pi * pos
    shape = [1] * weights.dim()
    shape[dim] = axis_len
    s = (weights * torch.sin(angle).view(shape)).flatten(1).sum(1)
    c = (weights * torch.cos(angle).view(shape)).flatten(1).sum(1)
    return torch.remainder(torch.atan2(s, c) / (2 * math.pi), 1.0)


def _fill_forward(values: Tensor, valid: Tensor) -> Tensor:
    """Replace entries where ``valid`` is False by the last valid one (the first valid before that)."""
    idx = torch.where(valid, torch.arange(len(valid)), torch.zeros_like(valid, dtype=torch.long))
    idx = torch.cummax(idx, 0).values
    first = int(valid.float().argmax())
    idx = torch.where(torch.arange(len(valid)) < first, torch.full_like(idx, first), idx)
    return values[idx]


def min_detect_area(shape: str, size: str, width: int) -> float:
    """Pixels of colour a sprite needs to count as seen: 30 % of its smallest drawn area."""
    return 0.3 * unit_area(shape) * (SIZES[size] * SCALE_RANGE[0] * width) ** 2


def track_from_mask(mask: Tensor, detected: Tensor) -> SpriteTrack:
    """A track from a sprite's soft mask ``[T, H, W]`` and the frames ``[T]`` where it counts as seen;
    undetected frames keep the last known centroid and area."""
    _, h, w = mask.shape
    area = mask.flatten(1).sum(1)
    cx, cy = _circular_mean(mask, w, 2), _circular_mean(mask, h, 1)
    if bool(detected.any()):
        cx, cy, area = (_fill_forward(v, detected) for v in (cx, cy, area))
    return SpriteTrack(mask, area, cx, cy, detected)


def track_sprite(frames: Tensor, sprite: SpriteSpec) -> SpriteTrack:
    """Track a sprite by colour (:func:`color_mask`)."""
    mask = color_mask(frames, sprite.color)
    return track_from_mask(mask, mask.flatten(1).sum(1) > min_detect_area(sprite.shape, sprite.size, frames.shape[-1]))


def _wrap_pad(images: Tensor, pad: int) -> Tensor:
    """Circular padding by ``pad`` on both sides of the last two dims, also beyond one frame size
    (``F.pad`` refuses that; a sprite whose colour fills the frame has a crop wider than the frame)."""
    h, w = images.shape[-2:]
    rows = torch.arange(-pad, h + pad, device=images.device) % h
    cols = torch.arange(-pad, w + pad, device=images.device) % w
    return images[..., rows, :][..., cols]


def normalized_crops(images: Tensor, track: SpriteTrack) -> Tensor:
    """Crops ``[T, C, g, g]`` of ``images [T, C, H, W]`` centred on the sprite, scaled to its size."""
    t, _, h, w = images.shape
    radius_px = (track.area.clamp(min=1.0) / math.pi).sqrt()  # equivalent-disc radius [T]
    pad = int(math.ceil(float(radius_px.max()) * CROP_EXTENT)) + 2
    padded = _wrap_pad(images, pad)
    offsets = torch.linspace(-1, 1, CROP_GRID, device=images.device) * CROP_EXTENT  # in radii
    ox = track.cx[:, None] * w + pad + offsets[None] * radius_px[:, None]  # [T, g] padded px coords
    oy = track.cy[:, None] * h + pad + offsets[None] * radius_px[:, None]
    hp, wp = padded.shape[-2:]
    gx = (ox - 0.5) / (wp - 1) * 2 - 1  # align_corners=True: -1 is the first pixel centre
    gy = (oy - 0.5) / (hp - 1) * 2 - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # [T, g, g, 2]
    return F.grid_sample(padded, grid, mode="bilinear", align_corners=True)


def vbench_consistency(similarity_prev: Tensor, similarity_first: Tensor) -> float:
    """VBench's per-frame average of ``(max(0, sim(t-1, t)) + max(0, sim(0, t))) / 2`` over t >= 1."""
    if similarity_prev.numel() == 0:
        return 1.0
    return float(((similarity_prev.clamp(min=0) + similarity_first.clamp(min=0)) / 2).mean())


def subject_consistency(tracks: list[SpriteTrack]) -> float:
    scores = []
    for tr in tracks:
        seen = tr.detected.nonzero().flatten()
        if len(seen) == 0:
            scores.append(0.0)
            continue
        span = slice(int(seen[0]), int(seen[-1]) + 1)
        crops = normalized_crops(tr.mask[:, None], tr)[span].flatten(1)  # [S, g*g]
        feats = F.normalize(crops, dim=1, eps=1e-6)
        prev = (feats[1:] * feats[:-1]).sum(1)
        first = feats[1:] @ feats[0]
        scores.append(vbench_consistency(prev, first))
    return sum(scores) / len(scores)


def sprite_free(tracks: list[SpriteTrack], like: Tensor) -> Tensor:
    """``[T, H, W]`` True where no sprite's (dilated) colour mask reaches."""
    covered = torch.zeros_like(like[:, 0])
    for tr in tracks:
        covered = torch.maximum(covered, tr.mask)
    covered = F.max_pool2d(covered[:, None], 5, stride=1, padding=2)[:, 0]
    return covered < 0.05


def _masked_similarity(a: Tensor, b: Tensor, valid: Tensor) -> Tensor:
    """``1 - mean |a - b|`` over valid pixels; ``a, b [T, 3, H, W]``, ``valid [T, H, W]`` -> ``[T]``. A frame
    with no valid pixel shows no background at all (sprite colour everywhere): 0, a full miss, not a match."""
    diff = (a - b).abs().mean(1)
    n = valid.flatten(1).sum(1)
    similarity = 1 - (diff * valid).flatten(1).sum(1) / n.clamp(min=1)
    return torch.where(n > 0, similarity, torch.zeros_like(similarity))


def background_consistency(frames: Tensor, tracks: list[SpriteTrack]) -> float:
    free = sprite_free(tracks, frames)
    prev = _masked_similarity(frames[1:], frames[:-1], free[1:] & free[:-1])
    first = _masked_similarity(frames[1:], frames[:1].expand_as(frames[1:]), free[1:] & free[:1])
    return vbench_consistency(prev, first)


def motion_smoothness(frames: Tensor) -> float:
    """``1 - mean |f_t - (f_{t-1} + f_{t+1}) / 2|`` over odd t (needs at least 3 frames)."""
    middle = frames[1:-1:2]
    interpolated = (frames[0:-2:2] + frames[2::2])[: len(middle)] / 2
    return float(1 - (middle - interpolated).abs().mean())


def _box_blur(x: Tensor, dim: int, taps: int = 5) -> Tensor:
    kernel = torch.full((taps,), 1.0 / taps, dtype=x.dtype, device=x.device)
    shape = [1, 1, 1, 1]
    shape[dim] = taps
    padding = [0, 0]
    padding[dim - 2] = taps // 2
    return F.conv2d(x, kernel.view(shape), padding=tuple(padding))


def blur_sharpness(gray: Tensor) -> Tensor:
    """Crété-Roffet sharpness ``[T]`` in [0, 1] of ``gray [T, 1, H, W]`` (1 = nothing left to blur)."""
    scores = []
    for dim in (2, 3):
        d = gray.diff(dim=dim).abs()
        db = _box_blur(gray, dim).diff(dim=dim).abs()
        variation = d.flatten(1).sum(1)
        lost = (d - db).clamp(min=0).flatten(1).sum(1)
        scores.append(lost / variation.clamp(min=1e-6))
    return (scores[0] + scores[1]) / 2


def noise_sigma(gray: Tensor) -> Tensor:
    """Immerkær's noise standard deviation estimate ``[T]`` of ``gray [T, 1, H, W]``."""
    kernel = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], dtype=gray.dtype)
    response = F.conv2d(gray, kernel.to(gray.device)[None, None]).abs()
    return response.flatten(1).mean(1) * math.sqrt(math.pi / 2) / 6


def imaging_quality(frames: Tensor) -> float:
    gray = frames.mean(1, keepdim=True)
    sharp = (blur_sharpness(gray) / SHARPNESS_REF).clamp(0, 1)
    clean = (1 - noise_sigma(gray) / NOISE_REF).clamp(0, 1)
    return float((sharp * clean).mean())


def shape_frames(track: SpriteTrack, max_frames: int = 16) -> Tensor:
    """Indices of up to ``max_frames`` detected frames spread evenly, where a sprite's shape is read."""
    seen = track.detected.nonzero().flatten()
    if len(seen) == 0:
        return seen
    return seen[torch.linspace(0, len(seen) - 1, min(max_frames, len(seen))).round().long()]


def template_ious(track: SpriteTrack, frames: Tensor) -> Tensor:
    """``[len(frames), len(SHAPES)]``: IoU of the sprite's scale-normalised mask with each shape's template."""
    crops = normalized_crops(track.mask[:, None], track)[frames, 0]  # [S, g, g]
    rho_px = (track.area[frames].clamp(min=1.0) / math.pi).sqrt()[:, None, None]  # [S, 1, 1]
    offsets = torch.linspace(-1, 1, CROP_GRID) * CROP_EXTENT  # in equivalent-disc radii
    u, v = offsets[None, None, :], offsets[None, :, None]
    ious = []
    for name in SHAPES:
        r = math.sqrt(math.pi / unit_area(name))  # shape radius in equivalent-disc radii
        template = (0.5 - shape_sdf(name, u / r, v / r) * r * rho_px).clamp(0, 1)  # [S, g, g]
        inter = torch.minimum(crops, template).flatten(1).sum(1)
        union = torch.maximum(crops, template).flatten(1).sum(1).clamp(min=1e-6)
        ious.append(inter / union)
    return torch.stack(ious, 1)


def shape_accuracy(track: SpriteTrack, shape: str, max_frames: int = 16) -> float:
    """Share of detected frames (up to ``max_frames``) whose mask best matches ``shape``'s template."""
    frames = shape_frames(track, max_frames)
    if len(frames) == 0:
        return 0.0
    best = template_ious(track, frames).argmax(1)  # [S]
    return float((best == SHAPES.index(shape)).float().mean())


def wrapped_delta(delta: Tensor) -> Tensor:
    return torch.remainder(delta + 0.5, 1.0) - 0.5


def motion_match(track: SpriteTrack, motion: str, fps: float) -> float:
    """How well a sprite's centroid / area track matches ``motion`` (0..1)."""
    seen = track.detected.nonzero().flatten()
    if len(seen) < 2:
        return 0.0
    duration = float(seen[-1] - seen[0]) / fps
    dx, dy = wrapped_delta(track.cx[seen].diff()), wrapped_delta(track.cy[seen].diff())
    path_speed = float(torch.sqrt(dx**2 + dy**2).sum()) / duration
    if motion in DIRECTIONS:
        vx, vy = float(dx.sum()) / duration, float(dy.sum()) / duration
        speed = math.hypot(vx, vy)
        ex, ey = DIRECTIONS[motion]
        return max(0.0, (vx * ex + vy * ey) / speed) if speed > MIN_SPEED else 0.0
    if motion == "bounce":
        return min(1.0, path_speed / (2 * MIN_SPEED))
    if motion == "orbit":
        x = track.cx[seen[0]] + torch.cumsum(torch.cat([dx.new_zeros(1), dx]), 0)  # unwrapped path
        y = track.cy[seen[0]] + torch.cumsum(torch.cat([dy.new_zeros(1), dy]), 0)
        angle = torch.atan2(y - y.mean(), x - x.mean())
        turn = torch.remainder(angle.diff() + math.pi, 2 * math.pi) - math.pi
        consistent = float(turn.sum().abs() / turn.abs().sum().clamp(min=1e-6))
        return consistent if path_speed > MIN_SPEED else 0.0
    area = track.area[seen]
    third = max(1, len(area) // 3)
    growth = math.log(float(area[-third:].mean()) / float(area[:third].mean().clamp(min=1e-6)))
    sign = 1.0 if motion == "grow" else -1.0
    return min(1.0, max(0.0, sign * growth / math.log(1.5)))


def background_match(frames: Tensor, free: Tensor, first: Tensor, last: Tensor) -> float:
    """Initial frames against the expected first background ``[3, H, W]``, final frames against the last."""
    t = frames.shape[0]
    n = max(1, round(t * EDGE_FRACTION))
    scores = []
    for span, expected in ((slice(0, n), first), (slice(t - n, t), last)):
        error = 1 - _masked_similarity(frames[span], expected.to(frames)[None].expand_as(frames[span]), free[span])
        scores.append(float((1 - error.mean() / BACKGROUND_TOLERANCE).clamp(0, 1)))
    return sum(scores) / len(scores)


def presence(track: SpriteTrack, window: tuple[int, int | None]) -> float:
    """Initial sprites must be there at the start; at the end, present unless they left."""
    t = len(track.detected)
    n = max(1, round(t * EDGE_FRACTION))
    checks = []
    if window[0] == 0:
        checks.append(float(track.detected[:n].float().mean()))
    end_seen = float(track.detected[-n:].float().mean())
    checks.append(end_seen if window[1] is None else 1 - end_seen)
    return sum(checks) / len(checks)


def text_alignment(frames: Tensor, scene: SceneSpec, tracks: list[SpriteTrack], fps: float) -> dict[str, float]:
    sprites, windows = scene.all_sprites, scene.sprite_windows()
    parts = {
        "alignment_background": background_match(frames, sprite_free(tracks, frames), *(
            render_background(spec, frames.shape[-1]) for spec in (scene.background, scene.background_changes()[-1][1]))),
        "alignment_presence": sum(presence(tr, w) for tr, w in zip(tracks, windows)) / len(tracks),
        "alignment_shape": sum(shape_accuracy(tr, s.shape) for tr, s in zip(tracks, sprites)) / len(tracks),
        "alignment_motion": sum(motion_match(tr, s.motion, fps) for tr, s in zip(tracks, sprites)) / len(tracks),
    }
    return {"text_alignment": sum(parts.values()) / len(parts), **parts}


def evaluate_video(frames: Tensor, caption: str | SceneSpec, fps: float = FPS) -> dict[str, float]:
    """All Sprites metrics of one video ``[T, 3, H, W]`` (floats in [0, 1], or uint8 as
    :class:`~streamt1.search.beam.SearchResult` holds them) against a caption or scene.

    Returns :data:`METRIC_NAMES` (0..1, higher is better) plus the ``alignment_*`` parts.
    """
    if frames.dim() != 4 or frames.shape[1] != 3 or frames.shape[2] != frames.shape[3]:
        raise ValueError(f"frames must be [T, 3, H, H], got {list(frames.shape)}")
    if frames.shape[0] < 3:
        raise ValueError(f"need at least 3 frames to score motion, got {frames.shape[0]}")
    if frames.dtype == torch.uint8:  # else 0..255 clamped to [0, 1] scores a perfect video near 0
        frames = frames.float() / 255
    elif not frames.is_floating_point():
        raise ValueError(f"frames must be floats in [0, 1] or uint8, got {frames.dtype}")
    frames = frames.detach().float().cpu().clamp(0, 1)
    scene = parse_caption(caption, num_frames=frames.shape[0]) if isinstance(caption, str) else caption
    tracks = [track_sprite(frames, s) for s in scene.all_sprites]
    return {
        "subject_consistency": subject_consistency(tracks),
        "background_consistency": background_consistency(frames, tracks),
        "motion_smoothness": motion_smoothness(frames),
        "imaging_quality": imaging_quality(frames),
        **text_alignment(frames, scene, tracks, fps),
    }
