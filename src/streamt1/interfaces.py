"""The small interfaces the search engine talks to.

The engine (``streamt1.search``) only ever sees these protocols, in the spirit of k-diffusion's
``external.py`` adapters: the causal Wan2.1 family, the built-in Sprites model and every reward
backend are adapters behind them, and the search never branches on which one it is driving.

Shapes use ``N`` for candidates of one chunk, ``K`` for live histories, ``T`` for decoded frames.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import torch
from torch import Tensor


class Route(enum.Enum):
    """What memory sinking does with a chunk that leaves the local attention window."""

    DISCARD = "discard"  # dropped; the sink is unchanged (plain LongLive behaviour)
    EMA = "ema"  # blended into the newest sink segment: sink <- a*sink + (1-a)*evicted
    APPEND = "append"  # kept as a new sink segment at the frames where it was generated


@dataclass(frozen=True)
class SinkLimits:
    """Memory sinking's limits, owned by the search config and handed to the cache at each commit.

    The cache is the one place that applies them, because only it knows each history's sink length
    at commit time: a requested APPEND that would grow a sink past ``max_sink_frames`` becomes EMA.
    """

    max_sink_frames: int  # latent frames; APPEND turns into EMA once the sink is full
    ema_decay: float  # a in sink <- a * sink + (1 - a) * evicted

    def __post_init__(self) -> None:
        if self.max_sink_frames < 1 or not 0.0 <= self.ema_decay <= 1.0:
            raise ValueError(f"sink limits max_sink_frames={self.max_sink_frames}, ema_decay={self.ema_decay} "
                             "are invalid: expected max_sink_frames >= 1 and ema_decay in [0, 1]")

    def applied(self, route: Route, sink_frames: int, chunk_frames: int) -> Route:
        """The route a sink of ``sink_frames`` really takes for a requested ``route``."""
        if route is Route.APPEND and sink_frames + chunk_frames > self.max_sink_frames:
            return Route.EMA
        return route


@dataclass(frozen=True)
class ChunkSpec:
    """Geometry of one streamed chunk, as the generator reports it."""

    latent_shape: tuple[int, int, int, int]  # (C, F, H, W) of one chunk's initial noise / latent
    frames_per_chunk: int  # decoded frames of every chunk after the first
    first_chunk_frames: int  # decoded frames of chunk 0 (a causal video VAE decodes fewer)
    height: int  # decoded frame size in pixels
    width: int
    fps: float

    @property
    def latent_frames(self) -> int:
        return self.latent_shape[1]

    def num_chunks(self, num_latent_frames: int) -> int:
        """Chunks needed for ``num_latent_frames``; must divide evenly (validated by the config)."""
        return chunk_count(num_latent_frames, self.latent_frames)

    def decoded_frames(self, num_chunks: int) -> int:
        return self.first_chunk_frames + (num_chunks - 1) * self.frames_per_chunk


@dataclass
class Decoded:
    """Frames of a batch of candidate chunks plus whatever decoder state they advanced.

    ``frames`` is ``[N, T, 3, H, W]`` float in [0, 1]. ``cache`` is the decoder's per-candidate
    streaming state (a causal VAE's conv cache), opaque to the engine; ``commit`` keeps the
    survivors' entries so no chunk is ever decoded twice.
    """

    frames: Tensor
    cache: Any = None


@runtime_checkable
class HistoryState(Protocol):
    """Per-history generator state (KV cache, decoder cache, positions), batched over histories."""

    @property
    def num_histories(self) -> int: ...

    def sink_frames(self) -> list[int]:
        """Current sink length in latent frames, one entry per history."""
        ...


@runtime_checkable
class StreamingGenerator(Protocol):
    """A chunk-by-chunk video generator whose histories can be forked and pruned.

    Contract (what the engine relies on):

    * ``denoise`` never writes caches: candidates read their parent's cache, so ``K*M`` candidates
      cost ``K*M`` forwards but no cache copies.
    * ``commit`` runs the clean pass (t = 0) that writes K/V only for the survivors, gathers the
      survivors' parent caches by index (no deep copies of the whole cache per candidate), and
      applies one requested :class:`Route` per survivor to the chunk that leaves the window at this
      commit under the given :class:`SinkLimits`, and returns the routes it really applied.
    * All randomness comes in through ``noise`` and ``generators``: same inputs, same output.

    ``num_denoising_steps``: sampler steps per chunk (the trace counts the model calls with it).
    Optional, for early pruning (``search.early_pruning_step``):
    ``denoise_steps(state, parents, x, generators, start, stop) -> (x_stop, x0_pred)``, the sampler
    paused between steps (see :meth:`streamt1.models.generator.CausalWanGenerator.denoise_steps`).
    Optional, for the trace's call counts: ``model_passes(chunk, start, stop) -> int``, model passes per
    candidate of steps ``start .. stop - 1`` of that chunk (default one a step).
    """

    @property
    def spec(self) -> ChunkSpec: ...

    @property
    def num_denoising_steps(self) -> int: ...

    def encode_prompt(self, prompt: str, num_frames: int | None = None) -> Any:
        """Encode a prompt once for a video of ``num_frames`` latent frames (a model may be conditioned
        on the length); the result is shared by every history and candidate."""
        ...

    def initial_state(self, condition: Any, num_histories: int) -> HistoryState:
        """Empty histories (no chunk generated yet) for ``condition``."""
        ...

    def switch_prompt(self, state: HistoryState, condition: Any) -> HistoryState:
        """Continue every history under a new prompt ``condition`` (from :meth:`encode_prompt`).

        The engine calls it between chunks, at each switch of a prompt schedule. The committed frames
        the next chunk attends are re-encoded under the new prompt at their own frames (LongLive's
        re-cache after a switch; a global sink keeps the first prompt's K/V), for all histories in one
        batched pass.
        """
        ...

    def denoise(
        self,
        state: HistoryState,
        parents: Tensor,
        noise: Tensor,
        generators: Sequence[torch.Generator],
    ) -> Tensor:
        """Denoise one chunk per candidate.

        parents: ``[N]`` long, index of each candidate's history in ``state``.
        noise: ``[N, C, F, H, W]`` initial noise x_T of each candidate.
        generators: ``N`` generators for the fresh noise drawn between sampling steps.
        Returns the clean latents ``[N, C, F, H, W]``.
        """
        ...

    def decode(self, state: HistoryState, parents: Tensor, latents: Tensor) -> Decoded:
        """Decode candidate latents ``[N, ...]`` continuing each parent's decoder stream."""
        ...

    def evicted_chunk(self, state: HistoryState) -> int | None:
        """Index of the chunk that the next ``commit`` pushes out of the local window, if any."""
        ...

    def commit(
        self,
        state: HistoryState,
        parents: Tensor,
        latents: Tensor,
        decoded: Decoded,
        routes: Sequence[Route],
        limits: SinkLimits,
    ) -> tuple[HistoryState, list[Route | None]]:
        """Make the chosen candidates the new histories.

        parents: ``[K]`` parent index of each survivor; latents: ``[K, C, F, H, W]``;
        decoded: the survivors' ``Decoded`` (frames and decoder cache, already selected);
        routes: one requested route per survivor for the chunk that ``evicted_chunk`` named (ignored
        if None); limits: memory sinking's limits. Returns the new state and the route each survivor
        really took (None where nothing left the window).
        """
        ...

    def select_decoded(self, decoded: Decoded, index: Tensor) -> Decoded:
        """Rows ``index`` of a candidate batch's decoded output (frames and decoder cache)."""
        ...


@dataclass
class VideoScore:
    """A video reward's output: the score the search uses plus named sub-scores for the trace."""

    overall: Tensor  # [B]
    parts: dict[str, Tensor] = field(default_factory=dict)  # name -> [B]


@runtime_checkable
class ImageReward(Protocol):
    """Frames ``[N, 3, H, W]`` and one prompt per frame -> scores ``[N]``.

    The engine hands frames as it stores them, ``uint8`` (a float copy of every frame of K*M candidates
    would be made only to be rounded back by rewards that read pixels); float frames in [0, 1] are
    accepted too. Convert with :func:`unit_float` or :func:`to_uint8`.
    """

    def __call__(self, frames: Tensor, prompts: Sequence[str]) -> Tensor: ...


@runtime_checkable
class VideoReward(Protocol):
    """Clips ``[B, T, 3, H, W]`` at ``fps`` and one prompt per clip -> :class:`VideoScore`.

    Clips come as the engine stores frames, ``uint8`` (a long window in float32 would cost 4x the
    memory and a conversion of frames the reward may never read), on any device: a search's reward
    windows on the device where the chunks were decoded, the final pick's videos on the CPU. A
    reward subsamples what it needs, then calls :func:`unit_float` and moves it to its device (or
    to the CPU, to read it with NumPy or PIL). Float clips in [0, 1] are accepted too.

    A reward that reads only some frames should also be a :class:`PlannedVideoReward`: the engine
    then gathers just those frames from the stored chunks instead of building every whole clip.
    """

    def __call__(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore: ...


@runtime_checkable
class PlannedVideoReward(VideoReward, Protocol):
    """A :class:`VideoReward` that names the frames it reads, so they can be gathered without the clip.

    * ``frame_plan(num_frames, fps)``: ``[n]`` long indices (CPU) of the frames it reads of any
      ``num_frames``-frame clip at ``fps``, in the order it reads them (repeats allowed); the one
      owner of the reward's sampling rule.
    * ``score_planned(frames, prompts, fps)``: the score of clips from those frames only,
      ``frames[:, j] = clips[:, frame_plan(T, fps)[j]]`` (``[B, n, 3, H, W]``, same dtypes and
      devices as clips). ``__call__(clips, ...)`` must be exactly
      ``score_planned(clips[:, frame_plan(T, fps)], ...)``, so a reward scores bit-identically
      whether it gets whole clips or the engine gathers the planned frames
      (:func:`streamt1.search.clips.score_clips`).

    A wrapper around a reward (placement, batching, timing) forwards ``frame_plan`` only when the
    reward it wraps has one, and routes ``score_planned`` as it routes ``__call__``.
    """

    def frame_plan(self, num_frames: int, fps: float) -> Tensor: ...

    def score_planned(self, frames: Tensor, prompts: Sequence[str], fps: float) -> VideoScore: ...


def unit_float(frames: Tensor) -> Tensor:
    """Frames as float32 in [0, 1], from ``uint8`` in [0, 255] or any float tensor."""
    return frames.float() / 255 if frames.dtype == torch.uint8 else frames.float()


def to_uint8(frames: Tensor) -> Tensor:
    """Frames as ``uint8``: uint8 as given; float in [0, 1] as ``round(clamp(x, 0, 1) * 255)`` (ties to even).

    The project's one float -> uint8 rule: the engine's stored frames, the PNG / mp4 writers and the
    rewards' inputs all use it, so a float frame scores exactly like the lossless file of it. (The
    Stream-T1 release truncates instead, ``(255 * x).astype(uint8)``: at most one level lower.)
    """
    if frames.dtype == torch.uint8:
        return frames
    if not frames.is_floating_point():
        raise ValueError(f"frames must be uint8 or float in [0, 1], got {frames.dtype}")
    # clamp makes a new tensor, so it is scaled and rounded in place: two fewer frame-sized temporaries
    # for every candidate chunk the engine converts
    scaled = frames.detach().float().clamp(0, 1)
    return scaled.mul_(255).round_().to(torch.uint8)


def chunk_count(num_latent_frames: int, chunk_frames: int) -> int:
    """Chunks of ``chunk_frames`` in ``num_latent_frames``; a length that does not divide evenly raises a
    ValueError naming the nearest lengths that do."""
    if num_latent_frames <= 0 or num_latent_frames % chunk_frames:
        below = max(num_latent_frames, 0) // chunk_frames * chunk_frames
        fits = f"{below} or {below + chunk_frames}" if below else f"{chunk_frames}"
        raise ValueError(f"num_frames={num_latent_frames} must be a positive multiple of the chunk's "
                         f"{chunk_frames} latent frames: use {fits}")
    return num_latent_frames // chunk_frames
