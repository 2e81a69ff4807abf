"""The command line end to end on CPU, with a Sprites weights folder the test writes."""

import json

import pytest
import torch

from streamt1.cli import main
from streamt1.search.trace import Trace, chosen_path
from streamt1.outputs.video import mp4_info
from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward
from streamt1.sprites.text import TextEncoderConfig

PROMPT = "a small red circle moves left over a blue background"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A randomly initialised Sprites model and rewards in the released file layout."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    text_config = TextEncoderConfig(text_dim=32, num_layers=1, num_heads=2)
    model = SpritesVideoModel(sprites_wan_config(text_config, dim=64, num_heads=2, num_layers=1), text_config)
    model.transformer.init_weights(torch.Generator().manual_seed(0))
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.05)
    model.save_pretrained(folder, {"steps": 0})
    small = dict(channels=4, match_dim=8)
    SpritesImageReward(RewardNetConfig(kind="image", **small)).save_pretrained(folder)
    SpritesVideoReward(RewardNetConfig(kind="video", num_frames=4, **small)).save_pretrained(folder)
    return folder


def generate(weights, out, *extra):
    return main(["generate", "--weights", str(weights), "--out", str(out), "--num-frames", "12",
                 "--no-progress", *extra])


@pytest.mark.parametrize("method", ["stream-t1", "none", "best-of-n", "beam", "stream-t1-no-noise",
                                    "stream-t1-no-pruning", "stream-t1-no-sinking"])
def test_every_method_writes_video_trace_and_plots(weights, tmp_path, method, capsys):
    assert generate(weights, tmp_path, "--prompt", PROMPT, "--method", method, "--seed", "1") == 0
    stem = tmp_path / "a-small-red-circle-moves-left-over-a-blue-background-1"
    info = mp4_info(f"{stem}.mp4")
    assert info.num_frames == 12 and info.fps == 16 and info.width == 256
    trace = Trace.load(f"{stem}.trace.json")
    assert trace.method == method and len(trace.chunks) == 4
    assert len(chosen_path(trace)) == 4
    for plot in ("tree", "rewards"):
        assert (tmp_path / f"{stem.name}.{plot}.png").read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp*"))


def test_same_seed_same_video_and_resume_skips_finished_prompts(weights, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(f"# two prompts\n{PROMPT}\n\na large green square moves up over a red background\n")
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert generate(weights, out_a, "--prompts-file", str(prompts)) == 0
    assert generate(weights, out_b, "--prompts-file", str(prompts)) == 0
    videos = sorted(p.name for p in out_a.glob("*.mp4"))
    assert len(videos) == 2
    for name in videos:
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes()
    trace_a = json.loads(next(out_a.glob("*.trace.json")).read_text())
    trace_b = json.loads((out_b / next(out_a.glob("*.trace.json")).name).read_text())
    assert trace_a["chunks"] == trace_b["chunks"]
    capsys.readouterr()
    assert generate(weights, out_a, "--prompts-file", str(prompts)) == 0
    assert capsys.readouterr().out.count("skip") == 2


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
        (["--prompt", PROMPT, "--num-frames", "10"], "num_frames=10 must be a positive multiple"),
        (["--prompt", "   "], "prompt is empty"),
        (["--prompt", "a purple elephant dances"], "elephant"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(weights, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code = main(["generate", "--weights", str(weights), "--out", str(out), "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("streamt1: error:")
    assert not out.exists() or not any(out.iterdir())


def test_empty_prompts_file_and_missing_weights(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n")
    assert main(["generate", "--prompts-file", str(empty)]) == 2
    assert "holds no prompt" in capsys.readouterr().err
    assert main(["generate", "--prompt", PROMPT, "--weights", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "sprites_model.safetensors not found" in err and "streamt1.sprites.train" in err


def test_corrupt_weights_are_reported(weights, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in weights.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "sprites_model.safetensors").write_bytes(b"\x00" * 64)
    assert main(["generate", "--prompt", PROMPT, "--weights", str(broken)]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_methods_lists_every_preset(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("none", "best-of-n", "beam", "stream-t1", "stream-t1-no-noise", "stream-t1-no-pruning",
                 "stream-t1-no-sinking"):
        assert name in out


def test_evaluate_tabulates_every_method_and_resumes(weights, tmp_path, capsys):
    args = ["evaluate", "--methods", "none,stream-t1", "--num-prompts", "2", "--num-frames", "9",
            "--weights", str(weights), "--out", str(tmp_path)]
    assert main(args) == 0
    table = (tmp_path / "table.md").read_text()
    assert "| none |" in table and "| stream-t1 |" in table and "subject consistency" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert {len(v) for v in results.values()} == {2} and table.index("| world |") < table.index("| none |")
    for stem, truth in results["world"].items():  # the rendered scene beats an untrained model's video
        assert truth["text_alignment"] > results["none"][stem]["text_alignment"]
    for scores in results["stream-t1"].values():
        assert 0.0 <= scores["subject_consistency"] <= 1.0 and "reward_overall" in scores
    assert len(list((tmp_path / "stream-t1").glob("*.mp4"))) == 2
    capsys.readouterr()
    assert main(args) == 0  # everything is done: nothing is regenerated
    assert "stream-t1 " not in capsys.readouterr().out.split("| Method")[0]
    assert main(args[:2] + ["none,greedy"] + args[3:]) == 2


def test_wan_backend_names_every_missing_release_file(tmp_path, capsys):
    code = main(["generate", "--backend", "longlive", "--weights", str(tmp_path), "--method", "none",
                 "--prompt", "a fox in the snow", "--device", "cpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    for name in ("longlive_base.pt", "Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth"):
        assert name in err
    assert not (tmp_path / "out").exists()
