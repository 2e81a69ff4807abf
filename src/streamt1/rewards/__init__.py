"""Reward models from local files, behind the :class:`~streamt1.interfaces.ImageReward` /
:class:`~streamt1.interfaces.VideoReward` protocols, and the one registry that names them.

    >>> from streamt1.rewards import load_image_reward, load_video_reward
    >>> hps = load_image_reward("hpsv3", "weights/HPSv3", device="cuda", dtype=torch.bfloat16)
    >>> scores = hps(frames, prompts)  # frames [N, 3, H, W] in [0, 1] or uint8 -> [N]

:data:`REWARDS` is read by the CLI (``--image-reward NAME[=PATH]``, ``streamt1 rewards``), the
YAML config (``rewards.image`` / ``rewards.video``) and this API. Each entry names its loader as
``"module:function"``, imported only when that reward is loaded; a loader is called as
``load(folder, device=..., dtype=..., max_batch=...)`` and returns a reward exposing ``.module``
(the ``nn.Module`` holding every weight) and ``.device``. Files are checked here, before a loader
runs, so a missing file costs no weight loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from streamt1.backends import import_object
from streamt1.config import ConfigError
from streamt1.interfaces import ImageReward, VideoReward
from streamt1.rewards.placement import Offloaded

KINDS = ("image", "video")


@dataclass(frozen=True)
class RewardEntry:
    """One reward model: how it is loaded, where its files are and where they come from."""

    name: str
    kind: str  # "image" (frames -> [N]) or "video" (clips -> VideoScore)
    loader: str  # "module:function", called as load(folder, device=, dtype=, max_batch=)
    folder: str | None  # default folder under --weights ("." = --weights itself)
    required: tuple[str, ...]  # files (glob patterns) under the folder, checked before loading
    tree: tuple[str, ...]  # the expected layout of the folder, one entry per line
    published: str
    license: str
    description: str
    gpu_dtype: str = "bfloat16"  # what rewards.dtype=auto means on a GPU
    builtin: Path | None = None  # folder used when neither a path nor --weights is given

    def missing(self, folder: Path) -> list[str]:
        """Required files absent from ``folder``, as paths relative to it."""
        return [pattern for pattern in self.required if not any(folder.glob(pattern))]


def _sprites_weights() -> Path:
    return Path(__file__).resolve().parent.parent / "sprites" / "weights"


REWARDS: dict[str, RewardEntry] = {}


def register_reward(entry: RewardEntry) -> RewardEntry:
    """Add a reward (a plugin's, or a test's); names are unique across both kinds."""
    if entry.kind not in KINDS:
        raise ValueError(f"reward {entry.name!r}: kind={entry.kind!r} must be one of {KINDS}")
    if entry.name in REWARDS:
        raise ValueError(f"reward {entry.name!r} is already registered")
    REWARDS[entry.name] = entry
    return entry


for _entry in (
    RewardEntry(
        "hpsv3", "image", "streamt1.rewards.hpsv3:load", "HPSv3",
        ("HPSv3.safetensors", "Qwen2-VL-7B-Instruct/config.json"),
        ("HPSv3.safetensors  (the whole fine-tuned Qwen2-VL-7B + its head, about 16.6 GB)",
         "Qwen2-VL-7B-Instruct/  (config.json, tokenizer and preprocessor files; no weights needed)"),
        "huggingface.co/MizzenAI/HPSv3 (HPSv3.safetensors) and huggingface.co/Qwen/Qwen2-VL-7B-Instruct",
        "code MIT, weights Apache-2.0",
        "HPSv3 human preference, Qwen2-VL-7B; score = mu of the <|Reward|> head (the paper's short score)",
    ),
    RewardEntry(
        "videoalign", "video", "streamt1.rewards.videoalign:load", "VideoReward",
        ("model_config.json", "checkpoint-*/model.pth", "Qwen2-VL-2B-Instruct/config.json"),
        ("model_config.json",
         "checkpoint-<step>/model.pth  (the highest step is used; released: checkpoint-11352)",
         "checkpoint-<step>/tokenizer/",
         "Qwen2-VL-2B-Instruct/  (config.json, tokenizer and preprocessor files; no weights needed)"),
        "huggingface.co/KlingTeam/VideoReward (was KwaiVGI/VideoReward) and huggingface.co/Qwen/Qwen2-VL-2B-Instruct",
        "code MIT, weights Apache-2.0",
        "VideoAlign / VideoReward, Qwen2-VL-2B + LoRA; overall = VQ + MQ + TA (the paper's long score)",
    ),
    RewardEntry(
        "pickscore", "image", "streamt1.rewards.pickscore:load", "PickScore_v1",
        ("config.json",),
        ("config.json, model.safetensors  (a transformers CLIPModel, ViT-H/14)",
         "tokenizer and preprocessor files  (from laion/CLIP-ViT-H-14-laion2B-s32B-b79K)"),
        "huggingface.co/yuvalkirstain/PickScore_v1 (processor: laion/CLIP-ViT-H-14-laion2B-s32B-b79K)",
        "MIT",
        "PickScore, CLIP ViT-H/14; score = logit_scale * cos(text, image)",
    ),
    RewardEntry(
        "hpsv2", "image", "streamt1.rewards.hpsv2:load", "HPSv2",
        ("HPS_v2.1_compressed.pt",),
        ("HPS_v2.1_compressed.pt  (open_clip ViT-H-14 state dict)",),
        "huggingface.co/xswu/HPSv2 (HPS_v2.1_compressed.pt)",
        "Apache-2.0",
        "HPSv2.1, open_clip ViT-H-14; score = cos(image, text)",
    ),
    RewardEntry(
        "imagereward", "image", "streamt1.rewards.imagereward:load", "ImageReward",
        ("ImageReward.pt", "med_config.json"),
        ("ImageReward.pt  (BLIP ViT-L + BERT cross-attention + MLP state dict)", "med_config.json"),
        "huggingface.co/THUDM/ImageReward (ImageReward.pt, med_config.json)",
        "Apache-2.0",
        "ImageReward, BLIP; score normalised with the authors' mean and std",
    ),
    RewardEntry(
        "sprites-image", "image", "streamt1.rewards.sprites:load_image", ".",
        ("image_reward.safetensors", "image_reward.json"),
        ("image_reward.safetensors", "image_reward.json  (config and training card)"),
        "built in (src/streamt1/sprites/weights), trained by `streamt1 sprites train-rewards`",
        "Apache-2.0 (this project)",
        "the Sprites world's learned frame reward (caption match + cleanliness)",
        gpu_dtype="float32", builtin=_sprites_weights(),
    ),
    RewardEntry(
        "sprites-video", "video", "streamt1.rewards.sprites:load_video", ".",
        ("video_reward.safetensors", "video_reward.json"),
        ("video_reward.safetensors", "video_reward.json  (config and training card)"),
        "built in (src/streamt1/sprites/weights), trained by `streamt1 sprites train-rewards`",
        "Apache-2.0 (this project)",
        "the Sprites world's learned clip reward; overall = motion + coherence + alignment",
        gpu_dtype="float32", builtin=_sprites_weights(),
    ),
):
    register_reward(_entry)


def a_kind(kind: str) -> str:
    """"an image" / "a video", for messages."""
    return f"an {kind}" if kind == "image" else f"a {kind}"


def reward_names(kind: str | None = None) -> tuple[str, ...]:
    return tuple(name for name, entry in REWARDS.items() if kind is None or entry.kind == kind)


def get_reward(name: str, kind: str | None = None) -> RewardEntry:
    """The entry for ``name``; ConfigError for an unknown name (listing the names) or the wrong kind."""
    if name not in REWARDS:
        known = ", ".join(reward_names(kind))
        what = f"{kind} reward" if kind else "reward"
        raise ConfigError(f"unknown {what} {name!r}: expected one of {known} (`streamt1 rewards` lists them)")
    entry = REWARDS[name]
    if kind is not None and entry.kind != kind:
        raise ConfigError(f"{name!r} is {a_kind(entry.kind)} reward, not {a_kind(kind)} reward: pass it as "
                          f"--{entry.kind}-reward {name} (rewards.{entry.kind}); {kind} rewards are "
                          f"{', '.join(reward_names(kind))}")
    return entry


def parse_spec(spec: str, kind: str) -> tuple[RewardEntry, Path | None]:
    """``"NAME"`` or ``"NAME=PATH"`` (the CLI's and the YAML's syntax) -> entry and optional folder."""
    name, sep, path = spec.partition("=")
    if not name.strip() or (sep and not path.strip()):
        raise ConfigError(f"rewards.{kind}={spec!r} is invalid: expected NAME or NAME=PATH")
    return get_reward(name.strip(), kind), Path(path.strip()) if sep else None


def check_files(entry: RewardEntry, folder: str | Path) -> Path:
    """``folder`` if it holds every required file; else FileNotFoundError in one line."""
    folder = Path(folder)
    missing = entry.missing(folder)
    if missing:
        raise FileNotFoundError(
            f"reward {entry.name!r}: {folder / missing[0]} not found; expected {folder}/ holding "
            f"{'; '.join(entry.tree)}; published at {entry.published}"
        )
    return folder


def load_reward(
    name: str,
    path: str | Path,
    *,
    kind: str | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    max_batch: int = 8,
    offload: bool = False,
) -> Any:
    """Check ``path``'s files, then load reward ``name`` onto ``device`` in ``dtype``.

    max_batch: images (or clips) per forward. offload: keep the weights on the CPU between calls
    and move them to ``device`` for each call (see :class:`~streamt1.rewards.placement.Offloaded`).
    """
    entry = get_reward(name, kind)
    folder = check_files(entry, path)
    if max_batch < 1:
        raise ConfigError(f"rewards.max_batch={max_batch} is invalid: expected an integer >= 1")
    device = torch.device(device)
    load = import_object(entry.loader)
    reward = load(folder, device=torch.device("cpu") if offload else device, dtype=dtype, max_batch=max_batch)
    return Offloaded(reward, device) if offload else reward


def load_image_reward(name: str, path: str | Path, device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float32, **options: Any) -> ImageReward:
    """Image reward ``name`` from ``path``: frames ``[N, 3, H, W]`` and N prompts -> ``[N]``.

    ``options``: ``max_batch``, ``offload`` (see :func:`load_reward`).
    """
    return load_reward(name, path, kind="image", device=device, dtype=dtype, **options)


def load_video_reward(name: str, path: str | Path, device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float32, **options: Any) -> VideoReward:
    """Video reward ``name`` from ``path``: clips ``[B, T, 3, H, W]``, B prompts, fps -> VideoScore.

    ``options``: ``max_batch``, ``offload`` (see :func:`load_reward`).
    """
    return load_reward(name, path, kind="video", device=device, dtype=dtype, **options)
