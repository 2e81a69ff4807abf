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
                 "--num-frames", FRAMES, "--out", str(folder), "--label", label, "--device", "cpu", *flags])
    return {k: v[0] for k, v in json.loads((folder / f"{label}.json").read_text())["scores"].items()}


def test_a_search_preset_matches_evaluate_and_overrides_reach_it(tuning, sprites_weights, tmp_path):
    cli_main(["evaluate", "--methods", "stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", FRAMES,
              "--no-videos", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(tmp_path / "eval"),
              "--set", "run.dtype=float32"])  # the script's dtype when none is named
    evaluated = next(iter(json.loads((tmp_path / "eval" / "results.json").read_text())["videos"]["stream-t1"].values()))
    searched = _scores(tuning, sprites_weights, tmp_path / "tune", "st1", "--method", "stream-t1")
    common = searched.keys() & evaluated.keys()  # the script adds imaging_vs_render
    assert len(common) == len(searched) - 1
    assert {k: searched[k] for k in common} == pytest.approx({k: evaluated[k] for k in common}, abs=1e-6)
    # beam search with one history and one expansion is plain generation of the same seed
    single = _scores(tuning, sprites_weights, tmp_path / "tune", "single", "--method", "beam", "--set", "search.histories=1",
                     "--set", "search.expansions=1")
    plain = _scores(tuning, sprites_weights, tmp_path / "tune", "plain")
    assert single == pytest.approx(plain, abs=1e-6)
    assert single != pytest.approx(searched, abs=1e-6)


def test_imaging_quality_is_also_stored_as_its_distance_from_the_render(tuning, sprites_weights, tmp_path, capsys):
    from streamt1.evaluate import eval_prompts
    from streamt1.metrics.sprites import imaging_quality
    from streamt1.sprites.captions import parse_caption
    from streamt1.sprites.world import render

    scores = _scores(tuning, sprites_weights, tmp_path, "plain")
    prompt = eval_prompts(1, int(FRAMES))[0]
    world = imaging_quality((render(parse_caption(prompt, int(FRAMES)), int(FRAMES)).clamp(0, 1) * 255).round() / 255)
    assert scores["imaging_vs_render"] == pytest.approx(abs(scores["imaging_quality"] - world), abs=1e-9)
    # a baseline stored before the distance was: it is derived from its imaging quality
    old = json.loads((tmp_path / "plain.json").read_text())
    del old["scores"]["imaging_vs_render"]
    old["scores"]["imaging_quality"] = [world + 0.1]
    (tmp_path / "old.json").write_text(json.dumps(old))
    capsys.readouterr()
    _scores(tuning, sprites_weights, tmp_path, "again", "--baseline", str(tmp_path / "old.json"))
    paired = capsys.readouterr().out.splitlines()[-1]
    distance = 100 * (scores["imaging_vs_render"] - 0.1)
    assert f"imaging_vs_render {distance:+.1f} ±" in paired  # one prompt: no interval


def test_run_dtype_reaches_the_generator(tuning, sprites_weights, tmp_path):
    # float32 unless named (the stored tuning runs are float32); a named dtype makes evaluate's video in it
    cli_main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", FRAMES,
              "--no-videos", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(tmp_path / "eval"),
              "--set", "run.dtype=bfloat16"])
    evaluated = next(iter(json.loads((tmp_path / "eval" / "results.json").read_text())["videos"]["none"].values()))
    half = _scores(tuning, sprites_weights, tmp_path, "bf16", "--set", "run.dtype=bfloat16")
    assert {k: half[k] for k in evaluated.keys() & half.keys()} == pytest.approx(
        {k: evaluated[k] for k in evaluated.keys() & half.keys()}, abs=1e-6)
    assert half != pytest.approx(_scores(tuning, sprites_weights, tmp_path, "fp32"), abs=1e-6)
