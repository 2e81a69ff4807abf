"""RAFT's all-pairs correlation pyramid, shared by AMT-S (motion smoothness) and RAFT (dynamic degree).

The correlation of every pixel of ``fmap0`` with every pixel of ``fmap1`` (dot product / sqrt(C)) is
average-pooled into a pyramid; a lookup samples a ``(2r+1)^2`` window around given (x, y) positions
on each level (bilinear, zeros outside). The window's offsets come from RAFT's ``meshgrid(dy, dx)``
added to (x, y) as is, so its first axis moves x: the channel order the released weights expect.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def window_offsets(radius: int, device: torch.device) -> Tensor:
    """``[1, 2r+1, 2r+1, 2]`` offsets added to (x, y) centres (RAFT's layout, see above)."""
    d = torch.linspace(-radius, radius, 2 * radius + 1, device=device)
    return torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1)[None]


def sample_pixels(volume: Tensor, coords: Tensor) -> Tensor:
    """``grid_sample`` at pixel coordinates (x, y), align_corners, zero outside."""
    h, w = volume.shape[-2:]
    grid = torch.stack([2 * coords[..., 0] / (w - 1) - 1, 2 * coords[..., 1] / (h - 1) - 1], dim=-1)
    return F.grid_sample(volume, grid, align_corners=True)


def pixel_grid(batch: int, height: int, width: int, device: torch.device) -> Tensor:
    """``[B, 2, H, W]`` pixel positions (x, y): where every pixel points with zero flow."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack([xs, ys]).float()[None].expand(batch, -1, -1, -1)


def all_pairs(fmap0: Tensor, fmap1: Tensor) -> Tensor:
    """``[B, H*W (of fmap0), H*W (of fmap1)]`` correlations / sqrt(C)."""
    c = fmap0.shape[1]
    return fmap0.flatten(2).transpose(1, 2) @ fmap1.flatten(2) / torch.sqrt(torch.tensor(float(c)))


class CorrelationPyramid:
    """Pooled correlation volumes ``[B*H*W, 1, h_i, w_i]`` and their window lookup."""

    def __init__(self, corr: Tensor, height: int, width: int, levels: int, radius: int):
        self.radius = radius
        self.levels = [corr.reshape(-1, 1, height, width)]
        for _ in range(levels - 1):
            self.levels.append(F.avg_pool2d(self.levels[-1], 2, stride=2))

    def __call__(self, coords: Tensor) -> Tensor:
        """Positions ``[B, 2, H, W]`` (x, y in level-0 pixels) -> features ``[B, L*(2r+1)^2, H, W]``."""
        b, _, h, w = coords.shape
        centres = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2)
        offsets = window_offsets(self.radius, coords.device)
        windows = [sample_pixels(vol, centres / 2**i + offsets).view(b, h, w, -1) for i, vol in enumerate(self.levels)]
        return torch.cat(windows, dim=-1).permute(0, 3, 1, 2).contiguous().float()
