"""Causal Wan2.1 text-to-video transformer (the CausVid / Self-Forcing / LongLive backbone).

Parameter names and shapes are those of the original Wan2.1 release, so its state dicts load with
no renaming. Two entry points, no mode switches:

* :meth:`CausalWan.forward` - a full sequence with an explicit frame mask, explicit per-frame RoPE
  positions and per-frame timesteps (training, teacher forcing, equivalence tests);
* :meth:`CausalWan.forward_chunk` - one chunk per candidate against a :class:`KVCache` read through a
  parent index (streaming inference); it never writes the cache (only its free slots, see below),
  it can return the chunk's K/V.

Cached keys are stored already rotated by their frame (as LongLive stores them), so a forward rotates
only its own chunk; memory sinking moves a key between frames with :func:`rope_frame_angles`.

No copies of the past: a cache made by a commit has free slots after its last frame
(:meth:`KVCache.layer_with_room`); the chunk forward writes each layer's new K/V there and attends the
one buffer. Candidates that share a parent row run as separate passes over the rows (a pass reads
consecutive rows, one candidate each), so no candidate needs its own copy of its parent's past.

Optional compiled path (:meth:`CausalWan.compile_blocks`): each block's work before and after
self-attention (norms, modulation, projections, RoPE; cross-attention and FFN) goes through
``torch.compile``; self-attention stays eager, so the compiled graphs never see the growing cache.

References: Wan2.1 ``wan/modules/model.py``; LongLive ``wan/modules/causal_model.py`` (per-frame
modulation, cached attention with a sink and a local window).
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import BlockMask, create_block_mask, flex_attention

from streamt1.config import ATTENTION_CHOICES, require_choice
from streamt1.models.config import WanConfig
from streamt1.models.kv_cache import KVCache

WAN_TIMESTEPS = 1000  # Wan's timesteps are 1000 * sigma
X0_MIN_SIGMA = 0.05  # x0 predictions become flows by dividing by sigma: floor it (as Li & He do)
_TIME_BASE = 10000.0  # base of the sinusoidal timestep embedding (fixed in Wan, unlike rope_theta)


# ----- embeddings ------------------------------------------------------------------------------


# Pasts shorter than this (tokens per history) are joined by copies instead of read in several passes:
# on the Sprites model (768 past tokens) the extra passes made Stream-T1 18 % slower on a 2-core CPU,
# while at 832x480 (18720 past tokens) the copies cost more than the passes.
JOIN_BELOW_TOKENS = 4096

# Split-key attention (attend_split_keys): the query tile of the fused attention kernels on Hopper,
# and the fewest keys per part worth a separate softmax. What decided it: Wan's compiled chunk forward
# at batch 1 over a full window (parts of 9360 keys) ran x1.057-1.066 faster split (H200, two calls).
# The attention alone (benchmarks/attention_splits_gpu.py) moved between calls: parts of 9360 keys
# x1.11 and x0.99, of 7020 x1.05, of 4680 x0.98 and x1.00; shorter parts are left whole.
ATTENTION_QUERY_TILE = 128
MIN_KEYS_PER_SPLIT = 8192


def sinusoidal_embedding(dim: int, timesteps: Tensor) -> Tensor:
    """Wan's timestep embedding ``[M] -> [M, dim]`` in float64, cosines first."""
    half = dim // 2
    exponent = torch.arange(half, dtype=torch.float64, device=timesteps.device) / half
    angles = timesteps.double()[:, None] * torch.pow(_TIME_BASE, -exponent)[None]  # [M, half]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


@dataclass(frozen=True)
class Rope:
    """Rotation of every token as interleaved tables ``[B, S, 1, D]`` in the compute dtype: ``cos`` holds
    each channel pair's cosine twice, ``sin`` its sine as ``(-sin, +sin)``."""

    cos: Tensor
    sin: Tensor

    def apply(self, x: Tensor) -> Tensor:
        """Rotate consecutive channel pairs ``(a, b)`` of ``x [B, S, H, D]`` to ``(a cos - b sin, b cos + a sin)``
        (Wan's complex multiply) in x's dtype: no float32 copies of the queries and keys."""
        return _rotate(x, self.cos, self.sin)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)  # (b, a) for each pair (a, b)
    return (x * cos).addcmul_(swapped, sin)


def _inv_freq(config: WanConfig, pairs: int, device: torch.device | None = None) -> Tensor:
    """RoPE frequencies ``[pairs]`` (float64) of one axis."""
    return config.rope_theta ** (-torch.arange(pairs, dtype=torch.float64, device=device) / pairs)


def rope_frame_angles(config: WanConfig) -> Tensor:
    """Angle ``[head_dim / 2]`` (float64) by which one frame step turns each channel pair of a key.

    Only the time pairs turn (the height/width pairs depend on the token's row/column, not its frame),
    so a key rotated for frame ``p`` is moved to frame ``q`` by the rotation ``(q - p) * angles``.
    """
    pt, ph, pw = config.rope_pairs
    return torch.cat([_inv_freq(config, pt), torch.zeros(ph + pw, dtype=torch.float64)])


def rope_for_frames(config: WanConfig, positions: Tensor, grid: tuple[int, int], dtype: torch.dtype) -> Rope:
    """3-D RoPE of frames at ``positions [B, F]`` with ``grid = (rows, cols)`` tokens each.

    Head channels are split into complex pairs for (time, height, width) as in Wan; time uses the
    absolute frame index, height/width the token's row/column. Angles, cosines and sines in float64,
    then tables in ``dtype`` (the compute dtype: bf16 tables round like bf16 queries, one bf16 step).
    """
    rows, cols = grid
    b, f = positions.shape
    device = positions.device
    pt, ph, pw = config.rope_pairs
    t = positions.double()[..., None] * _inv_freq(config, pt, device)  # [B, F, pt]
    h = torch.arange(rows, dtype=torch.float64, device=device)[:, None] * _inv_freq(config, ph, device)
    w = torch.arange(cols, dtype=torch.float64, device=device)[:, None] * _inv_freq(config, pw, device)
    angles = torch.cat(
        [
            t[:, :, None, None].expand(b, f, rows, cols, pt),
            h[None, None, :, None].expand(b, f, rows, cols, ph),
            w[None, None, None, :].expand(b, f, rows, cols, pw),
        ],
        dim=-1,
    ).reshape(b, f * rows * cols, 1, pt + ph + pw)
    cos, sin = torch.cos(angles), torch.sin(angles)
    return Rope(cos.repeat_interleave(2, -1).to(dtype), torch.stack([-sin, sin], -1).flatten(-2).to(dtype))


# ----- masks -----------------------------------------------------------------------------------


def block_causal_mask(
    num_frames: int,
    chunk_frames: int,
    sink_frames: int = 0,
    window_frames: int | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Frame mask ``[F, F]`` (True: query frame may attend key frame) of chunked causal attention.

    A frame attends every frame of its own and earlier chunks; with ``window_frames`` only the first
    ``sink_frames`` frames plus the last ``window_frames`` frames up to the end of its chunk
    (LongLive's sink + local window, equal to the streaming cache when nothing is routed).
    """
    frame = torch.arange(num_frames, device=device)
    chunk = frame // chunk_frames
    allowed = chunk[None, :] <= chunk[:, None]
    if window_frames is not None:
        chunk_end = (chunk + 1) * chunk_frames  # [F], one past the query's chunk
        in_window = frame[None, :] >= (chunk_end - window_frames)[:, None]
        allowed &= in_window | (frame[None, :] < sink_frames)
    return allowed


def teacher_forcing_mask(
    num_frames: int,
    chunk_frames: int,
    sink_frames: int = 0,
    window_frames: int | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Frame mask ``[2F, 2F]`` for a sequence of F clean frames followed by their F noisy copies.

    Clean frames attend block-causally among themselves; a noisy chunk attends the clean frames of
    earlier chunks (same sink/window rule) and itself, exactly what the cached stream shows it.
    """
    causal = block_causal_mask(num_frames, chunk_frames, sink_frames, window_frames, device)
    chunk = torch.arange(num_frames, device=device) // chunk_frames
    earlier = causal & (chunk[None, :] < chunk[:, None])
    same = chunk[None, :] == chunk[:, None]
    top = torch.cat([causal, torch.zeros_like(causal)], dim=1)
    return torch.cat([top, torch.cat([earlier, same], dim=1)], dim=0)


def frame_mask_to_tokens(frame_mask: Tensor, tokens_per_frame: int) -> Tensor:
    """Expand a frame mask ``[Fq, Fk]`` to tokens ``[Fq*L, Fk*L]``."""
    return frame_mask.repeat_interleave(tokens_per_frame, 0).repeat_interleave(tokens_per_frame, 1)


def frame_block_mask(frame_mask: Tensor, tokens_per_frame: int) -> BlockMask:
    """A frame mask ``[Fq, Fk]`` as FlexAttention's block mask over ``[Fq*L, Fk*L]`` tokens.

    A dense mask makes SDPA compute every query-key pair; teacher forcing's mask (:func:`teacher_forcing_mask`)
    allows about 28 % of them with the Sprites stream, and FlexAttention skips the 128-token blocks it
    rules out entirely (about 64 % there: frames do not align with the blocks). Build it once per mask
    and pass it to :meth:`CausalWan.forward` in place of the frame mask.
    """
    allowed = frame_mask.bool()

    def may_attend(b: Tensor, h: Tensor, q: Tensor, kv: Tensor) -> Tensor:
        return allowed[q // tokens_per_frame, kv // tokens_per_frame]

    fq, fk = allowed.shape
    return create_block_mask(may_attend, None, None, fq * tokens_per_frame, fk * tokens_per_frame,
                             device=allowed.device)


@functools.cache
def _compiled_flex_attention() -> Any:
    """FlexAttention compiled once, at its first use on CUDA. Uncompiled it computes every score
    (unfused); on the CPU that serves the tests, where compiling would cost them minutes."""
    return torch.compile(flex_attention, dynamic=False)


def _flex_attend(q: Tensor, k: Tensor, v: Tensor, mask: BlockMask) -> Tensor:
    """FlexAttention on ``[B, H, S, D]``. Autocast does not reach it as it reaches SDPA (and RoPE hands
    over float32 q, k beside a half-precision v), so the inputs take autocast's dtype here."""
    dtype = torch.get_autocast_dtype(q.device.type) if torch.is_autocast_enabled(q.device.type) else q.dtype
    q, k, v = (t.to(dtype) for t in (q, k, v))
    return (_compiled_flex_attention() if q.is_cuda else flex_attention)(q, k, v, block_mask=mask)


# ----- attention kernels ------------------------------------------------------------------------

# SDPA kernels a run may put first (`run.attention`); the others stay behind it as fallbacks, in
# PyTorch's own order, for shapes the preferred one cannot serve (e.g. a padding mask).
SDPA_KERNELS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}


def sdpa_order(choice: str, device: torch.device) -> list[SDPBackend] | None:
    """SDPA kernels in order of preference for ``choice``; None keeps PyTorch's order.

    ``auto`` puts cuDNN first on Hopper (compute capability 9.0), where its attention beats
    FlashAttention-2 at Wan's size (on an H200 with torch 2.11, PyTorch's own choice already ran
    cuDNN: 60.6 ms per chunk forward, FlashAttention first 82.4 ms; benchmarks/README.md), and keeps
    PyTorch's order elsewhere; there the chunk path also splits the keys at batch 1
    (:meth:`CausalWan._key_splits`). ``default``: PyTorch's order everywhere.
    """
    require_choice("attention", choice, ATTENTION_CHOICES)
    if choice == "auto":
        hopper = device.type == "cuda" and torch.cuda.get_device_capability(device) == (9, 0)
        choice = "cudnn" if hopper else "default"
    if choice == "default":
        return None
    first = SDPA_KERNELS[choice]
    return [first, *(k for k in SDPA_KERNELS.values() if k != first)]


def sdpa_preference(order: list[SDPBackend] | None) -> contextlib.AbstractContextManager:
    """A context in which SDPA tries the kernels of ``order`` first (None: PyTorch's order)."""
    return contextlib.nullcontext() if order is None else sdpa_kernel(order, set_priority=True)


# ----- layers ----------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """RMS norm over the whole channel dim (Wan's q/k norm); PyTorch's kernel reduces in float32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | BlockMask | None, key_splits: int = 1) -> Tensor:
    """SDPA on ``[B, S, H, D]`` tensors; ``mask`` (bool, True = attend) broadcasts to ``[B, H, Sq, Sk]``;
    a :class:`BlockMask` (:func:`frame_block_mask`) runs FlexAttention instead.

    Returns ``[B, Sq, H, D]`` as a view of SDPA's output: the flash/cuDNN/CPU kernels lay it out
    ``[B, Sq, H, D]`` already, so flattening the heads after it copies nothing. ``key_splits > 1``
    (no mask): :func:`attend_split_keys`.
    """
    if key_splits > 1:
        if mask is not None:
            raise ValueError("split-key attention takes no mask")
        return attend_split_keys(q, k, v, key_splits)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, S, D] views
    if isinstance(mask, BlockMask):
        return _flex_attend(q, k, v, mask).transpose(1, 2)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2)


def attend_split_keys(q: Tensor, k: Tensor, v: Tensor, splits: int) -> Tensor:
    """Unmasked attention of ``q [B, Sq, H, D]`` to ``k, v [B, Sk, H, D]`` with the keys cut into
    ``splits`` equal parts attended as one batch of ``B * splits``, merged by their log-sum-exps.

    The result of one softmax over all keys (each part's output weighs by its share of the total
    exp-sum) up to the rounding of the parts and the merge in the inputs' dtype (in bf16 about twice
    one softmax's error), but ``splits`` times as many kernel blocks, each 1/splits of the work: the
    GPU's last wave fills (:func:`key_splits`). Each part is a view when ``k, v`` are contiguous."""
    b, sq, h, d = q.shape
    if k.shape[1] % splits:
        raise ValueError(f"{k.shape[1]} keys do not split into {splits} equal parts")

    def parts(t: Tensor) -> Tensor:  # [B * splits, H, Sk / splits, D]; part j of row i at i * splits + j
        return t.reshape(b * splits, t.shape[1] // splits, h, d).transpose(1, 2)

    out, lse = _attention_with_lse(q.repeat_interleave(splits, 0).transpose(1, 2), parts(k), parts(v))
    out = out.view(b, splits, h, sq, d).permute(0, 1, 3, 2, 4)  # [B, s, Sq, H, D]: views, no copies
    lse = lse.view(b, splits, h, sq).permute(0, 1, 3, 2)[..., None]  # [B, s, Sq, H, 1]
    # A running mean, one lerp per part: part j's share of the exp-sum of parts 0..j.
    share = torch.exp(lse - torch.logcumsumexp(lse, dim=1)).to(out.dtype)
    merged = out[:, 0]
    for j in range(1, splits):
        merged = torch.lerp(merged, out[:, j], share[:, j])
    return merged


def _attention_with_lse(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Unmasked attention on ``[B, H, S, D]`` and its log-sum-exp ``[B, H, Sq]`` (float32): cuDNN's
    kernel on a GPU, the CPU's flash kernel on the host."""
    if q.device.type == "cuda":
        out, lse = torch.ops.aten._scaled_dot_product_cudnn_attention(q, k, v, None, True)[:2]
    else:
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v)
    return out, lse.reshape(q.shape[:3])


def key_splits(blocks: int, sms: int, keys: int, most: int = 4) -> int:
    """Into how many parts to cut the keys of an attention of ``blocks`` kernel blocks (one per 128
    queries and head: :data:`ATTENTION_QUERY_TILE`) on ``sms`` multiprocessors, one block each at a
    time. With ``s`` parts the kernel runs ``ceil(blocks * s / sms) / s`` full-size waves of work;
    counting up from 1, a larger ``s`` is taken only if it shortens the waves by at least 5 % against
    the best so far (the merge is not free), and each part keeps :data:`MIN_KEYS_PER_SPLIT` keys. A Wan chunk at batch 1
    (12 heads x 37 tiles = 444 blocks) fills 3.4 of an H200's 132-SM waves, so its fourth runs
    two-thirds empty; in two parts, 6.7 of 7 half-waves. Batch 2 (6.7 of 7) gains nothing."""
    def waves(s: int) -> float:
        return math.ceil(blocks * s / sms) / s

    best = 1
    for s in range(2, most + 1):
        if keys % s == 0 and keys // s >= MIN_KEYS_PER_SPLIT and waves(s) < 0.95 * waves(best):
            best = s
    return best


def splits_keys(choice: str, device: torch.device, dtype: torch.dtype) -> bool:
    """Whether the chunk path may split its keys: ``attention: auto`` where that puts cuDNN first
    (Hopper), whose kernel also returns the log-sum-exps the merge needs, in half precision (cuDNN's
    attention takes no float32) and with cuDNN's SDPA enabled. An explicit kernel choice attends whole."""
    if choice != "auto" or device.type != "cuda" or dtype not in (torch.float16, torch.bfloat16):
        return False
    order = sdpa_order(choice, device)
    return bool(order) and order[0] == SDPBackend.CUDNN_ATTENTION and torch.backends.cuda.cudnn_sdp_enabled()


def _join_past(past: Tensor, rows: list[int] | None, new: Tensor) -> Tensor:
    """``[past[rows[j]] | new[j]]`` for every candidate j: ``[N, Sp + Sn, H, D]``, the past copied once.

    ``past [B, Sp, H, D]`` (None rows: row j for candidate j), ``new [N, Sn, H, D]``.
    """
    n, sp = new.shape[0], past.shape[1]
    if sp == 0:
        return new
    out = new.new_empty(n, sp + new.shape[1], *new.shape[2:])
    out[:, sp:] = new
    if rows is None:
        out[:, :sp] = past
    else:
        for j, row in enumerate(rows):  # copies straight into place (an index_select would copy twice)
            out[j, :sp] = past[row]
    return out


def host_to_device(x: Tensor, device: torch.device) -> Tensor:
    """A host tensor on ``device`` without waiting for the work queued there. A blocking copy to a GPU
    synchronises its stream, so the GPU would idle until the host had launched the next kernels (between
    the passes of a forward, between denoising steps); this one goes through pinned memory, whose block
    PyTorch's caching host allocator keeps until the copy is done."""
    if torch.device(device).type != "cuda" or x.device.type != "cpu":
        return x.to(device)
    return x.pin_memory().to(device, non_blocking=True)


def _modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """``x * (1 + scale) + shift`` per frame, one kernel: ``x [B, F*L, C]``, ``shift/scale [B, F, C]``."""
    frames = x.unflatten(1, (shift.shape[1], -1))  # [B, F, L, C]
    return torch.addcmul(shift[:, :, None], frames, 1 + scale[:, :, None]).flatten(1, 2)


def _gated_add(x: Tensor, y: Tensor, gate: Tensor) -> Tensor:
    """``x + y * gate`` per frame, one kernel: ``x, y [B, F*L, C]``, ``gate [B, F, C]``."""
    frames = gate.shape[1]
    out = torch.addcmul(x.unflatten(1, (frames, -1)), y.unflatten(1, (frames, -1)), gate[:, :, None])
    return out.flatten(1, 2)


@dataclass(frozen=True)
class Past:
    """One layer's cached rotated K/V before the input, and how the input's K/V join them.

    ``room``: ``keys/values [N, Sp + Sn, H, D]`` end in free slots for the input's ``Sn`` tokens
    (candidate j reads row j); the input's K/V are written there and the buffers attended as they are.
    Otherwise ``[B, Sp, H, D]`` read through ``rows`` (None: row j for candidate j), joined by a copy.
    ``key_splits``: the input attends the joined keys in that many parts (:func:`attend_split_keys`).
    """

    keys: Tensor
    values: Tensor
    rows: list[int] | None = None
    room: bool = False
    key_splits: int = 1

    def attach(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """The keys and values the input ``k, v [N, Sn, H, D]`` attends."""
        if not self.room:
            return _join_past(self.keys, self.rows, k), _join_past(self.values, self.rows, v)
        n = k.shape[1]
        self.keys[:, -n:] = k
        self.values[:, -n:] = v
        return self.keys, self.values


class _Attention(nn.Module):
    """Wan's attention projections: ``q, k, v, o`` and the RMS norms of queries and keys."""

    def __init__(self, config: WanConfig) -> None:
        super().__init__()
        dim = config.dim
        self.num_heads = config.num_heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm_q = RMSNorm(dim, config.eps) if config.qk_norm else nn.Identity()
        self.norm_k = RMSNorm(dim, config.eps) if config.qk_norm else nn.Identity()


class SelfAttention(_Attention):
    def project(self, x: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x ``[B, L, C]`` -> Q, K rotated by the RoPE tables ``cos/sin``, and V, each ``[B, L, H, D]``."""
        b, n, _ = x.shape
        q = _rotate(self.norm_q(self.q(x)).view(b, n, self.num_heads, -1), cos, sin)
        k = _rotate(self.norm_k(self.k(x)).view(b, n, self.num_heads, -1), cos, sin)
        return q, k, self.v(x).view(b, n, self.num_heads, -1)


class CrossAttention(_Attention):
    """Attention to all text slots (zero-padded, unmasked, as in Wan); its K/V are computed once."""

    def project_context(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Embedded text ``[B, Lt, C]`` -> K, V ``[B, Lt, H, D]``."""
        b, n, _ = context.shape
        k = self.norm_k(self.k(context)).view(b, n, self.num_heads, -1)
        return k, self.v(context).view(b, n, self.num_heads, -1)

    def forward(self, x: Tensor, kv: tuple[Tensor, Tensor]) -> Tensor:
        b, n, c = x.shape
        k, v = kv
        q = self.norm_q(self.q(x)).view(b, n, self.num_heads, -1)
        if k.shape[0] == 1 and b > 1:
            # One prompt for every candidate: fold candidates into the query length (no K/V copies).
            q = q.reshape(1, b * n, self.num_heads, -1)
        elif k.shape[0] != b:
            raise ValueError(f"prompt K/V batch {k.shape[0]} matches neither 1 nor the input batch {b}")
        return self.o(_attend(q, k, v, None).reshape(b, n, c))


class CausalWanBlock(nn.Module):
    def __init__(self, config: WanConfig) -> None:
        super().__init__()
        dim, eps = config.dim, config.eps
        self.norm1 = nn.LayerNorm(dim, eps, elementwise_affine=False)
        self.self_attn = SelfAttention(config)
        affine_norm = nn.LayerNorm(dim, eps, elementwise_affine=True)
        self.norm3 = affine_norm if config.cross_attn_norm else nn.Identity()
        self.cross_attn = CrossAttention(config)
        self.norm2 = nn.LayerNorm(dim, eps, elementwise_affine=False)
        self.ffn = nn.Sequential(
            nn.Linear(dim, config.ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(config.ffn_dim, dim)
        )
        self.modulation = nn.Parameter(torch.zeros(1, 6, dim))

    def forward(
        self,
        x: Tensor,
        e: Tensor,
        rope: Rope,
        past: Past | None,
        mask: Tensor | BlockMask | None,
        text_kv: tuple[Tensor, Tensor],
        stages: "_Stages | None" = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """x ``[B, F*L, C]``, e ``[B, F, 6, C]`` -> (x, rotated K ``[B, F*L, H, D]``, V).

        ``stages``: the work before and after self-attention (default eager; see ``compile_blocks``).
        """
        before, after = stages or EAGER_STAGES
        q, k, v = before(self, x, e, rope.cos, rope.sin)
        keys, values = (k, v) if past is None else past.attach(k, v)
        out = _attend(q, keys, values, mask, 1 if past is None else past.key_splits).flatten(2)
        return after(self, x, out, e, *text_kv), k, v

    def modulations(self, e: Tensor) -> tuple[Tensor, ...]:
        """shift/scale/gate of self-attention, then of the FFN, each ``[B, F, C]``."""
        return (self.modulation.unsqueeze(1) + e).unbind(2)


def _before_attention(block: CausalWanBlock, x: Tensor, e: Tensor, cos: Tensor, sin: Tensor
                      ) -> tuple[Tensor, Tensor, Tensor]:
    """Norm, modulation, Q/K/V projections, RMS norms and RoPE of one block: Q, K, V ``[B, L, H, D]``."""
    shift1, scale1 = block.modulations(e)[:2]
    return block.self_attn.project(_modulate(block.norm1(x), shift1, scale1), cos, sin)


def _after_attention(block: CausalWanBlock, x: Tensor, attended: Tensor, e: Tensor, text_k: Tensor,
                     text_v: Tensor) -> Tensor:
    """Output projection and gated residual of self-attention ``attended [B, L, C]``, cross-attention, FFN."""
    _, _, gate1, shift2, scale2, gate2 = block.modulations(e)
    x = _gated_add(x, block.self_attn.o(attended), gate1)
    x = x + block.cross_attn(block.norm3(x), (text_k, text_v))  # not gated, as in Wan
    return _gated_add(x, block.ffn(_modulate(block.norm2(x), shift2, scale2)), gate2)


_Stages = tuple  # (before, after): _before_attention and _after_attention, eager or compiled
EAGER_STAGES: _Stages = (_before_attention, _after_attention)


class Head(nn.Module):
    def __init__(self, config: WanConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(config.dim, config.eps, elementwise_affine=False)
        self.head = nn.Linear(config.dim, config.patch_features)
        self.modulation = nn.Parameter(torch.zeros(1, 2, config.dim))

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        """x ``[B, F*L, C]``, e ``[B, F, C]`` (the time embedding, not its projection) -> patches."""
        shift, scale = (self.modulation.unsqueeze(1) + e[:, :, None]).unbind(2)
        return self.head(_modulate(self.norm(x), shift, scale))


class Refiner(nn.Module):
    """Corrects the head's output ``[B, C, F, H, W]`` locally: three 3x3 convolutions per frame at
    ``refiner_shuffle`` x the latent resolution over the output, the noisy input and the noise level.
    The last convolution starts at zero, so a model given a refiner starts as it was."""

    def __init__(self, config: WanConfig) -> None:
        super().__init__()
        self.shuffle, width = config.refiner_shuffle, config.refiner_channels
        channels = config.out_dim // self.shuffle**2
        self.net = nn.Sequential(nn.Conv2d(2 * channels + 1, width, 3, padding=1), nn.SiLU(),
                                 nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
                                 nn.Conv2d(width, channels, 3, padding=1))

    def forward(self, out: Tensor, x_t: Tensor, timesteps: Tensor) -> Tensor:
        b, c, f, h, w = out.shape

        def per_frame(z: Tensor) -> Tensor:  # [B, C, F, H, W] -> [B*F, C / r^2, H*r, W*r]
            return F.pixel_shuffle(z.transpose(1, 2).reshape(b * f, c, h, w), self.shuffle)

        fine = per_frame(out)
        sigma = (timesteps.to(fine.dtype) / WAN_TIMESTEPS).reshape(b * f, 1, 1, 1).expand(-1, 1, *fine.shape[2:])
        delta = self.net(torch.cat([fine, per_frame(x_t.to(fine.dtype)), sigma], 1))
        return out + F.pixel_unshuffle(delta, self.shuffle).reshape(b, f, c, h, w).transpose(1, 2)


# ----- model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextKV:
    """Cross-attention K/V of encoded prompts, per layer ``[B, Lt, H, D]``; ``B = 1`` is shared by all."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]
    pooled: Tensor | None = None  # [B, C] added to the timestep embedding (WanConfig.pooled_text)
    video_frames: Tensor | None = None  # [B] the video's length in latent frames (WanConfig.progress_embedding)

    def layer(self, index: int) -> tuple[Tensor, Tensor]:
        return self.keys[index], self.values[index]

    @property
    def batch(self) -> int:
        return self.keys[0].shape[0]


@dataclass
class ChunkOutput:
    """Result of :meth:`CausalWan.forward_chunk`."""

    flow: Tensor | None  # [N, C_out, F, H, W] flow prediction (None from chunk_kv)
    keys: tuple[Tensor, ...] | None = None  # per layer [N, F*L, H, D], rotated by their frames (return_kv)
    values: tuple[Tensor, ...] | None = None


class CausalWan(nn.Module):
    """Wan2.1 transformer with per-frame timesteps, explicit attention masks and a KV-cached chunk path."""

    def __init__(self, config: WanConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.dim
        patch = config.patch_size
        self.patch_embedding = nn.Conv3d(config.in_dim, dim, kernel_size=patch, stride=patch)
        self.spatial_embedding = (None if config.spatial_embedding is None
                                  else nn.Parameter(torch.zeros(dim, *config.spatial_embedding)))
        self.text_embedding = nn.Sequential(
            nn.Linear(config.text_dim, dim), nn.GELU(approximate="tanh"), nn.Linear(dim, dim)
        )
        self.time_embedding = nn.Sequential(nn.Linear(config.freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim * 6))
        self.pooled_text_embedding = (
            nn.Sequential(nn.Linear(config.text_dim, dim), nn.SiLU(), nn.Linear(dim, dim)) if config.pooled_text else None
        )
        self.progress_embedding = (
            nn.Sequential(nn.Linear(config.freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
            if config.progress_embedding else None
        )
        self.blocks = nn.ModuleList(CausalWanBlock(config) for _ in range(config.num_layers))
        self.head = Head(config)
        self.refiner = Refiner(config) if config.refiner_channels else None
        self.stages: _Stages = EAGER_STAGES
        self.attention = "default"  # run.attention of the chunk path (set_attention), resolved per forward
        self._rope_memo: tuple[tuple, Rope] | None = None  # the last chunk's RoPE (see _chunk_rope)
        self.init_weights()

    def compile_blocks(self, mode: str | None = None, backend: Any = "inductor") -> None:
        """Run each block's work before and after self-attention through ``torch.compile`` (inductor).

        One compiled pair serves all blocks (the parameters are graph inputs) and every chunk: the
        graphs see only the chunk's tokens (the batch may vary and is made dynamic on its first
        change), never the cache, whose length grows and whose rows vary. Self-attention stays
        eager (one SDPA kernel either way). ``mode``: torch.compile's; the default suits this
        best: CUDA graphs ("reduce-overhead") would copy inputs into static buffers, and autotuning
        ("max-autotune-no-cudagraphs") adds minutes of compilation for GEMMs cuBLAS already runs well.
        ``backend``: torch.compile's (tests use "aot_eager" on the CPU, where inductor takes minutes).
        """
        self.stages = tuple(torch.compile(stage, mode=mode, backend=backend) for stage in EAGER_STAGES)

    def set_attention(self, choice: str) -> None:
        """Prefer an SDPA kernel in the chunk path (:func:`sdpa_order`; ``run.attention``), resolved at
        every forward for the device of its input (so it holds if the model moves after this call).
        Kernels differ in rounding only, so outputs agree to the dtype's precision. Compiled blocks
        (:meth:`compile_blocks`) keep the kernels of their first forward: choose before that."""
        sdpa_order(choice, torch.device("cpu"))  # refuses an unknown choice now, not at the first forward
        self.attention = choice

    @property
    def attention_order(self) -> list[SDPBackend] | None:
        """The chunk path's SDPA kernels on the model's current device (None: PyTorch's order)."""
        return sdpa_order(self.attention, self.device)

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """Wan's initialisation (Xavier linears, N(0, .02) embeddings, zero output layer)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, generator=generator)
                nn.init.zeros_(m.bias)
            elif isinstance(m, (RMSNorm, nn.LayerNorm)) and m.weight is not None:
                nn.init.ones_(m.weight)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.patch_embedding.weight.view(self.config.dim, -1), generator=generator)
        nn.init.zeros_(self.patch_embedding.bias)
        for m in (*self.text_embedding, *self.time_embedding):
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02, generator=generator)
        if self.pooled_text_embedding is not None:
            nn.init.normal_(self.pooled_text_embedding[0].weight, std=0.02, generator=generator)
            # zero: a model continued from weights without this path starts as it was
            nn.init.zeros_(self.pooled_text_embedding[2].weight)
        if self.progress_embedding is not None:  # zero output, as the pooled-text path
            nn.init.normal_(self.progress_embedding[0].weight, std=0.02, generator=generator)
            nn.init.zeros_(self.progress_embedding[2].weight)
        if self.spatial_embedding is not None:
            # Larger than Wan's 0.02 embeddings: positions must be told apart from the first steps.
            nn.init.normal_(self.spatial_embedding, std=0.3, generator=generator)
        for p in (*(b.modulation for b in self.blocks), self.head.modulation):
            noise = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
            p.copy_(noise / math.sqrt(self.config.dim))
        nn.init.zeros_(self.head.head.weight)
        if self.refiner is not None:
            convs = [m for m in self.refiner.net if isinstance(m, nn.Conv2d)]
            for conv in convs:
                nn.init.xavier_uniform_(conv.weight, generator=generator)
                nn.init.zeros_(conv.bias)
            nn.init.zeros_(convs[-1].weight)

    @property
    def dtype(self) -> torch.dtype:
        return self.patch_embedding.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.patch_embedding.weight.device

    def encode_text(self, text_states: Tensor, video_frames: Tensor | int | None = None) -> TextKV:
        """Text encoder states ``[B, Lt, text_dim]`` (padding zeroed) -> cross-attention K/V per layer.

        ``video_frames``: the video's length in latent frames (an int, or ``[B]``), which a model with
        ``progress_embedding`` needs and other models ignore."""
        if text_states.dim() != 3 or text_states.shape[-1] != self.config.text_dim:
            raise ValueError(
                f"text states must be [B, Lt, {self.config.text_dim}], got {tuple(text_states.shape)}"
            )
        context = self.text_embedding(text_states.to(self.device, self.dtype))  # [B, Lt, C]
        kv = [block.cross_attn.project_context(context) for block in self.blocks]
        pooled = None
        if self.pooled_text_embedding is not None:
            states = text_states.to(self.device, self.dtype)
            valid = (states != 0).any(-1, keepdim=True).to(states.dtype)  # padding rows are zero
            mean = (states * valid).sum(1) / valid.sum(1).clamp(min=1)
            pooled = self.pooled_text_embedding(mean)  # [B, C]
        length = None
        if self.progress_embedding is not None:
            if video_frames is None:
                raise ValueError("this model is conditioned on the video's length (progress_embedding): "
                                 "pass video_frames, the number of latent frames to generate")
            length = torch.as_tensor(video_frames, device=self.device).float().reshape(-1)
            if (length < 1).any() or length.shape[0] not in (1, text_states.shape[0]):
                raise ValueError(f"video_frames must be >= 1, one per prompt or one for all; got {video_frames}")
        return TextKV(tuple(k for k, _ in kv), tuple(v for _, v in kv), pooled, length)

    def _patchify(self, x: Tensor) -> tuple[Tensor, tuple[int, int, int]]:
        """``[B, C, F, H, W]`` -> tokens ``[B, F*h*w, C']`` (frame, row, col order) and grid (F, h, w)."""
        if x.dim() != 5 or x.shape[1] != self.config.in_dim:
            raise ValueError(f"latents must be [B, {self.config.in_dim}, F, H, W], got {tuple(x.shape)}")
        grid = self.config.token_grid(x.shape[3], x.shape[4])  # validates divisibility by the patch
        tokens = self.patch_embedding(x.to(self.dtype))  # [B, C', F, h, w]
        if self.spatial_embedding is not None:
            if grid != self.config.spatial_embedding:
                raise ValueError(f"latents of {x.shape[3]}x{x.shape[4]} give a {grid[0]}x{grid[1]} token grid; this "
                                 f"model's spatial embedding covers {self.config.spatial_embedding}")
            tokens = tokens + self.spatial_embedding[:, None]  # same table for every frame
        # contiguous once here (LayerNorm would copy it anyway); compiled stages then see one layout
        return tokens.flatten(2).transpose(1, 2).contiguous(), tuple(tokens.shape[2:])

    def _unpatchify(self, tokens: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """``[B, F*h*w, pt*ph*pw*C]`` -> ``[B, C, F*pt, h*ph, w*pw]`` (Wan's patch-major channel order)."""
        f, h, w = grid
        pt, ph, pw = self.config.patch_size
        x = tokens.reshape(tokens.shape[0], f, h, w, pt, ph, pw, self.config.out_dim)
        x = torch.einsum("bfhwpqrc->bcfphqwr", x)
        return x.reshape(tokens.shape[0], self.config.out_dim, f * pt, h * ph, w * pw)

    def _time(self, timesteps: Tensor, batch: int, frames: int, text: TextKV,
              positions: Tensor) -> tuple[Tensor, Tensor]:
        """Per-frame timesteps ``[B, F]`` -> embedding ``[B, F, C]`` and 6 modulations ``[B, F, 6, C]``
        (plus the prompt's pooled embedding and the frames' progress through the video (``positions``
        ``[B or 1, F]`` over its length), where the model has them)."""
        if timesteps.shape != (batch, frames):
            raise ValueError(
                f"timesteps must be [{batch}, {frames}] (per frame), got {tuple(timesteps.shape)}"
            )
        sinusoid = sinusoidal_embedding(self.config.freq_dim, timesteps.flatten().to(self.device))
        e = self.time_embedding(sinusoid.to(self.dtype)).unflatten(0, (batch, frames))  # [B, F, C]
        if text.pooled is not None:
            e = e + text.pooled[:, None].to(e.dtype)
        if self.progress_embedding is not None:
            # on the timestep scale (0..1000), so the sinusoid's frequencies resolve it as they do t
            span = (text.video_frames[:, None] - 1).clamp(min=1)
            progress = positions.to(self.device).float() / span * WAN_TIMESTEPS  # [B or 1, F]
            sinusoid = sinusoidal_embedding(self.config.freq_dim, progress.expand(batch, frames).flatten())
            e = e + self.progress_embedding(sinusoid.to(self.dtype)).unflatten(0, (batch, frames))
        e0 = self.time_projection(e.flatten(0, 1)).unflatten(1, (6, self.config.dim))  # [B*F, 6, C]
        return e, e0.unflatten(0, (batch, frames))

    def forward(
        self, x: Tensor, timesteps: Tensor, text: TextKV, positions: Tensor, frame_mask: Tensor | BlockMask | None
    ) -> Tensor:
        """Full-sequence forward.

        x: ``[B, C, F, H, W]``; timesteps: ``[B, F]``; positions: RoPE frame index ``[F]`` or ``[B, F]``
        (teacher forcing repeats positions for the noisy copy); frame_mask: ``[F, F]`` bool, True where a
        query frame may attend a key frame (None: full attention), or the same as a token-level
        :func:`frame_block_mask` (FlexAttention). Returns the flow ``[B, C_out, F, H, W]``.
        """
        tokens, grid = self._patchify(x)
        b, (f, rows, cols) = x.shape[0], grid
        if positions.shape[-1] != f:
            raise ValueError(f"positions must have one entry per frame ({f}), got {tuple(positions.shape)}")
        positions = positions.to(self.device).expand(b, f)
        rope = rope_for_frames(self.config, positions, (rows, cols), self.dtype)
        if isinstance(frame_mask, BlockMask):
            if frame_mask.shape[-2:] != (f * rows * cols, f * rows * cols):
                raise ValueError(f"block mask covers {tuple(frame_mask.shape[-2:])} tokens, the frames "
                                 f"have {f * rows * cols}")
            mask = frame_mask
        else:
            mask = None if frame_mask is None else frame_mask_to_tokens(frame_mask.to(self.device), rows * cols)
        e, e0 = self._time(timesteps, b, f, text, positions)
        for i, block in enumerate(self.blocks):
            tokens, _, _ = block(tokens, e0, rope, None, mask, text.layer(i), self.stages)
        return self._output(tokens, e, grid, x, timesteps)

    def _output(self, tokens: Tensor, e: Tensor, grid: tuple[int, int, int], x_t: Tensor, timesteps: Tensor) -> Tensor:
        """The last block's tokens -> the flow ``[B, C_out, F, H, W]``: head, unpatchify, refiner (if any)
        and the conversion of an x0 prediction (:meth:`_as_flow`)."""
        out = self._unpatchify(self.head(tokens, e), grid)
        if self.refiner is not None:
            out = self.refiner(out, x_t, timesteps)
        return self._as_flow(out, x_t, timesteps)

    def _as_flow(self, out: Tensor, x_t: Tensor, timesteps: Tensor) -> Tensor:
        """The head's output as a flow ``noise - x0``: as is, or from an x0 prediction via
        ``(x_t - x0) / sigma`` (sigma = t / 1000, Wan's timestep scale; floored so clean frames stay finite)."""
        if self.config.prediction == "flow":
            return out
        sigma = (timesteps.float() / WAN_TIMESTEPS).clamp(min=X0_MIN_SIGMA).to(out.device)
        return (x_t.float() - out.float()) / sigma[:, None, :, None, None]

    def forward_frames(
        self,
        x: Tensor,
        timesteps: Tensor,
        text: TextKV,
        positions: Tensor,
        frame_mask: Tensor | None,
        past: list[tuple[Tensor, Tensor]] | None = None,
    ) -> ChunkOutput:
        """Frames at arbitrary positions after an optional past, returning their K/V (re-caching).

        x: ``[B, C, F, H, W]``; timesteps, positions: ``[B, F]``; past: per layer rotated K/V
        ``[B, Fp*L, H, D]`` attended before the frames; frame_mask: ``[B, F, Fp + F]`` bool, True where
        a frame may attend a past or new frame (None: everything). The token mask costs
        ``B * F*L * (Fp+F)*L`` bytes, so re-caching passes one chunk at a time.
        """
        tokens, grid = self._patchify(x)
        b, (f, rows, cols) = x.shape[0], grid
        tokens_per_frame = rows * cols
        if positions.shape != (b, f) or (frame_mask is not None and frame_mask.shape[:2] != (b, f)):
            shape = None if frame_mask is None else tuple(frame_mask.shape)
            raise ValueError(f"positions must be [{b}, {f}] and frame_mask [{b}, {f}, Fp + {f}], got "
                             f"{tuple(positions.shape)} and {shape}")
        rope = rope_for_frames(self.config, positions.to(self.device), (rows, cols), self.dtype)
        mask = None
        if frame_mask is not None:
            mask = frame_mask.to(self.device).repeat_interleave(tokens_per_frame, 1)
            mask = mask.repeat_interleave(tokens_per_frame, 2)[:, None]  # [B, 1, F*L, (Fp+F)*L]
        e, e0 = self._time(timesteps, b, f, text, positions)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            layer_past = None if past is None else Past(*past[i], None)
            tokens, k, v = block(tokens, e0, rope, layer_past, mask, text.layer(i), self.stages)
            keys.append(k)
            values.append(v)
        return ChunkOutput(self._output(tokens, e, grid, x, timesteps), tuple(keys), tuple(values))

    def forward_chunk(
        self,
        x: Tensor,
        timesteps: Tensor,
        text: TextKV,
        cache: KVCache,
        parents: Tensor | None = None,
        return_kv: bool = False,
    ) -> ChunkOutput:
        """One chunk per candidate, attending its parent history in ``cache`` (read only; a cache with
        free slots has them written).

        x: ``[N, C, F, H, W]`` the chunk at frames ``cache.next_frame ...``; timesteps ``[N, F]``;
        parents: ``[N]`` long row of ``cache`` each candidate continues (None: row i for candidate i;
        read on the host, so a CPU tensor costs no device sync). With ``return_kv`` the chunk's rotated
        K/V per layer come back for :meth:`KVCache.append_chunk`.
        """
        with sdpa_preference(sdpa_order(self.attention, x.device)):
            return self._chunk(x, timesteps, text, cache, parents, return_kv, flow=True)

    def chunk_kv(
        self, x: Tensor, timesteps: Tensor, text: TextKV, cache: KVCache, parents: Tensor | None = None
    ) -> ChunkOutput:
        """:meth:`forward_chunk` with ``return_kv`` for the K/V alone (a commit's clean pass): ``flow`` is
        None, and the work no K/V depends on (the last block after its projections, the head) is skipped."""
        with sdpa_preference(sdpa_order(self.attention, x.device)):
            return self._chunk(x, timesteps, text, cache, parents, return_kv=True, flow=False)

    def cache_for_candidates(self, cache: KVCache, parents: Tensor) -> tuple[KVCache, Tensor | None]:
        """The cache and parents for many forwards of the same candidates (a chunk's denoising steps).

        Where each forward would join a copy of every candidate's past before its chunk, at every layer,
        the pasts are copied once here (:meth:`KVCache.rows_with_room`) and each candidate reads its own
        row (parents None); the attention then sees the same buffers as with the joins. Only short pasts
        (below ``JOIN_BELOW_TOKENS``): a long one copied for every candidate and layer at once would hold
        far more memory than the one layer a join holds."""
        rows = [int(p) for p in parents.tolist()]
        room, _ = _plan_passes(cache, rows, cache.stream.chunk_frames)
        if room or not 0 < cache.layer(0)[0].shape[1] < JOIN_BELOW_TOKENS:  # no copies to save, or too large
            return cache, parents
        return cache.rows_with_room(parents), None

    def _chunk(self, x: Tensor, timesteps: Tensor, text: TextKV, cache: KVCache, parents: Tensor | None,
               return_kv: bool, flow: bool) -> ChunkOutput:
        tokens, grid = self._patchify(x)
        n, (f, rows, cols) = x.shape[0], grid
        tokens_per_frame = rows * cols
        if tokens_per_frame != cache.tokens_per_frame:
            raise ValueError(
                f"chunk has {tokens_per_frame} tokens per frame, the cache {cache.tokens_per_frame}"
            )
        if cache.frame_angles is None:
            raise ValueError("cached keys are stored rotated: make the cache with "
                             "frame_angles=rope_frame_angles(config)")
        if parents is None and n != cache.num_histories:
            raise ValueError(f"{n} candidates but {cache.num_histories} histories: pass `parents`")
        history_rows = list(range(n)) if parents is None else [int(p) for p in parents.tolist()]
        if history_rows and (min(history_rows) < 0 or max(history_rows) >= cache.num_histories):
            raise ValueError(f"parents {history_rows} out of range for {cache.num_histories} histories")
        rope = self._chunk_rope(cache.next_frame, f, (rows, cols))  # same for all
        e, e0 = self._time(timesteps, n, f, text, torch.arange(cache.next_frame, cache.next_frame + f)[None])
        # With room, passes over consecutive rows (one candidate per row); otherwise one pass in which
        # each candidate joins a copy of its parent's past before its chunk.
        room, passes = _plan_passes(cache, history_rows, f)
        kv = _ChunkKV(n, len(self.blocks)) if return_kv else None
        if len(passes) == 1 and passes[0] == list(range(n)):
            tokens = self._chunk_pass(tokens, e0, rope, text, cache, history_rows, room, kv, None, flow)
        else:  # outputs gathered back in candidate order
            out_tokens = torch.empty_like(tokens)
            for members in passes:
                index = host_to_device(torch.tensor(members), self.device)
                out_tokens[index] = self._chunk_pass(
                    tokens.index_select(0, index), e0.index_select(0, index), rope, text, cache,
                    [history_rows[j] for j in members], room, kv, index, flow)
            tokens = out_tokens
        out = self._output(tokens, e, grid, x, timesteps) if flow else None
        return ChunkOutput(out) if kv is None else ChunkOutput(out, tuple(kv.keys), tuple(kv.values))

    def _chunk_rope(self, first_frame: int, frames: int, grid: tuple[int, int]) -> Rope:
        """RoPE of a chunk at frames ``first_frame ...``, kept for the chunk's further forwards (its
        denoising steps and clean pass): the tables depend on the frames only."""
        key = (first_frame, frames, grid, self.dtype, self.device)
        if self._rope_memo is None or self._rope_memo[0] != key:
            positions = torch.arange(first_frame, first_frame + frames, device=self.device)[None]  # [1, F]
            self._rope_memo = (key, rope_for_frames(self.config, positions, grid, self.dtype))
        return self._rope_memo[1]

    def _chunk_pass(self, tokens: Tensor, e0: Tensor, rope: Rope, text: TextKV, cache: KVCache, rows: list[int],
                    room: bool, kv: "_ChunkKV | None", index: Tensor | None, flow: bool = True) -> Tensor:
        """Every block for candidates reading history ``rows``; with ``room`` these are consecutive rows
        (one view of the cache), otherwise any rows (pasts joined by copies). Returns the tokens; each
        layer's K/V go into ``kv`` at candidates ``index`` (None: all, in order). Without ``flow`` the
        last block stops at its K/V (the tokens it returns are then its input)."""
        mask = self._padding_mask(cache, rows, e0.shape[1])
        identity = rows == list(range(cache.num_histories))
        past_tokens = (cache.layer_with_room(0) if room else cache.layer(0))[0].shape[1]
        splits = 1 if mask is not None else self._key_splits(
            len(rows), tokens.shape[1], past_tokens if room else past_tokens + tokens.shape[1])
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            if not flow and i == last:
                before = (self.stages or EAGER_STAGES)[0]
                _, k, v = before(block, tokens, e0, rope.cos, rope.sin)
                kv.put(i, index, k, v)
                break
            if room:
                past_k, past_v = cache.layer_with_room(i)
                span = slice(rows[0], rows[0] + len(rows))
                past = Past(past_k[span], past_v[span], room=True, key_splits=splits)
            else:
                past = Past(*cache.layer(i), None if identity else rows, key_splits=splits)
            tokens, k, v = block(tokens, e0, rope, past, mask, text.layer(i), self.stages)
            if kv is not None:
                kv.put(i, index, k, v)
        return tokens

    def _key_splits(self, batch: int, queries: int, keys: int) -> int:
        """Parts of the keys for the chunk path's self-attention (:func:`key_splits`) where
        :func:`splits_keys` allows them, else 1."""
        if not splits_keys(self.attention, self.device, self.dtype):
            return 1
        sms = torch.cuda.get_device_properties(self.device).multi_processor_count
        blocks = batch * self.config.num_heads * math.ceil(queries / ATTENTION_QUERY_TILE)
        return key_splits(blocks, sms, keys)

    def _padding_mask(self, cache: KVCache, rows: list[int], frames: int) -> Tensor | None:
        """Token mask ``[N, 1, 1, S]`` hiding the sink padding of histories ``rows`` (None: no padding)."""
        if not cache.has_padding:
            return None
        past_valid = cache.frames(host_to_device(torch.tensor(rows), cache.positions.device))[1]
        valid = torch.cat([past_valid, past_valid.new_ones(len(rows), frames)], 1)  # [N, Fp + F]
        return valid.repeat_interleave(cache.tokens_per_frame, 1)[:, None, None, :].to(self.device)


class _ChunkKV:
    """Per layer K/V ``[N, L, H, D]`` of every candidate, filled pass by pass; each pass's own K/V are
    let go as soon as stored, so several passes hold no more than one."""

    def __init__(self, n: int, layers: int) -> None:
        self.n = n
        self.keys: list[Tensor | None] = [None] * layers
        self.values: list[Tensor | None] = [None] * layers

    def put(self, layer: int, index: Tensor | None, k: Tensor, v: Tensor) -> None:
        if index is None:
            self.keys[layer], self.values[layer] = k, v
            return
        if self.keys[layer] is None:
            self.keys[layer] = k.new_empty(self.n, *k.shape[1:])
            self.values[layer] = v.new_empty(self.n, *v.shape[1:])
        self.keys[layer][index] = k
        self.values[layer][index] = v


def _plan_passes(cache: KVCache, rows: list[int], frames: int) -> tuple[bool, list[list[int]]]:
    """Whether a chunk of ``frames`` frames for candidates reading history ``rows`` writes its K/V into
    the cache's free slots (room), and its passes (candidate indices)."""
    room = cache.free_frames == frames  # no copies of the past: the chunk's K/V go into the free slots
    passes = _passes(rows) if room else [list(range(len(rows)))]
    if len(passes) > 1 and cache.layer(0)[0].shape[1] < JOIN_BELOW_TOKENS:
        room, passes = False, [list(range(len(rows)))]  # a short past: copying it costs less than more passes
    return room, passes


def _passes(rows: list[int]) -> list[list[int]]:
    """Candidates (indices into ``rows``, their history rows) grouped so that each group reads consecutive
    rows in order, one candidate per row: its cache slice is then one view, and each candidate's chunk
    goes into its own row's free slots. Parent-major ``[0, 0, 1, 1]`` gives ``[[0, 2], [1, 3]]``."""
    remaining = sorted(range(len(rows)), key=lambda j: rows[j])
    passes = []
    while remaining:
        group, rest = [], []
        for j in remaining:
            (group if not group or rows[j] == rows[group[-1]] + 1 else rest).append(j)
        passes.append(group)
        remaining = rest
    return passes
