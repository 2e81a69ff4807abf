"""HPSv2.1 (Wu et al., "Human Preference Score v2", 2023): an open_clip ViT-H-14 fine-tuned on HPD v2.

Score, as ``hpsv2/img_score.py`` computes it: ``cos(image_features, text_features)`` of the
projected, L2-normalised embeddings, without the logit scale.

The checkpoint ``HPS_v2.1_compressed.pt`` is ``{'state_dict': ...}`` in open_clip's key layout
(``visual.conv1.weight``, ``visual.transformer.resblocks.N.attn.in_proj_weight``, ...,
``token_embedding.weight``, ``text_projection``, ``logit_scale``). open_clip itself cannot be
imported beside this project's torch (it imports torchvision), so :class:`OpenClip` below is the
same network written with the same module names: pre-LN residual blocks with
``nn.MultiheadAttention`` (open_clip's own attention module, so the fused ``in_proj`` keys load
as they are), exact GELU, LayerNorm eps 1e-5, a causal text mask, the text feature read at the
end-of-text token (the highest token id, as open_clip's ``argmax``), the image feature at the
class token after ``ln_post``.

Tokenizer: the CLIP BPE (49408 tokens) from a Hugging Face CLIP tokenizer folder
(``vocab.json`` + ``merges.txt``, e.g. the ``processor/`` folder PickScore uses). open_clip's
``SimpleTokenizer`` is reproduced around it: HTML entities unescaped twice, ``<start>`` + at
most 75 tokens + ``<end>``, zero padding to 77. open_clip also runs ``ftfy.fix_text``
(repairs mojibake); that step is skipped (ftfy is not a dependency), which changes nothing for
ordinary prompts.

Preprocessing (HPSv2's val transform): uint8 RGB -> ``ToTensor`` -> ``Resize(224, bicubic)`` on
the float TENSOR with antialias (torchvision >= 0.17 default; no clamping) -> ``CenterCrop(224)``
-> OpenAI CLIP mean/std.
"""

from __future__ import annotations

import html
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import CLIPTokenizer

from streamt1.rewards import REWARDS, check_files, check_max_batch, read_weights
from streamt1.rewards.image_common import (
    BatchedImageReward, center_crop_box, load_reward_weights, no_init_weights, normalize, shorter_side_size,
)

logger = logging.getLogger(__name__)

ENTRY = REWARDS["hpsv2"]  # files, layout, source and licence
CHECKPOINT = "HPS_v2.1_compressed.pt"


@dataclass(frozen=True)
class Architecture:
    """open_clip model config; the default is ``model_configs/ViT-H-14.json`` (vision heads = 1280 / 80)."""

    embed_dim: int = 1024
    image_size: int = 224
    patch_size: int = 14
    vision_width: int = 1280
    vision_layers: int = 32
    vision_heads: int = 16
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 1024
    text_heads: int = 16
    text_layers: int = 24


VIT_H_14 = Architecture()


class ResidualBlock(nn.Module):
    """open_clip ``ResidualAttentionBlock``: x + attn(ln_1(x)); x + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(c_fc=nn.Linear(width, 4 * width), gelu=nn.GELU(), c_proj=nn.Linear(4 * width, width))
        )

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:  # x: [B, L, width]
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualBlock(width, heads) for _ in range(layers))

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


class VisionTower(nn.Module):
    """open_clip ``VisionTransformer`` (class-token pooling, no patch dropout at eval)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        width, grid = arch.vision_width, arch.image_size // arch.patch_size
        self.conv1 = nn.Conv2d(3, width, arch.patch_size, stride=arch.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, arch.vision_layers, arch.vision_heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, arch.embed_dim))

    def forward(self, pixels: Tensor) -> Tensor:  # [B, 3, S, S] -> [B, embed_dim]
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # [B, grid*grid, width]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class OpenClip(nn.Module):
    """open_clip ``CLIP`` with the same parameter names, for the features HPSv2 compares."""

    def __init__(self, arch: Architecture = VIT_H_14) -> None:
        super().__init__()
        self.visual = VisionTower(arch)
        self.token_embedding = nn.Embedding(arch.vocab_size, arch.text_width)
        self.positional_embedding = nn.Parameter(torch.zeros(arch.context_length, arch.text_width))
        self.transformer = Transformer(arch.text_width, arch.text_layers, arch.text_heads)
        self.ln_final = nn.LayerNorm(arch.text_width)
        self.text_projection = nn.Parameter(torch.zeros(arch.text_width, arch.embed_dim))
        self.logit_scale = nn.Parameter(torch.zeros(()))  # in the checkpoint; HPSv2's score ignores it
        self.arch = arch

    def encode_image(self, pixels: Tensor) -> Tensor:
        return nn.functional.normalize(self.visual(pixels), dim=-1)

    def encode_text(self, tokens: Tensor) -> Tensor:  # [B, context] -> [B, embed_dim]
        length = tokens.shape[1]
        causal = torch.full((length, length), float("-inf"), device=tokens.device).triu(1)
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.ln_final(self.transformer(x, causal.to(x.dtype)))
        eot = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]  # end-of-text has the highest id
        return nn.functional.normalize(eot @ self.text_projection, dim=-1)


class HPSv2(BatchedImageReward):
    """:class:`~streamt1.interfaces.ImageReward` adapter: frames + prompts -> HPSv2.1 ``[N]``."""

    def __init__(self, model: OpenClip, tokenizer: CLIPTokenizer, max_batch: int = 16) -> None:
        super().__init__(model, max_batch)
        self.tokenizer = tokenizer

    def pixel_values(self, frames: Tensor) -> Tensor:
        """uint8 ``[N, 3, H, W]`` -> ``[N, 3, S, S]`` as HPSv2's val transform (float32)."""
        size = self.module.arch.image_size
        height, width = frames.shape[-2:]
        pixels = frames.float() / 255  # ToTensor
        new_size = shorter_side_size(height, width, size)
        if new_size != (height, width):  # torchvision returns the image unchanged at its own size
            pixels = nn.functional.interpolate(
                pixels, size=new_size, mode="bicubic", align_corners=False, antialias=True
            )
        top, left = center_crop_box(*new_size, size)
        return normalize(pixels[..., top : top + size, left : left + size])

    def tokenize(self, prompts: Sequence[str]) -> Tensor:
        """open_clip ``tokenize``: ``[N, context]`` long, <start> text <end> then zeros."""
        cleaned = [html.unescape(html.unescape(p)).strip() for p in prompts]
        ids = self.tokenizer(cleaned, truncation=True, max_length=self.module.arch.context_length)["input_ids"]
        tokens = torch.zeros(len(ids), self.module.arch.context_length, dtype=torch.long)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = torch.tensor(seq)
        return tokens

    @torch.no_grad()
    def _score(self, frames: Tensor, prompts: list[str]) -> Tensor:
        dtype = self.module.logit_scale.dtype
        image = self.module.encode_image(self.pixel_values(frames).to(self.device, dtype))
        text = self.module.encode_text(self.tokenize(prompts).to(self.device))
        return (image.float() * text.float()).sum(-1)


def load(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    max_batch: int = 16,
    architecture: Architecture = VIT_H_14,
) -> HPSv2:
    """HPSv2.1 from a folder laid out as ``ENTRY.tree`` (``architecture``: for other sizes / tests)."""
    check_max_batch(max_batch)
    folder = check_files(ENTRY, path)
    checkpoint = folder / CHECKPOINT
    state_dict = read_weights(checkpoint, "hpsv2")
    with no_init_weights():  # every parameter is overwritten by the checkpoint
        model = OpenClip(architecture)
    load_reward_weights(model, state_dict, checkpoint)
    model = model.to(device=device, dtype=dtype)
    logger.info("HPSv2.1 loaded from %s (%s, %s)", folder, device, dtype)
    return HPSv2(model, CLIPTokenizer.from_pretrained(folder / "tokenizer"), max_batch=max_batch)
