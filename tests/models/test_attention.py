"""run.attention: which SDPA kernel the chunk path tries first, and that the choice reaches every forward."""

import dataclasses

import pytest
import torch
from torch.nn.attention import SDPBackend

from streamt1 import api
from streamt1.config import ATTENTION_CHOICES, ConfigError, build_config
from streamt1.models.causal_wan import SDPA_KERNELS, CausalWan, sdpa_order
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.kv_cache import KVCache
from streamt1.models.causal_wan import rope_frame_angles

SHAPE = (12, 3, 4, 4)  # tiny-test latent chunk (C, F, h, w)


def test_every_named_choice_is_a_kernel_and_the_config_owns_the_names():
    assert set(ATTENTION_CHOICES) == {"auto", "default", *SDPA_KERNELS}


@pytest.mark.parametrize("name", list(SDPA_KERNELS))
def test_a_named_kernel_goes_first_with_the_others_kept_as_fallbacks(name):
    order = sdpa_order(name, torch.device("cpu"))
    assert order[0] is SDPA_KERNELS[name]
    assert sorted(order, key=int) == sorted(SDPA_KERNELS.values(), key=int)  # each once, none disabled


def test_auto_and_default_keep_pytorchs_order_off_hopper():
    assert sdpa_order("auto", torch.device("cpu")) is None
    assert sdpa_order("default", torch.device("cpu")) is None


def test_unknown_choices_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="attention='fast'.*auto, default, flash, cudnn"):
        sdpa_order("fast", torch.device("cpu"))
    with pytest.raises(ConfigError, match="run.attention"):
        build_config("none", attention="fast")


def tiny_model_and_cache(device: str = "cpu", dtype: torch.dtype = torch.float32, **sizes) -> tuple[CausalWan, KVCache]:
    model = CausalWan(dataclasses.replace(WanConfig.preset("tiny-test"), num_layers=2, **sizes))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)
    model = model.to(device=device, dtype=dtype)
    cfg, stream = model.config, StreamConfig(window_frames=6)
    tokens = SHAPE[2] * SHAPE[3] // 4
    cache = KVCache.empty(2, cfg.num_layers, cfg.num_heads, cfg.head_dim, tokens, stream, device=device,
                          dtype=dtype, frame_angles=rope_frame_angles(cfg))
    kv_shape = (2, stream.chunk_frames * tokens, cfg.num_heads, cfg.head_dim)
    kv = [torch.randn(kv_shape, generator=g).to(device, dtype) for _ in range(cfg.num_layers)]
    return model, cache.append_chunk(kv, kv, torch.arange(stream.chunk_frames))


def test_the_preferred_kernel_is_in_force_inside_every_chunk_forward_and_only_there():
    model, cache = tiny_model_and_cache()
    model.set_attention("math")
    seen = []
    model.blocks[0].register_forward_pre_hook(lambda *_: seen.append(torch._C._get_sdp_priority_order()))
    text = model.encode_text(torch.randn(1, 6, model.config.text_dim, generator=torch.Generator().manual_seed(1)))
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(2))
    t = torch.full((2, SHAPE[1]), 500.0)
    outside = torch._C._get_sdp_priority_order()
    with torch.no_grad():
        flow = model.forward_chunk(x, t, text, cache, torch.tensor([0, 1])).flow
        model.chunk_kv(x, t * 0, text, cache, torch.tensor([1, 0]))
    assert len(seen) == 2 and all(order[0] == int(SDPBackend.MATH) for order in seen), seen
    assert torch._C._get_sdp_priority_order() == outside  # restored after the forward
    model.set_attention("default")
    with torch.no_grad():
        again = model.forward_chunk(x, t, text, cache, torch.tensor([0, 1])).flow
    torch.testing.assert_close(again, flow, rtol=1e-4, atol=1e-5)  # kernels differ in rounding only
    assert flow.abs().mean() > 0.05


def test_the_choice_is_resolved_for_the_inputs_device_at_every_forward(monkeypatch):
    """A model moved to another device after set_attention gets that device's kernels (auto: cuDNN
    first on Hopper only), so the choice is kept, not its resolution for the device of the moment."""
    from streamt1.models import causal_wan

    model, cache = tiny_model_and_cache()
    model.set_attention("auto")
    asked = []
    resolve = causal_wan.sdpa_order
    monkeypatch.setattr(causal_wan, "sdpa_order", lambda choice, device: asked.append((choice, device))
                        or resolve(choice, device))
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(2))
    text = model.encode_text(torch.randn(1, 6, model.config.text_dim, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        model.forward_chunk(x, torch.full((2, SHAPE[1]), 500.0), text, cache, torch.tensor([0, 1]))
    assert asked == [("auto", x.device)]
    with pytest.raises(ValueError, match="attention='fast'"):  # refused when chosen, not at the next forward
        model.set_attention("fast")
    assert model.attention == "auto"


def test_run_attention_reaches_the_generator_and_backends_without_kernels_refuse_it():
    components = api.load_components(build_config("none", attention="math", device="cpu"))
    assert components.generator.model.attention_order[0] is SDPBackend.MATH
    assert build_config("none").run.attention == "auto"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_kernels_agree_and_auto_prefers_cudnn_on_hopper():
    """On the GPU every preference serves the bf16 chunk forward, to bf16 tolerance of the math kernel.

    Which kernel finally runs is PyTorch's to decide among the ones that take the shape: on the H200
    (torch 2.11) the profiler showed cuDNN serving this model even with FlashAttention preferred."""
    # head size 64: every kernel takes it (tiny-test's 16 is below what cuDNN takes)
    model, cache = tiny_model_and_cache("cuda", torch.bfloat16, dim=128, ffn_dim=256, num_heads=2)
    text = model.encode_text(torch.randn(1, 6, model.config.text_dim, generator=torch.Generator().manual_seed(1)))
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(2)).cuda()
    t = torch.full((2, SHAPE[1]), 500.0, device="cuda")
    flows = {}
    for name in ("math", "default", "flash", "cudnn", "efficient"):
        model.set_attention(name)
        with torch.no_grad():
            flows[name] = model.forward_chunk(x, t, text, cache, torch.tensor([0, 1])).flow.float()
    scale = flows["math"].abs().mean()
    assert scale > 0.05
    for name, flow in flows.items():
        assert (flow - flows["math"]).abs().mean() / scale < 2**-6, name
    model.set_attention("auto")
    if torch.cuda.get_device_capability() == (9, 0):
        assert model.attention_order[0] is SDPBackend.CUDNN_ATTENTION
