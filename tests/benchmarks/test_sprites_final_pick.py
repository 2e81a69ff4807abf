"""``benchmarks/sprites_final_pick.py``: candidates recorded once per prompt, picks and agreement judged right."""

import json

import pytest

METRICS = ("subject_consistency", "text_alignment", "alignment_presence", "alignment_shape", "alignment_motion",
           "background_consistency")


@pytest.fixture(scope="module")
def final_pick(load_benchmark):
    return load_benchmark("sprites_final_pick")


def test_record_writes_each_prompt_once(final_pick, sprites_weights, tmp_path, capsys):
    args = ["record", "--out", str(tmp_path), "--weights", str(sprites_weights), "--num-prompts", "1",
            "--candidates", "2", "--num-frames", "9"]
    final_pick.main(args)
    (path,) = tmp_path.glob("prompt32-seed5.json")
    group = json.loads(path.read_text())
    assert len(group["videos"]) == 2
    assert set(group["videos"][0]) == {"metrics", *final_pick.SCORES}
    assert "prompt 32" in capsys.readouterr().out
    final_pick.main(args)  # a rerun resumes: nothing left to make
    assert capsys.readouterr().out == ""


def _write(folder, truths: list[float], scores: list[float]) -> None:
    """One prompt whose candidates score ``truths`` on every metric and ``scores`` under every pick rule."""
    videos = [{"metrics": {m: t for m in METRICS}, **{s: x for s in ("plan", "even", "windows")}}
              for t, x in zip(truths, scores)]
    (folder / "prompt0-seed0.json").write_text(json.dumps({"prompt": "p", "seed": 0, "videos": videos}))


@pytest.mark.parametrize("sign, agreement", [(1, "1.000"), (-1, "0.000")])
def test_judge_counts_agreement_and_picks(final_pick, tmp_path, capsys, sign, agreement):
    assert final_pick.METRICS == METRICS
    truths = [0.2, 0.5, 0.9, 0.51]  # the pair 0.5 / 0.51 is within the 0.02 gap: not counted
    _write(tmp_path, truths, [sign * t for t in truths])
    final_pick.main(["judge", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"plan {agreement} (5 pairs)" in out
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    assert rows["oracle"].split(" | ")[1] == "90.0"
    assert rows["random"].split(" | ")[1] == f"{100 * sum(truths) / 4:.1f}"
    assert rows["plan"].split(" | ")[1] == ("90.0" if sign > 0 else "20.0")
