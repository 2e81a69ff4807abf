"""What a bench folder holds: one length for every row, prompts keyed by their text, rows that say what they
cover, bad suite lines located. Real tiny runs on the Sprites test weights."""

import json
import shutil
from pathlib import Path

import pytest
from bench_fixtures import NUM_FRAMES

from streamt1.cli import main
from streamt1.outputs.bench_report import PLAN_FILE
from streamt1.outputs.results import RESULT_SUFFIX
from streamt1.suites import load_suite

PROMPTS = load_suite("sprites", 3, NUM_FRAMES).prompts  # captions the Sprites world can express


def records(out: Path) -> dict[str, int]:
    """Result record -> its mtime: a video made again gets a new one."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.glob(f"*/*{RESULT_SUFFIX}")}


def bench(weights: Path, out: Path, *args: str) -> list[str]:
    return ["bench", "--suite", "sprites", "--methods", "none", "--num-frames", str(NUM_FRAMES), "--limit", "2",
            "--device", "cpu", "--weights", str(weights), "--out", str(out), *args]


@pytest.fixture
def copied(reference_run, tmp_path) -> Path:
    """A copy of the reference run (none, stream-t1; 2 prompts x seed 0; 3 latent frames) to change."""
    out = tmp_path / "copy"
    shutil.copytree(reference_run, out)
    return out


def report_row(out: Path, method: str) -> str:
    return next(line for line in (out / "report.md").read_text().splitlines() if line.startswith(f"| {method} |"))


def test_a_row_of_another_length_is_refused_even_with_overwrite(copied, sprites_weights, capsys):
    before = records(copied)
    # `none` again at 6 frames, --overwrite: `stream-t1` keeps its 3-frame videos, which would pair with them
    assert main(bench(sprites_weights, copied, "--num-frames", "6", "--overwrite")) == 2
    err = capsys.readouterr().err
    assert "run.num_frames 3 -> 6" in err and "--overwrite with every row (none,stream-t1:" in err
    assert records(copied) == before  # refused before --overwrite deleted anything
    # a new row at another length: refused, naming every row to make again
    assert main(bench(sprites_weights, copied, "--methods", "beam", "--num-frames", "6")) == 2
    err = capsys.readouterr().err
    assert "run.num_frames 3 -> 6" in err and "--overwrite with every row (none,stream-t1,beam:" in err
    assert records(copied) == before and not (copied / "beam").exists()
    # --overwrite for every row: the folder moves to the new length as a whole
    assert main(bench(sprites_weights, copied, "--methods", "none,stream-t1", "--num-frames", "6",
                      "--overwrite")) == 0, capsys.readouterr().err
    lengths = {json.loads(p.read_text())["settings"]["run"]["num_frames"] for p in copied.glob("*/settings.json")}
    assert lengths == {6} and set(records(copied)) == set(before)
    assert "num_frames 6" in (copied / "report.md").read_text()  # the report says the length


def test_report_pairs_no_rows_of_different_lengths(copied, capsys):
    # a folder of an older version could hold rows of two lengths: the report must not pair them
    path = copied / "stream-t1" / "settings.json"
    data = json.loads(path.read_text())
    data["settings"]["run"]["num_frames"] = 6
    path.write_text(json.dumps(data))
    assert main(["bench", "--report", "--out", str(copied)]) == 0
    row = json.loads((copied / "report.json").read_text())["methods"]["stream-t1"]
    assert row["diff"] == {} and "run.num_frames 3 -> 6" in row["unpaired"]
    assert "`stream-t1` is not paired" in capsys.readouterr().out


def test_a_suite_file_that_gains_a_prompt_resumes(sprites_weights, tmp_path, capsys):
    suite, out = tmp_path / "p.txt", tmp_path / "out"
    args = bench(sprites_weights, out, "--suite", str(suite))  # --limit 2: every line
    suite.write_text(f"{PROMPTS[0]}\n")
    assert main(args) == 0, capsys.readouterr().err
    first = records(out)
    suite.write_text(f"{PROMPTS[0]}\n{PROMPTS[1]}\n")
    assert main(args) == 0, capsys.readouterr().err  # was: "holds videos made with other settings (suite_digest"
    after = records(out)
    assert len(after) == 2 and all(after[k] == t for k, t in first.items())  # only the new prompt was made
    # a changed line: its new text is made, the old text's video moves to the hidden .stale/ with its files, so
    # the folder holds one video per current prompt (VBench's custom input refuses videos its prompt file lacks)
    suite.write_text(f"{PROMPTS[2]}\n{PROMPTS[1]}\n")
    assert main(args) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["methods"]["none"]["videos"] == 2 and report["retired"] == {"none": 1} and len(records(out)) == 2
    assert "Moved to `<method>/.stale/`: the videos of prompts the suite no longer holds" in (out / "report.md").read_text()
    videos = {p.name for p in (out / "none").glob("*.mp4")}
    assert set(json.loads((out / "none" / "prompt_file.json").read_text())) == videos and len(videos) == 2
    assert len(list((out / "none" / ".stale").glob("*.mp4"))) == 1
    assert len(list((out / "none" / ".stale").glob(f"*{RESULT_SUFFIX}"))) == 1
    assert main(["score", str(out), "--metrics", "none", "--video-reward", "sprites-track-video",
                 "--device", "cpu"]) == 0, capsys.readouterr().err
    assert json.loads((out / "scores" / "summary.json").read_text())["none"]["videos"] == 2
    assert main([*args, "--overwrite"]) == 0, capsys.readouterr().err
    assert json.loads((out / "report.json").read_text())["retired"] == {} and len(records(out)) == 2


def test_a_changed_generation_text_under_the_same_name_is_made_again(sprites_weights, tmp_path, capsys):
    suite, out = tmp_path / "p.jsonl", tmp_path / "out"
    args = bench(sprites_weights, out, "--suite", str(suite))
    suite.write_text(json.dumps({"prompt": PROMPTS[0], "eval_prompt": "first"}) + "\n")
    assert main(args) == 0, capsys.readouterr().err
    before = records(out)
    suite.write_text(json.dumps({"prompt": PROMPTS[1], "eval_prompt": "first"}) + "\n")
    assert main(args) == 0, capsys.readouterr().err
    after = records(out)
    assert set(after) == set(before) and all(after[k] != t for k, t in before.items())
    record = json.loads((out / "none" / f"first-0{RESULT_SUFFIX}").read_text())
    assert record["prompt"] == PROMPTS[1]


def test_a_bad_line_of_a_suite_file_is_located(sprites_weights, tmp_path, capsys):
    suite = tmp_path / "mixed.txt"
    suite.write_text(f"{PROMPTS[0]}\na purple elephant dances\n")
    assert main(bench(sprites_weights, tmp_path / "out", "--suite", str(suite))) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot express" in err and err.endswith(f"({suite}: line 2)")
    jsonl = tmp_path / "mixed.jsonl"  # a JSONL line is found by its strings
    jsonl.write_text(json.dumps({"prompt": PROMPTS[0]}) + "\n" + json.dumps({"prompt": "a purple elephant dances"}) + "\n")
    assert main(bench(sprites_weights, tmp_path / "out", "--suite", str(jsonl))) == 2
    assert capsys.readouterr().err.strip().endswith(f"({jsonl}: line 2)")


def test_each_row_says_how_many_prompts_and_seeds_it_covers(copied, sprites_weights, capsys):
    # one more seed of one prompt for `none`: its row covers 2 prompts x seeds 0,1 with one video missing
    assert main(bench(sprites_weights, copied, "--seeds", "1", "--limit", "1")) == 0, capsys.readouterr().err
    report = json.loads((copied / "report.json").read_text())
    assert {k: report["methods"]["none"][k] for k in ("videos", "prompts", "seeds", "missing")} == \
        {"videos": 3, "prompts": 2, "seeds": [0, 1], "missing": 1}
    assert report_row(copied, "none").startswith("| none | 3 | 2 prompts x seeds 0,1 (1 missing) |")
    assert report_row(copied, "stream-t1").startswith("| stream-t1 | 2 | 2 prompts x seed 0 |")
    # plan.json is the union of what every run asked for (it orders the rows); the rows say what they cover
    plan = json.loads((copied / PLAN_FILE).read_text())
    assert plan["seeds"] == [0, 1] and plan["methods"] == ["none", "stream-t1"]
