"""The replaceable steps of the beam loop, by kind and name; a preset picks one of each by name.

Kinds and their signatures (``search`` is the running :class:`~streamt1.search.beam.StreamSearch`,
which holds the generator, the rewards and the :class:`~streamt1.config.SearchConfig`):

* ``score``  (``search.scoring``):  ``(search, ctx, pool) -> Scores``   rewards of ``pool.frames``
* ``select`` (``search.pruning``):  ``(search, ctx, pool, k) -> Tensor`` ``k`` survivors' positions, best first
* ``route``  (``search.routing``):  ``(search, node) -> Route``         requested route of an evicted chunk

A new method is a new step registered here (or from user code, before the config is built) plus a
YAML preset naming it::

    @register_step("select", "diverse")
    def select_diverse(search, ctx, pool, k): ...

    # configs/my-method.yaml:  search: {pruning: diverse}
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from streamt1.interfaces import Route
from streamt1.search.clips import gather_frames, score_clips
from streamt1.search.noise import candidate_seed
from streamt1.search.pool import CandidatePool, ChunkContext, ChunkNode, Scores
from streamt1.search.pruning import fuse, mix_alpha, select_random, select_top_k
from streamt1.search.sinking import route_evicted

STEP_KINDS = ("score", "select", "route")
_STEPS: dict[str, dict[str, Callable]] = {kind: {} for kind in STEP_KINDS}


def register_step(kind: str, name: str) -> Callable[[Callable], Callable]:
    """Decorator: make ``fn`` the ``kind`` step called ``name``. A name is registered once: a plugin must
    not silently replace the paper's steps (as backends and rewards, names are unique)."""
    if kind not in STEP_KINDS:
        raise ValueError(f"step kind {kind!r} is not one of {STEP_KINDS}")
    if name in _STEPS[kind]:
        raise ValueError(f"a {kind} step called {name!r} is already registered "
                         f"({_STEPS[kind][name].__module__}); register yours under another name")

    def add(fn: Callable) -> Callable:
        _STEPS[kind][name] = fn
        return fn

    return add


def step_names(kind: str) -> tuple[str, ...]:
    return tuple(sorted(_STEPS[kind]))


def get_step(kind: str, name: str) -> Callable:
    if name not in _STEPS[kind]:
        raise KeyError(f"no {kind} step named {name!r}; registered: {', '.join(step_names(kind))}")
    return _STEPS[kind][name]


# ----- score -------------------------------------------------------------------------------------


@register_step("score", "fused")
def score_fused(search, ctx: ChunkContext, pool: CandidatePool) -> Scores:
    """Stream-T1's scores: the image reward over the chunk's frames (every ``short_frame_stride``-th),
    the video reward over each candidate's window, fused with the progress-dependent alpha."""
    cfg, spec = search.config, search.generator.spec
    picked = pool.frames[:, :: cfg.short_frame_stride]
    n, t = picked.shape[:2]
    images = picked.flatten(0, 1)  # uint8, as stored: each reward converts what it reads (see ImageReward)
    short = search.image_reward(images, [ctx.prompt] * (n * t)).float().cpu().view(n, t).mean(1)
    video = score_clips(search.video_reward, window_chunks(ctx, pool), [ctx.prompt] * n, spec.fps)
    long = video.overall.float().cpu()
    alpha = mix_alpha(ctx.start_frame, ctx.num_frames, spec.latent_frames, cfg.tau)
    fused = fuse(short, long, alpha, cfg.fusion)
    parts = {k: v.float().cpu() for k, v in video.parts.items()}
    return Scores(short=short, long=long, long_parts=parts, fused=fused, alpha=alpha)


def window_chunks(ctx: ChunkContext, pool: CandidatePool) -> list[list[Tensor]]:
    """Each candidate's reward window as its chunks' frames: the last ``ctx.window`` chunks of its
    parent, then its own chunk (uint8, all where they were decoded: see ``ChunkNode.frames``). The
    engine's one window rule.

    Nothing is copied: a reward that names the frames it reads gets only those (see
    :func:`~streamt1.search.clips.score_clips`).
    """
    windows = []
    for i, p in enumerate(pool.parents.tolist()):
        parent = ctx.histories[p]
        past = parent.lineage(ctx.window) if parent is not None and ctx.window > 0 else []
        windows.append([node.frames for node in past] + [pool.frames[i]])
    return windows


def reward_windows(ctx: ChunkContext, pool: CandidatePool) -> Tensor:
    """``[N, T_w, 3, H, W]`` uint8 CPU: every candidate's whole window (:func:`window_chunks`), for
    tools that read all of it (ground-truth metrics); the search itself never builds it."""
    return gather_frames(window_chunks(ctx, pool)).cpu()


# ----- select ------------------------------------------------------------------------------------


@register_step("select", "reward")
def select_by_reward(search, ctx: ChunkContext, pool: CandidatePool, k: int) -> Tensor:
    """The paper's reward pruning: the ``k`` best fused scores (ties keep the earlier candidate)."""
    return select_top_k(pool.scores.fused, k)


@register_step("select", "random")
def select_at_random(search, ctx: ChunkContext, pool: CandidatePool, k: int) -> Tensor:
    """The "w/o reward pruning" ablation: ``k`` candidates drawn from the seed after the last candidate's."""
    seed = candidate_seed(ctx.run_seed, ctx.index, int(pool.ids.max()) + 1)
    return select_random(len(pool), k, torch.Generator().manual_seed(seed))


# ----- route -------------------------------------------------------------------------------------


@register_step("route", "gates")
def route_by_gates(search, node: ChunkNode) -> Route:
    """The paper's memory-sinking table on the chunk's quality and transition gates; with
    ``scene_anchors`` the first chunk of a new scene is requested as APPEND whatever its gates."""
    anchor = search.config.scene_anchors and node.scene_start
    return route_evicted(anchor or bool(node.quality), anchor or bool(node.transition))
