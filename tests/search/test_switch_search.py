"""The search across prompt switches: prompts per chunk, windows cut at a switch, anchors, determinism."""

import pytest
import torch

from streamt1.config import SearchConfig, build_config
from streamt1.schedule import PromptSchedule, Segment, from_switches
from streamt1.search.beam import StreamSearch

from search_fixtures import BrightnessReward, SteadinessReward

A, B = "a red ball rolls", "a blue cube jumps over the wall"
SWITCH = from_switches([A, B], [6])  # chunks 0-1 under A, 2-3 under B (3-frame chunks, 12 frames)
FRAMES = 12


class Recording:
    """Delegates to a reward or a generator and records what it was asked."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, frames, prompts, *rest):
        self.calls.append((tuple(frames.shape), list(prompts)))
        return self.inner(frames, prompts, *rest)

    def switch_prompt(self, state, condition):
        self.calls.append(state.num_histories)
        return self.inner.switch_prompt(state, condition)


def search(generator, method="stream-t1", image=None, video=None, **changes):
    config = build_config(method).search
    config = SearchConfig(**{**config.__dict__, **changes})
    return StreamSearch(generator, config, image or BrightnessReward(), video or SteadinessReward(), method=method)


@pytest.fixture(scope="module")
def watched(generator):
    """One Stream-T1 run across the switch, with the generator and both rewards recorded."""
    gen, image, video = Recording(generator), Recording(BrightnessReward()), Recording(SteadinessReward())
    result = search(gen, image=image, video=video).run(SWITCH, FRAMES, 3, progress=False)
    return result, gen, image, video


def test_a_whole_video_final_pick_reads_each_segment_under_its_own_prompt(generator):
    video = Recording(SteadinessReward())
    search(generator, video=video, final_score="whole").run(SWITCH, FRAMES, 3, progress=False)
    f0, f = generator.spec.first_chunk_frames, generator.spec.frames_per_chunk
    final = video.calls[4:]
    assert [(shape[1], prompts) for shape, prompts in final] == [(f0 + f, [A, A]), (2 * f, [B, B])]


def test_one_segment_schedule_is_the_single_prompt_path(generator):
    plain = search(generator).run(A, FRAMES, 3, progress=False)
    scheduled = search(generator).run([Segment(A, 0)], FRAMES, 3, progress=False)
    assert torch.equal(plain.frames, scheduled.frames)
    assert plain.trace.to_dict()["chunks"] == scheduled.trace.to_dict()["chunks"]
    assert plain.trace.final == scheduled.trace.final
    assert scheduled.trace.to_dict()["segments"] == [{"prompt": A, "from_frame": 0, "from_chunk": 0,
                                                       "from_decoded_frame": 0}]
    assert search(generator, "none").run(PromptSchedule.single(A), 6, 1, progress=False).frames.equal(
        search(generator, "none").run(A, 6, 1, progress=False).frames)


def test_same_seed_same_video_across_switches(generator, watched):
    again = search(generator).run(SWITCH, FRAMES, 3, progress=False)
    assert torch.equal(watched[0].frames, again.frames)
    assert watched[0].trace.to_dict() | {"timing": 0, "chunk_seconds": 0} == again.trace.to_dict() | {"timing": 0, "chunk_seconds": 0}


def test_plain_generation_changes_only_after_the_switch(generator):
    spec = generator.spec
    single = search(generator, "none").run(A, FRAMES, 5, progress=False)
    switched = search(generator, "none").run(SWITCH, FRAMES, 5, progress=False)
    before = spec.decoded_frames(2)  # chunks 0 and 1
    assert torch.equal(single.frames[:before], switched.frames[:before])
    assert not torch.equal(single.frames[before:], switched.frames[before:])


def test_every_history_switches_in_one_pass_and_rewards_use_the_active_prompt(generator, watched):
    result, gen, image, video = watched
    assert gen.calls == [2]  # one switch, both histories at once
    per_chunk_image = [prompts[0] for _, prompts in image.calls]
    assert per_chunk_image == [A, A, B, B]
    assert all(len(set(prompts)) == 1 for _, prompts in image.calls + video.calls)
    windows = [(shape[1], prompts[0]) for shape, prompts in video.calls[:4]]
    f0, f = generator.spec.first_chunk_frames, generator.spec.frames_per_chunk
    # The window grows within a segment and restarts at the switch: never A's chunks under B.
    assert windows == [(f0, A), (f0 + f, A), (f, B), (2 * f, B)]
    # The final pick (the Sprites default, windows) re-reads those windows, each under its segment's prompt.
    final = video.calls[4:]
    assert [(shape[1], prompts) for shape, prompts in final] == [
        (f0, [A, A]), (f0 + f, [A, A]), (f, [B, B]), (2 * f, [B, B])]
    assert result.trace.to_dict()["segments"] == [  # B's frames start after the first two chunks' decoded ones
        {"prompt": A, "from_frame": 0, "from_chunk": 0, "from_decoded_frame": 0},
        {"prompt": B, "from_frame": 6, "from_chunk": 2, "from_decoded_frame": f0 + f}]
    assert result.trace.switch_chunks() == [2]


def routes_of_the_switch_chunk(result):
    """(route, transition) of every history at the commit that evicts chunk 2, the new scene's first."""
    (chunk,) = [c for c in result.trace.chunks if c.evicted_chunk == 2]
    return [(h.route, h.transition) for h in chunk.histories]


def test_the_first_chunk_of_a_new_scene_is_a_transition_and_anchors_the_sink(generator):
    never_good = dict(quality_threshold=1e9)  # the quality gate fails for every chunk after the first
    anchored = search(generator, **never_good).run(SWITCH, FRAMES, 3, progress=False)
    assert routes_of_the_switch_chunk(anchored) == [("append", True)] * 2
    others = [h.route for c in anchored.trace.chunks if c.evicted_chunk not in (None, 2) for h in c.histories]
    assert others and set(others) == {"discard"}
    assert [h.sink_frames for h in anchored.trace.chunks[3].histories] == [6, 6]
    gated = search(generator, scene_anchors=False, **never_good).run(SWITCH, FRAMES, 3, progress=False)
    assert routes_of_the_switch_chunk(gated) == [("discard", True)] * 2
