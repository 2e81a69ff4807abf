"""Configs of the causal Wan2.1 network (:class:`WanConfig`) and of its streaming (:class:`StreamConfig`).

Every size used by ``causal_wan``, ``kv_cache`` and ``generator`` is read from these two frozen
dataclasses or from tensor shapes; the Wan2.1-T2V-1.3B numbers live only in :data:`PRESETS`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streamt1.config import ConfigError, is_noise_band, is_timestep_schedule, require, require_choice
from streamt1.models.sampler import SAMPLERS


PREDICTIONS = ("flow", "x0")


@dataclass(frozen=True)
class WanConfig:
    """Architecture of a Wan2.1 text-to-video transformer (original Wan field names)."""

    dim: int
    ffn_dim: int
    num_heads: int
    num_layers: int
    patch_size: tuple[int, int, int]  # (t, h, w)
    in_dim: int  # latent channels in
    out_dim: int  # latent channels out
    freq_dim: int  # width of the sinusoidal timestep embedding
    text_dim: int  # width of the text encoder's hidden states
    text_len: int  # text slots (the encoder output is zero-padded to this length)
    eps: float = 1e-6
    qk_norm: bool = True
    cross_attn_norm: bool = True
    rope_theta: float = 10000.0
    # What the head predicts: "flow" (noise - x0, Wan's) or "x0" (the clean latent, converted to the
    # flow in the forward). x0 suits small models on pixel-like latents, whose per-token noise is
    # nearly as wide as the network (Li & He 2025, "Back to Basics: Let Denoising Generative Models Denoise").
    prediction: str = "flow"
    # Token grid (rows, cols) of a learned absolute position table added to the patch embeddings, or
    # None (Wan's: RoPE only). RoPE is relative: from pure noise a small model cannot place content at
    # absolute positions (a striped background's phase), which a Wan-sized model learns from edges.
    spatial_embedding: tuple[int, int] | None = None
    # Add the prompt's pooled text states to the timestep embedding (SD3 / Flux add a pooled CLIP vector
    # there): every block's modulation then carries the caption, which a small model learns far sooner
    # than cross-attention. False: Wan's (text through cross-attention only).
    pooled_text: bool = False
    # A small convolutional refiner after the head: ``refiner_channels`` wide (0: none, Wan's), at
    # ``refiner_shuffle`` x the latent resolution (the latent channels pixel-shuffled; 4 on the Sprites
    # world's PixelUnshuffle(4) latents = pixels). A token covers many pixels and its linear head draws
    # edges inside it poorly; pixel-space DiTs add such local "detailer" heads for the same reason.
    refiner_channels: int = 0
    refiner_shuffle: int = 1
    # Add an embedding of each frame's progress through the video (frame / (video frames - 1)) to the
    # timestep embedding; the condition then carries the video's length (``encode_text``). A streaming
    # model sees its frame index but not how long the video will be, so it cannot time what a caption
    # says happens "then" (the Sprites world places its events in 20-90 % of the clip). False: Wan's.
    progress_embedding: bool = False

    def __post_init__(self) -> None:
        sizes = ("dim", "ffn_dim", "num_heads", "num_layers", "in_dim", "out_dim", "freq_dim", "text_dim",
                 "text_len")
        for name in sizes:
            value = getattr(self, name)
            require(isinstance(value, int) and value > 0, name, value, "a positive int")
        object.__setattr__(self, "patch_size", tuple(self.patch_size))
        require(
            len(self.patch_size) == 3 and all(isinstance(p, int) and p > 0 for p in self.patch_size),
            "patch_size", self.patch_size, "three positive ints (t, h, w)",
        )
        # Streaming needs one token frame per latent frame (per-frame timesteps, chunked cache).
        require(self.patch_size[0] == 1, "patch_size[0]", self.patch_size[0], "1 for causal streaming")
        require(self.dim % self.num_heads == 0, "num_heads", self.num_heads, f"a divisor of dim={self.dim}")
        require(self.freq_dim % 2 == 0, "freq_dim", self.freq_dim, "an even int")
        # 3-D RoPE needs at least one complex pair per axis: head_dim >= 6 and even.
        require(
            self.head_dim % 2 == 0 and self.head_dim >= 6, "head_dim", self.head_dim,
            "an even int >= 6 (dim // num_heads)",
        )
        require(self.eps > 0, "eps", self.eps, "> 0")
        require(self.rope_theta > 1, "rope_theta", self.rope_theta, "> 1")
        require_choice("prediction", self.prediction, PREDICTIONS)
        require(isinstance(self.refiner_channels, int) and self.refiner_channels >= 0, "refiner_channels",
                self.refiner_channels, "an int >= 0 (0: no refiner)")
        require(isinstance(self.refiner_shuffle, int) and self.refiner_shuffle >= 1, "refiner_shuffle",
                self.refiner_shuffle, "a positive int")
        if self.refiner_channels:
            require(self.in_dim == self.out_dim and self.out_dim % self.refiner_shuffle**2 == 0, "refiner_shuffle",
                    self.refiner_shuffle, f"a factor whose square divides out_dim={self.out_dim} (= in_dim)")
        if self.spatial_embedding is not None:
            object.__setattr__(self, "spatial_embedding", tuple(self.spatial_embedding))
            require(len(self.spatial_embedding) == 2 and all(isinstance(n, int) and n > 0 for n in self.spatial_embedding),
                    "spatial_embedding", self.spatial_embedding, "None or two positive ints (token rows, cols)")

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @property
    def rope_pairs(self) -> tuple[int, int, int]:
        """Complex (rotation) pairs of each head given to time, height and width, as in Wan."""
        spatial = self.head_dim // 6
        return self.head_dim // 2 - 2 * spatial, spatial, spatial

    @property
    def patch_features(self) -> int:
        """Width of the head's output per token: one patch of ``out_dim`` channels."""
        return math.prod(self.patch_size) * self.out_dim

    def token_grid(self, height: int, width: int) -> tuple[int, int]:
        """Token rows and columns of one latent frame of ``height x width``."""
        _, ph, pw = self.patch_size
        if height % ph or width % pw:
            raise ValueError(f"latent size {height}x{width} must be divisible by the patch {ph}x{pw}")
        return height // ph, width // pw

    def tokens_per_frame(self, height: int, width: int) -> int:
        rows, cols = self.token_grid(height, width)
        return rows * cols

    @classmethod
    def preset(cls, name: str) -> "WanConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown WanConfig preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**PRESETS[name])


PRESETS: dict[str, dict] = {
    # Wan2.1-T2V-1.3B, the backbone of CausVid, Self-Forcing and LongLive.
    "wan2.1-t2v-1.3b": dict(
        dim=1536, ffn_dim=8960, num_heads=12, num_layers=30, patch_size=(1, 2, 2), in_dim=16, out_dim=16,
        freq_dim=256, text_dim=4096, text_len=512,
    ),
    # Two blocks, two heads: the unit tests' model.
    "tiny-test": dict(
        dim=32, ffn_dim=64, num_heads=2, num_layers=2, patch_size=(1, 2, 2), in_dim=12, out_dim=12,
        freq_dim=16, text_dim=12, text_len=6,
    ),
    # The same on the Wan2.1 VAE's 16 latent channels: end-to-end runs from a tiny release folder
    # (``--set run.model=tiny-test-z16``), since the VAE's latent statistics are Wan2.1's.
    "tiny-test-z16": dict(
        dim=32, ffn_dim=64, num_heads=2, num_layers=2, patch_size=(1, 2, 2), in_dim=16, out_dim=16,
        freq_dim=16, text_dim=12, text_len=6,
    ),
}


@dataclass(frozen=True)
class StreamConfig:
    """Chunked streaming of a causal model, in latent frames (LongLive's defaults).

    A chunk of ``chunk_frames`` attends to the sink plus the last ``window_frames`` frames including
    itself; LongLive's ``local_attn_size`` is ``sink_frames + window_frames`` (12 = 3 + 9).
    """

    chunk_frames: int = 3
    sink_frames: int = 3  # the first committed chunk; memory sinking may grow it (limits: SinkLimits)
    window_frames: int = 9  # non-sink frames attended, the current chunk included
    # At a prompt switch the sink keeps the first prompt's K/V (LongLive's global_sink) or is re-cached.
    global_sink: bool = True
    denoising_steps: tuple[float, ...] = field(default=(1000, 750, 500, 250))  # before warping
    num_train_timesteps: int = 1000
    shift: float = 5.0
    sampler: str = "renoise"  # LongLive's few-step sampler; "euler" for undistilled models (see sampler.py)
    # The first chunk sees only the prompt, and every later chunk continues it: each of its steps is
    # split into this many (in t before warping), at the cost of one chunk. 1: LongLive's (no split).
    first_chunk_substeps: int = 1
    # Share of fresh noise in each Euler step of the first chunk (sampler.py's eta, per step: its effect
    # grows with first_chunk_substeps; 0: the ODE). The first chunk is drawn from the caption alone,
    # where an imperfect model's ODE drifts most (benchmarks/README.md, "Twenty-third session").
    first_chunk_eta: float = 0.0
    # Classifier-free guidance (Ho & Salimans 2022): each step's flow is null + scale * (caption - null),
    # the null condition being the empty caption, at the cost of a second forward per step. 1: off
    # (LongLive's generators are distilled with guidance built in; a model needs captions dropped in
    # training to have a null condition worth reading).
    guidance_scale: float = 1.0
    # Guided chunks from the start (0: all). The first chunk is drawn from the caption alone and every
    # later one continues it, so guiding it alone buys most of the effect for one chunk's cost.
    guided_chunks: int = 0
    # Guidance only at steps whose noise level t / num_train_timesteps lies in [low, high] (Kynkaanniemi et
    # al. 2024, guidance in a limited interval); the other steps take the caption's flow in one pass. The
    # Sprites model decides a sprite's outline in the middle of the range (benchmarks/README.md,
    # "Fifteenth session"); guidance at the highest noise levels only fixes the layout.
    guidance_sigmas: tuple[float, float] = (0.0, 1.0)
    # Still guidance: each step's flow is flow + w * (flow - still), ``still`` the flow after the same past
    # standing still (every window frame replaced by the newest one, the sink as it is). An imperfect
    # streaming model keeps only a share of its past's change each chunk, so a motion fades chunk by chunk;
    # the guidance extrapolates away from a past that stopped (benchmarks/README.md, "Fifty-sixth session").
    # Chunks whose window holds committed frames only (from the third on), at steps whose noise level lies
    # in still_guidance_sigmas; each guided step costs a second forward, each chunk a re-run of the window
    # and a second copy of the histories' K/V while the chunk is denoised. 0: off.
    still_guidance: float = 0.0
    still_guidance_sigmas: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        c = self.chunk_frames
        require(isinstance(c, int) and c > 0, "chunk_frames", c, "a positive int")
        # The first chunk is the first sink segment; appended segments are whole chunks.
        require(self.sink_frames == c, "sink_frames", self.sink_frames, f"equal to chunk_frames={c}")
        require(
            self.window_frames > c and self.window_frames % c == 0, "window_frames", self.window_frames,
            f"a multiple of chunk_frames={c} greater than {c}",
        )
        require(self.num_train_timesteps > 0, "num_train_timesteps", self.num_train_timesteps, "> 0")
        steps = tuple(float(s) for s in self.denoising_steps)
        object.__setattr__(self, "denoising_steps", steps)
        require(is_timestep_schedule(steps, self.num_train_timesteps), "denoising_steps", steps,
                f"a non-empty strictly decreasing list in (0, {self.num_train_timesteps}]")
        require(self.shift > 0, "shift", self.shift, "> 0")
        require_choice("sampler", self.sampler, SAMPLERS)
        k = self.first_chunk_substeps
        require(isinstance(k, int) and k >= 1, "first_chunk_substeps", k, "an int >= 1")
        eta = self.first_chunk_eta
        require(isinstance(eta, (int, float)) and not isinstance(eta, bool) and 0 <= eta <= 1
                and (eta == 0 or self.sampler == "euler"), "first_chunk_eta", eta,
                f"a number in [0, 1], and 0 unless the sampler is 'euler' (this one: {self.sampler!r})")
        object.__setattr__(self, "first_chunk_eta", float(eta))
        require(self.guidance_scale >= 0, "guidance_scale", self.guidance_scale, ">= 0 (1: no guidance)")
        g = self.guided_chunks
        require(isinstance(g, int) and g >= 0, "guided_chunks", g, "an int >= 0 (0: every chunk)")
        require(is_noise_band(self.guidance_sigmas), "guidance_sigmas", self.guidance_sigmas,
                "[low, high] with 0 <= low < high <= 1 (noise levels; [0, 1]: every step)")
        object.__setattr__(self, "guidance_sigmas", tuple(float(v) for v in self.guidance_sigmas))
        w = self.still_guidance
        require(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0, "still_guidance", w,
                "a number >= 0 (0: off)")
        object.__setattr__(self, "still_guidance", float(w))
        require(is_noise_band(self.still_guidance_sigmas), "still_guidance_sigmas", self.still_guidance_sigmas,
                "[low, high] with 0 <= low < high <= 1 (noise levels; [0, 1]: every step)")
        object.__setattr__(self, "still_guidance_sigmas", tuple(float(v) for v in self.still_guidance_sigmas))

    def guides(self, chunk: int) -> bool:
        """Whether chunk ``chunk`` (0 = the first) is sampled with classifier-free guidance."""
        return self.guidance_scale != 1 and (self.guided_chunks == 0 or chunk < self.guided_chunks)

    def guides_step(self, chunk: int, t: float) -> bool:
        """Whether the step at timestep ``t`` (after warping) of chunk ``chunk`` is guided."""
        low, high = self.guidance_sigmas
        return self.guides(chunk) and low <= t / self.num_train_timesteps <= high

    def still_guides_step(self, chunk: int, t: float) -> bool:
        """Whether the step at timestep ``t`` (after warping) of chunk ``chunk`` takes still guidance: the first
        chunk is the sink, so a window holds committed frames from chunk 2 on."""
        low, high = self.still_guidance_sigmas
        return self.still_guidance != 0 and chunk >= 2 and low <= t / self.num_train_timesteps <= high

    @property
    def first_chunk_steps(self) -> tuple[float, ...]:
        """``denoising_steps`` with every interval (the last one down to 0) split in ``first_chunk_substeps``."""
        k, ends = self.first_chunk_substeps, self.denoising_steps[1:] + (0.0,)
        return tuple(t - m * (t - end) / k for t, end in zip(self.denoising_steps, ends) for m in range(k))

    @property
    def rolling_frames(self) -> int:
        """Committed non-sink frames kept in the cache (the window minus the current chunk)."""
        return self.window_frames - self.chunk_frames


def stream_with(stream: StreamConfig, overrides: Mapping[str, Any] | None) -> StreamConfig:
    """``stream`` with some fields replaced (a run's sampling settings, the search's sink settings); unknown
    field names are rejected, and a value the model's stream refuses is named as the run's."""
    if not overrides:
        return stream
    known = {f.name for f in dataclasses.fields(StreamConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown stream settings {unknown}; allowed: {sorted(known)}")
    try:
        return dataclasses.replace(stream, **overrides)
    except ValueError as err:
        named = [k for k in sorted(overrides) if k in str(err)] or sorted(overrides)
        raise ConfigError(f"the run's {', '.join(named)} does not suit this model: {err}") from None
