"""Causal Wan2.1 text-to-video transformer (the CausVid / Self-Forcing / LongLive backbone).

Parameter names and shapes are those of the original Wan2.1 release, so its state dicts load with
no renaming. Two entry points, no mode switches:

* :meth:`CausalWan.forward` - a full sequence with an explicit frame mask, explicit per-frame RoPE
  positions and per-frame timesteps (training, teacher forcing, equivalence tests);
* :meth:`CausalWan.forward_chunk` - one chunk per candidate against a :class:`KVCache` read through a
  parent index (streaming inference); it never writes the cache, it can return the chunk's K/V.

Cached keys are stored already rotated by their frame (as LongLive stores them), so a forward rotates
only its own chunk; memory sinking moves a key between frames with :func:`rope_frame_angles`.

References: Wan2.1 ``wan/modules/model.py``; LongLive ``wan/modules/causal_model.py`` (per-frame
modulation, cached attention with a sink and a local window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.models.config import WanConfig
from streamt1.models.kv_cache import KVCache

WAN_TIMESTEPS = 1000  # Wan's timesteps are 1000 * sigma
X0_MIN_SIGMA = 0.05  # x0 predictions become flows by dividing by sigma: floor it (as Li & He do)
_TIME_BASE = 10000.0  # base of the sinusoidal timestep embedding (fixed in Wan, unlike rope_theta)


# ----- embeddings ------------------------------------------------------------------------------


def sinusoidal_embedding(dim: int, timesteps: Tensor) -> Tensor:
    """Wan's timestep embedding ``[M] -> [M, dim]`` in float64, cosines first."""
    half = dim // 2
    exponent = torch.arange(half, dtype=torch.float64, device=timesteps.device) / half
    angles = timesteps.double()[:, None] * torch.pow(_TIME_BASE, -exponent)[None]  # [M, half]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


@dataclass(frozen=True)
class Rope:
    """Rotation of every token as unit complex numbers ``[B, S, 1, P]`` for ``P = head_dim / 2`` pairs."""

    freqs: Tensor

    def apply(self, x: Tensor) -> Tensor:
        """Rotate consecutive channel pairs of ``x [B, S, H, D]``: Wan's complex multiply, one kernel."""
        real = self.freqs.real.dtype
        pairs = torch.view_as_complex(x.to(real).unflatten(-1, (-1, 2)).contiguous())  # [B, S, H, P]
        return torch.view_as_real(pairs * self.freqs).flatten(-2).to(x.dtype)


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
    absolute frame index, height/width the token's row/column. Angles in float64, then ``dtype``.
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
    return Rope(torch.polar(torch.ones_like(angles), angles).to(torch.promote_types(dtype, torch.complex64)))


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


# ----- layers ----------------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """RMS norm over the whole channel dim (Wan's q/k norm); PyTorch's kernel reduces in float32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
    """SDPA on ``[B, S, H, D]`` tensors; ``mask`` (bool, True = attend) broadcasts to ``[B, H, Sq, Sk]``."""
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, S, D]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2)  # [B, Sq, H, D]


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
    """One layer's cached rotated K/V ``[B, Sp, H, D]`` and the history row each candidate reads."""

    keys: Tensor
    values: Tensor
    rows: list[int] | None  # None: candidate j reads row j

    def join(self, which: int, new: Tensor) -> Tensor:
        """Keys (``which`` 0) or values (1) of the past followed by ``new [N, Sn, H, D]``."""
        return _join_past(self.values if which else self.keys, self.rows, new)


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
    def forward(
        self, x: Tensor, rope: Rope, past: Past | None, mask: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """x ``[B, L, C]`` rotated by ``rope``; ``past``: rotated K/V placed before this input's keys.

        Returns the output ``[B, L, C]`` and this input's rotated K, V ``[B, L, H, D]``.
        """
        b, n, _ = x.shape
        q = rope.apply(self.norm_q(self.q(x)).view(b, n, self.num_heads, -1))
        k = rope.apply(self.norm_k(self.k(x)).view(b, n, self.num_heads, -1))
        v = self.v(x).view(b, n, self.num_heads, -1)
        keys, values = (k, v) if past is None else (past.join(0, k), past.join(1, v))
        out = _attend(q, keys, values, mask)
        return self.o(out.flatten(2)), k, v


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
        mask: Tensor | None,
        text_kv: tuple[Tensor, Tensor],
    ) -> tuple[Tensor, Tensor, Tensor]:
        """x ``[B, F*L, C]``, e ``[B, F, 6, C]`` -> (x, rotated K ``[B, F*L, H, D]``, V)."""
        # shift/scale/gate of self-attention, then of the FFN, each [B, F, C]
        shift1, scale1, gate1, shift2, scale2, gate2 = (self.modulation.unsqueeze(1) + e).unbind(2)
        y, k, v = self.self_attn(_modulate(self.norm1(x), shift1, scale1), rope, past, mask)
        x = _gated_add(x, y, gate1)
        x = x + self.cross_attn(self.norm3(x), text_kv)  # not gated, as in Wan
        x = _gated_add(x, self.ffn(_modulate(self.norm2(x), shift2, scale2)), gate2)
        return x, k, v


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


# ----- model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextKV:
    """Cross-attention K/V of encoded prompts, per layer ``[B, Lt, H, D]``; ``B = 1`` is shared by all."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    def layer(self, index: int) -> tuple[Tensor, Tensor]:
        return self.keys[index], self.values[index]

    @property
    def batch(self) -> int:
        return self.keys[0].shape[0]


@dataclass
class ChunkOutput:
    """Result of :meth:`CausalWan.forward_chunk`."""

    flow: Tensor  # [N, C_out, F, H, W] flow prediction
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
        self.blocks = nn.ModuleList(CausalWanBlock(config) for _ in range(config.num_layers))
        self.head = Head(config)
        self.init_weights()

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
        if self.spatial_embedding is not None:
            # Larger than Wan's 0.02 embeddings: positions must be told apart from the first steps.
            nn.init.normal_(self.spatial_embedding, std=0.3, generator=generator)
        for p in (*(b.modulation for b in self.blocks), self.head.modulation):
            noise = torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
            p.copy_(noise / math.sqrt(self.config.dim))
        nn.init.zeros_(self.head.head.weight)

    @property
    def dtype(self) -> torch.dtype:
        return self.patch_embedding.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.patch_embedding.weight.device

    def encode_text(self, text_states: Tensor) -> TextKV:
        """Text encoder states ``[B, Lt, text_dim]`` (padding zeroed) -> cross-attention K/V per layer."""
        if text_states.dim() != 3 or text_states.shape[-1] != self.config.text_dim:
            raise ValueError(
                f"text states must be [B, Lt, {self.config.text_dim}], got {tuple(text_states.shape)}"
            )
        context = self.text_embedding(text_states.to(self.device, self.dtype))  # [B, Lt, C]
        kv = [block.cross_attn.project_context(context) for block in self.blocks]
        return TextKV(tuple(k for k, _ in kv), tuple(v for _, v in kv))

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
        return tokens.flatten(2).transpose(1, 2), tuple(tokens.shape[2:])

    def _unpatchify(self, tokens: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """``[B, F*h*w, pt*ph*pw*C]`` -> ``[B, C, F*pt, h*ph, w*pw]`` (Wan's patch-major channel order)."""
        f, h, w = grid
        pt, ph, pw = self.config.patch_size
        x = tokens.reshape(tokens.shape[0], f, h, w, pt, ph, pw, self.config.out_dim)
        x = torch.einsum("bfhwpqrc->bcfphqwr", x)
        return x.reshape(tokens.shape[0], self.config.out_dim, f * pt, h * ph, w * pw)

    def _time(self, timesteps: Tensor, batch: int, frames: int) -> tuple[Tensor, Tensor]:
        """Per-frame timesteps ``[B, F]`` -> embedding ``[B, F, C]`` and 6 modulations ``[B, F, 6, C]``."""
        if timesteps.shape != (batch, frames):
            raise ValueError(
                f"timesteps must be [{batch}, {frames}] (per frame), got {tuple(timesteps.shape)}"
            )
        sinusoid = sinusoidal_embedding(self.config.freq_dim, timesteps.flatten().to(self.device))
        e = self.time_embedding(sinusoid.to(self.dtype))  # [B*F, C]
        e0 = self.time_projection(e).unflatten(1, (6, self.config.dim))  # [B*F, 6, C]
        return e.unflatten(0, (batch, frames)), e0.unflatten(0, (batch, frames))

    def _rope_dtype(self) -> torch.dtype:
        return torch.promote_types(self.dtype, torch.float32)

    def forward(
        self, x: Tensor, timesteps: Tensor, text: TextKV, positions: Tensor, frame_mask: Tensor | None
    ) -> Tensor:
        """Full-sequence forward.

        x: ``[B, C, F, H, W]``; timesteps: ``[B, F]``; positions: RoPE frame index ``[F]`` or ``[B, F]``
        (teacher forcing repeats positions for the noisy copy); frame_mask: ``[F, F]`` bool, True where a
        query frame may attend a key frame (None: full attention). Returns the flow ``[B, C_out, F, H, W]``.
        """
        tokens, grid = self._patchify(x)
        b, (f, rows, cols) = x.shape[0], grid
        if positions.shape[-1] != f:
            raise ValueError(f"positions must have one entry per frame ({f}), got {tuple(positions.shape)}")
        positions = positions.to(self.device).expand(b, f)
        rope = rope_for_frames(self.config, positions, (rows, cols), self._rope_dtype())
        mask = None if frame_mask is None else frame_mask_to_tokens(frame_mask.to(self.device), rows * cols)
        e, e0 = self._time(timesteps, b, f)
        for i, block in enumerate(self.blocks):
            tokens, _, _ = block(tokens, e0, rope, None, mask, text.layer(i))
        return self._as_flow(self._unpatchify(self.head(tokens, e), grid), x, timesteps)

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
        rope = rope_for_frames(self.config, positions.to(self.device), (rows, cols), self._rope_dtype())
        mask = None
        if frame_mask is not None:
            mask = frame_mask.to(self.device).repeat_interleave(tokens_per_frame, 1)
            mask = mask.repeat_interleave(tokens_per_frame, 2)[:, None]  # [B, 1, F*L, (Fp+F)*L]
        e, e0 = self._time(timesteps, b, f)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            layer_past = None if past is None else Past(*past[i], None)
            tokens, k, v = block(tokens, e0, rope, layer_past, mask, text.layer(i))
            keys.append(k)
            values.append(v)
        return ChunkOutput(self._unpatchify(self.head(tokens, e), grid), tuple(keys), tuple(values))

    def forward_chunk(
        self,
        x: Tensor,
        timesteps: Tensor,
        text: TextKV,
        cache: KVCache,
        parents: Tensor | None = None,
        return_kv: bool = False,
    ) -> ChunkOutput:
        """One chunk per candidate, attending its parent history in ``cache`` (read only).

        x: ``[N, C, F, H, W]`` the chunk at frames ``cache.next_frame ...``; timesteps ``[N, F]``;
        parents: ``[N]`` long row of ``cache`` each candidate continues (None: row i for candidate i;
        read on the host, so a CPU tensor costs no device sync). With ``return_kv`` the chunk's rotated
        K/V per layer come back for :meth:`KVCache.append_chunk`.
        """
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
        history_rows = None if parents is None else [int(p) for p in parents.tolist()]
        chunk_pos = torch.arange(cache.next_frame, cache.next_frame + f, device=self.device)[None]  # [1, F]
        rope = rope_for_frames(self.config, chunk_pos, (rows, cols), self._rope_dtype())  # same for all
        mask = None
        if cache.has_padding:  # shorter sinks are padded: hide the padding slots
            past_valid = cache.frames(None if parents is None else parents.to(cache.positions.device))[1]
            valid = torch.cat([past_valid, past_valid.new_ones(n, f)], 1)  # [N, Fp + F]
            mask = valid.repeat_interleave(tokens_per_frame, 1)[:, None, None, :]  # [N, 1, 1, S]
        e, e0 = self._time(timesteps, n, f)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            past = Past(*cache.layer(i), history_rows)
            tokens, k, v = block(tokens, e0, rope, past, mask, text.layer(i))
            if return_kv:
                keys.append(k)
                values.append(v)
        flow = self._as_flow(self._unpatchify(self.head(tokens, e), grid), x, timesteps)
        return ChunkOutput(flow, tuple(keys), tuple(values)) if return_kv else ChunkOutput(flow)
