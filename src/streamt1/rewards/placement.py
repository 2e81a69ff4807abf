"""Where a reward's weights live and how much it scores per forward: small wrappers around any reward.

A reward here is any object with ``__call__`` (the ImageReward / VideoReward protocols), a
``.module`` holding every weight and a ``.device`` where it puts its inputs (a plain attribute, or a
property that reads the module's parameters). A wrapped
:class:`~streamt1.interfaces.PlannedVideoReward` stays one: its ``frame_plan`` is forwarded and
``score_planned`` goes the way ``__call__`` goes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from streamt1.interfaces import PlannedVideoReward, VideoScore


def unwrapped(reward: Any) -> Any:
    """The reward inside any placement wrappers: what scores, whatever the weights' placement."""
    while isinstance(reward, (Offloaded, Sliced)):
        reward = reward.reward
    return reward


def _forward_plan(wrapper: Any, reward: Any) -> None:
    """Give ``wrapper`` the frame plan of ``reward`` if it has one (a reward without keeps whole clips)."""
    if isinstance(reward, PlannedVideoReward):
        wrapper.frame_plan = reward.frame_plan


def _point_device(reward: Any, device: torch.device) -> None:
    """Tell ``reward`` where its inputs go, unless ``.device`` is read from the weights themselves."""
    try:
        reward.device = device
    except AttributeError:  # a read-only property: the weights' own device
        pass


class Offloaded:
    """Keeps a reward's weights on the CPU between calls and on ``device`` only during a call.

    For cards that cannot hold the generator and a 7B scorer at once: each call copies the weights
    to ``device`` (from pinned memory when it is a GPU), scores, and points the module back at the
    CPU tensors, which are never modified, so nothing is copied back. Scores equal the wrapped
    reward's on ``device``.
    """

    def __init__(self, reward: Any, device: torch.device | str) -> None:
        self.reward = reward
        self.device = torch.device(device)
        module = reward.module.to("cpu")
        self._tensors = [*module.parameters(), *module.buffers()]
        if self.device.type == "cuda":
            for tensor in self._tensors:
                tensor.data = tensor.data.pin_memory()
        self._host = [tensor.data for tensor in self._tensors]
        _point_device(reward, torch.device("cpu"))
        _forward_plan(self, reward)

    @property
    def module(self) -> torch.nn.Module:
        return self.reward.module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._on_device(self.reward, *args, **kwargs)

    def score_planned(self, *args: Any, **kwargs: Any) -> VideoScore:
        return self._on_device(self.reward.score_planned, *args, **kwargs)

    def _on_device(self, score: Any, *args: Any, **kwargs: Any) -> Any:
        for tensor, host in zip(self._tensors, self._host):
            tensor.data = host.to(self.device, non_blocking=True)
        _point_device(self.reward, self.device)
        try:
            return score(*args, **kwargs)
        finally:
            for tensor, host in zip(self._tensors, self._host):
                tensor.data = host
            _point_device(self.reward, torch.device("cpu"))


class Sliced:
    """Scores at most ``max_batch`` frames (image reward) or clips (video reward) per forward."""

    def __init__(self, reward: Any, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch} must be >= 1")
        self.reward = reward
        self.max_batch = max_batch
        _forward_plan(self, reward)

    @property
    def module(self) -> torch.nn.Module:
        return self.reward.module

    @property
    def device(self) -> torch.device:
        return self.reward.device

    @device.setter
    def device(self, device: torch.device) -> None:
        _point_device(self.reward, device)

    def __call__(self, inputs: Tensor, prompts: Any, *args: Any) -> Tensor | VideoScore:
        return self._sliced(self.reward, inputs, prompts, *args)

    def score_planned(self, frames: Tensor, prompts: Any, fps: float) -> VideoScore:
        return self._sliced(self.reward.score_planned, frames, prompts, fps)

    def _sliced(self, score: Any, inputs: Tensor, prompts: Any, *args: Any) -> Tensor | VideoScore:
        step = self.max_batch
        if len(inputs) <= step:
            return score(inputs, prompts, *args)
        parts = [score(inputs[i:i + step], prompts[i:i + step], *args) for i in range(0, len(inputs), step)]
        if isinstance(parts[0], VideoScore):
            return VideoScore(overall=torch.cat([p.overall for p in parts]),
                              parts={k: torch.cat([p.parts[k] for p in parts]) for k in parts[0].parts})
        return torch.cat(parts)
