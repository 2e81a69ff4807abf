"""build_wan_generator*: a folder in the release layout with tiny files, streamed end to end on CPU."""

from __future__ import annotations

import pytest
import torch
from test_checkpoints import random_model
from transformers import AutoTokenizer
from wan_release import write_longlive_release

from streamt1.interfaces import Route, SinkLimits
from streamt1.models.backends import build_wan_generator, build_wan_generator_from_config, get_backend, locate_files
from streamt1.models.checkpoints import merge_lora
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator
from streamt1.models.sampler import warp_timesteps
from streamt1.models.text_encoder import UMT5TextEncoder
from streamt1.models.wan_vae import WanVAECodec

Z = 12  # tiny-test in_dim
VAE = dict(base_dim=8, latents_mean=[0.1 * i for i in range(Z)], latents_std=[1.0 + 0.1 * i for i in range(Z)])
STREAM = dict(window_frames=6)
PROMPT = "a red cat runs on the beach"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """weights_dir with LongLive base + LoRA and a Wan folder (VAE, umT5, tokenizer), all tiny."""
    root = tmp_path_factory.mktemp("weights")
    model, lora, t5, vae = write_longlive_release(root, z_dim=Z, **VAE)
    return root, model, lora, t5, vae


def build(root, **kwargs) -> CausalWanGenerator:
    files = locate_files("longlive", root)
    return build_wan_generator_from_config(
        WanConfig.preset("tiny-test"), files, backend="longlive", height=16, width=16, fps=16.0,
        stream_overrides=STREAM, vae_config=VAE, **kwargs,
    )


def stream(gen: CausalWanGenerator, chunks: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    state = gen.initial_state(gen.encode_prompt(PROMPT), 1)
    parents = torch.zeros(1, dtype=torch.long)
    latents, frames = [], []
    for c in range(chunks):
        noise = torch.randn(1, *gen.spec.latent_shape, generator=torch.Generator().manual_seed(c))
        lat = gen.denoise(state, parents, noise, [torch.Generator().manual_seed(100 + c)])
        decoded = gen.decode(state, parents, lat)
        state, _ = gen.commit(state, parents, lat, decoded, [Route.DISCARD], SinkLimits(6, 0.999))
        latents.append(lat)
        frames.append(decoded.frames)
    return latents, frames


def test_end_to_end_matches_the_in_memory_originals(release):
    root, model, lora, t5, vae = release
    gen = build(root)
    merged = merge_lora(model.state_dict(), lora)
    for key, value in merged.items():
        torch.testing.assert_close(gen.model.state_dict()[key], value, rtol=0, atol=0)
    latents, frames = stream(gen, 3)
    assert [f.shape[1] for f in frames] == [9, 12, 12]
    assert frames[0].shape[2:] == (3, 16, 16) and all(0 <= f.min() and f.max() <= 1 for f in frames)

    reference_model = random_model(0)
    reference_model.load_state_dict(merged)
    tokenizer = AutoTokenizer.from_pretrained(str(root / "Wan2.1-T2V-1.3B" / "google" / "umt5-xxl"))
    reference = CausalWanGenerator(
        reference_model, StreamConfig(**STREAM), UMT5TextEncoder(t5, tokenizer, text_len=6), WanVAECodec(vae),
        (2, 2), fps=16.0,
    )
    ref_latents, ref_frames = stream(reference, 3)
    for ours, theirs in zip(latents + frames, ref_latents + ref_frames):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_missing_files_are_all_reported(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        build_wan_generator("longlive", tmp_path, device="cpu", dtype=torch.float32)
    message = str(info.value)
    assert message.startswith("longlive: 5 file(s) missing")  # the folder exists: only files are named
    for name in ("longlive_base.pt", "lora.pt", "Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth", "umt5-xxl"):
        assert name in message
    assert "Efficient-Large-Model/LongLive-1.3B" in message and "Wan-AI/Wan2.1-T2V-1.3B" in message
    with pytest.raises(FileNotFoundError, match="tianweiy/CausVid"):
        locate_files("causvid", tmp_path)
    with pytest.raises(FileNotFoundError, match="gdhe17/Self-Forcing"):
        locate_files("self-forcing", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^longlive: the weights folder '.*nowhere' does not exist; 5 file"):
        locate_files("longlive", tmp_path / "nowhere")
    (tmp_path / "longlive_base.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"^longlive: the weights '.*longlive_base.pt' are a file, not a "
                                                r"folder: give the folder that holds longlive_base.pt and "):
        locate_files("longlive", tmp_path / "longlive_base.pt")


def test_bad_settings(release):
    root = release[0]
    with pytest.raises(ValueError, match="backend='sora'"):
        locate_files("sora", root)
    with pytest.raises(ValueError, match=r"unknown stream settings \['window'\]"):
        build_wan_generator_from_config(WanConfig.preset("tiny-test"), locate_files("longlive", root),
                                        backend="longlive", height=16, width=16, fps=16.0, stream_overrides={"window": 3})
    with pytest.raises(ValueError, match="multiples of the VAE's 8"):
        build_wan_generator_from_config(WanConfig.preset("tiny-test"), locate_files("longlive", root),
                                        backend="longlive", height=12, width=16, fps=16.0, vae_config=VAE)


def test_backend_stream_presets():
    stream = get_backend("longlive").stream  # LongLive's local_attn_size 12 = sink 3 + window 9
    assert (stream.sink_frames, stream.sink_frames + stream.window_frames) == (3, 12)
    causvid = get_backend("causvid").stream
    torch.testing.assert_close(warp_timesteps(causvid.denoising_steps, causvid.num_train_timesteps, causvid.shift),
                               torch.tensor([1000.0, 757.0, 522.0], dtype=torch.float64))
    longlive = get_backend("longlive").stream
    warped = warp_timesteps(longlive.denoising_steps, longlive.num_train_timesteps, longlive.shift)
    torch.testing.assert_close(warped[:2], torch.tensor([1000.0, 937.5], dtype=torch.float64))


def _release_of_empty_files(root):
    """Every file a LongLive run names, each empty: the checks pass, and any load would fail."""
    for name in ("longlive_base.pt", "lora.pt", "Wan2.1-T2V-1.3B/Wan2.1_VAE.pth",
                 "Wan2.1-T2V-1.3B/models_t5_umt5-xxl-enc-bf16.pth"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    (root / "Wan2.1-T2V-1.3B/google/umt5-xxl").mkdir(parents=True)
    return root


def test_a_length_or_size_the_model_cannot_make_is_refused_before_any_weight_loads(tmp_path):
    from streamt1 import api
    from streamt1.config import ConfigError, build_config
    from streamt1.schedule import PromptSchedule, Segment

    root = _release_of_empty_files(tmp_path)

    def load(overrides=(), schedules=(), **run):
        config = build_config("none", None, ["run.model=tiny-test", *overrides], backend="longlive",
                              weights=str(root), device="cpu", **run)
        return api.load_components(config, reward_kinds=(), schedules=schedules)

    # the empty files get as far as loading, so each refusal below came before it
    with pytest.raises(Exception, match="longlive_base.pt") as loading:
        load(num_frames=6)
    assert "num_frames" not in str(loading.value)
    with pytest.raises(ValueError, match=r"^num_frames=7 must be a positive multiple of the chunk's 3 latent "
                                         r"frames: use 6 or 9$"):
        load(num_frames=7)
    switch = PromptSchedule((Segment("a cat", 0), Segment("a dog", 4)))
    with pytest.raises(ConfigError, match=r"^switch at latent frame 4 is not on a chunk boundary"):
        load(num_frames=6, schedules=[switch])
    with pytest.raises(ConfigError, match=r"^run.height x run.width = 500x832: longlive takes multiples of 16 x 16 "
                                          r"\(the VAE's 8x downsampling times the 2x2 patch\), e.g. 496x832$"):
        load(["run.height=500"], num_frames=6)
