"""``benchmarks/sprites_weights_paired.py``: sets of evaluate folders, each with its own preset, paired."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sprites_weights_paired.py"
COLUMNS = ("subject_consistency", "background_consistency", "text_alignment", "alignment_background",
           "alignment_presence", "alignment_shape", "alignment_motion")


def write(folder: Path, videos: dict) -> str:
    folder.mkdir()
    rows = {m: {stem: {c: value for c in COLUMNS} for stem, value in v.items()} for m, v in videos.items()}
    (folder / "results.json").write_text(json.dumps({"videos": rows}))
    return str(folder)


def test_sets_name_their_own_preset_and_common_keeps_the_shared_videos(tmp_path):
    a = write(tmp_path / "a", {"none": {"p-0": 0.2, "p-1": 0.4, "q-0": 0.6}, "stream-t1": {"p-0": 0.3, "p-1": 0.5, "q-0": 0.7}})
    b = write(tmp_path / "b", {"stream-t1": {"p-0": 0.5, "p-1": 0.6}})
    args = [sys.executable, str(SCRIPT), "--common", f"plain={a}:none", f"k2={a}:stream-t1", f"k4={b}:stream-t1"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in out[2:]}
    assert rows["plain"][0].strip() == "2" and rows["plain"][1].strip().startswith("30.0")  # q-0 left out
    assert rows["k2 - plain"][1].strip() == "+10.0 ± 0.0"
    assert rows["k4 - plain"][1].strip().startswith("+25.0")  # (0.5 - 0.2, 0.6 - 0.4): +30 and +20


def test_a_set_without_videos_and_sets_that_share_none_are_named(tmp_path):
    a = write(tmp_path / "a", {"none": {"p-0": 0.2}})
    b = write(tmp_path / "b", {"none": {"q-0": 0.4}})
    wrong_form = subprocess.run([sys.executable, str(SCRIPT), f"x={a}:none,{b}", f"y={b}"],
                                capture_output=True, text=True)
    assert wrong_form.returncode == 2 and "set 'x': no videos of method 'none," in wrong_form.stderr
    disjoint = subprocess.run([sys.executable, str(SCRIPT), "--common", f"x={a}", f"y={b}"],
                              capture_output=True, text=True)
    assert disjoint.returncode == 2 and "share no video" in disjoint.stderr


def test_imaging_vs_render_is_the_distance_from_the_render_of_the_same_prompt(tmp_path):
    rows = {"world": {"p-0": {"imaging_quality": 0.90}, "q-0": {"imaging_quality": 0.80}},
            "none": {"p-0": {"imaging_quality": 0.95}, "p-1": {"imaging_quality": 0.85}, "q-1": {"imaging_quality": 0.70}},
            "stream-t1": {"p-0": {"imaging_quality": 0.90}, "p-1": {"imaging_quality": 0.90}, "q-1": {"imaging_quality": 0.80}}}
    (tmp_path / "results.json").write_text(json.dumps({"videos": rows}))
    args = [sys.executable, str(SCRIPT), "--also", "imaging_vs_render", f"plain={tmp_path}:none", f"st1={tmp_path}:stream-t1"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in out[2:]}
    assert out[0].split("|")[-2].strip() == "imaging_vs_render"
    assert rows["plain"][-1].strip().startswith("6.7")  # (5 + 5 + 10) / 3: above and below the render both count
    assert rows["st1 - plain"][-1].strip().startswith("-6.7")  # st1 sits on the render


def test_a_folder_whose_results_are_gzip_compressed_is_read(tmp_path):
    plain = write(tmp_path / "plain", {"none": {"p-0": 0.2, "p-1": 0.4}})
    packed = Path(write(tmp_path / "packed", {"none": {"p-0": 0.5, "p-1": 0.6}}))
    (packed / "results.json.gz").write_bytes(gzip.compress((packed / "results.json").read_bytes()))
    (packed / "results.json").unlink()
    out = subprocess.run([sys.executable, str(SCRIPT), f"a={plain}", f"b={packed}"],
                         capture_output=True, text=True, check=True).stdout
    assert "+25.0" in out  # (0.5 - 0.2, 0.6 - 0.4): +30 and +20
