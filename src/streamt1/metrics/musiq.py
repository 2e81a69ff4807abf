"""MUSIQ (Ke et al., ICCV 2021) as pyiqa builds it, for VBench's imaging quality from a local file.

VBench scores every frame with ``pyiqa.archs.musiq_arch.MUSIQ(pretrained_model_path=
musiq_spaq_ckpt-358bb6af.pth)``: one output (SPAQ's 0..100 quality), the state dict loaded as is.
This module rebuilds that network with pyiqa's parameter names:

* input in [0, 1], mapped to [-1, 1];
* multi-scale patches (:func:`multiscale_patches`): the image resized (bicubic, aspect kept, sides
  rounded) so its longer side is 224 and then 384, plus the original resolution; each cut into 32 x 32
  patches with TensorFlow "SAME" zero padding; the two resized scales are zero-padded to 7 x 7 and
  12 x 12 patches (masked out), the original keeps all its patches. Each patch carries a hashed
  spatial position on a 10 x 10 grid (nearest-neighbour) and its scale index;
* a ResNet stem per patch: weight-standardised 7 x 7 / 2 conv (unbiased std + 1e-5, "SAME" padding),
  GroupNorm(32, eps 1e-6), ReLU, "SAME"-padded 3 x 3 / 2 max-pool, one bottleneck (GroupNorm eps 1e-4),
  flattened in TensorFlow's channel-last order, a linear embedding;
* a pre-LN transformer (CLS first, hashed position and scale embeddings, masked attention with -1e3
  on padded pairs, LayerNorm eps 1e-6, exact GELU, 64-dim heads); the head reads the CLS token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.metrics.backbones import HEAD_DIM, read_any_checkpoint
from streamt1.models.checkpoints import CheckpointError, load_checked

PATCH = 32
HASH_GRID = 10
LONGER_SIDES = (224, 384)
STEM_DIM = 64  # ResNet token channels; the bottleneck widens them 4x
MASKED_LOGIT = -1e3  # pyiqa fills masked attention with -1e3, not -inf


def same_padding(x: Tensor, kernel: int, stride: int) -> Tensor:
    """TensorFlow's "SAME" zero padding for a ``kernel`` / ``stride`` window (extra pixel at the end)."""
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


def hashed_positions(rows: int, cols: int, grid: int = HASH_GRID) -> Tensor:
    """Index ``[rows * cols]`` of each patch on the ``grid x grid`` embedding table (nearest)."""
    axis = torch.arange(grid, dtype=torch.float32)[None, None]
    r = F.interpolate(axis, size=rows, mode="nearest")[0, 0]
    c = F.interpolate(axis, size=cols, mode="nearest")[0, 0]
    return (r[:, None] * grid + c[None, :]).reshape(-1)


def _patches(image: Tensor, scale_id: int, max_len: int | None) -> Tensor:
    """``[N, L, 3 * 32 * 32 + 3]``: patches, hashed position, scale index, mask (1 = real)."""
    n, _, h, w = image.shape
    patches = F.unfold(same_padding(image, PATCH, PATCH), PATCH, stride=PATCH)  # [N, 3*32*32, L]
    rows, cols = math.ceil(h / PATCH), math.ceil(w / PATCH)
    extra = torch.stack([hashed_positions(rows, cols), torch.full((rows * cols,), float(scale_id)),
                         torch.ones(rows * cols)]).to(patches)  # [3, L]
    out = torch.cat([patches, extra[None].expand(n, -1, -1)], dim=1)
    if max_len is not None:  # zero-pad (mask 0) or cut to a fixed length
        out = F.pad(out, (0, max(0, max_len - out.shape[-1])))[..., :max_len]
    return out.transpose(1, 2)


def multiscale_patches(image: Tensor) -> Tensor:
    """pyiqa's ``get_multiscale_patches`` for images ``[N, 3, H, W]`` in [-1, 1]."""
    _, _, h, w = image.shape
    scales = []
    for scale_id, longer in enumerate(sorted(LONGER_SIDES)):
        ratio = longer / max(h, w)
        resized = F.interpolate(image, (round(h * ratio), round(w * ratio)), mode="bicubic")
        scales.append(_patches(resized, scale_id, math.ceil(longer / PATCH) ** 2))
    scales.append(_patches(image, len(LONGER_SIDES), None))
    return torch.cat(scales, dim=1)


class StdConv(nn.Conv2d):
    """Weight-standardised convolution with "SAME" padding (no bias)."""

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight - self.weight.mean((1, 2, 3), keepdim=True)
        weight = weight / (weight.std((1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(same_padding(x, self.kernel_size[0], self.stride[0]), weight, None, self.stride)


class Bottleneck(nn.Module):
    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.conv1 = StdConv(channels, channels, 1, bias=False)
        self.gn1 = nn.GroupNorm(32, channels, eps=1e-4)
        self.conv2 = StdConv(channels, channels, 3, bias=False)
        self.gn2 = nn.GroupNorm(32, channels, eps=1e-4)
        self.conv3 = StdConv(channels, out_channels, 1, bias=False)
        self.gn3 = nn.GroupNorm(32, out_channels, eps=1e-4)
        self.conv_proj = StdConv(channels, out_channels, 1, bias=False)
        self.gn_proj = nn.GroupNorm(32, out_channels, eps=1e-4)

    def forward(self, x: Tensor) -> Tensor:
        identity = self.gn_proj(self.conv_proj(x))
        x = F.relu(self.gn1(self.conv1(x)))
        x = F.relu(self.gn2(self.conv2(x)))
        return F.relu(self.gn3(self.conv3(x)) + identity)


class Attention(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.heads = dim // HEAD_DIM
        self.query, self.key, self.value, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = (m(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
                   for m in (self.query, self.key, self.value))  # 3 x [B, h, N, d]
        logits = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5  # [B, h, N, N]
        pair = (mask[:, None, :, None] * mask[:, None, None, :]) == 0
        attn = logits.masked_fill(pair, MASKED_LOGIT).softmax(-1)
        return self.out((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, mlp_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = Attention(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.attention(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class PositionEmbedding(nn.Module):
    def __init__(self, grid: int, dim: int):
        super().__init__()
        self.position_emb = nn.Parameter(torch.zeros(1, grid * grid, dim))


class ScaleEmbedding(nn.Module):
    def __init__(self, scales: int, dim: int):
        super().__init__()
        self.scale_emb = nn.Parameter(torch.zeros(scales, dim))


class Encoder(nn.Module):
    def __init__(self, dim: int, mlp_dim: int, layers: int, scales: int):
        super().__init__()
        self.posembed_input = PositionEmbedding(HASH_GRID, dim)
        self.scaleembed_input = ScaleEmbedding(scales, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.transformer = nn.ModuleDict({f"encoderblock_{i}": Block(dim, mlp_dim) for i in range(layers)})

    def forward(self, x: Tensor, positions: Tensor, scales: Tensor, mask: Tensor) -> Tensor:
        x = x + self.posembed_input.position_emb[0][positions] + self.scaleembed_input.scale_emb[scales]
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1)  # [B, 1 + L, D]
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        for block in self.transformer.values():
            x = block(x, mask)
        return self.encoder_norm(x)


class Musiq(nn.Module):
    """pyiqa's MUSIQ with one output: images ``[B, 3, H, W]`` in [0, 1] -> quality ``[B]``."""

    def __init__(self, dim: int = 384, mlp_dim: int = 1152, layers: int = 14, scales: int = 3):
        super().__init__()
        self.conv_root = StdConv(3, STEM_DIM, 7, 2, bias=False)
        self.gn_root = nn.GroupNorm(32, STEM_DIM, eps=1e-6)
        self.block1 = Bottleneck(STEM_DIM, 4 * STEM_DIM)
        self.embedding = nn.Linear(4 * STEM_DIM * (PATCH // 4) ** 2, dim)
        self.transformer_encoder = Encoder(dim, mlp_dim, layers, scales)
        self.head = nn.Linear(dim, 1)

    @classmethod
    def from_state_dict(cls, sd: Mapping[str, Tensor]) -> Musiq:
        prefix = "transformer_encoder.transformer.encoderblock_"
        layers = len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})
        mlp_dim, dim = sd[f"{prefix}0.mlp.fc1.weight"].shape
        return cls(dim, mlp_dim, layers, sd["transformer_encoder.scaleembed_input.scale_emb"].shape[0])

    def stem(self, patches: Tensor) -> Tensor:
        """Patches ``[P, 3, 32, 32]`` -> tokens ``[P, 8 * 8 * 256]`` in TensorFlow's channel-last order."""
        x = F.relu(self.gn_root(self.conv_root(patches)))
        x = F.max_pool2d(same_padding(x, 3, 2), 3, 2)
        return self.block1(x).permute(0, 2, 3, 1).flatten(1)

    def forward(self, images: Tensor) -> Tensor:
        tokens = multiscale_patches((images - 0.5) * 2)  # [B, L, 3*32*32 + 3]
        b, length, _ = tokens.shape
        positions, scales, mask = tokens[..., -3].long(), tokens[..., -2].long(), tokens[..., -1]
        # Padding patches get exactly zero attention (exp(-1e3) underflows), so only real ones go
        # through the stem; pyiqa runs the stem on the zero patches too, to no effect.
        real = mask.bool()
        x = tokens.new_zeros(b, length, self.embedding.in_features)
        x[real] = self.stem(tokens[real][:, :-3].reshape(-1, 3, PATCH, PATCH))
        x = self.transformer_encoder(self.embedding(x), positions, scales, mask)
        return self.head(x[:, 0]).squeeze(-1)


def load_musiq(path: str | Path, device: torch.device | str = "cpu") -> Musiq:
    """MUSIQ from pyiqa's released checkpoint (``musiq_spaq_ckpt-358bb6af.pth``: a bare state dict)."""
    sd = {k.removeprefix("module."): v.float() for k, v in read_any_checkpoint(path).items()}
    if "conv_root.weight" not in sd or sd.get("head.weight", torch.empty(0, 0)).shape[0] != 1:
        raise CheckpointError(f"{path}: not a single-output pyiqa MUSIQ state dict (SPAQ / KonIQ), "
                              "expected 'conv_root.weight' and a 1-output 'head'")
    model = Musiq.from_state_dict(sd)
    load_checked(model, sd, path)
    return model.eval().to(device)


def imaging_transform(video: Tensor, longer: int = 512) -> Tensor:
    """VBench's 'longer' preprocessing: frames above ``longer`` px resized (bilinear, no antialias)
    to ``int(s * H) x int(s * W)`` with ``s = longer / max(H, W)``, then /255 (no rounding)."""
    frames = video.float()
    h, w = frames.shape[-2:]
    if max(h, w) > longer:
        scale = longer / max(h, w)
        frames = F.interpolate(frames, size=(int(scale * h), int(scale * w)), mode="bilinear",
                               align_corners=False, antialias=False)
    return frames / 255.0


def per_frame_quality(video: Tensor, model: Musiq) -> Tensor:
    """MUSIQ of every frame ``[T]`` (0..100 for SPAQ), one frame per forward as VBench does."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(imaging_transform(video[i : i + 1].cpu()).to(device)) for i in range(len(video))])

