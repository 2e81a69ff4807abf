"""streamt1 bench end to end on CPU: rank-independent videos, resume, fingerprints, report, errors."""

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bench_fixtures import NUM_FRAMES, tiny_settings

from streamt1.bench import _components_for, prepare, run_bench, run_items
from streamt1.cli import main
from streamt1.distributed import Shard
from streamt1.outputs.bench_report import PLAN_FILE
from streamt1.outputs.results import PROMPT_FILE, RESULT_SUFFIX

SRC = Path(__file__).resolve().parents[2] / "src"


def results_on_disk(out: Path) -> dict[str, int]:
    """Result record -> its mtime: a redone item gets a new one."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.glob(f"*/*{RESULT_SUFFIX}")}


def videos(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*.mp4"))}


def stable_report(out: Path) -> dict:
    """report.json without wall time and memory, which differ between runs by nature."""
    report = json.loads((out / "report.json").read_text())
    for row in report["methods"].values():
        row["compute"] = {k: v for k, v in row["compute"].items() if k in ("generator_forwards", "reward_calls")}
    return report


@pytest.fixture(scope="module")
def resumed_run(sprites_weights, tmp_path_factory, single_threaded):
    """Rank 1 of 2 alone, then a single process interrupted by Ctrl-C, then a rerun to completion."""
    out = tmp_path_factory.mktemp("resumed")
    settings = tiny_settings(sprites_weights, out)
    shard = Shard(rank=1, world_size=2)  # rank 0 "died" before finishing anything
    run_items(prepare(settings, shard), out, shard, progress=print)
    after_rank1 = results_on_disk(out)

    def ctrl_c(line: str) -> None:
        if line.startswith("["):  # after the first video made, not at the line on what rank 1 made
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(settings, progress=ctrl_c)
    after_interrupt = results_on_disk(out)
    prompt_file_after_interrupt = json.loads((out / "none" / PROMPT_FILE).read_text())
    # A half-written item: its video and trace are on disk, its result record (written last) is not.
    half_written = next(p for p in after_rank1 if p.startswith("stream-t1"))
    half_video = (out / half_written.replace(RESULT_SUFFIX, ".mp4")).read_bytes()
    (out / half_written).unlink()
    lines: list[str] = []
    run_bench(settings, progress=lines.append)
    return dict(out=out, after_rank1=after_rank1, after_interrupt=after_interrupt, lines=lines,
                prompt_file_after_interrupt=prompt_file_after_interrupt, half_written=half_written,
                half_video=half_video)


def test_ranks_finish_alone_and_a_rerun_makes_only_missing_items(resumed_run):
    r = resumed_run
    assert len(r["after_rank1"]) == 2  # prompt 1 (global items 1 of 0..1) for both methods
    assert len(r["after_interrupt"]) == 3  # Ctrl-C after the first new video: it is kept
    final = results_on_disk(r["out"])
    assert len(final) == 4
    kept = {p: t for p, t in r["after_interrupt"].items() if p != r["half_written"]}
    assert all(final[p] == t for p, t in kept.items()), "a finished item was made again"
    # the rerun made exactly the never-made item and the half-written one
    assert r["lines"][0] == "none: 2 of 2 videos done earlier, kept"  # the rerun says what it kept
    # the count is of the work to do: none's kept videos are not in it (they were [1/4] and [2/4])
    assert len(r["lines"]) == 3 and r["lines"][1].startswith("[1/2]") and r["lines"][2].startswith("[2/2]")
    assert (r["out"] / r["half_written"].replace(RESULT_SUFFIX, ".mp4")).read_bytes() == r["half_video"]


def test_prompt_file_matches_the_videos(resumed_run):
    out = resumed_run["out"]
    for method in ("none", "stream-t1"):
        mapping = json.loads((out / method / PROMPT_FILE).read_text())
        assert set(mapping) == {p.name for p in (out / method).glob("*.mp4")}
        for video, prompt in mapping.items():
            record = json.loads((out / method / video.replace(".mp4", RESULT_SUFFIX)).read_text())
            assert record["eval_prompt"] == prompt and record["video"] == video
    assert len(resumed_run["prompt_file_after_interrupt"]) == 2  # written even on Ctrl-C


def test_torchrun_two_processes_make_the_same_videos_and_table(resumed_run, sprites_weights, tmp_path):
    out = tmp_path / "torchrun"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "streamt1", "bench", "--suite", "sprites", "--methods", "none,stream-t1",
               "--seeds", "0", "--num-frames", str(NUM_FRAMES), "--limit", "2", "--out", str(out),
               "--weights", str(sprites_weights), "--device", "cpu"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = {json.loads(p.read_text())["rank"] for p in out.glob(f"*/*{RESULT_SUFFIX}")}
    assert ranks == {0, 1}
    assert videos(out) == videos(resumed_run["out"])
    assert stable_report(out) == stable_report(resumed_run["out"])
    assert done.stdout.count("# Bench report") == 1  # rank 0 alone prints
    # --report merges the shards again from disk, without generating
    shutil.copy(out / "report.md", tmp_path / "before.md")
    assert main(["bench", "--report", "--out", str(out)]) == 0
    assert stable_report(out) == stable_report(resumed_run["out"])


class _Sources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.sources += [value for name, value in attrs if name in ("src", "href") and value]


def test_html_page_references_only_existing_files(resumed_run, tmp_path):
    from urllib.parse import unquote

    out = resumed_run["out"]
    parser = _Sources()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    assert sum(s.endswith(".mp4") for s in parser.sources) == 4
    assert sum(s.endswith(".tree.png") for s in parser.sources) == 4
    assert all((out / unquote(s)).is_file() for s in parser.sources), parser.sources
    chromium = Path("/usr/bin/chromium")
    if chromium.exists():
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom"]  # no network on CI machines
        dom = subprocess.run([str(chromium), *flags, (out / "index.html").as_uri()], capture_output=True,
                             text=True, timeout=60)
        assert "<video" in dom.stdout and "Suite sprites" in dom.stdout


def test_report_has_paired_differences_and_compute(resumed_run):
    report = json.loads((resumed_run["out"] / "report.json").read_text())
    assert report["baseline"] == "none" and report["suite"] == "sprites"
    row = report["methods"]["stream-t1"]
    assert "text_alignment" in row["diff"] and row["videos"] == 2
    # stream-t1 (K=M=2) costs 4 candidates per chunk where plain generation costs 1
    forwards = {m: r["compute"]["generator_forwards"]["mean"] for m, r in report["methods"].items()}
    assert forwards["stream-t1"] > 3 * forwards["none"]
    assert row["compute"]["reward_calls"]["mean"] > 0 == report["methods"]["none"]["compute"]["reward_calls"]["mean"]
    assert (resumed_run["out"] / "compute.png").stat().st_size > 1000
    # two paired videos: the table says its intervals are rough
    assert "Only 2 paired videos in some columns" in (resumed_run["out"] / "report.md").read_text()


def _bench(*args: str) -> list[str]:
    return ["bench", "--suite", "sprites", "--methods", "none", "--num-frames", str(NUM_FRAMES),
            "--limit", "2", "--device", "cpu", *args]


@pytest.mark.parametrize("args, message", [
    (["--suite", "vbnech"], "unknown suite 'vbnech'"),
    (["--limit", "0"], "--limit=0"),
    (["--seeds", "0,x"], "--seeds"),
    (["--methods", "nope"], "unknown method 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, sprites_weights, tmp_path, capsys):
    assert main([*_bench("--weights", str(sprites_weights), "--out", str(tmp_path)), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_empty_prompt_file_and_missing_report_folder(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert main(["bench", "--suite", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--report", "--out", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "holds no prompt" in err[0] and "holds no bench results" in err[1]


def test_a_folder_with_other_settings_stops_before_any_work(resumed_run, sprites_weights, capsys):
    out = resumed_run["out"]
    before = results_on_disk(out), videos(out)
    code = main(["bench", "--suite", "sprites", "--methods", "none,stream-t1", "--num-frames", "6",
                 "--limit", "2", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "other settings" in err and "run.num_frames 3 -> 6" in err
    assert (results_on_disk(out), videos(out)) == before


def test_a_rerun_with_some_of_the_methods_resumes_them(resumed_run, sprites_weights, capsys):
    # `none` calls no reward: its settings, and so its resume, must not depend on the methods beside it
    out = resumed_run["out"]
    before = results_on_disk(out)
    report = json.loads((out / "report.json").read_text())
    plan = json.loads((out / PLAN_FILE).read_text())
    code = main(["bench", "--suite", "sprites", "--methods", "none", "--seeds", "0", "--num-frames", str(NUM_FRAMES),
                 "--limit", "2", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert results_on_disk(out) == before  # nothing made again
    again = json.loads((out / "report.json").read_text())
    assert again["methods"]["none"]["metrics"] == report["methods"]["none"]["metrics"]
    # the folder's plan still holds the methods and seeds of the first run, in their order
    assert json.loads((out / PLAN_FILE).read_text()) == plan and plan["methods"] == ["none", "stream-t1"]
    assert list(again["methods"]) == list(report["methods"])


def test_a_shared_search_setting_leaves_the_plain_baseline_as_it_was(resumed_run, sprites_weights, capsys):
    # --set for every method: `none`'s search settings are what make it plain generation, so it resumes
    out = resumed_run["out"]
    before = results_on_disk(out)
    code = main(["bench", "--suite", "sprites", "--methods", "none", "--set", "search.histories=8", "--num-frames",
                 str(NUM_FRAMES), "--limit", "2", "--device", "cpu", "--weights", str(sprites_weights),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert results_on_disk(out) == before


def test_report_finds_the_folder_its_settings_file_names(resumed_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/bench here: the file's out: is the only way to the report
    settings = tmp_path / "bench.yaml"
    settings.write_text(f"suite: sprites\nout: {resumed_run['out']}\n")
    assert main(["bench", "--report", "--config", str(settings)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("# Bench report: suite `sprites`") and "| stream-t1 |" in report


def test_report_joins_the_vbench_scores_of_streamt1_score(resumed_run, tmp_path, capsys):
    """`streamt1 score <bench folder>` writes scores/results.json; `bench --report` adds its columns."""
    out = tmp_path / "scored"
    shutil.copytree(resumed_run["out"], out)
    videos = {}
    for offset, path in enumerate(sorted(out.glob("*/*.mp4"))):
        videos[path.relative_to(out).as_posix()] = {
            "scores": {"subject_consistency": {"value": 0.9 + offset / 100, "weight": 2, "clips": []}},
            "reward": {"overall": float(offset), "VQ": 1.0}, "size": path.stat().st_size}
    (out / "scores").mkdir()
    (out / "scores" / "results.json").write_text(json.dumps({"settings": {}, "videos": videos}))
    assert main(["bench", "--report", "--out", str(out)]) == 0
    assert "vbench_subject_consistency" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    row = report["methods"]["stream-t1"]
    assert row["metrics"]["vbench_subject_consistency"]["n"] == 2
    assert row["diff"]["score_overall"]["mean"] == pytest.approx(2.0)  # stream-t1 files sort after none's
    assert "text_alignment" in row["metrics"]  # the Sprites ground truth is still there
    # each kind of column says where its numbers come from, once
    sources = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("* ")]
    assert [line.split(":")[0] for line in sources] == ["* columns without a prefix", "* `reward_<part>`",
                                                        "* `score_<part>`", "* `vbench_<dimension>`"]
    assert "stored MP4" in (out / "index.html").read_text()
    # a video made again since it was scored (another size) has no score until `score` runs again
    remade = dict(videos, **{key: {**record, "size": record["size"] + 1} for key, record in videos.items()
                             if key.startswith("stream-t1/")})
    (out / "scores" / "results.json").write_text(json.dumps({"settings": {}, "videos": remade}))
    assert main(["bench", "--report", "--out", str(out)]) == 0
    assert "vbench_subject_consistency" not in json.loads((out / "report.json").read_text())["methods"]["stream-t1"]["metrics"]
    (out / "scores" / "results.json").write_text(json.dumps({"settings": {}, "videos": videos}))
    assert main(["bench", "--report", "--out", str(out)]) == 0
    # ground truth and VBench in % as `streamt1 evaluate` and VBench show them, rewards as raw scores
    none_row = next(line for line in (out / "report.md").read_text().splitlines() if line.startswith("| none |"))
    none_metrics = report["methods"]["none"]["metrics"]
    assert f"| {100 * none_metrics['text_alignment']['mean']:.1f} ± " in none_row
    assert f"| {none_metrics['score_overall']['mean']:.3f}" in none_row
    # a score run that predates some videos: its columns say how many they cover
    first = sorted(videos)[0]
    (out / "scores" / "results.json").write_text(json.dumps({"settings": {}, "videos": {first: videos[first]}}))
    assert main(["bench", "--report", "--out", str(out)]) == 0
    table = (out / "report.md").read_text()
    none_row = next(line for line in table.splitlines() if line.startswith("| none | 2 |"))
    assert "(1 of 2)" in none_row
    assert "(1 of 2)" in (out / "index.html").read_text()  # the page's table formats estimates as report.md does


def test_overwrite_makes_the_methods_again_and_keeps_the_others(resumed_run, sprites_weights, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(resumed_run["out"], out)
    before = results_on_disk(out)
    args = ["bench", "--suite", "sprites", "--methods", "stream-t1", "--set", "search.tau=0.5", "--num-frames",
            str(NUM_FRAMES), "--limit", "2", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(out)]
    assert main(args) == 2 and "other settings" in capsys.readouterr().err  # without --overwrite: refused
    assert results_on_disk(out) == before
    assert main([*args, "--overwrite"]) == 0, capsys.readouterr().err
    after = results_on_disk(out)
    assert set(after) == set(before)
    assert all(after[k] == before[k] for k in before if k.startswith("none/"))  # the other method stays
    remade = [k for k in before if k.startswith("stream-t1/")]
    assert remade and all(after[k] != before[k] for k in remade)
    settings = json.loads((out / "stream-t1" / "settings.json").read_text())["settings"]
    assert settings["search"]["tau"] == 0.5
    assert main(["bench", "--report", "--overwrite", "--out", str(out)]) == 2
    assert "leave one out" in capsys.readouterr().err


def test_methods_whose_sink_limits_differ_share_one_generator(sprites_weights):
    # the sink's limits reach the cache at every commit: a second copy of the model (and rewards) would
    # only cost memory (a shared --set search.ema_decay reaches stream-t1 but not plain generation)
    from streamt1.config import build_config

    configs = {"none": build_config("none", None, [], weights=str(sprites_weights), device="cpu"),
               "stream-t1": build_config("stream-t1", None, ["search.ema_decay=0.99", "search.max_sink_frames=9"],
                                         weights=str(sprites_weights), device="cpu")}
    components = _components_for(configs)
    assert components["none"].generator is components["stream-t1"].generator
    other = {**configs, "local": build_config("none", None, ["search.global_sink=false"], weights=str(sprites_weights),
                                              device="cpu")}
    loaded = _components_for(other)
    assert loaded["local"].generator is not loaded["none"].generator


def test_a_stop_while_an_item_is_scored_leaves_none_of_its_files(sprites_weights, tmp_path, monkeypatch,
                                                                  single_threaded):
    # the item's video and plots are written before its metrics: without its record they would read as finished
    import streamt1.bench as bench

    def stopped(*_, **__):
        raise KeyboardInterrupt
    monkeypatch.setattr(bench, "score_video", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_bench(tiny_settings(sprites_weights, tmp_path), progress=print)
    assert not videos(tmp_path) and not results_on_disk(tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".png", ".trace.json"))]


def test_a_missing_pyav_is_named_before_any_video_is_made(sprites_weights, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av fails, as where PyAV is not installed
    assert main(_bench("--weights", str(sprites_weights), "--out", str(tmp_path / "b"))) == 2
    assert "needs PyAV: `pip install av`" in capsys.readouterr().err
    assert not list((tmp_path / "b").rglob("*.mp4"))
