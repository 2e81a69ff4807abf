"""umT5-XXL prompt encoder as Wan2.1 / LongLive use it, on transformers' ``UMT5EncoderModel``.

Wan ships the encoder as ``models_t5_umt5-xxl-enc-bf16.pth`` in its own module naming; the
architecture is transformers' UMT5 encoder (per-layer relative position buckets, gated tanh-GELU
FFN, RMS layer norms, unscaled attention), so :func:`wan_t5_to_transformers` only renames keys and
:func:`umt5_config_from_wan` reads the sizes from the tensor shapes. Prompts are cleaned as Wan
does (HTML unescape, whitespace collapse), tokenised to ``text_len`` slots with ``</s>`` and
padding, encoded with the padding masked out, and the padding rows are set to zero.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor
from transformers import AutoTokenizer, PreTrainedTokenizerBase, UMT5Config, UMT5EncoderModel

from streamt1.models.checkpoints import CheckpointError, load_checked, read_checkpoint, require_file

logger = logging.getLogger(__name__)

# Wan T5 encoder key pattern -> transformers UMT5EncoderModel key template ({i}: block index).
_BLOCK_KEYS: tuple[tuple[str, str], ...] = (
    (r"norm1\.weight", "layer.0.layer_norm.weight"),
    (r"attn\.(?P<p>[qkvo])\.weight", "layer.0.SelfAttention.{p}.weight"),
    (r"pos_embedding\.embedding\.weight", "layer.0.SelfAttention.relative_attention_bias.weight"),
    (r"norm2\.weight", "layer.1.layer_norm.weight"),
    (r"ffn\.gate\.0\.weight", "layer.1.DenseReluDense.wi_0.weight"),  # GELU branch
    (r"ffn\.fc1\.weight", "layer.1.DenseReluDense.wi_1.weight"),  # linear branch
    (r"ffn\.fc2\.weight", "layer.1.DenseReluDense.wo.weight"),
)
_BLOCK_PATTERNS = tuple((re.compile(rf"blocks\.(?P<i>\d+)\.{pat}$"), tpl) for pat, tpl in _BLOCK_KEYS)
_EMBEDDING = "token_embedding.weight"


def wan_t5_to_transformers(state_dict: Mapping[str, Tensor], source: str | Path = "T5") -> dict[str, Tensor]:
    """Rename Wan's T5-encoder keys to ``UMT5EncoderModel`` keys (the embedding is shared/tied)."""
    out: dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        if key == _EMBEDDING:
            out["shared.weight"] = out["encoder.embed_tokens.weight"] = value
        elif key == "norm.weight":
            out["encoder.final_layer_norm.weight"] = value
        else:
            for pattern, template in _BLOCK_PATTERNS:
                match = pattern.match(key)
                if match:
                    out[f"encoder.block.{match['i']}." + template.format(p=match.groupdict().get("p"))] = value
                    break
            else:
                unknown.append(key)
    if unknown:
        raise CheckpointError(f"{source}: {len(unknown)} keys are not Wan T5-encoder keys ({', '.join(unknown[:5])})")
    return out


def umt5_config_from_wan(state_dict: Mapping[str, Tensor], source: str | Path = "T5") -> UMT5Config:
    """UMT5 encoder sizes read from the shapes of a Wan T5-encoder state dict."""
    try:
        vocab, dim = state_dict[_EMBEDDING].shape
        buckets, heads = state_dict["blocks.0.pos_embedding.embedding.weight"].shape
        dim_attn = state_dict["blocks.0.attn.q.weight"].shape[0]
        dim_ffn = state_dict["blocks.0.ffn.fc1.weight"].shape[0]
    except KeyError as exc:
        raise CheckpointError(f"{source}: not a Wan umT5 encoder checkpoint (no {exc.args[0]!r})") from exc
    layers = len({key.split(".")[1] for key in state_dict if key.startswith("blocks.")})
    return UMT5Config(
        vocab_size=vocab,
        d_model=dim,
        d_kv=dim_attn // heads,
        d_ff=dim_ffn,
        num_layers=layers,
        num_heads=heads,
        relative_attention_num_buckets=buckets,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
    )


def clean_prompt(text: str) -> str:
    """Wan's 'whitespace' cleaning: HTML unescape (twice, as Wan does) and collapsed whitespace.

    Wan also runs ``ftfy.fix_text`` first; that only repairs mis-decoded unicode (mojibake) and is
    not a dependency here.
    """
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text)).strip()).strip()


class UMT5TextEncoder:
    """Prompts -> ``[B, text_len, dim]`` umT5 states with the padding rows zeroed."""

    def __init__(self, model: UMT5EncoderModel, tokenizer: PreTrainedTokenizerBase, *, text_len: int) -> None:
        if text_len <= 0:
            raise ValueError(f"text_len={text_len} must be a positive number of token slots")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.text_len = text_len

    @classmethod
    def from_wan_checkpoint(
        cls,
        checkpoint: str | Path,
        tokenizer_dir: str | Path,
        *,
        text_len: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> UMT5TextEncoder:
        """From Wan's ``models_t5_umt5-xxl-enc-bf16.pth`` and a local ``google/umt5-xxl`` tokenizer folder."""
        checkpoint = require_file(checkpoint, "models_t5_umt5-xxl-enc-bf16.pth")
        tokenizer = load_tokenizer(tokenizer_dir)
        wan_state = read_checkpoint(checkpoint)
        config = umt5_config_from_wan(wan_state, checkpoint)
        with torch.device("meta"):  # the real encoder is 5.7B parameters: no throw-away random init
            model = UMT5EncoderModel(config)
        load_checked(model, wan_t5_to_transformers(wan_state, checkpoint), checkpoint, assign=True)
        logger.info("loaded umT5 encoder (%d layers, dim %d) from %s", config.num_layers, config.d_model, checkpoint)
        return cls(model.to(device=device, dtype=dtype), tokenizer, text_len=text_len)

    @classmethod
    def from_pretrained(
        cls,
        model_dir: str | Path,
        tokenizer_dir: str | Path | None = None,
        *,
        text_len: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> UMT5TextEncoder:
        """From a transformers folder (``config.json`` + weights); the tokenizer defaults to the same folder."""
        model_dir = require_file(model_dir, "umt5-xxl")
        model = UMT5EncoderModel.from_pretrained(str(model_dir), dtype=dtype, local_files_only=True)
        tokenizer = load_tokenizer(model_dir if tokenizer_dir is None else tokenizer_dir)
        return cls(model.to(device=device), tokenizer, text_len=text_len)

    @property
    def dim(self) -> int:
        return self.model.config.d_model

    @property
    def device(self) -> torch.device:
        return self.model.shared.weight.device

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str]) -> Tensor:
        """Encode ``B`` prompts -> ``[B, text_len, dim]`` in the model's dtype; padding rows are zero."""
        if isinstance(prompts, str) or not prompts:
            raise ValueError("prompts must be a non-empty list of strings")
        batch = self.tokenizer(
            [clean_prompt(p) for p in prompts],
            padding="max_length",
            truncation=True,
            max_length=self.text_len,
            add_special_tokens=True,
            return_tensors="pt",
        )
        ids = batch.input_ids.to(self.device)  # [B, L]
        mask = batch.attention_mask.to(self.device)  # [B, L], 0 on padding
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state  # [B, L, D]
        return hidden.masked_fill(mask.unsqueeze(-1) == 0, 0.0)


def load_tokenizer(folder: str | Path) -> PreTrainedTokenizerBase:
    """A tokenizer from a local folder (``google/umt5-xxl`` layout), never from the network."""
    folder = require_file(folder, "umt5-xxl")
    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
