"""The evaluation's statistics and settings guard, on hand-made results (no generation)."""

import pytest

from streamt1.config import ConfigError
from streamt1.evaluate import EvalSettings, claim_method, load_results, markdown_table, summarise


def _videos(values: dict[str, list[float]]) -> dict[str, dict[str, dict[str, float]]]:
    return {m: {f"p{i}-0": {"text_alignment": v, "subject_consistency": 0.5} for i, v in enumerate(vs)}
            for m, vs in values.items()}


def test_paired_difference_against_plain_generation():
    videos = _videos({"none": [0.1, 0.2, 0.3, 0.4], "beam": [0.2, 0.3, 0.4, 0.5], "noisy": [0.5, 0.0, 0.6, 0.2]})
    summary = summarise(videos, ["none", "beam", "noisy"])
    exact = summary["beam"]["difference"]["text_alignment"]
    assert exact.mean == pytest.approx(0.1) and exact.half_width == pytest.approx(0.0, abs=1e-9)
    noisy = summary["noisy"]["difference"]["text_alignment"]
    assert noisy.mean == pytest.approx(0.075) and not noisy.excludes_zero
    assert "difference" not in summary["none"]
    table = markdown_table(summary, EvalSettings(methods=("none", "beam", "noisy"), num_prompts=4, seeds=(0,)), 5.0)
    assert "| beam | 0.0 ± 0.0 | - | **10.0 ± 0.0** |" in table  # subject, background, text alignment
    assert "| noisy | 0.0 ± 0.0 | - | 7.5 ± " in table and "**7.5" not in table
    assert "Only 4 paired videos" in table and "`world`: the world's own renders" in table
    many = _videos({"none": [0.1 * (i % 5) for i in range(16)], "beam": [0.1 * (i % 5) + 0.1 for i in range(16)]})
    table = markdown_table(summarise(many, ["none", "beam"]), EvalSettings(methods=("none", "beam"), num_prompts=16,
                                                                          seeds=(0,)), 5.0)
    assert "**10.0 ± 0.0**" in table and "paired videos:" not in table


def test_a_table_beyond_the_reported_prompts_says_they_include_the_tuning_split():
    summary = summarise(_videos({"none": [0.1, 0.2], "beam": [0.2, 0.3]}), ["none", "beam"])
    assert markdown_table(summary, EvalSettings(methods=("none", "beam"), num_prompts=32), 5.0).startswith(
        "32 held-out prompts x seeds 0,1;")
    assert markdown_table(summary, EvalSettings(methods=("none", "beam"), num_prompts=1), 5.0).startswith(
        "1 held-out prompt x seeds")
    assert markdown_table(summary, EvalSettings(methods=("none", "beam"), num_prompts=33), 5.0).startswith(
        "33 prompts (0-31 held out; 32-32 the tuning split, on which the Sprites defaults were chosen: report 0-31")
    # the tuning split is prompts 32-63 (README, "Splits"): the prompts after it are in neither split
    assert markdown_table(summary, EvalSettings(methods=("none", "beam"), num_prompts=1000), 5.0).startswith(
        "1000 prompts (0-31 held out; 32-63 the tuning split, on which the Sprites defaults were chosen; 64-999 in "
        "neither split: report 0-31 as held out)")


def test_summary_keeps_only_the_asked_prompts_and_seeds():
    videos = _videos({"none": [0.1, 0.2, 0.9], "world": [1.0, 1.0, 0.0]})
    summary = summarise(videos, ["world", "none"], stems=["p0-0", "p0-1", "p1-0"], reference_stems=["p0-0", "p1-0"])
    assert summary["none"]["videos"] == 2 and summary["none"]["text_alignment"].mean == pytest.approx(0.15)
    assert summary["world"]["videos"] == 2 and summary["world"]["text_alignment"].mean == 1.0


def test_a_method_keeps_its_settings(tmp_path):
    results = load_results(tmp_path)
    claim_method(results, "beam", {"config": {"search": {"tau": 0.4}}, "weights": {"m": "1"}}, tmp_path, writes=False)
    claim_method(results, "beam", {"config": {"search": {"tau": 0.4}}, "weights": {"m": "1"}}, tmp_path, writes=False)
    with pytest.raises(ConfigError, match=r"changed: config\.search\.tau, weights\.m"):
        claim_method(results, "beam", {"config": {"search": {"tau": 0.5}}, "weights": {"m": "2"}}, tmp_path,
                     writes=False)
    # a run setting added since, absent from the old run: null (the model's own) makes what its absence made,
    # a value does not and is named
    older = load_results(tmp_path / "older")
    claim_method(older, "beam", {"config": {"run": {"seed": 0}}}, tmp_path / "older", writes=False)
    claim_method(older, "beam", {"config": {"run": {"seed": 0, "first_chunk_eta": None}}}, tmp_path / "older",
                 writes=False)
    older = load_results(tmp_path / "oldest")
    claim_method(older, "beam", {"config": {"run": {"seed": 0}}}, tmp_path / "oldest", writes=False)
    with pytest.raises(ConfigError, match=r"changed: config\.run\.first_chunk_eta\)"):
        claim_method(older, "beam", {"config": {"run": {"seed": 0, "first_chunk_eta": 0.3}}}, tmp_path / "oldest",
                     writes=False)
