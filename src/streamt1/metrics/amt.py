"""AMT-S frame interpolation (Li et al., CVPR 2023) for VBench's motion smoothness, from the user's file.

VBench vendors AMT (CC BY-NC 4.0) and loads ``amt-s.pth`` (``{"state_dict": ...}``, config
``AMT-S.yaml``: correlation radius 3, 4 levels, 3 flows, channels 20/32/44/56, skip 20). The weights
stay the user's: nothing of AMT is shipped here. This module rebuilds the network with the released
parameter names so the file loads strictly:

* ``feat_encoder``: RAFT's small encoder (instance norm, no affine) to 84 channels at 1/8;
* ``encoder``: a 4-level PReLU pyramid (1/2 .. 1/16);
* ``decoder4`` .. ``decoder1``: IFRNet-style decoders (a "side-channel" residual block, a 4 x 4 / 2
  transposed conv) predicting both flows to time t and a feature; each of the top three is refined
  once by an update block that looks up a bidirectional all-pairs correlation pyramid at 1/8 (RAFT's
  window layout: the first offset axis moves x, the second y); ``decoder1`` predicts 3 flow pairs,
  blend masks and residuals, merged by ``comb_block``.

:func:`interpolate_midpoints` and :func:`motion_smoothness` follow ``vbench/motion_smoothness.py``:
the even frames are interpolated at t = 0.5 (frames /255, replicate-padded to a multiple of 16, one
pass, scale 1), the result is clipped and truncated to uint8, and each interpolated frame is compared
with the real odd frame between them: ``score = (255 - mean |real - interpolated|) / 255``.
VBench shrinks the network's working scale on GPUs with little memory; we always use scale 1, which
is what VBench does on a large GPU and on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.metrics.backbones import read_tensors_leniently
from streamt1.metrics.correlation import CorrelationPyramid, all_pairs, pixel_grid
from streamt1.models.checkpoints import CheckpointError, load_checked

RADIUS, LEVELS, NUM_FLOWS = 3, 4, 3
CHANNELS, SKIP = (20, 32, 44, 56), 20
FEATURE_DIM = 84
PAD_MULTIPLE = 16
MIN_SIDE = 8 * 2 ** LEVELS  # the coarsest correlation level must keep 2 pixels (1 divides by 0: NaN)
MIDPOINT = 0.5


def resize(x: Tensor, scale: float) -> Tensor:
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


def warp(image: Tensor, flow: Tensor) -> Tensor:
    """Backward warp by ``flow`` [B, 2, H, W] in pixels (bilinear, border padding)."""
    b, _, h, w = flow.shape
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device).view(1, 1, 1, w).expand(b, -1, h, -1)
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device).view(1, 1, h, 1).expand(b, -1, -1, w)
    grid = torch.cat([xs, ys], 1).to(image)
    scaled = torch.cat([flow[:, :1] / ((w - 1.0) / 2.0), flow[:, 1:2] / ((h - 1.0) / 2.0)], 1)
    return F.grid_sample(image, (grid + scaled).permute(0, 2, 3, 1), mode="bilinear",
                         padding_mode="border", align_corners=True)


def conv_prelu(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.PReLU(cout))


# ---------------------------------------------------------------------------------------------
# Correlation features (RAFT's small encoder, bidirectional all-pairs correlation)


class Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 4, 1)
        self.conv2 = nn.Conv2d(cout // 4, cout // 4, 3, stride, 1)
        self.conv3 = nn.Conv2d(cout // 4, cout, 1)
        # released name "downsample.0"; its instance norm ("downsample.1") has no parameters
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride)) if stride != 1 else None

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(F.instance_norm(self.conv1(x)))
        y = F.relu(F.instance_norm(self.conv2(y)))
        y = F.relu(F.instance_norm(self.conv3(y)))
        if self.downsample is not None:
            x = F.instance_norm(self.downsample(x))
        return F.relu(x + y)


class SmallEncoder(nn.Module):
    def __init__(self, out_dim: int = FEATURE_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 7, 2, 3)
        self.layer1 = nn.Sequential(Bottleneck(32, 32, 1), Bottleneck(32, 32, 1))
        self.layer2 = nn.Sequential(Bottleneck(32, 64, 2), Bottleneck(64, 64, 1))
        self.layer3 = nn.Sequential(Bottleneck(64, 96, 2), Bottleneck(96, 96, 1))
        self.conv2 = nn.Conv2d(96, out_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(F.instance_norm(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class BidirCorrelation:
    """AMT's bidirectional lookup: ``fmap0`` against ``fmap1`` and the transposed volume."""

    def __init__(self, fmap0: Tensor, fmap1: Tensor):
        _, _, h, w = fmap0.shape
        corr = all_pairs(fmap0, fmap1)  # [B, HW0, HW1]
        self.forward = CorrelationPyramid(corr, h, w, LEVELS, RADIUS)
        self.backward = CorrelationPyramid(corr.transpose(1, 2), h, w, LEVELS, RADIUS)

    def __call__(self, coords0: Tensor, coords1: Tensor) -> tuple[Tensor, Tensor]:
        return self.forward(coords0), self.backward(coords1)


class UpdateBlock(nn.Module):
    """AMT's small update block: correlation + flow -> residual feature and flow (at 1/8, rescaled)."""

    def __init__(self, cdim: int, scale: int | None, hidden: int = 76, flow_dim: int = 20,
                 corr_dim: int = 64, fc_dim: int = 68):
        super().__init__()
        planes = LEVELS * (2 * RADIUS + 1) ** 2
        self.scale = scale
        self.convc1 = nn.Conv2d(2 * planes, corr_dim, 1)
        self.convf1 = nn.Conv2d(4, 2 * flow_dim, 7, padding=3)
        self.convf2 = nn.Conv2d(2 * flow_dim, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d(corr_dim + flow_dim, fc_dim, 3, padding=1)
        self.gru = self._head(fc_dim + 4 + cdim, hidden, hidden)
        self.feat_head = self._head(hidden, hidden, cdim)
        self.flow_head = self._head(hidden, hidden, 4)

    @staticmethod
    def _head(cin: int, mid: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, mid, 3, padding=1), nn.LeakyReLU(0.1), nn.Conv2d(mid, cout, 3, padding=1))

    def forward(self, net: Tensor, flow: Tensor, corr: Tensor) -> tuple[Tensor, Tensor]:
        if self.scale is not None:
            net = resize(net, 1 / self.scale)
        cor = F.leaky_relu(self.convc1(corr), 0.1)
        flo = F.leaky_relu(self.convf2(F.leaky_relu(self.convf1(flow), 0.1)), 0.1)
        inp = F.leaky_relu(self.conv(torch.cat([cor, flo], 1)), 0.1)
        out = self.gru(torch.cat([inp, flow, net], 1))
        delta_net, delta_flow = self.feat_head(out), self.flow_head(out)
        if self.scale is not None:
            delta_net = resize(delta_net, self.scale)
            delta_flow = self.scale * resize(delta_flow, self.scale)
        return delta_net, delta_flow


# ---------------------------------------------------------------------------------------------
# IFRNet-style pyramid and decoders


class SideResBlock(nn.Module):
    """Residual block whose last ``side`` channels get two extra convolutions."""

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.side = side
        self.conv1 = conv_prelu(channels, channels)
        self.conv2 = conv_prelu(side, side)
        self.conv3 = conv_prelu(channels, channels)
        self.conv4 = conv_prelu(side, side)
        self.conv5 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.prelu = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(x)
        out = self.conv3(torch.cat([out[:, : -self.side], self.conv2(out[:, -self.side :])], 1))
        out = self.conv5(torch.cat([out[:, : -self.side], self.conv4(out[:, -self.side :])], 1))
        return self.prelu(x + out)


class Pyramid(nn.Module):
    def __init__(self):
        super().__init__()
        previous = 3
        for level, ch in enumerate(CHANNELS, 1):
            self.add_module(f"pyramid{level}", nn.Sequential(conv_prelu(previous, ch, 3, 2, 1), conv_prelu(ch, ch)))
            previous = ch

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for level in range(1, len(CHANNELS) + 1):
            x = getattr(self, f"pyramid{level}")(x)
            features.append(x)
        return features


def _decoder_block(cin: int, width: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv_prelu(cin, width), SideResBlock(width, SKIP), nn.ConvTranspose2d(width, cout, 4, 2, 1))


class InitDecoder(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.convblock = _decoder_block(2 * cin + 1, 2 * cin, cout + 4)

    def forward(self, f0: Tensor, f1: Tensor, embt: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, _, h, w = f0.shape
        out = self.convblock(torch.cat([f0, f1, embt.expand(b, 1, h, w)], 1))
        return out[:, 0:2], out[:, 2:4], out[:, 4:]


class IntermediateDecoder(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.convblock = _decoder_block(3 * cin + 4, 3 * cin, cout + 4)

    def forward(self, ft: Tensor, f0: Tensor, f1: Tensor, flow0: Tensor, flow1: Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
        out = self.convblock(torch.cat([ft, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
        return out[:, 0:2] + 2.0 * resize(flow0, 2.0), out[:, 2:4] + 2.0 * resize(flow1, 2.0), out[:, 4:]


class MultiFlowDecoder(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.convblock = _decoder_block(3 * cin + 4, 3 * cin, 8 * NUM_FLOWS)

    def forward(self, ft: Tensor, f0: Tensor, f1: Tensor, flow0: Tensor, flow1: Tensor) -> tuple[Tensor, ...]:
        n = NUM_FLOWS
        out = self.convblock(torch.cat([ft, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
        delta0, delta1, mask, residual = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = delta0 + 2.0 * resize(flow0, 2.0).repeat(1, n, 1, 1)
        flow1 = delta1 + 2.0 * resize(flow1, 2.0).repeat(1, n, 1, 1)
        return flow0, flow1, torch.sigmoid(mask), residual


# ---------------------------------------------------------------------------------------------
# The model


class AmtS(nn.Module):
    """AMT-S: two frames ``[B, 3, H, W]`` in [0, 1] (H, W multiples of 16) -> the frame at ``embt``."""

    def __init__(self):
        super().__init__()
        c = CHANNELS
        self.feat_encoder = SmallEncoder()
        self.encoder = Pyramid()
        self.decoder4 = InitDecoder(c[3], c[2])
        self.decoder3 = IntermediateDecoder(c[2], c[1])
        self.decoder2 = IntermediateDecoder(c[1], c[0])
        self.decoder1 = MultiFlowDecoder(c[0])
        self.update4 = UpdateBlock(c[2], None)
        self.update3 = UpdateBlock(c[1], 2)
        self.update2 = UpdateBlock(c[0], 4)
        self.comb_block = nn.Sequential(nn.Conv2d(3 * NUM_FLOWS, 6 * NUM_FLOWS, 3, 1, 1), nn.PReLU(6 * NUM_FLOWS),
                                        nn.Conv2d(6 * NUM_FLOWS, 3, 3, 1, 1))

    @staticmethod
    def refine(update: UpdateBlock, corr: BidirCorrelation, grid: Tensor, flow0: Tensor, flow1: Tensor,
               ft: Tensor, embt: Tensor, down: int) -> tuple[Tensor, Tensor, Tensor]:
        """One correlation lookup at 1/8 (flows to t rescaled to 0 -> 1 and 1 -> 0) and its update."""
        small0, small1 = (flow0, flow1) if down == 1 else (resize(f, 1 / down) / down for f in (flow0, flow1))
        corr0, corr1 = corr(grid + small1 / embt, grid + small0 / (1.0 - embt))
        delta_ft, delta_flow = update(ft, torch.cat([small0, small1], 1), torch.cat([corr0, corr1], 1))
        return flow0 + delta_flow[:, :2], flow1 + delta_flow[:, 2:], ft + delta_ft

    def forward(self, img0: Tensor, img1: Tensor, embt: Tensor) -> Tensor:
        mean = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean, img1 - mean
        b, _, h, w = img0.shape
        if min(h, w) < MIN_SIDE:
            raise ValueError(f"AMT-S needs frames of at least {MIN_SIDE} x {MIN_SIDE} pixels, got {h} x {w}")
        grid = pixel_grid(b, h // 8, w // 8, img0.device)  # (x, y) at 1/8
        fmap0, fmap1 = self.feat_encoder(torch.cat([img0, img1])).chunk(2)
        corr = BidirCorrelation(fmap0, fmap1)
        f0, f1 = self.encoder(img0), self.encoder(img1)
        flow0, flow1, ft = self.decoder4(f0[3], f1[3], embt)
        flow0, flow1, ft = self.refine(self.update4, corr, grid, flow0, flow1, ft, embt, 1)
        flow0, flow1, ft = self.decoder3(ft, f0[2], f1[2], flow0, flow1)
        flow0, flow1, ft = self.refine(self.update3, corr, grid, flow0, flow1, ft, embt, 2)
        flow0, flow1, ft = self.decoder2(ft, f0[1], f1[1], flow0, flow1)
        flow0, flow1, ft = self.refine(self.update2, corr, grid, flow0, flow1, ft, embt, 4)
        flow0, flow1, mask, residual = self.decoder1(ft, f0[0], f1[0], flow0, flow1)
        return combine_flows(self.comb_block, img0, img1, flow0, flow1, mask, residual, mean).clamp(0, 1)


def combine_flows(comb: nn.Module, img0: Tensor, img1: Tensor, flow0: Tensor, flow1: Tensor,
                  mask: Tensor, residual: Tensor, mean: Tensor) -> Tensor:
    """Warp both frames along each of the flow pairs, blend, average and add the learned correction."""
    b, _, h, w = flow0.shape
    n = NUM_FLOWS
    warped0 = warp(img0.repeat_interleave(n, 0), flow0.reshape(b * n, 2, h, w))
    warped1 = warp(img1.repeat_interleave(n, 0), flow1.reshape(b * n, 2, h, w))
    m = mask.reshape(b * n, 1, h, w)
    blends = m * warped0 + (1 - m) * warped1 + mean.repeat_interleave(n, 0) + residual.reshape(b * n, 3, h, w)
    blends = blends.reshape(b, n, 3, h, w)
    return blends.mean(1) + comb(blends.reshape(b, n * 3, h, w))


def load_amt_s(path: str | Path, device: torch.device | str = "cpu") -> AmtS:
    """AMT-S from the released ``amt-s.pth`` (``{"state_dict": ...}``), read without running its pickle."""
    container = read_tensors_leniently(path)
    sd = container.get("state_dict", container) if isinstance(container, dict) else None
    if not isinstance(sd, dict) or "feat_encoder.conv1.weight" not in sd:
        raise CheckpointError(f"{path}: not an AMT-S checkpoint (expected 'state_dict' with 'feat_encoder.*')")
    model = AmtS()
    load_checked(model, {k: v.float() for k, v in sd.items() if isinstance(v, Tensor)}, path)
    return model.eval().to(device)


# ---------------------------------------------------------------------------------------------
# VBench's motion smoothness


Interpolator = Callable[[Tensor, Tensor], Tensor]  # two [1, 3, H, W] frames in [0, 1] -> the middle one


def amt_interpolator(model: AmtS) -> Interpolator:
    def interpolate(img0: Tensor, img1: Tensor) -> Tensor:
        device = next(model.parameters()).device
        embt = torch.full((1, 1, 1, 1), MIDPOINT, device=device)
        with torch.no_grad():
            return model(img0.to(device), img1.to(device), embt).cpu()
    return interpolate


def replicate_pad(frames: Tensor, multiple: int = PAD_MULTIPLE) -> tuple[Tensor, tuple[int, int, int, int]]:
    """AMT's ``InputPadder``: replicate-pad to a multiple, half (rounded down) before, rest after."""
    h, w = frames.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    pads = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
    return F.pad(frames, pads, mode="replicate"), pads


def interpolate_midpoints(video: Tensor, interpolate: Interpolator) -> Tensor:
    """uint8 ``[T, 3, H, W]`` -> uint8 ``[ceil(T/2) - 1, 3, H, W]``: each pair of even frames' middle."""
    h, w = video.shape[-2:]
    padded, (left, _, top, _) = replicate_pad(video[::2].float() / 255.0)
    middles = [interpolate(padded[i : i + 1], padded[i + 1 : i + 2]) for i in range(len(padded) - 1)]
    middles = torch.cat(middles)[..., top : top + h, left : left + w]
    return (middles * 255.0).clamp(0, 255).to(torch.uint8)  # numpy's astype(uint8): truncation


def motion_smoothness(video: Tensor, interpolate: Interpolator) -> float:
    """VBench motion smoothness of a uint8 video ``[T, 3, H, W]`` (T >= 3)."""
    if len(video) < 3:
        raise ValueError(f"motion smoothness needs at least 3 frames, got {len(video)}")
    middles = interpolate_midpoints(video, interpolate)
    real = video[1::2][: len(middles)]
    diff = (real.double() - middles.double()).abs().mean((1, 2, 3))  # per pair: cv2.absdiff + np.mean
    return float((255.0 - diff.mean()) / 255.0)
