import random

import pytest

from streamt1.interfaces import Route
from streamt1.search.trace import CandidateRecord, ChunkRecord, HistoryRecord, Trace


def build_trace(
    num_chunks: int = 6,
    k: int = 2,
    m: int = 2,
    *,
    scored: bool = True,
    final: bool = True,
    seed: int = 0,
    window_chunks: int = 3,
) -> Trace:
    """A random but consistent beam-search trace, the way the engine would record one."""
    rng = random.Random(seed)
    trace = Trace.start(method="stream_t1" if scored else "plain", prompt="a cat", seed=seed, fps=16.0,
                        num_chunks=num_chunks, config={"top_k": k, "beam_size": m})
    sinks = [3]  # sink size (latent frames) of every live history; the root's first chunk
    for n in range(num_chunks):
        num_parents = 1 if n == 0 else k
        num_cands = k * m if scored else num_parents * m
        shorts = [rng.gauss(10, 1) for _ in range(num_cands)]
        longs = [rng.gauss(0, 0.5) for _ in range(num_cands)]
        alpha = min(0.4, n / max(1, num_chunks - 1))
        scores = [alpha * s + (1 - alpha) * l for s, l in zip(shorts, longs)]
        kept = sorted(range(num_cands), key=lambda i: -scores[i])[: min(k, num_cands)]
        evicted = n - window_chunks if n >= window_chunks else None
        candidates = [
            CandidateRecord(
                id=i, parent=0 if n == 0 else i * num_parents // num_cands, seed=1000 * n + i,
                short=shorts[i] if scored else None, long=longs[i] if scored else None,
                long_parts={"VQ": longs[i] / 3, "MQ": longs[i] / 3, "TA": longs[i] / 3} if scored else {},
                score=scores[i] if scored else None, kept=i in kept, history=kept.index(i) if i in kept else None,
            )
            for i in range(num_cands)
        ]
        histories = []
        for c in kept:
            route = rng.choice(list(Route)) if evicted is not None and scored else None
            sink = min(15, sinks[candidates[c].parent] + (3 if route is Route.APPEND else 0))
            gated = route is not None
            histories.append(HistoryRecord(
                candidate=c, route=route, sink_frames=sink,
                quality=route is not Route.DISCARD if gated else None,
                transition=route is Route.APPEND if gated else None,
            ))
        sinks = [h.sink_frames for h in histories]
        trace.add_chunk(ChunkRecord(index=n, alpha=alpha if scored else None, evicted_chunk=evicted,
                                    candidates=candidates, histories=histories))
    if final:
        finished = len(trace.chunks[-1].histories)
        values = [rng.gauss(0, 1) for _ in range(finished)] if scored else [None] * finished
        chosen = max(range(finished), key=lambda h: values[h] or 0.0)
        trace.set_final(values, chosen, {"VQ": values} if scored else {})
    trace.add_time("generate", 1.5)
    return trace


@pytest.fixture
def synthetic_trace():
    return build_trace
