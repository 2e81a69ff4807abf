"""``streamt1 evaluate --merge``: folders evaluated in separate processes tabulate as one run would.

The folders are real CPU evaluations with the tiny Sprites weights (``sprites_weights``): 1 prompt,
1 seed, 9 latent frames.
"""

import gzip
import json
import shutil

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from streamt1.cli import main
from streamt1.outputs.lock import OWNER_FILE


def _evaluate(weights, out, methods, *extra):
    assert main(["evaluate", "--methods", methods, "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(weights), "--out", str(out), *extra]) == 0


@pytest.fixture(scope="module")
def runs(sprites_weights, tmp_path_factory):
    """Two one-method folders (each with `none` and the world row) and one folder with both methods."""
    root = tmp_path_factory.mktemp("merge")
    _evaluate(sprites_weights, root / "stream", "none,stream-t1")
    _evaluate(sprites_weights, root / "best", "none,best-of-n")
    _evaluate(sprites_weights, root / "both", "none,stream-t1,best-of-n")
    return root


def _merge(*args):
    return main(["evaluate", "--num-prompts", "1", "--seeds", "0", "--merge", *map(str, args[:-1]),
                 "--out", str(args[-1])])


def test_merged_folders_tabulate_like_one_run(runs, tmp_path, capsys):
    out = tmp_path / "all"
    assert _merge(runs / "stream", runs / "best", out) == 0
    table = (out / "table.md").read_text()
    assert table == (runs / "both" / "table.md").read_text() and "Paired difference vs `none`" in table
    merged = json.loads((out / "results.json").read_text())
    both = json.loads((runs / "both" / "results.json").read_text())
    assert merged["videos"] == both["videos"] and merged["fingerprints"] == both["fingerprints"]
    assert "| stream-t1 |" in capsys.readouterr().out
    # Merging again (out's own results.json now counts as a folder) changes nothing.
    assert _merge(runs / "stream", out) == 0
    assert (out / "table.md").read_text() == (runs / "both" / "table.md").read_text()


def test_merge_takes_the_prompts_and_seeds_of_its_folders(runs, tmp_path):
    # without --num-prompts and --seeds the table covers what the folders hold (1 prompt, seed 0), not
    # the defaults of a new evaluation (32 prompts x seeds 0, 1), which would count 63 videos missing
    out = tmp_path / "all"
    assert main(["evaluate", "--merge", str(runs / "stream"), str(runs / "best"), "--out", str(out)]) == 0
    table = (out / "table.md").read_text()
    assert table == (runs / "both" / "table.md").read_text() and "Unfinished rows" not in table


def test_merge_says_which_videos_a_method_lacks(runs, tmp_path):
    out = tmp_path / "all"
    assert main(["evaluate", "--num-prompts", "1", "--seeds", "0,1", "--methods", "none,stream-t1",
                 "--merge", str(runs / "stream"), str(runs / "best"), "--out", str(out)]) == 0
    table = (out / "table.md").read_text()
    assert "Unfinished rows: `none` has 1 of 2, `stream-t1` has 1 of 2." in table
    assert "| best-of-n |" not in table and "| stream-t1 |" in table
    # seeds of which the folders hold nothing are a mistake, not an empty table
    assert main(["evaluate", "--seeds", "5", "--merge", str(runs / "stream"), "--out", str(tmp_path / "none")]) == 2
    assert main(["evaluate", "--workers", "2", "--merge", str(runs / "stream"), "--out", str(tmp_path / "w")]) == 2


def test_merge_refuses_a_method_made_with_other_settings(runs, sprites_weights, tmp_path, capsys):
    other = tmp_path / "other"
    _evaluate(sprites_weights, other, "none", "--set", "run.guidance_scale=2.5")
    capsys.readouterr()
    assert _merge(runs / "stream", other, tmp_path / "all") == 2
    err = capsys.readouterr().err
    assert "cannot merge `none`" in err and str(runs / "stream") in err and str(other) in err
    assert "config.run.guidance_scale" in err
    assert not (tmp_path / "all" / "results.json").exists()


def test_a_refused_merge_leaves_out_as_it_was_and_names_its_earlier_merge(runs, sprites_weights, tmp_path, capsys):
    out = tmp_path / "all"
    # refused after the union (no video of these seeds): nothing written, so no later merge inherits it
    assert main(["evaluate", "--seeds", "5", "--merge", str(runs / "stream"), "--out", str(out)]) == 2
    assert not (out / "results.json").exists()
    assert _merge(runs / "stream", out) == 0
    other = tmp_path / "other"
    _evaluate(sprites_weights, other, "none", "--set", "run.guidance_scale=2.5")
    before = (out / "results.json").read_text()
    capsys.readouterr()
    assert _merge(other, out) == 2  # out's own results.json joins the merge: the error says which folder it is
    assert f"{out} (its earlier merge, which this one extends)" in capsys.readouterr().err
    assert (out / "results.json").read_text() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto is the GPU on a machine with one")
def test_the_device_is_recorded_as_its_kind_so_auto_and_cpu_resume_alike(runs, sprites_weights, tmp_path, capsys):
    out = tmp_path / "cpu"
    _evaluate(sprites_weights, out, "none", "--device", "cpu")
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["none"]["config"]["run"]["device"] == "cpu"
    capsys.readouterr()
    _evaluate(sprites_weights, out, "none", "--device", "auto")  # cpu here: the same videos
    assert "1 of 1 videos done earlier, kept" in capsys.readouterr().out
    assert _merge(out, runs / "stream", tmp_path / "all") == 0
    # a folder made on a GPU (recorded as named by older folders) is not mixed into a CPU run
    results["settings"]["none"]["config"]["run"]["device"] = "cuda:1"
    (out / "results.json").write_text(json.dumps(results))
    assert main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(sprites_weights), "--out", str(out)]) == 2
    assert "changed: config.run.device" in capsys.readouterr().err


def test_rewards_are_recorded_as_resolved_so_named_defaults_resume_alike(runs, sprites_weights, tmp_path, capsys):
    out = tmp_path / "named"
    named = ["--set", "rewards.image=sprites-track-image", "--set", "rewards.video=sprites-track-video"]
    _evaluate(sprites_weights, out, "none,stream-t1", *named)
    results = json.loads((out / "results.json").read_text())
    rewards = {m: results["settings"][m]["config"]["rewards"] for m in ("none", "stream-t1")}
    assert [rewards["stream-t1"][kind] for kind in ("image", "video")] == ["sprites-track-image", "sprites-track-video"]
    assert rewards["none"]["image"] is None and rewards["none"]["video"] is None  # plain generation calls none
    capsys.readouterr()
    _evaluate(sprites_weights, out, "none,stream-t1")  # the backend's defaults, unnamed: the same videos
    assert "1 of 1 videos done earlier, kept" in capsys.readouterr().out
    assert _merge(out, runs / "stream", tmp_path / "all") == 0
    # older folders recorded the rewards as given (unset: the backend's default) and still resume
    results["settings"]["stream-t1"]["config"]["rewards"].update(image=None, video=None)
    (out / "results.json").write_text(json.dumps(results))
    _evaluate(sprites_weights, out, "stream-t1")
    assert "1 of 1 videos done earlier, kept" in capsys.readouterr().out
    # older folders lack run keys added since with the default null (the model's own): made as null makes them
    del results["settings"]["stream-t1"]["config"]["run"]["guidance_sigmas"]
    (out / "results.json").write_text(json.dumps(results))
    _evaluate(sprites_weights, out, "stream-t1")
    assert "1 of 1 videos done earlier, kept" in capsys.readouterr().out
    assert main(["evaluate", "--methods", "stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(sprites_weights), "--out", str(out),
                 "--set", "run.guidance_sigmas=[0.5,0.9]"]) == 2
    assert "changed: config.run.guidance_sigmas" in capsys.readouterr().err
    # another reward is another setting
    assert main(["evaluate", "--methods", "stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(sprites_weights), "--out", str(out),
                 "--set", "rewards.image=sprites-image"]) == 2
    assert "changed: config.rewards.image" in capsys.readouterr().err


def test_a_rerun_asking_for_videos_makes_those_a_no_videos_run_left_out(sprites_weights, tmp_path, capsys):
    out = tmp_path / "scores-only"
    _evaluate(sprites_weights, out, "none")
    before = json.loads((out / "results.json").read_text())["videos"]["none"]
    assert not list((out / "none").glob("*.mp4"))
    capsys.readouterr()
    args = ["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
            "--weights", str(sprites_weights), "--out", str(out)]
    assert json.loads((out / "results.json").read_text())["unsaved"] == {"none": list(before)}
    assert main(args) == 0
    assert "1 video scored earlier without an MP4 made again" in capsys.readouterr().out
    assert len(list((out / "none").glob("*.mp4"))) == 1
    results = json.loads((out / "results.json").read_text())
    assert results["videos"]["none"] == before and results["unsaved"] == {}  # the same video again, now saved
    # a video saved elsewhere (--workers keeps its parts' MP4s under OUT/parts/) is not made again
    for video in (out / "none").glob("*.mp4"):
        video.rename(tmp_path / video.name)
    assert main(args) == 0 and "1 of 1 videos done earlier, kept\n" in capsys.readouterr().out


def test_a_narrower_overwrite_keeps_the_world_rows_of_the_other_prompts(sprites_weights, tmp_path):
    out = tmp_path / "narrower"
    _evaluate(sprites_weights, out, "none", "--num-prompts", "2")
    world = json.loads((out / "results.json").read_text())["videos"]["world"]
    _evaluate(sprites_weights, out, "none", "--num-prompts", "1", "--overwrite")
    results = json.loads((out / "results.json").read_text())
    assert results["videos"]["world"] == world and len(world) == 2 and len(results["videos"]["none"]) == 1
    # the same with --workers, whose parts hold only the one prompt's world row
    _evaluate(sprites_weights, out, "none", "--num-prompts", "1", "--overwrite", "--workers", "2")
    assert json.loads((out / "results.json").read_text())["videos"]["world"] == world
    # but new weights make the world row again: the old one scored the old weights' rewards
    other = tmp_path / "other-weights"
    shutil.copytree(sprites_weights, other)
    reward = other / "image_reward.safetensors"
    with safe_open(reward, "pt") as f:
        tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    save_file({k: v + 0.01 for k, v in tensors.items()}, reward, metadata=metadata)
    _evaluate(other, out, "none", "--num-prompts", "1", "--overwrite", "--workers", "2")
    assert len(json.loads((out / "results.json").read_text())["videos"]["world"]) == 1


def test_merge_refuses_a_video_with_other_scores(runs, tmp_path, capsys):
    edited = tmp_path / "edited"
    shutil.copytree(runs / "best", edited)
    results = json.loads((edited / "results.json").read_text())
    stem, scores = next(iter(results["videos"]["none"].items()))
    scores["text_alignment"] += 0.01
    (edited / "results.json").write_text(json.dumps(results))
    assert _merge(runs / "stream", edited, tmp_path / "all") == 2
    err = capsys.readouterr().err
    assert f"cannot merge `none` video {stem}" in err and "(text_alignment)" in err and str(edited) in err


def test_merge_refuses_a_folder_without_results(runs, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _merge(runs / "stream", empty, tmp_path / "all") == 2
    assert f"no results.json in {empty}" in capsys.readouterr().err
    assert not (tmp_path / "all").exists()


def _compressed_copy(folder, to):
    """``folder``'s results.json stored as results.json.gz alone, as the committed benchmark logs keep old runs."""
    to.mkdir()
    (to / "results.json.gz").write_bytes(gzip.compress((folder / "results.json").read_bytes()))
    return to


def test_folders_whose_results_are_gzip_compressed_merge_like_plain_ones(runs, tmp_path):
    stream, best = _compressed_copy(runs / "stream", tmp_path / "stream"), _compressed_copy(runs / "best", tmp_path / "best")
    out = tmp_path / "all"
    assert _merge(stream, best, out) == 0
    assert (out / "table.md").read_text() == (runs / "both" / "table.md").read_text()
    assert json.loads((out / "results.json").read_text())["videos"] == \
        json.loads((runs / "both" / "results.json").read_text())["videos"]


def test_a_corrupt_compressed_results_file_is_named(runs, tmp_path, capsys):
    broken = _compressed_copy(runs / "stream", tmp_path / "broken")
    (broken / "results.json.gz").write_bytes((broken / "results.json.gz").read_bytes()[:40])
    assert _merge(runs / "best", broken, tmp_path / "all") == 2
    assert f"{broken / 'results.json.gz'} is not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "all").exists()


def test_merge_refuses_a_method_no_folder_has(runs, tmp_path, capsys):
    assert main(["evaluate", "--num-prompts", "1", "--seeds", "0", "--methods", "none,beam",
                 "--merge", str(runs / "stream"), "--out", str(tmp_path / "all")]) == 2
    assert "no results for beam; the folders hold none, stream-t1" in capsys.readouterr().err
    assert main(["evaluate", "--num-prompts", "1", "--seeds", "0", "--methods", "world,none",
                 "--merge", str(runs / "stream"), "--out", str(tmp_path / "all")]) == 2
    assert "`world` is not a method" in capsys.readouterr().err


def test_merge_counts_a_folder_given_twice_once(runs, tmp_path, capsys):
    out = tmp_path / "all"
    assert _merge(runs / "stream", runs / "stream", runs / "best", out) == 0
    assert "merged 2 folders" in capsys.readouterr().out
    assert (out / "table.md").read_text() == (runs / "both" / "table.md").read_text()


def test_merge_refuses_settings_it_would_ignore(runs, tmp_path, capsys):
    assert main(["evaluate", "--num-prompts", "1", "--seeds", "0", "--set", "search.tau=0.5",
                 "--merge", str(runs / "stream"), "--out", str(tmp_path / "all")]) == 2
    assert "--merge makes no videos, so it would ignore --set" in capsys.readouterr().err
    assert main(["evaluate", "--num-prompts", "1", "--seeds", "0", "--traces",
                 "--merge", str(runs / "stream"), "--out", str(tmp_path / "all")]) == 2
    assert "it would ignore --traces" in capsys.readouterr().err
    assert not (tmp_path / "all").exists()


def test_workers_evaluate_each_method_and_seed_apart_and_tabulate_like_one_process(runs, sprites_weights, tmp_path,
                                                                                   capsys, monkeypatch):
    monkeypatch.setattr("streamt1.cli.os.cpu_count", lambda: 1)
    out = tmp_path / "workers"
    _evaluate(sprites_weights, out, "none,stream-t1", "--workers", "2", "--traces")
    # (--device is fingerprinted, so the runs keep the fixture's auto: on a CUDA machine there is no note)
    assert ("note: 2 processes x" in capsys.readouterr().out) == (not torch.cuda.is_available())  # the parts share one core: said, not hidden
    assert sorted(p.name for p in (out / "parts").iterdir()) == ["none-seed0", "stream-t1-seed0"]
    # --traces reaches every part: each video's search trace, and still no MP4
    part = out / "parts" / "stream-t1-seed0" / "stream-t1"
    assert len(list(part.glob("*.trace.json"))) == 1 and not list(out.rglob("*.mp4"))
    assert (out / "table.md").read_text() == (runs / "stream" / "table.md").read_text()
    merged, single = (json.loads((f / "results.json").read_text()) for f in (out, runs / "stream"))
    assert merged["videos"] == single["videos"] and merged["fingerprints"] == single["fingerprints"]
    # --overwrite reaches the parts and OUT's own rows: the method is made again, the other one is kept
    _evaluate(sprites_weights, out, "stream-t1", "--workers", "2", "--set", "search.tau=0.5", "--overwrite")
    again = json.loads((out / "results.json").read_text())
    assert again["settings"]["stream-t1"]["config"]["search"]["tau"] == 0.5
    assert again["videos"]["none"] == single["videos"]["none"] and set(again["videos"]["stream-t1"]) == set(single["videos"]["stream-t1"])


def test_workers_report_a_failed_part_and_its_log(sprites_weights, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("streamt1.cli.os.cpu_count", lambda: 1)  # a CPU that the parts would oversubscribe
    out = tmp_path / "bad"
    code = main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(tmp_path / "missing"), "--out", str(out), "--workers", "2"])
    assert code == 2
    printed = capsys.readouterr()
    assert "processes x" not in printed.out  # one part: nothing shares the core
    err = printed.err
    assert "1 of 1 parts failed (" in err and str(out / "parts" / "none-seed0" / "evaluate.log") in err
    assert "sprites_model" in (out / "parts" / "none-seed0" / "evaluate.log").read_text()  # the child's own message
    assert "sprites_model" in err.split("parts failed (")[1].split("): see")[0]  # ... shown in the parent's


def test_overwrite_forgets_the_records_before_it_deletes_their_videos(tmp_path, monkeypatch):
    from streamt1 import evaluate

    out = tmp_path / "ev"
    (out / "none").mkdir(parents=True)
    (out / "none" / "x-0.mp4").write_bytes(b"video")
    (out / "table.md").write_text("| none | ... |\n")
    results = {"format": evaluate.RESULTS_FORMAT, "settings": {"none": {}, "beam": {}, "world": {}},
               "fingerprints": {"none": "a", "beam": "b", "world": "w"},
               "videos": {"none": {"x-0": {}}, "beam": {"x-0": {}}, "world": {"x-0": {}}}}
    (out / "results.json").write_text(json.dumps(results))

    def stopped(*_, **__):  # Ctrl-C while the folders are deleted
        raise KeyboardInterrupt
    monkeypatch.setattr(evaluate.shutil, "rmtree", stopped)
    with pytest.raises(KeyboardInterrupt):
        evaluate.forget_methods(results, results["videos"], ["none"], out / "results.json", out / "table.md")
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["videos"]) == {"beam"} and set(saved["fingerprints"]) == {"beam"}  # no record of a lost video
    assert not (out / "table.md").exists() and (out / "none" / "x-0.mp4").exists()  # left over, but vouched for by nothing


def test_a_parts_error_is_read_with_the_lines_that_continue_it(tmp_path):
    from streamt1.cli import _last_error

    log = tmp_path / "evaluate.log"
    log.write_text("progress\nstreamt1: error: old\nstreamt1: error: longlive: 2 file(s) missing:\n  a.pt: not found\n"
                   "  b.pt: not found\nalso HPSv3.safetensors: not found\nWARNING after\n")
    assert _last_error(log) == ("longlive: 2 file(s) missing:\n  a.pt: not found\n  b.pt: not found\n"
                                "also HPSv3.safetensors: not found")
    log.write_text("no error here\n")
    assert _last_error(log) == ""


def test_a_sigterm_to_the_parent_alone_stops_every_part(sprites_weights, tmp_path):
    # a container stop or `kill PID` signals the parent only, not its process group as a terminal's Ctrl-C does
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "ev"
    parent = subprocess.Popen(
        [sys.executable, "-m", "streamt1", "evaluate", "--methods", "none,stream-t1", "--num-prompts", "32",
         "--seeds", "0", "--num-frames", "96", "--no-videos", "--weights", str(sprites_weights), "--out", str(out),
         "--workers", "2", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("parts/*/evaluate.log"))) < 2:
        time.sleep(0.2)
    time.sleep(2.0)
    parent.send_signal(signal.SIGTERM)
    stdout, stderr = parent.communicate(timeout=60)  # not the minutes the parts would run
    assert parent.returncode == 143, stderr
    assert "streamt1: terminated; every video finished before the stop is kept" in stderr
    assert stdout.count("interrupted ") == 2 and "FAILED" not in stdout, stdout
    assert not (out / "table.md").exists()


def test_what_a_shared_setting_leaves_out_of_plain_generation_is_said_once(sprites_weights, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="streamt1"):
        _evaluate(sprites_weights, tmp_path / "e", "none,beam", "--set", "search.tau=0.2")
    assert caplog.text.count("`none` keeps its own search.tau") == 1


def test_a_stop_while_a_video_is_scored_leaves_none_of_its_files(sprites_weights, tmp_path, monkeypatch, capsys):
    from streamt1 import evaluate

    scored, calls = evaluate.score_video, []

    def score_world_then_stop(*args, **kwargs):  # the world's render scores; Ctrl-C while the first video scores,
        calls.append(args[1])                    # after its files are written, before its scores are recorded
        if len(calls) > 1:
            raise KeyboardInterrupt
        return scored(*args, **kwargs)
    monkeypatch.setattr(evaluate, "score_video", score_world_then_stop)
    out = tmp_path / "ev"
    assert main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--weights", str(sprites_weights), "--out", str(out)]) == 130
    left = [p.name for p in (out / "none").iterdir() if p.name != OWNER_FILE]  # the folder's mark aside
    assert not left, "files of a video without its scores"
    assert json.loads((out / "results.json").read_text())["videos"].get("none", {}) == {}


def test_a_rerun_with_smaller_batches_resumes_and_another_search_setting_does_not(runs, sprites_weights, tmp_path,
                                                                                   capsys):
    out = tmp_path / "again"
    shutil.copytree(runs / "stream", out)
    capsys.readouterr()
    # what the out-of-memory advice says to lower: memory bounds, not what is computed
    _evaluate(sprites_weights, out, "none,stream-t1", "--set", "search.max_batch=2", "--set", "rewards.max_batch=1")
    assert "stream-t1              1 of 1 videos done earlier, kept" in capsys.readouterr().out
    assert main(["evaluate", "--methods", "stream-t1", "--num-prompts", "1", "--seeds", "0", "--num-frames", "9",
                 "--no-videos", "--weights", str(sprites_weights), "--out", str(out), "--set", "search.tau=0.3"]) == 2
    assert "holds `stream-t1` videos made with other settings" in capsys.readouterr().err
