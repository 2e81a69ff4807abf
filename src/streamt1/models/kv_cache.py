"""The self-attention KV cache of a batch of streaming histories, with sink routing.

Layout of history ``b`` (``L`` = tokens per latent frame; every frame slot holds ``L`` tokens)::

    frames: [ sink region: sink_capacity slots | rolling window: window_length frames ]
    keys[i], values[i]: [B, (sink_capacity + window_length) * L, heads, head_dim]   (layer i)
    positions, valid:   [B, sink_capacity + window_length]                         (per frame slot)

Keys are stored WITHOUT RoPE; attention rotates them with ``positions`` (absolute frame index), so
entries can be moved and merged by memory sinking and stay valid. The sink region holds
``sink_lengths[b]`` valid frames as segments of ``chunk_frames``: the first committed chunk (frames
0..chunk_frames-1), then each APPENDed chunk at the frames where it was generated; the rest is padding
(``valid`` False). The rolling window holds the last ``rolling_frames`` committed non-sink frames; its
layout is the same for every history, since all histories commit the same chunks.

All methods return new caches (tensors are never written in place), so a parent state stays usable
after its children were committed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from streamt1.interfaces import Route
from streamt1.models.config import StreamConfig


@dataclass(frozen=True)
class KVCache:
    keys: tuple[Tensor, ...]  # per layer [B, S, H, D], un-rotated
    values: tuple[Tensor, ...]  # per layer [B, S, H, D]
    positions: Tensor  # [B, F] long, absolute frame index of every frame slot (0 on padding)
    valid: Tensor  # [B, F] bool, False on sink padding
    sink_lengths: tuple[int, ...]  # valid sink frames per history (host-side, no device sync to read)
    window_length: int  # frames in the rolling window, same for every history
    next_frame: int  # absolute frame index of the next chunk's first frame
    tokens_per_frame: int
    stream: StreamConfig

    @classmethod
    def empty(
        cls,
        num_histories: int,
        num_layers: int,
        num_heads: int,
        head_dim: int,
        tokens_per_frame: int,
        stream: StreamConfig,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> "KVCache":
        """Caches of ``num_histories`` histories with nothing committed yet."""
        if num_histories < 1:
            raise ValueError(f"num_histories={num_histories} is invalid: expected >= 1")
        kv = torch.zeros(num_histories, 0, num_heads, head_dim, device=device, dtype=dtype)
        return cls(
            keys=(kv,) * num_layers,
            values=(kv,) * num_layers,
            positions=torch.zeros(num_histories, 0, dtype=torch.long, device=device),
            valid=torch.zeros(num_histories, 0, dtype=torch.bool, device=device),
            sink_lengths=(0,) * num_histories,
            window_length=0,
            next_frame=0,
            tokens_per_frame=tokens_per_frame,
            stream=stream,
        )

    # ----- reading -------------------------------------------------------------------------------

    @property
    def num_histories(self) -> int:
        return len(self.sink_lengths)

    @property
    def num_layers(self) -> int:
        return len(self.keys)

    @property
    def sink_capacity(self) -> int:
        """Frame slots of the sink region (the longest sink of any history)."""
        return self.positions.shape[1] - self.window_length

    @property
    def has_padding(self) -> bool:
        """True when some history's sink is shorter than the sink region (attention needs a mask)."""
        return any(n < self.sink_capacity for n in self.sink_lengths)

    def sink_frames(self) -> list[int]:
        return list(self.sink_lengths)

    def layer(self, index: int, parents: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """K, V ``[N, S, H, D]`` of layer ``index`` for histories ``parents`` (None: all, in order)."""
        k, v = self.keys[index], self.values[index]
        if parents is None:
            return k, v
        return k.index_select(0, parents), v.index_select(0, parents)

    def frames(self, parents: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Positions ``[N, F]`` and validity ``[N, F]`` of the frame slots of histories ``parents``."""
        if parents is None:
            return self.positions, self.valid
        return self.positions.index_select(0, parents), self.valid.index_select(0, parents)

    @property
    def evicts_on_append(self) -> bool:
        """True when the next committed chunk pushes the oldest window chunk out (route it first)."""
        full = self.window_length + self.stream.chunk_frames > self.stream.rolling_frames
        return self.next_frame > 0 and full

    def evicted_chunk(self) -> int | None:
        """Chunk index that the next commit pushes out of the window, or None."""
        if not self.evicts_on_append:
            return None
        return (self.next_frame - self.window_length) // self.stream.chunk_frames

    # ----- forking -------------------------------------------------------------------------------

    def select(self, index: Tensor) -> "KVCache":
        """Histories ``index`` (``[K]`` long, may repeat) as a new cache; unused sink padding is dropped."""
        rows = [int(r) for r in index.tolist()]  # one host read per commit: sink lengths live on the host
        if not rows or min(rows) < 0 or max(rows) >= self.num_histories:
            raise ValueError(f"select index {rows} out of range for {self.num_histories} histories")
        index = index.to(self.positions.device)
        lengths = tuple(self.sink_lengths[r] for r in rows)
        cache = dataclasses.replace(
            self,
            keys=tuple(k.index_select(0, index) for k in self.keys),
            values=tuple(v.index_select(0, index) for v in self.values),
            positions=self.positions.index_select(0, index),
            valid=self.valid.index_select(0, index),
            sink_lengths=lengths,
        )
        return cache._resize_sink(max(lengths))

    # ----- committing ----------------------------------------------------------------------------

    def append_chunk(self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor) -> "KVCache":
        """Store a committed chunk: per layer K/V ``[B, F*L, H, D]`` (un-rotated), frames ``positions [F]``.

        The first chunk becomes the sink; later chunks enter the rolling window, which must have room
        (call :meth:`route` first when :attr:`evicts_on_append`). ``positions`` is normally
        ``next_frame + arange(chunk_frames)``.
        """
        c, b = self.stream.chunk_frames, self.num_histories
        if positions.shape != (c,):
            raise ValueError(f"positions must be [{c}] (one chunk), got {tuple(positions.shape)}")
        if len(keys) != self.num_layers or len(values) != self.num_layers:
            raise ValueError(f"need K/V for {self.num_layers} layers, got {len(keys)}/{len(values)}")
        expected = (b, c * self.tokens_per_frame, *self.keys[0].shape[2:])
        if tuple(keys[0].shape) != expected:
            raise ValueError(f"chunk keys must be {expected}, got {tuple(keys[0].shape)}")
        if self.evicts_on_append:
            raise ValueError("the rolling window is full: route() the evicted chunk before append_chunk()")
        positions = positions.to(self.positions.device, torch.long).expand(b, c)
        is_sink = self.next_frame == 0
        return dataclasses.replace(
            self,
            keys=tuple(torch.cat([old, new.to(old.dtype)], 1) for old, new in zip(self.keys, keys)),
            values=tuple(torch.cat([old, new.to(old.dtype)], 1) for old, new in zip(self.values, values)),
            positions=torch.cat([self.positions, positions], 1),
            valid=torch.cat([self.valid, torch.ones_like(positions, dtype=torch.bool)], 1),
            sink_lengths=(c,) * b if is_sink else self.sink_lengths,
            window_length=self.window_length + (0 if is_sink else c),
            next_frame=self.next_frame + c,
        )

    def effective_routes(self, routes: Sequence[Route]) -> list[Route]:
        """Routes as applied: APPEND becomes EMA once a sink holds ``max_sink_frames``."""
        c, limit = self.stream.chunk_frames, self.stream.max_sink_frames
        return [
            Route.EMA if r is Route.APPEND and n + c > limit else r for r, n in zip(routes, self.sink_lengths)
        ]

    def route(self, routes: Sequence[Route]) -> "KVCache":
        """Remove the oldest window chunk and route it into each history's sink (one route per history).

        DISCARD drops it; EMA sets the newest sink segment to ``a * segment + (1 - a) * evicted`` (K and
        V; the segment keeps its positions); APPEND stores it as a new sink segment at its own frames.
        """
        if len(routes) != self.num_histories:
            raise ValueError(f"need one route per history ({self.num_histories}), got {len(routes)}")
        if not self.evicts_on_append:
            raise ValueError("nothing leaves the window at this commit; route() only when evicts_on_append")
        routes = self.effective_routes(routes)
        c, cap, L = self.stream.chunk_frames, self.sink_capacity, self.tokens_per_frame
        device = self.positions.device
        lengths = tuple(n + c if r is Route.APPEND else n for r, n in zip(routes, self.sink_lengths))
        ema = torch.tensor([r is Route.EMA for r in routes], device=device)
        append = torch.tensor([r is Route.APPEND for r in routes], device=device)
        # Segment touched per history: a new one after the sink (APPEND) or the newest one (EMA).
        starts = torch.tensor([n if r is Route.APPEND else n - c for r, n in zip(routes, self.sink_lengths)])
        frame_idx = (starts[:, None] + torch.arange(c)).to(device)  # [B, c]
        token_idx = self._token_index(frame_idx)  # [B, c*L]
        rest = self._cut_frames(cap, cap + c)
        rest = dataclasses.replace(rest, window_length=self.window_length - c)._resize_sink(max(lengths))
        split = rest.sink_capacity

        def route_layer(full: Tensor, kept: Tensor) -> Tensor:
            chunk = full[:, cap * L : (cap + c) * L]  # [B, c*L, H, D], the evicted chunk
            sink = kept[:, : split * L]
            old = _gather_rows(sink, token_idx)
            blended = (self.stream.ema_decay * old.float() + (1 - self.stream.ema_decay) * chunk.float())
            new = torch.where(ema[:, None, None, None], blended.to(sink.dtype), chunk)
            return torch.cat([_scatter_rows(sink, token_idx, new, ema | append), kept[:, split * L :]], 1)

        chunk_pos = self.positions[:, cap : cap + c]
        sink_pos = _scatter_rows(rest.positions[:, :split], frame_idx, chunk_pos, append)
        filled = torch.ones_like(frame_idx, dtype=torch.bool)
        sink_valid = _scatter_rows(rest.valid[:, :split], frame_idx, filled, append)
        return dataclasses.replace(
            rest,
            keys=tuple(route_layer(f, k) for f, k in zip(self.keys, rest.keys)),
            values=tuple(route_layer(f, v) for f, v in zip(self.values, rest.values)),
            positions=torch.cat([sink_pos, rest.positions[:, split:]], 1),
            valid=torch.cat([sink_valid, rest.valid[:, split:]], 1),
            sink_lengths=lengths,
        )

    # ----- helpers -------------------------------------------------------------------------------

    def _token_index(self, frame_idx: Tensor) -> Tensor:
        """Token slots ``[B, n*L]`` of frame slots ``[B, n]``."""
        per_frame = torch.arange(self.tokens_per_frame, device=frame_idx.device)
        return (frame_idx[:, :, None] * self.tokens_per_frame + per_frame).flatten(1)

    def _cut_frames(self, lo: int, hi: int) -> "KVCache":
        """The cache without frame slots ``lo..hi-1`` (bookkeeping fields are the caller's to fix)."""
        L = self.tokens_per_frame

        def cut(t: Tensor, a: int, b: int) -> Tensor:
            return torch.cat([t[:, :a], t[:, b:]], 1)

        return dataclasses.replace(
            self,
            keys=tuple(cut(k, lo * L, hi * L) for k in self.keys),
            values=tuple(cut(v, lo * L, hi * L) for v in self.values),
            positions=cut(self.positions, lo, hi),
            valid=cut(self.valid, lo, hi),
        )

    def _resize_sink(self, capacity: int) -> "KVCache":
        """Grow (zero padding) or shrink (dropping padding) the sink region to ``capacity`` frames."""
        cap, L = self.sink_capacity, self.tokens_per_frame
        if capacity <= cap:
            return self._cut_frames(capacity, cap)
        extra = capacity - cap

        def grow(t: Tensor, a: int, n: int) -> Tensor:
            return torch.cat([t[:, :a], t.new_zeros(t.shape[0], n, *t.shape[2:]), t[:, a:]], 1)

        return dataclasses.replace(
            self,
            keys=tuple(grow(k, cap * L, extra * L) for k in self.keys),
            values=tuple(grow(v, cap * L, extra * L) for v in self.values),
            positions=grow(self.positions, cap, extra),
            valid=grow(self.valid, cap, extra),
        )


def _expand_index(index: Tensor, like: Tensor) -> Tensor:
    """``[B, n]`` row index broadcast over the trailing dims of ``like [B, S, ...]``."""
    return index.view(*index.shape, *([1] * (like.dim() - 2))).expand(*index.shape, *like.shape[2:])


def _gather_rows(t: Tensor, index: Tensor) -> Tensor:
    """``t[b, index[b]]`` for every history: ``[B, S, ...]``, ``[B, n]`` -> ``[B, n, ...]``."""
    return t.gather(1, _expand_index(index, t))


def _scatter_rows(t: Tensor, index: Tensor, data: Tensor, rows: Tensor) -> Tensor:
    """Copy of ``t`` with ``t[b, index[b]] = data[b]`` for the histories where ``rows [B]`` is True."""
    idx = _expand_index(index, t)
    keep = rows.view(-1, *([1] * (t.dim() - 1)))
    return t.scatter(1, idx, torch.where(keep, data.to(t.dtype), t.gather(1, idx)))
