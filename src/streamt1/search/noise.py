"""Stream-scaled noise propagation (Stream-T1, Sec. 3.2).

The initial noise of chunk n inherits from the noise that produced its parent chunk:

    x_T^n = s * x_T^{n-1}(parent) + sqrt(1 - s^2) * eps,   eps ~ N(0, I) fresh,

with chunk 0 plain Gaussian. If the parent noise and eps are independent standard normals the
result is again exactly N(0, I), with correlation ``s`` to the parent (the paper's spherical
interpolation coincides with this for independent high-dimensional Gaussians).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor


def propagate_noise(parent: Tensor, eps: Tensor, s: float) -> Tensor:
    """``s * parent + sqrt(1 - s^2) * eps``; parent, eps: ``[N, C, F, H, W]``."""
    if not -1.0 <= s <= 1.0:
        raise ValueError(f"noise_fusion_sigma={s} must lie in [-1, 1]")
    return s * parent + math.sqrt(1.0 - s * s) * eps


def candidate_seed(run_seed: int, chunk: int, candidate: int) -> int:
    """A 63-bit seed for one candidate, independent across (run seed, chunk, candidate)."""
    state = np.random.SeedSequence([run_seed, chunk, candidate]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def make_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One CPU generator per candidate: the same seed gives the same noise on any device."""
    return [torch.Generator().manual_seed(seed) for seed in seeds]


def draw_noise(shape: Sequence[int], generators: Sequence[torch.Generator]) -> Tensor:
    """``[len(generators), *shape]`` standard normal noise, one row per generator (CPU, float32)."""
    return torch.stack([torch.randn(tuple(shape), generator=g) for g in generators])
