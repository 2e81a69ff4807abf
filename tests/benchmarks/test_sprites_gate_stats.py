"""``benchmarks/sprites_gate_stats.py``: memory sinking's gates counted from real search traces."""

from pathlib import Path

import pytest

from streamt1 import api
from streamt1.config import build_config

FRAMES = 24  # 8 chunks of 3, chunk 0 the sink; the 9-frame window holds the new chunk and the 6 frames
EVICTIONS = 5  # before it, so chunks 3-7 each push one chunk out


@pytest.fixture(scope="module")
def gate_stats(load_benchmark):
    return load_benchmark("sprites_gate_stats").gate_stats


def _traced(weights: Path, method: str, out: Path, overrides=()) -> Path:
    config = build_config(method, None, list(overrides), weights=str(weights), device="cpu", num_frames=FRAMES)
    result = api.make_search(config, api.load_components(config)).run("a red circle moves left over a blue background",
                                                                      FRAMES, 0, progress=False)
    return api.save_trace(result, out, method)


def test_every_eviction_of_every_history_is_counted_once(sprites_weights, tmp_path, gate_stats):
    # a beam trace in the same folder (sinking off: its evictions are all discarded) must not count
    paths = [_traced(sprites_weights, "stream-t1", tmp_path), _traced(sprites_weights, "beam", tmp_path)]
    stats = gate_stats(paths)
    histories = 2  # K
    assert stats["traces"] == 1 and stats["skipped"] == 1
    assert sum(stats["routes"].values()) == EVICTIONS * histories and stats["gated"] == EVICTIONS * histories
    # no route without quality: discards are exactly the evictions whose quality gate was shut
    assert stats["routes"].get("discard", 0) == stats["gated"] - stats["quality"]
    assert len(stats["drops"]) == FRAMES // 3 - 1 and stats["thresholds"] == [0.2]


def test_a_gate_that_never_opens_discards_everything(sprites_weights, tmp_path, gate_stats):
    path = _traced(sprites_weights, "stream-t1", tmp_path, ["search.quality_threshold=1e9"])
    stats = gate_stats([path])
    assert stats["quality"] == 0 and stats["routes"] == {"discard": 2 * EVICTIONS}
