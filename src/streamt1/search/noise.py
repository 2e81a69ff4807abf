"""Stream-scaled noise propagation (Stream-T1, Sec. 3.2).

The initial noise of chunk n inherits from the noise that produced its parent chunk:

    x_T^n = s * x_T^{n-1}(parent) + sqrt(1 - s^2) * eps,   eps ~ N(0, I) fresh,

with chunk 0 plain Gaussian. If the parent noise and eps are independent standard normals the
result is again exactly N(0, I), with correlation ``s`` to the parent (the paper's spherical
interpolation coincides with this for independent high-dimensional Gaussians).
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
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


class NoisePrefetch:
    """Each chunk's fresh noise, drawn for the next chunk on a worker thread while the device runs this one.

    Drawing a 832x480 candidate's noise on the host takes milliseconds; in the loop it would stall
    every chunk (the search overhead, issue 13). :meth:`draw` returns exactly what
    ``make_generators`` + ``draw_noise`` would (the generators in their state after the draw), from
    the prefetch when it was for the same seeds, else drawn now: the video depends only on the seeds.
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="noise")
        self._pending: tuple[list[int], Future] | None = None

    def _draw(self, seeds: list[int]) -> tuple[list[torch.Generator], Tensor]:
        generators = make_generators(seeds)
        return generators, draw_noise(self.shape, generators)

    def prefetch(self, seeds: Sequence[int]) -> None:
        """Start drawing the noise of ``seeds`` (the next chunk's candidates, as far as known)."""
        self._pending = (list(seeds), self._pool.submit(self._draw, list(seeds)))

    def draw(self, seeds: Sequence[int]) -> tuple[list[torch.Generator], Tensor]:
        """The generators of ``seeds`` and their noise ``[len(seeds), *shape]``."""
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == list(seeds):
            return pending[1].result()
        return self._draw(list(seeds))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> NoisePrefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
