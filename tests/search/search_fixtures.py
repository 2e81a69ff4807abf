"""A tiny real generator (causal Wan, random weights, real KV cache and eviction) and simple
analytic rewards, so the engine is tested through the same interfaces as the real models."""

import torch

from streamt1.interfaces import VideoScore, unit_float
from streamt1.models.causal_wan import CausalWan
from streamt1.models.codec import PixelUnshuffleCodec
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator


def _text_encoder(prompts: list[str]) -> torch.Tensor:
    """A fixed random embedding per word position, seeded by the prompt's characters."""
    out = torch.zeros(len(prompts), 6, 12)
    for i, prompt in enumerate(prompts):
        g = torch.Generator().manual_seed(sum(map(ord, prompt)))
        out[i, : min(len(prompt.split()), 6)] = torch.randn(min(len(prompt.split()), 6), 12, generator=g)
    return out


def make_generator(window_frames: int = 6) -> CausalWanGenerator:
    model = CausalWan(WanConfig.preset("tiny-test"))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)
    stream = StreamConfig(window_frames=window_frames)
    return CausalWanGenerator(model, stream, _text_encoder, PixelUnshuffleCodec(2), (4, 4), fps=16)


class BrightnessReward:
    """Image reward: mean intensity of each frame."""

    def __call__(self, frames: torch.Tensor, prompts) -> torch.Tensor:
        assert frames.ndim == 4 and len(prompts) == frames.shape[0]
        return unit_float(frames).mean(dim=(1, 2, 3))  # the engine hands uint8 frames


class SteadinessReward:
    """Video reward: minus the mean frame-to-frame change, plus a little brightness."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, clips: torch.Tensor, prompts, fps: float) -> VideoScore:
        assert clips.ndim == 5 and len(prompts) == clips.shape[0]
        self.calls.append(tuple(clips.shape))
        clips = unit_float(clips)
        change = (clips[:, 1:] - clips[:, :-1]).abs().mean(dim=(1, 2, 3, 4)) if clips.shape[1] > 1 \
            else clips.new_zeros(clips.shape[0])
        bright = clips.mean(dim=(1, 2, 3, 4))
        return VideoScore(overall=bright - change, parts={"steady": -change, "bright": bright})
