"""Prompt switches: LongLive's re-cache equals re-computing the cached frames under the new prompt."""

import dataclasses

import pytest
import torch

from streamt1.interfaces import Route
from streamt1.models.causal_wan import block_causal_mask
from streamt1.models.codec import PixelUnshuffleCodec
from streamt1.models.generator import CausalWanGenerator
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from test_generator import LIMITS, make_generator

PROMPT_A, PROMPT_B = "a red circle moves left", "a large blue square moves up over a green background"
VIDEO_FRAMES = 48  # the video's length, which a model told each frame's progress (the Sprites default) needs


def with_stream(gen: CausalWanGenerator, **changes) -> CausalWanGenerator:
    stream = dataclasses.replace(gen.stream, **changes)
    return CausalWanGenerator(gen.model, stream, gen.text_encoder, gen.codec, gen.latent_size, gen.fps,
                              gen.device, gen.model.dtype)


@pytest.fixture(scope="module")
def tiny():
    return make_generator(window_frames=9)


@pytest.fixture(scope="module")
def sprites():
    return build_generator(SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR))


def chunk_latents(gen, count: int, histories: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(histories, *gen.spec.latent_shape, generator=g).to(gen.model.dtype) for _ in range(count)]


def stream_chunks(gen, prompt: str, chunks: list[torch.Tensor], routes=()) -> object:
    """Commit clean ``chunks`` (each ``[B, C, F, H, W]``) under ``prompt``; ``routes[i]`` for chunk i's commit."""
    b = chunks[0].shape[0]
    state = gen.initial_state(gen.encode_prompt(prompt, VIDEO_FRAMES), b)
    rows = torch.arange(b)
    for i, latents in enumerate(chunks):
        route = list(routes[i]) if i < len(routes) else [Route.DISCARD] * b
        state, _ = gen.commit(state, rows, latents, gen.decode(state, rows, latents), route, LIMITS)
    return state


def test_recache_of_a_cache_that_holds_every_frame_equals_streaming_them_under_the_new_prompt(tiny):
    gen = with_stream(tiny, global_sink=False)
    chunks = chunk_latents(gen, 3, 2)  # sink + two window chunks: nothing evicted yet
    switched = gen.switch_prompt(stream_chunks(gen, PROMPT_A, chunks), gen.encode_prompt(PROMPT_B, VIDEO_FRAMES))
    scratch = stream_chunks(gen, PROMPT_B, chunks)
    old = stream_chunks(gen, PROMPT_A, chunks)
    for layer in range(gen.model.config.num_layers):
        for got, want, before in zip(switched.cache.layer(layer), scratch.cache.layer(layer), old.cache.layer(layer)):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
            if layer > 0:  # layer 0's K/V come before any cross-attention: the prompt changes the rest
                assert not torch.allclose(got, before)
    assert torch.equal(switched.cache.positions, scratch.cache.positions)


def next_chunk_flow(gen, state, x: torch.Tensor, t: float) -> torch.Tensor:
    timesteps = torch.full((x.shape[0], x.shape[2]), t, dtype=torch.float64)
    return gen.model.forward_chunk(x, timesteps, state.text, state.cache).flow


def full_forward_flow(gen, prompt: str, cached: torch.Tensor, positions: torch.Tensor, x: torch.Tensor, t: float,
                      chunk_start: int) -> torch.Tensor:
    """The whole sequence (cached clean frames, then the noisy chunk at ``chunk_start``) from scratch,
    block-causally."""
    seq = torch.cat([cached, x], dim=1)[None]  # [1, C, F, H, W]
    c = gen.stream.chunk_frames
    frames = seq.shape[2]
    timesteps = torch.cat([torch.zeros(cached.shape[1]), torch.full((x.shape[1],), t)])[None].double()
    all_positions = torch.cat([positions, torch.arange(x.shape[1]) + chunk_start])
    flow = gen.model.forward(seq.to(gen.model.dtype), timesteps, gen.encode_prompt(prompt, VIDEO_FRAMES), all_positions,
                             block_causal_mask(frames, c))
    return flow[0, :, -x.shape[1]:]


@pytest.mark.parametrize("which", ["tiny", "sprites"])
def test_recache_after_evictions_and_appends_equals_the_full_sequence_under_the_new_prompt(which, request):
    gen = with_stream(request.getfixturevalue(which), global_sink=False)
    if which == "tiny":
        gen = with_stream(gen, window_frames=6)  # one window chunk: chunks leave early
    chunks = chunk_latents(gen, 6 if which == "tiny" else 5, 2, seed=1)
    append, discard = (Route.APPEND, Route.DISCARD), (Route.DISCARD, Route.DISCARD)
    state = stream_chunks(gen, PROMPT_A, chunks, routes=[discard, discard, append, discard, append, discard])
    assert state.sink_frames()[0] > state.sink_frames()[1]  # history 0's sink grew: padding in history 1
    state = gen.switch_prompt(state, gen.encode_prompt(PROMPT_B, VIDEO_FRAMES))
    x = torch.randn(2, *gen.spec.latent_shape, generator=torch.Generator().manual_seed(9)).to(gen.model.dtype)
    got = next_chunk_flow(gen, state, x, 600.0)
    cache = state.cache
    for b in range(2):
        slots = cache.valid[b]
        cached = cache.latents[b][slots].transpose(0, 1)  # [C, F, H, W] of the cached frames
        positions = cache.positions[b][slots]
        want = full_forward_flow(gen, PROMPT_B, cached.to(gen.model.dtype), positions, x[b], 600.0,
                                 cache.next_frame)
        tol = 1e-9 if gen.model.dtype == torch.float64 else 2e-4
        torch.testing.assert_close(got[b], want, rtol=tol, atol=tol)


def test_global_sink_keeps_the_sink_and_recaches_only_the_window(tiny):
    gen = tiny  # global_sink is the default (LongLive's)
    assert gen.stream.global_sink
    chunks = chunk_latents(gen, 4, 2, seed=2)
    before = stream_chunks(gen, PROMPT_A, chunks)
    after = gen.switch_prompt(stream_chunks(gen, PROMPT_A, chunks), gen.encode_prompt(PROMPT_B, VIDEO_FRAMES))
    cut = before.cache.sink_capacity * before.cache.tokens_per_frame
    k_before, _ = before.cache.layer(1)
    k_after, _ = after.cache.layer(1)
    assert torch.equal(k_after[:, :cut], k_before[:, :cut])  # the sink keeps the first prompt's K/V
    assert not torch.allclose(k_after[:, cut:], k_before[:, cut:])
    assert after.text is not before.text and after.num_histories == 2


def test_switch_before_any_chunk_only_swaps_the_prompt(tiny):
    state = tiny.initial_state(tiny.encode_prompt(PROMPT_A, VIDEO_FRAMES), 1)
    new = tiny.encode_prompt(PROMPT_B, VIDEO_FRAMES)
    switched = tiny.switch_prompt(state, new)
    assert switched.text is new and switched.cache is state.cache


def test_pixel_codec_latents_kept_by_the_cache_are_the_committed_ones(tiny):
    chunks = chunk_latents(tiny, 2, 1, seed=3)
    state = stream_chunks(tiny, PROMPT_A, chunks)
    kept = state.cache.latents[0].transpose(0, 1)
    assert torch.equal(kept.to(chunks[0].dtype), torch.cat(chunks, dim=2)[0])
    assert isinstance(tiny.codec, PixelUnshuffleCodec)
