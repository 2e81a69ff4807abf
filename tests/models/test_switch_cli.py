"""``streamt1 generate`` with a prompt switch on a LongLive folder (tiny files, the release layout)."""

import pytest

import streamt1.models.backends as backends
from streamt1.cli import main
from streamt1.models.config import WanConfig
from streamt1.search.trace import Trace
from streamt1.outputs.video import mp4_info
from test_backends import STREAM, VAE, release  # noqa: F401  (the tiny LongLive folder fixture)

PROMPTS = ["a red cat runs on the beach", "a red cat jumps onto a table"]


@pytest.fixture
def tiny_longlive(monkeypatch):
    """The CLI's LongLive loader on the tiny-test network at 16x16 (the real one is 1.3B at 832x480)."""

    def build(backend, weights_dir, *, device, dtype, stream_overrides, **_):
        files = backends.locate_files(backend, weights_dir)
        return backends.build_wan_generator_from_config(
            WanConfig.preset("tiny-test"), files, backend=backend, height=16, width=16, fps=16.0, device=device,
            dtype=dtype, stream_overrides={**STREAM, **stream_overrides}, vae_config=VAE)

    monkeypatch.setattr(backends, "build_wan_generator", build)


def run(root, out, *extra):
    return main(["generate", "--backend", "longlive", "--weights", str(root), "--method", "none", "--device", "cpu",
                 "--prompt", PROMPTS[0], "--prompt", PROMPTS[1], "--switch-at", "6", "--num-frames", "9",
                 "--out", str(out), "--no-progress", *extra])


def test_longlive_switches_prompt_mid_video(release, tiny_longlive, tmp_path, capsys):  # noqa: F811
    root = release[0]
    assert run(root, tmp_path / "a") == 0, capsys.readouterr().err
    assert run(root, tmp_path / "c", "--set", "search.global_sink=false") == 0
    (a,), (c,) = ((tmp_path / d).glob("*.mp4") for d in "ac")
    assert mp4_info(a).num_frames == 9 + 12 + 12  # Wan VAE: 4T - 3 frames for T latent frames
    assert a.read_bytes() != c.read_bytes()  # re-caching the sink changes what follows the switch
    trace = Trace.load(str(a).replace(".mp4", ".trace.json"))
    assert trace.switch_chunks() == [2] and trace.segments[1]["prompt"] == PROMPTS[1]
