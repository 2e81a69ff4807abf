"""ImageReward (Xu et al., NeurIPS 2023): BLIP ViT-L/16 + a BERT text encoder that cross-attends to
the image, read at [CLS] by a 5-Linear MLP.

Score, as ``ImageReward/ImageReward.py`` computes it: tokens of the prompt (``padding='max_length',
truncation=True, max_length=35``) run through the BERT encoder with cross-attention to every ViT
token (``encoder_hidden_states = visual_encoder(image)``, no mask); the [CLS] output goes through
the MLP; ``(mlp - 0.16717362830052426) / 1.0333394966054072``.

No current library imports the authors' package (BLIP ``med.py`` needs helpers transformers 5.x
removed; timm 0.6 and fairscale pins), so the two encoders are written here with the parameter
names of the release (BLIP ``vit.py`` / ``med.py`` semantics): timm-style pre-LN ViT (LayerNorm eps
1e-6, fused ``qkv``), post-LN BERT with absolute positions and no token-type embeddings,
cross-attention whose key / value layers take ``encoder_width`` (= ViT width) inputs, additive
``-10000`` padding mask, exact GELU. Only what the score reads is built: ``blip.vision_proj`` and
``blip.text_proj`` (ITC projections) are in the file but unused, and dropped on load. The MLP head
stays in float32 whatever ``dtype`` the encoders run in, as the authors cast the features with
``.float()`` before it.

Files: ``ImageReward.pt`` (plain state dict) + ``med_config.json`` from ``THUDM/ImageReward``, and a
``bert-base-uncased/`` tokenizer folder (``vocab.txt``); as the authors do, ``[DEC]`` is added as
bos and ``[ENC]`` as an additional special token (vocab 30522 -> 30524).

Preprocessing (the authors' transform on ``Image.open(png)``): ``Resize(224, bicubic)`` of the PIL
image (shorter side) -> ``CenterCrop(224)`` -> ``ToTensor`` -> CLIP mean/std.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn
from transformers import BertTokenizer

from streamt1.config import ConfigError
from streamt1.rewards import REWARDS, check_files, check_max_batch, read_weights
from streamt1.rewards.image_common import (
    BatchedImageReward, center_crop_box, load_reward_weights, no_init_weights, normalize, pil_to_tensor,
    shorter_side_size, to_pil,
)

logger = logging.getLogger(__name__)

ENTRY = REWARDS["imagereward"]  # files, layout, source and licence
CHECKPOINT = "ImageReward.pt"
SCORE_MEAN = 0.16717362830052426
SCORE_STD = 1.0333394966054072
MAX_TEXT_TOKENS = 35
UNUSED_PREFIXES = ("blip.vision_proj.", "blip.text_proj.")  # ITC projections, not read by the score
MLP_WIDTHS = (1024, 128, 64, 16, 1)


@dataclass(frozen=True)
class VisionConfig:
    """BLIP ``create_vit('large', 224)``."""

    width: int = 1024
    depth: int = 24
    heads: int = 16
    patch_size: int = 16
    image_size: int = 224
    mlp_ratio: float = 4.0


VIT_LARGE = VisionConfig()


@dataclass(frozen=True)
class TextConfig:
    """The fields of ``med_config.json`` the encoder reads (``encoder_width`` is set to the ViT width)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    layer_norm_eps: float

    @classmethod
    def from_json(cls, path: Path) -> TextConfig:
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not valid JSON ({err})") from err
        missing = [f.name for f in fields(cls) if f.name not in raw]
        if missing:
            raise ConfigError(f"{path}: missing {missing}; expected the med_config.json of {ENTRY.published[0]}")
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigError(f"{path}: only hidden_act 'gelu' and absolute positions are supported, as in the release")
        return cls(**{f.name: raw[f.name] for f in fields(cls)})


def attend(query: Tensor, key: Tensor, value: Tensor, heads: int, mask: Tensor | None = None) -> Tensor:
    """Multi-head scaled dot-product attention: ``[B, Lq, D]``, ``[B, Lk, D]`` x2 -> ``[B, Lq, D]``."""
    batch, length, width = query.shape
    q, k, v = (t.view(batch, t.shape[1], heads, width // heads).transpose(1, 2) for t in (query, key, value))
    out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, heads, Lq, D / heads]
    return out.transpose(1, 2).reshape(batch, length, width)


# ---- BLIP vit.py: the image encoder -------------------------------------------------------------


class VitAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.proj(attend(q, k, v, self.heads))


class VitMlp(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(nn.functional.gelu(self.fc1(x)))


class VitBlock(nn.Module):
    def __init__(self, config: VisionConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.width, eps=1e-6)
        self.attn = VitAttention(config.width, config.heads)
        self.norm2 = nn.LayerNorm(config.width, eps=1e-6)
        self.mlp = VitMlp(config.width, int(config.width * config.mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, config: VisionConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, config.width, config.patch_size, stride=config.patch_size)

    def forward(self, pixels: Tensor) -> Tensor:  # [B, 3, S, S] -> [B, patches, width]
        return self.proj(pixels).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    """All tokens after the final norm: ``[B, 1 + patches, width]`` (what cross-attention reads)."""

    def __init__(self, config: VisionConfig) -> None:
        super().__init__()
        patches = (config.image_size // config.patch_size) ** 2
        self.patch_embed = PatchEmbed(config)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, patches + 1, config.width))
        self.blocks = nn.ModuleList(VitBlock(config) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.width, eps=1e-6)

    def forward(self, pixels: Tensor) -> Tensor:
        x = self.patch_embed(pixels)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


# ---- BLIP med.py: the text encoder with cross-attention ----------------------------------------


class BertSelfAttention(nn.Module):
    """Query from the text; key / value from the text, or from the image (``kv_width`` inputs)."""

    def __init__(self, width: int, heads: int, kv_width: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(kv_width, width)
        self.value = nn.Linear(kv_width, width)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None) -> Tensor:
        return attend(self.query(x), self.key(context), self.value(context), self.heads, mask)


class BertResidualOutput(nn.Module):
    """``LayerNorm(dense(h) + residual)``: med.py's ``BertSelfOutput`` and ``BertOutput``."""

    def __init__(self, in_width: int, width: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(in_width, width)
        self.LayerNorm = nn.LayerNorm(width, eps=eps)

    def forward(self, hidden: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: TextConfig, kv_width: int) -> None:
        super().__init__()
        width = config.hidden_size
        self.self = BertSelfAttention(width, config.num_attention_heads, kv_width)
        self.output = BertResidualOutput(width, width, config.layer_norm_eps)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.output(self.self(x, context, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.gelu(self.dense(x))


class BertLayer(nn.Module):
    """Self-attention, cross-attention to the image, feed-forward; each post-LN."""

    def __init__(self, config: TextConfig, encoder_width: int) -> None:
        super().__init__()
        self.attention = BertAttention(config, config.hidden_size)
        self.crossattention = BertAttention(config, encoder_width)
        self.intermediate = BertIntermediate(config)
        self.output = BertResidualOutput(config.intermediate_size, config.hidden_size, config.layer_norm_eps)

    def forward(self, x: Tensor, text_mask: Tensor, image: Tensor) -> Tensor:
        x = self.attention(x, x, text_mask)
        x = self.crossattention(x, image)  # every image token is valid: no mask
        return self.output(self.intermediate(x), x)


class BertEmbeddings(nn.Module):
    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(positions))


class BertEncoder(nn.Module):
    def __init__(self, config: TextConfig, encoder_width: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config, encoder_width) for _ in range(config.num_hidden_layers))


class TextEncoder(nn.Module):
    """med.py ``BertModel(add_pooling_layer=False)`` in ``mode='multimodal'``."""

    def __init__(self, config: TextConfig, encoder_width: int) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config, encoder_width)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, image: Tensor) -> Tensor:
        x = self.embeddings(input_ids)  # [B, L, hidden]
        # med.py's extended mask: 0 where attended, -10000 at padding, broadcast over heads and queries
        text_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.encoder.layer:
            x = layer(x, text_mask, image)
        return x


# ---- ImageReward ---------------------------------------------------------------------------------


class Blip(nn.Module):
    def __init__(self, vision: VisionConfig, text: TextConfig) -> None:
        super().__init__()
        self.visual_encoder = VisionTransformer(vision)
        self.text_encoder = TextEncoder(text, encoder_width=vision.width)


class MLP(nn.Module):
    """Five Linear layers and no activation (the authors commented the ReLUs out)."""

    def __init__(self, in_width: int) -> None:
        super().__init__()
        widths = (in_width, *MLP_WIDTHS)
        linears = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        # indices 1, 3, 5 held Dropout in training: keep them so the keys read layers.{0,2,4,6,7}
        self.layers = nn.Sequential(
            linears[0], nn.Identity(), linears[1], nn.Identity(), linears[2], nn.Identity(), linears[3], linears[4]
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class ImageRewardModel(nn.Module):
    """Parameter names as in ``ImageReward.pt``: ``blip.visual_encoder.*``, ``blip.text_encoder.*``, ``mlp.*``."""

    def __init__(self, vision: VisionConfig, text: TextConfig) -> None:
        super().__init__()
        self.vision_config = vision
        self.blip = Blip(vision, text)
        self.mlp = MLP(text.hidden_size)

    def forward(self, pixels: Tensor, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Normalised rewards ``[B]`` (float32)."""
        image = self.blip.visual_encoder(pixels)
        text = self.blip.text_encoder(input_ids, attention_mask, image)
        reward = self.mlp(text[:, 0].float()).squeeze(-1)
        return (reward - SCORE_MEAN) / SCORE_STD


class ImageRewardScorer(BatchedImageReward):
    """:class:`~streamt1.interfaces.ImageReward` adapter: frames + prompts -> ImageReward ``[N]``."""

    def __init__(self, model: ImageRewardModel, tokenizer: BertTokenizer, max_batch: int = 16) -> None:
        super().__init__(model, max_batch)
        self.tokenizer = tokenizer

    def pixel_values(self, frames: Tensor) -> Tensor:
        """uint8 ``[N, 3, H, W]`` -> ``[N, 3, S, S]``: PIL bicubic resize, center crop, CLIP mean/std."""
        return torch.stack([normalize(pil_to_tensor(self._resize_crop(to_pil(frame)))) for frame in frames])

    def _resize_crop(self, image: Image.Image) -> Image.Image:
        size = self.module.vision_config.image_size
        height, width = shorter_side_size(image.height, image.width, size)
        image = image.resize((width, height), Image.BICUBIC)
        top, left = center_crop_box(height, width, size)
        return image.crop((left, top, left + size, top + size))

    def tokenize(self, prompts: Sequence[str]) -> dict[str, Tensor]:
        return self.tokenizer(
            list(prompts), padding="max_length", truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt"
        )

    @torch.no_grad()
    def _score(self, frames: Tensor, prompts: list[str]) -> Tensor:
        dtype = self.module.blip.visual_encoder.cls_token.dtype
        text = self.tokenize(prompts).to(self.device)
        pixels = self.pixel_values(frames).to(self.device, dtype)
        return self.module(pixels, text["input_ids"], text["attention_mask"])


def load_tokenizer(folder: Path) -> BertTokenizer:
    """bert-base-uncased + bos ``[DEC]`` + additional ``[ENC]``, as BLIP's ``init_tokenizer``."""
    tokenizer = BertTokenizer.from_pretrained(folder)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


def load(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    max_batch: int = 16,
    vision: VisionConfig = VIT_LARGE,
) -> ImageRewardScorer:
    """ImageReward from a folder laid out as ``ENTRY.tree`` (``vision``: for tests)."""
    check_max_batch(max_batch)
    folder = check_files(ENTRY, path)
    checkpoint = folder / CHECKPOINT
    text_config = TextConfig.from_json(folder / "med_config.json")
    tokenizer = load_tokenizer(folder / "bert-base-uncased")
    state_dict = {
        k: v
        for k, v in read_weights(checkpoint, "imagereward").items()
        if not k.startswith(UNUSED_PREFIXES) and not k.endswith("position_ids")
    }
    with no_init_weights():  # every parameter is overwritten by the checkpoint
        model = ImageRewardModel(vision, text_config)
    load_reward_weights(model, state_dict, checkpoint)
    model = model.to(device=device, dtype=dtype)
    model.mlp.float()
    logger.info("ImageReward loaded from %s (%s, %s)", folder, device, dtype)
    return ImageRewardScorer(model, tokenizer, max_batch=max_batch)
