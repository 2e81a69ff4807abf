"""Stream-scaled reward pruning (Stream-T1, Sec. 3.3).

Each candidate chunk gets a short score (the image reward averaged over its frames) and a long
score (the video reward on a sliding window of the last W chunks of its history, itself included).
They are fused as

    S = alpha * short + (1 - alpha) * long,   alpha = min(tau, start_frame / (num_frames - chunk_frames)),

so the frame-level term grows as the video advances, capped by ``tau``, and the best ``K`` of the
``K * M`` candidates survive. The reference fuses the rewards' raw scales; ``fusion="zscore"``
first standardises each reward within the candidate pool so neither reward dominates by its units.
"""

from __future__ import annotations

import torch
from torch import Tensor


def mix_alpha(start_frame: int, num_frames: int, chunk_frames: int, tau: float) -> float:
    """Weight of the short score for a chunk starting at ``start_frame`` (latent frames)."""
    span = num_frames - chunk_frames
    progress = start_frame / span if span > 0 else 0.0
    return min(tau, progress)


def standardise(scores: Tensor) -> Tensor:
    """Z-scores within the candidate pool ``[N]``; a constant pool maps to zeros."""
    std = scores.std(unbiased=False)
    centred = scores - scores.mean()
    return centred / std if std > 0 else torch.zeros_like(scores)


def fuse(short: Tensor, long: Tensor, alpha: float, fusion: str = "raw") -> Tensor:
    """``alpha * short + (1 - alpha) * long`` over ``[N]`` candidates, on raw or z-scored rewards."""
    if fusion == "zscore":
        short, long = standardise(short), standardise(long)
    elif fusion != "raw":
        raise ValueError(f"fusion={fusion!r} must be 'raw' or 'zscore'")
    return alpha * short + (1.0 - alpha) * long


def select_top_k(scores: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` best scores, best first; ties keep the lower (earlier) candidate."""
    order = torch.sort(scores, descending=True, stable=True).indices
    return order[:k]


def select_random(num_candidates: int, k: int, generator: torch.Generator) -> Tensor:
    """``k`` distinct candidates uniformly at random (the "w/o reward pruning" ablation)."""
    return torch.randperm(num_candidates, generator=generator)[:k]
