"""Reading released checkpoints into our modules, with errors that say what to do.

Layouts (read from the public releases):

* LongLive ``longlive_base.pt``: ``{"generator": sd, "generator_ema": sd, ...}``; keys carry the
  ``model.`` prefix of the training wrapper, EMA keys may also carry FSDP wrapper segments.
  ``lora.pt``: ``{"generator_lora": peft_sd}`` with ``base_model.model.<module>.lora_{A,B}.weight``
  on every linear layer of every block (r = alpha = 256 in the release).
* Self-Forcing ``self_forcing_dmd.pt``: same container as LongLive; its README runs the EMA weights.
* CausVid ``autoregressive_checkpoint/model.pt``: ``{"generator": sd}`` with ``model.`` keys.
* Wan2.1 ``diffusion_pytorch_model.safetensors``: the bare state dict in the original Wan naming.
"""

from __future__ import annotations

import logging
import pickle
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

logger = logging.getLogger(__name__)

WAN_T2V_ORIGIN = "the Wan2.1 release (Wan-AI/Wan2.1-T2V-1.3B on the Hugging Face hub)"

# File name -> where it is published, for "file not found" messages.
PUBLISHED_AT: dict[str, str] = {
    "longlive_base.pt": "the LongLive release (Efficient-Large-Model/LongLive-1.3B on the Hugging Face hub, models/)",
    "lora.pt": "the LongLive release (Efficient-Large-Model/LongLive-1.3B on the Hugging Face hub, models/)",
    "self_forcing_dmd.pt": "the Self-Forcing release (gdhe17/Self-Forcing on the Hugging Face hub, checkpoints/)",
    "model.pt": "the CausVid release (tianweiy/CausVid on the Hugging Face hub, autoregressive_checkpoint/)",
    "diffusion_pytorch_model.safetensors": WAN_T2V_ORIGIN,
    "Wan2.1_VAE.pth": WAN_T2V_ORIGIN,
    "models_t5_umt5-xxl-enc-bf16.pth": WAN_T2V_ORIGIN,
    "umt5-xxl": WAN_T2V_ORIGIN + ", folder google/umt5-xxl",
}

# Wrapper segments that FSDP / activation checkpointing insert anywhere in a parameter name.
_WRAPPER_SEGMENTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")
# Leading prefixes of training wrappers, tried in this order; "" keeps the key as is.
_LEADING_PREFIXES = ("", "model.", "module.", "model.diffusion_model.", "diffusion_model.", "generator.")
_LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<part>[AB])(?:\.[^.]+)?\.weight$")
PEFT_PREFIX = "base_model.model."  # what PEFT's wrapper puts before every module name
_SHOWN = 5  # keys quoted per category in error messages
_PICKLE_PROTO = b"\x80"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model it is loaded into."""


@dataclass(frozen=True)
class CheckpointLayout:
    """How one release stores the generator."""

    filename: str  # default file name when a folder is given
    ema_default: bool  # whether the release's own inference script loads the EMA weights


LAYOUTS: dict[str, CheckpointLayout] = {
    "longlive": CheckpointLayout("longlive_base.pt", ema_default=False),
    "self-forcing": CheckpointLayout("self_forcing_dmd.pt", ema_default=True),
    "causvid": CheckpointLayout("model.pt", ema_default=False),
    "wan": CheckpointLayout("diffusion_pytorch_model.safetensors", ema_default=False),
}


def missing_file_message(path: Path, name: str | None = None, origin: str | None = None,
                         layout: str | None = None) -> str:
    """One line naming the missing file, where it is published and where to put it.

    The project's one wording for a missing file (generator, metric and reward files alike);
    ``layout``: the folder tree the file belongs in, on one line.
    """
    name = name or path.name
    origin = origin or PUBLISHED_AT.get(name, "its original release")
    where = f"{path}, laid out as {layout}" if layout else str(path)
    return f"{name}: not found; it comes from {origin}; place it at {where}"


def require_file(path: str | Path, name: str | None = None) -> Path:
    """``path`` as a Path, or FileNotFoundError saying where the file comes from."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(missing_file_message(path, name))
    return path


def read_checkpoint(path: str | Path, *, allow_pickle: bool = False) -> Any:
    """Load a ``.safetensors`` / ``.pt`` / ``.pth`` file onto the CPU.

    Torch files are read with ``weights_only=True`` (memory-mapped when the file is a zip archive);
    files that pickle other objects load only with ``allow_pickle=True`` (trusted sources only).
    """
    path = require_file(path)
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        return _torch_load(path, allow_pickle)
    except CheckpointError:
        raise
    except (SafetensorError, RuntimeError, EOFError, KeyError, ValueError, OSError) as exc:
        raise _unreadable(path, f"{type(exc).__name__}: {str(exc)[:120]}") from exc


def _unreadable(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: not a readable checkpoint ({reason}); the file is truncated or corrupt, download it again"
    )


def _torch_load(path: Path, allow_pickle: bool) -> Any:
    mmap = zipfile.is_zipfile(path)  # legacy (non-zip) torch files cannot be memory-mapped
    if not mmap:
        with path.open("rb") as f:
            if f.read(1) != _PICKLE_PROTO:  # legacy torch.save files start with a pickle protocol opcode
                raise _unreadable(path, "neither a zip archive nor a pickle")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):
            raise _unreadable(path, str(exc)[:120]) from exc
        if not allow_pickle:
            raise CheckpointError(
                f"{path}: stores Python objects besides tensors, so it cannot be read with "
                "weights_only=True; pass allow_pickle=True if you trust where it came from"
            ) from exc
        logger.warning("%s: loading with weights_only=False (allow_pickle=True)", path)
        return torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(v, Tensor) for v in obj.values())


def read_state_dict(path: str | Path, wrappers: Iterable[str] = ("state_dict", "model")) -> dict[str, Tensor]:
    """The tensors of a state-dict file (``weights_only=True``); one ``{wrapper: state dict}`` level is unwrapped."""
    obj = read_checkpoint(path)
    if isinstance(obj, Mapping):
        obj = next((obj[key] for key in wrappers if isinstance(obj.get(key), Mapping)), obj)
    if not _is_state_dict(obj):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict (a mapping of names to tensors)")
    return dict(obj)


def unwrap_container(obj: Any, source: Path, *, use_ema: bool) -> dict[str, Tensor]:
    """The generator's state dict inside a release's checkpoint container."""
    if _is_state_dict(obj):
        return dict(obj)
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{source}: holds a {type(obj).__name__}, not a state dict or a dict of them")
    order = ("generator_ema", "generator") if use_ema else ("generator", "model", "state_dict", "module")
    for key in order:
        if key in obj and _is_state_dict(obj[key]):
            if use_ema and key != "generator_ema":
                logger.warning("%s: no 'generator_ema' entry, loading '%s' instead", source, key)
            return dict(obj[key])
    raise CheckpointError(
        f"{source}: no generator state dict found; looked for {list(order)}, the file has {sorted(map(str, obj))[:10]}"
    )


def strip_wrapper_segments(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Remove FSDP / checkpoint-wrapper / torch.compile segments from every key."""
    out = {}
    for key, value in state_dict.items():
        for segment in _WRAPPER_SEGMENTS:
            key = key.replace(segment, "")
        out[key] = value
    return out


def strip_leading_prefix(state_dict: Mapping[str, Tensor], expected: Iterable[str]) -> dict[str, Tensor]:
    """Drop the training wrapper's leading prefix: the one under which most keys match ``expected``."""
    expected = set(expected)

    def matches(prefix: str) -> int:
        return sum(k.startswith(prefix) and k[len(prefix) :] in expected for k in state_dict)

    best = max(_LEADING_PREFIXES, key=matches)  # ties keep the earlier (shorter) prefix
    if not best:
        return dict(state_dict)
    return {(k[len(best) :] if k.startswith(best) else k): v for k, v in state_dict.items()}


def _summary(label: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN]) + (", ..." if len(keys) > _SHOWN else "")
    return f"{len(keys)} {label} ({shown})"


def check_state_dict(module: nn.Module, state_dict: Mapping[str, Tensor], source: str | Path) -> None:
    """Raise CheckpointError listing missing, unexpected and mis-shaped keys (first few + counts)."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    misshaped = sorted(
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(expected) & set(state_dict)
        if state_dict[k].shape != expected[k].shape
    )
    if missing or unexpected or misshaped:
        parts = [
            _summary(label, keys)
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped))
            if keys
        ]
        raise CheckpointError(f"{source}: does not fit {type(module).__name__}: " + "; ".join(parts))


def load_checked(
    module: nn.Module, state_dict: Mapping[str, Tensor], source: str | Path, *, assign: bool = False
) -> None:
    """Strict load after :func:`check_state_dict`.

    Values are cast to the module's dtypes, or with ``assign=True`` (a module built on the meta
    device) the checkpoint's tensors become the parameters.
    """
    check_state_dict(module, state_dict, source)
    # A file damaged in place keeps its size and keys; random bytes in float weights decode as NaN
    # (1 in 256 float32 values, 1 in 32 float16), which a model turns into black frames without a word.
    damaged = sorted(k for k, v in state_dict.items() if v.is_floating_point() and bool(torch.isnan(v).any()))
    if damaged:
        raise CheckpointError(f"{source}: {_summary('tensors hold NaN', damaged)}: the file is damaged; re-copy "
                              "or re-download it (or retrain it, for the weights this project trains)")
    module.load_state_dict(state_dict, strict=True, assign=assign)


def read_lora(path: str | Path, *, allow_pickle: bool = False) -> dict[str, Tensor]:
    """The PEFT LoRA state dict of a ``lora.pt`` (``{"generator_lora": ...}`` or bare)."""
    path = Path(path)
    obj = read_checkpoint(path, allow_pickle=allow_pickle)
    if isinstance(obj, Mapping) and "generator_lora" in obj:
        obj = obj["generator_lora"]
    if not _is_state_dict(obj):
        raise CheckpointError(f"{path}: no LoRA state dict found (expected 'generator_lora' or bare lora_A/lora_B keys)")
    return strip_wrapper_segments(obj)


def _lora_pairs(lora: Mapping[str, Tensor], source: str | Path) -> dict[str, dict[str, Tensor]]:
    """``module name -> {"A": [r, in], "B": [out, r]}`` from PEFT keys."""
    pairs: dict[str, dict[str, Tensor]] = {}
    for key, value in lora.items():
        match = _LORA_KEY.match(key)
        if match is None:
            raise CheckpointError(f"{source}: unsupported LoRA key {key!r} (expected ...lora_A/lora_B.weight)")
        module = match["module"].removeprefix(PEFT_PREFIX)
        pairs.setdefault(module, {})[match["part"]] = value
    broken = sorted(m for m, p in pairs.items() if len(p) != 2)
    if broken:
        raise CheckpointError(f"{source}: " + _summary("LoRA modules without both lora_A and lora_B", broken))
    return pairs


def merge_lora(
    state_dict: Mapping[str, Tensor],
    lora: Mapping[str, Tensor],
    *,
    alpha: float | None = None,
    source: str | Path = "LoRA",
) -> dict[str, Tensor]:
    """Fold PEFT LoRA into base weights: ``W += (alpha / r) * B @ A`` (alpha defaults to r).

    ``r`` is read from each ``lora_A`` shape ``[r, in]``; ``lora_B`` is ``[out, r]``.
    """
    merged = dict(state_dict)
    pairs = _lora_pairs(lora, source)
    missing = sorted(f"{m}.weight" for m in pairs if f"{m}.weight" not in merged)
    if missing:
        raise CheckpointError(f"{source}: " + _summary("LoRA targets absent from the base weights", missing))
    for module, pair in pairs.items():
        a, b, weight = pair["A"], pair["B"], merged[f"{module}.weight"]
        rank = a.shape[0]
        if b.shape[1] != rank or (b.shape[0], a.shape[1]) != tuple(weight.shape):
            raise CheckpointError(
                f"{source}: {module}: lora_B {tuple(b.shape)} @ lora_A {tuple(a.shape)} "
                f"does not fit the base weight {tuple(weight.shape)}"
            )
        scale = (rank if alpha is None else alpha) / rank
        delta = b.float() @ a.float()  # [out, in]
        merged[f"{module}.weight"] = (weight.float() + scale * delta).to(weight.dtype)
    logger.info("%s: merged LoRA into %d linear layers", source, len(pairs))
    return merged


def resolve_checkpoint(path_or_dir: str | Path, variant: str) -> Path:
    """The checkpoint file for ``variant``: ``path_or_dir`` itself, or its default name inside the folder."""
    if variant not in LAYOUTS:
        raise ValueError(f"variant={variant!r} is not one of {sorted(LAYOUTS)}")
    path = Path(path_or_dir)
    if path.is_dir():
        path = path / LAYOUTS[variant].filename
    return require_file(path, path.name if path.name in PUBLISHED_AT else LAYOUTS[variant].filename)


def load_generator_weights(
    model: nn.Module,
    path_or_dir: str | Path,
    *,
    variant: str = "longlive",
    lora_path: str | Path | None = None,
    lora_alpha: float | None = None,
    use_ema: bool | None = None,
    allow_pickle: bool = False,
    assign: bool = False,
) -> None:
    """Load a released causal-Wan checkpoint (plus an optional PEFT LoRA, merged) into ``model``.

    variant: ``"longlive"``, ``"self-forcing"``, ``"causvid"`` or ``"wan"`` (picks the default file
    name in a folder and whether EMA weights are the default, as each release's inference does).
    assign: make the checkpoint's tensors the parameters (for a model built on the meta device).
    """
    path = resolve_checkpoint(path_or_dir, variant)
    lora_file = None if lora_path is None else require_file(lora_path, "lora.pt")
    use_ema = LAYOUTS[variant].ema_default if use_ema is None else use_ema
    state_dict = unwrap_container(read_checkpoint(path, allow_pickle=allow_pickle), path, use_ema=use_ema)
    expected = model.state_dict().keys()
    state_dict = strip_leading_prefix(strip_wrapper_segments(state_dict), expected)
    if lora_file is not None:
        check_state_dict(model, state_dict, path)  # a wrong base is named as such, not blamed on the LoRA
        lora = read_lora(lora_file, allow_pickle=allow_pickle)
        state_dict = merge_lora(state_dict, lora, alpha=lora_alpha, source=lora_file)
    load_checked(model, state_dict, path, assign=assign)
    logger.info("loaded %s weights from %s%s", variant, path, " (EMA)" if use_ema else "")
