"""The tiny Sprites video model: a small causal Wan2.1 plus the Sprites text encoder, on 16x16 latents.

Frames ``[T, 3, 64, 64]`` become latents at 16x16, one latent frame per frame: those of a learned
autoencoder (:mod:`streamt1.sprites.codec`, trained first and stored with the model) or, for models
trained without one, :class:`~streamt1.models.codec.PixelUnshuffleCodec` (factor 4: 48 channels).
With Wan's (1, 2, 2) patch that is 64 tokens per frame. The network is the same :class:`~streamt1.models.causal_wan.CausalWan` as the
1.3B backends, only smaller (:data:`SPRITES_WAN`), and streams with LongLive's cache (3-frame chunks,
3-frame sink, 9-frame window), so the search runs the same code path. Its sampling
(:data:`SPRITES_STREAM`) differs from LongLive's 4 re-noising steps: LongLive is distilled (DMD) to
give a sharp sample from each x0 prediction, while this is a plain flow-matching model, whose x0
prediction at high noise is a blurred average, so it follows the flow ODE (Euler) for 8 steps.

Weights: ``sprites_model.safetensors`` (keys ``transformer.*``, ``text_encoder.*`` and, with a learned
codec, ``autoencoder.*``) plus ``sprites_model.json`` (configs and the training card), written by
:mod:`streamt1.sprites.train`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from streamt1.models.causal_wan import CausalWan
from streamt1.models.checkpoints import load_checked
from streamt1.models.codec import LatentCodec, PixelUnshuffleCodec
from streamt1.models.config import StreamConfig, WanConfig, stream_with
from streamt1.models.generator import CausalWanGenerator
from streamt1.sprites.codec import LATENT_FACTOR, AutoencoderCodec, AutoencoderConfig, SpritesAutoencoder
from streamt1.sprites.files import load_weights, readable_weights, save_weights, weights_and_card
from streamt1.sprites.text import TextEncoderConfig, TinySpritesTextEncoder
from streamt1.sprites.world import FPS, FRAME_SIZE

logger = logging.getLogger(__name__)

MODEL_STEM = "sprites_model"
TRAIN_COMMAND = "streamt1 sprites train"  # what remakes the model's files
# Sizes of the Sprites transformer; in/out channels and text sizes come from the codec and encoder.
# dim must exceed the 192 features of a (1, 2, 2) patch of 48 latent channels, or the residual stream
# cannot even carry its input (a 128-wide model plateaued at flow loss 0.38, worse than a linear predictor).
SPRITES_WAN: dict[str, Any] = dict(dim=256, ffn_dim=1024, num_heads=8, num_layers=4, patch_size=(1, 2, 2), freq_dim=64,
                                   prediction="flow", refiner_channels=0, progress_embedding=False)
# Euler steps along the flow, 8 of them ending at sigma 0.22 instead of 0.625 (shift 2): sprites
# settle into one sharp sample without distillation. Models trained now take 32 for the first chunk
# (each step split in 4), which sees only the caption and which every later chunk continues: on a
# tuning split it raised subject consistency from 37.6 to 62.7 for the position-table model
# (benchmarks/README.md, issue 9). The committed weights use it too (their card's stream_config).
SPRITES_STREAM = StreamConfig(denoising_steps=(1000, 875, 750, 625, 500, 375, 250, 125), shift=2.0, sampler="euler",
                              first_chunk_substeps=4)


def sprites_wan_config(text: TextEncoderConfig, latent_channels: int | None = None, **overrides: Any) -> WanConfig:
    """The Sprites :class:`WanConfig`: :data:`SPRITES_WAN` (with ``overrides``) on 16x16 latents of
    ``latent_channels`` (None: PixelUnshuffle's 48), with a learned absolute position table over its
    token grid (captions fix a pattern's phase) and the pooled caption in every block's modulation (a
    small model learns it sooner than cross-attention). A refiner (``refiner_channels`` > 0) on
    PixelUnshuffle latents works at pixel scale."""
    sizes = {**SPRITES_WAN, **overrides}
    latent = FRAME_SIZE // LATENT_FACTOR
    if latent_channels is None:  # PixelUnshuffle: a refiner works on the pixels themselves
        latent_channels = PixelUnshuffleCodec(LATENT_FACTOR).latent_channels
        if sizes["refiner_channels"]:
            sizes.setdefault("refiner_shuffle", LATENT_FACTOR)
    grid = (latent // sizes["patch_size"][1], latent // sizes["patch_size"][2])
    return WanConfig(**sizes, in_dim=latent_channels, out_dim=latent_channels, text_dim=text.text_dim,
                     text_len=text.text_len, spatial_embedding=grid, pooled_text=True)


class SpritesVideoModel(nn.Module):
    """The transformer and the text encoder it was trained with, saved and loaded together."""

    def __init__(self, wan: WanConfig, text: TextEncoderConfig, stream: StreamConfig = SPRITES_STREAM,
                 autoencoder: AutoencoderConfig | None = None) -> None:
        super().__init__()
        if (wan.text_dim, wan.text_len) != (text.text_dim, text.text_len):
            raise ValueError(
                f"WanConfig text_dim/text_len {(wan.text_dim, wan.text_len)} must match the text "
                f"encoder's {(text.text_dim, text.text_len)}"
            )
        self.transformer = CausalWan(wan)
        self.text_encoder = TinySpritesTextEncoder(text)
        self.stream = stream  # the streaming and sampling settings it was trained for
        # The learned codec (None: PixelUnshuffle); trained before the model and frozen with it.
        self.autoencoder = None if autoencoder is None else SpritesAutoencoder(autoencoder).requires_grad_(False)
        self._codec = (PixelUnshuffleCodec(LATENT_FACTOR) if self.autoencoder is None
                       else AutoencoderCodec(self.autoencoder))
        if self.codec.latent_channels != wan.in_dim:
            raise ValueError(f"the codec gives {self.codec.latent_channels} latent channels, the transformer "
                             f"takes {wan.in_dim}")

    @property
    def codec(self) -> LatentCodec:
        """What turns this model's latents into frames (and frames into latents for training)."""
        return self._codec

    def stored_tensors(self) -> dict[str, Tensor]:
        """The tensors as :meth:`save_pretrained` writes them. float16 keeps the committed file well under 16 MiB;
        loading casts back to float32. The autoencoder (2 MB) stays float32: its decoder draws the edges."""
        return {k: (v if k.startswith("autoencoder.") else v.half()).detach().cpu().contiguous()
                for k, v in self.state_dict().items()}

    def save_pretrained(self, folder: str | Path, metadata: dict | None = None) -> Path:
        """Write ``sprites_model.safetensors`` and ``sprites_model.json`` atomically."""
        card = {
            "wan_config": dataclasses.asdict(self.transformer.config),
            "text_config": dataclasses.asdict(self.text_encoder.config),
            "stream_config": dataclasses.asdict(self.stream),
            **({} if self.autoencoder is None else {"codec_config": self.autoencoder.config.to_dict()}),
            **(metadata or {}),
        }
        return save_weights(self.stored_tensors(), Path(folder) / f"{MODEL_STEM}.safetensors", card)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> SpritesVideoModel:
        """Load from a folder with ``sprites_model.*`` or from the ``.safetensors`` file itself."""
        weights, card_path = weights_and_card(path, MODEL_STEM, "the Sprites model", TRAIN_COMMAND)
        with readable_weights(weights, card_path, TRAIN_COMMAND):
            card = json.loads(card_path.read_text())
            text = TextEncoderConfig(**{**card["text_config"], "vocab": tuple(card["text_config"]["vocab"])})
            # Cards written before memory sinking's limits moved to the search config (SinkLimits) list them
            stream = {k: v for k, v in card["stream_config"].items() if k not in ("max_sink_frames", "ema_decay")}
            codec = card.get("codec_config")  # absent: a PixelUnshuffle model
            model = cls(WanConfig(**card["wan_config"]), text, StreamConfig(**stream),
                        None if codec is None else AutoencoderConfig.from_dict(codec))
            load_checked(model, load_weights(weights, card, TRAIN_COMMAND), weights)
        logger.info("loaded the Sprites model from %s", weights)
        return model.eval()


def build_generator(
    model: SpritesVideoModel,
    stream_overrides: dict[str, Any] | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> CausalWanGenerator:
    """A streaming generator over a Sprites model (64x64 frames at 16 fps).

    ``stream_overrides`` replace fields of the model's own :class:`StreamConfig` (e.g. the memory
    sinking settings of a search). The model's transformer and text encoder are moved to ``device`` and put
    in eval mode in place (the generator does not copy them).
    """
    codec = model.codec  # the autoencoder stays float32 and moves to the latents' device
    latent = FRAME_SIZE // codec.spatial_factor
    text_encoder = model.text_encoder.to(device).eval()  # stays float32: it is tiny
    return CausalWanGenerator(
        model.transformer, stream_with(model.stream, stream_overrides), text_encoder, codec,
        (latent, latent), FPS, device, dtype,
    )


def _weights_folder(run: Any) -> Path:
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    return Path(run.weights) if run.weights is not None else DEFAULT_WEIGHTS_DIR


def check_run(entry: Any, run: Any) -> int:
    """The checker of the ``sprites`` entry in :data:`streamt1.backends.BACKENDS`: settings it cannot
    take and missing files, found without reading weights. Returns the chunk's latent frames (from the card)."""
    from streamt1.config import ConfigError

    fixed = [f"run.{k}" for k in ("model", "height", "width") if getattr(run, k) is not None]
    if fixed:
        raise ConfigError(f"{', '.join(fixed)} cannot be set for run.backend={entry.name!r}: "
                          f"its model and {FRAME_SIZE}x{FRAME_SIZE} frames are fixed")
    try:
        weights, card = weights_and_card(_weights_folder(run), MODEL_STEM, "the Sprites model", TRAIN_COMMAND)
    except FileNotFoundError as err:
        if run.weights is None:
            raise
        folder = Path(run.weights)
        rewards_only = [kind for kind in ("image", "video") if (folder / f"{kind}_reward.safetensors").is_file()]
        hint = ("; it holds rewards only: give them with " + " ".join(
            f"--{kind}-reward sprites-{kind}={folder}" for kind in rewards_only)) if rewards_only else ""
        raise FileNotFoundError(f"{err}, or leave --weights out to use the built-in weights{hint}") from None
    with readable_weights(weights, card, TRAIN_COMMAND):
        return int(json.loads(card.read_text())["stream_config"]["chunk_frames"])


def load_backend(entry: Any, run: Any, *, device: torch.device, dtype: torch.dtype,
                 stream_overrides: dict[str, Any] | None = None) -> CausalWanGenerator:
    """The factory of the ``sprites`` entry in :data:`streamt1.backends.BACKENDS`: ``run.weights`` or the
    committed weights (checked by :func:`check_run`)."""
    model = SpritesVideoModel.from_pretrained(_weights_folder(run))
    return build_generator(model, stream_overrides, device=device, dtype=dtype)
