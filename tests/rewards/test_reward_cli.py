"""Rewards from the command line: `streamt1 rewards`, --image-reward / --video-reward, every error,
and `generate --backend longlive --method stream-t1` end to end on a tiny release folder."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # the tiny release writer's helpers

from wan_release import write_longlive_release  # noqa: E402

from streamt1 import backends  # noqa: E402
from streamt1.cli import main  # noqa: E402
from streamt1.search.trace import Trace, chosen_path  # noqa: E402
from streamt1.outputs.video import mp4_info  # noqa: E402
from streamt1.rewards import REWARDS  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402

PROMPT = "a small red circle moves left over a blue background"
STEM = "a small red circle moves left over a blue background-0"  # VBench naming
SPRITES_REWARDS = ["--image-reward", f"sprites-image={DEFAULT_WEIGHTS_DIR}",
                   "--video-reward", f"sprites-video={DEFAULT_WEIGHTS_DIR}"]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A LongLive release folder, tiny (the Wan VAE's 16 channels at base_dim 8), with no reward folders."""
    root = tmp_path_factory.mktemp("longlive")
    write_longlive_release(root, preset="tiny-test-z16")
    return root


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory):
    """The run settings that pick the tiny architecture and frame size, as a user's YAML file."""
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text("run:\n  model: tiny-test-z16\n  height: 64\n  width: 64\n  num_frames: 6\n  device: cpu\n")
    return path


def longlive(release, tiny_yaml, out, *extra):
    return main(["generate", "--backend", "longlive", "--weights", str(release), "--config", str(tiny_yaml),
                 "--prompt", PROMPT, "--out", str(out), "--no-progress", *extra])


@pytest.fixture
def extra_backends():
    """Two registered backends (the Sprites factory behind them): one without default rewards, one
    that cannot decode frames."""
    sprites = backends.get_backend("sprites")
    added = [backends.register_backend(dataclasses.replace(sprites, name="no-rewards", default_rewards={})),
             backends.register_backend(dataclasses.replace(sprites, name="latents-only", decodes_frames=False))]
    yield
    for entry in added:
        del backends.BACKENDS[entry.name]


def test_rewards_lists_every_reward_with_kind_files_and_source(capsys):
    assert main(["rewards"]) == 0
    out = capsys.readouterr().out
    width = max(len(name) for name in REWARDS)  # the name column fits the longest name
    for entry in REWARDS.values():
        assert f"{entry.name:{width}s} {entry.kind}" in out and all(source in out for source in entry.published)
        assert all(line.strip().removeprefix("<folder>") in out for line in entry.tree.splitlines())
    assert "WEIGHTS/HPSv3/" in out and "WEIGHTS/VideoReward/" in out
    assert "--backend longlive      image hpsv3, video videoalign" in out


def test_stream_t1_on_longlive_with_named_rewards_end_to_end(release, tiny_yaml, tmp_path, capsys):
    assert longlive(release, tiny_yaml, tmp_path, "--method", "stream-t1", *SPRITES_REWARDS) == 0
    assert "video reward" in capsys.readouterr().out  # the final pick scored the finished videos
    info = mp4_info(tmp_path / f"{STEM}.mp4")
    assert info.num_frames == 9 + 12 and info.width == info.height  # 64x64 frames, shown enlarged
    trace = Trace.load(tmp_path / f"{STEM}.trace.json")
    assert trace.method == "stream-t1" and len(trace.chunks) == 2 and len(chosen_path(trace)) == 2
    candidates = trace.chunks[1].candidates
    assert len(candidates) == 4 and all(c.short is not None and c.long is not None for c in candidates)
    assert set(candidates[0].long_parts) == {"motion", "coherence", "alignment"}


def test_method_none_needs_no_reward(release, tiny_yaml, tmp_path):
    assert longlive(release, tiny_yaml, tmp_path, "--method", "none") == 0
    assert mp4_info(tmp_path / f"{STEM}.mp4").num_frames == 21


def test_stream_t1_with_the_default_rewards_found_under_weights(release, tiny_yaml, hpsv3_release,
                                                                 videoalign_release, tmp_path_factory, capsys):
    """The paper's setting: hpsv3 and videoalign from WEIGHTS/HPSv3 and WEIGHTS/VideoReward."""
    weights = tmp_path_factory.mktemp("paper")
    for item in release.iterdir():
        (weights / item.name).symlink_to(item)
    (weights / "HPSv3").symlink_to(hpsv3_release.path)
    (weights / "VideoReward").symlink_to(videoalign_release.path)
    out = tmp_path_factory.mktemp("out")
    assert longlive(weights, tiny_yaml, out, "--method", "stream-t1") == 0, capsys.readouterr().err
    trace = Trace.load(out / f"{STEM}.trace.json")
    assert len(chosen_path(trace)) == 2
    assert all(c.short is not None for c in trace.chunks[1].candidates)
    assert set(trace.chunks[1].candidates[0].long_parts) == {"VQ", "MQ", "TA"}


@pytest.mark.parametrize("args, message", [
    (["--image-reward", "hps"], "unknown image reward 'hps': expected one of hpsv3, pickscore"),
    (["--video-reward", "hpsv3"], "'hpsv3' is an image reward, not a video reward"),
    (["--image-reward", "hpsv3="], "rewards.image='hpsv3=' is invalid: expected NAME or NAME=PATH"),
    # every file still to fetch in one message, not the first of them
    (["--method", "beam"], "HPSv3.safetensors, Qwen2-VL-7B-Instruct/config.json, "),
    (["--method", "beam"], ": not found; it comes from the hpsv3 reward's release, https://huggingface.co/MizzenAI/HPSv3"),
    (["--method", "beam"], "place it at {weights}/HPSv3, laid out as {weights}/HPSv3/{{"),
    (["--video-reward", "videoalign=/nowhere/VideoReward", *SPRITES_REWARDS[:2]],
     "model_config.json, "),
    (["--video-reward", "videoalign=/nowhere/VideoReward", *SPRITES_REWARDS[:2]], "place it at /nowhere/VideoReward,"),
])
def test_reward_errors_exit_2_a_line_each_and_write_nothing(release, tiny_yaml, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert longlive(release, tiny_yaml, out, *args) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("streamt1: error:") and all(line.startswith("also ") for line in lines[1:])
    err = "\n".join(lines)
    assert message.format(weights=release) in err
    assert not out.exists()


def test_missing_reward_files_name_the_tree_and_source(release, tiny_yaml, tmp_path, capsys):
    assert longlive(release, tiny_yaml, tmp_path / "out", "--method", "stream-t1", SPRITES_REWARDS[0],
                    SPRITES_REWARDS[1]) == 2
    err = capsys.readouterr().err
    for part in ("videoalign reward", "model_config.json, checkpoint-*/model.pth", ": not found",
                 "/VideoReward, laid out as", "checkpoint-11352/{model.pth",
                 "Qwen2-VL-2B-Instruct/{config.json", "huggingface.co/KlingTeam/VideoReward"):
        assert part in err


@pytest.mark.parametrize("args, message", [
    (["--backend", "no-rewards", "--method", "beam"],
     "method 'beam' needs an image reward and backend 'no-rewards' has none by default: pass --image-reward"),
    (["--backend", "latents-only", "--method", "stream-t1"], "backend 'latents-only' cannot decode frames"),
    (["--image-reward", "hpsv3"], "reward 'hpsv3' needs its files: pass --image-reward hpsv3=PATH, or --weights W"),
    (["--reward-device", "cuda:7"] if not __import__("torch").cuda.is_available() else ["--reward-device", "cuda:99"],
     "--reward-device cuda:"),
    (["--reward-device", "tpu"], "--reward-device tpu is not a device torch knows"),
    (["--device", "gpu"], "--device gpu is not a device torch knows"),
    (["--device", "mps"], "--device mps: stream-t1 runs on cpu or cuda"),
])
def test_backend_and_placement_errors(extra_backends, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["generate", "--prompt", PROMPT, "--out", str(out), "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_evaluate_takes_the_reward_flags(tmp_path, capsys):
    assert main(["evaluate", "--methods", "none", "--image-reward", "videoalign", "--out", str(tmp_path)]) == 2
    assert "'videoalign' is a video reward" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_evaluate_loads_no_image_reward_that_none_of_its_methods_calls(sprites_weights, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="streamt1"):
        assert main(["evaluate", "--methods", "none", "--num-prompts", "1", "--seeds", "0", "--num-frames", "3",
                     "--no-videos", "--weights", str(sprites_weights), "--image-reward", "hpsv3=/nowhere/HPSv3",
                     "--out", str(tmp_path)]) == 0
    assert "image reward 'hpsv3=/nowhere/HPSv3' ignored: no method of this run calls it" in caplog.text


def test_python_api_takes_the_same_reward_settings(release):
    from streamt1 import api

    result = api.generate(PROMPT, method="best-of-n", backend="longlive", weights=str(release), model="tiny-test-z16",
                          height=64, width=64, num_frames=3, device="cpu", progress=False,
                          rewards={"image": f"sprites-image={DEFAULT_WEIGHTS_DIR}",
                                   "video": f"sprites-video={DEFAULT_WEIGHTS_DIR}", "max_batch": 3})
    assert result.frames.shape[0] == 9 and result.trace.final.scores[result.chosen] is not None
    with pytest.raises(FileNotFoundError, match="the videoalign reward's release"):  # best-of-n calls only the video reward
        api.generate(PROMPT, method="best-of-n", backend="longlive", weights=str(release), model="tiny-test-z16",
                     height=64, width=64, num_frames=3, device="cpu")


def test_an_empty_weights_folder_names_every_missing_file_at_once(tmp_path, capsys):
    empty = tmp_path / "ll"
    empty.mkdir()
    assert main(["generate", "--backend", "longlive", "--weights", str(empty), "--prompt", "a fox runs in the snow",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    # a line for each missing file: the generator's 5 under a heading, then each reward's
    assert err.startswith("streamt1: error: longlive: 5 file(s) missing:\n  longlive_base.pt: not found")
    assert err.count("\n") == 1 + 5 + 2 and err.count("\nalso ") == 2
    for part in ("longlive_base.pt", "Wan2.1_VAE.pth",  # the generator's
                 "HPSv3.safetensors", "hpsv3 reward",  # the image reward's
                 "model_config.json", "videoalign reward"):  # the video reward's
        assert part in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damaged, text", [("config.json", "{"), ("tokenizer.json", "{}"),
                                           ("preprocessor_config.json", "{}")])
def test_a_corrupt_reward_file_is_one_line_naming_the_file_and_source(hpsv3_release, tmp_path, capsys,
                                                                      damaged, text):
    import shutil

    from streamt1.rewards import hpsv3

    folder = tmp_path / "HPSv3"
    shutil.copytree(hpsv3_release.path, folder)
    (folder / hpsv3.BASE_FOLDER / damaged).write_text(text)
    code = main(["generate", "--prompt", PROMPT, "--method", "beam", "--num-frames", "6", "--image-reward",
                 f"hpsv3={folder}", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    # the file is named, also where its reader's error does not name it (a bare KeyError: 'added_tokens')
    assert str(folder / hpsv3.BASE_FOLDER / damaged) in err, err
    if damaged == "preprocessor_config.json":  # read by our own code, which names what is missing
        assert "lacks or misshapes 'image_mean'" in err
        return
    assert f"the hpsv3 reward's files in {folder} could not be read" in err
    assert "corrupt or incomplete, or written for another version of its library; get them again from " \
           "https://huggingface.co/MizzenAI/HPSv3" in err


def test_a_named_reward_the_method_never_calls_is_ignored_with_a_warning(tmp_path, caplog, capsys):
    # plain generation calls no reward: one named anyway is neither checked (its files may be elsewhere) nor loaded
    with caplog.at_level("WARNING", logger="streamt1"):
        assert main(["generate", "--prompt", PROMPT, "--method", "none", "--num-frames", "3", "--image-reward",
                     "hpsv3=/nowhere/HPSv3", "--out", str(tmp_path), "--no-progress"]) == 0
    assert [r.getMessage() for r in caplog.records] == ["image reward 'hpsv3=/nowhere/HPSv3' ignored: method none does not call it"]
    record = json.loads(next(tmp_path.glob("*.result.json")).read_text())
    assert record["settings"]["rewards"]["loaded"] == {"image": None, "video": None}
    assert record["settings"]["rewards"]["image"] is None  # so the same run without it resumes
    assert main(["generate", "--prompt", PROMPT, "--method", "none", "--num-frames", "3", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert "skip" in capsys.readouterr().out
