"""The Stream-T1 search engine: one module per unit, pure tensor code, model-agnostic."""

from streamt1.search.noise import candidate_seed, draw_noise, propagate_noise
from streamt1.search.pruning import fuse, mix_alpha, select_random, select_top_k, standardise
from streamt1.search.pool import CandidatePool, ChunkContext, ChunkNode, Scores
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate
from streamt1.search.steps import get_step, register_step, step_names

__all__ = [
    "CandidatePool",
    "ChunkContext",
    "ChunkNode",
    "Scores",
    "get_step",
    "register_step",
    "step_names",
    "candidate_seed",
    "draw_noise",
    "fuse",
    "mix_alpha",
    "propagate_noise",
    "quality_gate",
    "route_evicted",
    "select_random",
    "select_top_k",
    "standardise",
    "transition_gate",
]
