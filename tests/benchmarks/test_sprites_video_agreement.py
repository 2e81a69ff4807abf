"""``benchmarks/sprites_video_agreement.py``: reward vs truth on whole videos of one prompt and seed."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sprites_video_agreement.py"


def video(truth: float, reward: float) -> dict:
    return {"text_alignment": truth, "subject_consistency": truth, "alignment_presence": truth,
            "alignment_shape": truth, "alignment_motion": truth, "alignment_background": truth,
            "reward_overall": reward, "reward_inverted": -reward}


def test_a_reward_that_follows_the_truth_agrees_and_its_negative_disagrees(tmp_path):
    truths = {"none": 0.2, "beam": 0.5, "stream-t1": 0.8}
    videos = {m: {f"p{i}-0": video(t + 0.01 * i, 10 * t) for i in range(3)} for m, t in truths.items()}
    videos["world"] = {"p0-0": video(1.0, 0.0)}  # the reference row is not a method
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"videos": videos}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=True).stdout
    assert "3 methods x 3 prompt-seed pairs" in out
    fused = next(line for line in out.splitlines() if line.startswith("| fused |"))
    assert fused.split("|")[2:5] == [" 9 ", " 0.000 ", " 1.000 "], fused  # 3 pairs per prompt-seed


def test_missing_videos_drop_out_of_their_prompt_and_seed_only(tmp_path):
    """An unfinished run (a merge of folders stopped early): each prompt and seed uses the methods that
    made it, so one method's missing video costs its pairs, not the other methods' pairs."""
    truths = {"none": 0.2, "beam": 0.5, "stream-t1": 0.8}
    videos = {m: {f"p{i}-0": video(t + 0.01 * i, 10 * t) for i in range(3)} for m, t in truths.items()}
    del videos["stream-t1"]["p0-0"], videos["beam"]["p0-0"]  # p0: only `none`, no pair
    del videos["beam"]["p1-0"]  # p1: none and stream-t1, one pair
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"videos": videos}))
    out = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=True).stdout
    assert "3 methods x 2 prompt-seed pairs" in out and "; 1 of their videos missing" in out
    fused = next(line for line in out.splitlines() if line.startswith("| fused |"))
    assert fused.split("|")[2:5] == [" 4 ", " 0.000 ", " 1.000 "], fused  # 1 pair (p1) + 3 pairs (p2)
    videos = {"none": videos["none"], "world": {"p0-0": video(1.0, 0.0)}}
    path.write_text(json.dumps({"videos": videos}))
    run = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True)
    assert run.returncode != 0 and "no prompt and seed has videos of two methods" in run.stderr
