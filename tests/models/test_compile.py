"""The compiled path (run.compile): same outputs as eager, and no graph breaks or recompiles across chunks."""

import dataclasses

import pytest
import torch
import torch._dynamo
from torch._dynamo.testing import CompileCounterWithBackend
from torch._dynamo.utils import counters

from streamt1.config import build_config
from streamt1.interfaces import Route, SinkLimits
from streamt1.models.causal_wan import EAGER_STAGES, CausalWan
from streamt1.models.codec import PixelUnshuffleCodec
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator

SHAPE = (12, 3, 4, 4)  # tiny-test latent chunk (C, F, h, w)
LIMITS = SinkLimits(max_sink_frames=9, ema_decay=0.9)


def make_generator(device: str, dtype: torch.dtype) -> CausalWanGenerator:
    # 4 blocks: one compiled graph pair must serve them all (a graph per block would exceed the counts below)
    model = CausalWan(dataclasses.replace(WanConfig.preset("tiny-test"), num_layers=4))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)

    def text_encoder(prompts: list[str]) -> torch.Tensor:
        return torch.randn(len(prompts), 6, 12, generator=torch.Generator().manual_seed(1))

    return CausalWanGenerator(model, StreamConfig(window_frames=6), text_encoder, PixelUnshuffleCodec(2), (4, 4),
                              fps=16, device=device, dtype=dtype)


def stream(generator: CausalWanGenerator, chunks: int, after_chunk=lambda n, state: None) -> torch.Tensor:
    """Stream-T1's shapes: 4 candidates from one root, then 2 per history of 2; survivors from both
    parents; APPEND and EMA routes once the window evicts (sinks grow, so attention is masked)."""
    state = generator.initial_state(generator.encode_prompt("a fox"), 1)
    kept, padded = [], False
    for n in range(chunks):
        parents = torch.zeros(4, dtype=torch.long) if n == 0 else torch.tensor([0, 0, 1, 1])
        noise = torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(n))
        gens = [torch.Generator(generator.device).manual_seed(10 * n + i) for i in range(4)]
        latents = generator.denoise(state, parents, noise.to(generator.device), gens)
        decoded = generator.decode(state, parents, latents)
        keep = torch.tensor([3, 0])
        routes = [Route.APPEND, Route.EMA] if generator.evicted_chunk(state) is not None else [Route.DISCARD] * 2
        state, _ = generator.commit(state, parents[keep], latents[keep], generator.select_decoded(decoded, keep),
                                    routes, LIMITS)
        kept.append(latents)
        padded |= state.cache.has_padding
        after_chunk(n, state)
    assert padded and max(state.sink_frames()) > 3  # sinks grew to different lengths on the way
    return torch.stack(kept).float()


def test_compiled_blocks_equal_eager_without_graph_breaks_or_recompiles_across_chunks():
    torch._dynamo.reset()
    counters.clear()
    eager = stream(make_generator("cpu", torch.float32), 6)
    generator = make_generator("cpu", torch.float32)
    counter = CompileCounterWithBackend("aot_eager")  # inductor would take minutes on this CPU
    generator.compile(backend=counter)
    compiled_frames = []
    compiled = stream(generator, 6, after_chunk=lambda n, state: compiled_frames.append(counter.frame_count))
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-5)
    assert eager.abs().mean() > 0.1
    assert not counters["graph_break"], dict(counters["graph_break"])
    # The first chunks compile (static shapes, then a dynamic batch); later chunks, with the window
    # rolling, sinks growing and padded, reuse the graphs: one pair for all blocks and chunks.
    assert 0 < compiled_frames[2] <= 8 and compiled_frames[-1] == compiled_frames[2], compiled_frames
    torch._dynamo.reset()


def test_run_compile_is_a_run_setting_off_by_default():
    assert build_config("none").run.compile is False
    assert build_config("none", compile=True).run.compile is True


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_compiled_bf16_cuda_agrees_with_eager():
    """Inductor on the GPU: each chunk forward of a bf16 stream (candidates sharing parents, the clean
    pass of survivors, padded sinks) agrees with eager to bf16 tolerance on the same cache."""
    torch._dynamo.reset()
    generator = make_generator("cuda", torch.bfloat16)
    model = generator.model
    model.compile_blocks()
    compiled_stages, model.stages = model.stages, EAGER_STAGES
    text = generator.encode_prompt("a fox")
    diffs = []

    def compare(n: int, state) -> None:
        x = torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(100 + n)).cuda()
        for parents, t in ((torch.tensor([0, 0, 1, 1]), 700.0), (torch.tensor([1, 0]), 0.0)):
            xs, ts = x[: len(parents)], torch.full((len(parents), SHAPE[1]), t, device="cuda")
            with torch.no_grad():
                model.stages = EAGER_STAGES
                eager = model.forward_chunk(xs, ts, text, state.cache, parents, return_kv=True)
                model.stages = compiled_stages
                compiled = model.forward_chunk(xs, ts, text, state.cache, parents, return_kv=True)
                model.stages = EAGER_STAGES
            torch.testing.assert_close(compiled.flow.float(), eager.flow.float(), rtol=3e-2, atol=3e-2)
            torch.testing.assert_close(compiled.keys[-1].float(), eager.keys[-1].float(), rtol=3e-2, atol=3e-2)
            scale = eager.flow.float().abs().mean().item()
            diffs.append((compiled.flow.float() - eager.flow.float()).abs().mean().item() / scale)

    stream(generator, 5, after_chunk=compare)
    # Relative to the output: bf16 keeps 8 bits (0.4 %), and fused kernels round at other places, so a
    # few bf16 steps apart; a different computation would be O(1) apart.
    assert max(diffs) < 2**-6, diffs
    torch._dynamo.reset()
