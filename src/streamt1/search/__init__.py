"""The Stream-T1 search engine: one module per unit, pure tensor code, model-agnostic."""

from streamt1.search.noise import candidate_seed, draw_noise, propagate_noise
from streamt1.search.pruning import fuse, mix_alpha, select_random, select_top_k, standardise
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate

__all__ = [
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
