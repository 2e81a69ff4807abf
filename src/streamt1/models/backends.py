"""Assemble a real causal-Wan2.1 streaming generator (LongLive, Self-Forcing, CausVid) from local files.

Nothing is downloaded. Expected layout of ``weights_dir`` (``wan_dir`` may point elsewhere)::

    weights_dir/
      Wan2.1-T2V-1.3B/                        Wan-AI/Wan2.1-T2V-1.3B on the Hugging Face hub
        Wan2.1_VAE.pth                          video VAE (z = 16)
        models_t5_umt5-xxl-enc-bf16.pth         umT5-XXL encoder, Wan naming
        google/umt5-xxl/                        tokenizer files (tokenizer.json / spiece.model, ...)
      longlive_base.pt                        Efficient-Large-Model/LongLive-1.3B (models/)
      lora.pt                                   LongLive's PEFT LoRA, merged into the base weights
      self_forcing_dmd.pt                     gdhe17/Self-Forcing (checkpoints/)
      autoregressive_checkpoint/model.pt      tianweiy/CausVid

The backends are entries of :data:`streamt1.backends.BACKENDS` (their names, files, stream settings
and default rewards); :func:`load_backend` is their factory. Each backend's stream settings follow
its release's inference config: LongLive attends a 3-frame
sink plus a 9-frame window; Self-Forcing and CausVid attend every frame of a 21-latent-frame video,
which is a sink plus an 18-frame window here (beyond 21 frames they roll that window, which the
originals do not do). CausVid samples at timesteps 1000, 757, 522 without warping (shift 1 makes
the warp the identity).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from streamt1 import backends as registry
from streamt1.config import ConfigError
from streamt1.models.causal_wan import CausalWan
from streamt1.models.checkpoints import load_generator_weights, missing_file_message
from streamt1.models.config import StreamConfig, WanConfig, stream_with
from streamt1.models.generator import CausalWanGenerator
from streamt1.models.text_encoder import UMT5TextEncoder
from streamt1.models.wan_vae import WanVAECodec

logger = logging.getLogger(__name__)

DEFAULT_HEIGHT, DEFAULT_WIDTH, DEFAULT_FPS = 480, 832, 16.0  # the paper's 832x480 at 16 fps
WAN_VAE_SPATIAL_FACTOR = 8  # Wan2.1's VAE (AutoencoderKLWan's scale_factor_spatial), for checks before it loads


@dataclass(frozen=True)
class WanBackend:
    """One released causal-Wan generator: its files and its streaming settings."""

    variant: str  # checkpoint layout, see checkpoints.LAYOUTS
    checkpoint: str  # relative to weights_dir
    lora: str | None  # PEFT LoRA merged into the weights, relative to weights_dir
    lora_alpha: float | None  # None: alpha = rank (LongLive: r = alpha = 256)
    stream: StreamConfig
    model: str = "wan2.1-t2v-1.3b"  # WanConfig preset


def get_backend(name: str) -> WanBackend:
    """The release specifics of a causal-Wan backend, read from its entry in :mod:`streamt1.backends`."""
    entry = registry.get_backend(name)
    if entry.factory != registry.WAN_FACTORY:
        raise ValueError(f"backend={name!r} is not a causal-Wan backend")
    options = entry.options
    return WanBackend(options["variant"], options["checkpoint"], options.get("lora"), options.get("lora_alpha"),
                      StreamConfig(**options.get("stream", {})))


@dataclass(frozen=True)
class WanFiles:
    """Local paths of everything a causal-Wan generator is built from."""

    checkpoint: Path
    lora: Path | None
    vae: Path  # Wan2.1_VAE.pth
    t5: Path  # models_t5_umt5-xxl-enc-bf16.pth
    tokenizer: Path  # google/umt5-xxl folder


def locate_files(backend: str, weights_dir: str | Path, wan_dir: str | Path | None = None) -> WanFiles:
    """Paths of ``backend``'s files; a FileNotFoundError lists every missing one and where it comes from."""
    spec = get_backend(backend)
    root = Path(weights_dir)
    if root.is_file():  # e.g. the checkpoint itself, where the folder that holds the release belongs
        raise FileNotFoundError(f"{backend}: the weights {str(root)!r} are a file, not a folder: give the folder "
                                f"that holds {spec.checkpoint} and {registry.WAN_DIR}/")
    wan = root / registry.WAN_DIR if wan_dir is None else Path(wan_dir)
    files = WanFiles(
        checkpoint=root / spec.checkpoint,
        lora=None if spec.lora is None else root / spec.lora,
        vae=wan / registry.WAN_VAE,
        t5=wan / registry.WAN_T5,
        tokenizer=wan / registry.WAN_TOKENIZER,
    )
    missing = [p for p in dataclasses.astuple(files) if p is not None and not p.exists()]
    if missing:
        absent = "" if root.is_dir() else f"the weights folder {str(root)!r} does not exist; "
        raise FileNotFoundError(
            f"{backend}: {absent}{len(missing)} file(s) missing:"
            + "".join(f"\n  {missing_file_message(p)}" for p in missing)
        )
    return files


def latent_size(height: int, width: int, spatial_factor: int) -> tuple[int, int]:
    if height <= 0 or width <= 0 or height % spatial_factor or width % spatial_factor:
        raise ValueError(f"height x width = {height}x{width} must be positive multiples of the VAE's {spatial_factor}")
    return height // spatial_factor, width // spatial_factor


def build_wan_generator_from_config(
    config: WanConfig,
    files: WanFiles,
    *,
    backend: str,
    height: int,
    width: int,
    fps: float,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    stream_overrides: Mapping[str, Any] | None = None,
    vae_config: Mapping[str, Any] | None = None,
    use_ema: bool | None = None,
    allow_pickle: bool = False,
) -> CausalWanGenerator:
    """Build the generator from explicit files and a model config (the tiny configs of the tests included).

    vae_config: ``AutoencoderKLWan`` arguments beyond what the VAE file's shapes give (None: Wan2.1's).
    """
    spec = get_backend(backend)
    stream = stream_with(spec.stream, stream_overrides)
    with torch.device("meta"):  # weights come from the checkpoint: skip the random init
        model = CausalWan(config)
    load_generator_weights(
        model, files.checkpoint, variant=spec.variant, lora_path=files.lora, lora_alpha=spec.lora_alpha,
        use_ema=use_ema, allow_pickle=allow_pickle, assign=True,
    )
    text_encoder = UMT5TextEncoder.from_wan_checkpoint(
        files.t5, files.tokenizer, text_len=config.text_len, device=device, dtype=dtype
    )
    if text_encoder.dim != config.text_dim:
        raise ValueError(f"{files.t5}: the text encoder's width {text_encoder.dim} != the model's text_dim {config.text_dim}")
    codec = WanVAECodec.from_wan_checkpoint(files.vae, config=vae_config, device=device, dtype=dtype)
    size = latent_size(height, width, codec.spatial_factor)
    logger.info("%s generator: %dx%d px, latent %dx%d, %s", backend, height, width, *size, stream)
    return CausalWanGenerator(model, stream, text_encoder, codec, size, fps, device=device, dtype=dtype)


def build_wan_generator(
    backend: str,
    weights_dir: str | Path,
    *,
    wan_dir: str | Path | None = None,
    device: torch.device | str = "cuda",
    dtype: torch.dtype = torch.bfloat16,
    height: int = DEFAULT_HEIGHT,
    width: int = DEFAULT_WIDTH,
    fps: float = DEFAULT_FPS,
    stream_overrides: Mapping[str, Any] | None = None,
    use_ema: bool | None = None,
    allow_pickle: bool = False,
) -> CausalWanGenerator:
    """The released ``backend`` ("longlive", "self-forcing" or "causvid") on Wan2.1-T2V-1.3B, from local files.

    See the module docstring for the folder layout. Defaults are the paper's: 832x480 at 16 fps, bf16.
    """
    files = locate_files(backend, weights_dir, wan_dir)
    return build_wan_generator_from_config(
        WanConfig.preset(get_backend(backend).model), files, backend=backend, height=height, width=width, fps=fps,
        device=device, dtype=dtype, stream_overrides=stream_overrides, use_ema=use_ema, allow_pickle=allow_pickle,
    )


def check_run(entry: registry.BackendEntry, run: Any) -> int:
    """The checker of the causal-Wan entries: the model preset, the frame size, then every missing release
    file in one error. Returns the chunk's latent frames."""
    config = _model_config(entry, run)
    _, ph, pw = config.patch_size
    height, width = run.height or DEFAULT_HEIGHT, run.width or DEFAULT_WIDTH
    step_h, step_w = WAN_VAE_SPATIAL_FACTOR * ph, WAN_VAE_SPATIAL_FACTOR * pw
    if height % step_h or width % step_w:  # else met only after minutes of loading, at the first forward
        raise ConfigError(f"run.height x run.width = {height}x{width}: {entry.name} takes multiples of {step_h} x "
                          f"{step_w} (the VAE's {WAN_VAE_SPATIAL_FACTOR}x downsampling times the {ph}x{pw} patch), "
                          f"e.g. {height // step_h * step_h or step_h}x{width // step_w * step_w or step_w}")
    locate_files(entry.name, run.weights)
    return get_backend(entry.name).stream.chunk_frames


def _model_config(entry: registry.BackendEntry, run: Any) -> WanConfig:
    try:
        return WanConfig.preset(run.model or get_backend(entry.name).model)
    except ValueError as err:
        raise ConfigError(f"run.model={run.model!r} is invalid: {err}") from None


def load_backend(entry: registry.BackendEntry, run: Any, *, device: torch.device, dtype: torch.dtype,
                 stream_overrides: Mapping[str, Any] | None = None) -> CausalWanGenerator:
    """The factory of the causal-Wan entries in :data:`streamt1.backends.BACKENDS`.

    ``run`` is a :class:`streamt1.config.RunConfig`: ``weights`` is the release folder; ``model``,
    ``height`` and ``width`` default to Wan2.1-T2V-1.3B at the paper's 832x480.
    """
    return build_wan_generator_from_config(
        _model_config(entry, run), locate_files(entry.name, run.weights), backend=entry.name,
        height=run.height or DEFAULT_HEIGHT, width=run.width or DEFAULT_WIDTH, fps=DEFAULT_FPS,
        device=device, dtype=dtype, stream_overrides=stream_overrides,
    )
