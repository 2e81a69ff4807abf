"""Causal Wan2.1 family: network, KV cache, sampler, latent codecs and the streaming generator."""

from streamt1.models.causal_wan import CausalWan, ChunkOutput, TextKV, block_causal_mask, teacher_forcing_mask
from streamt1.models.codec import LatentCodec, PixelUnshuffleCodec
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator, WanHistoryState
from streamt1.models.kv_cache import KVCache

__all__ = [
    "CausalWan",
    "CausalWanGenerator",
    "ChunkOutput",
    "KVCache",
    "LatentCodec",
    "PixelUnshuffleCodec",
    "StreamConfig",
    "TextKV",
    "WanConfig",
    "WanHistoryState",
    "block_causal_mask",
    "teacher_forcing_mask",
]
