"""The engine's types: a history's chunk (:class:`ChunkNode`), the candidates of one chunk
(:class:`CandidatePool`), their rewards (:class:`Scores`) and what a step may read
(:class:`ChunkContext`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor

from streamt1.interfaces import Decoded


@dataclass
class ChunkNode:
    """One committed chunk of one history: a node of the search tree (histories share prefixes)."""

    index: int
    parent: ChunkNode | None
    frames: Tensor  # [T, 3, H, W] uint8, decoded once: where decoded while a reward window reads it, then the CPU
    latents: Tensor  # [C, F, H, W]
    noise: Tensor  # [C, F, H, W] the x_T it was denoised from (noise propagation reads it)
    short: float | None = None
    long: float | None = None
    quality: bool | None = None
    transition: bool | None = None
    scene_start: bool = False  # the first chunk after a prompt switch (an anchor of the new scene)

    def lineage(self, depth: int | None = None) -> list[ChunkNode]:
        """The last ``depth`` chunks of this history (all if None), oldest first."""
        nodes: list[ChunkNode] = []
        node: ChunkNode | None = self
        while node is not None and (depth is None or len(nodes) < depth):
            nodes.append(node)
            node = node.parent
        return nodes[::-1]


@dataclass
class Scores:
    """Rewards of one pool's candidates, all ``[N]``."""

    short: Tensor
    long: Tensor
    long_parts: dict[str, Tensor]
    fused: Tensor
    alpha: float


@dataclass(frozen=True)
class ChunkContext:
    """What every step of one chunk may read besides the pool."""

    index: int  # chunk n
    prompt: str  # the prompt active for this chunk
    histories: list[ChunkNode | None]  # the live histories (``[None]`` before chunk 0)
    start_frame: int  # latent frame where the chunk starts
    num_frames: int  # latent frames of the whole video
    window: int  # earlier chunks of each parent in the long reward's window (never across a switch)
    scene_start: bool  # the first chunk after a prompt switch
    run_seed: int


@dataclass
class CandidatePool:
    """The candidates of one chunk, filled in as the loop's steps run (``N`` = candidates alive).

    ``ids`` are the candidates' positions among all those drawn for the chunk: an early pruning
    step drops rows, and the trace still names every candidate by its id.
    """

    ids: Tensor  # [N] long
    parents: Tensor  # [N] long, each candidate's history
    seeds: list[int]
    noise: Tensor  # [N, C, F, H, W] the x_T of each candidate
    generators: list[torch.Generator]  # each candidate's source of fresh noise between steps
    sample: Tensor | None = None  # [N, C, F, H, W] the sample at the next denoising step (mid-schedule)
    latents: Tensor | None = None  # [N, C, F, H, W] clean latents
    decoded: Decoded | None = None
    frames: Tensor | None = None  # [N, T, 3, H, W] uint8
    scores: Scores | None = None
    keep: Tensor | None = None  # positions of the survivors, best first
    dropped: list[EarlyDrop] = field(default_factory=list)  # candidates pruned before their last step

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: Tensor) -> CandidatePool:
        """Rows ``index`` of the pool's per-candidate fields (decoded output and scores are per step: dropped)."""
        rows = index.tolist()
        pick = lambda t: None if t is None else t.index_select(0, index.to(t.device))  # noqa: E731
        return dataclasses.replace(
            self, ids=self.ids[index], parents=self.parents[index], seeds=[self.seeds[i] for i in rows],
            noise=self.noise[index], generators=[self.generators[i] for i in rows], sample=pick(self.sample),
            latents=pick(self.latents), decoded=None, frames=None, scores=None, keep=None,
        )


@dataclass(frozen=True)
class EarlyDrop:
    """A candidate pruned after denoising step ``step``, with the fused score of its ``x0`` prediction."""

    id: int
    parent: int
    seed: int
    step: int
    score: float
