"""``benchmarks/sprites_tuning.py``: a preset on the tuning split makes the video `streamt1 evaluate` makes,
and ``--set`` reaches the search."""

import json
from pathlib import Path

import pytest

from streamt1.cli import main as cli_main

FRAMES = "6"


@pytest.fixture(scope="module")
def tuning(load_benchmark):
    return load_benchmark("sprites_tuning")


def _scores(tuning, weights: Path, folder: Path, label: str, *flags: str) -> dict[str, float]:
    tuning.main(["--weights", str(weights), "--num-prompts", "1", "--offset", "0", "--seed", "0",
                 "--num-frames", FRAMES, "--out", str(folder), "--label", label, *flags])
    return {k: v[0] for k, v in json.loads((folder / f"{label}.json").read_text())["scores"].items()}


def test_a_search_preset_matches_evaluate_and_overrides_reach_it(tuning, sprites_weights, tmp_path):
    cli_main(["evaluate", "--methods", "stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", FRAMES,
              "--no-videos", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(tmp_path / "eval")])
    evaluated = next(iter(json.loads((tmp_path / "eval" / "results.json").read_text())["videos"]["stream-t1"].values()))
    searched = _scores(tuning, sprites_weights, tmp_path / "tune", "st1", "--method", "stream-t1")
    assert searched == pytest.approx({k: evaluated[k] for k in searched}, abs=1e-6)
    # beam search with one history and one expansion is plain generation of the same seed
    single = _scores(tuning, sprites_weights, tmp_path / "tune", "single", "--method", "beam", "--set", "search.histories=1",
                     "--set", "search.expansions=1")
    plain = _scores(tuning, sprites_weights, tmp_path / "tune", "plain")
    assert single == pytest.approx(plain, abs=1e-6)
    assert single != pytest.approx(searched, abs=1e-6)
