"""`streamt1 generate` guarantees: settings-aware resume, distinct names, progress, Ctrl-C, help, logging."""

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from streamt1.cli import main
from streamt1.outputs.results import PROMPT_FILE, RESULT_SUFFIX

SRC = Path(__file__).resolve().parents[2] / "src"
SHARED = "A small red circle moves left and a large blue square moves right and a medium green triangle " \
         "bounces around over a purple and orange checkerboard, then the red circle disappears"
PROMPTS = [SHARED + ", then the background turns white", SHARED + ", then the background turns black"]


def _generate(prompts_file: Path, out: Path, weights: Path, *extra: str) -> int:
    return main(["generate", "--prompts-file", str(prompts_file), "--out", str(out), "--weights", str(weights),
                 "--method", "none", "--num-frames", "3", "--device", "cpu", "--no-progress", *extra])


@pytest.fixture(scope="module")
def generated(sprites_weights, tmp_path_factory, single_threaded):
    folder = tmp_path_factory.mktemp("generate")
    prompts = folder / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    out = folder / "out"
    assert _generate(prompts, out, sprites_weights) == 0
    return prompts, out


def test_long_prompts_with_a_shared_prefix_get_distinct_files(generated, capsys):
    _, out = generated
    mapping = json.loads((out / PROMPT_FILE).read_text())
    assert sorted(mapping.values()) == sorted(PROMPTS) and len(list(out.glob("*.mp4"))) == 2


def test_rerun_skips_only_videos_made_with_the_same_settings(generated, sprites_weights, capsys):
    prompts, out = generated
    capsys.readouterr()
    before = {p.name: p.stat().st_mtime_ns for p in out.glob(f"*{RESULT_SUFFIX}")}
    assert _generate(prompts, out, sprites_weights) == 0
    assert capsys.readouterr().out.count("skip") == 2
    for change in (["--num-frames", "6"], ["--set", "run.guidance_scale=2"]):
        code = main(["generate", "--prompts-file", str(prompts), "--out", str(out), "--weights", str(sprites_weights),
                     "--method", "none", "--num-frames", "3", "--device", "cpu", *change])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "made with other settings" in err and len(err.splitlines()) == 1
    # the batch sizes bound memory, not the videos: a rerun with them resumes
    for change in (["--set", "search.max_batch=2"], ["--set", "rewards.max_batch=3"]):
        assert main(["generate", "--prompts-file", str(prompts), "--out", str(out), "--weights", str(sprites_weights),
                     "--method", "none", "--num-frames", "3", "--device", "cpu", *change]) == 0
        assert capsys.readouterr().out.count("skip") == 2
    assert {p.name: p.stat().st_mtime_ns for p in out.glob(f"*{RESULT_SUFFIX}")} == before


def test_a_folder_from_before_a_run_key_existed_resumes_unless_the_key_is_set(sprites_weights, tmp_path, capsys):
    prompts, out = tmp_path / "p.txt", tmp_path / "out"
    prompts.write_text(PROMPTS[0] + "\n")
    assert _generate(prompts, out, sprites_weights) == 0
    (result,) = out.glob(f"*{RESULT_SUFFIX}")
    stored = json.loads(result.read_text())
    del stored["settings"]["run"]["guidance_sigmas"]  # as written before the key existed
    result.write_text(json.dumps(stored))
    capsys.readouterr()
    assert _generate(prompts, out, sprites_weights) == 0 and capsys.readouterr().out.count("skip") == 1
    assert _generate(prompts, out, sprites_weights, "--set", "run.guidance_sigmas=[0.5,0.9]") == 2
    assert "run.guidance_sigmas" in capsys.readouterr().err


def test_rerun_with_another_reward_folder_is_not_taken_for_done(sprites_weights, tmp_path, capsys):
    prompts, out = tmp_path / "p.txt", tmp_path / "out"
    prompts.write_text(PROMPTS[0] + "\n")
    other = tmp_path / "other-rewards"  # e.g. rewards fine-tuned by `streamt1 sprites rank-rewards`
    other.mkdir()
    for f in sprites_weights.glob("image_reward.*"):
        (other / f.name).write_bytes(f.read_bytes())
    assert _generate(prompts, out, sprites_weights, "--method", "beam") == 0
    capsys.readouterr()
    assert _generate(prompts, out, sprites_weights, "--method", "beam", "--image-reward", f"sprites-image={other}") == 2
    err = capsys.readouterr().err.strip()
    assert "made with other settings" in err and "rewards.image" in err and len(err.splitlines()) == 1


def test_settings_name_the_reward_models_and_leave_out_where_they_run(sprites_weights, tmp_path, capsys):
    prompts, out = tmp_path / "p.txt", tmp_path / "out"
    prompts.write_text(PROMPTS[0] + "\n")
    assert _generate(prompts, out, sprites_weights, "--method", "beam", "--offload-rewards") == 0
    record = json.loads(next(out.glob(f"*{RESULT_SUFFIX}")).read_text())
    assert record["settings"]["rewards"]["loaded"] == {"image": "streamt1.sprites.track_reward.SpritesTrackImageReward",
                                                       "video": "streamt1.sprites.track_reward.SpritesTrackVideoReward"}
    capsys.readouterr()
    assert _generate(prompts, out, sprites_weights, "--method", "beam") == 0  # offloading changes no score
    assert capsys.readouterr().out.count("skip") == 1


def test_out_of_memory_keeps_finished_videos_and_its_advice_works(sprites_weights, tmp_path, capsys, monkeypatch):
    from streamt1.search.beam import StreamSearch

    prompts, out = tmp_path / "p.txt", tmp_path / "out"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    run = StreamSearch.run
    calls = []

    def run_until_the_second_video(self, *args, **kwargs):  # stands in for a GPU that fills up
        calls.append(1)
        if len(calls) == 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return run(self, *args, **kwargs)

    monkeypatch.setattr(StreamSearch, "run", run_until_the_second_video)
    assert _generate(prompts, out, sprites_weights) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "search.max_batch" in err and "rerun the same command with them" in err
    assert len(list(out.glob(f"*{RESULT_SUFFIX}"))) == 1
    monkeypatch.setattr(StreamSearch, "run", run)
    # the advice: a lower max_batch resumes into the same folder, keeping the finished video
    capsys.readouterr()
    assert _generate(prompts, out, sprites_weights, "--set", "search.max_batch=1") == 0
    assert capsys.readouterr().out.count("skip") == 1


def test_progress_line_counts_prompts_and_time_left(sprites_weights, tmp_path, capsys):
    prompts = tmp_path / "p.txt"
    prompts.write_text(PROMPTS[0] + "\n")
    assert _generate(prompts, tmp_path / "out", sprites_weights) == 0
    out = capsys.readouterr().out
    assert "[1/1]" in out and "left" in out


def test_help_shows_defaults(capsys):
    for command in (["generate", "--help"], ["bench", "--help"], ["evaluate", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
    text = " ".join(capsys.readouterr().out.split())
    assert "default 32, the held-out ones;" in text and "default 0,1;" in text  # evaluate --num-prompts and --seeds (--merge: the folders')
    assert "default 48" in text and "default none,stream-t1" in text and "(default: None)" not in text
    assert "(default: [])" not in text  # repeatable flags (--set, --switch-at) start empty


def test_third_party_loggers_are_quiet_unless_verbose(capsys):
    main(["methods"])
    assert logging.getLogger("transformers").level == logging.ERROR
    main(["-v", "methods"])
    assert logging.getLogger("transformers").level == logging.DEBUG
    main(["methods"])


def test_ctrl_c_exits_130_with_one_line_and_keeps_finished_videos(sprites_weights, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("\n".join(f"a small red circle moves {d} over a blue background" for d in
                                 ("left", "right", "up", "down")) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "streamt1", "generate", "--prompts-file", str(prompts), "--out", str(out),
               "--weights", str(sprites_weights), "--method", "none", "--num-frames", "12", "--device", "cpu",
               "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    # A suite started in the background (`pytest &`) has SIGINT ignored, and a child would inherit that.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("wrote"):
            process.send_signal(signal.SIGINT)
            break
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.strip().splitlines() == ["streamt1: interrupted; every video finished before the stop is kept - "
                                        "rerun the same command to resume"]
    finished = list(out.glob(f"*{RESULT_SUFFIX}"))
    assert 1 <= len(finished) < 4 and not list(out.glob(".*tmp*"))
    assert set(json.loads((out / PROMPT_FILE).read_text())) == {p.name.replace(RESULT_SUFFIX, ".mp4")
                                                                 for p in finished}


def test_generate_bench_and_evaluate_never_write_into_each_others_folders(sprites_weights, tmp_path, capsys):
    from streamt1.cli import main as cli_main

    evaluated = tmp_path / "runs" / "e"
    assert cli_main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "6",
                     "--device", "cpu", "--weights", str(sprites_weights), "--out", str(evaluated)]) == 0
    capsys.readouterr()
    bench = ["bench", "--suite", "sprites", "--limit", "1", "--num-frames", "3", "--methods", "none", "--device", "cpu",
             "--weights", str(sprites_weights)]
    # bench names its videos as evaluate does: into evaluate's folder it would replace them unnoticed
    assert cli_main([*bench, "--out", str(evaluated)]) == 2
    err = capsys.readouterr().err
    assert f"{evaluated} holds the videos of `streamt1 evaluate`; `streamt1 bench` names its files alike" in err
    generate = ["generate", "--prompt", "a small red circle moves left over a blue background", "--num-frames", "3",
                "--method", "none", "--device", "cpu", "--weights", str(sprites_weights)]
    # nor into one of its method folders, also through a link to it
    assert cli_main([*generate, "--out", str(evaluated / "none")]) == 2
    assert f"{evaluated / 'none'} holds the videos of `streamt1 evaluate`" in capsys.readouterr().err
    (tmp_path / "link").symlink_to(evaluated / "none")
    assert cli_main([*generate, "--out", str(tmp_path / "link")]) == 2
    capsys.readouterr()
    # a folder beside or around another command's folders collides with none of their files
    assert cli_main([*generate, "--out", str(tmp_path / "runs")]) == 0
    assert cli_main([*generate, "--out", str(evaluated / "mine")]) == 0
    # and evaluate refuses a folder that holds another command's videos
    assert cli_main([*bench, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert cli_main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "6",
                     "--no-videos", "--device", "cpu", "--weights", str(sprites_weights), "--out", str(tmp_path / "b")]) == 2
    assert f"{tmp_path / 'b'} holds the videos of `streamt1 bench`" in capsys.readouterr().err
    assert cli_main([*bench, "--out", str(tmp_path / "b")]) == 0  # its own command resumes as before


def test_a_missing_pyav_is_named_before_any_video_is_made(sprites_weights, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av fails, as where PyAV is not installed
    prompts = tmp_path / "p.txt"
    prompts.write_text("a small red circle moves left over a blue background\n")
    assert _generate(prompts, tmp_path / "out", sprites_weights) == 2
    err = capsys.readouterr().err
    assert "needs PyAV: `pip install av`" in err and "Traceback" not in err
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]  # nothing made, nothing claimed
    evaluate = ["evaluate", "--methods", "none", "--num-prompts", "1", "--num-frames", "3", "--seeds", "0",
                "--weights", str(sprites_weights), "--device", "cpu"]
    assert main(evaluate + ["--out", str(tmp_path / "eval")]) == 2
    assert "or pass --no-videos" in capsys.readouterr().err
    assert main(evaluate + ["--out", str(tmp_path / "scores"), "--no-videos"]) == 0  # scores only: no PyAV needed
