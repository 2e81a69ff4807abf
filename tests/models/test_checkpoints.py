"""load_generator_weights on checkpoints written in each release's layout, and its error messages."""

from __future__ import annotations

import argparse
import logging

import pytest
import torch
from safetensors.torch import save_file

from streamt1.models.causal_wan import CausalWan
from streamt1.models.checkpoints import (
    CheckpointError,
    load_generator_weights,
    merge_lora,
    read_checkpoint,
    strip_leading_prefix,
)
from streamt1.models.config import WanConfig

LORA_TARGETS = [f"{attn}.{p}" for attn in ("self_attn", "cross_attn") for p in "qkvo"] + ["ffn.0", "ffn.2"]


def random_model(seed: int, preset: str = "tiny-test") -> CausalWan:
    model = CausalWan(WanConfig.preset(preset)).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():  # all non-zero, so every weight shows in the output
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def outputs(model: CausalWan) -> torch.Tensor:
    config = model.config
    g = torch.Generator().manual_seed(7)
    x = torch.randn(1, config.in_dim, 2, 4, 4, generator=g)
    text = model.encode_text(torch.randn(1, config.text_len, config.text_dim, generator=g))
    with torch.no_grad():
        return model(x, torch.tensor([[500.0, 250.0]]), text, torch.arange(2), None)


def fresh() -> CausalWan:
    return CausalWan(WanConfig.preset("tiny-test")).eval()


def prefixed(model: CausalWan, prefix: str = "model.") -> dict[str, torch.Tensor]:
    return {prefix + k: v.clone() for k, v in model.state_dict().items()}


def fsdp_named(model: CausalWan) -> dict[str, torch.Tensor]:
    """EMA shadow names as FSDP's wrapped module reports them (wrapper segment inside each block)."""
    return {
        "model." + k.replace("blocks.0.", "blocks.0._fsdp_wrapped_module.").replace(
            "blocks.1.", "blocks.1._fsdp_wrapped_module._checkpoint_wrapped_module."): v.clone()
        for k, v in model.state_dict().items()
    }


def peft_lora(model: CausalWan, rank: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd = model.state_dict()
    lora = {}
    for i in range(model.config.num_layers):
        for target in LORA_TARGETS:
            out_f, in_f = sd[f"blocks.{i}.{target}.weight"].shape
            base = f"base_model.model.blocks.{i}.{target}"
            lora[f"{base}.lora_A.weight"] = torch.randn(rank, in_f, generator=g) * 0.1
            lora[f"{base}.lora_B.weight"] = torch.randn(out_f, rank, generator=g) * 0.1
    return lora


def assert_same_model(a: CausalWan, b: CausalWan) -> None:
    for key, value in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[key], value, rtol=0, atol=0)
    torch.testing.assert_close(outputs(b), outputs(a), rtol=0, atol=0)


def test_longlive_base(tmp_path):
    original, ema = random_model(0), random_model(1)
    torch.save({"generator": prefixed(original), "generator_ema": fsdp_named(ema), "step": 3}, tmp_path / "longlive_base.pt")
    model = fresh()
    load_generator_weights(model, tmp_path, variant="longlive")  # a folder: default file name, non-EMA
    assert_same_model(original, model)
    load_generator_weights(model, tmp_path / "longlive_base.pt", variant="longlive", use_ema=True)
    assert_same_model(ema, model)


def test_longlive_lora_merge_equals_explicit_sum(tmp_path):
    original = random_model(0)
    rank, alpha = 4, 8.0
    lora = peft_lora(original, rank, seed=5)
    torch.save({"generator": prefixed(original)}, tmp_path / "longlive_base.pt")
    torch.save({"generator_lora": lora, "critic_lora": {}}, tmp_path / "lora.pt")
    model = fresh()
    load_generator_weights(model, tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt", lora_alpha=alpha)
    expected = random_model(0)
    with torch.no_grad():
        for i in range(expected.config.num_layers):
            for target in LORA_TARGETS:
                base = f"base_model.model.blocks.{i}.{target}"
                a, b = lora[f"{base}.lora_A.weight"], lora[f"{base}.lora_B.weight"]
                expected.get_submodule(f"blocks.{i}.{target}").weight += (alpha / rank) * b @ a
    for key, value in expected.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(model.blocks[0].ffn[0].weight, original.blocks[0].ffn[0].weight)
    torch.testing.assert_close(model.head.head.weight, original.head.head.weight, rtol=0, atol=0)


def test_lora_alpha_defaults_to_rank():
    w = torch.randn(3, 5)
    a, b = torch.randn(2, 5), torch.randn(3, 2)
    merged = merge_lora({"blocks.0.ffn.0.weight": w}, {"base_model.model.blocks.0.ffn.0.lora_A.weight": a,
                                                      "base_model.model.blocks.0.ffn.0.lora_B.weight": b})
    torch.testing.assert_close(merged["blocks.0.ffn.0.weight"], w + b @ a)


def test_self_forcing_defaults_to_ema(tmp_path):
    regular, ema = random_model(0), random_model(1)
    torch.save({"generator": prefixed(regular), "generator_ema": fsdp_named(ema)}, tmp_path / "self_forcing_dmd.pt")
    model = fresh()
    load_generator_weights(model, tmp_path, variant="self-forcing")
    assert_same_model(ema, model)
    load_generator_weights(model, tmp_path, variant="self-forcing", use_ema=False)
    assert_same_model(regular, model)


def test_causvid(tmp_path):
    original = random_model(2)
    torch.save({"generator": prefixed(original)}, tmp_path / "model.pt")
    model = fresh()
    load_generator_weights(model, tmp_path, variant="causvid")
    assert_same_model(original, model)


def test_wan_safetensors(tmp_path):
    original = random_model(3)
    save_file({k: v.contiguous() for k, v in original.state_dict().items()},
              str(tmp_path / "diffusion_pytorch_model.safetensors"))
    model = fresh()
    load_generator_weights(model, tmp_path, variant="wan")
    assert_same_model(original, model)


def test_missing_ema_falls_back_with_warning(tmp_path, caplog):
    original = random_model(0)
    torch.save({"generator": prefixed(original)}, tmp_path / "model.pt")
    model = fresh()
    with caplog.at_level(logging.WARNING):
        load_generator_weights(model, tmp_path, variant="causvid", use_ema=True)
    assert "no 'generator_ema'" in caplog.text
    assert_same_model(original, model)


def test_missing_file_names_the_release(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_generator_weights(fresh(), tmp_path, variant="longlive")
    message = str(info.value)
    assert "longlive_base.pt" in message and "Efficient-Large-Model/LongLive-1.3B" in message
    assert str(tmp_path / "longlive_base.pt") in message
    torch.save({"generator": prefixed(random_model(0))}, tmp_path / "longlive_base.pt")
    with pytest.raises(FileNotFoundError, match="lora.pt: not found"):
        load_generator_weights(fresh(), tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt")
    with pytest.raises(ValueError, match="variant='sora'"):
        load_generator_weights(fresh(), tmp_path, variant="sora")


def test_corrupt_files(tmp_path):
    torch.save({"generator": prefixed(random_model(0))}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator_weights(fresh(), tmp_path, variant="causvid")
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint at all" * 8)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_generator_weights(fresh(), tmp_path, variant="causvid")
    (tmp_path / "diffusion_pytorch_model.safetensors").write_bytes(b"\x10\x00garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_generator_weights(fresh(), tmp_path, variant="wan")
    torch.save([1, 2, 3], tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="holds a list"):
        load_generator_weights(fresh(), tmp_path, variant="causvid")
    torch.save({"critic": prefixed(random_model(0))}, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"no generator state dict found.*'critic'"):
        load_generator_weights(fresh(), tmp_path, variant="causvid")


def test_pickled_objects_need_allow_pickle(tmp_path):
    original = random_model(0)
    torch.save({"generator": prefixed(original), "config": argparse.Namespace(lr=1.0)}, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="allow_pickle=True"):
        read_checkpoint(tmp_path / "model.pt")
    model = fresh()
    load_generator_weights(model, tmp_path, variant="causvid", allow_pickle=True)
    assert_same_model(original, model)


def test_mismatched_checkpoint_lists_keys(tmp_path):
    state = prefixed(random_model(0))
    del state["model.blocks.1.ffn.0.weight"], state["model.blocks.1.ffn.0.bias"]
    state["model.blocks.0.extra.weight"] = torch.zeros(2)
    state["model.head.head.weight"] = torch.zeros(5, 32)
    torch.save({"generator": state}, tmp_path / "longlive_base.pt")
    with pytest.raises(CheckpointError) as info:
        load_generator_weights(fresh(), tmp_path, variant="longlive")
    message = str(info.value)
    assert str(tmp_path / "longlive_base.pt") in message
    assert "2 missing (blocks.1.ffn.0.bias, blocks.1.ffn.0.weight)" in message
    assert "1 unexpected (blocks.0.extra.weight)" in message
    assert "1 mis-shaped (head.head.weight: file (5, 32) vs model (48, 32))" in message


def test_a_wrong_base_under_a_lora_is_named_not_the_lora(tmp_path):
    original = random_model(0)
    torch.save({"generator": {"decoder.conv_in.weight": torch.zeros(4, 4)}}, tmp_path / "longlive_base.pt")  # a VAE's
    torch.save({"generator_lora": peft_lora(original, 2, seed=0)}, tmp_path / "lora.pt")
    with pytest.raises(CheckpointError) as err:
        load_generator_weights(fresh(), tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt")
    assert str(err.value).startswith(str(tmp_path / "longlive_base.pt")) and "lora.pt" not in str(err.value)


def test_bad_lora_files(tmp_path):
    original = random_model(0)
    torch.save({"generator": prefixed(original)}, tmp_path / "longlive_base.pt")
    lora = peft_lora(original, 2, seed=0)
    lora.pop("base_model.model.blocks.0.ffn.0.lora_B.weight")
    torch.save({"generator_lora": lora}, tmp_path / "lora.pt")
    with pytest.raises(CheckpointError, match="without both lora_A and lora_B.*blocks.0.ffn.0"):
        load_generator_weights(fresh(), tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt")
    lora = peft_lora(original, 2, seed=0)
    lora["base_model.model.blocks.5.ffn.0.lora_A.weight"] = torch.zeros(2, 32)
    lora["base_model.model.blocks.5.ffn.0.lora_B.weight"] = torch.zeros(64, 2)
    torch.save({"generator_lora": lora}, tmp_path / "lora.pt")
    with pytest.raises(CheckpointError, match="absent from the base weights.*blocks.5.ffn.0.weight"):
        load_generator_weights(fresh(), tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt")
    lora = peft_lora(original, 2, seed=0)
    lora["base_model.model.blocks.0.ffn.0.lora_A.weight"] = torch.zeros(2, 7)
    torch.save({"generator_lora": lora}, tmp_path / "lora.pt")
    with pytest.raises(CheckpointError, match="does not fit the base weight"):
        load_generator_weights(fresh(), tmp_path, variant="longlive", lora_path=tmp_path / "lora.pt")


def test_strip_leading_prefix_picks_best_match():
    expected = ["blocks.0.w", "head.w"]
    sd = {"model.blocks.0.w": torch.ones(1), "model.head.w": torch.ones(1)}
    assert set(strip_leading_prefix(sd, expected)) == set(expected)
    assert set(strip_leading_prefix({"head.w": torch.ones(1)}, expected)) == {"head.w"}
