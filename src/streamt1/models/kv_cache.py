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
after its children were committed. Each of them copies the cache once, with one frame gather per
layer: :meth:`commit` does select + route + append in that one copy, so a commit holds at most the old
and the new cache (the first version made four intermediate copies: 12 GB peak for one 2.4 GB history
at 832x480). EMA precision in bf16 caches: see :class:`_EmaUpdate`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from streamt1.interfaces import Route
from streamt1.models.config import StreamConfig

_Chunk = tuple[Sequence[Tensor], Sequence[Tensor], Tensor]  # per layer K, per layer V, frame positions [F]


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
    # float32 copies of each history's newest sink segment, per layer [B*c, L, H, D] (see _EmaUpdate)
    ema_keys: tuple[Tensor, ...] | None = None
    ema_values: tuple[Tensor, ...] | None = None

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

    # ----- forking and committing (one copy of the cache each) ---------------------------------

    def select(self, index: Tensor) -> "KVCache":
        """Histories ``index`` (``[K]`` long, may repeat) as a new cache; unused sink padding is dropped."""
        return self._rebuild(self._rows(index), None, None)

    def append_chunk(self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor) -> "KVCache":
        """Store a committed chunk: per layer K/V ``[B, F*L, H, D]`` (un-rotated), frames ``positions [F]``.

        The first chunk becomes the sink; later chunks enter the rolling window, which must have room
        (call :meth:`route` first when :attr:`evicts_on_append`). ``positions`` is normally
        ``next_frame + arange(chunk_frames)``.
        """
        if self.evicts_on_append:
            raise ValueError("the rolling window is full: route() the evicted chunk before append_chunk()")
        rows = list(range(self.num_histories))
        return self._rebuild(rows, None, self._check_chunk(keys, values, positions, len(rows)))

    def route(self, routes: Sequence[Route]) -> "KVCache":
        """Remove the oldest window chunk and route it into each history's sink (one route per history).

        DISCARD drops it; EMA sets the newest sink segment to ``a * segment + (1 - a) * evicted`` (K and
        V; the segment keeps its positions); APPEND stores it as a new sink segment at its own frames.
        """
        if not self.evicts_on_append:
            raise ValueError("nothing leaves the window at this commit; route() only when evicts_on_append")
        rows = list(range(self.num_histories))
        if len(routes) != len(rows):
            raise ValueError(f"need one route per history ({len(rows)}), got {len(routes)}")
        return self._rebuild(rows, list(routes), None)

    def commit(
        self, index: Tensor, routes: Sequence[Route], keys: Sequence[Tensor], values: Sequence[Tensor],
        positions: Tensor,
    ) -> "KVCache":
        """``select(index)``, then ``route(routes)`` if a chunk leaves the window, then ``append_chunk``.

        Same result as the three calls, but the cache is copied once instead of three times, so a
        commit holds the old and the new cache at most (not four copies).
        """
        rows = self._rows(index)
        if self.evicts_on_append and len(routes) != len(rows):
            raise ValueError(
                f"need one route per survivor ({len(rows)}) for evicted chunk {self.evicted_chunk()}, "
                f"got {len(routes)}"
            )
        chunk = self._check_chunk(keys, values, positions, len(rows))
        return self._rebuild(rows, list(routes) if self.evicts_on_append else None, chunk)

    def effective_routes(self, routes: Sequence[Route], rows: Sequence[int] | None = None) -> list[Route]:
        """Routes as applied to histories ``rows`` (default all): APPEND becomes EMA once a sink is full."""
        c, limit = self.stream.chunk_frames, self.stream.max_sink_frames
        lengths = [self.sink_lengths[r] for r in (range(self.num_histories) if rows is None else rows)]
        return [Route.EMA if r is Route.APPEND and n + c > limit else r for r, n in zip(routes, lengths)]

    # ----- helpers -------------------------------------------------------------------------------

    def _rows(self, index: Tensor) -> list[int]:
        rows = [int(r) for r in index.tolist()]  # one host read per commit: sink lengths live on the host
        if not rows or min(rows) < 0 or max(rows) >= self.num_histories:
            raise ValueError(f"select index {rows} out of range for {self.num_histories} histories")
        return rows

    def _check_chunk(
        self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor, histories: int
    ) -> _Chunk:
        c = self.stream.chunk_frames
        if positions.shape != (c,):
            raise ValueError(f"positions must be [{c}] (one chunk), got {tuple(positions.shape)}")
        if len(keys) != self.num_layers or len(values) != self.num_layers:
            raise ValueError(f"need K/V for {self.num_layers} layers, got {len(keys)}/{len(values)}")
        expected = (histories, c * self.tokens_per_frame, *self.keys[0].shape[2:])
        if tuple(keys[0].shape) != expected:
            raise ValueError(f"chunk keys must be {expected}, got {tuple(keys[0].shape)}")
        return keys, values, positions.to(self.positions.device, torch.long)

    def _rebuild(self, rows: list[int], routes: list[Route] | None, chunk: _Chunk | None) -> "KVCache":
        """The cache of histories ``rows``, the evicted chunk routed (if ``routes``), ``chunk`` appended.

        Every layer is built with one frame gather (plus a concatenation when a chunk is appended), so
        the parent stays untouched and no intermediate copy of the whole cache is made.
        """
        device, L = self.positions.device, self.tokens_per_frame
        plan = _plan(self, rows, routes)
        source, valid = plan.source.to(device), plan.valid.to(device)
        ema = _EmaUpdate(self, plan, device)

        def layer(t: Tensor, acc: Tensor | None) -> tuple[Tensor, Tensor | None]:
            frames = t.reshape(t.shape[0] * (t.shape[1] // L), L, *t.shape[2:])  # [B*F, L, H, D]
            new = frames.index_select(0, source)  # [B'*F', L, H, D]
            acc = ema.apply(frames, new, acc)
            return new.view(len(rows), -1, *t.shape[2:]), acc

        none = (None,) * self.num_layers
        keys, ema_keys = zip(*map(layer, self.keys, self.ema_keys or none))
        values, ema_values = zip(*map(layer, self.values, self.ema_values or none))
        cache = dataclasses.replace(
            self, keys=keys, values=values,
            positions=(self.positions.flatten().index_select(0, source) * valid).view(len(rows), -1),
            valid=valid.view(len(rows), -1), sink_lengths=plan.sink_lengths, window_length=plan.window_length,
            ema_keys=ema_keys if ema.keeps_accumulators else None,
            ema_values=ema_values if ema.keeps_accumulators else None,
        )
        return cache if chunk is None else cache._append(*chunk)

    def _append(self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor) -> "KVCache":
        """Concatenate a chunk after the window (the first chunk becomes the sink)."""
        b, c = self.num_histories, self.stream.chunk_frames
        positions = positions.expand(b, c)
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


@dataclass(frozen=True)
class _Plan:
    """Where every frame slot of a rebuilt cache comes from; flat slot = row * frames + frame."""

    rows: list[int]  # old row of each new row
    new_frames: int  # F', frame slots per new row
    source: Tensor  # [B'*F'] long, old flat slot of each new frame slot (padding: any slot of the row)
    valid: Tensor  # [B'*F'] bool, False on sink padding
    sink_lengths: tuple[int, ...]
    window_length: int
    newest: Tensor  # [B'*c] old flat slots of each new row's newest sink segment before routing
    evicted: Tensor  # [B'*c] old flat slots of the chunk each new row evicts (empty without routes)
    ema_rows: list[int]  # new rows whose newest sink segment takes an EMA of the evicted chunk
    append_rows: list[int]  # new rows that append the evicted chunk as a new sink segment


def _plan(cache: KVCache, rows: list[int], routes: list[Route] | None) -> _Plan:
    """Host-side layout of ``rows`` after routing the evicted chunk by ``routes`` (None: no eviction)."""
    c, cap, width = cache.stream.chunk_frames, cache.sink_capacity, cache.window_length
    frames = cache.positions.shape[1]
    routes = cache.effective_routes(routes, rows) if routes is not None else [None] * len(rows)
    lengths = tuple(cache.sink_lengths[r] + c * (route is Route.APPEND) for r, route in zip(rows, routes))
    new_cap = max(lengths)
    window = range(cap + (0 if routes[0] is None else c), cap + width)
    source, valid, newest, evicted = [], [], [], []
    for r, route, n in zip(rows, routes, lengths):
        base = r * frames
        moved = range(cap, cap + c) if route is Route.APPEND else range(0)
        sink = [base + f for f in (*range(cache.sink_lengths[r]), *moved)]
        source += sink + [base] * (new_cap - n) + [base + f for f in window]
        valid += [True] * n + [False] * (new_cap - n) + [True] * len(window)
        old_n = cache.sink_lengths[r]
        newest += [base + f for f in range(old_n - c, old_n)] if old_n >= c else []
        evicted += [base + f for f in range(cap, cap + c)] if route is not None else []
    return _Plan(
        rows=rows, new_frames=new_cap + len(window),
        source=torch.tensor(source, dtype=torch.long), valid=torch.tensor(valid, dtype=torch.bool),
        sink_lengths=lengths, window_length=len(window),
        newest=torch.tensor(newest, dtype=torch.long), evicted=torch.tensor(evicted, dtype=torch.long),
        ema_rows=[b for b, route in enumerate(routes) if route is Route.EMA],
        append_rows=[b for b, route in enumerate(routes) if route is Route.APPEND],
    )


class _EmaUpdate:
    """Applies the EMA / APPEND bookkeeping of one rebuild to each layer's new frames.

    ``sink <- a * sink + (1 - a) * evicted`` with a = 0.999 changes a bf16 value by less than half its
    rounding step, so in a bf16 cache almost every update would round away. For caches coarser than
    float32 the newest sink segment of every history therefore also lives in a float32 accumulator
    (``ema_keys``/``ema_values``, ``[B, c*L, H, D]``, made at the first EMA), the EMA runs there and
    the cache holds its rounding. Older segments never change again, so they need no accumulator.
    """

    def __init__(self, cache: KVCache, plan: _Plan, device: torch.device) -> None:
        c = cache.stream.chunk_frames
        self.decay = cache.stream.ema_decay
        self.has_ema = bool(plan.ema_rows)
        dtype = cache.keys[0].dtype
        self.work_dtype = torch.promote_types(dtype, torch.float32)
        coarse = torch.finfo(dtype).bits < torch.finfo(torch.float32).bits
        self.keeps_accumulators = cache.ema_keys is not None or (coarse and self.has_ema)
        segment = torch.arange(c)

        def slots(starts: list[int]) -> Tensor:  # c consecutive slots from each start
            return (torch.tensor(starts, dtype=torch.long)[:, None] + segment).flatten().to(device)

        lengths, width = plan.sink_lengths, plan.new_frames
        self.ema_dst = slots([b * width + lengths[b] - c for b in plan.ema_rows])
        self.ema_acc = slots([b * c for b in plan.ema_rows])
        self.append_acc = slots([b * c for b in plan.append_rows])
        evicted = plan.evicted.view(-1, c)
        self.ema_src = evicted[plan.ema_rows].flatten().to(device)
        self.append_src = evicted[plan.append_rows].flatten().to(device)
        self.acc_src = slots([r * c for r in plan.rows])  # the old row's accumulator slots
        self.newest = plan.newest.to(device)

    def apply(self, frames: Tensor, new: Tensor, acc: Tensor | None) -> Tensor | None:
        """Route into ``new [B'*F', L, H, D]`` (in place) from ``frames [B*F, L, H, D]``; returns the
        updated accumulator ``[B'*c, L, H, D]`` (None when the cache keeps none)."""
        if self.keeps_accumulators:
            # Existing accumulators follow their rows; the first EMA starts them from the exact segments.
            acc = frames.index_select(0, self.newest) if acc is None else acc.index_select(0, self.acc_src)
            acc = acc.to(self.work_dtype)  # [B'*c, L, H, D]
            acc[self.append_acc] = frames.index_select(0, self.append_src).to(acc.dtype)
        if not self.has_ema:
            return acc
        segment = acc[self.ema_acc] if acc is not None else new[self.ema_dst].to(self.work_dtype)
        evicted = frames.index_select(0, self.ema_src).to(self.work_dtype)
        blended = self.decay * segment + (1 - self.decay) * evicted
        new[self.ema_dst] = blended.to(new.dtype)
        if acc is not None:
            acc[self.ema_acc] = blended
        return acc
