"""Train the tiny Sprites video model (causal Wan + text encoder) with teacher forcing.

    python -m streamt1.sprites.train --out DIR --steps N --device cuda

Each training item is a sampled scene (train split) rendered as a long video: its first chunk
(the sink, frames 0-2) followed by ``context_chunks`` chunks from a random, chunk-aligned point of
the video (RoPE positions are the true frame indices, so the model sees the large positions of
long videos and the jump between the sink and the window, as LongLive's cache does). The sequence
is its clean latents followed by noisy copies (teacher forcing, :func:`teacher_forcing_mask` with
the stream's sink + window): every noisy chunk predicts the flow ``noise - x0`` while attending the
clean earlier chunks (lightly noised, still labelled t = 0, against exposure bias; in a
``misdrawn_share`` of the items drawn wrong, :func:`misdrawn`); the first chunk is also denoised in
extra copies from the caption alone, some of them (``misdrawn_first_share``) noised from a misdrawn
render and aimed at the caption's, as some window chunks are (``misdrawn_window_share``) after their
right context; in a ``rollout_share`` of the items the clean context is the model's own redraw of it
(:func:`redrawn_context`); ``own_first_share`` and ``own_window_share`` add the ``--init`` model's own
sampler states, aimed at its drawings redrawn right (:mod:`streamt1.sprites.own_states`, drawn once
before training). Each chunk's timestep is drawn from the sampler's own schedule
(``schedule_share`` of the chunks) or from the uniform distribution shifted as the sampler shifts it.
With ``reuse`` > 1 batches are drawn from a pool of recent items that the loader refreshes (the GPU
outruns the CPU renderers). The text encoder is trained jointly. AdamW, warm-up then cosine, an EMA of
the weights (saved), bf16 autocast on CUDA.
Weights are saved atomically every ``save_every`` steps and at the end (at ``--max-minutes``, or at a stop by
Ctrl-C, or by SIGTERM through ``streamt1 sprites train``).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import itertools
import logging
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterator, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.attention.flex_attention import BlockMask
from torch.utils.data import DataLoader, default_collate

from streamt1.devices import resolve_device
from streamt1.models.causal_wan import TextKV, frame_block_mask, teacher_forcing_mask
from streamt1.models.config import PREDICTIONS, StreamConfig
from streamt1.models.generator import NULL_PROMPT
from streamt1.models.sampler import shift_sigma, warp_timesteps
from streamt1.outputs.atomic import check_writable_folder
from streamt1.sprites.captions import caption
from streamt1.sprites.codec import SpritesAutoencoder
from streamt1.sprites.model import SPRITES_STREAM, SPRITES_WAN, SpritesVideoModel, sprites_wan_config
from streamt1.sprites.own_states import (ANCHORS, OWN_SIGMAS, OwnFirstChunks, OwnRollouts, check_anchor,
                                         later_steps_in_band, own_first_chunks, own_rollouts)
from streamt1.sprites.training import (ReplayPool, SampleStream, check_loss, check_settings, check_weights,
                                      config_from_flags, draw_in_band, ema_decay_at, lr_factor, run_progress,
                                      sample_loader, scale_straight_moves, stops_held, training_parser,
                                      update_ema)
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.world import (EVENT_BAND, FPS, SHAPES, SIZES, SPEED_RANGE, SceneSpec, SpriteSpec,
                                   check_event_band, render_at, sample_scene, shape_contrast)

logger = logging.getLogger(__name__)


TRAINING_ATTENTION = ("auto", "sdpa", "flex")


@dataclass(frozen=True)
class TrainVideoConfig:
    steps: int = 6000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    seed: int = 0
    workers: int = 8
    # Chunks after the sink; 4 > window / chunk, so the window rule is exercised. 0: items are first
    # chunks only, a cheap stage for what the caption alone decides (where sprites go, their shape and
    # colour): with a clean context the model continues shapes well, from the caption alone it does not.
    context_chunks: int = 4
    max_video_frames: int = 30 * FPS  # positions up to a 30 s video
    start_share: float = 0.25  # share of items whose window starts right after the sink (a video's start)
    # Share of items (of scenes with events) whose window holds one of the caption's events (a background
    # change, an entry, an exit) after at least one chunk of context. At random starts 5.9 % of items
    # show one (2.8 % a background change; 4,000 items drawn with the defaults), and a model told the
    # video's progress still never changed the captioned background.
    event_share: float = 0.0
    # Where in its slot each event of a training scene falls (world.EVENT_BAND: the world's spread). Captions do
    # not time their events, so at a uniform time the model must fire a change at a low rate per chunk, and its
    # deterministic sampler mostly never does: SP50 kept the old background in 62 % of the captioned changes
    # (forty-sixth session). A narrow band around the slot's middle makes "then" a time the progress embedding
    # can read; the ground truth checks only the clip's first and last 15 %. With (0.45, 0.55) (EVB, EVB2, fifty-fifth
    # session) the followed changes came on time, but were drawn too roughly to lift the metric; not used by SP50.
    event_band: tuple[float, float] = EVENT_BAND
    schedule_share: float = 0.5  # share of chunk timesteps taken from the inference schedule
    context_noise: float = 0.05  # max std of noise added to the clean context (still at t = 0)
    # Latent cells that change between neighbouring frames (moving sprites' edges, appearing shapes)
    # weigh 1 + motion_weight in the loss: they are ~8 % of the cells, so a plain mean lets the model
    # copy the context's sprite in place (the weights before F ignored captioned motion).
    motion_weight: float = 4.0
    motion_threshold: float = 0.02  # mean |change| over a cell's 48 latent channels that marks it as changing
    # Extra noisy copies of each item's first chunk, denoised from the caption alone: the chunk every
    # later one continues, and the one the model draws worst (issue 9's diagnosis in benchmarks/README.md).
    first_chunk_copies: int = 4
    # Extra loss weight of the first chunk's cells whose content depends on a sprite's shape
    # (world.shape_contrast: the sprite and its rim), where the caption alone must decide the shape. Tried
    # for minutes from the weights of the time, which ignored shape words: not enough (benchmarks/README.md,
    # fifteenth session).
    shape_weight: float = 0.0
    # Noise band (sigma low, high) the first-chunk copies are drawn from, uniformly; None: the training
    # timesteps of every chunk. The shape word only lowers the ideal denoiser's error between sigma ~0.5
    # and ~0.85 (position settled, outline not yet visible; benchmarks/README.md, fifteenth session),
    # so the copies can spend all their gradient there.
    first_chunk_sigmas: tuple[float, float] | None = None
    # Share of items (and of first-chunk copies) trained on the empty caption: the null condition that
    # classifier-free guidance (StreamConfig.guidance_scale) reads at sampling time.
    caption_dropout: float = 0.0
    # Share of items in which the world stands still until a random chunk of the item (those frames are
    # context only, not loss targets). The model's own first chunks barely move (0.5 px per frame), and
    # from a still context it kept sprites still although it continues clean moving renders well
    # (benchmarks/README.md, eighteenth session): these items teach it to start the captioned motion.
    paused_share: float = 0.0
    # The world's speed over a paused item's context, as a multiple of its own, drawn uniformly from this band
    # (low, high): (0, 0) stands it still; below 0 it runs backwards into the moment it resumes. The model's own
    # contexts do not stand still: their sprites jitter and creep, and plain generation's straight moves went
    # at ~0.1 of their speed (forty-ninth session), as if the model continued whatever velocity its context
    # shows. Items whose context moves slower, still or the wrong way, followed by the captioned motion, teach
    # the caption to overrule it.
    paused_speeds: tuple[float, float] = (0.0, 0.0)
    # Loss weight of a paused item's first chunk after the world resumes, against 1 for every other target chunk:
    # the one chunk that must start the captioned motion from a context that shows none. It moves the sprite
    # 0-1 px (of a 4 px latent cell), and from a still context the committed weights travel +0.8 px along the
    # caption over 18 frames, -1.5 px with it reversed, the render 9.2 (fiftieth session): the plain loss weighs
    # that start little. Weight 8 on top of SP50 (RW, fifty-first session) moved the sprite about 1 px more either
    # way and gained no motion on the tuning split; not used by the committed weights.
    resume_weight: float = 1.0
    # Multiple of the world's speed at which the sprites that move in a straight line travel in a training item,
    # one draw per item, uniform in (low, high), each sprite's result clamped to the world's speeds (SPEED_RANGE:
    # a band of 2-3 takes the scenes' 0.75-1.5 to 1.5-4); (1, 1): the world's own. At speed 1 such a sprite covers ~1.5 px
    # per 3-frame chunk, under half a 4-px latent cell, so one chunk's flow target barely tells it from a still
    # one, and plain generation never starts the move (fiftieth and fifty-first sessions). The motion metric
    # reads direction, not speed.
    straight_speeds: tuple[float, float] = (1.0, 1.0)
    # Share of items whose clean context draws the sprites wrong (:func:`misdrawn`: other shapes, some a
    # size smaller) while the targets keep the caption's: teacher forcing's context is always right, so the
    # model learnt to copy it. Not used by M2 (benchmarks/README.md, twenty-fifth session).
    misdrawn_share: float = 0.0
    # Share of the first-chunk copies noised (sigma in MISDRAWN_SIGMAS) from a misdrawn render and aimed at
    # the caption's: from sigma 0.8 down the model keeps the outline its input shows, so these copies teach
    # it to redraw the one the caption names. M2: 0.5, then 0.25 (benchmarks/README.md, twenty-sixth session).
    misdrawn_first_share: float = 0.0
    # The same for a share of the window chunks after their usual context: M2 keeps its first chunk's shape
    # in only ~30 % of later frames (benchmarks/README.md, twenty-seventh session).
    misdrawn_window_share: float = 0.0
    # Share of each batch (its first items: a fixed count, so compiled shapes stay fixed) whose clean context
    # is the model's own redraw of it (:func:`redrawn_context`), while the targets keep the caption's render:
    # Self-Forcing's point that at inference every context is the model's output, here with the model's own
    # errors rather than misdrawn_share's made-up ones.
    rollout_share: float = 0.0
    # Weight (and share of the first-chunk copies' count) of the model's own first chunks: states its sampler
    # passed through from the caption alone, aimed at the same drawing with the captioned shapes and
    # background where it put the sprites (streamt1.sprites.own_states). Drawn once, from the --init model,
    # before training: ``own_first_scenes`` chunks. The logged EMA probe loss leaves the own terms out, so it
    # stays comparable across runs.
    own_first_share: float = 0.0
    own_first_scenes: int = 4096
    # The same for the chunks after the first: weight (against the teacher-forced loss) of the model's own
    # starts of videos, streamed chunk by chunk from the caption, each later chunk's sampler state after the
    # model's own earlier chunks aimed at that chunk redrawn right (own_states.own_rollouts). OF2's first chunks
    # keep the captioned outline far more often, and its later chunks lose it within ~2 s: they redraw
    # from their own drawing. Drawn once, from the --init model: ``own_window_scenes`` starts.
    own_window_share: float = 0.0
    own_window_scenes: int = 2048
    own_window_frames: int | None = None  # each start's length (whole chunks); None: sequence_frames
    # Noise band of the own starts' kept states (own_states.OWN_SIGMAS by default). The own-window candidates
    # blur the chunks after the first, the more the lower the band reaches (forty-fourth session: 0.2-0.95
    # -4.8 points of imaging quality, 0.55-0.95 -2.0): they denoise even renders softly at the band's sigmas.
    own_window_sigmas: tuple[float, float] = OWN_SIGMAS
    # Where each own chunk's redrawn sprite starts (own_states.ANCHORS): "chunk", where the chunk drew it; or
    # "context", going on from where the chunks before it drew it, which a state at high noise can predict
    # (yet it blurred more: OW6, forty-fifth session, imaging quality -3.1 points against "chunk"'s -2.0).
    own_window_anchor: str = "chunk"
    # Frames a chunk attends besides the sink, its own included (StreamConfig.window_frames), in training and in the
    # saved model's sampling; None: the --init model's (else SPRITES_STREAM's). Needs context_chunks above
    # window / chunk to fill in training.
    window_frames: int | None = None
    ema_decay: float = 0.999
    log_every: int = 100
    save_every: int = 1000
    max_minutes: float | None = None  # stop (and save) after this much training time
    init: str | None = None  # start from these Sprites weights (a folder or .safetensors) instead of scratch
    # The learned codec (a sprites_codec folder or file, `streamt1 sprites train-codec`) the model is
    # trained on and saved with; None: the --init model's codec, else PixelUnshuffle.
    codec: str | None = None
    reuse: int = 1  # steps per fresh loader batch; > 1 trains on a ReplayPool of recent items
    # Teacher forcing's attention: "sdpa" (dense, the mask applied to every pair) or "flex" (FlexAttention,
    # compiled, skips the blocks the mask rules out; CUDA only: it has no backward on the CPU, and heads of at
    # least 16 channels); "auto": flex where it runs, sdpa elsewhere. The saved card records the one that ran.
    attention: str = "auto"
    compile: bool = False  # torch.compile the blocks' work around attention (CausalWan.compile_blocks)
    pool_items: int = 8192  # items the ReplayPool keeps (with reuse > 1)
    wan_overrides: dict = field(default_factory=dict)  # e.g. {"dim": 64} over SPRITES_WAN
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    # Cache geometry, and the schedule ``schedule_share`` of the training timesteps come from (the other
    # timesteps: uniform, shifted by its shift): the sampler's own 8 Euler steps, so training sees the
    # noise levels sampling visits (LongLive's 4 steps, used until these weights, rarely trained below sigma 0.6).
    stream: StreamConfig = SPRITES_STREAM

    def __post_init__(self) -> None:
        check_settings(self)
        for name in ("motion_weight", "motion_threshold", "first_chunk_copies", "shape_weight", "resume_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")
        if self.context_chunks < 0:
            raise ValueError(f"context_chunks={self.context_chunks} must be >= 0 (0: first chunks only)")
        for name in ("steps", "batch_size", "log_every", "save_every", "reuse", "pool_items", "own_first_scenes",
                     "own_window_scenes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.workers < 0:
            raise ValueError(f"workers={self.workers} must be >= 0 (0: render in this process)")
        for name in ("start_share", "event_share", "schedule_share", "ema_decay", "context_noise", "caption_dropout",
                     "paused_share", "misdrawn_share", "misdrawn_first_share", "misdrawn_window_share",
                     "rollout_share", "own_first_share", "own_window_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1]")
        if self.misdrawn_first_share and not self.first_chunk_copies:
            raise ValueError(f"misdrawn_first_share={self.misdrawn_first_share} acts on the first-chunk copies; "
                             "set first_chunk_copies >= 1 (--first-chunk-copies) or the share to 0")
        if self.own_first_share and (self.init is None or not self.first_chunk_copies):
            raise ValueError(f"own_first_share={self.own_first_share} trains on the --init model's own first chunks "
                             "beside the first-chunk copies: pass --init and first_chunk_copies >= 1, or the share 0")
        if self.own_window_share and (self.init is None or not self.context_chunks):
            raise ValueError(f"own_window_share={self.own_window_share} trains on the --init model's own chunks after "
                             "its first: pass --init and context_chunks >= 1, or the share 0")
        frames, chunk = self.own_window_frames, self.stream.chunk_frames
        if frames is not None and (frames % chunk or frames < 2 * chunk):
            raise ValueError(f"own_window_frames={frames} must be two or more whole chunks of {chunk} frames")
        if self.misdrawn_window_share and not self.context_chunks:
            raise ValueError(f"misdrawn_window_share={self.misdrawn_window_share} acts on the window chunks; "
                             "set context_chunks >= 1 (--context-chunks) or the share to 0")
        check_event_band(self.event_band)
        lo, hi = self.straight_speeds
        if not SPEED_RANGE[0] <= lo <= hi <= SPEED_RANGE[1]:
            raise ValueError(f"straight_speeds={self.straight_speeds} must be (low, high) with {SPEED_RANGE[0]} <= "
                             f"low <= high <= {SPEED_RANGE[1]} (multiples of a sprite's speed; 1: its own)")
        if self.paused_share and not self.context_chunks:
            raise ValueError(f"paused_share={self.paused_share} holds back the window's chunks; set context_chunks "
                             ">= 1 (--context-chunks) or the share to 0")
        for name, default in (("paused_speeds", (0.0, 0.0)), ("resume_weight", 1.0)):
            value = getattr(self, name)
            if not self.paused_share and (tuple(value) if isinstance(value, (tuple, list)) else value) != default:
                raise ValueError(f"{name}={value} has nothing to act on without paused items: set paused_share > 0 "
                                 f"(--paused-share) or leave it at {default}")
        lo, hi = self.paused_speeds
        if not -1.0 <= lo <= hi <= 1.0:
            raise ValueError(f"paused_speeds={self.paused_speeds} must be (low, high) with -1 <= low <= high <= 1 "
                             "(multiples of the world's speed over a paused context; 0: still)")
        if self.first_chunk_sigmas is not None:
            lo, hi = self.first_chunk_sigmas
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(f"first_chunk_sigmas={self.first_chunk_sigmas} must be (low, high) with "
                                 "0 <= low < high <= 1")
        check_anchor(self.own_window_anchor, "own_window_anchor")
        if self.window_frames is not None:  # StreamConfig's own rule, named by this field
            dataclasses.replace(self.stream, window_frames=self.window_frames)
        lo, hi = self.own_window_sigmas
        if not 0.0 < lo < hi <= 1.0:
            raise ValueError(f"own_window_sigmas={self.own_window_sigmas} must be (low, high) with 0 < low < high <= 1")
        if self.max_video_frames < self.sequence_frames:
            raise ValueError(f"max_video_frames={self.max_video_frames} must be >= {self.sequence_frames}")
        if self.attention not in TRAINING_ATTENTION:
            raise ValueError(f"attention={self.attention!r} must be one of {', '.join(TRAINING_ATTENTION)}")
        unknown = set(self.wan_overrides) - set(SPRITES_WAN)
        if unknown:
            raise ValueError(f"wan_overrides has unknown keys {sorted(unknown)}; allowed: {sorted(SPRITES_WAN)}")

    @property
    def sequence_frames(self) -> int:
        """Clean frames per item: the sink chunk plus the context chunks."""
        return self.stream.sink_frames + self.context_chunks * self.stream.chunk_frames


# --------------------------------------------------------------------------- data


class TrainItem(NamedTuple):
    """One training item; batched by :func:`batch_items` (or the loader), each field gains a batch
    dimension first and ``caption`` becomes a list."""

    frames: Tensor  # [F, 3, 64, 64], the loss targets' frames
    context: Tensor  # the clean context's frames [F, 3, 64, 64]; empty: the frames themselves
    contrast: Tensor  # the first chunk's shape contrast [chunk, 64, 64]; empty when shape_weight is 0
    misdrawn_first: Tensor  # the first chunk misdrawn [chunk, 3, 64, 64]; empty when misdrawn_first_share is 0
    # the window [F - sink, 3, 64, 64] with a misdrawn_window_share of its chunks misdrawn, the others its
    # frames; empty when that share is 0
    misdrawn_window: Tensor
    positions: Tensor  # [F] frame positions in the video
    targets: Tensor  # [F] loss weights: 1, 0 for frames that are context only (paused), resume_weight after them
    video_frames: Tensor  # the video's length in frames, a scalar: its caption's events are timed by it
    caption: str

    def to(self, device: torch.device) -> TrainItem:
        return TrainItem(*(x.to(device, non_blocking=True) if isinstance(x, Tensor) else x for x in self))


def batch_items(items: list[TrainItem]) -> TrainItem:
    """Items stacked into a batch, as the loader stacks them."""
    return default_collate(items)


def sample_item(g: torch.Generator, config: TrainVideoConfig) -> TrainItem:
    """One training item: the clean context is the frames themselves, or in a ``misdrawn_share`` of the
    items the scene's :func:`misdrawn` version (empty when that share is 0). One misdrawn scene gives the
    first chunk's misdrawn render and the window's misdrawn chunks (each with ``misdrawn_window_share``)."""
    chunk, sink = config.stream.chunk_frames, config.stream.sink_frames
    window = config.context_chunks * chunk
    lo = config.sequence_frames + chunk  # shortest video: the sequence plus one chunk
    length = lo + int(torch.randint(config.max_video_frames - lo + 1, (1,), generator=g))
    scene = scale_straight_moves(sample_scene(g, "train", num_frames=length, event_band=config.event_band), g,
                                 config.straight_speeds)
    # draws nothing when the share is 0, so older configs render the items they did
    start = event_window_start(g, scene, length, config) if config.event_share else None
    if start is None:
        if float(torch.rand((), generator=g)) < config.start_share:
            start = sink
        else:
            start = chunk * int(torch.randint(sink // chunk, (length - window) // chunk + 1, (1,), generator=g))
    positions = torch.cat([torch.arange(sink), torch.arange(start, start + window)])
    times, targets = paused_times(g, positions, config)
    # The contrast doubles an item's rendering time: drawn only when the loss reads it
    contrast = shape_contrast(scene, times[:chunk]) if config.shape_weight else torch.zeros(0)
    frames = render_at(scene, times)
    context = torch.zeros(0)
    if config.misdrawn_share:  # draws nothing when the share is 0, so older configs render the items they did
        wrong = float(torch.rand((), generator=g)) < config.misdrawn_share
        context = render_at(misdrawn(scene, g), times) if wrong else frames
    first = window_wrong = torch.zeros(0)
    if config.misdrawn_first_share or config.misdrawn_window_share:
        wrong_scene = misdrawn(scene, g)
        if config.misdrawn_first_share:
            first = render_at(wrong_scene, times[:chunk])
        if config.misdrawn_window_share:  # only the chunks drawn for it are rendered (renders bound the loader)
            drawn = (torch.rand(config.context_chunks, generator=g) < config.misdrawn_window_share).repeat_interleave(chunk)
            window_wrong = frames[sink:].clone()
            if drawn.any():
                window_wrong[drawn] = render_at(wrong_scene, times[sink:][drawn])
    return TrainItem(frames, context, contrast, first, window_wrong, positions, targets, torch.tensor(length),
                     caption(scene, g))


def misdrawn(scene: SceneSpec, g: torch.Generator) -> SceneSpec:
    """``scene`` with every sprite (entering ones too) drawn as another shape, chosen at random, and
    half of them (at random) a size smaller where there is one: the model's own errors. Placement,
    colour, motion and the events' timing are kept."""
    sizes = list(SIZES)  # smallest first

    def other(sprite: SpriteSpec) -> SpriteSpec:
        shapes = [s for s in SHAPES if s != sprite.shape]
        shape = shapes[int(torch.randint(len(shapes), (1,), generator=g))]
        smaller = float(torch.rand((), generator=g)) < 0.5 and sprite.size != sizes[0]
        size = sizes[sizes.index(sprite.size) - 1] if smaller else sprite.size
        return dataclasses.replace(sprite, shape=shape, size=size)
    return scene.map_sprites(other)


def event_window_start(g: torch.Generator, scene: SceneSpec, length: int, config: TrainVideoConfig) -> int | None:
    """In an ``event_share`` of the items, a chunk-aligned window start that puts one of the scene's
    events in a window chunk after the first (so a clean chunk of the old state precedes it); None
    otherwise, or when no event fits."""
    if not scene.events or float(torch.rand((), generator=g)) >= config.event_share:
        return None
    chunk, sink = config.stream.chunk_frames, config.stream.sink_frames
    window = config.context_chunks * chunk
    frame = scene.events[int(torch.randint(len(scene.events), (1,), generator=g))].frame
    lo = max(sink // chunk, -(-(frame - window + 1) // chunk))  # the event before the window's end
    hi = min((frame - chunk) // chunk, (length - window) // chunk)  # ... and after its first chunk
    if window < 2 * chunk or lo > hi:
        return None
    return chunk * int(torch.randint(lo, hi + 1, (1,), generator=g))


def paused_times(g: torch.Generator, positions: Tensor, config: TrainVideoConfig) -> tuple[Tensor, Tensor]:
    """(render times ``[F]``, loss targets ``[F]``). In a ``paused_share`` of the items the world is held
    back until the start of a random window chunk (after the window's first where the window does not continue
    the sink, so that something is held back): the frames of the contiguous run before it are
    context only (target 0) and show the world moving at a multiple of its speed (``paused_speeds``; 0:
    that chunk's first moment) up to that chunk's start; that chunk's target weight is ``resume_weight``; the
    rest keep their own times and weight 1."""
    times, targets = positions.float(), torch.ones(len(positions))
    chunk, sink = config.stream.chunk_frames, config.stream.sink_frames
    # draws nothing when the share is 0, so older configs render the items they did
    if config.paused_share == 0 or float(torch.rand((), generator=g)) >= config.paused_share:
        return times, targets
    run_start = 0 if int(positions[sink]) == sink else sink  # a window right after the sink continues it
    # a window apart from the sink holds at least its first chunk back: resuming at its start would pause nothing
    first = 0 if run_start == 0 else 1
    if first == config.context_chunks:
        return times, targets
    resume = sink + chunk * int(torch.randint(first, config.context_chunks, (1,), generator=g))
    speed = draw_in_band(config.paused_speeds, g)
    times[run_start:resume] = positions[resume] + speed * (positions[run_start:resume] - positions[resume])
    targets[run_start:resume] = 0
    targets[resume:resume + chunk] = config.resume_weight
    return times, targets


# --------------------------------------------------------------------------- training


def sample_timesteps(
    batch: int, chunks: int, config: TrainVideoConfig, generator: torch.Generator, device: torch.device
) -> Tensor:
    """Per-chunk timesteps ``[B, chunks]``: inference schedule values or shifted-uniform ones."""
    s = config.stream
    schedule = warp_timesteps(s.denoising_steps, s.num_train_timesteps, s.shift).float().to(device)
    pick = schedule[torch.randint(len(schedule), (batch, chunks), generator=generator, device=device)]
    uniform = torch.rand(batch, chunks, generator=generator, device=device)
    uniform = shift_sigma(uniform, s.shift) * s.num_train_timesteps
    use_schedule = torch.rand(batch, chunks, generator=generator, device=device) < config.schedule_share
    return torch.where(use_schedule, pick, uniform)


# Noise band of the chunks noised from a misdrawn render: from sigma 0.8 down the sampler keeps the
# outline its input shows (benchmarks/README.md, twenty-sixth session); below 0.6 the target's correction
# term (1 - sigma) / sigma * (misdrawn - true) would outweigh the noise it is learnt beside.
MISDRAWN_SIGMAS = (0.6, 0.95)


def first_chunk_timesteps(copies: int, config: TrainVideoConfig, generator: torch.Generator,
                          device: torch.device) -> Tensor:
    """Timesteps ``[copies, 1]`` of the first-chunk copies: uniform in ``first_chunk_sigmas``, else as
    every chunk's (:func:`sample_timesteps`)."""
    if config.first_chunk_sigmas is None:
        return sample_timesteps(copies, 1, config, generator, device)
    lo, hi = config.first_chunk_sigmas
    sigma = lo + (hi - lo) * torch.rand(copies, 1, generator=generator, device=device)
    return sigma * config.stream.num_train_timesteps


@functools.lru_cache(maxsize=8)  # the training sequence and the rollout redraw's five shorter ones
def training_mask(frames: int, tokens_per_frame: int, stream: StreamConfig, flex: bool,
                  device: torch.device) -> Tensor | BlockMask:
    """Teacher forcing's mask for ``frames`` clean frames and their noisy copies: the frame mask, or
    (``flex``) its block mask, built once per shape."""
    mask = teacher_forcing_mask(frames, stream.chunk_frames, stream.sink_frames, stream.window_frames, device=device)
    return frame_block_mask(mask, tokens_per_frame) if flex else mask


FLEX_MIN_HEAD_DIM = 16  # FlexAttention's kernels refuse narrower heads (NotImplementedError deep in inductor)


def training_attention(config: TrainVideoConfig, device: torch.device, head_dim: int) -> str:
    """The attention that trains: "flex" or "sdpa". ``auto`` takes flex on CUDA where the heads are wide enough
    for it; an explicit flex that cannot run is refused with the fix."""
    if config.attention == "flex" and device.type != "cuda":
        raise ValueError(f"attention='flex' trains on CUDA only (FlexAttention has no backward on {device.type}); "
                         "pass --attention sdpa or auto")
    if config.attention == "flex" and head_dim < FLEX_MIN_HEAD_DIM:
        raise ValueError(f"attention='flex' needs heads of at least {FLEX_MIN_HEAD_DIM} channels and this model's "
                         f"have {head_dim} (dim / num_heads): pass --attention sdpa or auto, or a wider --dim")
    auto_flex = config.attention == "auto" and device.type == "cuda" and head_dim >= FLEX_MIN_HEAD_DIM
    return "flex" if config.attention == "flex" or auto_flex else "sdpa"


def predict_flow(model: SpritesVideoModel, context: Tensor, x_t: Tensor, t: Tensor, text: TextKV,
                 positions: Tensor, config: TrainVideoConfig) -> Tensor:
    """Flow predictions ``[B, C, F, h, w]`` of the noisy copies ``x_t`` (timesteps ``t [B, F]``) after ``context``."""
    wan = model.transformer.config
    f, (rows, cols) = context.shape[2], wan.token_grid(*context.shape[-2:])
    # an explicit flex also runs forward-only on the CPU; "auto" is settled as training settles it
    flex = config.attention == "flex" or training_attention(config, context.device, wan.dim // wan.num_heads) == "flex"
    mask = training_mask(f, rows * cols, config.stream, flex, context.device)
    return model.transformer(
        torch.cat([context, x_t], dim=2), torch.cat([torch.zeros_like(t), t], dim=1), text,
        torch.cat([positions, positions], dim=1), mask,
    )[:, :, f:]


def noisy_copies(x0: Tensor, t: Tensor, config: TrainVideoConfig, generator: torch.Generator,
                 misdrawn_x0: Tensor | None = None, wrong: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(x_t, t, target)`` of ``x0 [B, C, F, h, w]`` at per-chunk timesteps ``t [B, chunks]``: noised, and
    aimed at the flow ``noise - x0``. The chunks ``wrong [B, chunks]`` marks are noised from
    ``misdrawn_x0`` instead, at a sigma drawn in MISDRAWN_SIGMAS, and aimed at the flow whose x0 prediction
    ``x_t - sigma * flow`` is ``x0``: the caption's render, not the one their input shows. ``t`` comes back
    per frame ``[B, F]``."""
    c, n = config.stream.chunk_frames, config.stream.num_train_timesteps
    start = x0
    if wrong is not None:
        lo, hi = MISDRAWN_SIGMAS
        band = lo + (hi - lo) * torch.rand(t.shape, generator=generator, device=t.device)
        t = torch.where(wrong, band * n, t)
        wrong = wrong.repeat_interleave(c, dim=1)[:, None, :, None, None]
        start = torch.where(wrong, misdrawn_x0, x0)
    t = t.repeat_interleave(c, dim=1)
    sigma = (t / n)[:, None, :, None, None]
    noise = torch.randn(x0.shape, generator=generator, device=x0.device)
    x_t = (1 - sigma) * start + sigma * noise
    target = noise - x0
    if wrong is not None:
        target = torch.where(wrong, (x_t - x0) / sigma, target)
    return x_t, t, target


# Noise band and Euler steps of the model's redraw of a rollout item's context (rollout_share). M2's redraws
# of 24 train-split items (benchmarks/sprites_redraw_shapes.py) keep the captioned shape in 75.7 % of frames
# from sigma 0.6-0.95, 60.6 % from 0.7-1.0 and 43.9 % from 0.8-1.0 (its own videos: ~30-46 %), the sprites
# 1.0, 1.8 and 3.8 px from the render's: this band gives outline errors while the render stays a right target.
ROLLOUT_SIGMAS = (0.7, 1.0)
ROLLOUT_STEPS = 3


@torch.no_grad()
def redrawn_context(model: SpritesVideoModel, x0: Tensor, text: TextKV, positions: Tensor,
                    config: TrainVideoConfig, generator: torch.Generator,
                    band: tuple[float, float] = ROLLOUT_SIGMAS) -> Tensor:
    """The model's own version of clean frames ``x0 [B, C, F, h, w]``, chunk by chunk as it streams: each
    chunk noised to a sigma drawn in ``band`` and denoised in ROLLOUT_STEPS Euler steps after the earlier
    chunks' redraws, without gradients. After the true earlier frames instead, the redraw kept the
    captioned shape nearly as often as the render (``benchmarks/sprites_redraw_shapes.py``): the outlines
    a chunk gets wrong are the ones it inherits."""
    c, n = config.stream.chunk_frames, config.stream.num_train_timesteps
    lo, hi = band
    chunks = torch.rand(x0.shape[0], x0.shape[2] // c, generator=generator, device=x0.device)
    start = (lo + (hi - lo) * chunks).repeat_interleave(c, dim=1)  # [B, F]
    noise = torch.randn(x0.shape, generator=generator, device=x0.device)
    redraw = x0.clone()
    for end in range(c, x0.shape[2] + 1, c):  # the chunk ending at frame ``end``, after the redraw so far
        chunk = slice(end - c, end)
        x = x0[:, :, chunk] + start[:, None, chunk, None, None] * (noise[:, :, chunk] - x0[:, :, chunk])
        for k in range(ROLLOUT_STEPS, 0, -1):
            sigma, after = start[:, chunk] * k / ROLLOUT_STEPS, start[:, chunk] * (k - 1) / ROLLOUT_STEPS
            # the earlier frames' noisy copies only fill the sequence: no chunk attends another's copy
            x_t = torch.cat([redraw[:, :, : end - c], x], 2)
            t = torch.cat([torch.zeros_like(start[:, : end - c]), sigma], 1) * n
            flow = predict_flow(model, redraw[:, :, :end], x_t, t, text, positions[:, :end], config)[:, :, -c:]
            x = x + (after - sigma)[:, None, :, None, None] * flow.float()
        redraw[:, :, chunk] = x.to(x0.dtype)
    return redraw


def change_weights(x0: Tensor, positions: Tensor, config: TrainVideoConfig) -> Tensor:
    """Per-cell loss weights ``[B, 1, F, h, w]``: ``1 + motion_weight`` where a cell changes by more than
    ``motion_threshold`` against a neighbouring frame (only frames one position apart: the sink and
    the window are not neighbours), else 1."""
    change = (x0[:, :, 1:] - x0[:, :, :-1]).abs().mean(1, keepdim=True)  # [B, 1, F-1, h, w]
    adjacent = (positions[:, 1:] - positions[:, :-1] == 1)[:, None, :, None, None].to(x0.device)
    moving = (change > config.motion_threshold) & adjacent
    none = torch.zeros_like(moving[:, :, :1])
    moving = torch.cat([moving, none], 2) | torch.cat([none, moving], 2)  # the frames on both sides
    return 1 + config.motion_weight * moving.float()


def loss_weights(x0: Tensor, contrast: Tensor, positions: Tensor, factor: int, config: TrainVideoConfig) -> Tensor:
    """Per-cell loss weights ``[B, 1, F, h, w]``: :func:`change_weights`, plus on the first chunk
    ``shape_weight`` times the mean shape contrast ``[B, chunk, H, W]`` over each cell's ``factor x
    factor`` pixels (the contrast is not read, and may be empty, when ``shape_weight`` is 0)."""
    weights = change_weights(x0, positions, config)
    if config.shape_weight:
        c = config.stream.chunk_frames
        weights[:, :, :c] += config.shape_weight * F.avg_pool2d(contrast.float().to(x0.device), factor)[:, None]
    return weights


def weighted_mse(prediction: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Mean squared error with per-cell weights, normalised by their mean (scale-free across batches)."""
    weights = weights.expand_as(target)
    return ((prediction.float() - target) ** 2 * weights).sum() / weights.sum().clamp(min=1e-6)


def flow_loss(model: SpritesVideoModel, batch: TrainItem, config: TrainVideoConfig,
              generator: torch.Generator, own: OwnFirstChunks | None = None,
              own_window: OwnRollouts | None = None) -> Tensor:
    """Teacher-forced flow-matching loss of a batch (:func:`batch_items`, on the model's device): its
    frames ``[B, F, 3, H, W]`` denoised after its clean context, weighted per cell by
    :func:`loss_weights` (with its shape contrast) times the frames' target weights (paused frames are
    context only, the chunk after them weighs ``resume_weight``); a ``rollout_share`` of the items after the
    model's own redraw of their context (:func:`redrawn_context`); the window chunks its ``misdrawn_window`` changes are noised from that
    (:func:`noisy_copies`); with ``first_chunk_copies``, the mean with the loss of the first chunks denoised again from the caption
    alone, which with ``own`` mixes in ``own_first_share`` of :func:`own_first_loss`; with ``own_window`` the
    teacher-forced loss mixes in ``own_window_share`` of :func:`own_window_loss`."""
    s = config.stream
    b, f = batch.frames.shape[:2]
    positions, video_frames = batch.positions, batch.video_frames
    x0 = model.codec.encode(batch.frames)  # [B, C, F, h, w]
    weights = loss_weights(x0, batch.contrast, positions, model.codec.spatial_factor, config)
    weights = weights * batch.targets.to(weights)[:, None, :, None, None]
    states = model.text_encoder(list(batch.caption))  # [B, Lt, D], shared with the first-chunk copies
    shown = drop_captions(model, states, config, generator)
    text = model.transformer.encode_text(shown, video_frames)
    t = sample_timesteps(b, f // s.chunk_frames, config, generator, x0.device)
    misdrawn_chunks = misdrawn_x0 = None
    if batch.misdrawn_window.numel():  # the sink chunk is left to the first-chunk copies
        drawn = (batch.misdrawn_window != batch.frames[:, s.sink_frames:]).unflatten(1, (-1, s.chunk_frames))
        sink_chunks = torch.zeros(b, s.sink_frames // s.chunk_frames, dtype=torch.bool, device=x0.device)
        misdrawn_chunks = torch.cat([sink_chunks, drawn.flatten(2).any(2)], 1)
        changed = misdrawn_chunks.repeat_interleave(s.chunk_frames, 1)  # [B, F]
        misdrawn_x0 = x0.clone()
        if changed.any():  # encode only the misdrawn frames (the codec is per frame): x0 holds the others
            z = model.codec.encode(batch.misdrawn_window[changed[:, s.sink_frames:]][None])[0]  # [C, N, h, w]
            misdrawn_x0.transpose(1, 2)[changed] = z.transpose(0, 1).to(x0.dtype)
    x_t, t, target = noisy_copies(x0, t, config, generator, misdrawn_x0, misdrawn_chunks)
    # At inference the context is the model's own output: a slightly corrupted clean context
    # (per item, up to ``context_noise``) teaches it not to copy errors forward.
    strength = config.context_noise * torch.rand(b, 1, 1, 1, 1, generator=generator, device=x0.device)
    clean = x0
    if batch.context.numel():  # encode only the misdrawn items' contexts; the others are their frames
        wrong = (batch.context != batch.frames).flatten(1).any(1)
        if wrong.any():
            clean = x0.clone()
            clean[wrong] = model.codec.encode(batch.context[wrong]).to(x0.dtype)
    redrawn = round(config.rollout_share * b)
    if redrawn:
        clean = clean.clone() if clean is x0 else clean
        own_text = model.transformer.encode_text(shown[:redrawn].detach(), video_frames[:redrawn])
        clean[:redrawn] = redrawn_context(model, x0[:redrawn], own_text, positions[:redrawn], config, generator)
    context = clean + strength * torch.randn(x0.shape, generator=generator, device=x0.device)
    flow = predict_flow(model, context, x_t, t, text, positions, config)
    loss = weighted_mse(flow, target, weights)
    if own_window is not None:
        own_loss = own_window_loss(model, own_window, max(1, round(config.own_window_share * b)), config, generator)
        loss = torch.lerp(loss, own_loss, config.own_window_share)
    if config.first_chunk_copies == 0:
        return loss
    first_wrong = model.codec.encode(batch.misdrawn_first).to(x0.dtype) if batch.misdrawn_first.numel() else None
    first = first_chunk_loss(model, x0, weights, states, positions, video_frames, config, generator, first_wrong)
    if own is not None:
        count = max(1, round(config.own_first_share * b * config.first_chunk_copies))
        first = torch.lerp(first, own_first_loss(model, own, count, config, generator), config.own_first_share)
    return (loss + first) / 2


def drop_captions(model: SpritesVideoModel, states: Tensor, config: TrainVideoConfig,
                  generator: torch.Generator) -> Tensor:
    """Text states ``[B, Lt, D]`` with a ``caption_dropout`` share of the rows replaced by the empty
    caption's (draws nothing when the share is 0, so older configs train as they did)."""
    if config.caption_dropout == 0:
        return states
    drop = torch.rand(states.shape[0], generator=generator, device=states.device) < config.caption_dropout
    return torch.where(drop[:, None, None], model.text_encoder([NULL_PROMPT]), states)


def first_chunk_loss(model: SpritesVideoModel, x0: Tensor, weights: Tensor, text_states: Tensor, positions: Tensor,
                     video_frames: Tensor, config: TrainVideoConfig, generator: torch.Generator,
                     misdrawn_x0: Tensor | None = None) -> Tensor:
    """Flow loss of ``first_chunk_copies`` fresh noisy copies of each item's first chunk, denoised from the
    caption alone. The first chunk attends only to itself, so no context is needed: a short, cheap sequence.
    With ``misdrawn_x0`` (the first chunks misdrawn, ``[B, C, chunk, h, w]``), a ``misdrawn_first_share`` of
    the copies is noised from it instead (:func:`noisy_copies`), aimed at the true first chunk."""
    c, copies, b = config.stream.chunk_frames, config.first_chunk_copies, x0.shape[0]
    first, first_weights = x0[:, :, :c].repeat(copies, 1, 1, 1, 1), weights[:, :, :c].repeat(copies, 1, 1, 1, 1)
    t = first_chunk_timesteps(b * copies, config, generator, x0.device)  # [B * copies, 1]
    wrong = None
    if misdrawn_x0 is not None:
        wrong = (torch.rand(b * copies, generator=generator, device=x0.device) < config.misdrawn_first_share)[:, None]
        misdrawn_x0 = misdrawn_x0.repeat(copies, 1, 1, 1, 1)
    x_t, t, target = noisy_copies(first, t, config, generator, misdrawn_x0, wrong)
    text = model.transformer.encode_text(drop_captions(model, text_states.repeat(copies, 1, 1), config, generator),
                                         video_frames.repeat(copies))
    flow = model.transformer(x_t, t, text, positions[:, :c].repeat(copies, 1), None)
    return weighted_mse(flow, target, first_weights)


def own_first_loss(model: SpritesVideoModel, own: OwnFirstChunks, count: int, config: TrainVideoConfig,
                   generator: torch.Generator) -> Tensor:
    """Flow loss of ``count`` of the model's own first-chunk states (:mod:`streamt1.sprites.own_states`),
    aimed at the flow whose x0 prediction ``x_t - sigma * flow`` is their repaired drawing."""
    x_t, sigma, x0, video_frames, captions = own.draw(count, generator)
    c = config.stream.chunk_frames
    positions = torch.arange(c, device=x_t.device).repeat(count, 1)
    text = model.transformer.encode_text(model.text_encoder(captions), video_frames)
    t = (sigma * config.stream.num_train_timesteps)[:, None].expand(count, c)
    flow = model.transformer(x_t, t, text, positions, None)
    target = (x_t.float() - x0.float()) / sigma[:, None, None, None, None]
    return weighted_mse(flow, target, change_weights(x0.float(), positions, config))


def own_window_loss(model: SpritesVideoModel, own: OwnRollouts, count: int, config: TrainVideoConfig,
                    generator: torch.Generator) -> Tensor:
    """Teacher-forced flow loss of ``count`` of the model's own starts of videos (:func:`own_states.own_rollouts`):
    each chunk after the first from its own sampler state after the model's own earlier chunks, aimed at the
    flow whose x0 prediction is that chunk redrawn right (the first chunk is :func:`own_first_loss`'s)."""
    context, x_t, sigmas, x0, video_frames, captions = own.draw(count, generator)
    c = config.stream.chunk_frames
    positions = torch.arange(x_t.shape[2], device=x_t.device).repeat(count, 1)
    text = model.transformer.encode_text(model.text_encoder(captions), video_frames)
    sigma = sigmas.repeat_interleave(c, dim=1)  # [count, F]
    flow = predict_flow(model, context, x_t, sigma * config.stream.num_train_timesteps, text, positions, config)
    target = (x_t.float() - x0.float()) / sigma[:, None, :, None, None]
    weights = change_weights(x0.float(), positions, config)
    weights[:, :, :c] = 0
    return weighted_mse(flow, target, weights)


@torch.no_grad()
def eval_loss(model: SpritesVideoModel, batch: TrainItem, config: TrainVideoConfig, device: torch.device) -> float:
    """Loss of a fixed probe batch with fixed noise (comparable across steps)."""
    g = torch.Generator(device=device).manual_seed(config.seed + 1)
    with _autocast(device):
        return float(flow_loss(model, batch.to(device), config, g))


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def _save(ema: SpritesVideoModel, out: Path, config: TrainVideoConfig, history: list[dict], seconds: float,
          step: int) -> None:
    check_weights(ema.stored_tensors(), step, str(out))
    training = {"train_config": asdict(config), "steps_done": step, "seconds": round(seconds, 1),
                "history": history, "final": history[-1] if history else {}, "weights": "ema"}
    ema.save_pretrained(out, {"training": training})


def _batches(loader: DataLoader, config: TrainVideoConfig, device: torch.device) -> Iterator[TrainItem]:
    """Training batches on ``device``: the loader's own, or (``reuse`` > 1) draws from a
    :class:`ReplayPool` that one fresh loader batch refreshes every ``reuse`` steps."""
    if config.reuse == 1:
        yield from (batch.to(device) for batch in loader)
        return
    pool = ReplayPool(config.pool_items)
    pick = torch.Generator().manual_seed(config.seed + 17)
    fresh = iter(loader)
    for step in itertools.count():
        if step % config.reuse == 0 or pool.size < config.batch_size:
            pool.add(*next(fresh).to(device))
        yield TrainItem(*pool.sample(config.batch_size, pick))


# Paths a model may gain over its --init weights; each starts as a no-op or a small perturbation.
OPTIONAL_PATHS = {"spatial_embedding": "transformer.spatial_embedding",
                  "pooled_text": "transformer.pooled_text_embedding.",
                  "refiner_channels": "transformer.refiner.",
                  "progress_embedding": "transformer.progress_embedding."}
# Config fields that come with an optional path (a model without a refiner has no use for its scale).
COMPANIONS = {"refiner_channels": ("refiner_shuffle",)}


def load_init(model: SpritesVideoModel, start: SpritesVideoModel, source: str) -> None:
    """Continue from ``start``: same sizes, and every weight it has; paths in :data:`OPTIONAL_PATHS` that
    ``start`` lacks keep their fresh initialisation (the pooled-text path starts at zero). A model with
    more blocks than ``start`` keeps its blocks and appends the rest as identities (zero residual
    outputs), so it starts as ``start`` was and trains the new depth from there."""
    ours, theirs = model.transformer.config, start.transformer.config
    added = {name for name in OPTIONAL_PATHS if getattr(theirs, name) in (None, False, 0) and getattr(ours, name)}
    fields = added | {c for n in added for c in COMPANIONS.get(n, ())}
    if ours.num_layers > theirs.num_layers:
        fields.add("num_layers")
    if dataclasses.replace(theirs, **{n: getattr(ours, n) for n in fields}) != ours or \
            start.text_encoder.config != model.text_encoder.config:
        raise ValueError(f"--init {source} holds a model of another size; its card: {theirs}")
    missing, unexpected = model.load_state_dict(start.state_dict(), strict=False)
    new_blocks = range(theirs.num_layers, ours.num_layers)
    allowed = tuple(OPTIONAL_PATHS[n] for n in added) + tuple(f"transformer.blocks.{i}." for i in new_blocks)
    if unexpected or any(not k.startswith(allowed) for k in missing):
        raise ValueError(f"--init {source}: unexpected keys {unexpected}, missing keys {missing}")
    for i in new_blocks:
        block = model.transformer.blocks[i]
        for residual in (block.self_attn.o, block.cross_attn.o, block.ffn[-1]):
            torch.nn.init.zeros_(residual.weight)
            torch.nn.init.zeros_(residual.bias)
    if added or new_blocks:
        logger.info("--init %s: new paths %s and blocks %s start from their initialisation", source, sorted(added),
                    list(new_blocks))


def _training_codec(config: TrainVideoConfig, start: SpritesVideoModel | None) -> SpritesAutoencoder | None:
    """The autoencoder to train on: ``config.codec``, else the ``--init`` model's (None: PixelUnshuffle)."""
    if config.codec is not None:
        from streamt1.sprites.train_codec import load_codec

        if start is not None and start.autoencoder is not None:
            raise ValueError(f"--init {config.init} was trained on its own codec: leave --codec out")
        if start is not None:
            raise ValueError(f"--init {config.init} was trained on PixelUnshuffle latents; a model on a learned "
                             "codec starts from scratch: leave --init out")
        return load_codec(config.codec)
    return None if start is None else start.autoencoder


def train(config: TrainVideoConfig, out: str | Path, device: str | torch.device = "cpu") -> dict:
    """Train, save ``sprites_model.*`` under ``out`` (EMA weights) and return the training card."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available; pass --device cpu")
    out = Path(out)
    torch.manual_seed(config.seed)
    start = None if config.init is None else SpritesVideoModel.from_pretrained(config.init)
    # a continued model keeps the sampling its card was tuned for (e.g. guidance); a new one gets the default
    drawn_stream = SPRITES_STREAM if start is None else start.stream
    window = config.window_frames or drawn_stream.window_frames
    config = dataclasses.replace(config, stream=dataclasses.replace(config.stream, window_frames=window))
    autoencoder = _training_codec(config, start)
    overrides = dict(config.wan_overrides)
    if start is not None:  # a continued model keeps the optional paths it has (a flag only adds them)
        theirs = start.transformer.config
        for name in OPTIONAL_PATHS:
            if name in SPRITES_WAN and getattr(theirs, name) not in (None, False, 0) and name not in overrides:
                overrides.update({n: getattr(theirs, n) for n in (name, *COMPANIONS.get(name, ()))})
        overrides.setdefault("num_layers", theirs.num_layers)  # and its depth: only --layers grows it
    model = SpritesVideoModel(
        sprites_wan_config(config.text, None if autoencoder is None else autoencoder.config.latent_channels,
                           **overrides),
        config.text, drawn_stream, None if autoencoder is None else autoencoder.config)
    wan = model.transformer.config
    config = dataclasses.replace(config, attention=training_attention(config, device, wan.dim // wan.num_heads))
    model.transformer.init_weights(torch.Generator().manual_seed(config.seed))  # on the CPU: same weights anywhere
    if start is not None:
        load_init(model, start, config.init)
    if autoencoder is not None:
        model.autoencoder.load_state_dict(autoencoder.state_dict())
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    if config.own_window_share:  # before anything is drawn: the model's own schedule (a continued model keeps its)
        later_steps_in_band(model.stream, config.own_window_sigmas)
    own = None
    if config.own_first_share:
        built = time.time()
        with _autocast(device):
            own = own_first_chunks(ema, config.own_first_scenes,
                                   (config.sequence_frames + config.stream.chunk_frames, config.max_video_frames),
                                   torch.Generator().manual_seed(config.seed + 104_729),
                                   straight_speeds=config.straight_speeds, event_band=config.event_band)
        logger.info("drew %d own first chunks (%d states each) in %.0f s; the sprites were found in %.1f %% of "
                    "their frames", len(own.captions), own.states.shape[1], time.time() - built, 100 * own.found)
    own_window = None
    if config.own_window_share:
        built, own_frames = time.time(), config.own_window_frames or config.sequence_frames
        with _autocast(device):
            own_window = own_rollouts(
                ema, config.own_window_scenes, own_frames,
                (own_frames + config.stream.chunk_frames, config.max_video_frames),
                torch.Generator().manual_seed(config.seed + 130_363), band=config.own_window_sigmas,
                anchor=config.own_window_anchor, straight_speeds=config.straight_speeds, event_band=config.event_band)
        logger.info("drew %d own starts of videos (%d frames) in %.0f s; the sprites were found in %.1f %% of their "
                    "frames", len(own_window.captions), own_frames, time.time() - built,
                    100 * own_window.found)
    # the window trained from here on (and saved); the own states above were drawn as the --init model streams
    model.stream = ema.stream = dataclasses.replace(drawn_stream, window_frames=window)
    if config.compile:  # after the copy: the EMA's blocks (probe loss, saved weights) stay eager
        model.transformer.compile_blocks()
    trained = [p for p in model.parameters() if p.requires_grad]  # not the frozen autoencoder
    opt = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99))
    sample = partial(sample_item, config=config)
    loader = sample_loader(SampleStream(sample, config.seed), config.batch_size, config.workers, device)
    probe = next(iter(DataLoader(SampleStream(sample, config.seed + 7919), batch_size=config.batch_size)))
    noise_gen = torch.Generator(device=device).manual_seed(config.seed)
    history: list[dict] = []
    losses: list[float] = []
    t0, done = time.time(), 0
    logger.info("training %.2fM parameters on %s", sum(p.numel() for p in trained) / 1e6, device)
    try:
        for step, batch in enumerate(_batches(loader, config, device)):
            done_share = run_progress(step, config.steps, time.time() - t0, config.max_minutes)
            if done_share >= 1:
                break
            for group in opt.param_groups:
                group["lr"] = config.lr * lr_factor(done_share)
            with _autocast(device):
                loss = flow_loss(model, batch, config, noise_gen, own, own_window)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            opt.step()
            update_ema(ema, model, ema_decay_at(step, config.ema_decay))
            losses.append(check_loss(loss.item(), step + 1, str(out)))
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                row = {"step": done, "seconds": round(time.time() - t0, 1),
                       "loss": round(sum(losses) / len(losses), 5),
                       "ema_probe_loss": round(check_loss(eval_loss(ema, probe, config, device), done, str(out),
                                                          "EMA's probe loss"), 5),
                       "lr": opt.param_groups[0]["lr"]}
                history.append(row)
                losses.clear()
                logger.info("step %d/%d %s", done, config.steps, row)
            if done % config.save_every == 0:
                _save(ema, out, config, history, time.time() - t0, done)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (a timeout, a scheduler's preemption)
        # the steps done are kept, as at --max-minutes; a stop inside the EMA's update leaves part of that step's
        # update in it
        if done:
            with stops_held():
                _save(ema, out, config, history, time.time() - t0, done)
            logger.info("stopped after step %d; saved the Sprites model to %s (continue with --init %s)", done, out,
                        out)
        raise
    _save(ema, out, config, history, time.time() - t0, done)
    logger.info("saved the Sprites model to %s after %.0f s", out, time.time() - t0)
    return {"history": history, "seconds": time.time() - t0}


def _check_width(overrides: dict) -> None:
    """``--dim`` in the flag's own terms: the model config's own check names its heads, which no flag sets."""
    try:
        sprites_wan_config(TextEncoderConfig(), **overrides)
    except ValueError as err:
        heads = SPRITES_WAN["num_heads"]
        raise ValueError(f"--dim {overrides['dim']} does not suit the model's {heads} heads ({err}): "
                         f"use e.g. 64, 128 or {SPRITES_WAN['dim']} (the default)") from None


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    p = training_parser(__doc__.split("\n")[0], "folder for sprites_model.safetensors / .json", TrainVideoConfig, prog)
    p.add_argument("--init", default=None, help="continue from these Sprites weights (folder or .safetensors)")
    p.add_argument("--codec", default=None,
                   help="train on this learned codec (`streamt1 sprites train-codec`; default: --init's, else "
                        "PixelUnshuffle)")
    p.add_argument("--dim", type=int, default=None, help=f"transformer width (default {SPRITES_WAN['dim']})")
    p.add_argument("--layers", type=int, default=None, help=f"blocks (default {SPRITES_WAN['num_layers']})")
    p.add_argument("--prediction", default=None, choices=PREDICTIONS,
                   help=f"what the head predicts (default {SPRITES_WAN['prediction']})")
    p.add_argument("--refiner", type=int, default=None,
                   help="width of a convolutional refiner after the head, at pixel scale on PixelUnshuffle latents "
                        f"(default {SPRITES_WAN['refiner_channels']}: none; with --init, added to its model)")
    p.add_argument("--progress", action="store_true", default=None,
                   help="condition on each frame's progress through the video (WanConfig.progress_embedding; "
                        "with --init, added to its model)")
    p.add_argument("--reuse", type=int, default=TrainVideoConfig.reuse,
                   help="steps per fresh rendered batch (> 1: train on a pool of recent items)")
    p.add_argument("--motion-weight", type=float, default=TrainVideoConfig.motion_weight,
                   help="extra loss weight of latent cells that change between frames")
    p.add_argument("--first-chunk-copies", type=int, default=TrainVideoConfig.first_chunk_copies,
                   help="extra noisy copies of each item's first chunk, denoised from the caption alone")
    p.add_argument("--shape-weight", type=float, default=TrainVideoConfig.shape_weight,
                   help="extra loss weight of the first chunk's sprite cells (world.shape_contrast)")
    p.add_argument("--first-chunk-sigmas", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="draw the first-chunk copies' noise uniformly from this sigma band (default: as every chunk)")
    p.add_argument("--context-chunks", type=int, default=TrainVideoConfig.context_chunks,
                   help="chunks after the sink in each item (0: first chunks only, which the caption alone decides)")
    p.add_argument("--caption-dropout", type=float, default=TrainVideoConfig.caption_dropout,
                   help="share of items trained on the empty caption (the null condition of run.guidance_scale)")
    p.add_argument("--paused-share", type=float, default=TrainVideoConfig.paused_share,
                   help="share of items whose world is held back (still, or at --paused-speeds) until a random chunk "
                        "(those frames: context only)")
    p.add_argument("--paused-speeds", type=float, nargs=2, default=TrainVideoConfig.paused_speeds,
                   metavar=("LOW", "HIGH"), help="the world's speed over a paused item's context, a multiple of its "
                   "own drawn from this band, -1 to 1 (default %(default)s: still; below 0: backwards; needs "
                   "--paused-share)")
    p.add_argument("--resume-weight", type=float, default=TrainVideoConfig.resume_weight,
                   help="loss weight of a paused item's first chunk after the world resumes (the chunk that must start "
                        "the captioned motion; default %(default)s: as every target chunk; needs --paused-share)")
    p.add_argument("--straight-speeds", type=float, nargs=2, default=TrainVideoConfig.straight_speeds,
                   metavar=("LOW", "HIGH"), help="multiple of their speed at which sprites that move in a straight "
                   f"line travel in a training item, one draw per item from this band, {SPEED_RANGE[0]} to "
                   f"{SPEED_RANGE[1]}; each speed is clamped to the world's, {SPEED_RANGE[0]} to {SPEED_RANGE[1]} "
                   "(default %(default)s: the world's own)")
    p.add_argument("--event-share", type=float, default=TrainVideoConfig.event_share,
                   help="share of items whose window holds one of the caption's events")
    p.add_argument("--event-band", type=float, nargs=2, default=EVENT_BAND, metavar=("LOW", "HIGH"),
                   help="where in its slot each event of a training scene falls, shares of the slot from 0 to 1 "
                        "(default %(default)s: the world's spread; a narrow band times the captions' \"then\")")
    p.add_argument("--attention", default=TrainVideoConfig.attention, choices=TRAINING_ATTENTION,
                   help="teacher forcing's attention: flex skips the masked blocks (auto: flex on CUDA where the "
                        "heads have 16 channels or more)")
    p.add_argument("--compile", action="store_true", help="torch.compile the blocks' work around attention")
    p.add_argument("--misdrawn-share", type=float, default=TrainVideoConfig.misdrawn_share,
                   help="share of items whose clean context draws every sprite as another shape, some a size "
                        "smaller, while the targets keep the caption's")
    p.add_argument("--misdrawn-first-share", type=float, default=TrainVideoConfig.misdrawn_first_share,
                   help="share of the first-chunk copies noised from a render with other shapes, some a size "
                        "smaller, while their target is the caption's render")
    p.add_argument("--misdrawn-window-share", type=float, default=TrainVideoConfig.misdrawn_window_share,
                   help="share of the window chunks noised from a render with other shapes after their right "
                        "context, while their target is the caption's render")
    p.add_argument("--rollout-share", type=float, default=TrainVideoConfig.rollout_share,
                   help="share of each batch whose clean context is the model's own redraw of it (from sigma "
                        f"{ROLLOUT_SIGMAS[0]}-{ROLLOUT_SIGMAS[1]}), while the targets keep the caption's render")
    p.add_argument("--own-first-share", type=float, default=TrainVideoConfig.own_first_share,
                   help="weight of the --init model's own first chunks (sampler states aimed at the drawing with "
                        "the captioned shapes where it put the sprites) among the first-chunk copies")
    p.add_argument("--own-first-scenes", type=int, default=TrainVideoConfig.own_first_scenes,
                   help="own first chunks drawn before training (with --own-first-share)")
    p.add_argument("--own-window-share", type=float, default=TrainVideoConfig.own_window_share,
                   help="weight of the --init model's own starts of videos (each later chunk's sampler state after "
                        "its own earlier chunks, aimed at the chunk redrawn right) against the teacher-forced loss")
    p.add_argument("--own-window-scenes", type=int, default=TrainVideoConfig.own_window_scenes,
                   help="own starts of videos drawn before training (with --own-window-share)")
    p.add_argument("--own-window-frames", type=int, default=None,
                   help="length of each own start of a video, whole chunks (default: the training sequence's)")
    p.add_argument("--own-window-sigmas", type=float, nargs=2, default=TrainVideoConfig.own_window_sigmas,
                   metavar=("LOW", "HIGH"), help="noise band of the own starts' kept sampler states (default %(default)s)")
    p.add_argument("--own-window-anchor", choices=ANCHORS, default=TrainVideoConfig.own_window_anchor,
                   help="where each own chunk's redrawn sprite starts: where the chunk drew it, or going on from "
                        "where its context drew it (default %(default)s)")
    p.add_argument("--window-frames", type=int, default=None,
                   help="frames a chunk attends besides the sink, its own included (a multiple of the chunk; "
                        "saved with the weights, so generation uses it too; default: --init's, else "
                        f"{SPRITES_STREAM.window_frames}). Use --context-chunks above window / chunk, or the window "
                        "never fills in training")
    p.add_argument("--context-noise", type=float, default=TrainVideoConfig.context_noise,
                   help="largest std of the noise added to each item's clean context (against copying errors forward)")
    args = p.parse_args(argv)
    check_writable_folder(args.out)  # before the work, not at its save
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    named = (("dim", args.dim), ("num_layers", args.layers), ("prediction", args.prediction),
             ("refiner_channels", args.refiner), ("progress_embedding", args.progress))
    overrides = {k: v for k, v in named if v is not None}
    if "dim" in overrides:
        overrides["ffn_dim"] = 4 * overrides["dim"]
        _check_width(overrides)
    config = config_from_flags(p, lambda: _config_from(args, overrides))
    train(config, args.out, resolve_device(args.device, "--device"))


def _config_from(args: argparse.Namespace, overrides: dict) -> TrainVideoConfig:
    return TrainVideoConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, workers=args.workers, seed=args.seed,
        max_minutes=args.max_minutes, wan_overrides=overrides,
        init=args.init, codec=args.codec, reuse=args.reuse, motion_weight=args.motion_weight,
        first_chunk_copies=args.first_chunk_copies, caption_dropout=args.caption_dropout,
        shape_weight=args.shape_weight,
        first_chunk_sigmas=None if args.first_chunk_sigmas is None else tuple(args.first_chunk_sigmas),
        context_chunks=args.context_chunks, context_noise=args.context_noise, paused_share=args.paused_share,
        paused_speeds=tuple(args.paused_speeds), resume_weight=args.resume_weight,
        straight_speeds=tuple(args.straight_speeds),
        misdrawn_share=args.misdrawn_share, misdrawn_first_share=args.misdrawn_first_share,
        misdrawn_window_share=args.misdrawn_window_share, rollout_share=args.rollout_share,
        own_first_share=args.own_first_share, own_first_scenes=args.own_first_scenes,
        own_window_share=args.own_window_share, own_window_scenes=args.own_window_scenes,
        own_window_frames=args.own_window_frames,
        own_window_sigmas=tuple(args.own_window_sigmas), own_window_anchor=args.own_window_anchor,
        event_share=args.event_share, event_band=tuple(args.event_band), attention=args.attention, compile=args.compile,
        window_frames=args.window_frames,
        log_every=max(1, min(TrainVideoConfig.log_every, args.steps // 20)),
    )


if __name__ == "__main__":
    main()
