"""The trace records wall time and model calls per chunk (its `timing` used to stay empty)."""

import json

import pytest

from streamt1 import api
from streamt1.bench import compute_of
from streamt1.config import build_config
from streamt1.outputs.atomic import atomic_write_json
from streamt1.search.trace import Trace, TraceError

PROMPT = "a small red circle moves left over a blue background"


@pytest.mark.parametrize("method, candidates, guidance", [("none", 1, []), ("stream-t1", 4, []),
                                                       ("stream-t1", 4, ["run.guidance_scale=2", "run.guided_chunks=0"])])
def test_chunks_record_seconds_and_calls(sprites_weights, single_threaded, count_passes, method, candidates, guidance,
                                        tmp_path):
    config = build_config(method, None, guidance, num_frames=6, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    passes = count_passes(components.generator.model)
    result = api.make_search(config, components).run(PROMPT, 6, seed=0, progress=False)
    steps, stream = len(components.generator.timesteps), components.generator.stream
    kept, guided = (1 if method == "none" else 2), (2 if guidance else 1)
    assert len(result.trace.chunk_seconds) == 2 and min(result.trace.chunk_seconds) > 0
    first, second = (chunk.calls["generator_forwards"] for chunk in result.trace.chunks)
    assert first == candidates * steps * stream.first_chunk_substeps * guided + kept  # split, guided steps
    assert second == candidates * steps * guided + kept
    assert first + second == passes[0]  # what the transformer really ran
    for chunk in result.trace.chunks:
        assert chunk.calls["video_reward_clips"] == (0 if method == "none" else candidates)
    timing = result.trace.timing
    assert {"setup", "denoise", "decode", "score", "commit", "final", "total"} <= set(timing)
    assert sum(timing[k] for k in ("setup", "denoise", "decode", "score", "commit", "final")) <= timing["total"]
    compute = compute_of(result.trace, seconds=1.0, peak_mb=1.0)
    assert compute["generator_forwards"] == first + second
    path = tmp_path / "trace.json"
    atomic_write_json(path, result.trace.to_dict())
    assert Trace.load(path).to_dict() == json.loads(json.dumps(result.trace.to_dict()))  # tuples -> lists


def test_old_traces_without_compute_still_load_and_bad_counts_fail(sprites_weights, tmp_path):
    config = build_config("none", None, [], num_frames=3, weights=str(sprites_weights), device="cpu")
    trace = api.make_search(config, api.load_components(config)).run(PROMPT, 3, seed=0, progress=False).trace
    data = trace.to_dict()
    del data["chunk_seconds"]
    for chunk in data["chunks"]:
        del chunk["calls"]
    assert Trace.from_dict(json.loads(json.dumps(data))).chunks[0].calls == {}
    data["chunks"][0]["calls"] = {"generator_forwards": -1}
    with pytest.raises(TraceError, match="integers >= 0"):
        Trace.from_dict(data)
