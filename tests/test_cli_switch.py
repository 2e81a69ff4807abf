"""``streamt1 generate`` with prompt switches, end to end on CPU (Sprites)."""

import json

import pytest

from streamt1.cli import main
from streamt1.search.trace import Trace
from streamt1.outputs.video import mp4_info
from test_cli import PROMPT, generate

SECOND = "a small red circle moves up over a green background"


def test_two_prompts_on_the_built_in_sprites_model_with_stream_t1(tmp_path, capsys):
    code = main(["generate", "--prompt", PROMPT, "--prompt", SECOND, "--switch-at", "3", "--method", "stream-t1",
                 "--num-frames", "6", "--device", "cpu", "--out", str(tmp_path), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    (video,) = tmp_path.glob("*.mp4")
    assert video.name.startswith("a small red circle moves left over a blue background then a small red circle")
    assert mp4_info(video).num_frames == 6
    trace = Trace.load(str(video).replace(".mp4", ".trace.json"))
    assert trace.switch_chunks() == [1] and [s["prompt"] for s in trace.segments] == [PROMPT, SECOND]
    assert trace.final is not None and len(trace.final.scores) == 2
    for plot in ("tree", "rewards"):
        assert video.with_suffix(f".{plot}.png").read_bytes()[:4] == b"\x89PNG"


def test_one_segment_schedule_file_gives_the_same_video_bytes(sprites_weights, tmp_path):
    schedule = tmp_path / "one.yaml"
    schedule.write_text(f"- prompt: {PROMPT}\n")
    assert generate(sprites_weights, tmp_path / "a", "--prompt", PROMPT, "--method", "none") == 0
    assert generate(sprites_weights, tmp_path / "b", "--prompts-file", str(schedule), "--method", "none") == 0
    (a,), (b,) = (tmp_path / "a").glob("*.mp4"), (tmp_path / "b").glob("*.mp4")
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_longlive_jsonl_file_runs_every_stream(sprites_weights, tmp_path):
    path = tmp_path / "interactive.jsonl"
    path.write_text(json.dumps({"prompts": [PROMPT, SECOND], "switch_frame_indices": [3]}) + "\n"
                    + json.dumps({"prompts": [SECOND, PROMPT, SECOND]}) + "\n")
    assert generate(sprites_weights, tmp_path / "out", "--prompts-file", str(path), "--switch-at", "3,9",
                    "--method", "none") == 0
    traces = [Trace.load(str(p)) for p in (tmp_path / "out").glob("*.trace.json")]
    assert sorted(t.switch_chunks() for t in traces) == [[1], [1, 3]]
    path.write_text(json.dumps({"prompts": [PROMPT, SECOND], "switch_frame_indices": [6]}) + "\n")
    assert generate(sprites_weights, tmp_path / "out", "--prompts-file", str(path), "--method", "none") == 0
    assert len(list((tmp_path / "out").glob("*.mp4"))) == 3  # same prompts, another switch: another file


@pytest.mark.parametrize("args, message", [
    (["--prompt", PROMPT, "--prompt", SECOND, "--switch-at", "12"], "beyond the video"),
    (["--prompt", PROMPT, "--prompt", SECOND, "--switch-at", "4"], "not on a chunk boundary"),
    (["--prompt", PROMPT, "--prompt", SECOND, "--prompt", PROMPT, "--switch-at", "6,3"], "not increasing"),
    (["--prompt", PROMPT, "--prompt", SECOND], "2 prompts need 1 switch frame"),
    (["--prompt", PROMPT, "--switch-at", "6"], "one prompt has nothing to switch to at [6]"),
    (["--prompt", PROMPT, "--prompt", "a purple elephant", "--switch-at", "6"], "cannot express"),
])
def test_bad_schedules_exit_2_with_the_rule_and_write_nothing(sprites_weights, tmp_path, capsys, args, message):
    assert generate(sprites_weights, tmp_path / "out", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_switch_folders_own_prompt_file_is_refused_not_read_as_one_prompt(sprites_weights, tmp_path, capsys):
    out = tmp_path / "out"
    assert generate(sprites_weights, out, "--prompt", PROMPT, "--prompt", SECOND, "--switch-at", "3",
                    "--method", "none", "--num-frames", "6") == 0
    (video,) = out.glob("*.mp4")
    capsys.readouterr()
    assert generate(sprites_weights, out, "--prompts-file", str(out / "prompt_file.json"), "--method", "none",
                    "--num-frames", "6") == 2
    err = capsys.readouterr().err
    assert f"lists {video.name}, a stream that switches prompts" in err and "--switch-at" in err
    assert list(out.glob("*.mp4")) == [video]  # nothing made from the joined text


def test_a_long_streams_name_is_cut_between_words():
    from streamt1.api import schedule_stems
    from streamt1.schedule import from_switches

    first = "a small red circle moves left over a blue background"
    for second in ("a large green square moves up over a white background and a small red circle grows",
                   "a large green square moves up over a white background while a small blue ring spins"):
        stream = from_switches([first, second], [6])
        stem = schedule_stems([stream], 0)[0]
        text_part = stem.rsplit(" ", 1)[0] if " " in stem else stem
        assert "  " not in stem and len(text_part) <= 100
        words = stream.text().split()
        assert text_part.split() == words[:len(text_part.split())]  # whole words of the text, in order
