"""The self-attention KV cache of a batch of streaming histories, with sink routing.

Layout of history ``b`` (``L`` = tokens per latent frame; every frame slot holds ``L`` tokens)::

    frames: [ sink region: sink_capacity slots | rolling window: window_length frames ]
    keys[i], values[i]: [B, (sink_capacity + window_length) * L, heads, head_dim]   (layer i)
    positions, valid:   [B, sink_capacity + window_length]                         (per frame slot)

Every entry keeps the absolute frame index it attends at (``positions``): the first committed chunk
at frames 0..chunk_frames-1, each APPENDed chunk at the frames where it was generated, window entries
at their own frames. Keys are stored already rotated by that frame's RoPE (as LongLive stores them),
so a forward rotates only its new chunk; EMA, the one operation that merges entries of different
frames, first turns the evicted keys to the sink segment's frames with ``frame_angles`` (RoPE's
angle per frame step of each channel pair) - the same result as blending un-rotated keys and
rotating at attention time. The sink region holds ``sink_lengths[b]`` valid frames as segments of
``chunk_frames``; the rest is zero padding (``valid`` False). The rolling window holds the last
``rolling_frames`` committed non-sink frames; its layout is the same for every history.

Room for the next chunk: every layer a commit builds is allocated ``chunk_frames`` frame slots
longer than the cache (``free_frames``); :meth:`KVCache.layer_with_room` hands out the whole
allocation, so a forward writes its chunk's K/V into the free slots and attends one buffer instead
of copying the past before its chunk at every layer. ``keys``/``values`` are views without them.

Two ways to change a cache:

* :meth:`select`, :meth:`route`, :meth:`append_chunk` and :meth:`commit` return a new cache and leave
  this one untouched (forking, tests); each holds the old and the new cache at its peak.
* :meth:`commit_` consumes this cache: it builds the new cache one layer at a time and lets go of
  each old layer as soon as its replacement exists, so a commit holds one cache plus one layer. A
  consumed cache raises on any later use (fork with :meth:`select` first to keep a parent).

EMA precision in bf16 caches: see :class:`_Ema`.

Prompt switches: a cache made with ``latent_shape`` also keeps the clean latent of every frame slot
(``latents``, gathered like ``positions``), so a generator can re-run the cached frames under a new
prompt (LongLive's re-cache) and write their K/V back in place with :meth:`replace_frames`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import Tensor

from streamt1.interfaces import Route, SinkLimits
from streamt1.models.config import StreamConfig

# per layer K, per layer V, frame positions [F], clean latents [B, F, C, H, W] (None: not kept)
_Chunk = tuple[Sequence[Tensor], Sequence[Tensor], Tensor, Tensor | None]
_Layer = tuple[Tensor, Tensor, Tensor | None, Tensor | None]  # K, V and their EMA residuals


@dataclass(frozen=True)
class KVCache:
    keys: list[Tensor]  # per layer [B, S, H, D], rotated by their frames; emptied when consumed
    values: list[Tensor]  # per layer [B, S, H, D]
    positions: Tensor  # [B, F] long, absolute frame index of every frame slot (0 on padding)
    valid: Tensor  # [B, F] bool, False on sink padding
    sink_lengths: tuple[int, ...]  # valid sink frames per history (host-side, no device sync to read)
    window_length: int  # frames in the rolling window, same for every history
    next_frame: int  # absolute frame index of the next chunk's first frame
    tokens_per_frame: int
    stream: StreamConfig
    frame_angles: Tensor | None = None  # [D/2] float64 RoPE angle per frame step; None: position-free keys
    # Rounding residuals of each history's newest sink segment, per layer [B, c*L, H, D] (see _Ema)
    ema_residual_keys: list[Tensor] | None = None
    ema_residual_values: list[Tensor] | None = None
    ema_touched: tuple[bool, ...] = ()  # per history: its newest sink segment took an EMA since it was made
    latents: Tensor | None = None  # [B, F, C, H, W] clean latent of every frame slot (0 on padding); None: not kept
    # Per history: the route its evicted chunk really took at the rebuild that made this cache (None: none left)
    applied_routes: tuple[Route | None, ...] = ()
    free_frames: int = 0  # frame slots allocated after the last one in every layer (see layer_with_room)

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
        frame_angles: Tensor | None = None,
        latent_shape: tuple[int, int, int] | None = None,
    ) -> "KVCache":
        """Caches of ``num_histories`` histories with nothing committed yet.

        ``latent_shape``: ``(C, H, W)`` of one latent frame to keep every slot's clean latent (each
        commit must then pass the chunk's latents); None keeps none.

        ``frame_angles``: RoPE's angle per frame step of each channel pair (``rope_frame_angles``) when
        the stored keys are rotated; None for position-free entries (EMA then blends them as they are).
        """
        if num_histories < 1 or num_layers < 1:
            raise ValueError(
                f"num_histories={num_histories}, num_layers={num_layers} are invalid: expected >= 1 each"
            )
        if frame_angles is not None and frame_angles.shape != (head_dim // 2,):
            raise ValueError(
                f"frame_angles must be [{head_dim // 2}] (head_dim / 2), got {tuple(frame_angles.shape)}"
            )
        kv = torch.zeros(num_histories, 0, num_heads, head_dim, device=device, dtype=dtype)
        return cls(
            keys=[kv] * num_layers,
            values=[kv] * num_layers,
            positions=torch.zeros(num_histories, 0, dtype=torch.long, device=device),
            valid=torch.zeros(num_histories, 0, dtype=torch.bool, device=device),
            sink_lengths=(0,) * num_histories,
            window_length=0,
            next_frame=0,
            tokens_per_frame=tokens_per_frame,
            stream=stream,
            frame_angles=None if frame_angles is None else frame_angles.to(device, torch.float64),
            ema_touched=(False,) * num_histories,
            latents=None if latent_shape is None else torch.zeros(
                num_histories, 0, *latent_shape, device=device, dtype=torch.float32),
        )

    # ----- reading -------------------------------------------------------------------------------

    @property
    def num_histories(self) -> int:
        return len(self.sink_lengths)

    @property
    def num_layers(self) -> int:
        return len(self.keys)

    @property
    def consumed(self) -> bool:
        """True once :meth:`commit_` has taken this cache's tensors."""
        return not self.keys

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

    def layer(self, index: int) -> tuple[Tensor, Tensor]:
        """K, V ``[B, S, H, D]`` of layer ``index``, every history."""
        self._check_live()
        return self.keys[index], self.values[index]

    def layer_with_room(self, index: int) -> tuple[Tensor, Tensor]:
        """K, V ``[B, S + free_frames * L, H, D]`` of layer ``index``: the cache followed by its free
        slots, one allocation. A forward may write the free slots (they are no part of the cache)."""
        if not self.free_frames:
            raise ValueError("this cache's layers have no free slots (free_frames=0): read layer() instead")
        keys, values = self.layer(index)
        return _with_room(keys, self.free_frames * self.tokens_per_frame), _with_room(
            values, self.free_frames * self.tokens_per_frame)

    def frames(self, parents: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Positions ``[N, F]`` and validity ``[N, F]`` of the frame slots of histories ``parents``."""
        self._check_live()
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

    # ----- forking and committing ----------------------------------------------------------------

    def select(self, index: Tensor) -> "KVCache":
        """Histories ``index`` (``[K]`` long, may repeat) as a new cache; unused sink padding is dropped."""
        return self._rebuild(self._rows(index), None, None, consume=False)

    def rows_with_room(self, index: Tensor) -> "KVCache":
        """Histories ``index`` (``[N]`` long, may repeat) row for row, layout unchanged (sink padding
        kept), each layer with free slots: the pasts a chunk's candidates read, copied once.

        A forward of candidates with different parents otherwise joins a copy of each parent's past at
        every layer of every denoising step; through this cache every step writes only its chunk's K/V
        into the free slots (the attention sees the same buffers, so the same numbers)."""
        rows = self._rows(index)
        free = self.stream.chunk_frames * self.tokens_per_frame

        def gather(layer: Tensor) -> Tensor:
            s = layer.shape[1]
            out = layer.new_empty(len(rows), s + free, *layer.shape[2:])[:, :s]
            for j, row in enumerate(rows):  # straight into place (an index_select would copy twice)
                out[j] = layer[row]
            return out

        def pick(part: Tensor | None) -> Tensor | None:
            return None if part is None else part[rows]

        return dataclasses.replace(
            self, keys=[gather(k) for k in self.keys], values=[gather(v) for v in self.values],
            positions=self.positions[rows], valid=self.valid[rows],
            sink_lengths=tuple(self.sink_lengths[r] for r in rows),
            ema_residual_keys=None if self.ema_residual_keys is None else [pick(r) for r in self.ema_residual_keys],
            ema_residual_values=None if self.ema_residual_values is None else [
                pick(r) for r in self.ema_residual_values],
            ema_touched=tuple(self.ema_touched[r] for r in rows), latents=pick(self.latents),
            applied_routes=tuple(self.applied_routes[r] for r in rows) if self.applied_routes else (),
            free_frames=self.stream.chunk_frames,
        )

    def append_chunk(self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor,
                     latents: Tensor | None = None) -> "KVCache":
        """Store a committed chunk: per layer K/V ``[B, F*L, H, D]`` (rotated), frames ``positions [F]``.

        The first chunk becomes the sink; later chunks enter the rolling window, which must have room
        (call :meth:`route` first when :attr:`evicts_on_append`). ``positions`` is normally
        ``next_frame + arange(chunk_frames)``.
        """
        if self.evicts_on_append:
            raise ValueError("the rolling window is full: route() the evicted chunk before append_chunk()")
        rows = list(range(self.num_histories))
        chunk = self._check_chunk(keys, values, positions, len(rows), latents)
        return self._rebuild(rows, None, chunk, consume=False)

    def route(self, routes: Sequence[Route], limits: SinkLimits | None = None) -> "KVCache":
        """Remove the oldest window chunk and route it into each history's sink (one route per history).

        DISCARD drops it; EMA sets the newest sink segment to ``a * segment + (1 - a) * evicted`` (K and
        V; the segment keeps its positions); APPEND stores it as a new sink segment at its own frames,
        or blends it as EMA where the sink would grow past ``limits.max_sink_frames``. The routes
        really taken are the new cache's :attr:`applied_routes`. ``limits`` may be left out only when
        every route is DISCARD.
        """
        if not self.evicts_on_append:
            raise ValueError("nothing leaves the window at this commit; route() only when evicts_on_append")
        rows = list(range(self.num_histories))
        if len(routes) != len(rows):
            raise ValueError(f"need one route per history ({len(rows)}), got {len(routes)}")
        return self._rebuild(rows, list(routes), None, consume=False, limits=limits)

    def commit(
        self, index: Tensor, routes: Sequence[Route], keys: Sequence[Tensor], values: Sequence[Tensor],
        positions: Tensor, latents: Tensor | None = None, limits: SinkLimits | None = None,
    ) -> "KVCache":
        """``select(index)``, then ``route(routes, limits)`` if a chunk leaves the window, then
        ``append_chunk``, in one copy; this cache stays usable."""
        return self._commit(index, routes, keys, values, positions, latents, limits, consume=False)

    def commit_(
        self, index: Tensor, routes: Sequence[Route], keys: Sequence[Tensor], values: Sequence[Tensor],
        positions: Tensor, latents: Tensor | None = None, limits: SinkLimits | None = None,
    ) -> "KVCache":
        """:meth:`commit` that consumes this cache: its memory is reused layer by layer (peak: one cache
        plus one layer, not two caches); any later use of this cache raises."""
        return self._commit(index, routes, keys, values, positions, latents, limits, consume=True)

    # ----- helpers -------------------------------------------------------------------------------

    def _check_live(self) -> None:
        if self.consumed:
            raise RuntimeError(
                "this KVCache was consumed by commit_(): use the cache it returned "
                "(fork with select() first to keep a parent)"
            )

    def _rows(self, index: Tensor) -> list[int]:
        rows = [int(r) for r in index.tolist()]  # one host read per commit: sink lengths live on the host
        if not rows or min(rows) < 0 or max(rows) >= self.num_histories:
            raise ValueError(f"select index {rows} out of range for {self.num_histories} histories")
        return rows

    def _commit(
        self, index: Tensor, routes: Sequence[Route], keys: Sequence[Tensor], values: Sequence[Tensor],
        positions: Tensor, latents: Tensor | None, limits: SinkLimits | None, consume: bool,
    ) -> "KVCache":
        rows = self._rows(index)
        if self.evicts_on_append and len(routes) != len(rows):
            raise ValueError(
                f"need one route per survivor ({len(rows)}) for evicted chunk {self.evicted_chunk()}, "
                f"got {len(routes)}"
            )
        chunk = self._check_chunk(keys, values, positions, len(rows), latents)
        return self._rebuild(rows, list(routes) if self.evicts_on_append else None, chunk, consume, limits)

    def _check_chunk(
        self, keys: Sequence[Tensor], values: Sequence[Tensor], positions: Tensor, histories: int,
        latents: Tensor | None = None,
    ) -> _Chunk:
        self._check_live()
        c = self.stream.chunk_frames
        if positions.shape != (c,):
            raise ValueError(f"positions must be [{c}] (one chunk), got {tuple(positions.shape)}")
        if len(keys) != self.num_layers or len(values) != self.num_layers:
            raise ValueError(f"need K/V for {self.num_layers} layers, got {len(keys)}/{len(values)}")
        expected = (histories, c * self.tokens_per_frame, *self.keys[0].shape[2:])
        if tuple(keys[0].shape) != expected:
            raise ValueError(f"chunk keys must be {expected}, got {tuple(keys[0].shape)}")
        if (latents is None) != (self.latents is None):
            raise ValueError("a cache made with latent_shape needs each chunk's latents, one made without "
                             "takes none")
        if latents is not None:
            expected_latents = (histories, self.latents.shape[2], c, *self.latents.shape[3:])
            if tuple(latents.shape) != expected_latents:
                raise ValueError(f"chunk latents must be {expected_latents}, got {tuple(latents.shape)}")
            latents = latents.detach().to(self.latents.device, self.latents.dtype).transpose(1, 2)
        return keys, values, positions.to(self.positions.device, torch.long), latents

    def _layers(self, consume: bool) -> Iterator[_Layer]:
        """Each layer's K, V and EMA residuals; when consuming, this cache lets go of each layer as it
        is handed out, so its memory is free again once the caller has built the replacement."""
        n = self.num_layers
        owned = [self.keys, self.values, self.ema_residual_keys or [], self.ema_residual_values or []]
        lists = [part or [None] * n for part in owned]
        if consume:  # this cache is marked consumed at once, then each layer is dropped as it is handed out
            lists = [part[:] for part in lists]
            for part in owned:
                part.clear()
        for i in range(n):
            yield tuple(part.pop(0) if consume else part[i] for part in lists)  # type: ignore[misc]

    def _rebuild(self, rows: list[int], routes: list[Route] | None, chunk: _Chunk | None, consume: bool,
                 limits: SinkLimits | None = None) -> "KVCache":
        """The cache of histories ``rows``, the evicted chunk routed (if ``routes``, under ``limits``),
        ``chunk`` appended.

        Each layer is built by direct slice copies into one new tensor (no intermediate copies).
        """
        self._check_live()
        if routes is not None and limits is None and any(r is not Route.DISCARD for r in routes):
            raise ValueError("routing an evicted chunk into the sink needs the SinkLimits (max_sink_frames, "
                             "ema_decay): pass limits=")
        plan = _plan(self, rows, routes, chunk is not None, limits)
        ema = _Ema(self, plan, limits)
        device, b = self.positions.device, len(rows)
        positions = self.positions.flatten().index_select(0, plan.source.to(device)).view(b, plan.kept)
        valid = plan.valid.to(device).view(b, plan.kept)
        chunk_kv = [(None, None)] * self.num_layers if chunk is None else list(zip(chunk[0], chunk[1]))
        keys, values, res_k, res_v = [], [], [], []
        free = self.stream.chunk_frames
        for (k, v, rk, rv), (ck, cv) in zip(self._layers(consume), chunk_kv):
            keys.append(_build_layer(k, ck, plan, self.tokens_per_frame, free))
            values.append(_build_layer(v, cv, plan, self.tokens_per_frame, free))
            res_k.append(ema.apply(k, keys[-1], rk, rotated=True))
            res_v.append(ema.apply(v, values[-1], rv, rotated=False))
        latents = self._gather_latents(plan, valid)
        if chunk is not None:
            positions = torch.cat([positions * valid, chunk[2].expand(b, -1)], 1)
            valid = torch.cat([valid, valid.new_ones(b, chunk[2].shape[0])], 1)
            latents = None if latents is None else torch.cat([latents, chunk[3]], 1)
        else:
            positions = positions * valid
        return dataclasses.replace(
            self, keys=keys, values=values, positions=positions, valid=valid, sink_lengths=plan.sink_lengths,
            window_length=plan.window_length, next_frame=plan.next_frame,
            ema_residual_keys=res_k if ema.keeps_residuals else None,
            ema_residual_values=res_v if ema.keeps_residuals else None,
            ema_touched=plan.touched, latents=latents, applied_routes=tuple(row.route for row in plan.rows),
            free_frames=free,
        )

    def _gather_latents(self, plan: "_Plan", valid: Tensor) -> Tensor | None:
        """The kept slots' clean latents ``[B', kept, C, H, W]`` (padding zeroed), or None."""
        if self.latents is None:
            return None
        flat = self.latents.flatten(0, 1).index_select(0, plan.source.to(self.latents.device))
        gathered = flat.view(len(plan.rows), plan.kept, *self.latents.shape[2:])
        return gathered * valid.to(gathered.device)[:, :, None, None, None]

    # ----- prompt switches -----------------------------------------------------------------------

    def replace_frames(self, start: int, keys: Sequence[Tensor], values: Sequence[Tensor]) -> "KVCache":
        """This cache with the K/V of frame slots ``start ..`` replaced (per layer ``[B, (F - start)*L, H, D]``).

        Positions, validity and latents stay. Rewriting from slot 0 rewrites the sink: its EMA blends
        are gone, so are their residuals. Padding slots are zeroed (masked, but must stay finite).
        """
        self._check_live()
        frames = self.positions.shape[1]
        if not 0 <= start <= frames:
            raise ValueError(f"start={start} is not a frame slot in 0..{frames}")
        expected = (self.num_histories, (frames - start) * self.tokens_per_frame, *self.keys[0].shape[2:])
        if len(keys) != self.num_layers or len(values) != self.num_layers:
            raise ValueError(f"need K/V for {self.num_layers} layers, got {len(keys)}/{len(values)}")
        if tuple(keys[0].shape) != expected:
            raise ValueError(f"replacement keys must be {expected}, got {tuple(keys[0].shape)}")
        keep = self.valid[:, start:].repeat_interleave(self.tokens_per_frame, 1)[:, :, None, None]
        cut = start * self.tokens_per_frame

        def rewrite(old: Tensor, new: Tensor) -> Tensor:
            return torch.cat([old[:, :cut], (new * keep).to(old.dtype)], 1)

        sink_rewritten = start < self.sink_capacity
        return dataclasses.replace(
            self, keys=[rewrite(o, n) for o, n in zip(self.keys, keys)],
            values=[rewrite(o, n) for o, n in zip(self.values, values)],
            ema_residual_keys=None if sink_rewritten else self.ema_residual_keys,
            ema_residual_values=None if sink_rewritten else self.ema_residual_values,
            ema_touched=(False,) * self.num_histories if sink_rewritten else self.ema_touched,
            free_frames=0,  # the rewritten layers are new tensors without free slots
        )


@dataclass(frozen=True)
class _Row:
    """How one new history row is made from old row ``source``."""

    source: int
    runs: tuple[tuple[int, int, int], ...]  # (new frame, old frame, frames) copied from the old row
    padding: tuple[int, int]  # (first new frame, frames) of zero sink padding
    route: Route | None  # effective route of the evicted chunk (None: nothing leaves)
    segment: int  # new frame of the row's newest sink segment (where EMA blends)
    old_segment: int  # its old frame
    keeps_residual: bool  # the old row's EMA residual still belongs to the newest segment


@dataclass(frozen=True)
class _Plan:
    """Host-side layout of a rebuilt cache; flat frame slot = row * frames + frame."""

    rows: tuple[_Row, ...]
    frames: int  # F', frame slots per new row, the appended chunk included
    chunk_start: int | None  # frame slot of the appended chunk
    evicted: int  # old frame of the chunk leaving the window
    source: Tensor  # [B' * kept] old flat slot of each kept new slot (padding: slot 0 of the row)
    valid: Tensor  # [B' * kept] bool, False on sink padding
    sink_lengths: tuple[int, ...]
    window_length: int
    next_frame: int
    touched: tuple[bool, ...]  # per new row: its newest sink segment took an EMA since it was made

    @property
    def kept(self) -> int:
        """Frame slots per new row that come from the old cache (the appended chunk excluded)."""
        return self.frames if self.chunk_start is None else self.chunk_start


def _plan(cache: KVCache, rows: list[int], routes: list[Route] | None, appends: bool,
          limits: SinkLimits | None) -> _Plan:
    """Layout of ``rows`` after routing the evicted chunk by ``routes`` (None: no eviction; each
    applied under ``limits``) and appending."""
    c, cap, width = cache.stream.chunk_frames, cache.sink_capacity, cache.window_length
    old_frames = cache.positions.shape[1]
    if routes is None:
        routes = [None] * len(rows)
    elif limits is not None:
        routes = [limits.applied(route, cache.sink_lengths[r], c) for r, route in zip(rows, routes)]
    lengths = tuple(cache.sink_lengths[r] + c * (route is Route.APPEND) for r, route in zip(rows, routes))
    new_cap = max(lengths)
    first = cap + (0 if routes[0] is None else c)  # first window frame that stays
    window = cap + width - first
    kept = new_cap + window
    out, source, valid, touched = [], [], [], []
    for r, route, n in zip(rows, routes, lengths):
        old_n = cache.sink_lengths[r]
        runs = [(0, 0, old_n), (old_n, cap, c if route is Route.APPEND else 0), (new_cap, first, window)]
        runs = tuple(run for run in runs if run[2] > 0)
        base = r * old_frames
        slots, ok = [base] * kept, [False] * kept
        for dst, src, count in runs:
            slots[dst : dst + count] = range(base + src, base + src + count)
            ok[dst : dst + count] = [True] * count
        source += slots
        valid += ok
        fresh = route is Route.APPEND
        touched.append(route is Route.EMA or (cache.ema_touched[r] and not fresh))
        out.append(_Row(source=r, runs=runs, padding=(n, new_cap - n), route=route, segment=n - c,
                        old_segment=old_n - c, keeps_residual=cache.ema_touched[r] and not fresh))
    first_chunk = appends and cache.next_frame == 0
    return _Plan(
        rows=tuple(out), frames=kept + c * appends, chunk_start=kept if appends else None, evicted=cap,
        source=torch.tensor(source, dtype=torch.long), valid=torch.tensor(valid, dtype=torch.bool),
        sink_lengths=(c,) * len(rows) if first_chunk else lengths,
        window_length=window + c * (appends and not first_chunk), next_frame=cache.next_frame + c * appends,
        touched=tuple(touched),
    )


def _with_room(layer: Tensor, free_tokens: int) -> Tensor:
    """``layer [B, S, H, D]`` (a view of a longer allocation) widened to ``[B, S + free_tokens, H, D]``."""
    b, s, h, d = layer.shape
    if layer.stride() != ((s + free_tokens) * h * d, h * d, d, 1):  # a copy (clone, .to) lost the free slots
        raise ValueError(f"layer strides {layer.stride()} are not those of a [{b}, {s} + {free_tokens}, {h}, {d}] "
                         "allocation: the free slots were not kept")
    return layer.as_strided((b, s + free_tokens, h, d), layer.stride(), layer.storage_offset())


def _build_layer(old: Tensor, chunk: Tensor | None, plan: _Plan, tokens_per_frame: int, free_frames: int) -> Tensor:
    """One layer ``[B', F'*L, H, D]`` of the rebuilt cache from ``old [B, F*L, H, D]`` and ``chunk``: a
    view of an allocation ``free_frames`` frame slots longer (see :meth:`KVCache.layer_with_room`)."""
    L = tokens_per_frame
    new = old.new_empty(len(plan.rows), (plan.frames + free_frames) * L, *old.shape[2:])[:, : plan.frames * L]
    for b, row in enumerate(plan.rows):
        for dst, src, count in row.runs:  # slice to slice: no temporary
            new[b, dst * L : (dst + count) * L] = old[row.source, src * L : (src + count) * L]
        start, count = row.padding
        new[b, start * L : (start + count) * L] = 0  # masked, but must be finite (0 * NaN is NaN)
    if chunk is not None:
        new[:, plan.chunk_start * L :] = chunk
    return new


def _turn(x: Tensor, turn: Tensor) -> Tensor:
    """Multiply channel pairs of ``x [c, L, H, D]`` by unit complex numbers ``turn [c, 1, 1, D/2]``."""
    pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())
    return torch.view_as_real(pairs * turn).flatten(-2)


class _Ema:
    """EMA routing of one rebuild, applied to each layer after its frames were copied.

    ``sink <- a * sink + (1 - a) * evicted`` with a = 0.999 changes a bf16 value by less than half its
    rounding step, so in a bf16 cache almost every update would round away. In caches coarser than
    float32 each history whose newest sink segment took an EMA also keeps that segment's rounding
    residual (``ema_residual_keys/values``, ``[B, c*L, H, D]`` in the cache dtype, made at the first
    EMA): the segment's value is ``stored + residual`` (about 16 significant bits), the blend runs in
    float32 and is split again into the rounded value and its residual. An APPENDed segment is exact,
    so its residual is zero; older segments never change again and need none.
    """

    def __init__(self, cache: KVCache, plan: _Plan, limits: SinkLimits | None) -> None:
        c, device = cache.stream.chunk_frames, cache.positions.device
        self.plan, self.c, self.L = plan, c, cache.tokens_per_frame
        self.decay = None if limits is None else limits.ema_decay  # None: every route is DISCARD
        dtype = cache.keys[0].dtype
        self.work_dtype = torch.promote_types(dtype, torch.float32)
        coarse = torch.finfo(dtype).bits < torch.finfo(torch.float32).bits
        self.keeps_residuals = coarse and any(plan.touched)
        self.ema_rows = [b for b, row in enumerate(plan.rows) if row.route is Route.EMA]
        self.turns = None
        if self.ema_rows and cache.frame_angles is not None:
            # Evicted keys move from their own frames to the segment's: turn by the frame difference.
            frames = cache.positions.shape[1]
            segment, evicted = [], []
            for b in self.ema_rows:
                row = plan.rows[b]
                segment += [row.source * frames + row.old_segment + f for f in range(c)]
                evicted += [row.source * frames + plan.evicted + f for f in range(c)]
            flat = cache.positions.flatten()
            shift = flat[torch.tensor(segment, device=device)] - flat[torch.tensor(evicted, device=device)]
            angles = shift.double()[:, None] * cache.frame_angles  # [E*c, D/2]
            turns = torch.polar(torch.ones_like(angles), angles)
            complex_dtype = torch.promote_types(self.work_dtype, torch.complex64)
            self.turns = turns.to(complex_dtype).view(len(self.ema_rows), c, 1, 1, -1)

    def apply(self, old: Tensor, new: Tensor, residual: Tensor | None, rotated: bool) -> Tensor | None:
        """Blend evicted chunks of ``old`` into ``new`` (in place); returns the new residual (or None).

        ``rotated``: the entries carry RoPE (keys), so evicted ones are turned to the segment's frames.
        """
        c, L, rows = self.c, self.L, self.plan.rows
        res = None
        if self.keeps_residuals:
            res = new.new_zeros(len(rows), c * L, *new.shape[2:])
            for b, row in enumerate(rows):
                if row.keeps_residual and residual is not None:
                    res[b] = residual[row.source]
        evicted_span = slice(self.plan.evicted * L, (self.plan.evicted + c) * L)
        for e, b in enumerate(self.ema_rows):
            row = rows[b]
            span = slice(row.segment * L, (row.segment + c) * L)
            segment = new[b, span].to(self.work_dtype)
            if res is not None:
                segment = segment + res[b]
            evicted = old[row.source, evicted_span].to(self.work_dtype)
            if rotated and self.turns is not None:
                evicted = _turn(evicted.unflatten(0, (c, L)), self.turns[e]).flatten(0, 1)
            blended = self.decay * segment + (1 - self.decay) * evicted
            new[b, span] = blended
            if res is not None:
                res[b] = blended - new[b, span].to(self.work_dtype)
        return res
