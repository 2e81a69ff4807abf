"""The learning-rate schedule shared by the Sprites training scripts, for step- or time-limited runs."""

from __future__ import annotations

import math

WARM_UP = 0.05  # share of the run spent warming up
FINAL_FACTOR = 0.1  # the cosine decays to this share of the peak rate


def run_progress(step: int, steps: int, seconds: float, max_minutes: float | None) -> float:
    """Share of the run done: of the steps, or of ``max_minutes`` if that runs out first (so a
    time-limited run still ends with a fully decayed learning rate)."""
    done = step / steps
    return done if max_minutes is None else max(done, seconds / (60 * max_minutes))


def lr_factor(progress: float) -> float:
    """Learning-rate factor at ``progress`` in [0, 1]: linear warm-up, then cosine decay."""
    if progress < WARM_UP:
        return max(progress, 1e-3) / WARM_UP
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - WARM_UP) / (1 - WARM_UP))))
    return FINAL_FACTOR + (1 - FINAL_FACTOR) * cosine
