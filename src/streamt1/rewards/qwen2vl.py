"""What the two Qwen2-VL reward models (HPSv3 and VideoAlign / VideoReward) share.

Both releases subclass ``Qwen2VLForConditionalGeneration`` of transformers 4.45 (the authors' pin), add
a reward head read at special tokens, and run a custom forward: ``inputs_embeds`` = token embeddings
with the vision tower's merged features scattered over the image / video pad tokens, then the TEXT
model called with ``position_ids=None``, i.e. plain sequential positions (not Qwen2-VL's 3-D M-RoPE).
Sources: MizzenAI/HPSv3 ``hpsv3/model/qwen2vl_trainer.py`` (upstream history in the fork
louisdarbandi/HPSv3, commit 77e8fa3) and KwaiVGI/VideoAlign ``trainer.py`` (219ab9d); the pixel
rules are their copies of qwen-vl-utils (``hpsv3/dataset/utils.py``, ``vision_process.py``).

Fidelity choices, for transformers >= 4.57 and 5.x:

* The backbone is built from the local ``config.json`` with parameters on the meta device (no
  download, no throw-away random init of 2-8 B weights); every weight comes from the release's file.
  The language-model head is not built: rewards read hidden states only, and the file's
  ``lm_head.weight`` is shape-checked, then dropped (saves ~1 GB on the 7B).
* Released checkpoints use the flat 4.45 layout (``model.layers...``, ``visual...``) and, for
  VideoAlign, the PEFT wrapper (``base_model.model.`` + ``base_layer`` / ``lora_A`` / ``lora_B``).
  :func:`remap_to_installed` maps them onto the installed composite layout and LoRA is folded in
  (``W += alpha / r * B @ A``); anything left over is reported key by key (missing / unexpected /
  mis-shaped) instead of being silently random-initialised as a plain ``from_pretrained`` does.
* The forward is written here (embeddings + ``masked_scatter`` + ``language_model``) so positions are
  sequential whatever the installed version's composite forward does.
* Pixels: :func:`smart_resize` (factor 28), the authors' frame sampling (:func:`frames_per_clip`,
  :func:`sample_frame_indices`) and the processor's rescale / normalise / patch layout
  (:func:`patchify`, the slow 4.45 processor's arithmetic: float64 rescale, float32 normalise) run on
  tensors in memory; tests compare them with the authors' file path bit for bit.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from streamt1.config import ConfigError
from streamt1.models.checkpoints import PEFT_PREFIX, CheckpointError, check_state_dict, merge_lora

logger = logging.getLogger(__name__)

MAX_ASPECT_RATIO = 200  # qwen-vl-utils refuses more extreme frames
FRAME_FACTOR = 2  # frames are sampled in pairs (the ViT's temporal patch)
FPS_MIN_FRAMES = 4
FPS_MAX_FRAMES = 768
VIDEO_MIN_PIXELS = 128 * 28 * 28  # qwen-vl-utils' per-frame floor for videos

_RESIZE_THREADS = 8  # PIL resizes of one chunk's frames in parallel


# ---------------------------------------------------------------------------------------------
# Files


def read_json(path: Path, reward: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{reward}: {path} is not valid JSON ({exc}); download it again") from exc


# ---------------------------------------------------------------------------------------------
# Pixels


def _round_by(number: float, factor: int) -> int:
    return round(number / factor) * factor  # Python's round (half to even), as qwen-vl-utils


def _ceil_by(number: float, factor: int) -> int:
    return math.ceil(number / factor) * factor


def _floor_by(number: float, factor: int) -> int:
    return math.floor(number / factor) * factor


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Frame size the authors resize to: multiples of ``factor``, pixel count in [min, max], aspect kept."""
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ConfigError(
            f"frame {height}x{width} is too elongated for Qwen2-VL: the aspect ratio must be <= {MAX_ASPECT_RATIO}"
        )
    h_bar, w_bar = max(factor, _round_by(height, factor)), max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar, w_bar = _floor_by(height / beta, factor), _floor_by(width / beta, factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar, w_bar = _ceil_by(height * beta, factor), _ceil_by(width * beta, factor)
    return h_bar, w_bar


def frames_per_clip(total_frames: int, video_fps: float, fps: float | None, nframes: int | None = None) -> int:
    """qwen-vl-utils' ``smart_nframes``: ``fps`` frames per second (or a fixed ``nframes``), in pairs."""
    if nframes is not None:
        count = _round_by(nframes, FRAME_FACTOR)
    else:
        low = _ceil_by(FPS_MIN_FRAMES, FRAME_FACTOR)
        high = _floor_by(min(FPS_MAX_FRAMES, total_frames), FRAME_FACTOR)
        count = _round_by(min(max(total_frames / video_fps * fps, low), high), FRAME_FACTOR)
    count = min(count, total_frames)
    if count < FRAME_FACTOR:
        raise ConfigError(
            f"clip of {total_frames} frame(s) is too short: the video reward samples frames in pairs and needs "
            f"at least {FRAME_FACTOR} frames; score a longer window"
        )
    return count


def sample_frame_indices(total_frames: int, count: int) -> Tensor:
    """``count`` evenly spaced frame indices, rounded as the authors do (``linspace(...).round()``)."""
    return torch.linspace(0, total_frames - 1, count).round().long()


def resize_pil_bicubic(frames: Tensor, size: tuple[int, int]) -> Tensor:
    """``[N, 3, H, W]`` uint8 -> ``[N, 3, h, w]`` uint8 by ``PIL.Image.resize(BICUBIC)``, as HPSv3's fetch_image.

    Frames are resized on a thread pool (PIL releases the GIL while resizing); each result is exact.
    """
    height, width = size

    def resize(frame: Tensor) -> Tensor:
        image = Image.fromarray(frame.permute(1, 2, 0).contiguous().numpy())  # HxWx3 uint8: RGB
        return torch.from_numpy(np.array(image.resize((width, height), Image.BICUBIC))).permute(2, 0, 1)

    frames = frames.cpu()
    with ThreadPoolExecutor(max_workers=max(1, min(len(frames), os.cpu_count() or 1, _RESIZE_THREADS))) as pool:
        return torch.stack(list(pool.map(resize, frames)))


def resize_bicubic_antialias(frames: Tensor, size: tuple[int, int]) -> Tensor:
    """``[T, 3, H, W]`` uint8 -> uint8, what torchvision's tensor ``resize(BICUBIC, antialias=True)`` computes.

    torchvision casts uint8 to float32, interpolates, clamps bicubic overshoot to [0, 255] and rounds.
    """
    resized = nn.functional.interpolate(
        frames.float(), size=size, mode="bicubic", align_corners=False, antialias=True
    )
    return resized.clamp(0, 255).round().to(torch.uint8)


@dataclass(frozen=True)
class VisionSpec:
    """The processor's normalisation and the ViT's patch geometry (``preprocessor_config.json`` + config)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale: float
    patch_size: int
    merge_size: int
    temporal_patch_size: int

    @property
    def factor(self) -> int:
        """Side of one merged token in pixels (28 for Qwen2-VL)."""
        return self.patch_size * self.merge_size

    @classmethod
    def read(cls, path: Path, vision_config, reward: str) -> VisionSpec:
        raw = read_json(path, reward)
        try:
            spec = cls(
                mean=tuple(raw["image_mean"]), std=tuple(raw["image_std"]),
                rescale=raw.get("rescale_factor", 1 / 255), patch_size=raw.get("patch_size", 14),
                merge_size=raw.get("merge_size", 2), temporal_patch_size=raw.get("temporal_patch_size", 2),
            )
        except (KeyError, TypeError, AttributeError) as exc:  # a key missing, or not an object of lists
            raise ConfigError(f"{reward}: {path} lacks or misshapes {exc} (a Qwen2-VL preprocessor config has "
                              "image_mean and image_std); download it again") from exc
        model = (vision_config.patch_size, vision_config.spatial_merge_size, vision_config.temporal_patch_size)
        if (spec.patch_size, spec.merge_size, spec.temporal_patch_size) != model:
            raise ConfigError(
                f"{reward}: {path} patch/merge/temporal sizes {spec.patch_size}/{spec.merge_size}/"
                f"{spec.temporal_patch_size} differ from the model config's {model[0]}/{model[1]}/{model[2]}"
            )
        return spec


def patchify(frames: Tensor, spec: VisionSpec) -> tuple[Tensor, Tensor]:
    """uint8 ``[T, 3, h, w]`` (one image: T=1, a clip: T even) -> (pixel_values ``[t*gh*gw, 3*tp*p*p]``, grid ``[3]``).

    Arithmetic of the slow processor (float64 rescale, float32 normalise); rows in the ViT's order
    (time, merge-block row, merge-block column, row in block, column in block), each row laid out as
    (channel, time in patch, y, x) for its Conv3d patch embedding. A single image is repeated to fill
    the temporal patch, as the processor does.
    """
    tp, p, m = spec.temporal_patch_size, spec.patch_size, spec.merge_size
    if frames.shape[0] == 1:
        frames = frames.expand(tp, -1, -1, -1)
    t, c, h, w = frames.shape
    if t % tp or h % (p * m) or w % (p * m):
        raise ValueError(f"frames {tuple(frames.shape)} do not tile into {tp}x{p * m}x{p * m} blocks")
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=frames.device).view(1, c, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=frames.device).view(1, c, 1, 1)
    pixels = ((frames.double() * spec.rescale).float() - mean) / std
    gt, gh, gw = t // tp, h // p, w // p
    blocks = pixels.view(gt, tp, c, gh // m, m, p, gw // m, m, p)
    blocks = blocks.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # (gt, bh, bw, mh, mw, c, tp, py, px)
    grid = torch.tensor([gt, gh, gw], dtype=torch.long)
    return blocks.reshape(gt * gh * gw, c * tp * p * p), grid


# ---------------------------------------------------------------------------------------------
# Text


def read_chat_template(folder: Path, tokenizer, reward: str) -> str:
    """The processor's chat template (``chat_template.json`` / ``.jinja``), else the tokenizer's."""
    as_json, as_jinja = folder / "chat_template.json", folder / "chat_template.jinja"
    if as_json.exists():
        return read_json(as_json, reward)["chat_template"]
    if as_jinja.exists():
        return as_jinja.read_text()
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    raise ConfigError(
        f"{reward}: no chat template in {folder} (chat_template.json, chat_template.jinja or the tokenizer's)"
    )


def single_token_id(tokenizer, token: str, reward: str) -> int:
    ids = tokenizer.encode(token, add_special_tokens=False)
    if len(ids) != 1:
        raise ConfigError(f"{reward}: the tokenizer splits {token!r} into {len(ids)} ids; it must be one special token")
    return ids[0]


@dataclass
class TokenBatch:
    """One forward's inputs: right-padded ids, the media pixels, and where to read the head."""

    input_ids: Tensor  # [B, L] long
    attention_mask: Tensor  # [B, L] long
    pixel_values: Tensor  # [P, 3*tp*p*p] float32
    grid_thw: Tensor  # [B, 3] long, one image or clip per sample
    read_positions: Tensor  # [B, K] long, positions of the K read tokens in each row

    def to(self, device: torch.device) -> TokenBatch:
        return TokenBatch(*(t.to(device) for t in (self.input_ids, self.attention_mask, self.pixel_values,
                                                   self.grid_thw, self.read_positions)))


class ChatPrompt:
    """Token ids of the authors' chat message ``[media, text]`` with the media pad expanded.

    media: ``"image"`` or ``"video"``; read_tokens: the special tokens whose hidden states the head reads.
    """

    def __init__(self, tokenizer, chat_template: str, media: str, read_tokens: Sequence[str], reward: str):
        self.tokenizer, self.chat_template, self.media, self.reward = tokenizer, chat_template, media, reward
        self.pad_token = f"<|{media}_pad|>"
        self.media_token_id = single_token_id(tokenizer, self.pad_token, reward)
        self.read_ids = [single_token_id(tokenizer, token, reward) for token in read_tokens]
        self.read_tokens = list(read_tokens)
        if tokenizer.pad_token_id is None:
            raise ConfigError(f"{reward}: the tokenizer has no pad token (Qwen2-VL's is <|endoftext|>)")
        self.encode = functools.lru_cache(maxsize=64)(self._encode)  # one prompt serves many frames

    def text(self, user_text: str) -> str:
        """The chat-template rendering (system turn, user turn, generation prompt)."""
        message = [{"role": "user", "content": [{"type": self.media}, {"type": "text", "text": user_text}]}]
        return self.tokenizer.apply_chat_template(
            message, chat_template=self.chat_template, tokenize=False, add_generation_prompt=True
        )

    def _encode(self, user_text: str, media_tokens: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(ids, read positions) with the one media pad repeated ``media_tokens`` times, as the processor does."""
        text = self.text(user_text).replace(self.pad_token, self.pad_token * media_tokens)
        ids = self.tokenizer(text)["input_ids"]
        if ids.count(self.media_token_id) != media_tokens or any(ids.count(i) != 1 for i in self.read_ids):
            raise ConfigError(
                f"{self.reward}: the prompt must not contain the special tokens {self.read_tokens + [self.pad_token]}"
            )
        return tuple(ids), tuple(ids.index(token_id) for token_id in self.read_ids)

    def batch(self, rows: Sequence[tuple[Sequence[int], Sequence[int]]], pixels: Sequence[Tensor],
              grids: Sequence[Tensor]) -> TokenBatch:
        """Right-pad encoded rows with the pad token (the authors' ``padding_side="right"``)."""
        length = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), length), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
        for row, (ids, _) in enumerate(rows):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention_mask[row, : len(ids)] = 1
        positions = torch.tensor([pos for _, pos in rows], dtype=torch.long)
        return TokenBatch(input_ids, attention_mask, torch.cat(list(pixels)), torch.stack(list(grids)), positions)


# ---------------------------------------------------------------------------------------------
# Model


def text_config_of(config):
    """The text fields: ``config.text_config`` in transformers 5.x (and 4.57), the flat config before."""
    return getattr(config, "text_config", None) or config


def read_qwen2vl_config(folder: Path, vocab_size: int, pad_token_id: int, reward: str):
    """``Qwen2VLConfig`` from ``folder/config.json`` with the vocabulary resized as the authors do."""
    from transformers import Qwen2VLConfig

    path = folder / "config.json"
    try:
        config = Qwen2VLConfig.from_json_file(str(path))
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{reward}: {path} is not a Qwen2-VL config ({exc})") from exc
    for target in {id(c): c for c in (config, text_config_of(config))}.values():
        if hasattr(target, "vocab_size"):
            target.vocab_size = vocab_size  # resize_token_embeddings(len(tokenizer)) in the authors' code
        target.pad_token_id = pad_token_id
    config._attn_implementation = "sdpa"
    return config


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Parameters created on the meta device, buffers (rotary tables) for real: weights come from the file."""
    register = nn.Module.register_parameter

    def register_on_meta(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        register(module, name, param)
        if param is not None and param.device.type != "meta":
            module._parameters[name] = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    nn.Module.register_parameter = register_on_meta
    try:
        yield
    finally:
        nn.Module.register_parameter = register


class QwenRewardModel(nn.Module):
    """Qwen2-VL vision tower + text model (``self.model``, no LM head) and a reward head (``self.rm_head``).

    Parameter names match the installed ``Qwen2VLForConditionalGeneration`` minus ``lm_head``.
    head_in_float32: keep the head in float32 whatever the backbone's dtype (HPSv3 does); the head reads
    the hidden states in its own dtype.
    """

    def __init__(self, config, head: nn.Module, head_in_float32: bool):
        super().__init__()
        from transformers import Qwen2VLModel

        self.model = Qwen2VLModel(config)
        self.rm_head = head
        self.head_in_float32 = head_in_float32

    def hidden_states(self, batch: TokenBatch, media_token_id: int) -> Tensor:
        """Last-layer hidden states ``[B, L, D]`` with sequential positions (the authors' forward)."""
        visual, text = self.model.visual, self.model.language_model
        embeds = text.get_input_embeddings()(batch.input_ids)  # [B, L, D]
        features = visual(batch.pixel_values.to(next(visual.parameters()).dtype), grid_thw=batch.grid_thw)
        features = getattr(features, "pooler_output", features)  # 5.x returns an output object, 4.57 a tensor
        media = batch.input_ids == media_token_id
        if int(media.sum()) != features.shape[0]:
            raise ValueError(f"{int(media.sum())} media tokens for {features.shape[0]} vision features")
        embeds = embeds.masked_scatter(media.unsqueeze(-1).expand_as(embeds), features.to(embeds.dtype))
        # position_ids=None: the text model counts 0..L-1 in all three M-RoPE sections, as in training
        out = text(inputs_embeds=embeds, attention_mask=batch.attention_mask, use_cache=False)
        return out.last_hidden_state

    def forward(self, batch: TokenBatch, media_token_id: int) -> Tensor:
        """Head outputs at the read tokens: ``[B, K, out_dim]``."""
        hidden = self.hidden_states(batch, media_token_id)
        rows = torch.arange(hidden.shape[0], device=hidden.device)[:, None]
        picked = hidden[rows, batch.read_positions]  # [B, K, D]
        return self.rm_head(picked.to(next(self.rm_head.parameters()).dtype))  # HPSv3's head stays float32


def build_reward_model(config, head: nn.Module, head_in_float32: bool) -> QwenRewardModel:
    """The model with meta parameters (buffers real), ready for :func:`load_reward_weights`."""
    with _parameters_on_meta():
        return QwenRewardModel(config, head, head_in_float32)


# ---------------------------------------------------------------------------------------------
# Checkpoints

_LEGACY_TEXT = re.compile(r"^model\.(?!language_model\.|visual\.)")


def remap_to_installed(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Legacy flat (``model.layers``, ``visual``) keys -> installed composite keys; others unchanged.

    The rules of transformers' own conversion mapping (4.52+): ``^visual`` -> ``model.visual``,
    ``^model`` (not yet composite) -> ``model.language_model``. Keys already in the composite layout pass.
    """
    out = {}
    for key, value in state_dict.items():
        if key.startswith("visual."):
            key = "model." + key
        else:
            key = _LEGACY_TEXT.sub("model.language_model.", key)
        if key in out:
            raise ConfigError(f"the checkpoint holds {key} twice (in the legacy and in the installed layout)")
        out[key] = value
    return out


def fold_peft(state_dict: Mapping[str, Tensor], alpha: float | None, source: Path) -> dict[str, Tensor]:
    """A PEFT-wrapped state dict with its LoRA merged: plain keys, ``W += alpha / r * B @ A``.

    alpha: the LoRA alpha of the training config (None: the config declares no LoRA).
    """
    lora = {k: v for k, v in state_dict.items() if ".lora_A." in k or ".lora_B." in k}
    base = {
        k.removeprefix(PEFT_PREFIX).replace(".base_layer.", "."): v
        for k, v in state_dict.items() if k not in lora
    }
    if not lora:
        return base
    if alpha is None:
        raise ConfigError(f"{source}: holds LoRA weights but its training config declares no LoRA (lora_enable)")
    try:
        return merge_lora(base, lora, alpha=alpha, source=source)
    except CheckpointError as exc:
        raise ConfigError(str(exc)) from exc


def _drop_lm_head(state_dict: dict[str, Tensor], config, source: Path, reward: str) -> None:
    """Check the (unused) LM head's shape, then drop it; tied checkpoints may not store it."""
    head = state_dict.pop("lm_head.weight", None)
    text = text_config_of(config)
    expected = (text.vocab_size, text.hidden_size)
    if head is not None and tuple(head.shape) != expected:
        raise ConfigError(
            f"{reward}: {source} does not fit the model: 1 mis-shaped (lm_head.weight: file {tuple(head.shape)} "
            f"vs model {expected}); is it the checkpoint for this base model and tokenizer?"
        )


def load_reward_weights(model: QwenRewardModel, state_dict: Mapping[str, Tensor], source: Path, reward: str,
                        dtype: torch.dtype) -> None:
    """Remap, check (missing / unexpected / mis-shaped keys -> ConfigError) and assign the weights in ``dtype``."""
    remapped = remap_to_installed(state_dict)
    _drop_lm_head(remapped, model.model.config, source, reward)
    try:
        check_state_dict(model, remapped, source)
    except CheckpointError as exc:
        raise ConfigError(
            f"{reward}: {exc} (names as remapped to the installed layout); is it the {reward} checkpoint "
            "for this base model and tokenizer?"
        ) from exc
    model.load_state_dict({k: v.to(dtype) for k, v in remapped.items()}, strict=True, assign=True)
    if model.head_in_float32:
        model.rm_head.float()
    model.eval().requires_grad_(False)
