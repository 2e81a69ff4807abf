"""Video-reward inputs read from the stored chunks: the planned frames equal those of the joined
clip, and a search with frame plans gives the video and scores of one fed whole clips."""

import pytest
import torch

from streamt1 import api
from streamt1.config import build_config
from streamt1.interfaces import PlannedVideoReward, VideoReward, VideoScore
from streamt1.search.clips import gather_frames, score_clips

PROMPT = "a small red circle moves left over a blue background"


def chunked(layout, clips=3, seed=0):
    """``clips`` random clips, each as chunks of ``layout`` frames (4x6 pixels)."""
    g = torch.Generator().manual_seed(seed)
    return [[torch.randint(0, 256, (t, 3, 4, 6), dtype=torch.uint8, generator=g) for t in layout]
            for _ in range(clips)]


@pytest.mark.parametrize("plan", [[0, 8, 16, 24, 32], [32, 0, 9, 9, 21], [5, 5, 5], [], list(range(33))])
def test_gathered_frames_are_those_of_the_joined_clips(plan):
    clips = chunked((9, 12, 12))
    index = torch.tensor(plan, dtype=torch.long)
    expected = torch.stack([torch.cat(clip)[index] for clip in clips])
    assert torch.equal(gather_frames(clips, index), expected)


def test_whole_clips_are_the_joined_chunks_and_layouts_may_differ_at_one_length():
    clips = chunked((9, 12, 12))[:2] + chunked((12, 12, 9), clips=1, seed=1)
    joined = torch.stack([torch.cat(clip) for clip in clips])
    assert torch.equal(gather_frames(clips), joined)
    index = torch.tensor([8, 9, 20, 21, 32])
    assert torch.equal(gather_frames(clips, index), joined[:, index])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_candidate_chunk_still_on_the_gpu_is_read_like_a_stored_one():
    clips = chunked((9, 12, 12))
    on_gpu = [[*clip[:-1], clip[-1].cuda()] for clip in clips]  # the new chunk, as the engine decodes it
    index = torch.tensor([0, 8, 16, 24, 32, 32])
    assert gather_frames(on_gpu, index).device.type == "cuda"  # gathered where the newest chunk is
    assert torch.equal(gather_frames(on_gpu, index).cpu(), gather_frames(clips, index))
    assert torch.equal(gather_frames(on_gpu).cpu(), gather_frames(clips))
    all_gpu = [[chunk.cuda() for chunk in clip] for clip in clips]  # a window the search still reads
    assert torch.equal(gather_frames(all_gpu, index).cpu(), gather_frames(clips, index))


def test_bad_plans_and_clips_of_different_lengths_are_refused():
    clips = chunked((3, 4))
    with pytest.raises(ValueError, match="reads outside a clip of 7 frames"):
        gather_frames(clips, torch.tensor([0, 7]))
    with pytest.raises(ValueError, match="reads outside"):
        gather_frames(clips, torch.tensor([-1]))
    with pytest.raises(ValueError, match="1-D long"):
        gather_frames(clips, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"one length, got \[7, 8\]"):
        gather_frames(chunked((3, 4), clips=1) + chunked((4, 4), clips=1))


class EveryThird:
    """A planned reward that records what it was given: the mean of every third frame."""

    def __init__(self) -> None:
        self.seen = []

    def frame_plan(self, num_frames: int, fps: float) -> torch.Tensor:
        return torch.arange(0, num_frames, 3)

    def __call__(self, clips, prompts, fps) -> VideoScore:
        return self.score_planned(clips[:, self.frame_plan(clips.shape[1], fps)], prompts, fps)

    def score_planned(self, frames, prompts, fps) -> VideoScore:
        self.seen.append(tuple(frames.shape))
        return VideoScore(overall=frames.float().mean(dim=(1, 2, 3, 4)))


class WholeClips:
    """Hides a reward's frame plan: the engine then hands it whole clips, as to any plain reward."""

    def __init__(self, reward) -> None:
        self.reward = reward

    def __call__(self, clips, prompts, fps) -> VideoScore:
        return self.reward(clips, prompts, fps)


def test_a_planned_reward_gets_only_its_frames_and_scores_as_on_whole_clips():
    clips = chunked((9, 12, 12))
    planned, whole = EveryThird(), EveryThird()
    assert isinstance(planned, PlannedVideoReward) and not isinstance(WholeClips(whole), PlannedVideoReward)
    a = score_clips(planned, clips, [PROMPT] * 3, 16.0)
    b = score_clips(WholeClips(whole), clips, [PROMPT] * 3, 16.0)
    assert torch.equal(a.overall, b.overall)
    assert planned.seen == whole.seen == [(3, 11, 3, 4, 6)]  # 11 of 33 frames either way


def _search_result(sprites_weights, method, num_frames, hide_plan):
    config = build_config(method, None, ["rewards.image=sprites-image", "rewards.video=sprites-video"],
                          num_frames=num_frames, weights=str(sprites_weights), device="cpu")
    components = api.load_components(config)
    assert isinstance(components.video_reward, PlannedVideoReward)  # Sliced forwards the pathway reward's plan
    if hide_plan:
        components.video_reward = WholeClips(components.video_reward)
        assert isinstance(components.video_reward, VideoReward)
        assert not isinstance(components.video_reward, PlannedVideoReward)
    return api.make_search(config, components).run(PROMPT, num_frames, seed=3, progress=False)


@pytest.mark.parametrize("method, num_frames", [("stream-t1", 15), ("best-of-n", 9)])
def test_searches_with_frame_plans_equal_searches_on_whole_clips(sprites_weights, method, num_frames):
    planned = _search_result(sprites_weights, method, num_frames, hide_plan=False)
    whole = _search_result(sprites_weights, method, num_frames, hide_plan=True)
    assert planned.frames.dtype == torch.uint8 and planned.frames.numpy().tobytes() == whole.frames.numpy().tobytes()
    assert planned.chosen == whole.chosen and planned.trace.final == whole.trace.final
    assert planned.trace.final.scores[0] is not None  # the final pick ran
    assert planned.trace.chunks == whole.trace.chunks  # every candidate's short, long, parts and fused score
    windows = [c.long for chunk in planned.trace.chunks for c in chunk.candidates if c.long is not None]
    assert len(set(windows)) > 1 if method == "stream-t1" else windows == []  # scored, and told apart
    assert len(set(planned.trace.final.scores)) > 1
