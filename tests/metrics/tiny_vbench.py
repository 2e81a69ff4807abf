"""Tiny random VBench backbones in the released file formats, and independent reference forwards.

* DINO: a bare state dict with facebookresearch/dino's key names (``torch.save``), and
  :func:`dino_reference`, a functional forward written from DINO's ``vision_transformer.py``.
* OpenAI CLIP: :class:`OpenAIClip`, written from openai/CLIP ``model.py`` (text parameters included so
  the archive holds keys the image tower must ignore), saved with ``torch.jit.save`` as OpenAI's
  ``.pt`` files are; its ``forward`` is the reference ``encode_image``.
* LAION head: an ``nn.Linear(E, 1)`` state dict.
* MUSIQ: a bare state dict with pyiqa's ``MUSIQ`` names (``musiq_spaq_ckpt-358bb6af.pth``'s layout).
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.metrics import vbench

DINO_DIM, DINO_DEPTH, DINO_PATCH, DINO_GRID = 128, 2, 16, 14  # 64-dim heads -> 2 heads


def dino_state_dict(seed: int = 0) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.05) -> Tensor:
        return torch.randn(*shape, generator=g) * scale

    d = DINO_DIM
    sd = {"cls_token": rnd(1, 1, d, scale=0.5), "pos_embed": rnd(1, DINO_GRID**2 + 1, d, scale=0.5),
          "patch_embed.proj.weight": rnd(d, 3, DINO_PATCH, DINO_PATCH), "patch_embed.proj.bias": rnd(d),
          "norm.weight": 1 + rnd(d), "norm.bias": rnd(d)}
    for i in range(DINO_DEPTH):
        p = f"blocks.{i}."
        sd.update({p + "norm1.weight": 1 + rnd(d), p + "norm1.bias": rnd(d),
                   p + "attn.qkv.weight": rnd(3 * d, d), p + "attn.qkv.bias": rnd(3 * d),
                   p + "attn.proj.weight": rnd(d, d), p + "attn.proj.bias": rnd(d),
                   p + "norm2.weight": 1 + rnd(d), p + "norm2.bias": rnd(d),
                   p + "mlp.fc1.weight": rnd(4 * d, d), p + "mlp.fc1.bias": rnd(4 * d),
                   p + "mlp.fc2.weight": rnd(d, 4 * d), p + "mlp.fc2.bias": rnd(d)})
    return sd


def dino_reference(sd: dict[str, Tensor], images: Tensor) -> Tensor:
    """DINO ViT forward (CLS after the final norm), one image at a time as VBench runs it."""
    out = []
    for image in images:
        x = F.conv2d(image[None], sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=DINO_PATCH)
        rows, cols = x.shape[-2:]
        x = torch.cat([sd["cls_token"], x.flatten(2).transpose(1, 2)], 1)
        pos = sd["pos_embed"]
        if (rows, cols) != (DINO_GRID, DINO_GRID):
            grid = pos[:, 1:].reshape(1, DINO_GRID, DINO_GRID, -1).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, scale_factor=((rows + 0.1) / DINO_GRID, (cols + 0.1) / DINO_GRID),
                                 mode="bicubic")
            pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)], 1)
        x = x + pos
        for i in range(DINO_DEPTH):
            x = x + _dino_attention(sd, f"blocks.{i}.", _ln(sd, f"blocks.{i}.norm1", x, 1e-6))
            h = _ln(sd, f"blocks.{i}.norm2", x, 1e-6)
            h = F.linear(F.gelu(F.linear(h, sd[f"blocks.{i}.mlp.fc1.weight"], sd[f"blocks.{i}.mlp.fc1.bias"])),
                         sd[f"blocks.{i}.mlp.fc2.weight"], sd[f"blocks.{i}.mlp.fc2.bias"])
            x = x + h
        out.append(_ln(sd, "norm", x, 1e-6)[:, 0])
    return torch.cat(out)


def _ln(sd: dict[str, Tensor], name: str, x: Tensor, eps: float) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps)


def _dino_attention(sd: dict[str, Tensor], p: str, x: Tensor) -> Tensor:
    b, n, c = x.shape
    heads = c // 64
    qkv = F.linear(x, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
    q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    attn = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(-1)
    return F.linear((attn @ v).transpose(1, 2).reshape(b, n, c), sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])


class QuickGELU(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class LayerNorm(nn.LayerNorm):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, width // 64)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width) for _ in range(layers)])

    def forward(self, x: Tensor) -> Tensor:
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution: int, patch: int, width: int, layers: int, output_dim: int):
        super().__init__()
        scale = width**-0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        zeros = torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([self.class_embedding.to(x.dtype) + zeros, x], dim=1)
        x = self.ln_pre(x + self.positional_embedding.to(x.dtype))
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class OpenAIClip(nn.Module):
    """The parts of openai/CLIP's ``CLIP`` a weights reader sees; ``forward`` is ``encode_image``."""

    def __init__(self, patch: int, width: int, layers: int, embed: int, resolution: int = 224):
        super().__init__()
        self.visual = VisionTransformer(resolution, patch, width, layers, embed)
        self.token_embedding = nn.Embedding(10, 64)
        self.text_projection = nn.Parameter(torch.randn(64, embed))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))

    def forward(self, image: Tensor) -> Tensor:
        return self.visual(image)


def clip_load_on_cpu(model: nn.Module) -> nn.Module:
    """What ``clip.load`` makes of a model on the CPU: openai/CLIP's ``convert_weights`` (conv, linear and
    attention weights and biases, ``proj`` / ``text_projection`` to fp16), then ``.float()``."""
    rounded = copy.deepcopy(model)
    for module in rounded.modules():
        names = ["weight", "bias"] if isinstance(module, (nn.Conv2d, nn.Linear)) else []
        if isinstance(module, nn.MultiheadAttention):
            names = ["in_proj_weight", "in_proj_bias"]  # out_proj is a Linear, rounded above
        names += [n for n in ("proj", "text_projection") if isinstance(getattr(module, n, None), nn.Parameter)]
        for name in names:
            tensor = getattr(module, name)
            if tensor is not None:
                tensor.data = tensor.data.half().float()
    return rounded


def write_openai_clip(path: Path, patch: int, width: int, layers: int, embed: int, seed: int) -> OpenAIClip:
    torch.manual_seed(seed)
    model = OpenAIClip(patch, width, layers, embed).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.trace(model, torch.randn(1, 3, 224, 224)), str(path))  # a traced archive
    return model


def random_video(frames: int, height: int, width: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (frames, 3, height, width), generator=g, dtype=torch.uint8)


class TinyWeights:
    """A VBench weights folder with tiny random backbones, plus the reference models."""

    def __init__(self, root: Path):
        self.root = root
        self.dino_sd = dino_state_dict()
        dino_path = root / vbench.DINO_FILE
        dino_path.parent.mkdir(parents=True)
        torch.save(self.dino_sd, dino_path)
        self.clip_b32 = write_openai_clip(root / vbench.CLIP_B32_FILE, 32, 64, 2, 32, seed=1)
        self.clip_l14 = write_openai_clip(root / vbench.CLIP_L14_FILE, 14, 64, 1, 48, seed=2)
        self.head = nn.Linear(48, 1)
        torch.manual_seed(3)
        nn.init.normal_(self.head.weight, std=5.0)
        head_path = root / vbench.AESTHETIC_FILE
        head_path.parent.mkdir(parents=True)
        torch.save(self.head.state_dict(), head_path)
        self.musiq_sd = musiq_state_dict()
        musiq_path = root / vbench.MUSIQ_FILE
        musiq_path.parent.mkdir(parents=True)
        torch.save(self.musiq_sd, musiq_path)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> TinyWeights:
    return TinyWeights(tmp_path_factory.mktemp("vbench_weights"))


MUSIQ_DIM, MUSIQ_MLP, MUSIQ_LAYERS = 64, 96, 1


def musiq_state_dict(seed: int = 4) -> dict[str, Tensor]:
    """pyiqa ``MUSIQ(num_class=1)`` parameter names, tiny transformer (the stem's sizes are fixed)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.05) -> Tensor:
        return torch.randn(*shape, generator=g) * scale

    def norm(name: str, c: int) -> dict[str, Tensor]:
        return {f"{name}.weight": 1 + rnd(c), f"{name}.bias": rnd(c)}

    def linear(name: str, out: int, inp: int) -> dict[str, Tensor]:
        return {f"{name}.weight": rnd(out, inp), f"{name}.bias": rnd(out)}

    d, enc = MUSIQ_DIM, "transformer_encoder."
    sd = {"conv_root.weight": rnd(64, 3, 7, 7), **norm("gn_root", 64),
          "block1.conv1.weight": rnd(64, 64, 1, 1), **norm("block1.gn1", 64),
          "block1.conv2.weight": rnd(64, 64, 3, 3), **norm("block1.gn2", 64),
          "block1.conv3.weight": rnd(256, 64, 1, 1), **norm("block1.gn3", 256),
          "block1.conv_proj.weight": rnd(256, 64, 1, 1), **norm("block1.gn_proj", 256),
          **linear("embedding", d, 256 * 8 * 8),
          enc + "posembed_input.position_emb": rnd(1, 100, d, scale=0.5),
          enc + "scaleembed_input.scale_emb": rnd(3, d, scale=0.5),
          enc + "cls": rnd(1, 1, d, scale=0.5), **norm(enc + "encoder_norm", d),
          "head.weight": rnd(1, d, scale=20.0), "head.bias": torch.tensor([50.0])}
    for i in range(MUSIQ_LAYERS):
        p = f"{enc}transformer.encoderblock_{i}."
        sd.update({**norm(p + "norm1", d), **norm(p + "norm2", d),
                   **linear(p + "mlp.fc1", MUSIQ_MLP, d), **linear(p + "mlp.fc2", d, MUSIQ_MLP)})
        for name in ("query", "key", "value", "out"):
            sd.update(linear(f"{p}attention.{name}", d, d))
    return sd
