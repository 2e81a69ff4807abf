"""``benchmarks/sprites_oracle.py``: ground-truth oracle rewards, and a tiny oracle evaluation on CPU."""

import dataclasses
import json

import pytest
import torch

from streamt1.interfaces import to_uint8
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import FPS, render

CAPTION = "a large red circle moves left and a small yellow square moves up over a blue background"
FRAMES = 24


@pytest.fixture(scope="module")
def oracle(load_benchmark):
    return load_benchmark("sprites_oracle")


def _clips() -> dict[str, torch.Tensor]:
    """The caption's own scene, rendered as the world draws it, and two scenes that break the caption."""
    scene = parse_caption(CAPTION, num_frames=FRAMES)
    assert len(scene.sprites) == 2
    recoloured = dataclasses.replace(scene.sprites[0], color="green")
    variants = {"true": scene,
                "removed": dataclasses.replace(scene, sprites=scene.sprites[1:]),
                "recoloured": dataclasses.replace(scene, sprites=(recoloured, *scene.sprites[1:]))}
    return {name: to_uint8(render(s, FRAMES)) for name, s in variants.items()}


def test_oracles_rank_the_captioned_clip_first(oracle):
    clips = _clips()
    stack = torch.stack(list(clips.values()))  # [3, T, 3, H, W] uint8, as the engine hands clips
    video = oracle.OracleVideoReward()(stack, [CAPTION] * len(clips), FPS)
    scores = dict(zip(clips, video.overall.tolist()))
    assert scores["true"] > scores["removed"] and scores["true"] > scores["recoloured"], scores
    assert set(video.parts) >= {"text_alignment", "subject_consistency"}
    assert video.overall[0] == pytest.approx((video.parts["text_alignment"][0]
                                              + video.parts["subject_consistency"][0]) / 2)
    middle = stack[:, FRAMES // 2]  # one frame of each clip
    image = dict(zip(clips, oracle.OracleImageReward()(middle, [CAPTION] * len(clips)).tolist()))
    assert image["true"] > image["removed"] and image["true"] > image["recoloured"], image
    assert 0.0 <= min(image.values()) and max(image.values()) <= 1.0


def test_oracle_run_writes_mergeable_results(oracle, sprites_weights, tmp_path, capsys):
    out = tmp_path / "oracle"
    oracle.main(["--methods", "none,stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", "6",
                 "--device", "cpu", "--weights", str(sprites_weights), "--out", str(out),
                 "--set", "search.first_chunk_candidates=6"])
    results = json.loads((out / "results.json").read_text())
    # a shared --set widens the search, not plain generation, whose preset pins its search settings
    searches = {m: results["settings"][m]["config"]["search"] for m in ("none", "stream-t1")}
    assert searches["none"]["first_chunk_candidates"] is None and searches["stream-t1"]["first_chunk_candidates"] == 6
    assert set(results["videos"]) == set(results["fingerprints"]) == {"world", "none", "stream-t1"}
    assert all(len(v) == 1 for v in results["videos"].values())
    for scores in results["videos"]["stream-t1"].values():  # the table's reward columns are the oracle's
        assert scores["reward_overall"] == pytest.approx(
            (scores["text_alignment"] + scores["subject_consistency"]) / 2)
    assert f"table: {out / 'table.md'}" in capsys.readouterr().out
    assert not list(out.glob("*/*.mp4"))  # scores only unless --videos
    # A learned-reward evaluation does not resume into the oracle's folder (nor merge with it).
    from streamt1.cli import main as cli

    assert cli(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "6",
                "--device", "cpu", "--no-videos", "--weights", str(sprites_weights), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds `none` videos made with other settings" in err and "changed: rewards" in err, err
