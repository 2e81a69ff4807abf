"""The JSON trace of every search decision: what was generated, how it scored, what survived.

Schema version 1 (one JSON object; ``null`` where a value does not apply)::

    {
      "version": 1,
      "method": str,                 # the preset, e.g. "stream-t1", "beam", "best-of-n", "none"
      "prompt": str,
      "seed": int,
      "fps": float,
      "num_chunks": int,             # chunks planned; len(chunks) is smaller for an unfinished run
      "config": {...},               # the resolved configuration: "search" (every SearchConfig field)
                                     # plus, from the API/CLI, "run", "rewards", "stream" and "versions"
      "segments": [{                 # the prompt schedule (optional; absent: one segment, "prompt")
        "prompt": str,               # the prompt of this segment
        "from_frame": int,           # its first latent frame
        "from_chunk": int,           # its first chunk (a prompt switch happens before this chunk)
        "from_decoded_frame": int    # its first frame of the decoded video (absent in older traces): a
                                     # causal VAE decodes fewer frames for the first chunk than for the others
      }],
      "chunks": [{                   # one per generated chunk, in order
        "index": int,                # == position in the list
        "alpha": float | null,       # weight of the short reward in S = a*short + (1-a)*long
        "evicted_chunk": int | null, # chunk pushed out of the local window at this chunk's commit
        "candidates": [{             # every candidate drawn for this chunk (K*M; the root grows K*M too)
          "id": int,                 # 0..N-1 == position in the list
          "parent": int,             # index of its parent in the previous chunk's "histories"
                                     # (0 for chunk 0: the single empty root)
          "seed": int,               # seed of the generator that drew its noise
          "short": float | null,     # image reward (mean over the chunk's frames)
          "long": float | null,      # video reward over the sliding window
          "long_parts": {name: float},  # sub-scores of the video reward (e.g. VQ, MQ, TA)
          "score": float | null,     # fused score S used for pruning (null: not scored, or pruned early)
          "pruned_at_step": int | null,  # early pruning: dropped after this denoising step (0-based)
          "early_score": float | null,   # its fused score on the x0 prediction of that step
          "kept": bool,              # survived pruning
          "history": int | null      # its index in "histories" if kept, else null
        }],
        "histories": [{              # the survivors after pruning, in history order
          "candidate": int,          # the candidate id that became this history
          "route": "discard" | "ema" | "append" | null,  # the route the cache applied to evicted_chunk
                                     # (a requested APPEND becomes "ema" once the sink is full)
          "quality": bool | null,    # the gates that chose the route (null: nothing evicted / off)
          "transition": bool | null,
          "sink_frames": int         # sink size in latent frames after this chunk's commit
        }],
        "calls": {name: int}         # model calls of this chunk: "generator_forwards" (denoising
                                     # steps x candidates + clean K/V passes), "decoded" chunks,
                                     # "image_reward_frames", "video_reward_clips" ({} in older traces)
      }],
      "final": {                     # null until the finished histories are scored
        "scores": [float],           # one per history of the last chunk
        "parts": {name: [float]},    # named sub-scores, same length
        "chosen": int                # index of the history written as the result video
      } | null,
      "timing": {name: float},       # seconds per phase: "setup" (prompt, first state), "denoise",
                                     # "decode", "score", "commit", "final" and "total" (free-form
                                     # names are accepted)
      "chunk_seconds": [float]       # wall time of each chunk ([] in older traces); measured time is
                                     # kept out of "chunks" so a seed's decisions compare equal

    }

Non-finite floats are stored as ``null`` (strict JSON has no NaN) with a logged warning. Build a trace
with :meth:`Trace.start`, :meth:`Trace.add_chunk`, :meth:`Trace.set_final`; every step checks that
ids and parent links are consistent, so a broken trace fails where it is made, not when plotted.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Mapping, Sequence

from streamt1.interfaces import Route

logger = logging.getLogger(__name__)

TRACE_VERSION = 1
ROUTES = tuple(route.value for route in Route)


class TraceError(ValueError):
    """A trace that is malformed or inconsistent (bad file, wrong version, broken links)."""


def _opt_float(value: Any, where: str) -> float | None:
    """Python float from a float / numpy / 0-d tensor; NaN and inf become None (strict JSON)."""
    if value is None:
        return None
    if isinstance(value, (bool, str)):
        raise TraceError(f"{where}={value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TraceError(f"{where}={value!r} is not a number") from None
    if not math.isfinite(number):
        logger.warning("trace: non-finite %s=%s stored as null", where, number)
        return None
    return number


@dataclass(kw_only=True)
class CandidateRecord:
    """One candidate chunk; ``id`` is its position within its chunk."""

    id: int
    parent: int
    seed: int
    short: float | None = None
    long: float | None = None
    long_parts: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    kept: bool = False
    history: int | None = None
    pruned_at_step: int | None = None
    early_score: float | None = None

    def __post_init__(self) -> None:
        self.early_score = _opt_float(self.early_score, f"candidate {self.id} early_score")
        self.short = _opt_float(self.short, f"candidate {self.id} short")
        self.long = _opt_float(self.long, f"candidate {self.id} long")
        self.score = _opt_float(self.score, f"candidate {self.id} score")
        parts = {str(k): _opt_float(v, f"candidate {self.id} long_parts[{k}]") for k, v in self.long_parts.items()}
        self.long_parts = {k: v for k, v in parts.items() if v is not None}
        if self.kept != (self.history is not None):
            raise TraceError(
                f"candidate {self.id}: kept={self.kept} but history={self.history}; "
                "a kept candidate needs its history index and a pruned one must have history=None"
            )


@dataclass(kw_only=True)
class HistoryRecord:
    """One surviving history after pruning; ``route`` accepts a :class:`Route` or its string value."""

    candidate: int
    route: str | None = None
    quality: bool | None = None
    transition: bool | None = None
    sink_frames: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.route, Route):
            self.route = self.route.value
        if self.route is not None and self.route not in ROUTES:
            raise TraceError(f"history of candidate {self.candidate}: route={self.route!r} is not one of {ROUTES}")
        if self.sink_frames < 0:
            raise TraceError(f"history of candidate {self.candidate}: sink_frames={self.sink_frames} must be >= 0")


@dataclass(kw_only=True)
class ChunkRecord:
    """Everything decided at one chunk: the candidates, their scores and the survivors."""

    index: int
    alpha: float | None = None
    evicted_chunk: int | None = None
    candidates: list[CandidateRecord]
    histories: list[HistoryRecord]
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.alpha = _opt_float(self.alpha, f"chunk {self.index} alpha")
        bad = {k: v for k, v in self.calls.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
        if bad:
            raise TraceError(f"chunk {self.index}: calls {bad} must be integers >= 0")
        self._check_links()

    def _check_links(self) -> None:
        where = f"chunk {self.index}"
        if not self.candidates or not self.histories:
            raise TraceError(f"{where}: needs at least one candidate and one history")
        for position, cand in enumerate(self.candidates):
            if cand.id != position:
                raise TraceError(f"{where}: candidate at position {position} has id {cand.id}; ids must be 0..N-1")
        for h, hist in enumerate(self.histories):
            if not 0 <= hist.candidate < len(self.candidates):
                raise TraceError(
                    f"{where}: history {h} names candidate {hist.candidate}, not in 0..{len(self.candidates) - 1}"
                )
            if self.candidates[hist.candidate].history != h:
                raise TraceError(
                    f"{where}: history {h} names candidate {hist.candidate}, "
                    f"whose history is {self.candidates[hist.candidate].history}"
                )
        num_kept = sum(cand.kept for cand in self.candidates)
        if num_kept != len(self.histories):
            raise TraceError(
                f"{where}: {num_kept} candidates are kept but there are {len(self.histories)} histories"
            )


@dataclass(kw_only=True)
class FinalRecord:
    """Scores of the finished histories and the one chosen as the result."""

    scores: list[float | None]
    parts: dict[str, list[float | None]] = field(default_factory=dict)
    chosen: int

    def __post_init__(self) -> None:
        self.scores = [_opt_float(s, f"final score {i}") for i, s in enumerate(self.scores)]
        self.parts = {
            str(name): [_opt_float(v, f"final {name}[{i}]") for i, v in enumerate(values)]
            for name, values in self.parts.items()
        }
        if not 0 <= self.chosen < len(self.scores):
            raise TraceError(f"final: chosen={self.chosen} is not in 0..{len(self.scores) - 1}")
        for name, values in self.parts.items():
            if len(values) != len(self.scores):
                raise TraceError(f"final: parts[{name!r}] has {len(values)} values for {len(self.scores)} scores")


@dataclass(kw_only=True)
class Trace:
    """A search trace being built (or loaded); :meth:`to_dict` gives the schema-1 JSON object."""

    method: str
    prompt: str
    seed: int
    fps: float
    num_chunks: int
    config: dict[str, Any] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)  # [] = one segment, ``prompt`` throughout
    chunks: list[ChunkRecord] = field(default_factory=list)
    final: FinalRecord | None = None
    timing: dict[str, float] = field(default_factory=dict)
    chunk_seconds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.num_chunks < 1:
            raise TraceError(f"num_chunks={self.num_chunks} must be >= 1")
        if not math.isfinite(self.fps) or self.fps <= 0:
            raise TraceError(f"fps={self.fps} must be a positive finite number")
        self.segments = [_segment(s, i) for i, s in enumerate(self.segments)]
        starts = [s["from_chunk"] for s in self.segments]
        if starts and (starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:]))):
            raise TraceError(f"segments start at chunks {starts}: the first must be 0 and they must increase")

    def switch_chunks(self) -> list[int]:
        """Chunks generated right after a prompt switch."""
        return [s["from_chunk"] for s in self.segments[1:]]

    @classmethod
    def start(
        cls,
        *,
        method: str,
        prompt: str,
        seed: int,
        fps: float,
        num_chunks: int,
        config: Any = None,
        segments: Sequence[Mapping[str, Any]] = (),
    ) -> Trace:
        """An empty trace for one run; ``config`` (a mapping or a config dataclass) must be
        JSON-serialisable, which is checked on save."""
        config_dict = asdict(config) if is_dataclass(config) else dict(config or {})
        return cls(
            method=method, prompt=prompt, seed=int(seed), fps=float(fps), num_chunks=int(num_chunks),
            config=config_dict, segments=[dict(s) for s in segments],
        )

    def add_chunk(self, chunk: ChunkRecord, seconds: float | None = None) -> None:
        """Append the next chunk, checking its index and that every parent is a live history;
        ``seconds``, the chunk's wall time, goes to ``chunk_seconds``."""
        if self.final is not None:
            raise TraceError(f"chunk {chunk.index}: cannot add chunks after set_final")
        if chunk.index != len(self.chunks):
            raise TraceError(f"chunk index {chunk.index} added out of order; expected {len(self.chunks)}")
        if chunk.index >= self.num_chunks:
            raise TraceError(f"chunk {chunk.index} is beyond num_chunks={self.num_chunks}")
        num_parents = len(self.chunks[-1].histories) if self.chunks else 1  # chunk 0 has one root
        for cand in chunk.candidates:
            if not 0 <= cand.parent < num_parents:
                raise TraceError(
                    f"chunk {chunk.index}: candidate {cand.id} has parent {cand.parent}, "
                    f"but the previous chunk left {num_parents} histories"
                )
        if chunk.evicted_chunk is not None and not 0 <= chunk.evicted_chunk < chunk.index:
            raise TraceError(f"chunk {chunk.index}: evicted_chunk={chunk.evicted_chunk} must be an earlier chunk")
        self.chunks.append(chunk)
        if seconds is not None:
            if len(self.chunk_seconds) != chunk.index:
                raise TraceError(f"chunk {chunk.index}: seconds given, but not for every earlier chunk")
            self.chunk_seconds.append(_opt_float(seconds, f"chunk {chunk.index} seconds") or 0.0)

    def set_final(
        self,
        scores: Sequence[float | None],
        chosen: int,
        parts: Mapping[str, Sequence[float | None]] | None = None,
    ) -> None:
        """Record the whole-video scores of the finished histories and the chosen one."""
        if not self.chunks:
            raise TraceError("set_final needs at least one chunk in the trace")
        final = FinalRecord(
            scores=list(scores), parts={k: list(v) for k, v in (parts or {}).items()}, chosen=int(chosen)
        )
        if len(final.scores) != len(self.chunks[-1].histories):
            raise TraceError(
                f"final: {len(final.scores)} scores for {len(self.chunks[-1].histories)} finished histories"
            )
        self.final = final

    def add_time(self, name: str, seconds: float) -> None:
        """Accumulate ``seconds`` under ``timing[name]``."""
        self.timing[str(name)] = self.timing.get(str(name), 0.0) + float(seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": TRACE_VERSION,
            "method": self.method,
            "prompt": self.prompt,
            "seed": self.seed,
            "fps": self.fps,
            "num_chunks": self.num_chunks,
            "config": self.config,
            "segments": self.segments,
            "chunks": [asdict(chunk) for chunk in self.chunks],
            "final": None if self.final is None else asdict(self.final),
            "timing": self.timing,
            "chunk_seconds": self.chunk_seconds,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "trace") -> Trace:
        """Validate a schema-1 object and rebuild the trace; errors name ``source`` and the bad key."""
        if not isinstance(data, Mapping):
            raise TraceError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if "version" not in data:
            raise TraceError(f"{source}: missing 'version'; not a stream-t1 trace")
        if data["version"] != TRACE_VERSION:
            raise TraceError(
                f"{source}: trace version {data['version']!r} is not supported; "
                f"this stream-t1 reads version {TRACE_VERSION}"
            )
        try:
            trace = cls.start(
                method=_get(data, "method", "str"), prompt=_get(data, "prompt", "str"),
                seed=_get(data, "seed", "int"), fps=_get(data, "fps", "float"),
                num_chunks=_get(data, "num_chunks", "int"), config=_get(data, "config", "dict"),
                segments=_get(data, "segments", "list") if "segments" in data else [],
            )
            seconds = _get(data, "chunk_seconds", "list") if "chunk_seconds" in data else []
            for position, chunk in enumerate(_get(data, "chunks", "list")):
                trace.add_chunk(_chunk_from_dict(chunk, f"chunks[{position}]"),
                                seconds[position] if position < len(seconds) else None)
            final = _get(data, "final", "dict", nullable=True)
            if final is not None:
                trace.set_final(
                    _get(final, "scores", "list", where="final"),
                    _get(final, "chosen", "int", where="final"),
                    _get(final, "parts", "dict", where="final"),
                )
            for name, seconds in _get(data, "timing", "dict").items():
                trace.add_time(name, _opt_float(seconds, f"timing[{name}]") or 0.0)
        except TraceError as err:
            raise TraceError(f"{source}: {err}") from None
        return trace

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read and validate a trace file."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no trace file at {path}")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise TraceError(f"{path} is not valid JSON ({err}); the file is corrupt or truncated") from None
        return cls.from_dict(data, source=str(path))


_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,), "list": (list,)
}


def _get(data: Mapping[str, Any], key: str, kind: str, *, nullable: bool = False, where: str = "") -> Any:
    """``data[key]`` checked to be of ``kind`` (bool is not accepted as a number)."""
    prefix = f"{where}: " if where else ""
    if not isinstance(data, Mapping):
        raise TraceError(f"{prefix}expected an object, got {type(data).__name__}")
    if key not in data:
        raise TraceError(f"{prefix}missing required key {key!r}")
    value = data[key]
    if value is None and nullable:
        return None
    if not isinstance(value, _KINDS[kind]) or (kind in ("int", "float") and isinstance(value, bool)):
        expected = f"{kind} or null" if nullable else kind
        raise TraceError(f"{prefix}{key!r} should be {expected}, got {type(value).__name__}")
    return value


def _segment(data: Any, index: int) -> dict[str, Any]:
    where = f"segments[{index}]"
    segment = {"prompt": _get(data, "prompt", "str", where=where),
               "from_frame": _get(data, "from_frame", "int", where=where),
               "from_chunk": _get(data, "from_chunk", "int", where=where)}
    if "from_decoded_frame" in data:  # older traces lack it
        segment["from_decoded_frame"] = _get(data, "from_decoded_frame", "int", where=where)
    return segment


def _candidate_from_dict(data: Any, where: str) -> CandidateRecord:
    return CandidateRecord(
        id=_get(data, "id", "int", where=where),
        parent=_get(data, "parent", "int", where=where),
        seed=_get(data, "seed", "int", where=where),
        short=_get(data, "short", "float", nullable=True, where=where),
        long=_get(data, "long", "float", nullable=True, where=where),
        long_parts=_get(data, "long_parts", "dict", where=where),
        score=_get(data, "score", "float", nullable=True, where=where),
        kept=_get(data, "kept", "bool", where=where),
        history=_get(data, "history", "int", nullable=True, where=where),
        pruned_at_step=data.get("pruned_at_step"),
        early_score=data.get("early_score"),
    )


def _history_from_dict(data: Any, where: str) -> HistoryRecord:
    return HistoryRecord(
        candidate=_get(data, "candidate", "int", where=where),
        route=_get(data, "route", "str", nullable=True, where=where),
        quality=_get(data, "quality", "bool", nullable=True, where=where),
        transition=_get(data, "transition", "bool", nullable=True, where=where),
        sink_frames=_get(data, "sink_frames", "int", where=where),
    )


def _chunk_from_dict(data: Any, where: str) -> ChunkRecord:
    try:
        candidates = _get(data, "candidates", "list", where=where)
        histories = _get(data, "histories", "list", where=where)
        return ChunkRecord(
            index=_get(data, "index", "int", where=where),
            alpha=_get(data, "alpha", "float", nullable=True, where=where),
            evicted_chunk=_get(data, "evicted_chunk", "int", nullable=True, where=where),
            candidates=[_candidate_from_dict(c, f"{where}.candidates[{i}]") for i, c in enumerate(candidates)],
            histories=[_history_from_dict(h, f"{where}.histories[{i}]") for i, h in enumerate(histories)],
            calls=_get(data, "calls", "dict", where=where) if "calls" in data else {},
        )
    except TraceError as err:
        message = str(err)
        raise TraceError(message if message.startswith(where) else f"{where}: {message}") from None


def as_trace(trace: Trace | Mapping[str, Any]) -> Trace:
    """Accept a :class:`Trace` or its dict form (validated)."""
    return trace if isinstance(trace, Trace) else Trace.from_dict(trace)


def chosen_path(trace: Trace | Mapping[str, Any], history: int | None = None) -> list[int]:
    """Candidate id, per chunk, on the lineage of one finished history (by default the chosen one).

    Walks back from the last chunk through ``histories[h].candidate`` and ``candidates[c].parent``.
    Without ``history`` the final pick is used; a trace with no final pick is accepted only when
    its last chunk has a single history (plain generation), which is then unambiguous.
    """
    trace = as_trace(trace)
    if not trace.chunks:
        return []
    num_finished = len(trace.chunks[-1].histories)
    if history is None:
        if trace.final is not None:
            history = trace.final.chosen
        elif num_finished == 1:
            history = 0
        else:
            raise TraceError(f"trace has no final pick and {num_finished} histories; pass history=")
    if not 0 <= history < num_finished:
        raise TraceError(f"history={history} is not in 0..{num_finished - 1}")
    path = []
    for chunk in reversed(trace.chunks):
        candidate = chunk.histories[history].candidate
        path.append(candidate)
        history = chunk.candidates[candidate].parent
    return path[::-1]
