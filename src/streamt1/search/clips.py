"""What the engine hands a video reward: clips read straight from the stored chunks' frames.

A clip here is the list of its chunks' frames, oldest first (``[t, 3, H, W]`` uint8 each, where they
were decoded while a reward window reads them, on the CPU after; see ``ChunkNode.frames``); the clip itself, their
concatenation, is only built for a reward that does not name the frames it reads. At 832x480 a
10-chunk reward window is ~140 MB per candidate, of which VideoAlign reads 2 frames per second.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from streamt1.interfaces import PlannedVideoReward, VideoReward, VideoScore

Clip = Sequence[Tensor]  # a clip as its chunks' frames, oldest first


def score_clips(reward: VideoReward, clips: Sequence[Clip], prompts: Sequence[str], fps: float) -> VideoScore:
    """``reward`` of each clip ``torch.cat(clips[i])`` (all of one length).

    A :class:`~streamt1.interfaces.PlannedVideoReward` gets only the frames its plan names, gathered
    from the chunks; any other reward gets the whole clips. Either way it scores the same.
    """
    if isinstance(reward, PlannedVideoReward):
        plan = reward.frame_plan(clip_length(clips), fps)
        return reward.score_planned(gather_frames(clips, plan), prompts, fps)
    return reward(gather_frames(clips), prompts, fps)


def clip_length(clips: Sequence[Clip]) -> int:
    """Frames per clip; clips scored together must be of one length (a batch is one tensor)."""
    lengths = {sum(len(chunk) for chunk in clip) for clip in clips}
    if len(lengths) != 1:
        raise ValueError(f"clips scored together must have one length, got {sorted(lengths)} frames")
    return lengths.pop()


def gather_frames(clips: Sequence[Clip], index: Tensor | None = None) -> Tensor:
    """``[N, len(index), 3, H, W]``: frames ``index`` of each clip (all of them if None), each copied
    once, from its chunk straight into place, on the device of the first clip's newest chunk (in a
    search, a candidate's own chunk, where it was decoded; its reward window's older chunks are
    there too, see ``ChunkNode.frames``)."""
    total = clip_length(clips)
    first = clips[0][-1]
    if index is None:
        out = torch.empty(len(clips), total, *first.shape[1:], dtype=first.dtype, device=first.device)
        for row, clip in zip(out, clips):
            start = 0
            for chunk in clip:  # copy_ also reads a chunk still on the accelerator
                row[start:start + len(chunk)].copy_(chunk)
                start += len(chunk)
        return out
    if index.ndim != 1 or index.dtype != torch.long:
        raise ValueError(f"a frame plan must be 1-D long indices, got {index.dtype} of shape {list(index.shape)}")
    if len(index) and (int(index.min()) < 0 or int(index.max()) >= total):
        raise ValueError(f"frame plan {index.tolist()} reads outside a clip of {total} frames")
    out = torch.empty(len(clips), len(index), *first.shape[1:], dtype=first.dtype, device=first.device)
    sources: dict[tuple[int, ...], list[tuple[int, int]]] = {}  # clips of one chunk layout read alike
    for row, clip in zip(out, clips):
        layout = tuple(len(chunk) for chunk in clip)
        if layout not in sources:
            sources[layout] = _sources(index, layout)
        for position, (j, frame) in enumerate(sources[layout]):  # a frame is one copy
            row[position].copy_(clip[j][frame])
    return out


def _sources(index: Tensor, layout: tuple[int, ...]) -> list[tuple[int, int]]:
    """(chunk, frame within it) of each frame ``index`` names in a clip of chunks of ``layout`` frames."""
    ends = torch.tensor(layout).cumsum(0)
    chunk = torch.bucketize(index, ends, right=True)
    frame = index - (ends - torch.tensor(layout))[chunk]
    return list(zip(chunk.tolist(), frame.tolist()))
