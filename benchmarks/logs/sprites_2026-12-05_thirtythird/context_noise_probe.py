"""A probe, not a feature: plain generation with noise added to each committed chunk's latents before the
clean pass that writes its keys and values (the timestep stays 0, as in training, where
``TrainVideoConfig.context_noise`` adds noise of std up to 0.05 to the clean context so that the model
does not copy errors forward). Does the same noise at sampling time loosen the model's hold on its own
misdrawn outlines (the shape falls from ~46 % of the first chunk's frames to ~30 % later) without losing
the sprites? Runs benchmarks/sprites_tuning.py with the patch (CPU):

    CONTEXT_NOISE=0.05 python benchmarks/logs/sprites_2026-12-05_thirtythird/context_noise_probe.py \
        --num-prompts 32 --num-frames 96 --seed 5 --label ctx005 --out OUT --baseline OUT/ctx0.json

The noise is drawn from one generator seeded once per process, so a run is reproducible as a whole.
"""
import os
import runpy
import sys
from pathlib import Path

import torch

from streamt1.models.generator import CausalWanGenerator

STD = float(os.environ.get("CONTEXT_NOISE", "0"))
_noise = torch.Generator().manual_seed(1234)


def _noisy(latents: torch.Tensor) -> torch.Tensor:
    if STD == 0:
        return latents
    noise = torch.randn(latents.shape, generator=_noise).to(latents.device, latents.dtype)
    return latents + STD * noise


_commit = CausalWanGenerator.commit


def commit(self, state, parents, latents, decoded, routes, limits):
    chunk_kv = self.model.chunk_kv

    def noisy_chunk_kv(x, t, *rest):  # only the K/V pass sees the noise; the stored latents stay clean
        return chunk_kv(_noisy(x), t, *rest)
    self.model.chunk_kv = noisy_chunk_kv
    try:
        return _commit(self, state, parents, latents, decoded, routes, limits)
    finally:
        del self.model.chunk_kv


CausalWanGenerator.commit = commit
sys.argv = [str(Path(__file__).parents[2] / "sprites_tuning.py"), *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
