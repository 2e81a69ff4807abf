"""``streamt1 generate`` with a prompt switch on a LongLive folder (tiny files, the release layout)."""

import pytest

from streamt1.cli import main
from streamt1.search.trace import Trace
from streamt1.outputs.video import mp4_info
from wan_release import write_longlive_release

PROMPTS = ["a red cat runs on the beach", "a red cat jumps onto a table"]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("longlive")
    write_longlive_release(root, preset="tiny-test-z16")
    return root


def run(root, out, *extra):
    return main(["generate", "--backend", "longlive", "--weights", str(root), "--method", "none", "--device", "cpu",
                 "--prompt", PROMPTS[0], "--prompt", PROMPTS[1], "--switch-at", "6", "--num-frames", "9",
                 "--set", "run.model=tiny-test-z16", "--set", "run.height=16", "--set", "run.width=16",
                 "--out", str(out), "--no-progress", *extra])


def test_longlive_switches_prompt_mid_video(release, tmp_path, capsys):
    assert run(release, tmp_path / "a") == 0, capsys.readouterr().err
    assert run(release, tmp_path / "c", "--set", "search.global_sink=false") == 0, capsys.readouterr().err
    (a,), (c,) = ((tmp_path / d).glob("*.mp4") for d in "ac")
    assert mp4_info(a).num_frames == 9 + 12 + 12  # Wan VAE: 4T - 3 frames for T latent frames
    assert a.read_bytes() != c.read_bytes()  # re-caching the sink changes what follows the switch
    trace = Trace.load(str(a).replace(".mp4", ".trace.json"))
    assert trace.switch_chunks() == [2] and trace.segments[1]["prompt"] == PROMPTS[1]
