"""VBench's quality dimensions on uint8 videos ``[T, 3, H, W]``, from local weight files.

Formulas and preprocessing follow Vchitect/VBench (``vbench/*.py`` at 45e79ec, identical in the
``vbench`` 0.1.5 wheel) and VBench-Long (``vbench2_beta_long``). Every frame is used.

* ``subject_consistency``: frames resized so the short side is 224 (bilinear, no antialias, no
  crop), /255, ImageNet mean/std; DINO ViT-B/16 CLS features, L2-normalised. For t >= 1:
  ``s_t = (max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_0, f_t))) / 2``; a video scores the mean of s_t.
* ``background_consistency``: the same formula on OpenAI CLIP ViT-B/32 image embeddings; frames
  resized (short side 224, bicubic, no antialias), centre-cropped to 224, /255, CLIP mean/std.
* ``aesthetic_quality``: CLIP ViT-L/14 embeddings (same transform) in fp32, L2-normalised, LAION's
  linear head, /10; a video scores the mean over its frames.
* ``motion_smoothness``: the even frames are interpolated pairwise at t = 0.5 by AMT-S and each
  result (truncated to uint8) is compared with the real odd frame between them; a video scores
  ``(255 - mean |real - interpolated|) / 255``.
* ``dynamic_degree``: RAFT flow between sampled frames (about 8 per second); a video is dynamic (1)
  when enough pairs move more than a size-dependent threshold, else 0 (:mod:`streamt1.metrics.raft`).
* ``imaging_quality``: VBench's default 'longer' mode: frames whose longer side exceeds 512 are
  resized (bilinear, no antialias) to ``int(s H) x int(s W)``, ``s = 512 / max(H, W)``, /255; MUSIQ
  trained on SPAQ (:mod:`streamt1.metrics.musiq`) per frame; a video scores the frame mean / 100.
  (VBench keeps per-video values on 0..100 and divides the aggregate by 100: the same aggregate.)

Aggregates over a folder (:func:`aggregate`) are VBench's single-process ones: the consistency dims
are frame-weighted (all s_t of all videos pooled), the others are the mean over videos.

VBench-Long (:func:`clip_ranges`): a video of ``fps`` frames per second is cut into clips of
``int(fps) * 2`` frames; a leftover tail becomes one more clip extended backwards to full length; a
video shorter than one clip is one clip. Each clip is scored as a short video and a long video
scores the mean over its clips; its aggregate weight is the sum over its clips (so the frame-weighted
pool is VBench-Long's ``all_results``). VBench's maintainers advise VBench-Long for videos of 5.0 s or
more, which is what ``long="auto"`` does.

Where our numbers can differ from VBench's (VBench's behaviour is the default everywhere):

* Multi-GPU VBench averages ``subject_consistency`` over videos instead of frames (its
  ``background_consistency`` stays frame-weighted); we always report the single-GPU pooling, and
  the per-video mean with its interval next to it.
* fp16: ``clip.load`` keeps CLIP in fp16 on a GPU (fp32 on the CPU, from weights rounded to fp16);
  we do the same (``clip_half=None``); ``clip_half=False`` forces fp32. DINO runs in fp32 in both.
* Resizing happens on float frames in 0..255 (VBench converts decoded frames to float first), on the
  CPU, before normalising, in VBench's order (resize, crop, /255, normalise). Frames go through the
  networks in batches (VBench: one at a time for DINO, the whole video for CLIP): equal up to float
  rounding.
* Decoding: VBench reads with decord, we with PyAV (both FFmpeg); RGB conversion may differ by one
  level on some pixels. VBench-Long re-encodes each clip to MP4 before scoring; we score the decoded
  frames of the clip directly (no second lossy encode), which differs slightly, by design.
* VBench-Long's ``--dev_flag`` blends in a clip-to-clip score (DINOv2 / DreamSim + mapping tables)
  for the two consistency dims; we implement the in-clip score only (VBench-Long without --dev_flag).
* ``motion_smoothness``: AMT-S (:mod:`streamt1.metrics.amt`, the user's CC BY-NC file) at VBench's
  scale 1 (VBench shrinks it on GPUs with little memory). VBench decodes with cv2 for this dimension
  and for ``dynamic_degree``.
* ``motion_smoothness`` and ``dynamic_degree`` need frames of at least 128 x 128 pixels (after
  padding to 16 / 8): below that their coarsest correlation level has one pixel and VBench's code
  divides by zero (NaN); we raise an error instead.
* The networks are rebuilt from reading the released code (DINO, OpenAI CLIP, pyiqa's MUSIQ, AMT-S,
  RAFT) and load the released files strictly by name and shape. DINO and CLIP are checked in tests
  against reference forwards; all six networks were run against the reference code itself on the
  same random weights (``benchmarks/vbench_agreement.py``, results in ``benchmarks/README.md``:
  equal to float rounding). The formulas are checked in tests against VBench's loops; VBench's own
  dimension scripts (decord / cv2 readers) were not run: compare a few videos with VBench itself
  before publishing numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.config import ConfigError, require_choice
from streamt1.metrics.backbones import ClipVisual, DinoViT, load_clip_visual, load_dino_vit, load_linear_head
from streamt1.metrics.amt import AmtS, amt_interpolator, load_amt_s, motion_smoothness
from streamt1.metrics.musiq import Musiq, load_musiq, per_frame_quality
from streamt1.metrics.raft import Raft, dynamic_degree, load_raft
from streamt1.metrics.sprites import vbench_consistency
from streamt1.models.checkpoints import missing_file_message
from streamt1.suggest import did_you_mean

logger = logging.getLogger(__name__)

FRAME_SIZE = 224
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
AESTHETIC_SCALE = 10.0  # LAION's head predicts 1..10; VBench divides by 10
IMAGING_SCALE = 100.0  # MUSIQ-SPAQ predicts 0..100; VBench divides its aggregate by 100
BATCH_FRAMES = 32  # VBench's aesthetic batch; used for every backbone here
LONG_MIN_SECONDS = 5.0  # VBench README-FAQ: VBench for < 5.0 s, VBench-Long for >= 5.0 s
LONG_CLIP_SECONDS = 2  # clip_length_mix.yaml: 2 s for every quality dim
LONG_MODES = ("auto", "on", "off")

# Paths inside the weights folder: VBench's cache layout ($VBENCH_CACHE_DIR, default ~/.cache/vbench).
DINO_FILE = "dino_model/dino_vitbase16_pretrain.pth"
CLIP_B32_FILE = "clip_model/ViT-B-32.pt"
CLIP_L14_FILE = "clip_model/ViT-L-14.pt"
AESTHETIC_FILE = "aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth"
MUSIQ_FILE = "pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"
AMT_FILE = "amt_model/amt-s.pth"
RAFT_FILE = "raft_model/models/raft-things.pth"
OPENAI_CLIP = "OpenAI's CLIP release (openaipublic.azureedge.net/clip/models/..., the URL in openai/CLIP clip.py)"
PUBLISHED_AT = {
    DINO_FILE: "facebookresearch/dino (dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/"
               "dino_vitbase16_pretrain.pth)",
    CLIP_B32_FILE: OPENAI_CLIP,
    CLIP_L14_FILE: OPENAI_CLIP,
    AESTHETIC_FILE: "LAION-AI/aesthetic-predictor on GitHub (MIT)",
    AMT_FILE: "huggingface.co/lalala125/AMT (AMT-S, CC BY-NC 4.0: download it yourself)",
    MUSIQ_FILE: "chaofengc/IQA-PyTorch, release v0.1-weights on GitHub",
    RAFT_FILE: "princeton-vl/RAFT (models.zip from its download_models.sh, BSD-3)",
}


def default_weights_dir() -> Path:
    """VBench's cache folder: ``$VBENCH_CACHE_DIR`` or ``~/.cache/vbench``."""
    return Path(os.environ.get("VBENCH_CACHE_DIR") or Path.home() / ".cache" / "vbench")


def weight_file(weights_dir: str | Path, relative: str) -> Path:
    """``weights_dir / relative``, or FileNotFoundError naming the file and where it is published."""
    path = Path(weights_dir) / relative
    if not path.is_file():
        raise FileNotFoundError(missing_file_message(path, Path(relative).name, PUBLISHED_AT.get(relative)))
    return path


# ---------------------------------------------------------------------------------------------
# Preprocessing (torchvision's Resize / CenterCrop semantics, written out)


def short_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(size)``: the short side becomes ``size``, the long one is truncated."""
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def resize_short_side(frames: Tensor, size: int, mode: str) -> Tensor:
    """Float frames ``[T, 3, H, W]`` resized as torchvision does (no antialias, no rounding)."""
    target = short_side_size(*frames.shape[-2:], size)
    if tuple(frames.shape[-2:]) == target:
        return frames
    return F.interpolate(frames, size=target, mode=mode, align_corners=False, antialias=False)


def center_crop(frames: Tensor, size: int) -> Tensor:
    """torchvision ``CenterCrop(size)`` for frames at least ``size`` on both sides."""
    h, w = frames.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return frames[..., top : top + size, left : left + size]


def _normalise(frames: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    mean_t = torch.tensor(mean, dtype=frames.dtype)[:, None, None]
    std_t = torch.tensor(std, dtype=frames.dtype)[:, None, None]
    return (frames / 255.0 - mean_t) / std_t


def dino_transform(video: Tensor) -> Tensor:
    """VBench's ``dino_transform(224)``: uint8 ``[T, 3, H, W]`` -> float ``[T, 3, 224, W']``."""
    return _normalise(resize_short_side(video.float(), FRAME_SIZE, "bilinear"), IMAGENET_MEAN, IMAGENET_STD)


def clip_transform(video: Tensor) -> Tensor:
    """VBench's ``clip_transform(224)``: uint8 ``[T, 3, H, W]`` -> float ``[T, 3, 224, 224]``."""
    frames = center_crop(resize_short_side(video.float(), FRAME_SIZE, "bicubic"), FRAME_SIZE)
    return _normalise(frames, CLIP_MEAN, CLIP_STD)


def _check_video(video: Tensor) -> None:
    if video.dtype != torch.uint8 or video.ndim != 4 or video.shape[1] != 3:
        raise ValueError(f"a video must be uint8 [T, 3, H, W], got {video.dtype} {list(video.shape)}")


@torch.no_grad()
def _batched_features(video: Tensor, transform: Callable[[Tensor], Tensor], model: nn.Module) -> Tensor:
    """Per-frame outputs ``[T, D]``: preprocessing on the CPU (as VBench), the network on its device."""
    _check_video(video)
    device = next(model.parameters()).device
    parts = [model(transform(video[i : i + BATCH_FRAMES].cpu()).to(device)) for i in range(0, len(video), BATCH_FRAMES)]
    return torch.cat(parts)


# ---------------------------------------------------------------------------------------------
# Formulas on per-frame features


def consistency(features: Tensor) -> float:
    """VBench's consistency of frame features ``[T, D]`` (T >= 2), see the module docstring."""
    if len(features) < 2:
        raise ValueError(f"consistency needs at least 2 frames, got {len(features)}")
    feats = F.normalize(features, dim=-1, p=2)
    first = feats[:1].expand(len(feats) - 1, -1)
    sim_prev = F.cosine_similarity(feats[:-1], feats[1:], dim=-1)  # [T-1]
    sim_first = F.cosine_similarity(first, feats[1:], dim=-1)  # [T-1]
    # VBench takes each similarity with .item() and sums in Python floats: pool in float64 likewise.
    return vbench_consistency(sim_prev.double(), sim_first.double())


def frame_mean(values: Tensor) -> float:
    """Mean of per-frame scores ``[T]`` (the aesthetic dimension's per-video score)."""
    return float(values.double().mean())


def dino_features(video: Tensor, dino: DinoViT) -> Tensor:
    return _batched_features(video, dino_transform, dino)


def clip_features(video: Tensor, clip: ClipVisual) -> Tensor:
    return _batched_features(video, clip_transform, clip)


def aesthetic_values(video: Tensor, clip: ClipVisual, head: nn.Linear) -> Tensor:
    """Per-frame LAION aesthetic scores ``[T]`` / 10."""
    feats = F.normalize(clip_features(video, clip).float(), dim=-1, p=2)
    with torch.no_grad():
        return head(feats.to(head.weight.device)).squeeze(-1) / AESTHETIC_SCALE


def imaging_values(video: Tensor, musiq: Musiq) -> Tensor:
    """Per-frame MUSIQ-SPAQ scores ``[T]`` / 100."""
    _check_video(video)
    return per_frame_quality(video, musiq) / IMAGING_SCALE


def subject_consistency(video: Tensor, dino: DinoViT) -> float:
    """VBench subject consistency of one uint8 video ``[T, 3, H, W]`` (DINO ViT-B/16)."""
    return consistency(dino_features(video, dino))


def imaging_quality(video: Tensor, musiq: Musiq) -> float:
    """VBench imaging quality of one uint8 video ``[T, 3, H, W]`` (MUSIQ-SPAQ), in [0, 1]."""
    return frame_mean(imaging_values(video, musiq))


def background_consistency(video: Tensor, clip: ClipVisual) -> float:
    """VBench background consistency of one uint8 video ``[T, 3, H, W]`` (CLIP ViT-B/32)."""
    return consistency(clip_features(video, clip))


def aesthetic_quality(video: Tensor, clip: ClipVisual, head: nn.Linear) -> float:
    """VBench aesthetic quality of one uint8 video ``[T, 3, H, W]`` (CLIP ViT-L/14 + LAION head)."""
    return frame_mean(aesthetic_values(video, clip, head))


# ---------------------------------------------------------------------------------------------
# VBench-Long


def clip_ranges(num_frames: int, fps: float, seconds: int = LONG_CLIP_SECONDS) -> list[range]:
    """VBench-Long's ``split_video_into_clips``: frame ranges of ``int(fps) * seconds`` frames."""
    length = int(fps) * seconds
    if length < 1 or num_frames < 1:
        raise ValueError(f"cannot split {num_frames} frames at {fps} fps into {seconds} s clips")
    if num_frames < length:
        return [range(num_frames)]
    full = num_frames // length
    ranges = [range(i * length, (i + 1) * length) for i in range(full)]
    if num_frames % length:
        ranges.append(range(num_frames - length, num_frames))  # the tail, extended backwards
    return ranges


def use_long(num_frames: int, fps: float, mode: str) -> bool:
    """Whether to score as VBench-Long: ``on``, ``off``, or ``auto`` (duration >= 5.0 s)."""
    require_choice("long", mode, LONG_MODES)
    return mode == "on" or (mode == "auto" and num_frames / fps >= LONG_MIN_SECONDS)


# ---------------------------------------------------------------------------------------------
# Dimensions by name, their backbones loaded once from the weights folder


class Backbones:
    """The networks the dimensions need, each loaded on first use from VBench's cache layout.

    clip_half: ``None`` runs CLIP as ``clip.load`` would (fp16 on CUDA, fp32 on the CPU).
    """

    def __init__(self, weights_dir: str | Path, device: torch.device | str = "cpu", clip_half: bool | None = None):
        self.weights_dir = Path(weights_dir)
        self.device = torch.device(device)
        self.clip_half = self.device.type == "cuda" if clip_half is None else clip_half

    def file(self, relative: str) -> Path:
        return weight_file(self.weights_dir, relative)

    @cached_property
    def dino(self) -> DinoViT:
        return load_dino_vit(self.file(DINO_FILE), self.device)

    @cached_property
    def clip_b32(self) -> ClipVisual:
        return load_clip_visual(self.file(CLIP_B32_FILE), self.device, half=self.clip_half)

    @cached_property
    def clip_l14(self) -> ClipVisual:
        return load_clip_visual(self.file(CLIP_L14_FILE), self.device, half=self.clip_half)

    @cached_property
    def aesthetic_head(self) -> nn.Linear:
        return load_linear_head(self.file(AESTHETIC_FILE), self.device)

    @cached_property
    def musiq(self) -> Musiq:
        return load_musiq(self.file(MUSIQ_FILE), self.device)

    @cached_property
    def amt(self) -> AmtS:
        return load_amt_s(self.file(AMT_FILE), self.device)

    @cached_property
    def raft(self) -> Raft:
        return load_raft(self.file(RAFT_FILE), self.device)


@dataclass(frozen=True)
class Dimension:
    """One VBench dimension: the files it needs and how it scores a clip.

    Either ``frame_values`` (per-frame features or scores, computed once per video and sliced per
    clip) with ``formula``, or ``clip_score`` for dimensions that read a clip as a whole.
    """

    files: tuple[str, ...]
    frame_values: Callable[[Tensor, Backbones], Tensor] | None = None
    formula: Callable[[Tensor], float] = consistency
    clip_score: Callable[[Tensor, float, Backbones], float] | None = None  # (clip, fps, backbones)
    frame_weighted: bool = False  # VBench pools its aggregate over frame pairs, not videos


DIMENSIONS: dict[str, Dimension] = {
    "subject_consistency": Dimension((DINO_FILE,), lambda v, b: dino_features(v, b.dino),
                                     frame_weighted=True),
    "background_consistency": Dimension((CLIP_B32_FILE,), lambda v, b: clip_features(v, b.clip_b32),
                                        frame_weighted=True),
    "motion_smoothness": Dimension((AMT_FILE,),
                                   clip_score=lambda v, _, b: motion_smoothness(v, amt_interpolator(b.amt))),
    "dynamic_degree": Dimension((RAFT_FILE,), clip_score=lambda v, fps, b: dynamic_degree(v, fps, b.raft)),
    "imaging_quality": Dimension((MUSIQ_FILE,), lambda v, b: imaging_values(v, b.musiq), formula=frame_mean),
    "aesthetic_quality": Dimension((CLIP_L14_FILE, AESTHETIC_FILE),
                                   lambda v, b: aesthetic_values(v, b.clip_l14, b.aesthetic_head),
                                   formula=frame_mean),
}
AVAILABLE = tuple(DIMENSIONS)


def check_dimensions(names: Sequence[str]) -> tuple[str, ...]:
    """The requested dimensions (maybe none), or ConfigError naming the unknown ones and listing the available."""
    names = tuple(names)
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        hints = "".join(did_you_mean(n, AVAILABLE) for n in unknown)
        raise ConfigError(f"unknown VBench dimension(s) {unknown}{hints}: available: {list(AVAILABLE)}")
    return names


def check_weights(names: Sequence[str], weights_dir: str | Path) -> None:
    """One FileNotFoundError naming every missing file among the dimensions' weights (before any work),
    so a user fetches them all at once rather than one per run."""
    missing = []
    for relative in dict.fromkeys(f for name in names for f in DIMENSIONS[name].files):
        try:
            weight_file(weights_dir, relative)
        except FileNotFoundError as err:
            missing.append(str(err))
    if len(missing) > 1:
        raise FileNotFoundError(f"{len(missing)} of VBench's files are missing:" + "".join(f"\n  {m}" for m in missing))
    if missing:
        raise FileNotFoundError(missing[0])


@dataclass(frozen=True)
class DimensionScore:
    """One video's score, with VBench's weight for it in a folder aggregate."""

    value: float
    weight: float  # frame pairs for frame-weighted dims, 1 otherwise
    clips: tuple[float, ...] = ()  # per-clip scores in VBench-Long mode


def score_dimension(video: Tensor, fps: float, name: str, backbones: Backbones, long: bool) -> DimensionScore:
    """Score one uint8 video ``[T, 3, H, W]``: as one clip, or as VBench-Long clips averaged."""
    dim = DIMENSIONS[check_dimensions([name])[0]]
    ranges = clip_ranges(len(video), fps) if long else [range(len(video))]
    if dim.clip_score is not None:
        clips = [dim.clip_score(video[r.start : r.stop], fps, backbones) for r in ranges]
    else:
        values = dim.frame_values(video, backbones)  # per-frame features or scores, [T, ...]
        clips = [dim.formula(values[r.start : r.stop]) for r in ranges]
    weight = sum(len(r) - 1 for r in ranges) if dim.frame_weighted else 1.0
    value = sum(clips) / len(clips)
    return DimensionScore(value, float(weight), tuple(clips) if long else ())


def aggregate(scores: Sequence[DimensionScore]) -> float:
    """VBench's folder aggregate: the weighted mean of per-video values (see :class:`Dimension`)."""
    total = sum(s.weight for s in scores)
    if not scores or total <= 0:
        raise ValueError("aggregate needs at least one scored video")
    return sum(s.value * s.weight for s in scores) / total
