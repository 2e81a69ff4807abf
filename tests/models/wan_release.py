"""A tiny causal-Wan release folder in the released layout: LongLive base + LoRA, Wan VAE, umT5 and tokenizer."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKLWan
from test_checkpoints import peft_lora, prefixed, random_model
from test_text_encoder import build_tokenizer, wan_key
from test_wan_vae import to_wan_naming
from transformers import UMT5Config, UMT5EncoderModel

from streamt1.models.causal_wan import CausalWan


def write_longlive_release(root: Path, preset: str = "tiny-test", **vae_kwargs) -> tuple[CausalWan, dict, UMT5EncoderModel,
                                                                                          AutoencoderKLWan]:
    """Write ``root/{longlive_base.pt, lora.pt, Wan2.1-T2V-1.3B/...}`` for WanConfig ``preset``.

    vae_kwargs: AutoencoderKLWan arguments (default: diffusers' Wan2.1 VAE, z = 16, at base_dim 8).
    Returns the model, its LoRA, the umT5 encoder and the VAE that were written.
    """
    wan = root / "Wan2.1-T2V-1.3B"
    build_tokenizer(wan / "google" / "umt5-xxl")
    torch.manual_seed(0)
    t5 = UMT5EncoderModel(UMT5Config(vocab_size=20, d_model=12, d_kv=4, d_ff=16, num_layers=2, num_heads=3,
                                     relative_attention_num_buckets=8, feed_forward_proj="gated-gelu")).eval()
    torch.save({wan_key(k): v for k, v in t5.state_dict().items() if wan_key(k)},
               wan / "models_t5_umt5-xxl-enc-bf16.pth")
    vae = AutoencoderKLWan(**{"base_dim": 8, **vae_kwargs}).eval()
    torch.save({to_wan_naming(k): v for k, v in vae.state_dict().items()}, wan / "Wan2.1_VAE.pth")
    model = random_model(0, preset)
    lora = peft_lora(model, rank=2, seed=1)
    torch.save({"generator": prefixed(model)}, root / "longlive_base.pt")
    torch.save({"generator_lora": lora}, root / "lora.pt")
    return model, lora, t5, vae
