"""The engine as a library: routes traced as the cache applied them, custom steps, early pruning."""

import json
from dataclasses import asdict

import pytest
import torch

from streamt1 import api

from streamt1.config import ConfigError, SearchConfig, build_config
from streamt1.devices import cpu_multiplies_bf16
from streamt1.interfaces import Route
from streamt1.search.beam import StreamSearch
from streamt1.search.steps import get_step, register_step, step_names

from search_fixtures import BrightnessReward, SteadinessReward, make_generator

PROMPT = "a red ball rolls"


class CommitRecorder:
    """Delegates to a real generator; records requested and applied routes and candidate forwards."""

    def __init__(self, inner):
        self.inner, self.requested, self.applied, self.forwards = inner, [], [], 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def denoise(self, state, parents, noise, generators):
        self.forwards += len(parents) * self.inner.num_denoising_steps
        return self.inner.denoise(state, parents, noise, generators)

    def denoise_steps(self, state, parents, x, generators, start, stop):
        self.forwards += len(parents) * (stop - start)
        return self.inner.denoise_steps(state, parents, x, generators, start, stop)

    def commit(self, state, parents, latents, decoded, routes, limits):
        state, applied = self.inner.commit(state, parents, latents, decoded, routes, limits)
        assert applied == list(state.cache.applied_routes)
        self.requested.append(list(routes))
        self.applied.append(applied)
        return state, applied


def run(generator, method="stream-t1", num_frames=15, seed=3, **changes):
    config = SearchConfig(**{**build_config(method).search.__dict__, **changes})
    return StreamSearch(generator, config, BrightnessReward(), SteadinessReward(), method=method).run(
        PROMPT, num_frames, seed, progress=False)


@pytest.mark.parametrize("gates", [
    dict(quality_threshold=-1e9, transition_threshold=-1e9),  # APPEND requested: append, then ema when full
    dict(quality_threshold=-1e9, transition_threshold=1e9),  # EMA
    dict(quality_threshold=1e9),  # DISCARD
])
def test_trace_records_the_routes_the_cache_applied(gates):
    recorder = CommitRecorder(make_generator(window_frames=6))
    result = run(recorder, num_frames=24, max_sink_frames=9, **gates)
    traced = [[h["route"] for h in c["histories"]] for c in result.trace.to_dict()["chunks"]]
    assert traced == [[None if r is None else r.value for r in routes] for routes in recorder.applied]
    evicting = [i for i, c in enumerate(result.trace.chunks) if c.evicted_chunk is not None]
    assert evicting and all(None not in recorder.applied[i] for i in evicting)
    if gates.get("transition_threshold") == -1e9:
        # the engine asked for APPEND on every eviction; the cache turned the ones past 9 frames into EMA
        assert all(r == Route.APPEND for i in evicting for r in recorder.requested[i])
        assert {r for i in evicting for r in recorder.applied[i]} == {Route.APPEND, Route.EMA}
        sinks = [h.sink_frames for c in result.trace.chunks for h in c.histories]
        assert max(sinks) == 9


def test_trace_stores_the_resolved_configuration(generator):
    config = build_config("none")
    trace = api.make_search(config, api.Components(generator=generator)).run(PROMPT, 6, 0, progress=False).trace
    assert trace.config["search"] == asdict(config.search)
    assert config.run.device == config.run.dtype == "auto"
    resolved = {"device": "cuda" if torch.cuda.is_available() else "cpu",  # what "auto" ran as
                "dtype": "bfloat16" if torch.cuda.is_available() or cpu_multiplies_bf16() else "float32"}
    assert trace.config["run"] == {**asdict(config.run), **resolved}
    assert trace.config["stream"] == asdict(generator.stream)
    assert trace.config["versions"]["torch"] == torch.__version__
    json.dumps(trace.to_dict())  # all of it is JSON


def test_a_custom_selection_step_plugs_in_without_touching_the_loop(generator):
    @register_step("select", "worst-first-test")
    def select_worst(search, ctx, pool, k):
        return torch.sort(pool.scores.fused, stable=True).indices[:k]

    assert "worst-first-test" in step_names("select")
    result = run(generator, num_frames=12, pruning="worst-first-test")
    for chunk in result.trace.to_dict()["chunks"]:
        scores = [c["score"] for c in chunk["candidates"]]
        worst = sorted(range(len(scores)), key=lambda i: (scores[i], i))[:2]
        assert [h["candidate"] for h in chunk["histories"]] == worst
    assert not torch.equal(result.frames, run(generator, num_frames=12).frames)


def test_a_selection_step_may_answer_with_a_list_and_a_wrong_answer_is_named(generator):
    @register_step("select", "first-as-list-test")
    def select_first(search, ctx, pool, k):
        return list(range(k))  # a plain list, as the README's example says

    @register_step("select", "too-many-test")
    def select_all(search, ctx, pool, k):
        return list(range(len(pool)))

    @register_step("select", "repeats-test")
    def select_repeats(search, ctx, pool, k):
        return [0] * k

    result = run(generator, num_frames=12, pruning="first-as-list-test")
    assert all([h["candidate"] for h in c["histories"]] == [0, 1] for c in result.trace.to_dict()["chunks"])
    for name in ("too-many-test", "repeats-test"):
        with pytest.raises(ValueError, match=f"select step '{name}' returned positions .* expected 2 distinct"):
            run(generator, num_frames=12, pruning=name)


def test_a_custom_route_step_is_requested_and_traced():
    @register_step("route", "always-append-test")
    def always_append(search, node):
        return Route.APPEND

    recorder = CommitRecorder(make_generator(window_frames=6))
    result = run(recorder, num_frames=18, routing="always-append-test", quality_threshold=1e9, max_sink_frames=9)
    routes = [h["route"] for c in result.trace.to_dict()["chunks"][2:] for h in c["histories"]]
    assert routes and set(routes) <= {"append", "ema"} and "append" in routes  # the gates (all closed) are unused


def test_unknown_step_names_are_config_errors():
    with pytest.raises(ConfigError, match="search.pruning='nope' is invalid: expected one of"):
        SearchConfig(pruning="nope")
    with pytest.raises(ConfigError, match="search.early_keep"):
        SearchConfig(histories=2, early_keep=1)


def test_early_pruning_that_keeps_everyone_equals_the_plain_search_byte_for_byte(generator):
    plain = run(generator, num_frames=12)
    looked = run(generator, num_frames=12, early_pruning_step=1, early_keep=None)
    assert torch.equal(plain.frames, looked.frames) and torch.equal(plain.latents, looked.latents)
    def decisions(result):  # the look at the x0 predictions costs calls; every decision must be equal
        return [{k: v for k, v in chunk.items() if k != "calls"} for chunk in result.trace.to_dict()["chunks"]]

    assert decisions(plain) == decisions(looked)
    assert all(a["calls"]["decoded"] > b["calls"]["decoded"]  # the look decoded every candidate once more
               for a, b in zip(looked.trace.to_dict()["chunks"][1:], plain.trace.to_dict()["chunks"][1:]))


def test_early_pruning_drops_candidates_after_the_step_and_saves_their_forwards():
    recorder = CommitRecorder(make_generator())
    result = run(recorder, num_frames=12, expansions=4, early_pruning_step=0, early_keep=4)
    steps = recorder.inner.num_denoising_steps
    assert recorder.forwards == 4 * (8 * 1 + 4 * (steps - 1))  # 4 chunks, 8 candidates, 4 go on after step 0
    for chunk in result.trace.to_dict()["chunks"]:
        cands = chunk["candidates"]
        dropped = [c for c in cands if c["pruned_at_step"] is not None]
        alive = [c for c in cands if c["pruned_at_step"] is None]
        assert len(cands) == 8 and len(dropped) == 4
        assert all(c["pruned_at_step"] == 0 and c["score"] is None and not c["kept"] for c in dropped)
        assert all(c["early_score"] is not None for c in dropped) and all(c["score"] is not None for c in alive)
        assert {h["candidate"] for h in chunk["histories"]} <= {c["id"] for c in alive}
    again = run(recorder, num_frames=12, expansions=4, early_pruning_step=0, early_keep=4)
    assert torch.equal(result.frames, again.frames)


def test_early_pruning_looks_only_where_it_can_prune():
    # early_keep 6 prunes the 8 first chunks but not the 4 candidates of a later chunk: there the look
    # would cost forwards and decodes and drop nothing, so those chunks are denoised plainly
    recorder = CommitRecorder(make_generator())
    result = run(recorder, num_frames=9, first_chunk_candidates=8, early_pruning_step=0, early_keep=6)
    steps = recorder.inner.num_denoising_steps
    assert recorder.forwards == (8 * 1 + 6 * (steps - 1)) + 2 * 4 * steps
    chunks = result.trace.to_dict()["chunks"]
    assert sum(c["pruned_at_step"] is not None for c in chunks[0]["candidates"]) == 2
    assert chunks[0]["calls"]["decoded"] == 8 + 6
    for chunk in chunks[1:]:
        assert all(c["pruned_at_step"] is None and c["early_score"] is None for c in chunk["candidates"])
        assert chunk["calls"]["decoded"] == 4


def test_early_pruning_after_the_last_step_is_rejected(generator):
    with pytest.raises(ConfigError, match="early_pruning_step=3 is invalid"):
        StreamSearch(generator, SearchConfig(early_pruning_step=3), BrightnessReward(), SteadinessReward())


def test_short_frame_stride_scores_every_kth_frame(generator):
    class Counting(BrightnessReward):
        frames = 0

        def __call__(self, frames, prompts):
            Counting.frames += len(frames)
            return super().__call__(frames, prompts)

    config = SearchConfig(short_frame_stride=2)
    StreamSearch(generator, config, Counting(), SteadinessReward()).run(PROMPT, 6, 0, progress=False)
    per_chunk = generator.spec.frames_per_chunk
    assert Counting.frames == 2 * 4 * len(range(0, per_chunk, 2))


def test_reward_windows_are_each_parents_last_chunks_then_the_candidate():
    from streamt1.search.pool import CandidatePool, ChunkContext, ChunkNode
    from streamt1.search.steps import reward_windows

    def frames(value: int, count: int) -> torch.Tensor:
        return torch.full((count, 3, 2, 2), value, dtype=torch.uint8)

    z = torch.zeros(1)
    root = ChunkNode(index=0, parent=None, frames=frames(1, 3), latents=z, noise=z)
    a = ChunkNode(index=1, parent=root, frames=frames(2, 4), latents=z, noise=z)
    b = ChunkNode(index=1, parent=root, frames=frames(3, 4), latents=z, noise=z)
    ctx = ChunkContext(index=2, prompt=PROMPT, histories=[a, b], start_frame=6, num_frames=9, window=1,
                       scene_start=False, run_seed=0)
    pool = CandidatePool(ids=torch.arange(3), parents=torch.tensor([1, 0, 1]), seeds=[0, 1, 2], noise=z,
                         generators=[], frames=torch.stack([frames(10 + i, 4) for i in range(3)]))
    clips = reward_windows(ctx, pool)
    assert clips.shape == (3, 8, 3, 2, 2) and clips.dtype == torch.uint8
    per_frame = clips[:, :, 0, 0, 0].tolist()
    assert per_frame == [[3] * 4 + [10] * 4, [2] * 4 + [11] * 4, [3] * 4 + [12] * 4]  # window=1: the parent only


def test_a_step_name_is_registered_once():
    with pytest.raises(ValueError, match="'reward' is already registered"):
        @register_step("select", "reward")
        def also_reward(search, ctx, pool, k):
            return pool.keep
    assert get_step("select", "reward").__name__ != "also_reward"
