"""RAFT optical flow (Teed & Deng, ECCV 2020) for VBench's dynamic degree, from ``raft-things.pth``.

VBench vendors princeton-vl/RAFT (BSD-3) and loads ``raft-things.pth`` (a ``DataParallel`` state dict:
``module.`` prefix) into the full model: feature encoder (instance norm) and context encoder (batch
norm) to 256 channels at 1/8, a 4-level correlation pyramid of radius 4, and a separable-conv GRU
update block run ``iters`` times, the flow upsampled by the learned convex mask. This module rebuilds it
with the released names (the context encoder's strided blocks keep RAFT's double registration of their
shortcut norm, ``norm3`` and ``downsample.1``, so the file loads strictly).

:func:`dynamic_degree` follows ``vbench/dynamic_degree.py``: every ``max(1, round(fps / 8))``-th frame;
each consecutive pair replicate-padded to a multiple of 8 (half before), RAFT with 20 iterations on
0..255 frames; a pair's motion is the mean of the largest 5 % flow magnitudes (over the padded frame);
the video is dynamic when at least ``round(4 * frames / 16)`` pairs exceed ``6 * min(H, W) / 256``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.metrics.backbones import read_any_checkpoint
from streamt1.metrics.correlation import CorrelationPyramid, all_pairs, pixel_grid
from streamt1.models.checkpoints import CheckpointError, load_checked

LEVELS, RADIUS, HIDDEN, CONTEXT = 4, 4, 128, 128
ITERATIONS = 20  # VBench's iters
PAD_MULTIPLE = 8
MIN_SIDE = 8 * 2 ** LEVELS  # the coarsest correlation level must keep 2 pixels (1 divides by 0)
SAMPLING_FPS = 8  # VBench keeps about 8 frames per second
TOP_FRACTION = 0.05


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, norm: Callable[[int], nn.Module], stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.norm1, self.norm2 = norm(cout), norm(cout)
        self.downsample = None
        if stride != 1:
            self.norm3 = norm(cout)
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), self.norm3)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        return F.relu((x if self.downsample is None else self.downsample(x)) + y)


class Encoder(nn.Module):
    """RAFT's BasicEncoder: 7x7/2 conv, 3 stages of 2 residual blocks (64, 96, 128), 1x1 conv; 1/8."""

    def __init__(self, out_dim: int, norm: Callable[[int], nn.Module]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3)
        self.norm1 = norm(64)
        self.layer1 = nn.Sequential(ResidualBlock(64, 64, norm, 1), ResidualBlock(64, 64, norm, 1))
        self.layer2 = nn.Sequential(ResidualBlock(64, 96, norm, 2), ResidualBlock(96, 96, norm, 1))
        self.layer3 = nn.Sequential(ResidualBlock(96, 128, norm, 2), ResidualBlock(128, 128, norm, 1))
        self.conv2 = nn.Conv2d(128, out_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class MotionEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        planes = LEVELS * (2 * RADIUS + 1) ** 2
        self.convc1 = nn.Conv2d(planes, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow: Tensor, corr: Tensor) -> Tensor:
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        return torch.cat([F.relu(self.conv(torch.cat([cor, flo], 1))), flow], 1)


class SepConvGRU(nn.Module):
    """A GRU over a 1x5 then a 5x1 convolution."""

    def __init__(self, hidden: int, inputs: int):
        super().__init__()
        for axis, (kernel, pad) in (("1", ((1, 5), (0, 2))), ("2", ((5, 1), (2, 0)))):
            for gate in ("z", "r", "q"):
                self.add_module(f"conv{gate}{axis}", nn.Conv2d(hidden + inputs, hidden, kernel, padding=pad))

    def forward(self, h: Tensor, x: Tensor) -> Tensor:
        for axis in ("1", "2"):
            hx = torch.cat([h, x], 1)
            z = torch.sigmoid(getattr(self, f"convz{axis}")(hx))
            r = torch.sigmoid(getattr(self, f"convr{axis}")(hx))
            q = torch.tanh(getattr(self, f"convq{axis}")(torch.cat([r * h, x], 1)))
            h = (1 - z) * h + z * q
        return h


class FlowHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(HIDDEN, 256, 3, padding=1)
        self.conv2 = nn.Conv2d(256, 2, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(F.relu(self.conv1(x)))


class UpdateBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = MotionEncoder()
        self.gru = SepConvGRU(HIDDEN, 128 + HIDDEN)
        self.flow_head = FlowHead()
        self.mask = nn.Sequential(nn.Conv2d(HIDDEN, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 64 * 9, 1))

    def forward(self, net: Tensor, inp: Tensor, corr: Tensor, flow: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        net = self.gru(net, torch.cat([inp, self.encoder(flow, corr)], 1))
        return net, 0.25 * self.mask(net), self.flow_head(net)


def upsample_flow(flow: Tensor, mask: Tensor) -> Tensor:
    """Flow ``[N, 2, H, W]`` at 1/8 -> ``[N, 2, 8H, 8W]``: convex combination of 3x3 neighbours."""
    n, _, h, w = flow.shape
    weights = mask.view(n, 1, 9, 8, 8, h, w).softmax(dim=2)
    neighbours = F.unfold(8 * flow, [3, 3], padding=1).view(n, 2, 9, 1, 1, h, w)
    up = (weights * neighbours).sum(dim=2)  # [N, 2, 8, 8, H, W]
    return up.permute(0, 1, 4, 2, 5, 3).reshape(n, 2, 8 * h, 8 * w)


class Raft(nn.Module):
    """RAFT: frames ``[N, 3, H, W]`` in 0..255 (H, W multiples of 8) -> upsampled flow ``[N, 2, H, W]``."""

    def __init__(self):
        super().__init__()
        self.fnet = Encoder(256, lambda c: nn.InstanceNorm2d(c))
        self.cnet = Encoder(HIDDEN + CONTEXT, nn.BatchNorm2d)
        self.update_block = UpdateBlock()

    def forward(self, image1: Tensor, image2: Tensor, iters: int = ITERATIONS) -> Tensor:
        n, _, h, w = image1.shape
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"RAFT needs frames of at least {MIN_SIDE} x {MIN_SIDE} pixels, got {h} x {w}")
        image1, image2 = 2 * (image1 / 255.0) - 1.0, 2 * (image2 / 255.0) - 1.0
        fmap1, fmap2 = self.fnet(torch.cat([image1, image2])).float().chunk(2)
        corr = CorrelationPyramid(all_pairs(fmap1, fmap2), h // 8, w // 8, LEVELS, RADIUS)
        net, inp = self.cnet(image1).split([HIDDEN, CONTEXT], dim=1)
        net, inp = torch.tanh(net), F.relu(inp)
        coords0 = pixel_grid(n, h // 8, w // 8, image1.device)  # (x, y) at 1/8
        coords1 = coords0.clone()
        for _ in range(iters):
            net, mask, delta = self.update_block(net, inp, corr(coords1), coords1 - coords0)
            coords1 = coords1 + delta
        return upsample_flow(coords1 - coords0, mask)


def load_raft(path: str | Path, device: torch.device | str = "cpu") -> Raft:
    """RAFT from ``raft-things.pth`` (a ``DataParallel`` state dict)."""
    sd = {k.removeprefix("module."): v for k, v in read_any_checkpoint(path).items()}
    if "fnet.conv1.weight" not in sd:
        raise CheckpointError(f"{path}: not a RAFT state dict (expected 'module.fnet.*' keys)")
    model = Raft()
    load_checked(model, {k: v if v.dtype == torch.long else v.float() for k, v in sd.items()}, path)
    return model.eval().to(device)


# ---------------------------------------------------------------------------------------------
# VBench's dynamic degree


def top_motion(flow: Tensor) -> float:
    """Mean of the largest 5 % flow magnitudes of one flow ``[2, H, W]``."""
    magnitude = flow.float().pow(2).sum(0).sqrt().flatten()
    count = int(magnitude.numel() * TOP_FRACTION)
    return float(magnitude.sort(descending=True).values[:count].mean())


def is_dynamic(motions: list[float], num_frames: int, height: int, width: int) -> bool:
    """VBench's ``check_move``: at least ``round(4 * num_frames / 16)`` pairs above the threshold
    (the loop returns as soon as the count is reached, so a required count of 0 needs one pair)."""
    threshold = 6.0 * min(height, width) / 256.0
    needed = round(4 * num_frames / 16.0)
    count = 0
    for motion in motions:
        count += motion > threshold
        if count >= needed:
            return True
    return False


def dynamic_degree(video: Tensor, fps: float, model: Raft) -> float:
    """1.0 when VBench counts the uint8 video ``[T, 3, H, W]`` as dynamic, else 0.0."""
    frames = video[:: max(1, round(fps / SAMPLING_FPS))]
    h, w = frames.shape[-2:]
    pad_h, pad_w = (-h) % PAD_MULTIPLE, (-w) % PAD_MULTIPLE
    pads = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    device = next(model.parameters()).device
    motions = []
    with torch.no_grad():
        for i in range(len(frames) - 1):
            pair = F.pad(frames[i : i + 2].float().to(device), pads, mode="replicate")
            motions.append(top_motion(model(pair[:1], pair[1:])[0]))
    return float(is_dynamic(motions, len(frames), h, w))
