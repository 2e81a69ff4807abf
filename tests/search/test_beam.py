import math

import pytest
import torch

from streamt1.config import ConfigError, SearchConfig, build_config
from streamt1.interfaces import Route
from streamt1.search.beam import StreamSearch, _offload_frames, final_clips
from streamt1.search.noise import candidate_seed, draw_noise, make_generators
from streamt1.search.pool import ChunkNode

from search_fixtures import BrightnessReward, SteadinessReward, make_generator

PROMPT = "a red ball rolls"


def search(generator, method="stream-t1", **changes):
    config = build_config(method).search
    config = SearchConfig(**{**config.__dict__, **changes})
    return StreamSearch(generator, config, BrightnessReward(), SteadinessReward(), method=method)


def run(generator, method="stream-t1", num_frames=15, seed=3, **changes):
    return search(generator, method, **changes).run(PROMPT, num_frames, seed, progress=False)


class RecordingGenerator:
    """Delegates to a real generator and records the noise each chunk was denoised from."""

    def __init__(self, inner):
        self.inner, self.noises = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def denoise(self, state, parents, noise, generators):
        self.noises.append(noise.clone())
        return self.inner.denoise(state, parents, noise, generators)


def test_same_seed_same_video_and_trace(generator):
    a, b = run(generator), run(generator)
    assert torch.equal(a.frames, b.frames)
    assert a.trace.to_dict()["chunks"] == b.trace.to_dict()["chunks"]
    c = run(generator, seed=4)
    assert not torch.equal(a.frames, c.frames)


def test_a_result_prints_its_shapes_not_its_pixels(generator):
    result = run(generator)
    text = repr(result)
    t, _, h, w = result.frames.shape
    assert text.startswith(f"SearchResult(frames=uint8[{t}, 3, {h}, {w}], latents=")
    assert f"{len(result.trace.chunks)} chunks" in text and len(text) < 300


@pytest.mark.parametrize("method", ["stream-t1", "best-of-n", "none"])
def test_every_chunk_after_the_first_uses_the_noise_drawn_ahead(generator, monkeypatch, method):
    """The engine prefetches the next chunk's noise for the seeds that chunk then asks for."""
    from streamt1.search.noise import NoisePrefetch

    hits, real_draw = [], NoisePrefetch.draw

    def draw(self, seeds):
        hits.append(self._pending is not None and self._pending[0] == list(seeds))
        return real_draw(self, seeds)

    monkeypatch.setattr(NoisePrefetch, "draw", draw)
    run(generator, method, num_frames=12)
    assert hits == [False, True, True, True]


def test_beam_shape_parents_and_top_k_pruning(generator):
    result = run(generator, num_frames=15)
    chunks = result.trace.to_dict()["chunks"]
    assert len(chunks) == 5
    assert [c["parent"] for c in chunks[0]["candidates"]] == [0, 0, 0, 0]  # root expands into K*M
    for chunk in chunks[1:]:
        assert [c["parent"] for c in chunk["candidates"]] == [0, 0, 1, 1]
    for chunk in chunks:
        scores = [c["score"] for c in chunk["candidates"]]
        kept = [c["id"] for c in chunk["candidates"] if c["kept"]]
        best_two = sorted(range(4), key=lambda i: (-scores[i], i))[:2]
        assert sorted(kept) == sorted(best_two)
        # History order is best first.
        assert [h["candidate"] for h in chunk["histories"]] == best_two
        for cand in chunk["candidates"]:
            assert cand["score"] == pytest.approx(chunk["alpha"] * cand["short"] + (1 - chunk["alpha"]) * cand["long"],
                                                  abs=1e-6)
    alphas = [c["alpha"] for c in chunks]
    assert alphas[0] == 0 and alphas[-1] == pytest.approx(0.4)


def test_more_first_chunk_candidates_widen_only_the_first_chunk(generator):
    default, wide = run(generator, num_frames=9), run(generator, num_frames=9, first_chunk_candidates=6)
    chunks, wide_chunks = default.trace.to_dict()["chunks"], wide.trace.to_dict()["chunks"]
    assert [c["parent"] for c in wide_chunks[0]["candidates"]] == [0] * 6
    assert [len(c["candidates"]) for c in wide_chunks[1:]] == [4, 4]
    # The first four candidates are the default run's (same seeds, same noise), the extra two new ones.
    assert [c["seed"] for c in wide_chunks[0]["candidates"][:4]] == [c["seed"] for c in chunks[0]["candidates"]]
    assert [c["short"] for c in wide_chunks[0]["candidates"][:4]] == [c["short"] for c in chunks[0]["candidates"]]
    assert wide_chunks[0]["calls"]["generator_forwards"] > chunks[0]["calls"]["generator_forwards"]
    same = run(generator, num_frames=9, first_chunk_candidates=4)
    assert torch.equal(same.frames, default.frames)
    with pytest.raises(ValueError, match="search.first_chunk_candidates"):
        SearchConfig(first_chunk_candidates=1)


def test_a_wider_first_chunk_is_pruned_even_where_later_chunks_are_not(generator):
    # Plain generation and best-of-n score no chunk by default; with more first chunks than histories
    # they must score the first one and keep the best K, not carry every first chunk to the end.
    for method, k in (("none", 1), ("best-of-n", 4)):
        config = SearchConfig(**{**build_config(method).search.__dict__, "first_chunk_candidates": 6})
        assert config.rewards_needed() == ("image", "video")
        chunks = run(generator, method, num_frames=9, first_chunk_candidates=6).trace.to_dict()["chunks"]
        first = chunks[0]["candidates"]
        assert len(first) == 6 and chunks[0]["calls"]["image_reward_frames"] > 0
        kept = [c for c in first if c["kept"]]
        assert len(kept) == k
        assert min(c["score"] for c in kept) >= max(c["score"] for c in first if not c["kept"])
        assert [len(c["candidates"]) for c in chunks[1:]] == [k, k]
        assert all(c["calls"]["image_reward_frames"] == c["calls"]["video_reward_clips"] == 0 for c in chunks[1:])
        assert all(cand["score"] is None for c in chunks[1:] for cand in c["candidates"])


def test_an_unscored_first_chunk_before_scored_ones(generator):
    # K first chunks for K histories leave nothing to prune at chunk 0, so without memory sinking it is not
    # scored; the later chunks' gates read the scored chunks only
    for method in ("beam", "stream-t1-no-sinking"):
        result = run(generator, method, num_frames=12, first_chunk_candidates=2)
        chunks = result.trace.to_dict()["chunks"]
        assert all(c["score"] is None for c in chunks[0]["candidates"])
        assert all(c["score"] is not None for chunk in chunks[1:] for c in chunk["candidates"])
        assert result.frames.shape[0] == generator.spec.decoded_frames(4)


def test_settings_that_cannot_act_are_refused(generator):
    with pytest.raises(ConfigError, match="search.max_sink_frames=2 is less than one chunk"):
        search(generator, max_sink_frames=2)
    # K histories that nothing scores or picks: K - 1 videos made and thrown away
    with pytest.raises(ConfigError, match="search.histories=3 is invalid.*thrown away"):
        SearchConfig(**{**build_config("none").search.__dict__, "histories": 3})
    with pytest.raises(ConfigError, match="search.histories=4 is invalid"):
        SearchConfig(**{**build_config("best-of-n").search.__dict__, "final_pick": False})


def test_result_video_is_the_chosen_lineage_and_final_pick_is_the_best(generator):
    result = run(generator, num_frames=15)
    final = result.trace.to_dict()["final"]
    assert final["chosen"] == max(range(2), key=lambda i: final["scores"][i])
    spec = generator.spec
    assert result.frames.shape == (spec.decoded_frames(5), 3, spec.height, spec.width)
    assert result.frames.dtype == torch.uint8
    assert result.latents.shape[1] == 15


def test_the_windows_final_pick_averages_the_long_scores_its_lineage_was_kept_with(generator):
    """``final_score: windows`` re-reads the windows the search scored: each finished video's final score is
    the mean of the long rewards its chunks got when they were candidates."""
    trace = run(generator, num_frames=15, final_score="windows").trace.to_dict()
    whole = run(generator, num_frames=15, final_score="whole").trace.to_dict()
    assert trace["chunks"] == whole["chunks"]  # only the pick reads differently
    assert trace["final"]["scores"] != whole["final"]["scores"]
    for history, score in enumerate(trace["final"]["scores"]):
        longs, h = [], history
        for chunk in reversed(trace["chunks"]):
            candidate = next(c for c in chunk["candidates"] if c["kept"] and c["history"] == h)
            longs.append(candidate["long"])
            h = candidate["parent"]
        assert score == pytest.approx(sum(longs) / len(longs), rel=1e-5)


def test_final_clips_are_the_long_rewards_windows_cut_at_the_segment():
    nodes = [torch.full((1,), i) for i in range(6)]  # each chunk's frames hold its index

    def read(batches):  # each clip as the indices of its chunks
        return [[[int(chunk) for chunk in clip] for clip in batch] for batch in batches]

    assert read(final_clips([nodes], 0, 6, "whole", 3)) == [[[0, 1, 2, 3, 4, 5]]]
    assert read(final_clips([nodes], 0, 6, "windows", 3)) == [
        [[0]], [[0, 1]], [[0, 1, 2]], [[1, 2, 3]], [[2, 3, 4]], [[3, 4, 5]]]
    assert read(final_clips([nodes], 4, 6, "windows", 3)) == [[[4]], [[4, 5]]]  # a later segment starts afresh
    assert read(final_clips([nodes, nodes[::-1]], 0, 2, "windows", 3)) == [[[0], [5]], [[0, 1], [5, 4]]]


def test_plain_generation_equals_driving_the_generator_by_hand(generator):
    result = run(generator, method="none", num_frames=12, seed=7)
    state = generator.initial_state(generator.encode_prompt(PROMPT), 1)
    frames = []
    for n in range(4):
        gens = make_generators([candidate_seed(7, n, 0)])
        noise = draw_noise(generator.spec.latent_shape, gens)
        parents = torch.zeros(1, dtype=torch.long)
        latents = generator.denoise(state, parents, noise, gens)
        decoded = generator.decode(state, parents, latents)
        routes = [] if generator.evicted_chunk(state) is None else [Route.DISCARD]
        state, _ = generator.commit(state, parents, latents, decoded, routes, build_config("none").search.sink_limits)
        frames.append((decoded.frames[0].clamp(0, 1) * 255).round().to(torch.uint8))
    assert torch.equal(result.frames, torch.cat(frames))
    chunks = result.trace.to_dict()["chunks"]
    assert all(c["candidates"][0]["score"] is None for c in chunks)  # no rewards were needed
    assert result.trace.to_dict()["final"]["scores"] == [None]


def test_noise_propagation_mixes_each_candidate_with_its_parents_noise():
    recorder = RecordingGenerator(make_generator())
    s = -0.1
    result = StreamSearch(recorder, SearchConfig(noise_fusion_sigma=s), BrightnessReward(), SteadinessReward()).run(
        PROMPT, 9, 5, progress=False)
    chunks = result.trace.to_dict()["chunks"]
    for n in (1, 2):
        previous = recorder.noises[n - 1]
        for cand in chunks[n]["candidates"]:
            parent_candidate = chunks[n - 1]["histories"][cand["parent"]]["candidate"]
            eps = draw_noise(recorder.spec.latent_shape, make_generators([cand["seed"]]))[0]
            expected = s * previous[parent_candidate] + math.sqrt(1 - s * s) * eps
            assert torch.allclose(recorder.noises[n][cand["id"]], expected, atol=1e-6)
    # Chunk 0 is plain Gaussian: exactly the candidate's eps.
    eps0 = draw_noise(recorder.spec.latent_shape, make_generators([chunks[0]["candidates"][1]["seed"]]))[0]
    assert torch.equal(recorder.noises[0][1], eps0)


def test_without_noise_propagation_every_chunk_is_fresh_noise():
    recorder = RecordingGenerator(make_generator())
    result = StreamSearch(recorder, SearchConfig(noise_propagation=False), BrightnessReward(),
                          SteadinessReward()).run(PROMPT, 9, 5, progress=False)
    cand = result.trace.to_dict()["chunks"][2]["candidates"][3]
    eps = draw_noise(recorder.spec.latent_shape, make_generators([cand["seed"]]))[0]
    assert torch.equal(recorder.noises[2][3], eps)


def test_memory_sinking_appends_until_full_then_blends():
    # Gates forced open: every chunk is "good" and a "transition" -> APPEND while the sink has room.
    generator = make_generator(window_frames=6)
    result = run(generator, num_frames=24, quality_threshold=-1e9, transition_threshold=-1e9, max_sink_frames=9)
    chunks = result.trace.to_dict()["chunks"]
    sinks = [c["histories"][0]["sink_frames"] for c in chunks]
    routes = [c["histories"][0]["route"] for c in chunks]
    evicted = [c["evicted_chunk"] for c in chunks]
    # Window 6 = current chunk + 1 committed chunk: chunk 1 leaves when chunk 2 is committed.
    assert evicted == [None, None, 1, 2, 3, 4, 5, 6]
    assert routes[:2] == [None, None] and sinks[:2] == [3, 3]
    assert routes[2:4] == ["append", "append"] and sinks[2:4] == [6, 9]
    assert routes[4:] == ["ema"] * 4 and sinks[4:] == [9] * 4


def test_memory_sinking_discards_bad_chunks_and_off_means_plain_window():
    generator = make_generator()
    closed = run(generator, num_frames=18, quality_threshold=1e9)
    off = run(generator, num_frames=18, memory_sinking=False, quality_threshold=-1e9,
              transition_threshold=-1e9)
    for result in (closed, off):
        chunks = result.trace.to_dict()["chunks"]
        assert {h["route"] for c in chunks[3:] for h in c["histories"]} == {"discard"}
        assert {h["sink_frames"] for c in chunks for h in c["histories"]} == {3}
    # With every evicted chunk discarded both runs attend to the same memory: identical videos.
    assert torch.equal(closed.frames, off.frames)


def test_random_pruning_is_seeded_and_ignores_scores(generator):
    a = run(generator, method="stream-t1-no-pruning", num_frames=18)
    b = run(generator, method="stream-t1-no-pruning", num_frames=18)
    assert torch.equal(a.frames, b.frames)
    chunks = a.trace.to_dict()["chunks"]
    not_best = [c for c in chunks
                if {x["id"] for x in c["candidates"] if x["kept"]}
                != set(sorted(range(4), key=lambda i: -c["candidates"][i]["score"])[:2])]
    assert not_best, "random pruning always agreed with the reward ranking"


def test_best_of_n_scores_only_finished_videos(generator):
    videos = SteadinessReward()
    config = build_config("best-of-n", backend="longlive").search  # the paper's pick: each video at once
    result = StreamSearch(generator, config, BrightnessReward(), videos, method="best-of-n").run(
        PROMPT, 9, 1, progress=False)
    chunks = result.trace.to_dict()["chunks"]
    assert len(chunks[0]["candidates"]) == config.histories
    assert all(c["kept"] and c["score"] is None for chunk in chunks for c in chunk["candidates"])
    assert len(videos.calls) == 1 and videos.calls[0][0] == config.histories  # one final pick
    assert len(result.trace.to_dict()["final"]["scores"]) == config.histories


def test_long_reward_sees_a_sliding_window_of_w_chunks(generator):
    videos = SteadinessReward()
    StreamSearch(generator, SearchConfig(long_window_chunks=2), BrightnessReward(), videos).run(
        PROMPT, 12, 1, progress=False)
    frames = generator.spec.frames_per_chunk
    assert [shape[1] for shape in videos.calls[:4]] == [frames, 2 * frames, 2 * frames, 2 * frames]


def test_max_batch_slices_give_the_same_video(generator):
    assert torch.equal(run(generator, max_batch=1).frames, run(generator, max_batch=8).frames)


def test_bad_inputs_are_rejected_with_clear_messages(generator):
    with pytest.raises(ValueError, match="prompt is empty"):
        search(generator).run("  ", 9, 0, progress=False)
    with pytest.raises(ValueError, match="num_frames=10 must be a positive multiple"):
        search(generator).run(PROMPT, 10, 0, progress=False)
    with pytest.raises(ValueError, match="needs an image reward and a video reward"):
        StreamSearch(generator, SearchConfig(), None, None, method="stream-t1")
    StreamSearch(generator, build_config("none").search, None, None)  # plain generation needs none


def cuda_generator():
    cpu = make_generator()
    return type(cpu)(cpu.model, cpu.stream, cpu.text_encoder, cpu.codec, cpu.latent_size, cpu.fps, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_search_on_cuda_is_deterministic_and_follows_the_cpu_run():
    cpu = run(make_generator(), num_frames=9)
    gpu_generator = cuda_generator()
    a, b = run(gpu_generator, num_frames=9), run(gpu_generator, num_frames=9)
    assert torch.equal(a.frames, b.frames)
    # Noise is drawn from CPU generators, so the GPU run follows the CPU one up to float rounding.
    assert (a.frames.int() - cpu.frames.int()).abs().max() <= 2
    assert [c["seed"] for c in a.trace.to_dict()["chunks"][1]["candidates"]] == \
        [c["seed"] for c in cpu.trace.to_dict()["chunks"][1]["candidates"]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_windows_are_read_where_decoded_and_chunks_no_window_reads_move_to_the_cpu():
    class DeviceRecorder(SteadinessReward):
        def __call__(self, clips, prompts, fps):
            self.devices = [*getattr(self, "devices", []), clips.device.type]
            return super().__call__(clips, prompts, fps)

    videos = DeviceRecorder()
    config = SearchConfig(**{**build_config("stream-t1").search.__dict__, "long_window_chunks": 2})
    chunks = []
    gpu = StreamSearch(cuda_generator(), config, BrightnessReward(), videos).run(PROMPT, 9, 3, chunks.append,
                                                                                progress=False)
    cpu = StreamSearch(make_generator(), config, BrightnessReward(), SteadinessReward()).run(PROMPT, 9, 3, progress=False)
    # every chunk's windows on the GPU; the final pick (the last calls: one per window it reads) on the host
    final = len(final_clips([list(range(len(chunks)))], 0, len(chunks), config.final_score, config.long_window_chunks))
    assert config.picks_final and len(videos.devices) > final
    assert set(videos.devices[:-final]) == {"cuda"} and videos.devices[-final:] == ["cpu"] * final
    assert gpu.frames.device.type == "cpu"
    assert (gpu.frames.int() - cpu.frames.int()).abs().max() <= 2
    # the rule itself: after chunk i, the oldest of its last window_chunks chunks has left every window
    node = None
    for i in range(5):
        node = ChunkNode(index=i, parent=node, frames=torch.zeros(2, 3, 4, 4, dtype=torch.uint8, device="cuda"),
                         latents=torch.zeros(1), noise=torch.zeros(1))
        _offload_frames([node, node], 3)  # siblings share their ancestors
    assert [n.frames.device.type for n in node.lineage()] == ["cpu", "cpu", "cpu", "cuda", "cuda"]


@pytest.mark.parametrize("method,window", [("stream-t1", 2), ("stream-t1", 1), ("stream-t1", 10),
                                           ("stream-t1-early", 2), ("beam", 3)])
def test_no_reward_window_reads_a_chunk_that_was_moved_off_the_decode_device(generator, monkeypatch, method, window):
    """Chunks leave the decode device by ``_leaving_window``; every window the score step builds must
    read only chunks it has not named yet (on a CPU run the move is a no-op: the rule is what is tested)."""
    from streamt1.schedule import Segment
    from streamt1.search import beam as beam_module, steps

    moved, read = {}, []  # moved: id -> node (the reference keeps the id from being reused)
    real_leaving, real_windows = beam_module._leaving_window, steps.window_chunks

    def leaving(node, window_chunks):
        out = real_leaving(node, window_chunks)
        if out is not None:
            moved[id(out)] = out
        return out

    def windows(ctx, pool):
        past = {id(n) for p in pool.parents.tolist() if ctx.histories[p] is not None and ctx.window > 0
                for n in ctx.histories[p].lineage(ctx.window)}
        assert not moved.keys() & past
        read.extend(past)
        return real_windows(ctx, pool)

    monkeypatch.setattr(beam_module, "_leaving_window", leaving)
    monkeypatch.setattr(steps, "window_chunks", windows)
    schedule = [Segment(PROMPT, 0), Segment("a blue cube slides", 9)]  # a switch cuts the window
    result = search(generator, method, long_window_chunks=window).run(schedule, 33, 2, progress=False)
    assert moved and (window == 1 or read)  # the rule moved chunks, and windows were read
    assert result.frames.device.type == "cpu"


def test_the_progress_bar_advances_by_model_passes_so_a_costly_first_chunk_counts_as_such(generator, monkeypatch):
    import streamt1.search.beam as beam

    class SplitFirstChunk(RecordingGenerator):  # a first chunk of 5 passes per step, as split or guided steps are
        def model_passes(self, chunk, start, stop):
            return (5 if chunk == 0 else 1) * (stop - start)

    bars = []

    class Bar:  # stands in for tqdm's display; what the engine reports to it is under test
        def __init__(self, total, **_):
            self.total, self.updates, self.postfixes, self.closed = total, [], [], False
            bars.append(self)

        def update(self, n):
            self.updates.append(n)

        def set_postfix(self, refresh=True, **fields):
            self.postfixes.append(fields)

        def close(self):
            self.closed = True

    monkeypatch.setattr(beam, "tqdm", Bar)
    search(SplitFirstChunk(generator)).run(PROMPT, 15, 3, progress=True)
    (bar,) = bars
    steps = generator.num_denoising_steps
    assert bar.updates == [5 * steps] + [steps] * 4 and bar.total == 9 * steps and bar.closed
    assert [p["chunk"] for p in bar.postfixes] == ["1/5", "2/5", "3/5", "4/5", "5/5"] and "best" in bar.postfixes[0]
