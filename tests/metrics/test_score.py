"""``streamt1 score``: every video of a folder, VBench's numbers, resume, settings fingerprint, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sys
from pathlib import Path

import pytest
import torch

from streamt1.cli import main
from streamt1.config import ConfigError
from streamt1.distributed import Shard
from streamt1.metrics import score, vbench
from streamt1.outputs.video import read_mp4, write_mp4
from streamt1.rewards import load_video_reward
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

from tiny_vbench import random_video, tiny_weights  # noqa: F401  (session fixture)

DIMS = "subject_consistency,background_consistency,aesthetic_quality"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def bench_folder(tmp_path_factory):
    """A bench-like folder: two methods, one video each, plus a top-level video and a temp file."""
    root = tmp_path_factory.mktemp("bench")
    write_mp4(root / "none" / "a-red-circle-0.mp4", random_video(6, 32, 32, seed=4).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    smooth = random_video(1, 32, 32, seed=5).expand(6, -1, -1, -1).clone()
    smooth[3:] //= 2  # a cut half way
    write_mp4(root / "beam" / "a-red-circle-0.mp4", smooth.permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    write_mp4(root / "top-1.mp4", random_video(6, 32, 32, seed=6).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    (root / "none" / ".a.x1.tmp.mp4").write_bytes(b"")  # an interrupted atomic write: ignored
    return root


def record_stamps(out):
    """Modification times of the per-video records (rewritten only when a video is scored again)."""
    return {p: p.stat().st_mtime_ns for p in (out / score.RECORDS_DIR).rglob("*.json")}


def _frames(path):
    return torch.from_numpy(read_mp4(path)).permute(0, 3, 1, 2).contiguous()


def test_score_folder_writes_vbench_values_and_resumes(bench_folder, tiny_weights, capsys):
    argv = ["score", str(bench_folder), "--metrics", DIMS, "--weights", str(tiny_weights.root), "--device", "cpu"]
    assert main(argv) == 0
    results = json.loads((bench_folder / "scores" / "results.json").read_text())
    assert sorted(results["videos"]) == ["beam/a-red-circle-0.mp4", "none/a-red-circle-0.mp4", "top-1.mp4"]
    backbones = vbench.Backbones(tiny_weights.root, "cpu")
    video = _frames(bench_folder / "beam" / "a-red-circle-0.mp4")
    record = results["videos"]["beam/a-red-circle-0.mp4"]
    assert record["prompt"] == "a-red-circle" and record["long"] is False and record["frames"] == 6
    assert record["scores"]["subject_consistency"]["value"] == pytest.approx(
        vbench.subject_consistency(video, backbones.dino), abs=1e-6)
    assert record["scores"]["aesthetic_quality"]["value"] == pytest.approx(
        vbench.aesthetic_quality(video, backbones.clip_l14, backbones.aesthetic_head), abs=1e-6)
    summary = json.loads((bench_folder / "scores" / "summary.json").read_text())
    assert set(summary) == {".", "beam", "none"}
    assert summary["beam"]["background_consistency"]["vbench"] == pytest.approx(
        record["scores"]["background_consistency"]["value"])
    official = json.loads((bench_folder / "scores" / "beam_eval_results.json").read_text())
    aggregate, per_video = official["subject_consistency"]
    assert per_video[0]["video_path"].endswith("beam/a-red-circle-0.mp4")
    assert per_video[0]["video_results"] == aggregate == record["scores"]["subject_consistency"]["value"]
    prompts = json.loads((bench_folder / "scores" / "prompts.json").read_text())
    assert prompts[str(bench_folder / "top-1.mp4")] == "top"
    table = (bench_folder / "scores" / "table.md").read_text()
    assert "| beam |" in table and "subject consistency" in table

    stamps = record_stamps(bench_folder / "scores")
    before = (bench_folder / "scores" / "results.json").read_text()
    capsys.readouterr()
    assert main(argv) == 0  # resumes: nothing left to score, and it says so
    printed = capsys.readouterr().out
    assert "3 of 3 videos scored earlier, kept" in printed and "] scored" not in printed
    assert record_stamps(bench_folder / "scores") == stamps and len(stamps) == 3
    assert (bench_folder / "scores" / "results.json").read_text() == before


def test_other_settings_do_not_mix_into_earlier_results(bench_folder, tiny_weights, tmp_path, capsys):
    out = tmp_path / "scores"
    base = ["score", str(bench_folder), "--metrics", "subject_consistency", "--weights", str(tiny_weights.root),
            "--device", "cpu", "--out", str(out)]
    assert main(base) == 0
    assert main([*base, "--long", "on"]) == 2
    assert "other settings (long 'auto' -> 'on')" in capsys.readouterr().err  # names what changed
    assert main([*base, "--long", "on", "--overwrite"]) == 0
    record = json.loads((out / "results.json").read_text())["videos"]["top-1.mp4"]
    assert record["long"] is True and len(record["scores"]["subject_consistency"]["clips"]) == 1


def test_a_video_a_metric_cannot_take_is_named(tiny_weights, tmp_path, capsys):
    folder = tmp_path / "videos"
    write_mp4(folder / "one-frame-0.mp4", random_video(1, 32, 32, seed=1).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    code = main(["score", str(folder), "--metrics", "subject_consistency", "--weights", str(tiny_weights.root),
                 "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{folder / 'one-frame-0.mp4'} cannot be scored: consistency needs at least 2 frames" in err
    assert "(its prompt 'one-frame' was read from its trace or file name; if that is not its caption, give it " \
           "with --prompt-file" in err  # the prompt it went by, and how to give another


def test_missing_weights_exit_2_naming_the_file(bench_folder, tmp_path, capsys):
    code = main(["score", str(bench_folder), "--metrics", "background_consistency", "--weights", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "ViT-B-32.pt: not found" in err and "OpenAI" in err and err.count("\n") == 1


def test_unknown_metric_exit_2_lists_the_available_ones(bench_folder, capsys):
    assert main(["score", str(bench_folder), "--metrics", "dynamism"]) == 2
    assert "available: ['subject_consistency'" in capsys.readouterr().err
    assert main(["score", str(bench_folder), "--metrics", "subject_consistancy"]) == 2
    assert "(did you mean subject_consistency?)" in capsys.readouterr().err


def test_prompts_come_from_the_prompt_file_then_the_trace_then_the_name(tmp_path):
    video = tmp_path / "clip-3.mp4"
    assert score.video_prompt(video, {}) == "clip"
    (tmp_path / "clip-3.trace.json").write_text(json.dumps({"prompt": "a red circle"}))
    assert score.video_prompt(video, {}) == "a red circle"
    assert score.video_prompt(video, {"clip-3.mp4": "from the file"}) == "from the file"


def test_a_prompt_file_that_is_not_json_is_named_with_the_fix(bench_folder, tmp_path, capsys):
    bad = tmp_path / "prompts.json"
    bad.write_text('{"clip-0.mp4": "a red circle",')  # cut short
    assert main(["score", str(bench_folder), "--prompt-file", str(bad), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"streamt1: error: {bad} is not valid JSON (") and len(err.splitlines()) == 1
    assert err.endswith("give a JSON object {video path: prompt} (VBench's --prompt_file)")


@pytest.mark.parametrize("spec, message", [
    ("videoalign", "--video-reward videoalign needs its files: pass --video-reward videoalign=PATH"),
    ("hpsv3=/w", "'hpsv3' is an image reward, not a video reward; `streamt1 score` adds a video reward only: "),
    ("videoalign=", "expected NAME or NAME=PATH"),
])
def test_a_video_reward_is_named_as_in_generate(spec, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        score.ScoreSettings(video_reward=spec)
    assert "--image-reward" not in str(info.value)  # score has no such flag


def test_video_reward_parts_are_scored_and_its_path_is_not_fingerprinted(bench_folder, tiny_weights, tmp_path,
                                                                          capsys):
    out, prompt_file = tmp_path / "scores", tmp_path / "prompts.json"
    prompt = "a red circle moves left"  # in the Sprites reward's vocabulary
    prompt_file.write_text(json.dumps({"a-red-circle-0.mp4": prompt, "top-1.mp4": prompt}))
    base = ["score", str(bench_folder), "--metrics", "subject_consistency", "--weights", str(tiny_weights.root),
            "--device", "cpu", "--out", str(out), "--prompt-file", str(prompt_file)]
    assert main([*base, "--video-reward", "sprites-video"]) == 0  # built in: no PATH needed
    record = json.loads((out / "results.json").read_text())["videos"]["top-1.mp4"]
    reward = load_video_reward("sprites-video", DEFAULT_WEIGHTS_DIR)
    expected = reward(_frames(bench_folder / "top-1.mp4")[None], [prompt], 8.0)
    assert record["reward"]["overall"] == pytest.approx(float(expected.overall[0]), abs=1e-5)
    assert set(record["reward"]) == {"overall", *expected.parts}
    capsys.readouterr()
    assert main([*base, "--video-reward", f"sprites-video={DEFAULT_WEIGHTS_DIR}"]) == 0  # same name: resumes
    assert "] scored" not in capsys.readouterr().out
    assert main([*base, "--video-reward", f"sprites-video={tmp_path / 'nowhere'}"]) == 2
    assert "video_reward.safetensors, video_reward.json: not found" in capsys.readouterr().err



def test_metrics_none_scores_with_the_reward_alone_and_needs_no_vbench_files(bench_folder, tmp_path, capsys):
    out, prompt_file = tmp_path / "scores", tmp_path / "prompts.json"
    prompt_file.write_text(json.dumps({"a-red-circle-0.mp4": "a red circle moves left",
                                       "top-1.mp4": "a red circle moves up"}))
    base = ["score", str(bench_folder), "--metrics", "none", "--weights", str(tmp_path / "no-vbench-here"),
            "--device", "cpu", "--out", str(out), "--prompt-file", str(prompt_file)]
    assert main(base) == 2  # nothing to score
    assert "nothing to score" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--video-reward", "sprites-video"]) == 0, capsys.readouterr().err
    videos = json.loads((out / "results.json").read_text())["videos"]
    assert len(videos) == 3 and all(v["scores"] == {} and "overall" in v["reward"] for v in videos.values())
    table = (out / "table.md").read_text()
    assert table.startswith("| Folder | reward_") and "subject" not in table
    assert (out / "prompts.json").is_file() and not list(out.glob("*_eval_results.json"))


def test_a_prompt_switch_stream_is_scored_part_by_part_under_each_prompt(tmp_path, capsys):
    folder, first, second = tmp_path / "streams", "a red circle moves left", "a blue square moves up"
    write_mp4(folder / "stream-0.mp4", random_video(12, 32, 32, seed=7).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    (folder / "stream-0.trace.json").write_text(json.dumps({
        "prompt": f"{first} then {second}", "config": {"run": {"num_frames": 12}},
        "segments": [{"prompt": first, "from_frame": 0}, {"prompt": second, "from_frame": 9}]}))
    assert main(["score", str(folder), "--metrics", "none", "--video-reward", "sprites-video", "--device", "cpu"]) == 0
    record = json.loads((folder / "scores" / "results.json").read_text())["videos"]["stream-0.mp4"]
    frames = _frames(folder / "stream-0.mp4")
    reward = load_video_reward("sprites-video", DEFAULT_WEIGHTS_DIR)
    parts = [float(reward(frames[None, a:b], [text], 8.0).overall[0]) for text, a, b in ((first, 0, 9), (second, 9, 12))]
    assert record["reward"]["overall"] == pytest.approx((9 * parts[0] + 3 * parts[1]) / 12, abs=1e-5)
    assert record["prompt"] == f"{first} then {second}"
    # where a causal VAE decodes fewer frames for the first chunk, the trace's decoded start decides, not the
    # latent fraction (9 of 12 latent frames would put the switch at frame 9)
    (folder / "stream-0.trace.json").write_text(json.dumps({
        "prompt": f"{first} then {second}", "config": {"run": {"num_frames": 12}},
        "segments": [{"prompt": first, "from_frame": 0, "from_decoded_frame": 0},
                     {"prompt": second, "from_frame": 9, "from_decoded_frame": 7}]}))
    assert main(["score", str(folder), "--metrics", "none", "--video-reward", "sprites-video", "--device", "cpu",
                 "--overwrite"]) == 0
    record = json.loads((folder / "scores" / "results.json").read_text())["videos"]["stream-0.mp4"]
    parts = [float(reward(frames[None, a:b], [text], 8.0).overall[0]) for text, a, b in ((first, 0, 7), (second, 7, 12))]
    assert record["reward"]["overall"] == pytest.approx((7 * parts[0] + 5 * parts[1]) / 12, abs=1e-5)


@pytest.mark.parametrize("trace", ["", "[1, 2]", '{"prompt": "a", "config": {"run": []}, "segments": [{}, {}]}',
                                   '{"prompt": "a", "config": {"run": {"num_frames": 6}}, '
                                   '"segments": [{"prompt": "a"}, {"prompt": "b"}]}'])
def test_a_trace_that_cannot_be_read_is_named(tmp_path, capsys, trace):
    folder = tmp_path / "streams"
    write_mp4(folder / "clip-0.mp4", random_video(6, 32, 32, seed=1).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    (folder / "clip-0.trace.json").write_text(trace)
    assert main(["score", str(folder), "--metrics", "none", "--video-reward", "sprites-video", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'clip-0.trace.json'} is not a readable trace" in err and "--prompt-file" in err


@pytest.fixture(scope="module")
def one_process(bench_folder, tiny_weights, tmp_path_factory):
    """An uninterrupted single-process run, single-threaded as the torchrun ranks are (same float sums)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("one_process")
    assert main(["score", str(bench_folder), "--metrics", DIMS, "--weights", str(tiny_weights.root),
                 "--device", "cpu", "--out", str(out)]) == 0
    yield out
    torch.set_num_threads(threads)


def per_video(out):
    return {p.relative_to(out).as_posix(): json.loads(p.read_text()) for p in (out / score.RECORDS_DIR).rglob("*.json")}


def test_torchrun_two_processes_give_the_same_records_and_table(one_process, bench_folder, tiny_weights, tmp_path):
    out = tmp_path / "torchrun"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "streamt1", "score", str(bench_folder), "--metrics", DIMS,
               "--weights", str(tiny_weights.root), "--device", "cpu", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    records, reference = per_video(out), per_video(one_process)
    assert sorted(records) == sorted(reference) and len(records) == 3
    assert {r["rank"] for r in records.values()} == {0, 1}  # round-robin: 0 and 2 on rank 0, 1 on rank 1
    assert {k: r["record"] for k, r in records.items()} == {k: r["record"] for k, r in reference.items()}
    for name in (score.RESULTS_FILE, score.SUMMARY_FILE, score.TABLE_FILE, "beam" + score.EVAL_RESULTS_SUFFIX):
        assert (out / name).read_text() == (one_process / name).read_text().replace(str(one_process), str(out))
    assert done.stdout.count("| Folder |") == 1  # rank 0 alone prints the table


def test_a_half_finished_run_scores_only_the_missing_videos(one_process, bench_folder, tiny_weights, tmp_path,
                                                            capsys):
    out = tmp_path / "resumed"
    settings = score.ScoreSettings(dimensions=tuple(DIMS.split(",")))
    backbones = vbench.Backbones(tiny_weights.root, "cpu")
    plan = score.plan_scoring(bench_folder, settings, backbones, out=out)
    shard = Shard(rank=1, world_size=2)  # rank 0 "died" before finishing anything
    assert score.score_items(plan, settings, backbones, shard) == 1
    assert sorted(per_video(out)) == [f"{score.RECORDS_DIR}/{plan.keys[1]}.json"]
    stamps = record_stamps(out)
    capsys.readouterr()
    assert main(["score", str(bench_folder), "--metrics", DIMS, "--weights", str(tiny_weights.root),
                 "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("] scored ") == 2 and "1 of 3 videos scored earlier, kept" in printed and f"scored {plan.keys[1]}" not in printed
    assert all(record_stamps(out)[p] == stamp for p, stamp in stamps.items())  # rank 1's record kept
    assert (out / score.TABLE_FILE).read_text() == (one_process / score.TABLE_FILE).read_text()


def _write(path, seed, frames=6):
    write_mp4(path, random_video(frames, 32, 32, seed=seed).permute(0, 2, 3, 1).numpy(), 8, min_size=0)


def test_each_folder_holding_videos_is_its_own_row(tiny_weights, tmp_path):
    """Rows are the folders that hold the videos, not the first sub-folder: a copied bench folder (``b2``)
    and an ``evaluate --workers`` folder (``parts/<method>-seed<s>/<method>``) keep one row per method."""
    folder = tmp_path / "nest"
    for name, seed in (("b2/none/a-0.mp4", 1), ("b2/none/b-0.mp4", 2), ("b2/stream-t1/a-0.mp4", 3),
                       ("parts/none-seed0/none/a-0.mp4", 4), ("parts/stream-t1-seed0/stream-t1/a-0.mp4", 5),
                       ("per_video/x/a-0.mp4", 6), ("top-0.mp4", 7)):  # per_video: as our records' folder
        _write(folder / name, seed)
    argv = ["score", str(folder), "--metrics", "subject_consistency", "--weights", str(tiny_weights.root),
            "--device", "cpu"]
    assert main(argv) == 0
    out = folder / "scores"
    summary = json.loads((out / "summary.json").read_text())
    assert {row: summary[row]["videos"] for row in summary} == {
        "b2/none": 2, "b2/stream-t1": 1, "parts/none-seed0/none": 1, "parts/stream-t1-seed0/stream-t1": 1,
        "per_video/x": 1, ".": 1}
    records = json.loads((out / "results.json").read_text())["videos"]
    none = [records[k]["scores"]["subject_consistency"] for k in ("b2/none/a-0.mp4", "b2/none/b-0.mp4")]
    assert summary["b2/none"]["subject_consistency"]["vbench"] == pytest.approx(
        vbench.aggregate([vbench.DimensionScore(**s) for s in none]))
    table = (out / "table.md").read_text()
    assert "| b2/none |" in table and "| parts/none-seed0/none |" in table and "| b2 |" not in table
    official = json.loads((out / "b2" / "none_eval_results.json").read_text())["subject_consistency"][1]
    assert sorted(v["video_path"] for v in official) == [str(folder / "b2/none/a-0.mp4"), str(folder / "b2/none/b-0.mp4")]
    assert (out / "videos_eval_results.json").is_file()  # the top-level row keeps its name
    (out / "b2_eval_results.json").write_text("{}")  # the pooled row an earlier version wrote
    assert main(argv) == 0  # resumes: per_video/x_eval_results.json is not read as a video's record
    assert not (out / "b2_eval_results.json").exists() and (out / "b2" / "none_eval_results.json").is_file()


def test_an_undecodable_video_is_skipped_listed_and_scored_once_replaced(tiny_weights, tmp_path, capsys, caplog):
    folder = tmp_path / "videos"
    for name, seed in (("none/a-0.mp4", 1), ("none/b-0.mp4", 2), ("beam/a-0.mp4", 3)):
        _write(folder / name, seed)
    whole = (folder / "none" / "a-0.mp4").read_bytes()
    (folder / "beam" / "cut-0.mp4").write_bytes(whole[: len(whole) // 2])  # a copy that stopped half way
    (folder / "none" / "junk-0.mp4").write_bytes(b"not a video" * 20)
    argv = ["score", str(folder), "--metrics", "subject_consistency", "--weights", str(tiny_weights.root),
            "--device", "cpu"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    bad = [folder / "beam" / "cut-0.mp4", folder / "none" / "junk-0.mp4"]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert all(any(str(p) in w and "skipped" in w for w in warned) for p in bad)  # each named as it is met
    err = captured.err.strip().splitlines()
    assert err[0].startswith("streamt1: error: 2 of 5 videos could not be decoded and were skipped (the other 3")
    assert [line.split(" cannot be read")[0].strip() for line in err[1:3]] == list(map(str, bad))  # listed last
    assert "| none |" in captured.out  # the others' table, as on success
    out = folder / "scores"
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["videos"]) == ["beam/a-0.mp4", "none/a-0.mp4", "none/b-0.mp4"]
    assert sorted(results["skipped"]) == ["beam/cut-0.mp4", "none/junk-0.mp4"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["none"]["videos"] == 2 and summary["beam"]["videos"] == 1
    assert len(json.loads((out / "none_eval_results.json").read_text())["subject_consistency"][1]) == 2

    (folder / "beam" / "cut-0.mp4").unlink()
    _write(folder / "none" / "junk-0.mp4", 4)  # replaced by a readable video: scored, the rest kept
    # a marker beside a kept record (a run stopped between them, then the good file came back) lists nothing
    marker = out / score.SKIPPED_DIR / "none" / "junk-0.mp4.json"
    (out / score.SKIPPED_DIR / "none" / "a-0.mp4.json").write_text(marker.read_text())
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "3 of 4 videos scored earlier, kept" in printed and "scored none/junk-0.mp4" in printed
    results = json.loads((out / "results.json").read_text())
    assert len(results["videos"]) == 4 and "skipped" not in results


def test_a_video_missing_from_the_prompt_file_fails_before_any_scoring(tmp_path, capsys):
    folder, prompt_file = tmp_path / "sc4", tmp_path / "pf3.json"
    _write(folder / "clip-1.mp4", 1)
    _write(folder / "vid1.mp4", 2)
    prompt_file.write_text(json.dumps({"clip-1.mp4": "a red circle moves left"}))
    argv = ["score", str(folder), "--prompt-file", str(prompt_file), "--metrics", "none",
            "--video-reward", "sprites-video", "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"streamt1: error: {folder / 'vid1.mp4'} is not in the prompt file {prompt_file}: add an entry "
                   "\"vid1.mp4\": \"<its prompt>\" (keyed by the video's path, absolute path or file name), or leave "
                   "out --prompt-file to read prompts from traces and file names")
    assert not (folder / "scores" / score.RECORDS_DIR).exists()  # nothing was scored
    # checked with the folder, before the metrics' weights (here missing) are looked for
    assert main([*argv, "--metrics", "subject_consistency", "--weights", str(tmp_path / "no-weights")]) == 2
    assert "vid1.mp4 is not in the prompt file" in capsys.readouterr().err
    prompt_file.write_text(json.dumps({}))  # an empty file lists no video either
    assert main(argv) == 2
    assert f"{folder / 'clip-1.mp4'}, {folder / 'vid1.mp4'} are not in the prompt file" in capsys.readouterr().err
    prompt_file.write_text(json.dumps({"clip-1.mp4": "a red circle moves left", "vid1.mp4": "a blue square moves up"}))
    assert main(argv) == 0
    videos = json.loads((folder / "scores" / "results.json").read_text())["videos"]
    assert videos["vid1.mp4"]["prompt"] == "a blue square moves up"


def test_vbench_files_keep_a_long_videos_dynamic_degree_as_the_share_of_its_clips_that_move(tmp_path):
    from streamt1.metrics.score import EVAL_RESULTS_SUFFIX, write_vbench_layout

    def record(value, clips):
        return {"prompt": "p", "scores": {"dynamic_degree": {"value": value, "weight": 1.0, "clips": clips}}}

    videos = {"long.mp4": record(0.25, [1.0, 0.0, 0.0, 0.0]), "short.mp4": record(1.0, [])}
    write_vbench_layout(tmp_path, tmp_path / "videos", videos, ["dynamic_degree"])
    aggregate, per_video = json.loads((tmp_path / f"videos{EVAL_RESULTS_SUFFIX}").read_text())["dynamic_degree"]
    results = {Path(v["video_path"]).name: v["video_results"] for v in per_video}
    assert results == {"long.mp4": 0.25, "short.mp4": True}  # a bool for one clip, as VBench writes it
    assert aggregate == pytest.approx((0.25 + 1.0) / 2)  # the per-video values average to the aggregate


def test_damaged_resume_files_are_named_with_the_fix(tmp_path, capsys):
    folder = tmp_path / "streams"
    write_mp4(folder / "clip-0.mp4", random_video(6, 32, 32, seed=2).permute(0, 2, 3, 1).numpy(), 8, min_size=0)
    (folder / "clip-0.trace.json").write_text(json.dumps({"prompt": "a red circle moves left"}))
    args = ["score", str(folder), "--metrics", "none", "--video-reward", "sprites-video", "--device", "cpu"]
    assert main(args) == 0
    record, merged = folder / "scores" / "per_video" / "clip-0.mp4.json", folder / "scores" / "results.json"
    kept = record.read_text()
    record.write_text("{}")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{record} is not a video's scores" in err and "--overwrite" in err
    record.write_text(kept)
    merged.write_text("[]")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{merged} is not a scores file" in err and "--overwrite" in err
    assert main([*args, "--overwrite"]) == 0  # the fix the message gives works


def test_a_missing_pyav_is_named_before_any_scoring(bench_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # the videos cannot be decoded without it
    assert main(["score", str(bench_folder), "--metrics", "background_consistency", "--out",
                 str(tmp_path / "scores")]) == 2
    assert "needs PyAV: `pip install av`" in capsys.readouterr().err
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
