"""The command line end to end on CPU, with the tiny Sprites weights folder (``sprites_weights``)."""

import json
import os
import shlex
import signal
from pathlib import Path

import pytest
import torch

from streamt1 import api
from streamt1.cli import SPRITES_SCRIPTS, build_parser, main
from streamt1.config import build_config
from streamt1.search.trace import Trace, chosen_path
from streamt1.sprites.model import SPRITES_STREAM
from streamt1.outputs.video import mp4_info

PROMPT = "a small red circle moves left over a blue background"


def generate(weights, out, *extra):
    return main(["generate", "--weights", str(weights), "--out", str(out), "--num-frames", "12",
                 "--no-progress", *extra])


@pytest.mark.parametrize("method", ["stream-t1", "none", "best-of-n", "beam", "stream-t1-no-noise",
                                    "stream-t1-no-pruning", "stream-t1-no-sinking"])
def test_every_method_writes_video_trace_and_plots(sprites_weights, tmp_path, method, capsys):
    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", method, "--seed", "1") == 0
    stem = tmp_path / f"{PROMPT}-1"  # VBench naming: the prompt is a safe file name
    info = mp4_info(f"{stem}.mp4")
    assert info.num_frames == 12 and info.fps == 16 and info.width == 256
    trace = Trace.load(f"{stem}.trace.json")
    assert trace.method == method and len(trace.chunks) == 4
    assert len(chosen_path(trace)) == 4
    for plot in ("tree", "rewards"):
        assert (tmp_path / f"{stem.name}.{plot}.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads((tmp_path / f"{stem.name}.result.json").read_text())  # the chosen video's score
    assert record["video_reward"] == trace.final.scores[trace.final.chosen]
    assert record["video_reward_parts"] == {k: v[trace.final.chosen] for k, v in trace.final.parts.items()}
    assert (record["video_reward"] is None) == (method == "none")  # plain generation scores nothing
    assert "wrote" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp*"))


def test_same_seed_same_video_and_resume_skips_finished_prompts(sprites_weights, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"# two prompts\n{PROMPT}\n\na large green square moves up over a red background\n")
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert generate(sprites_weights, out_a, "--prompts-file", str(prompts)) == 0
    assert generate(sprites_weights, out_b, "--prompts-file", str(prompts)) == 0
    videos = sorted(p.name for p in out_a.glob("*.mp4"))
    assert len(videos) == 2
    for name in videos:
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes()
    trace_a = json.loads(next(out_a.glob("*.trace.json")).read_text())
    trace_b = json.loads((out_b / next(out_a.glob("*.trace.json")).name).read_text())
    assert trace_a["chunks"] == trace_b["chunks"]
    capsys.readouterr()
    assert generate(sprites_weights, out_a, "--prompts-file", str(prompts)) == 0
    assert capsys.readouterr().out.count("skip") == 2
    (out_a / videos[0]).write_bytes(b"")  # emptied (a full disk, a stray `>`): its record no longer vouches for it
    assert generate(sprites_weights, out_a, "--prompts-file", str(prompts)) == 0
    assert capsys.readouterr().out.count("skip") == 1
    assert (out_a / videos[0]).read_bytes() == (out_b / videos[0]).read_bytes()


def test_a_runs_own_prompt_file_json_is_a_prompts_file(sprites_weights, tmp_path, capsys):
    # prompt_file.json (VBench's {video: prompt} map that generate writes) reads back as its prompts:
    # the same run again skips them, instead of generating the JSON's lines as prompts
    out = tmp_path / "out"
    assert generate(sprites_weights, out, "--prompt", PROMPT) == 0
    listed = out / "prompt_file.json"
    assert json.loads(listed.read_text()) == {f"{PROMPT}-0.mp4": PROMPT}
    capsys.readouterr()
    assert generate(sprites_weights, out, "--prompts-file", str(listed)) == 0
    assert capsys.readouterr().out.count("skip") == 1 and len(list(out.glob("*.mp4"))) == 1


def test_a_repeated_prompt_is_warned_about(sprites_weights, tmp_path, caplog):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"{PROMPT}\n{PROMPT}\n")
    with caplog.at_level("WARNING", logger="streamt1"):
        assert generate(sprites_weights, tmp_path / "out", "--prompts-file", str(prompts), "--method", "none") == 0
    assert "1 prompt repeats an earlier one and made once" in caplog.text and "another --seed" in caplog.text
    assert len(list((tmp_path / "out").glob("*.mp4"))) == 1
    caplog.clear()
    listed = tmp_path / "prompts.json"  # a JSON list is read as the lines of a .txt: the same warning
    listed.write_text(json.dumps([PROMPT, PROMPT]))
    with caplog.at_level("WARNING", logger="streamt1"):
        assert generate(sprites_weights, tmp_path / "out", "--prompts-file", str(listed), "--method", "none") == 0
    assert "1 prompt repeats an earlier one" in caplog.text
    caplog.clear()
    prompts.write_text(f"{PROMPT}\na large green square moves up over a red background\n")
    with caplog.at_level("WARNING", logger="streamt1"):
        assert generate(sprites_weights, tmp_path / "out2", "--prompts-file", str(prompts), "--method", "none") == 0
    assert "repeat" not in caplog.text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--prompt", PROMPT, "--set", "search.histories=0"], "search.histories=0"),
        (["--prompt", PROMPT, "--set", "search.expansions=0"], "search.expansions=0"),
        (["--prompt", PROMPT, "--set", "search.noise_fusion_sigma=-1.5"], "noise_fusion_sigma=-1.5"),
        (["--prompt", PROMPT, "--set", "search.tau=1.2"], "search.tau=1.2"),
        (["--prompt", PROMPT, "--set", "search.long_window_chunks=0"], "long_window_chunks=0"),
        (["--prompt", PROMPT, "--set", "search.colour=red"], "unknown config key"),
        (["--prompt", PROMPT, "--method", "greedy"], "unknown method 'greedy'"),
        (["--prompt", PROMPT, "--method", "stream_t1"], "unknown method 'stream_t1' (did you mean stream-t1?)"),
        (["--prompt", PROMPT, "--set", "search.histores=4"], "(did you mean search.histories?)"),
        (["--prompt", "a red circel moves left"], "cannot express ['circel'] in 'a red circel moves left' (did you mean circle?)"),
        (["--prompt", PROMPT, "--num-frames", "10"], "num_frames=10 must be a positive multiple"),
        (["--prompt", "   "], "prompt is empty"),
        (["--prompt", "a purple elephant dances"], "elephant"),
        (["--prompt", PROMPT, "--set", "run.denoising_steps=[1000,833"],
         "--set run.denoising_steps='[1000,833' is not valid YAML: line 1, column 10: expected ',' or ']'"),
        (["--prompt", PROMPT, "--set", "search.histories="], "search.histories is empty: expected an integer"),
        (["--prompt", PROMPT, "--method", ""], "method is empty: expected one of none, best-of-n, beam, stream-t1"),
        (["--prompt", PROMPT, "--seed", "3", "--set", "run.seed=5"],
         "--set run.seed=5 disagrees with run.seed=3, which the command line sets"),
        (["--prompt", PROMPT, "--num-frames", "0"], "a positive multiple of the backend's chunk length"),
        (["--prompt", PROMPT, "--method", "beam", "--set", "search.early_keep=3"],
         "search.early_keep=3 is invalid: expected null while early pruning is off (it would have no effect)"),
        (["--prompt", PROMPT, "--method", "stream-t1-early", "--set", "search.early_keep=100"],
         "search.early_keep=100 is invalid: expected null or an integer from search.histories=2 to fewer than the 8 "
         "candidates"),
        (["--prompt", PROMPT, "--method", "stream-t1-early", "--set", "search.expansions=2"],
         "search.early_keep=4 is invalid: expected null or an integer from search.histories=2 to fewer than the 4 "
         "candidates of a chunk (keeping them all"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(sprites_weights, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = main(["generate", "--weights", str(sprites_weights), "--out", str(out), "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("streamt1: error:") and len(err.strip().splitlines()) == 1, err
    assert not out.exists() or not any(out.iterdir())


def test_every_prompt_a_file_cannot_use_is_named_with_its_line(sprites_weights, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"{PROMPT}\n# a comment\na dog runs\na cat sleeps\n")
    assert generate(sprites_weights, tmp_path / "out", "--prompts-file", str(prompts)) == 2
    err = capsys.readouterr().err
    assert "2 prompts cannot be encoded ('a dog runs', 'a cat sleeps')" in err, err
    assert "cannot express ['dog', 'runs']" in err and err.rstrip().endswith(f"({prompts}: lines 3, 4)")
    assert len(err.strip().splitlines()) == 1


def test_empty_prompts_file_and_missing_weights(tmp_path, capsys, caplog):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n")
    assert main(["generate", "--prompts-file", str(empty)]) == 2
    assert "holds no prompt" in capsys.readouterr().err
    with caplog.at_level("WARNING", logger="streamt1"):
        assert main(["generate", "--prompt", PROMPT, "--weights", str(tmp_path / "nowhere")]) == 2
    assert not caplog.records  # no folder: the error alone, no word of taking the built-in rewards instead
    err = capsys.readouterr().err
    assert f"no folder at {tmp_path / 'nowhere'}" in err and "sprites_model.safetensors" in err
    assert "`streamt1 sprites train --out " in err
    assert "leave --weights out to use the built-in weights" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "empty-folder").mkdir()
    assert main(["generate", "--prompt", PROMPT, "--weights", str(tmp_path / "empty-folder")]) == 2
    err = capsys.readouterr().err
    assert "sprites_model.safetensors not found" in err and "`streamt1 sprites train --out " in err
    rewards = tmp_path / "rewards-only"  # what `sprites rank-rewards` writes
    rewards.mkdir()
    for name in ("image_reward.safetensors", "image_reward.json"):
        (rewards / name).write_bytes(b"")
    assert main(["generate", "--prompt", PROMPT, "--weights", str(rewards)]) == 2
    assert f"it holds rewards only: give them with --image-reward sprites-image={rewards}" in capsys.readouterr().err


def test_corrupt_weights_are_reported(sprites_weights, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in sprites_weights.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "sprites_model.safetensors").write_bytes(b"\x00" * 64)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken)]) == 2
    assert "corrupt" in capsys.readouterr().err


def _copy_weights(sprites_weights, folder):
    folder.mkdir()
    for f in sprites_weights.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


@pytest.mark.parametrize("damage, names", [
    ({"track_reward.safetensors": b"garbage" * 100}, ["track_reward.safetensors",
                                                     "`streamt1 sprites train-track-reward"]),
    ({"sprites_model.json": b"{bad"}, ["sprites_model.json", "`streamt1 sprites train "]),
    ({"track_reward.json": b"{}"}, ["track_reward.json", "`streamt1 sprites train-track-reward"]),
])
def test_a_corrupt_weights_file_is_named_with_the_command_that_remakes_it(sprites_weights, tmp_path, capsys,
                                                                          damage, names):
    broken = _copy_weights(sprites_weights, tmp_path / "broken")
    for name, data in damage.items():
        (broken / name).write_bytes(data)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken), "--num-frames", "3",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert all(name in err for name in names) and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def _damage_in_place(weights, random_bytes: bool) -> None:
    """Same size, header and keys; the data near the end overwritten with random bytes (NaN and inf among the
    numbers), or with its lowest bits flipped (finite numbers, a little off: loads as if nothing happened)."""
    data = bytearray(weights.read_bytes())
    if random_bytes:
        noise = torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
        data[-4096 - 64:-64] = bytes(noise.tolist())
    else:
        for i in range(len(data) - 4096, len(data) - 64, 2):  # the low byte of float16 and float32 numbers
            data[i] ^= 1
    weights.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["sprites_model.safetensors", "track_reward.safetensors"])
def test_weights_damaged_in_place_fail_their_cards_checksum(sprites_weights, tmp_path, capsys, name):
    broken = _copy_weights(sprites_weights, tmp_path / "broken")
    _damage_in_place(broken / name, random_bytes=False)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken), "--num-frames", "3",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert name in err and "does not match the checksum" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["sprites_model.safetensors", "track_reward.safetensors"])
def test_damaged_weights_whose_card_has_no_checksum_are_refused_not_drawn_black(sprites_weights, tmp_path, capsys,
                                                                                 name):
    # cards written before the checksum: NaN and inf in the data still stop the run
    broken = _copy_weights(sprites_weights, tmp_path / "broken")
    card = broken / name.replace(".safetensors", ".json")
    fields = json.loads(card.read_text())
    del fields["weights_sha256"]
    card.write_text(json.dumps(fields))
    _damage_in_place(broken / name, random_bytes=True)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken), "--num-frames", "3",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert name in err and "hold NaN" in err and "damaged" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_weights_of_another_network_list_the_keys_in_one_line(sprites_weights, tmp_path, capsys):
    broken = _copy_weights(sprites_weights, tmp_path / "broken")
    (broken / "sprites_model.safetensors").write_bytes((broken / "image_reward.safetensors").read_bytes())
    card = broken / "sprites_model.json"  # a card without the checksum, which would stop the run first
    card.write_text(json.dumps({k: v for k, v in json.loads(card.read_text()).items() if k != "weights_sha256"}))
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken), "--num-frames", "3",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "sprites_model.safetensors" in err and "does not fit SpritesVideoModel" in err and "missing" in err
    assert len(err.splitlines()) == 1, err


def test_version_names_the_package_and_torch(capsys):
    import streamt1

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"streamt1 {streamt1.__version__} (torch {torch.__version__})"


@pytest.mark.parametrize("what", ["train", "train-rewards", "record-siblings", "rank-rewards"])
def test_sprites_script_help_names_the_command_that_runs_it(capsys, what):
    with pytest.raises(SystemExit):
        main(["sprites", what, "--help"])
    assert capsys.readouterr().out.startswith(f"usage: streamt1 sprites {what} [-h]")


def test_an_out_that_is_a_file_stops_before_any_video(sprites_weights, tmp_path, capsys):
    (tmp_path / "out").write_text("not a folder")
    assert main(["generate", "--prompt", PROMPT, "--weights", str(sprites_weights), "--num-frames", "3",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "wrote" not in captured.out
    err = captured.err.strip()
    assert "is a file, not a folder" in err and "--out" in err and len(err.splitlines()) == 1, err


def test_methods_lists_every_preset(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("none", "best-of-n", "beam", "stream-t1", "stream-t1-no-noise", "stream-t1-no-pruning",
                 "stream-t1-no-sinking"):
        assert name in out


def test_evaluate_tabulates_every_method_and_resumes(sprites_weights, tmp_path, capsys):
    args = ["evaluate", "--methods", "none,stream-t1", "--num-prompts", "2", "--num-frames", "9",
            "--seeds", "0", "--weights", str(sprites_weights), "--out", str(tmp_path)]
    assert main(args) == 0
    printed = capsys.readouterr().out  # a line per video: its place, time per video and time left
    assert "[1/4] none " in printed and "[4/4] stream-t1 " in printed and printed.count("s/video, ~") == 4
    assert "rendering and scoring the world's own video of 2 prompts" in printed  # the phase before [1/4] says so
    table = (tmp_path / "table.md").read_text()
    assert "| none |" in table and "| stream-t1 |" in table and "subject consistency" in table
    assert "Paired difference vs `none`" in table and table.count("| stream-t1 |") == 2
    results = json.loads((tmp_path / "results.json").read_text())
    videos = results["videos"]
    assert {len(v) for v in videos.values()} == {2} and table.index("| world |") < table.index("| none |")
    assert set(results["fingerprints"]) == {"world", "none", "stream-t1"}
    for stem, truth in videos["world"].items():  # the rendered scene beats an untrained model's video
        assert truth["text_alignment"] > videos["none"][stem]["text_alignment"]
    for scores in videos["stream-t1"].values():
        assert 0.0 <= scores["subject_consistency"] <= 1.0 and "reward_overall" in scores
    assert len(list((tmp_path / "stream-t1").glob("*.mp4"))) == 2
    capsys.readouterr()
    assert main(args) == 0  # everything is done: nothing is regenerated, and the rerun says so
    before_table = capsys.readouterr().out.split("| Method")[0]
    assert before_table.count("2 of 2 videos done earlier, kept") == 2 and "-0\n" not in before_table
    assert "rendering" not in before_table  # the world row is kept too
    assert "also holds" not in (tmp_path / "table.md").read_text()
    assert main(args[:2] + ["none"] + args[3:]) == 0  # fewer methods: the table says what else the folder holds
    table = (tmp_path / "table.md").read_text()
    assert "| stream-t1 |" not in table and "results.json also holds `stream-t1`; add them to --methods" in table
    assert main(args[:2] + ["none,greedy"] + args[3:]) == 2
    # Other settings into the same folder stop before any work, naming what changed.
    before = (tmp_path / "results.json").read_text()
    capsys.readouterr()
    assert main(args + ["--set", "run.guidance_scale=2.5"]) == 2
    err = capsys.readouterr().err
    assert "`none` videos made with other settings" in err and "config.run.guidance_scale" in err
    assert "pass another --out, or --overwrite to make them again" in err
    assert (tmp_path / "results.json").read_text() == before
    # another scoring reward: plain generation's and the world's reward columns would mix two rewards
    assert main(args[:2] + ["none"] + args[3:] + ["--video-reward", f"sprites-video={sprites_weights}"]) == 2
    err = capsys.readouterr().err
    assert "`none` videos made with other settings" in err and "scored_with" in err
    assert (tmp_path / "results.json").read_text() == before
    # a shared search width changes the searches, not the plain baseline it defines
    assert main(args + ["--set", "search.histories=4"]) == 2
    err = capsys.readouterr().err
    assert "holds `stream-t1` videos made with other settings" in err and "config.search.histories" in err
    # --overwrite makes the asked method again under the new settings and keeps the others
    kept = json.loads(before)["videos"]["stream-t1"]
    (tmp_path / "none" / "stale.mp4").write_bytes(b"from an earlier run")
    capsys.readouterr()
    assert main(args[:2] + ["none"] + args[3:] + ["--set", "run.guidance_scale=2.5", "--overwrite"]) == 0
    assert "done earlier, kept" not in capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["none"]["config"]["run"]["guidance_scale"] == 2.5
    assert results["videos"]["stream-t1"] == kept and set(results["videos"]["none"]) == set(kept)
    assert sorted(p.name for p in (tmp_path / "none").glob("*.mp4")) == sorted(p.name for p in (tmp_path / "stream-t1").glob("*.mp4"))
    assert main(["evaluate", "--merge", str(tmp_path), "--overwrite", "--out", str(tmp_path / "m")]) == 2



def test_evaluate_counts_the_videos_still_to_make(sprites_weights, tmp_path, capsys):
    args = ["evaluate", "--methods", "none,stream-t1", "--num-frames", "9", "--seeds", "0", "--no-videos",
            "--weights", str(sprites_weights), "--out", str(tmp_path)]
    assert main(args + ["--num-prompts", "1"]) == 0
    capsys.readouterr()
    assert main(args + ["--num-prompts", "2"]) == 0  # one prompt more: 2 videos to make, 2 kept
    printed = capsys.readouterr().out
    assert "[1/2] none " in printed and "[2/2] stream-t1 " in printed and "/4]" not in printed


def test_evaluate_no_videos_keeps_search_traces_on_request(sprites_weights, tmp_path, capsys):
    args = ["evaluate", "--methods", "stream-t1", "--num-prompts", "2", "--num-frames", "9", "--seeds", "0",
            "--no-videos", "--weights", str(sprites_weights)]
    assert main(args + ["--out", str(tmp_path / "scores")]) == 0
    assert not list((tmp_path / "scores").rglob("*.trace.json"))  # --no-videos alone: scores only
    assert main(args + ["--traces", "--out", str(tmp_path / "traced")]) == 0
    results = json.loads((tmp_path / "traced" / "results.json").read_text())
    traces = {p.name.removesuffix(".trace.json"): Trace.load(p) for p in (tmp_path / "traced" / "stream-t1").glob("*.trace.json")}
    assert set(traces) == set(results["videos"]["stream-t1"]) and not list((tmp_path / "traced").rglob("*.mp4"))
    for trace in traces.values():  # the search that made the scored video: 3 chunks of 3 frames, 4 candidates each
        assert trace.method == "stream-t1" and len(trace.chunks) == 3
        assert all(len(chunk.candidates) == 4 for chunk in trace.chunks)
    # the same videos as the run without traces
    assert results["videos"] == json.loads((tmp_path / "scores" / "results.json").read_text())["videos"]
    # resuming an untraced folder with --traces regenerates nothing, and says which videos lack a trace
    capsys.readouterr()
    assert main(args + ["--traces", "--out", str(tmp_path / "scores")]) == 0
    assert "2 of 2 videos done earlier, kept (2 of them without a trace" in capsys.readouterr().out


def test_evaluate_takes_its_length_from_a_set_when_no_flag_gives_one(sprites_weights, tmp_path, capsys):
    args = ["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--no-videos",
            "--weights", str(sprites_weights), "--set", "run.num_frames=6"]
    assert main(args + ["--out", str(tmp_path / "set")]) == 0
    assert "videos of 0.4 s (6 latent frames)" in (tmp_path / "set" / "table.md").read_text()
    # with a flag that says otherwise, the disagreement is still refused
    assert main(args + ["--num-frames", "9", "--out", str(tmp_path / "both")]) == 2
    assert "--set run.num_frames=6 disagrees with run.num_frames=9" in capsys.readouterr().err
    # a length of 0 is refused by the name it was given under, not replaced by the default 81
    assert main(args[:-2] + ["--num-frames", "0", "--out", str(tmp_path / "zero")]) == 2
    assert "--num-frames=0 is invalid: expected an integer >= 1" in capsys.readouterr().err
    assert main(args[:-1] + ["run.num_frames=0", "--out", str(tmp_path / "zero")]) == 2
    assert "run.num_frames=0 is invalid: expected an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "zero" / "results.json").exists()


def test_evaluate_refuses_results_without_fingerprints(sprites_weights, tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps({"none": {"a-0": {"text_alignment": 0.5}}}))
    args = ["evaluate", "--methods", "none", "--num-prompts", "1", "--num-frames", "9",
            "--weights", str(sprites_weights), "--out", str(tmp_path)]
    assert main(args) == 2
    assert "older `streamt1 evaluate`" in capsys.readouterr().err
    (tmp_path / "results.json").write_text('{"format": 2, "videos": {')  # cut short
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"streamt1: error: {tmp_path / 'results.json'} is not valid JSON (")
    assert "pass another --out" in err and len(err.splitlines()) == 1
    # valid JSON of another shape: one line naming what is wrong, not a traceback
    for damaged, says in (([], "a JSON list, not an object"), ({"format": 2}, "no 'settings' object"),
                          ({"format": 2, "settings": {}, "fingerprints": {}, "videos": {"none": {}}},
                           "videos of 'none' without its settings"),
                          ({"format": 2, "settings": {"none": {}}, "fingerprints": {},
                            "videos": {"none": {"a-0": {"text_alignment": "high"}}}},
                           "the scores of 'none' are not numbers by video")):
        (tmp_path / "results.json").write_text(json.dumps(damaged))
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert f"is not a results file of this `streamt1 evaluate` ({says})" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("methods", [",", " , ", ""])
def test_evaluate_methods_that_name_no_method_are_refused(sprites_weights, tmp_path, capsys, methods):
    out = tmp_path / "out"
    args = ["evaluate", "--methods", methods, "--num-prompts", "1", "--num-frames", "3", "--seeds", "0",
            "--weights", str(sprites_weights), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert f"--methods {methods!r} names no method" in err and "streamt1 methods" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_wan_backend_names_every_missing_release_file(tmp_path, capsys):
    code = main(["generate", "--backend", "longlive", "--weights", str(tmp_path), "--method", "none",
                 "--prompt", "a fox in the snow", "--device", "cpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    for name in ("longlive_base.pt", "Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth"):
        assert name in err
    assert not (tmp_path / "out").exists()


def _generator_forwards(weights, method: str, count_passes) -> int:
    """Candidate-chunks passed through the transformer (denoising steps and clean commit passes)."""
    config = build_config(method, None, [], num_frames=12, weights=str(weights), device="cpu")
    components = api.load_components(config)
    count = count_passes(components.generator.model)
    api.make_search(config, components).run(PROMPT, 12, 0, progress=False)
    return count[0]


def test_best_of_n_is_compute_matched_with_stream_t1(sprites_weights, count_passes):
    stream_t1, best_of_n = (_generator_forwards(sprites_weights, m, count_passes) for m in ("stream-t1", "best-of-n"))
    # per chunk: K*M = 4 candidates x 8 steps + K = 2 commits; the first chunk's steps are split in k
    assert stream_t1 == 4 * (4 * 8 + 2) + 4 * 8 * (SPRITES_STREAM.first_chunk_substeps - 1)
    assert abs(best_of_n - stream_t1) / stream_t1 <= 0.06  # N = 4 full videos: 4 x (8 + 1) per chunk


def test_a_search_far_wider_than_the_papers_is_told_its_cost_once(sprites_weights, caplog):
    api._warn_if_wide.cache_clear()  # once per process and width: earlier tests may have met these widths
    components = api.load_components(build_config("stream-t1", None, [], weights=str(sprites_weights), device="cpu"))
    for overrides, told in ((["search.expansions=2"], None), (["search.expansions=40"], "each chunk costs about 80x"),
                            (["search.expansions=40"], None),  # the same width again: said once
                            (["search.first_chunk_candidates=100"], "the first chunk costs about 100x")):
        config = build_config("stream-t1", None, overrides, weights=str(sprites_weights), device="cpu")
        caplog.clear()
        api.make_search(config, components)
        assert (told in caplog.text) if told else "candidates per chunk" not in caplog.text, (overrides, caplog.text)


def test_sibling_agreement_scores_every_pruned_chunk(sprites_weights):
    from streamt1.agreement import sibling_agreement

    config = build_config("stream-t1", None, [], num_frames=9, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    search = api.make_search(config, components)
    result, judged = sibling_agreement(search, [PROMPT], [0], 9, min_gap=-1.0)
    # 3 chunks of K*M = 4 candidates: 6 pairs each, all counted with min_gap < 0
    assert result.chunks == 3 and result.pairs == 18 and 0.0 <= result.agreement <= 1.0
    assert all(0.0 <= value <= 1.0 for value in (result.image, result.video)) and judged == {}
    # the first chunk grows 4 candidates from one history (6 pairs of siblings), the next two
    # from K = 2 histories (2 pairs of one history's siblings, 4 across the histories each)
    assert result.same_parent_pairs == 6 + 2 + 2
    same_agree = result.same_parent * 10
    assert result.agreement * 18 == pytest.approx(same_agree + result.cross_parent * 8)


def test_judges_score_the_searchs_own_candidates(sprites_weights):
    from streamt1.agreement import sibling_agreement
    from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward

    config = build_config("stream-t1", None, [], num_frames=9, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    search = api.make_search(config, components)
    torch.manual_seed(0)
    other = (SpritesImageReward(RewardNetConfig(kind="image", channels=4, match_dim=8)).eval(),
             SpritesVideoReward(RewardNetConfig(kind="video", channels=4, match_dim=8, num_frames=4)).eval())
    alone, _ = sibling_agreement(search, [PROMPT], [0], 9, min_gap=-1.0)
    result, judged = sibling_agreement(search, [PROMPT], [0], 9, min_gap=-1.0,
                                       judges={"same": (search.image_reward, search.video_reward), "other": other})
    assert result == alone  # judging leaves the search and its own scores alone
    assert judged["same"].agreement == result and judged["same"].difference == (0.0, 0.0, 0.0)
    other_result = judged["other"].agreement
    assert other_result.pairs == result.pairs and other_result.chunks == result.chunks  # the same candidates
    diff, low, high = judged["other"].difference
    assert diff == pytest.approx(other_result.agreement - result.agreement) and low <= diff <= high


def test_paired_difference_counts_pairs_and_resamples_chunks():
    from streamt1.agreement import paired_difference

    truth = [0.0, 0.5, 1.0]
    right, wrong = ([0.0, 1.0, 2.0], truth), ([2.0, 1.0, 0.0], truth)
    groups = [{"a": right, "b": wrong}, {"a": right, "b": right}]
    # a orders all 6 pairs (3 per chunk) like the truth, b only the second chunk's 3: +0.5; resampled chunks
    # give +1 (the first chunk twice) .. 0 (the second twice)
    diff, low, high = paired_difference(groups, "a", "b", min_gap=0.0, resamples=400)
    assert diff == 0.5 and low == 0.0 and high == 1.0


def test_sibling_truth_on_a_fixed_window_leaves_the_search_alone(sprites_weights):
    from streamt1.agreement import RecordingSearch

    config = build_config("stream-t1", None, [], num_frames=9, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    search = api.make_search(config, components)

    def groups(truth_window_chunks):
        recorder = RecordingSearch(search.generator, search.config, search.image_reward, search.video_reward,
                                   method=search.method, truth_window_chunks=truth_window_chunks)
        recorder.run(PROMPT, 9, 0, progress=False)
        return recorder.groups

    reward_window, same_window, own_chunk = groups(None), groups(10), groups(1)
    assert same_window == reward_window  # 10 chunks = the reward's window (search.long_window_chunks)
    for full, own in zip(reward_window, own_chunk):
        assert own["fused"][0] == full["fused"][0]  # same search, same rewards
    assert own_chunk[0]["fused"][1] == reward_window[0]["fused"][1]  # chunk 0: its window is itself
    assert own_chunk[2]["fused"][1] != reward_window[2]["fused"][1]  # later: the chunk alone is judged


def test_sibling_truth_window_does_not_reach_back_across_a_prompt_switch(sprites_weights):
    from streamt1.agreement import RecordingSearch
    from streamt1.schedule import from_switches

    config = build_config("stream-t1", None, [], num_frames=9, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    search = api.make_search(config, components)
    chunk_frames = search.generator.spec.latent_frames
    schedule = from_switches([PROMPT, "a large green square moves up over a white background"], [chunk_frames])

    def groups(truth_window_chunks):
        recorder = RecordingSearch(search.generator, search.config, search.image_reward, search.video_reward,
                                   method=search.method, truth_window_chunks=truth_window_chunks)
        recorder.run(schedule, 9, 0, progress=False)
        return recorder.groups

    # 10 chunks = the reward's window, which the search cuts at the switch (chunk 1): so is the truth's
    assert groups(10) == groups(None)
    with pytest.raises(ValueError, match="truth_window_chunks=0"):
        RecordingSearch(search.generator, search.config, search.image_reward, search.video_reward,
                        truth_window_chunks=0)


@pytest.mark.parametrize("command", [
    ["generate", "--prompt", PROMPT, "--weights", "{nowhere}"],
    ["evaluate", "--weights", "{nowhere}"],
    ["bench", "--suite", "sprites", "--weights", "{nowhere}"],
    ["score", "{videos}", "--weights", "{nowhere}"],
    ["sprites", "train", "--init", "{nowhere}"],
    ["sprites", "train-rewards", "--init", "{nowhere}"],
    ["sprites", "record-siblings", "--weights", "{nowhere}"],
    ["sprites", "rank-rewards", "--record", "{nowhere}"],
])
def test_an_out_that_cannot_be_created_stops_every_command_before_any_work(tmp_path, capsys, command):
    # {nowhere} fails each command as soon as it loads or reads anything: the --out error must come first
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "clip.mp4").write_bytes(b"")  # a video to score (never read: --out fails first)
    paths = {"{nowhere}": str(tmp_path / "nowhere"), "{videos}": str(tmp_path / "videos")}
    argv = [paths.get(arg, arg) for arg in command] + ["--out", str(blocker / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"streamt1: error: output folder {blocker / 'out'} cannot be created: {blocker} is a file, "
                   "not a folder; pass another --out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_out_in_a_read_only_folder_stops_before_the_models_load(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(tmp_path / "nowhere"), "--out",
                 str(locked / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"output folder {locked / 'out'} cannot be created: {locked} is not writable" in err
    assert len(err.splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("flag", ["--device", "--reward-device"])
def test_a_cuda_flag_without_cuda_suggests_the_flag_not_the_setting(tmp_path, capsys, flag):
    assert main(["generate", "--prompt", PROMPT, flag, "cuda", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (f"streamt1: error: {flag} cuda but no CUDA device is available: "
                                               f"use {flag} cpu")


@pytest.mark.parametrize("what", ["train", "train-codec", "train-rewards", "record-siblings", "rank-rewards"])
def test_sprites_scripts_take_devices_as_the_other_commands_do(tmp_path, capsys, what):
    """--device auto is their default too, and a device that is not one is refused before any work."""
    with pytest.raises(SystemExit):
        main(["sprites", what, "--help"])
    assert "(default auto:" in " ".join(capsys.readouterr().out.split())
    given = ["--record", str(tmp_path)] if what == "rank-rewards" else []
    assert main(["sprites", what, "--out", str(tmp_path / "out"), "--device", "gpu", *given]) == 2
    assert capsys.readouterr().err.strip() == ("streamt1: error: --device gpu is not a device torch knows: "
                                               "use auto, cpu, cuda or cuda:N")


def test_weights_that_name_a_file_ask_for_its_folder(sprites_weights, tmp_path, capsys):
    model = sprites_weights / "sprites_model.safetensors"
    assert main(["generate", "--prompt", PROMPT, "--weights", str(model), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("streamt1: error: --weights expects a folder holding sprites_model.safetensors")
    assert f"pass its folder, --weights {sprites_weights}" in err and "safetensors/" not in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_weights_without_reward_files_use_the_built_in_rewards_and_say_so(sprites_weights, tmp_path, capsys, caplog):
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    model_only = tmp_path / "model-only"
    model_only.mkdir()
    for name in ("sprites_model.safetensors", "sprites_model.json"):  # what `streamt1 sprites train --out` writes
        (model_only / name).write_bytes((sprites_weights / name).read_bytes())
    assert main(["generate", "--prompt", PROMPT, "--weights", str(model_only), "--num-frames", "3",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    said = [r.getMessage() for r in caplog.records if "built-in" in r.getMessage()]
    assert said == [f"--weights {model_only} holds no sprites-track-image and sprites-track-video reward files: "
                    f"using the built-in ones from {DEFAULT_WEIGHTS_DIR}"]
    trace = Trace.load(next((tmp_path / "out").glob("*.trace.json")))
    assert trace.config["rewards"]["loaded"] == {"image": "streamt1.sprites.track_reward.SpritesTrackImageReward",
                                               "video": "streamt1.sprites.track_reward.SpritesTrackVideoReward"}
    # some of a reward's files is a mistake, not a reason to take the built-in ones
    (model_only / "track_reward.json").write_bytes((sprites_weights / "track_reward.json").read_bytes())
    assert main(["generate", "--prompt", PROMPT, "--weights", str(model_only), "--num-frames", "3",
                 "--out", str(tmp_path / "out2"), "--no-progress"]) == 2
    assert "track_reward.safetensors: not found" in capsys.readouterr().err


def test_the_built_in_folder_given_as_weights_is_not_said_to_lack_its_rewards(tmp_path, caplog):
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    assert main(["generate", "--prompt", PROMPT, "--weights", str(DEFAULT_WEIGHTS_DIR), "--num-frames", "3",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert not [r for r in caplog.records if "reward files" in r.getMessage()]


def test_score_checks_its_folder_before_the_weights(tmp_path, capsys):
    assert main(["score", str(tmp_path / "nowhere"), "--weights", str(tmp_path / "no-weights")]) == 2
    assert capsys.readouterr().err.strip() == (f"streamt1: error: no folder at {tmp_path / 'nowhere'}: give a "
                                               "generate / bench output folder")
    (tmp_path / "no-videos").mkdir()
    assert main(["score", str(tmp_path / "no-videos"), "--weights", str(tmp_path / "no-weights")]) == 2
    assert capsys.readouterr().err.strip() == f"streamt1: error: {tmp_path / 'no-videos'} holds no .mp4 video to score"
    (tmp_path / "a-file.txt").write_text("not a folder")
    assert main(["score", str(tmp_path / "a-file.txt"), "--weights", str(tmp_path / "no-weights")]) == 2
    assert f"{tmp_path / 'a-file.txt'} is a file, not a folder" in capsys.readouterr().err


def test_sprites_without_a_subcommand_lists_them(capsys):
    assert main(["sprites"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("streamt1: error: `streamt1 sprites` needs a subcommand: train, train-codec,")
    assert all(what in err for what in SPRITES_SCRIPTS) and len(err.splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["sprites", "--help"])
    listing = capsys.readouterr().out.split("subcommands:\n", 1)[1]
    for what, (_, text) in SPRITES_SCRIPTS.items():  # `train-track-rewardtrain the ...` once ran together
        assert f"  {what}  " in listing and text in listing


def test_help_gives_the_training_defaults_and_the_frame_rate(capsys):
    from streamt1.sprites.train import TrainVideoConfig
    from streamt1.sprites.world import FPS

    with pytest.raises(SystemExit):
        main(["sprites", "train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag, default in (("--steps STEPS", TrainVideoConfig.steps), ("--lr LR", TrainVideoConfig.lr),
                          ("--batch-size BATCH_SIZE", TrainVideoConfig.batch_size),
                          ("--workers WORKERS", TrainVideoConfig.workers)):
        help_text = out.split(flag, 2)[2].split(" --")[0]  # the text after the option's row in the listing
        assert f"default: {default})" in help_text, (flag, help_text)
    assert "--device DEVICE auto, cpu, cuda, cuda:1 ... (default auto: cuda wherever there is one)" in out
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default 48: {48 / FPS:.3g} s of Sprites video, one frame per latent frame at {FPS} fps)" in out


@pytest.mark.parametrize("name, content, command", [
    ("bad.jsonl", "{not json\n", ["generate", "--prompts-file"]),
    ("suite.jsonl", "{not json\n", ["bench", "--suite"]),
])
def test_prompt_file_errors_show_a_real_prompt(tmp_path, capsys, name, content, command):
    path = tmp_path / name
    path.write_text(content)
    assert main([*command, str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "a small red circle moves left over a blue background" in err and "..." not in err
    assert len(err.splitlines()) == 1


def test_readme_use_examples_parse():
    """Every command of README's "Use" block parses as written (a required flag left out fails here)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("\n## Use\n", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) > 10 and any("--config" in line for line in lines)
    for line in lines:
        command = shlex.split(line, comments=True)
        assert command[0] == "streamt1"
        try:
            build_parser().parse_args(command[1:])
        except SystemExit:
            pytest.fail(f"README.md: `{line.split('  #')[0]}` does not parse")


@pytest.mark.parametrize("method", ["none", "best-of-n", "beam", "stream-t1", "stream-t1-early"])
@pytest.mark.parametrize("backend", ["sprites", "longlive", "self-forcing", "causvid"])
def test_config_prints_every_setting_as_yaml_that_generate_reads_back(tmp_path, capsys, method, backend):
    import dataclasses

    import yaml

    from streamt1.config import RunConfig, SearchConfig, build_config

    overrides = ["search.tau=0.3", "run.out='1e-5'"]  # a string the loader would take for a float unquoted
    assert main(["config", "--method", method, "--backend", backend, *(f"--set={o}" for o in overrides)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"# every setting of {method} with the {backend} backend's search defaults")
    data = yaml.safe_load(text)
    assert data["method"] == method and data["search"]["tau"] == 0.3 and data["run"]["backend"] == backend
    assert set(data["search"]) == {f.name for f in dataclasses.fields(SearchConfig)}
    assert set(data["run"]) == {f.name for f in dataclasses.fields(RunConfig)}
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    read_back = build_config(None, path)
    assert read_back == build_config(method, None, overrides, backend=backend) and read_back.run.out == "1e-5"


def test_config_errors_and_a_backend_that_conflicts_with_the_file(tmp_path, capsys):
    assert main(["config", "--method", "greedy"]) == 2
    assert "unknown method 'greedy'" in capsys.readouterr().err
    path = tmp_path / "mine.yaml"
    path.write_text("run:\n  backend: sprites\n")
    assert main(["generate", "--config", str(path), "--backend", "longlive", "--prompt", PROMPT]) == 2
    assert "--backend longlive conflicts with run.backend: sprites in" in capsys.readouterr().err


def test_an_overwrite_stopped_while_writing_leaves_no_video(sprites_weights, tmp_path, capsys, monkeypatch):
    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "none") == 0
    record = tmp_path / f"{PROMPT}-0.result.json"
    assert record.is_file()

    def stopped(*_, **__):  # Ctrl-C after the new video is written, before its record
        raise KeyboardInterrupt
    monkeypatch.setattr(api, "plot_rewards", stopped)
    capsys.readouterr()
    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "none", "--num-frames", "6",
                    "--overwrite") == 130
    # the same command again would discard what it kept: the way on is without the flag
    assert "rerun the same command without --overwrite to resume" in capsys.readouterr().err
    # neither the old video (its record withdrawn) nor the new one's files without a record, which `streamt1
    # score` would read as a finished video
    assert not record.exists() and not list(tmp_path.glob(f"{PROMPT}-0.*"))
    monkeypatch.undo()
    capsys.readouterr()
    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "none") == 0  # remade, not skipped
    assert "skip" not in capsys.readouterr().out
    assert mp4_info(tmp_path / f"{PROMPT}-0.mp4").num_frames == 12 and record.is_file()


def test_sigterm_stops_like_ctrl_c_and_keeps_no_half_written_video(sprites_weights, tmp_path, capsys, monkeypatch):
    def terminated(*_, **__):  # a scheduler's SIGTERM while the video is being written
        os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(api, "plot_rewards", terminated)

    def callers_handler(*_):  # main() must replace it while it runs: reaching it fails this test, not pytest
        pytest.fail("SIGTERM reached the caller's handler")
    earlier = signal.signal(signal.SIGTERM, callers_handler)
    try:
        assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "none") == 143
        assert signal.getsignal(signal.SIGTERM) is callers_handler  # the caller's handler is back
    finally:
        signal.signal(signal.SIGTERM, earlier)
    assert "streamt1: terminated; every video finished before the stop is kept" in capsys.readouterr().err
    assert not list(tmp_path.glob(f"{PROMPT}-0.*"))  # unfinished: no record, no stray files; redone by a rerun
    assert not (tmp_path / "prompt_file.json").exists()  # no empty map for a folder with nothing finished


def test_a_method_given_twice_with_two_values_stops(sprites_weights, tmp_path, capsys):
    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "beam", "--set", "method=none") == 2
    assert "method beam conflicts with the override method=none; give the method once" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.mp4"))
    saved = tmp_path / "beam.yaml"
    assert main(["config", "--method", "beam"]) == 0
    saved.write_text(capsys.readouterr().out)
    assert main(["config", "--config", str(saved), "--method", "none"]) == 2
    assert f"method none conflicts with method: beam in {saved}" in capsys.readouterr().err
    assert main(["config", "--config", str(saved), "--method", "beam"]) == 0  # the same value twice is fine
    saved.write_text("method: stream-t2\n")
    assert main(["config", "--config", str(saved), "--method", "none"]) == 2
    assert "unknown method 'stream-t2' (did you mean stream-t1?)" in capsys.readouterr().err


def test_evaluate_refuses_a_repeated_seed_and_traces_it_would_write_anyway(tmp_path, capsys):
    assert main(["evaluate", "--methods", "none,none", "--out", str(tmp_path / "ev")]) == 2
    assert "--methods 'none,none' repeats a method" in capsys.readouterr().err
    assert main(["evaluate", "--seeds", "0,0", "--out", str(tmp_path / "ev")]) == 2
    assert "repeats a seed" in capsys.readouterr().err
    assert main(["evaluate", "--traces", "--out", str(tmp_path / "ev")]) == 2
    assert "--traces keeps the search traces of a --no-videos run" in capsys.readouterr().err
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("command", ["evaluate", "bench"])
def test_a_negative_seed_and_a_set_the_command_would_ignore_stop_before_any_work(tmp_path, capsys, command):
    suite = ["--suite", "sprites"] if command == "bench" else []
    out = ["--out", str(tmp_path / "out")]
    assert main([command, *suite, "--seeds", "0,-1", *out]) == 2
    assert "--seeds '0,-1' is invalid: every seed must be an integer >= 0" in capsys.readouterr().err
    assert main([command, *suite, "--seeds", "0,,1", *out]) == 2  # a seed left out, not the list 0,1
    assert "--seeds '0,,1' has an empty item between its commas" in capsys.readouterr().err
    assert main([command, *suite, "--seeds", "0", "--set", "run.seed=3", *out]) == 2
    assert f"--set run.seed has no effect on `streamt1 {command}`" in capsys.readouterr().err
    assert main([command, *suite, "--seeds", "0", "--set", "run.out=elsewhere", *out]) == 2
    assert "give --out instead" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "elsewhere").exists()


def test_an_interrupted_training_says_what_it_keeps(tmp_path, capsys, monkeypatch):
    from streamt1.sprites import train

    def stopped(*_, **__):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "train", stopped)
    assert main(["sprites", "train", "--out", str(tmp_path / "w"), "--steps", "1"]) == 130
    err = capsys.readouterr().err
    assert "--init" in err and "finished videos" not in err


def test_a_reader_that_left_ends_the_command_quietly():
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write fails
    done = subprocess.run([sys.executable, "-m", "streamt1", "rewards"], stdout=write, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    os.close(write)
    assert done.returncode == 141 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_sprites_training_shows_its_progress_without_verbose(tmp_path, caplog):
    assert main(["sprites", "train", "--out", str(tmp_path / "w"), "--steps", "1", "--batch-size", "2",
                 "--workers", "0", "--dim", "64", "--layers", "1"]) == 0
    shown = [r.getMessage() for r in caplog.records if r.name.startswith("streamt1.sprites")]
    assert any(m.startswith("saved the Sprites model") for m in shown) and any(m.startswith("step 1/1") for m in shown)


def test_a_full_disk_is_one_line_and_keeps_finished_videos(sprites_weights, tmp_path, capsys, monkeypatch):
    import errno

    assert generate(sprites_weights, tmp_path, "--prompt", PROMPT, "--method", "none") == 0

    def full(path, *_, **__):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(api, "write_mp4", full)
    assert generate(sprites_weights, tmp_path, "--prompt", "a large green square moves up over a red background",
                    "--method", "none") == 2
    err = capsys.readouterr().err
    assert err.startswith("streamt1: error: No space left on device at ") and err.count("\n") == 1
    assert "free space there or pass another --out" in err
    assert "every video finished before the stop is kept" in err and (tmp_path / f"{PROMPT}-0.result.json").is_file()

    def full_without_a_name(path, *_, **__):  # as a write() into a full disk raises it: no file name
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(api, "write_mp4", full_without_a_name)
    assert generate(sprites_weights, tmp_path, "--prompt", "a large green square moves up over a red background",
                    "--method", "none") == 2
    assert f"No space left on device (writing into {tmp_path}): free space" in capsys.readouterr().err


def test_the_sprites_default_runs_without_the_wan_extras(tmp_path):
    # the README's first command installs `pip install -e .` only: transformers and diffusers are the [wan] extra
    import subprocess
    import sys

    code = ("import sys\n"
            "for name in ('transformers', 'diffusers'):\n"
            "    sys.modules[name] = None  # importing it now fails, as where it is not installed\n"
            "from streamt1.cli import main\n"
            f"sys.exit(main(['generate', '--prompt', {PROMPT!r}, '--method', 'stream-t1', '--num-frames', '6', "
            f"'--out', {str(tmp_path)!r}, '--no-progress']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(tmp_path.glob("*.mp4"))) == 1



def test_out_of_gpu_memory_says_what_is_kept_and_what_fits(monkeypatch, capsys, tmp_path):
    # the generator or a reward, loading or running: the advice names both sides' settings
    import argparse

    from streamt1.cli import _out_of_memory_advice

    def full(*_, **__):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")
    monkeypatch.setattr(api, "load_components", full)
    assert main(["generate", "--prompt", PROMPT, "--out", str(tmp_path)]) == 3  # EXIT_OUT_OF_MEMORY
    err = capsys.readouterr().err.strip()
    assert err.startswith("streamt1: error: out of GPU memory; finished videos are kept") and len(err.splitlines()) == 1
    assert "search.max_batch" in err and "rewards.max_batch=N" in err and "--offload-rewards" in err
    # score has no --set: its advice is what it can change
    assert "--device" in _out_of_memory_advice(argparse.Namespace(command="score")) and \
        "--set" not in _out_of_memory_advice(argparse.Namespace(command="score"))


def test_evaluate_under_torchrun_is_pointed_to_workers(tmp_path, capsys, monkeypatch):
    # every process would make every video, and both would rewrite one results.json
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["evaluate", "--out", str(tmp_path / "ev")]) == 2
    assert "use --workers N" in capsys.readouterr().err and not (tmp_path / "ev").exists()
