"""A word-level tokenizer and a tiny transformer text encoder for the Sprites world.

The vocabulary is the caption parser's closed vocabulary (:data:`captions.VOCABULARY`). A word
outside it is an error, not an ``<unk>`` id: the tokenizer raises the parser's ``ValueError``
that lists what the world understands, so a prompt the world cannot express never reaches the
model silently. The encoder's output mimics a T5 encoder's as the Wan generator consumes it:
``[B, text_len, text_dim]`` with the rows after the last token (padding) set to zero. The empty
caption (``<eos>`` alone) is the null condition of classifier-free guidance, learned by dropping
captions in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor, nn

from streamt1.models.generator import NULL_PROMPT
from streamt1.outputs.progress import shorten
from streamt1.sprites.captions import VOCABULARY, check_words, normalize

PAD, EOS = "<pad>", "<eos>"


def default_vocab() -> tuple[str, ...]:
    """Special tokens first (``<pad>`` is id 0), then the world's words in sorted order."""
    return (PAD, EOS) + tuple(sorted(VOCABULARY))


@dataclass(frozen=True)
class TextEncoderConfig:
    text_len: int = 64  # the longest caption the world renders has 56 words (+ <eos>)
    text_dim: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ffn_mult: int = 4
    vocab: tuple[str, ...] = field(default_factory=default_vocab)

    def __post_init__(self) -> None:
        for name in ("text_len", "text_dim", "num_layers", "num_heads", "ffn_mult"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.text_dim % self.num_heads:
            raise ValueError(f"text_dim={self.text_dim} must be divisible by num_heads={self.num_heads}")
        if self.vocab[:2] != (PAD, EOS):
            raise ValueError(f"vocab must start with {(PAD, EOS)}, got {self.vocab[:2]}")


class SpritesTokenizer:
    """Words -> ids ``[B, text_len]`` (``<eos>`` after the last word, ``<pad>`` = 0 after it)."""

    def __init__(self, vocab: Sequence[str], text_len: int) -> None:
        self.vocab = tuple(vocab)
        self.text_len = text_len
        self.ids = {w: i for i, w in enumerate(self.vocab)}

    def encode(self, prompt: str) -> list[int]:
        if prompt == NULL_PROMPT:  # guidance's null condition (a user's empty prompt is refused before)
            return [self.ids[EOS]]
        words = normalize(prompt)
        check_words(words, prompt)
        missing = sorted({w for w in words if w not in self.ids})
        if missing:  # a checkpoint trained before these words existed
            raise ValueError(f"words {missing} of {shorten(prompt, 80)!r} are not in this text encoder's vocabulary")
        if len(words) + 1 > self.text_len:
            raise ValueError(f"{shorten(prompt, 80)!r} has {len(words)} words; this model reads at most "
                             f"{self.text_len - 1}: shorten the prompt")
        return [self.ids[w] for w in words] + [self.ids[EOS]]

    def __call__(self, prompts: Sequence[str]) -> Tensor:
        out = torch.zeros(len(prompts), self.text_len, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids = self.encode(prompt)
            out[row, : len(ids)] = torch.tensor(ids)
        return out


class TinySpritesTextEncoder(nn.Module):
    """``encoder(prompts) -> [B, text_len, text_dim]``, padding rows zeroed (a T5 stand-in)."""

    def __init__(self, config: TextEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or TextEncoderConfig()
        c = self.config
        self.tokenizer = SpritesTokenizer(c.vocab, c.text_len)
        self.token_embedding = nn.Embedding(len(c.vocab), c.text_dim, padding_idx=0)
        self.position_embedding = nn.Parameter(torch.randn(c.text_len, c.text_dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            c.text_dim, c.num_heads, c.ffn_mult * c.text_dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, c.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.text_dim)

    def encode_ids(self, ids: Tensor) -> Tensor:
        """Token ids ``[B, L]`` -> embeddings ``[B, L, D]`` with zero rows where ``ids == 0``."""
        pad = ids == 0  # [B, L]
        x = self.token_embedding(ids) + self.position_embedding[: ids.shape[1]]
        x = self.norm(self.layers(x, src_key_padding_mask=pad))
        return x.masked_fill(pad[..., None], 0.0)

    def forward(self, prompts: Sequence[str] | str) -> Tensor:
        if isinstance(prompts, str):
            prompts = [prompts]
        ids = self.tokenizer(prompts).to(self.position_embedding.device)
        return self.encode_ids(ids)
