import dataclasses

import pytest
import torch

from streamt1.config import ConfigError
from streamt1.interfaces import HistoryState, Route, SinkLimits, StreamingGenerator
from streamt1.models.causal_wan import CausalWan
from streamt1.models.codec import PixelUnshuffleCodec
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator

SHAPE = (12, 3, 4, 4)  # tiny-test latent chunk (C, F, h, w); PixelUnshuffleCodec(2) -> 8x8 RGB


def text_encoder(prompts: list[str]) -> torch.Tensor:
    """Deterministic stand-in for umT5: a fixed pattern per prompt length, padding zeroed."""
    out = torch.zeros(len(prompts), 6, 12)
    for i, p in enumerate(prompts):
        g = torch.Generator().manual_seed(len(p))
        n = min(len(p.split()), 6)
        out[i, :n] = torch.randn(n, 12, generator=g)
    return out


LIMITS = SinkLimits(max_sink_frames=6, ema_decay=0.999)


def make_generator(window_frames: int = 6, progress: bool = False, **stream_fields) -> CausalWanGenerator:
    model = CausalWan(dataclasses.replace(WanConfig.preset("tiny-test"), progress_embedding=progress))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)
    if progress:  # zero at initialisation, like Wan's head
        torch.nn.init.normal_(model.progress_embedding[2].weight, std=0.2, generator=g)
    stream = StreamConfig(window_frames=window_frames, **stream_fields)
    codec = PixelUnshuffleCodec(2)
    return CausalWanGenerator(model, stream, text_encoder, codec, (4, 4), fps=16, dtype=torch.float64)


def noise(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def gens(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_is_a_streaming_generator_with_the_right_spec():
    gen = make_generator()
    assert isinstance(gen, StreamingGenerator)
    spec = gen.spec
    assert spec.latent_shape == SHAPE and spec.height == spec.width == 8
    assert spec.frames_per_chunk == spec.first_chunk_frames == 3 and spec.fps == 16
    state = gen.initial_state(gen.encode_prompt("a red ball"), 2)
    assert isinstance(state, HistoryState) and state.num_histories == 2 and state.sink_frames() == [0, 0]


def test_same_noise_and_generators_give_identical_latents_and_state_is_untouched():
    gen = make_generator()
    state = gen.initial_state(gen.encode_prompt("a red ball"), 1)
    parents = torch.zeros(2, dtype=torch.long)
    a = gen.denoise(state, parents, noise(2, 1), gens(5, 6))
    b = gen.denoise(state, parents, noise(2, 1), gens(5, 6))
    c = gen.denoise(state, parents, noise(2, 1), gens(5, 7))
    assert torch.equal(a, b)
    assert torch.equal(a[0], c[0]) and not torch.equal(a[1], c[1])  # fresh noise is per candidate
    state, _ = gen.commit(state, parents[:1], a[:1], gen.decode(state, parents[:1], a[:1]), [], LIMITS)
    before = [k.clone() for k in state.cache.keys], state.cache.positions.clone()
    gen.denoise(state, torch.zeros(1, dtype=torch.long), noise(1, 2), gens(8))
    assert all(torch.equal(x, y) for x, y in zip(before[0], state.cache.keys))
    assert torch.equal(before[1], state.cache.positions) and state.num_chunks == 1


def test_a_batch_of_candidates_equals_each_candidate_alone():
    gen = make_generator()
    state = gen.initial_state(gen.encode_prompt("two sprites dance"), 2)
    for j in range(2):  # two different committed histories
        lat = gen.denoise(state, torch.tensor([0, 1]), noise(2, 10 + j), gens(1, 2))
        rows = torch.tensor([0, 1])
        state, _ = gen.commit(state, rows, lat, gen.decode(state, rows, lat), [], LIMITS)
    parents = torch.tensor([1, 0, 1])
    together = gen.denoise(state, parents, noise(3, 20), gens(3, 4, 5))
    for i in range(3):
        alone = gen.denoise(state, parents[i : i + 1], noise(3, 20)[i : i + 1], gens(3 + i))
        torch.testing.assert_close(together[i : i + 1], alone, rtol=1e-5, atol=1e-6)


def test_beam_loop_routes_evicted_chunks_and_keeps_decoded_frames():
    gen = make_generator()
    state = gen.initial_state(gen.encode_prompt("a sprite"), 1)
    parents = torch.zeros(4, dtype=torch.long)
    evicted, sinks, applied = [], [], []
    for j in range(4):
        lat = gen.denoise(state, parents, noise(4, 30 + j), gens(*range(4 * j, 4 * j + 4)))
        decoded = gen.decode(state, parents, lat)
        assert decoded.frames.shape == (4, 3, 3, 8, 8)
        assert decoded.frames.min() >= 0 and decoded.frames.max() <= 1
        keep = torch.tensor([0, 3])  # "top-2" survivors, one per parent from chunk 1 on
        evicted.append(gen.evicted_chunk(state))
        survivors = gen.select_decoded(decoded, keep)
        assert torch.equal(survivors.frames, decoded.frames[keep])
        state, routes = gen.commit(state, parents[keep], lat[keep], survivors, [Route.APPEND, Route.EMA], LIMITS)
        applied.append(routes)
        sinks.append(state.sink_frames())
        parents = torch.tensor([0, 0, 1, 1])
    assert evicted == [None, None, 1, 2]
    # APPEND grew row 0's sink to max_sink_frames (6); the next APPEND fell back to EMA
    assert sinks == [[3, 3], [3, 3], [6, 3], [6, 3]]
    # commit returns the routes it really applied: nothing left at first, then the full sink's EMA
    assert applied == [[None, None], [None, None], [Route.APPEND, Route.EMA], [Route.EMA, Route.EMA]]
    assert state.num_chunks == 4


def test_commit_of_a_candidate_continues_like_a_single_path_run():
    gen = make_generator()
    prompt = gen.encode_prompt("a sprite")
    wide = gen.initial_state(prompt, 1)
    lat = gen.denoise(wide, torch.zeros(2, dtype=torch.long), noise(2, 40), gens(1, 2))
    wide, _ = gen.commit(wide, torch.tensor([0]), lat[1:], gen.decode(wide, torch.tensor([0]), lat[1:]), [], LIMITS)
    narrow = gen.initial_state(prompt, 1)
    single = gen.denoise(narrow, torch.zeros(1, dtype=torch.long), noise(2, 40)[1:], gens(2))
    torch.testing.assert_close(single, lat[1:], rtol=1e-5, atol=1e-6)
    root = torch.tensor([0])
    narrow, _ = gen.commit(narrow, root, single, gen.decode(narrow, root, single), [], LIMITS)
    a = gen.denoise(wide, torch.zeros(1, dtype=torch.long), noise(1, 41), gens(9))
    b = gen.denoise(narrow, torch.zeros(1, dtype=torch.long), noise(1, 41), gens(9))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_commit_consumes_the_state_it_was_given():
    gen = make_generator()
    state = gen.initial_state(gen.encode_prompt("a sprite"), 1)
    parents = torch.zeros(1, dtype=torch.long)
    lat = gen.denoise(state, parents, noise(1, 50), gens(1))
    nxt, _ = gen.commit(state, parents, lat, gen.decode(state, parents, lat), [], LIMITS)
    assert nxt.num_chunks == 1
    with pytest.raises(RuntimeError, match="consumed by commit_"):
        gen.denoise(state, parents, noise(1, 51), gens(2))


def test_bad_arguments_are_refused():
    gen = make_generator()
    state = gen.initial_state(gen.encode_prompt("x"), 1)
    with pytest.raises(ValueError, match="noise must be"):
        gen.denoise(state, torch.zeros(1, dtype=torch.long), torch.zeros(1, 12, 3, 4, 2), gens(0))
    with pytest.raises(ValueError, match="one generator"):
        gen.denoise(state, torch.zeros(2, dtype=torch.long), noise(2, 0), gens(0))


class CountingEncoder:
    """The stand-in encoder, counting its calls (weak-referenceable, to see it freed)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        self.calls += 1
        return text_encoder(prompts)


def test_kept_prompts_encode_the_same_after_the_text_encoder_is_released():
    import gc
    import weakref

    gen = make_generator()
    encoder = CountingEncoder()
    gen.text_encoder, alive = encoder, weakref.ref(encoder)
    prompts = ["a red cat runs", "waves and birds at dusk"]
    before = [gen.encode_prompt(p) for p in prompts]
    gen.keep_prompts(prompts + prompts[:1])  # each distinct prompt encoded once
    assert encoder.calls == 2 + 2
    del encoder
    gen.release_text_encoder()
    gc.collect()
    assert alive() is None  # nothing else holds the encoder: its memory is free
    for prompt, expected in zip(prompts, before):
        kv = gen.encode_prompt(prompt)
        for ours, theirs in zip(kv.keys + kv.values, expected.keys + expected.values):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    with pytest.raises(ValueError, match="was not kept before the text encoder was released"):
        gen.encode_prompt("an unseen prompt")
    with pytest.raises(ValueError, match="text encoder was released"):
        gen.keep_prompts(["another unseen prompt"])


def test_first_chunk_substeps_split_every_step_of_the_first_chunk_only():
    fine, coarse = make_generator(first_chunk_substeps=3, sampler="euler"), make_generator(sampler="euler")
    steps = fine.stream.first_chunk_steps
    assert steps[:4] == pytest.approx((1000, 1000 - 250 / 3, 1000 - 500 / 3, 750))
    assert len(steps) == 12 and steps[-1] == pytest.approx(250 / 3)  # the last interval, down to 0, is split too
    # The fine first chunk is a generator whose own schedule is the fine one.
    reference = make_generator(denoising_steps=steps, sampler="euler")
    root = torch.zeros(1, dtype=torch.long)
    gens_by_name = {"fine": fine, "coarse": coarse, "reference": reference}
    states = {name: g.initial_state(g.encode_prompt("a sprite"), 1) for name, g in gens_by_name.items()}
    first = {name: g.denoise(states[name], root, noise(1, 3), gens(4)) for name, g in gens_by_name.items()}
    torch.testing.assert_close(first["fine"], first["reference"], rtol=0, atol=0)
    assert (first["fine"] - first["coarse"]).abs().max() > 1e-4
    # The engine's steps still count coarse steps: pausing after step 1 (early pruning) changes nothing.
    x, _ = fine.denoise_steps(states["fine"], root, noise(1, 3), gens(4), 0, 1)
    resumed, _ = fine.denoise_steps(states["fine"], root, x, gens(4), 1, fine.num_denoising_steps)
    torch.testing.assert_close(resumed, first["fine"], rtol=0, atol=0)
    # After the first chunk both generators take the same (coarse) steps from the same state.
    decoded = fine.decode(states["fine"], root, first["fine"])
    state, _ = fine.commit(states["fine"], root, first["fine"], decoded, [], LIMITS)
    torch.testing.assert_close(fine.denoise(state, root, noise(1, 5), gens(6)),
                               coarse.denoise(state, root, noise(1, 5), gens(6)), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="first_chunk_substeps"):
        StreamConfig(first_chunk_substeps=0)


def test_first_chunk_eta_draws_fresh_noise_in_the_first_chunk_only():
    stochastic, plain = make_generator(first_chunk_eta=0.3, sampler="euler"), make_generator(sampler="euler")
    root = torch.zeros(1, dtype=torch.long)
    states = {name: g.initial_state(g.encode_prompt("a sprite"), 1)
              for name, g in (("stochastic", stochastic), ("plain", plain))}
    first = stochastic.denoise(states["stochastic"], root, noise(1, 3), gens(4))
    torch.testing.assert_close(first, stochastic.denoise(states["stochastic"], root, noise(1, 3), gens(4)),
                               rtol=0, atol=0)  # the candidate's generator draws it: same seed, same chunk
    assert (first - plain.denoise(states["plain"], root, noise(1, 3), gens(4))).abs().max() > 1e-4
    decoded = stochastic.decode(states["stochastic"], root, first)
    state, _ = stochastic.commit(states["stochastic"], root, first, decoded, [], LIMITS)
    torch.testing.assert_close(stochastic.denoise(state, root, noise(1, 5), gens(6)),
                               plain.denoise(state, root, noise(1, 5), gens(6)), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="first_chunk_eta"):
        StreamConfig(first_chunk_eta=0.3)  # LongLive's renoise sampler already draws all its noise fresh


def test_guidance_scale_zero_samples_the_null_prompt_and_one_is_no_guidance():
    parents = torch.zeros(2, dtype=torch.long)
    plain = make_generator()
    unguided = plain.denoise(plain.initial_state(plain.encode_prompt("a red ball"), 1), parents, noise(2, 1), gens(5, 6))
    null = plain.denoise(plain.initial_state(plain.encode_prompt(""), 1), parents, noise(2, 1), gens(5, 6))
    assert not torch.equal(unguided, null)
    for scale, expected in ((1.0, unguided), (0.0, null)):
        gen = make_generator(guidance_scale=scale)
        got = gen.denoise(gen.initial_state(gen.encode_prompt("a red ball"), 1), parents, noise(2, 1), gens(5, 6))
        assert torch.allclose(got, expected, atol=1e-12)


def test_a_length_conditioned_model_needs_the_length_and_guides_against_the_null_prompt_of_that_length():
    parents = torch.zeros(2, dtype=torch.long)
    plain = make_generator(progress=True)
    with pytest.raises(ValueError, match="pass video_frames"):
        plain.encode_prompt("a red ball")

    def sample(gen, prompt, frames):
        return gen.denoise(gen.initial_state(gen.encode_prompt(prompt, frames), 1), parents, noise(2, 1), gens(5, 6))

    assert int(plain.encode_prompt("a red ball", 12).video_frames) == 12
    assert not torch.equal(sample(plain, "", 12), sample(plain, "", 30))  # frames 1, 2 sit elsewhere in the video
    null_only = make_generator(progress=True, guidance_scale=0.0)
    for frames in (12, 30):
        torch.testing.assert_close(sample(null_only, "a red ball", frames), sample(plain, "", frames), rtol=0, atol=1e-12)


def test_guidance_extrapolates_the_flow_past_the_caption_on_the_guided_chunks_only():
    one_step = dict(denoising_steps=(1000.0,))  # x0 = x - v: linear in the flow, so linear in the scale
    parents = torch.zeros(1, dtype=torch.long)

    def first_two_chunks(gen, prompt):
        state = gen.initial_state(gen.encode_prompt(prompt), 1)
        a = gen.denoise(state, parents, noise(1, 1), gens(5))
        state, _ = gen.commit(state, parents, a, gen.decode(state, parents, a), [], LIMITS)
        return a, gen.denoise(state, parents, noise(1, 2), gens(6))

    cond = first_two_chunks(make_generator(**one_step), "a red ball")
    null = first_two_chunks(make_generator(**one_step), "")[0]
    guided = first_two_chunks(make_generator(**one_step, guidance_scale=3.0, guided_chunks=1), "a red ball")
    assert torch.allclose(guided[0], null + 3.0 * (cond[0] - null), atol=1e-10)
    # chunk 1 is not guided; it continues the guided chunk 0, so it equals a plain chunk after that chunk
    plain = make_generator(**one_step)
    state = plain.initial_state(plain.encode_prompt("a red ball"), 1)
    state, _ = plain.commit(state, parents, guided[0], plain.decode(state, parents, guided[0]), [], LIMITS)
    assert torch.allclose(guided[1], plain.denoise(state, parents, noise(1, 2), gens(6)), atol=1e-12)
    every = first_two_chunks(make_generator(**one_step, guidance_scale=3.0), "a red ball")
    assert not torch.allclose(every[1], guided[1])


def test_guidance_sigmas_guide_only_the_steps_in_the_band_and_count_their_passes():
    parents = torch.zeros(2, dtype=torch.long)
    steps = dict(denoising_steps=(1000.0, 750.0, 500.0, 250.0), shift=1.0)  # t / 1000 = 1, 0.75, 0.5, 0.25

    def sample(gen):
        return gen.denoise(gen.initial_state(gen.encode_prompt("a red ball"), 1), parents, noise(2, 1), gens(5, 6))

    unguided, everywhere = sample(make_generator(**steps)), sample(make_generator(**steps, guidance_scale=3.0))
    nowhere = make_generator(**steps, guidance_scale=3.0, guidance_sigmas=(0.1, 0.2))  # no step in the band
    torch.testing.assert_close(sample(nowhere), unguided, rtol=0, atol=1e-12)
    band = make_generator(**steps, guidance_scale=3.0, guidance_sigmas=(0.4, 0.8))  # the steps at 0.75 and 0.5
    banded = sample(band)
    assert not torch.allclose(banded, unguided) and not torch.allclose(banded, everywhere)
    assert band.model_passes(0, 0, 4) == 6 and band.model_passes(0, 0, 1) == 1 and band.model_passes(0, 1, 3) == 4
    assert nowhere.model_passes(0, 0, 4) == 4 and make_generator(**steps, guidance_scale=3.0).model_passes(0, 0, 4) == 8
    # the band is what the steps before it leave: the first step alone is the unguided one
    first = band.denoise_steps(band.initial_state(band.encode_prompt("a red ball"), 1), parents, noise(2, 1),
                               gens(5, 6), 0, 1)[0]
    plain = make_generator(**steps)
    torch.testing.assert_close(first, plain.denoise_steps(plain.initial_state(plain.encode_prompt("a red ball"), 1),
                                                          parents, noise(2, 1), gens(5, 6), 0, 1)[0], rtol=0, atol=1e-12)
    for band in ((0.5, 0.5), (0.8, 0.2), (-0.1, 0.5), (0.2, 1.5), (0.1,)):
        with pytest.raises(ConfigError, match="guidance_sigmas"):
            StreamConfig(guidance_sigmas=band)


def test_guidance_keeps_the_null_prompt_when_the_text_encoder_is_released():
    gen = make_generator(guidance_scale=2.0)
    gen.keep_prompts(["a red ball"])
    gen.release_text_encoder()
    state = gen.initial_state(gen.encode_prompt("a red ball"), 1)
    out = gen.denoise(state, torch.zeros(1, dtype=torch.long), noise(1, 1), gens(5))
    assert out.isfinite().all()


def _stream_of_chunks(gen, latents, chunks=2):
    """A one-history state after committing ``latents[i]`` ([1, *SHAPE]) for chunks 0 .. ``chunks - 1``."""
    parents = torch.zeros(1, dtype=torch.long)
    state = gen.initial_state(gen.encode_prompt("a red ball"), 1)
    for lat in latents[:chunks]:
        state, _ = gen.commit(state, parents, lat, gen.decode(state, parents, lat), [], LIMITS)
    return state


def test_still_guidance_extrapolates_away_from_the_past_standing_still_from_the_third_chunk_on():
    one_step = dict(denoising_steps=(1000.0,))  # x0 = x - v: linear in the flow, so linear in the weight
    parents = torch.zeros(1, dtype=torch.long)
    plain, guided = make_generator(**one_step), make_generator(**one_step, still_guidance=0.75)
    made, state, still_state = [], plain.initial_state(plain.encode_prompt("a red ball"), 1), None
    for chunk in range(2):  # chunks 0 and 1: nothing after the sink stands still, so both generators agree
        still_state = _stream_of_chunks(guided, made, chunk)
        x = guided.denoise(still_state, parents, noise(1, 10 + chunk), gens(chunk))
        made.append(plain.denoise(state, parents, noise(1, 10 + chunk), gens(chunk)))
        torch.testing.assert_close(x, made[-1], rtol=0, atol=0)
        state, _ = plain.commit(state, parents, made[-1], plain.decode(state, parents, made[-1]), [], LIMITS)
    caption = plain.denoise(state, parents, noise(1, 12), gens(2))
    # the past standing still: chunk 1 committed as three copies of its last frame, after the same sink
    frozen = made[1][:, :, -1:].expand_as(made[1]).contiguous()
    standing = plain.denoise(_stream_of_chunks(plain, [made[0], frozen]), parents, noise(1, 12), gens(2))
    assert not torch.allclose(caption, standing)
    got = guided.denoise(_stream_of_chunks(guided, made), parents, noise(1, 12), gens(2))
    # the sampler runs in float32 (the network here in float64)
    torch.testing.assert_close(got, caption + 0.75 * (caption - standing), rtol=0, atol=1e-5)
    assert guided.model_passes(1, 0, 1) == 1 and guided.model_passes(2, 0, 1) == 2


def test_still_guidance_in_a_noise_band_paused_between_steps_equals_one_call():
    steps = dict(denoising_steps=(1000.0, 750.0, 500.0, 250.0), shift=1.0)  # t / 1000 = 1, 0.75, 0.5, 0.25
    parents = torch.tensor([0, 0, 1])
    gen = make_generator(**steps, still_guidance=1.0, still_guidance_sigmas=(0.4, 0.8))
    plain = make_generator(**steps)
    prompt = gen.initial_state(gen.encode_prompt("a red ball"), 2)
    chunks = [torch.stack([noise(1, 20 + i)[0], noise(1, 30 + i)[0]]) for i in range(2)]  # two histories

    def two_chunks(g):
        state = g.initial_state(g.encode_prompt("a red ball"), 2)
        for lat in chunks:
            rows = torch.tensor([0, 1])
            state, _ = g.commit(state, rows, lat, g.decode(state, rows, lat), [], LIMITS)
        return state

    state = two_chunks(gen)
    whole = gen.denoise(state, parents, noise(3, 40), gens(1, 2, 3))
    x, generators = noise(3, 40), gens(1, 2, 3)
    for step in range(4):  # paused after every step, as a search scoring its x0 would
        x = gen.denoise_steps(state, parents, x, generators, step, step + 1)[0]
    torch.testing.assert_close(x, whole, rtol=0, atol=1e-12)
    unguided = plain.denoise(two_chunks(plain), parents, noise(3, 40), gens(1, 2, 3))
    assert not torch.allclose(whole, unguided)
    assert gen.model_passes(2, 0, 4) == 6 and gen.model_passes(1, 0, 4) == 4 and prompt.num_chunks == 0
    # the step above the band is the plain one
    first = gen.denoise_steps(state, parents, noise(3, 40), gens(1, 2, 3), 0, 1)[0]
    torch.testing.assert_close(first, plain.denoise_steps(two_chunks(plain), parents, noise(3, 40), gens(1, 2, 3),
                                                          0, 1)[0], rtol=0, atol=1e-12)


def test_still_guidance_over_histories_with_padded_sinks_equals_each_history_alone():
    gen = make_generator(still_guidance=1.0)
    state = gen.initial_state(gen.encode_prompt("a sprite"), 1)
    parents = torch.zeros(2, dtype=torch.long)
    for j in range(3):  # as the beam loop above: history 0 appends its evicted chunk to the sink, history 1 blends
        lat = gen.denoise(state, parents, noise(2, 50 + j), gens(2 * j, 2 * j + 1))
        state, _ = gen.commit(state, parents, lat, gen.decode(state, parents, lat), [Route.APPEND, Route.EMA], LIMITS)
        parents = torch.tensor([0, 1])
    assert state.sink_frames() == [6, 3] and state.cache.has_padding
    together = gen.denoise(state, parents, noise(2, 60), gens(7, 8))
    for i in range(2):
        alone = dataclasses.replace(state, cache=state.cache.select(torch.tensor([i])))
        got = gen.denoise(alone, torch.zeros(1, dtype=torch.long), noise(2, 60)[i:i + 1], gens(7 + i))
        torch.testing.assert_close(together[i:i + 1], got, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("field,value", [("still_guidance", -0.5), ("still_guidance", True),
                                         ("still_guidance_sigmas", (0.8, 0.2)), ("still_guidance_sigmas", (0.5,))])
def test_still_guidance_settings_are_checked(field, value):
    with pytest.raises(ConfigError, match=field):
        StreamConfig(**{field: value})


@pytest.mark.parametrize("field,value", [("guidance_scale", -1.0), ("guided_chunks", -1), ("guided_chunks", 1.5)])
def test_guidance_settings_are_checked(field, value):
    with pytest.raises(ConfigError, match=field):
        StreamConfig(**{field: value})
