"""Offloaded and Sliced: the same scores as the wrapped reward, weights back on the CPU after a call."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from streamt1.interfaces import PlannedVideoReward, VideoScore
from streamt1.rewards import load_image_reward
from streamt1.rewards.placement import Offloaded, Sliced
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

PROMPT = "a small red circle moves left over a blue background"


class LinearImageReward:
    """A reward in the loaders' shape: a plain ``.device`` attribute and a ``.module`` with a buffer."""

    def __init__(self) -> None:
        self.module = nn.Linear(3, 1)
        self.module.register_buffer("scale", torch.tensor(2.0))
        g = torch.Generator().manual_seed(0)
        for tensor in (self.module.weight, self.module.bias):
            torch.nn.init.normal_(tensor, generator=g)
        self.device = torch.device("cpu")
        self.seen = []  # (input device, weight device) of every call

    def __call__(self, frames: torch.Tensor, prompts) -> torch.Tensor:
        x = frames.to(self.device).mean(dim=(2, 3))
        self.seen.append((x.device, self.module.weight.device))
        return (self.module(x)[:, 0] * self.module.scale).cpu()


class ClipReward(LinearImageReward):
    def __call__(self, clips: torch.Tensor, prompts, fps: float) -> VideoScore:
        first = super().__call__(clips[:, 0], prompts)
        last = super().__call__(clips[:, -1], prompts)
        return VideoScore(overall=first + last, parts={"first": first, "last": last})


def frames(n: int) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(n))


def test_offloaded_scores_equal_and_the_weights_return_to_their_cpu_tensors():
    plain, wrapped_inner = LinearImageReward(), LinearImageReward()
    wrapped = Offloaded(wrapped_inner, "cpu")
    host = [t.data_ptr() for t in (*wrapped.module.parameters(), *wrapped.module.buffers())]
    x = frames(5)
    torch.testing.assert_close(wrapped(x, [PROMPT] * 5), plain(x, [PROMPT] * 5), rtol=0, atol=0)
    assert [t.data_ptr() for t in (*wrapped.module.parameters(), *wrapped.module.buffers())] == host
    assert wrapped_inner.device == torch.device("cpu") and wrapped.module.weight.device.type == "cpu"


def test_offloaded_restores_the_cpu_weights_when_the_reward_raises():
    inner = LinearImageReward()
    wrapped = Offloaded(inner, "cpu")
    weight = wrapped.module.weight.data_ptr()
    with pytest.raises(RuntimeError):
        wrapped(torch.rand(2, 4, 8, 8), [PROMPT] * 2)  # 4 channels: the Linear(3, 1) fails
    assert wrapped.module.weight.data_ptr() == weight


def test_offloaded_sprites_reward_by_the_registry_equals_the_resident_one():
    x = frames(4)
    resident = load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR)
    offloaded = load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR, offload=True)
    assert isinstance(offloaded, Offloaded)
    torch.testing.assert_close(offloaded(x, [PROMPT] * 4), resident(x, [PROMPT] * 4), rtol=0, atol=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_offloaded_computes_on_the_gpu_and_keeps_the_weights_on_the_cpu():
    inner = LinearImageReward()
    wrapped = Offloaded(inner, "cuda")
    reference = LinearImageReward()(frames(3), [PROMPT] * 3)
    torch.testing.assert_close(wrapped(frames(3), [PROMPT] * 3), reference, rtol=1e-5, atol=1e-5)
    assert inner.seen == [(torch.device("cuda", 0), torch.device("cuda", 0))]
    assert inner.module.weight.device.type == "cpu" and inner.module.weight.is_pinned()


def test_sliced_equals_one_call_and_never_exceeds_max_batch():
    inner = LinearImageReward()
    x = frames(7)
    whole = LinearImageReward()(x, [PROMPT] * 7)
    sliced = Sliced(inner, 3)
    # BLAS may round a batch of 3 and one of 7 differently (seen on the H200 machine's CPU: 2.4e-7)
    torch.testing.assert_close(sliced(x, [PROMPT] * 7), whole, rtol=0, atol=1e-6)
    assert len(inner.seen) == 3  # 3 + 3 + 1

    clips = torch.rand(5, 4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    whole_video = ClipReward()(clips, [PROMPT] * 5, 16.0)
    video = Sliced(ClipReward(), 2)(clips, [PROMPT] * 5, 16.0)
    torch.testing.assert_close(video.overall, whole_video.overall, rtol=0, atol=1e-6)
    for name in ("first", "last"):
        torch.testing.assert_close(video.parts[name], whole_video.parts[name], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="max_batch=0"):
        Sliced(inner, 0)


class PlannedClipReward(ClipReward):
    """ClipReward with a frame plan: it reads the first and the last frame."""

    def frame_plan(self, num_frames: int, fps: float) -> torch.Tensor:
        return torch.tensor([0, num_frames - 1])

    def __call__(self, clips: torch.Tensor, prompts, fps: float) -> VideoScore:
        return self.score_planned(clips[:, self.frame_plan(clips.shape[1], fps)], prompts, fps)

    def score_planned(self, frames: torch.Tensor, prompts, fps: float) -> VideoScore:
        return super().__call__(frames, prompts, fps)


def test_wrappers_keep_a_frame_plan_only_where_the_reward_has_one():
    assert not isinstance(Sliced(ClipReward(), 2), PlannedVideoReward)
    assert not isinstance(Offloaded(Sliced(ClipReward(), 2), "cpu"), PlannedVideoReward)
    inner = PlannedClipReward()
    wrapped = Offloaded(Sliced(inner, 2), "cpu")  # as load_reward stacks them
    assert isinstance(wrapped, PlannedVideoReward) and wrapped.frame_plan(9, 16.0).tolist() == [0, 8]
    clips = torch.rand(5, 9, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    whole = PlannedClipReward()(clips, [PROMPT] * 5, 16.0)
    planned = wrapped.score_planned(clips[:, [0, 8]], [PROMPT] * 5, 16.0)
    torch.testing.assert_close(planned.overall, whole.overall, rtol=0, atol=1e-6)
    assert len(inner.seen) == 2 * 3  # sliced 2 + 2 + 1, two frames read per slice
    assert wrapped.module.weight.device.type == "cpu"
