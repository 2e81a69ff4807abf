import json

import pytest

from streamt1.interfaces import Route
from streamt1.outputs.atomic import atomic_write_json
from streamt1.search.trace import (
    CandidateRecord,
    ChunkRecord,
    HistoryRecord,
    Trace,
    TraceError,
    chosen_path,
)


def _chunk(index, parents, kept, routes=None):
    """Candidates with the given parents; ``kept`` lists candidate ids in history order."""
    candidates = [
        CandidateRecord(id=i, parent=p, seed=10 * index + i, short=1.0 + i, long=-0.5 * i,
                        long_parts={"VQ": 0.1 * i}, score=0.3 * i, kept=i in kept,
                        history=kept.index(i) if i in kept else None)
        for i, p in enumerate(parents)
    ]
    routes = routes or [None] * len(kept)
    histories = [HistoryRecord(candidate=c, route=r, sink_frames=3) for c, r in zip(kept, routes)]
    return ChunkRecord(index=index, alpha=0.1 * index, candidates=candidates, histories=histories)


def _three_chunk_tree(chosen):
    """K=2, M=2. chunk0: root -> 4, keeps (1, 3); chunk1 keeps (2, 0); chunk2 keeps (3, 1)."""
    trace = Trace.start(method="beam", prompt="p", seed=7, fps=16, num_chunks=3, config={"top_k": 2})
    trace.add_chunk(_chunk(0, [0, 0, 0, 0], [1, 3]))
    trace.add_chunk(_chunk(1, [0, 0, 1, 1], [2, 0]))
    trace.add_chunk(_chunk(2, [0, 0, 1, 1], [3, 1], routes=[Route.EMA, "append"]))
    trace.set_final([0.5, 0.9], chosen, {"VQ": [0.1, 0.2]})
    return trace


def test_chosen_path_walks_parent_links():
    # history 0 of chunk2 is candidate 3 (parent history 1 -> chunk1 candidate 0, parent 0 -> chunk0 candidate 1)
    assert chosen_path(_three_chunk_tree(chosen=0)) == [1, 0, 3]
    # history 1 is candidate 1 (parent 0 -> chunk1 candidate 2, parent 1 -> chunk0 candidate 3)
    assert chosen_path(_three_chunk_tree(chosen=1)) == [3, 2, 1]
    assert chosen_path(_three_chunk_tree(chosen=1), history=0) == [1, 0, 3]
    assert chosen_path(_three_chunk_tree(chosen=0).to_dict()) == [1, 0, 3]


def test_chosen_path_without_final(synthetic_trace):
    plain = synthetic_trace(num_chunks=4, k=1, m=1, scored=False, final=False)
    assert chosen_path(plain) == [0, 0, 0, 0]
    with pytest.raises(TraceError, match="no final pick and 2 histories"):
        chosen_path(synthetic_trace(num_chunks=3, final=False))


def test_round_trip(tmp_path, synthetic_trace):
    trace = _three_chunk_tree(chosen=1)
    trace.add_time("generate", 2.0)
    trace.add_time("generate", 0.5)
    path = tmp_path / "trace.json"
    atomic_write_json(path, trace.to_dict())
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["timing"] == {"generate": 2.5}
    assert data["chunks"][2]["histories"][0]["route"] == "ema"
    assert list(data["chunks"][0]) == ["index", "alpha", "evicted_chunk", "candidates", "histories", "calls"]
    assert Trace.load(path) == trace
    assert Trace.load(path).to_dict() == data
    big = synthetic_trace(num_chunks=12, k=3, m=2)
    atomic_write_json(path, big.to_dict())
    assert Trace.load(path) == big


def test_config_dataclass_is_stored_as_dict():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class SearchConfig:
        top_k: int = 2
        tau: float = 0.4

    trace = Trace.start(method="beam", prompt="p", seed=0, fps=16, num_chunks=1, config=SearchConfig())
    assert trace.to_dict()["config"] == {"top_k": 2, "tau": 0.4}


def test_non_finite_scores_become_null(tmp_path):
    record = CandidateRecord(id=0, parent=0, seed=0, short=float("nan"), score=float("inf"),
                             long_parts={"VQ": float("nan"), "MQ": 1.0})
    assert record.short is None and record.score is None and record.long_parts == {"MQ": 1.0}


def test_wrong_version_is_rejected(tmp_path):
    data = _three_chunk_tree(chosen=0).to_dict()
    data["version"] = 2
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TraceError, match="version 2 is not supported; this stream-t1 reads version 1"):
        Trace.load(path)


def test_corrupt_and_missing_files(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_three_chunk_tree(chosen=0).to_dict())[:-40])  # truncated
    with pytest.raises(TraceError, match="not valid JSON.*corrupt or truncated"):
        Trace.load(path)
    with pytest.raises(FileNotFoundError, match="absent.json"):
        Trace.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda d: d.pop("prompt"), "missing required key 'prompt'"),
        (
            lambda d: d["chunks"][1]["candidates"][2].pop("kept"),
            r"chunks\[1\].candidates\[2\]: missing required key 'kept'",
        ),
        (lambda d: d["chunks"][0].update(alpha="high"), r"chunks\[0\]: 'alpha' should be float or null, got str"),
        (lambda d: d["chunks"][2]["candidates"][0].update(parent=5), "parent 5, but the previous chunk left 2"),
        (lambda d: d["chunks"][1]["histories"][0].update(route="keep"), "route='keep' is not one of"),
        (lambda d: d["chunks"][1]["histories"][0].update(candidate=1), "whose history is None"),
        (lambda d: d["final"].update(chosen=4), r"chosen=4 is not in 0..1"),
        (lambda d: d.update(chunks={}), "'chunks' should be list, got dict"),
    ],
)
def test_malformed_trace_errors_name_the_key(tmp_path, edit, match):
    data = _three_chunk_tree(chosen=0).to_dict()
    edit(data)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TraceError, match=match) as info:
        Trace.load(path)
    assert str(path) in str(info.value)


def test_builder_rejects_inconsistent_records():
    trace = Trace.start(method="beam", prompt="p", seed=0, fps=16, num_chunks=2)
    with pytest.raises(TraceError, match="out of order; expected 0"):
        trace.add_chunk(_chunk(1, [0, 0], [0]))
    with pytest.raises(TraceError, match="kept=True but history=None"):
        CandidateRecord(id=0, parent=0, seed=0, kept=True)
    with pytest.raises(TraceError, match="2 candidates are kept but there are 1 histories"):
        ChunkRecord(index=0, candidates=[CandidateRecord(id=0, parent=0, seed=0, kept=True, history=0),
                                         CandidateRecord(id=1, parent=0, seed=0, kept=True, history=1)],
                    histories=[HistoryRecord(candidate=0)])
    trace.add_chunk(_chunk(0, [0, 0], [1]))
    with pytest.raises(TraceError, match="final: 2 scores for 1 finished histories"):
        trace.set_final([0.1, 0.2], 0)
    trace.add_chunk(_chunk(1, [0, 0], [0]))
    with pytest.raises(TraceError, match="beyond num_chunks=2"):
        trace.add_chunk(_chunk(2, [0, 0], [0]))
