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
    """Z-scores within the candidate pool ``[N]``, over its finite scores (a NaN stays NaN and ranks last,
    rather than zeroing the whole pool); a constant pool maps to zeros."""
    finite = torch.isfinite(scores)
    read = scores[finite]
    if read.numel() == 0:
        return scores.clone()
    std = read.std(unbiased=False)
    centred = scores - read.mean()
    return centred / std if std > 0 else torch.where(finite, torch.zeros_like(scores), scores)


def fuse(short: Tensor, long: Tensor, alpha: float, fusion: str = "raw") -> Tensor:
    """``alpha * short + (1 - alpha) * long`` over ``[N]`` candidates, on raw or z-scored rewards."""
    if fusion == "zscore":
        short, long = standardise(short), standardise(long)
    elif fusion != "raw":
        raise ValueError(f"fusion={fusion!r} must be 'raw' or 'zscore'")
    return alpha * short + (1.0 - alpha) * long


def select_top_k(scores: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` best scores, best first; ties keep the lower (earlier) candidate. A NaN score (a
    reward that could not read the candidate; the trace stores it as null) ranks last, not first as in a sort."""
    readable = torch.where(torch.isnan(scores), torch.full_like(scores, -torch.inf), scores)
    order = torch.sort(readable, descending=True, stable=True).indices
    return order[:k]


def select_random(num_candidates: int, k: int, generator: torch.Generator) -> Tensor:
    """``k`` distinct candidates uniformly at random (the "w/o reward pruning" ablation)."""
    return torch.randperm(num_candidates, generator=generator)[:k]
