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

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from streamt1.backends import import_object
from streamt1.config import ConfigError, require
from streamt1.interfaces import ImageReward, VideoReward
from streamt1.models.checkpoints import CheckpointError, missing_file_message, read_state_dict
from streamt1.rewards.placement import Offloaded

KINDS = ("image", "video")


@dataclass(frozen=True)
class RewardEntry:
    """One reward model: how it is loaded, where its files are and where they come from.

    The one record of these facts: the loader module reads its own entry (``ENTRY``), and listing
    the rewards or checking their files imports no reward code.
    """

    name: str
    kind: str  # "image" (frames -> [N]) or "video" (clips -> VideoScore)
    loader: str  # "module:function", called as load(folder, device=, dtype=, max_batch=)
    folder: str | None  # default folder under --weights ("." = --weights itself)
    # files (glob patterns) under the folder, checked before loading; "a | b": either will do
    required: tuple[str, ...]
    tree: str  # the expected layout of the folder, "<folder>/" standing for it
    published: tuple[str, ...]
    license: str
    description: str
    gpu_dtype: str = "bfloat16"  # what rewards.dtype=auto means on a GPU
    builtin: Path | None = None  # folder used when neither a path nor --weights is given

    def missing(self, folder: Path) -> list[str]:
        """Required files absent from ``folder``, as paths relative to it (alternatives as ``a or b``)."""
        return [required.replace(" | ", " or ") for required in self.required
                if not any(any(folder.glob(pattern)) for pattern in required.split(" | "))]

    def missing_message(self, folder: Path, *relatives: str) -> str:
        """One line: ``relatives`` (paths under ``folder``) are missing, where the release is published, the
        layout."""
        where = folder / relatives[0] if len(relatives) == 1 else folder
        return missing_file_message(
            where, ", ".join(relatives), f"the {self.name} reward's release, {' and '.join(self.published)}",
            layout=one_line(self.tree).replace("<folder>", str(folder)),
        )

    def require(self, folder: Path, *names: str) -> Path:
        """``folder / name`` for the first of ``names`` present; else FileNotFoundError in one line naming all."""
        for name in names:
            if (folder / name).exists():
                return folder / name
        raise FileNotFoundError(self.missing_message(folder, " or ".join(names)))


def one_line(tree: str) -> str:
    """An indented multi-line tree as ``a/{b, c/{d}}`` (for one-line messages); one line unchanged."""
    items = [(len(line) - len(line.lstrip()), line.strip()) for line in tree.splitlines() if line.strip()]
    parts: list[str] = []
    open_indents: list[int] = []  # folders whose brace is open
    for i, (indent, name) in enumerate(items):
        while open_indents and indent <= open_indents[-1]:
            open_indents.pop()
            parts.append("}")
        if parts and not parts[-1].endswith("{"):
            parts.append(", ")
        has_children = i + 1 < len(items) and items[i + 1][0] > indent
        parts.append(name + ("{" if has_children else ""))
        if has_children:
            open_indents.append(indent)
    return "".join(parts) + "}" * len(open_indents)


def _sprites_weights() -> Path:
    return Path(__file__).resolve().parent.parent / "sprites" / "weights"


def _sprites_reward(name: str, kind: str, loader: str, stem: str, command: str, description: str) -> RewardEntry:
    """A built-in Sprites reward: ``<stem>.safetensors`` + ``<stem>.json`` under the weights folder."""
    return RewardEntry(
        name, kind, f"streamt1.rewards.sprites:{loader}", ".", (f"{stem}.safetensors", f"{stem}.json"),
        f"<folder>/{{{stem}.safetensors, {stem}.json}}",
        (f"built in (src/streamt1/sprites/weights); trained by `streamt1 sprites {command}`",),
        "Apache-2.0 (this project)", description, gpu_dtype="float32", builtin=_sprites_weights(),
    )


REWARDS: dict[str, RewardEntry] = {}


def register_reward(entry: RewardEntry) -> RewardEntry:
    """Add a reward (a plugin's, or a test's); names are unique across both kinds."""
    if entry.kind not in KINDS:
        raise ValueError(f"reward {entry.name!r}: kind={entry.kind!r} must be one of {KINDS}")
    if entry.name in REWARDS:
        raise ValueError(f"reward {entry.name!r} is already registered")
    REWARDS[entry.name] = entry
    return entry


QWEN7B, QWEN2B = "Qwen2-VL-7B-Instruct", "Qwen2-VL-2B-Instruct"
for _entry in (
    RewardEntry(
        "hpsv3", "image", "streamt1.rewards.hpsv3:load", "HPSv3",
        ("HPSv3.safetensors", *(f"{QWEN7B}/{f}" for f in ("config.json", "preprocessor_config.json",
                                                            "chat_template.json", "tokenizer.json",
                                                            "tokenizer_config.json"))),
        f"""<folder>/
  HPSv3.safetensors
  {QWEN7B}/
    config.json
    preprocessor_config.json
    chat_template.json
    tokenizer.json
    tokenizer_config.json
""",
        ("https://huggingface.co/MizzenAI/HPSv3 (HPSv3.safetensors)",
         f"https://huggingface.co/Qwen/{QWEN7B} (config, tokenizer and preprocessor files; no weights needed)"),
        f"HPSv3 code MIT, weights Apache-2.0 (MizzenAI/HPSv3); {QWEN7B} Apache-2.0",
        "HPSv3 human preference, Qwen2-VL-7B; score = mu of the <|Reward|> head (the paper's short score)",
    ),
    RewardEntry(
        "videoalign", "video", "streamt1.rewards.videoalign:load", "VideoReward",
        ("model_config.json", "checkpoint-*/model.pth", "checkpoint-*/tokenizer/tokenizer.json",
         "checkpoint-*/tokenizer/tokenizer_config.json",
         *(f"{QWEN2B}/{f}" for f in ("config.json", "preprocessor_config.json", "chat_template.json"))),
        f"""<folder>/
  model_config.json
  checkpoint-11352/
    model.pth
    tokenizer/
      tokenizer.json
      tokenizer_config.json
  {QWEN2B}/
    config.json
    preprocessor_config.json
    chat_template.json
""",
        ("https://huggingface.co/KlingTeam/VideoReward (model_config.json, checkpoint-11352/)",
         f"https://huggingface.co/Qwen/{QWEN2B} (config, chat template, preprocessor files; no weights needed)"),
        "VideoAlign code MIT (KlingAIResearch/VideoAlign), VideoReward weights Apache-2.0 (KlingTeam/VideoReward); "
        f"{QWEN2B} Apache-2.0",
        "VideoAlign / VideoReward, Qwen2-VL-2B + LoRA; overall = VQ + MQ + TA (the paper's long score)",
    ),
    RewardEntry(
        "pickscore", "image", "streamt1.rewards.pickscore:load", "PickScore",
        ("config.json", "model.safetensors | pytorch_model.bin", "processor/preprocessor_config.json",
         "processor/tokenizer.json | processor/vocab.json"),
        "<folder>/{config.json, model.safetensors | pytorch_model.bin, processor/{preprocessor_config.json, "
        "tokenizer.json | vocab.json + merges.txt}}",
        ("Hugging Face yuvalkirstain/PickScore_v1 (config.json, model.safetensors) and "
         "laion/CLIP-ViT-H-14-laion2B-s32B-b79K (processor files, into processor/)",),
        "MIT (yuvalkirstain/PickScore code); weights: see the yuvalkirstain/PickScore_v1 model card",
        "PickScore, CLIP ViT-H/14; score = logit_scale * cos(text, image)",
    ),
    RewardEntry(
        "hpsv2", "image", "streamt1.rewards.hpsv2:load", "HPSv2",
        ("HPS_v2.1_compressed.pt", "tokenizer/vocab.json", "tokenizer/merges.txt"),
        "<folder>/{HPS_v2.1_compressed.pt, tokenizer/{vocab.json, merges.txt}}",
        ("Hugging Face xswu/HPSv2 (HPS_v2.1_compressed.pt); tokenizer/ = the CLIP BPE tokenizer files of "
         "laion/CLIP-ViT-H-14-laion2B-s32B-b79K or openai/clip-vit-large-patch14",),
        "Apache-2.0 (tgxs002/HPSv2 code); weights: see the xswu/HPSv2 model card",
        "HPSv2.1, open_clip ViT-H-14; score = cos(image, text)",
    ),
    RewardEntry(
        "imagereward", "image", "streamt1.rewards.imagereward:load", "ImageReward",
        ("ImageReward.pt", "med_config.json", "bert-base-uncased/vocab.txt"),
        "<folder>/{ImageReward.pt, med_config.json, bert-base-uncased/{vocab.txt}}",
        ("Hugging Face THUDM/ImageReward (ImageReward.pt, med_config.json); bert-base-uncased/ = the tokenizer "
         "files of google-bert/bert-base-uncased",),
        "Apache-2.0 (THUDM/ImageReward code); weights: see the THUDM/ImageReward model card",
        "ImageReward, BLIP; score normalised with the authors' mean and std",
    ),
    *(_sprites_reward(*spec) for spec in (  # name, kind, loader, file stem, training command, description
        ("sprites-image", "image", "load_image", "image_reward", "train-rewards",
         "the Sprites world's learned frame reward (caption match + cleanliness)"),
        ("sprites-video", "video", "load_video", "video_reward", "train-rewards",
         "the Sprites world's learned clip reward; overall = motion + coherence + alignment"),
        ("sprites-track-image", "image", "load_track_image", "track_reward", "train-track-reward",
         "the Sprites world's object-centric frame reward (learned masks, shapes, background; mean of "
         "background, presence and shape)"),
        ("sprites-track-video", "video", "load_track_video", "track_reward", "train-track-reward",
         "the Sprites world's object-centric clip reward (learned masks and tracks, the ground truth's rules); "
         "overall = (subject consistency + mean of background, presence, shape, motion) / 2"),
    )),
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
    return get_reward(name.strip(), kind), Path(path.strip()).expanduser() if sep else None


def check_files(entry: RewardEntry, folder: str | Path) -> Path:
    """``folder`` if it holds every required file; else FileNotFoundError in one line."""
    folder = Path(folder)
    if folder.is_file():  # e.g. the weights file itself, where the folder that holds the release belongs
        raise FileNotFoundError(f"{folder} is a file, not a folder: the {entry.name} reward is read from a folder "
                                f"laid out as {one_line(entry.tree)}; give that folder")
    missing = entry.missing(folder)
    if missing:  # every one still to fetch, so a user does not fetch them in rounds
        raise FileNotFoundError(entry.missing_message(folder, *missing))
    return folder


def check_max_batch(max_batch: int, name: str = "max_batch") -> None:
    """ConfigError unless ``max_batch`` (images or clips per forward) is an integer >= 1."""
    require(isinstance(max_batch, int) and max_batch >= 1, name, max_batch, "an integer >= 1")


def read_weights(path: Path, reward: str) -> dict[str, torch.Tensor]:
    """A reward loader's state dict from ``path`` (see :func:`~streamt1.models.checkpoints.read_state_dict`);
    ConfigError naming the reward when the file is unreadable or holds no state dict."""
    try:
        return read_state_dict(path)
    except CheckpointError as exc:
        raise ConfigError(f"{reward}: {exc}") from exc


def load_reward(
    name: str,
    path: str | Path,
    *,
    kind: str | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    max_batch: int | None = None,
    offload: bool = False,
) -> Any:
    """Check ``path``'s files, then load reward ``name`` onto ``device`` in ``dtype``.

    max_batch: images (or clips) per forward (None: the reward's own default). offload: keep the
    weights on the CPU between calls and move them to ``device`` for each call (see
    :class:`~streamt1.rewards.placement.Offloaded`).
    """
    entry = get_reward(name, kind)
    folder = check_files(entry, path)
    if max_batch is not None:
        check_max_batch(max_batch, "rewards.max_batch")
    device = torch.device(device)
    load = import_object(entry.loader)
    batching = {} if max_batch is None else {"max_batch": max_batch}
    try:
        reward = load(folder, device=torch.device("cpu") if offload else device, dtype=dtype, **batching)
    except (OSError, KeyError, json.JSONDecodeError, UnicodeDecodeError, SafetensorError, pickle.UnpicklingError) as err:
        # what reading a damaged file raises (transformers reports an unparsable config as an OSError without
        # errno); a file system error (errno set: permission, full disk) is the CLI's to report as such
        if isinstance(err, FileNotFoundError) or (isinstance(err, OSError) and err.errno is not None):
            raise
        detail = f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
        culprits = _files_being_read(err, folder)
        which = (f"{culprits[0]} is" if len(culprits) == 1 else
                 f"one of {', '.join(map(str, culprits))} is" if 1 < len(culprits) <= 3 else "a file is")
        raise ConfigError(f"the {entry.name} reward's files in {folder} could not be read ({detail}): {which} "
                          "corrupt or incomplete, or written for another version of its library; get them again "
                          f"from {' and '.join(entry.published)}") from err
    return Offloaded(reward, device) if offload else reward


def _files_being_read(err: BaseException, folder: Path) -> list[Path]:
    """The files under ``folder`` that the innermost library frame holding such paths had in its local
    variables ([] if none): the tokenizer readers raise bare KeyErrors (``'added_tokens'``) that name no
    file. Our own frames are skipped (a loader holds the weights' path while a library reads another
    file); paths are compared unresolved (a hub cache links its files)."""
    root, package = folder.absolute(), Path(__file__).parents[1]
    held: set[Path] = set()
    frame = err.__traceback__
    while frame is not None:  # outermost to innermost: the last frame with paths is the reader's
        if package not in Path(frame.tb_frame.f_code.co_filename).parents:
            paths = set()
            for value in list(frame.tb_frame.f_locals.values()):
                if isinstance(value, (str, Path)) and 0 < len(str(value)) < 4096:
                    try:
                        path = Path(value).absolute()
                        if root in path.parents and path.is_file():
                            paths.add(path)
                    except (OSError, ValueError, RuntimeError):  # a string that is no path
                        continue
            held = paths or held
        frame = frame.tb_next
    return [folder / path.relative_to(root) for path in sorted(held)]


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
