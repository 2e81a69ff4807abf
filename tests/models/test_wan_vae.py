"""WanVAECodec: loading Wan's VAE file, streaming decode with forkable per-stream caches."""

from __future__ import annotations

import re

import pytest
import torch
from diffusers import AutoencoderKLWan

from streamt1.models.checkpoints import CheckpointError
from streamt1.models.codec import LatentCodec
from streamt1.models.wan_vae import WanVAECodec

Z = 4
TINY = dict(
    base_dim=8,
    z_dim=Z,
    latents_mean=[0.5, -0.25, 1.0, 0.0],
    latents_std=[2.0, 1.5, 0.5, 1.0],
)

_RESNET = {"norm1": "residual.0", "conv1": "residual.2", "norm2": "residual.3", "conv2": "residual.6",
           "conv_shortcut": "shortcut"}


def _resnet_inner(rest: str) -> str:
    for ours, wan in _RESNET.items():
        if rest.startswith(ours + "."):
            return wan + rest[len(ours):]
    return rest


def to_wan_naming(key: str) -> str:
    """diffusers AutoencoderKLWan key -> Wan2.1_VAE.pth key (written from Wan's module layout)."""
    top = {"quant_conv.": "conv1.", "post_quant_conv.": "conv2."}
    for ours, wan in top.items():
        if key.startswith(ours):
            return wan + key[len(ours):]
    side, rest = key.split(".", 1)
    if rest.startswith("conv_in."):
        return f"{side}.conv1.{rest[len('conv_in.'):]}"
    if rest.startswith("norm_out."):
        return f"{side}.head.0.{rest[len('norm_out.'):]}"
    if rest.startswith("conv_out."):
        return f"{side}.head.2.{rest[len('conv_out.'):]}"
    if m := re.match(r"mid_block\.resnets\.(\d)\.(.+)", rest):
        return f"{side}.middle.{2 * int(m[1])}.{_resnet_inner(m[2])}"
    if m := re.match(r"mid_block\.attentions\.0\.(.+)", rest):
        return f"{side}.middle.1.{m[1]}"
    if m := re.match(r"down_blocks\.(\d+)\.(.+)", rest):
        return f"{side}.downsamples.{m[1]}.{_resnet_inner(m[2])}"
    if m := re.match(r"up_blocks\.(\d)\.resnets\.(\d)\.(.+)", rest):
        return f"{side}.upsamples.{4 * int(m[1]) + int(m[2])}.{_resnet_inner(m[3])}"
    if m := re.match(r"up_blocks\.(\d)\.upsamplers\.0\.(.+)", rest):
        return f"{side}.upsamples.{4 * int(m[1]) + 3}.{m[2]}"
    raise AssertionError(f"unmapped key {key}")


@pytest.fixture(scope="module")
def vae() -> AutoencoderKLWan:
    torch.manual_seed(0)
    return AutoencoderKLWan(**TINY).eval()


@pytest.fixture(scope="module")
def wan_file(vae, tmp_path_factory):
    path = tmp_path_factory.mktemp("wan") / "Wan2.1_VAE.pth"
    torch.save({to_wan_naming(k): v.clone() for k, v in vae.state_dict().items()}, path)
    return path


@pytest.fixture(scope="module")
def codec(wan_file) -> WanVAECodec:
    return WanVAECodec.from_wan_checkpoint(wan_file, config=TINY)


def test_wan_file_uses_original_key_names(wan_file):
    keys = set(torch.load(wan_file, weights_only=True))
    for key in ("conv1.weight", "conv2.weight", "encoder.conv1.weight", "decoder.middle.0.residual.0.gamma",
                "decoder.middle.1.to_qkv.weight", "decoder.upsamples.3.time_conv.weight",
                "decoder.upsamples.3.resample.1.weight", "decoder.upsamples.4.shortcut.weight",
                "decoder.head.2.weight", "encoder.downsamples.0.residual.0.gamma"):
        assert key in keys


def test_implements_latent_codec(codec):
    assert isinstance(codec, LatentCodec)


def test_loaded_weights_equal_original(vae, codec):
    ours = codec.vae.state_dict()
    for key, value in vae.state_dict().items():
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0)
    assert codec.latent_channels == Z and codec.temporal_factor == 4 and codec.spatial_factor == 8


def test_streaming_decode_equals_full_decode(vae, codec):
    torch.manual_seed(1)
    latents = torch.randn(1, Z, 9, 2, 3)
    full = vae.decode(codec.denormalize(latents)).sample  # [1, 3, 33, 16, 24] in [-1, 1]
    full = ((full + 1) / 2).permute(0, 2, 1, 3, 4)
    cache = codec.initial_cache(1)
    chunks = []
    for start in range(0, 9, 3):
        frames, cache = codec.decode_chunk(latents[:, :, start:start + 3], cache)
        chunks.append(frames)
    assert [c.shape[1] for c in chunks] == [9, 12, 12]
    assert chunks[0].shape[1] == codec.first_chunk_frames(3)
    assert chunks[1].shape[1] == codec.frames_per_chunk(3)
    streamed = torch.cat(chunks, dim=1)
    assert streamed.shape == (1, 33, 3, 16, 24)
    assert streamed.min() >= 0 and streamed.max() <= 1
    torch.testing.assert_close(streamed, full, rtol=0, atol=1e-5)


def test_select_cache_forks_streams(codec):
    torch.manual_seed(2)
    first = torch.randn(2, Z, 3, 2, 3)
    second = torch.randn(3, Z, 3, 2, 3)
    parents = torch.tensor([1, 1, 0])
    _, cache = codec.decode_chunk(first, codec.initial_cache(2))
    frames, _ = codec.decode_chunk(second, codec.select_cache(cache, parents))
    for row, parent in enumerate(parents.tolist()):
        alone = codec.initial_cache(1)
        _, alone = codec.decode_chunk(first[parent:parent + 1], alone)
        expected, _ = codec.decode_chunk(second[row:row + 1], alone)
        torch.testing.assert_close(frames[row:row + 1], expected, rtol=0, atol=1e-5)


def test_decoding_leaves_parent_cache_untouched(codec):
    torch.manual_seed(3)
    _, cache = codec.decode_chunk(torch.randn(1, Z, 3, 2, 3), codec.initial_cache(1))
    nxt = torch.randn(1, Z, 3, 2, 3)
    a, _ = codec.decode_chunk(nxt, cache)
    codec.decode_chunk(torch.randn(1, Z, 3, 2, 3), cache)
    b, _ = codec.decode_chunk(nxt, cache)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_encode_then_decode_shapes(codec):
    frames = torch.rand(2, 9, 3, 16, 24)
    latents = codec.encode(frames)
    assert latents.shape == (2, Z, 3, 2, 3)
    decoded, _ = codec.decode_chunk(latents, codec.initial_cache(2))
    assert decoded.shape == frames.shape


def test_bad_inputs_raise(codec):
    with pytest.raises(ValueError, match="select_cache first"):
        codec.decode_chunk(torch.randn(2, Z, 3, 2, 3), codec.initial_cache(1))
    with pytest.raises(ValueError, match="latents must be"):
        codec.decode_chunk(torch.randn(1, Z + 1, 3, 2, 3), codec.initial_cache(1))
    with pytest.raises(ValueError, match="multiple of 4"):
        codec.encode(torch.rand(1, 8, 3, 16, 24))
    with pytest.raises(ValueError, match="entries in"):
        codec.select_cache(codec.initial_cache(2), torch.tensor([2]))


def test_missing_and_mismatched_files(tmp_path, wan_file):
    with pytest.raises(FileNotFoundError, match="Wan-AI/Wan2.1-T2V-1.3B"):
        WanVAECodec.from_wan_checkpoint(tmp_path / "Wan2.1_VAE.pth")
    state = torch.load(wan_file, weights_only=True)
    state.pop("decoder.head.2.bias")
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    with pytest.raises(CheckpointError, match=r"1 missing \(decoder.conv_out.bias\)"):
        WanVAECodec.from_wan_checkpoint(broken, config=TINY)
    other = tmp_path / "generator.pth"  # another release's file put where the VAE belongs
    torch.save({"blocks.0.self_attn.q.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(CheckpointError, match="generator.pth is not a Wan2.1 VAE checkpoint: it lacks encoder.conv_in"):
        WanVAECodec.from_wan_checkpoint(other, config=TINY)


def test_diffusers_folder(vae, codec, tmp_path):
    vae.save_pretrained(str(tmp_path / "vae"))
    loaded = WanVAECodec.from_pretrained(tmp_path / "vae")
    latents = torch.randn(1, Z, 3, 2, 3, generator=torch.Generator().manual_seed(4))
    a, _ = loaded.decode_chunk(latents, loaded.initial_cache(1))
    b, _ = codec.decode_chunk(latents, codec.initial_cache(1))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(FileNotFoundError, match="not found"):
        WanVAECodec.from_pretrained(tmp_path / "absent")
