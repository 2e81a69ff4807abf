"""The switch evaluation's scripts and scores, on world renders (no model)."""

import dataclasses
import json

import torch

from streamt1.evaluate_switch import RESULTS_FILE, TABLE_FILE, score_switch, switch_scenes, switch_table
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import EventKind, render

LENGTH, SWITCH = 18, 9


def as_uint8(frames: torch.Tensor) -> torch.Tensor:
    return (frames * 255).round().to(torch.uint8)


def test_scripts_cycle_the_event_kinds_with_one_caption_per_segment():
    items = switch_scenes(8, LENGTH, SWITCH)
    assert {item.event.kind for item in items} == set(EventKind)
    for item in items:
        assert item.event.frame == SWITCH and item.kept
        before, after = (parse_caption(c) for c in item.captions)
        assert before.events == () == after.events  # each segment's caption is a still scene
        assert before.background == item.scene.background
        changed = {EventKind.BACKGROUND: before.background != after.background,
                   EventKind.ENTER: len(after.sprites) == len(before.sprites) + 1,
                   EventKind.LEAVE: len(after.sprites) == len(before.sprites) - 1}
        assert changed[item.event.kind]


def test_the_ground_truth_scores_the_change_and_a_stream_that_ignores_the_switch_does_not():
    items = switch_scenes(8, LENGTH, SWITCH)
    for kind in (EventKind.ENTER, EventKind.LEAVE):
        item = next(i for i in items if i.event.kind is kind)
        truth = score_switch(as_uint8(render(item.scene, LENGTH)), item, 16.0)
        frozen = score_switch(as_uint8(render(dataclasses.replace(item.scene, events=()), LENGTH)), item, 16.0)
        assert truth["change"] > 0.9 > 0.1 > frozen["change"]
        assert truth["kept"] == 1.0 and truth["jump"] < 0.5
        # A stream that loses the scene at the switch: its sprites reappear a quarter frame away.
        moved = tuple(dataclasses.replace(s, x=(s.x + 0.25) % 1.0) for s in item.scene.sprites)
        lost = dataclasses.replace(item.scene, sprites=moved)
        video = torch.cat([render(item.scene, SWITCH), render(lost, LENGTH - SWITCH, start_frame=SWITCH)])
        assert score_switch(as_uint8(video), item, 16.0)["jump"] > truth["jump"] + 1.0


def test_table_lists_every_method_with_intervals_and_paired_differences():
    def video(before, jump):
        return {"before": before, "after": 0.25, "change": 1.0, "kept": 1.0, "identity": 0.9, "jump": jump}

    none = {"a": video(0.5, 1.0), "b": video(0.7, 2.0)}
    beam = {"a": video(0.6, 1.0), "b": video(0.8, 2.0)}
    table = switch_table({"world": {"a": video(0.9, 0.1)}, "none": none, "beam": beam, "stream-t1": {}}, 9, 18)
    assert "| world | 90.0 | 25.0 | 100.0 | 100.0 | 90.0 | 0.10 | 1 |" in table
    assert "| none | 60.0 ± 127.1 | 25.0 ± 0.0 |" in table  # t(1) = 12.706, sd 0.1414 / sqrt(2)
    assert "| stream-t1 | - | - | - | - | - | - | 0 |" in table
    assert "| beam - none | 10.0 ± 0.0 | 0.0 ± 0.0 |" in table and "stream-t1 - none" not in table


def test_cli_runs_switch_streams_resumes_and_refuses_other_settings(tmp_path, capsys):
    from streamt1.cli import main

    args = ["evaluate", "--switches", "--methods", "none", "--num-prompts", "1", "--num-frames", "6",
            "--seeds", "0", "--device", "cpu", "--out", str(tmp_path)]
    assert main(args) == 0, capsys.readouterr().err
    table = (tmp_path / TABLE_FILE).read_text()
    assert "none" in table and "world" in table
    videos = sorted((tmp_path / "none").glob("*.mp4"))
    assert len(videos) == 1
    stamp = videos[0].stat().st_mtime_ns
    assert main(args) == 0  # resumes: nothing is redone
    assert videos[0].stat().st_mtime_ns == stamp
    capsys.readouterr()
    assert main([*args, "--set", "run.guidance_scale=2.5"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "run.guidance_scale" in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--set", "run.guidance_scale=2.5", "--overwrite"]) == 0  # made again under the new settings
    assert videos[0].stat().st_mtime_ns != stamp
    results = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert results["settings"]["none"]["config"]["run"]["guidance_scale"] == 2.5 and len(results["none"]) == 1


def test_switch_streams_fingerprint_the_weights_and_keep_scores_only_on_request(sprites_weights, tmp_path, capsys):
    import shutil

    from streamt1.cli import main
    from streamt1.sprites.model import SpritesVideoModel

    weights = tmp_path / "weights"
    shutil.copytree(sprites_weights, weights)
    out = tmp_path / "out"
    args = ["evaluate", "--switches", "--methods", "none", "--num-prompts", "1", "--num-frames", "6",
            "--seeds", "0", "--device", "cpu", "--weights", str(weights), "--out", str(out), "--no-videos"]
    assert main(args) == 0, capsys.readouterr().err
    assert not list(out.rglob("*.mp4")) and not list(out.rglob("*.trace.json"))  # the scores only
    assert "none" in (out / TABLE_FILE).read_text()
    model = SpritesVideoModel.from_pretrained(weights)  # other weights under the same name
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.save_pretrained(weights, {"steps": 1})
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "weights" in err and len(err.strip().splitlines()) == 1



def test_a_stream_too_short_to_switch_is_refused(tmp_path, capsys):
    from streamt1.cli import main

    assert main(["evaluate", "--switches", "--methods", "none", "--num-prompts", "1", "--num-frames", "3",
                 "--seeds", "0", "--device", "cpu", "--out", str(tmp_path)]) == 2
    assert "--switches needs at least 6 latent frames (a chunk before the switch and one after), got 3" in \
        capsys.readouterr().err
