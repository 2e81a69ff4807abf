"""Pictures of a search trace: the candidate tree (like the paper's Figure 2) and per-chunk rewards.

Both functions take a :class:`~streamt1.search.trace.Trace` or its dict form and write a PNG
atomically. Figures are plain ``matplotlib.figure.Figure`` objects rendered by Agg: no pyplot, no
global state, no display needed. Missing values (plain generation has no scores, an unfinished run
has no final pick) are drawn as "no data", never raised on.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from streamt1.interfaces import Route
from streamt1.outputs.atomic import atomic_write
from streamt1.search.trace import Trace, as_trace, chosen_path

logger = logging.getLogger(__name__)

_GROUP_GAP = 0.6  # vertical space between the children of different parents, in slots
_ROOT_X = -0.8
_MAX_WIDTH_IN = 36.0  # beyond this, nodes shrink instead of the figure growing
_CHOSEN = "crimson"
_CMAP = "viridis"
_ROUTE_STYLE = {  # marker, colour, label: one glyph per memory-sinking decision
    Route.DISCARD.value: ("x", "dimgray", "route: discard"),
    Route.EMA.value: ("o", "royalblue", "route: EMA into sink"),
    Route.APPEND.value: ("^", "darkorange", "route: append to sink"),
}


@dataclass(frozen=True)
class _Nodes:
    """Every candidate of the trace as flat arrays (one entry per node)."""

    x: np.ndarray  # [P] chunk index
    y: np.ndarray  # [P] slot
    score: np.ndarray  # [P] fused score, NaN when missing
    kept: np.ndarray  # [P] bool
    chosen: np.ndarray  # [P] bool, on the lineage of the final pick
    parent_xy: np.ndarray  # [P, 2] where the edge into the node starts


def _lineage(trace: Trace) -> list[int] | None:
    """The chosen lineage, or None when it is undefined (no final pick among several histories)."""
    if not trace.chunks or (trace.final is None and len(trace.chunks[-1].histories) > 1):
        return None
    return chosen_path(trace)


def _slots(trace: Trace) -> list[list[float]]:
    """y of every candidate, per chunk: children grouped by parent, groups in their parents' order."""
    parent_y = [0.0]  # the root
    slots = []
    for chunk in trace.chunks:
        order = sorted(chunk.candidates, key=lambda c: (parent_y[c.parent], c.parent, c.id))
        y = [0.0] * len(chunk.candidates)
        slot, previous = 0.0, None
        for cand in order:
            slot += _GROUP_GAP if previous is not None and cand.parent != previous else 0.0
            y[cand.id], previous = slot, cand.parent
            slot += 1.0
        slots.append(y)
        parent_y = [y[h.candidate] for h in chunk.histories]
    return slots


def _nodes(trace: Trace, slots: list[list[float]], lineage: list[int] | None) -> _Nodes:
    root = (_ROOT_X, float(np.mean(slots[0])))
    rows = []
    for n, chunk in enumerate(trace.chunks):
        for cand in chunk.candidates:
            if n == 0:
                start = root
            else:
                start = (n - 1, slots[n - 1][trace.chunks[n - 1].histories[cand.parent].candidate])
            score = math.nan if cand.score is None else cand.score
            on_path = lineage is not None and lineage[n] == cand.id
            rows.append((n, slots[n][cand.id], score, cand.kept, on_path, *start))
    table = np.array(rows, dtype=float)  # [P, 7]
    return _Nodes(
        x=table[:, 0], y=table[:, 1], score=table[:, 2], kept=table[:, 3] > 0,
        chosen=table[:, 4] > 0, parent_xy=table[:, 5:7],
    )


def _draw_edges(ax: Any, nodes: _Nodes, line_scale: float) -> None:
    segments = np.stack([nodes.parent_xy, np.stack([nodes.x, nodes.y], axis=1)], axis=1)  # [P, 2, 2]
    for mask, colour, width, z in (
        (~nodes.kept & ~nodes.chosen, "0.78", 0.6, 1),
        (nodes.kept & ~nodes.chosen, "0.35", 1.2, 2),
        (nodes.chosen, _CHOSEN, 2.6, 3),
    ):
        if mask.any():
            lines = LineCollection(segments[mask], colors=colour, linewidths=width * line_scale, zorder=z)
            ax.add_collection(lines)


def _draw_nodes(ax: Any, nodes: _Nodes, norm: Normalize | None, size: float) -> None:
    has_score = np.isfinite(nodes.score)
    colours = np.full((len(nodes.x), 4), (0.8, 0.8, 0.8, 1.0))  # [P, RGBA], grey = no score
    if norm is not None:
        colours[has_score] = ScalarMappable(norm=norm, cmap=_CMAP).to_rgba(nodes.score[has_score])
    pruned, kept = ~nodes.kept, nodes.kept
    colours[pruned, 3] = 0.35
    ax.scatter(nodes.x[pruned], nodes.y[pruned], s=size * 0.7, c=colours[pruned], linewidths=0, zorder=4)
    ax.scatter(nodes.x[kept], nodes.y[kept], s=size, c=colours[kept], edgecolors="black", linewidths=1.4, zorder=5)
    ax.scatter(
        nodes.x[nodes.chosen], nodes.y[nodes.chosen], s=size * 2.2, facecolors="none",
        edgecolors=_CHOSEN, linewidths=2.0, zorder=6,
    )
    # the first node is chunk 0's candidate 0, so its edge starts at the root
    ax.scatter([_ROOT_X], [nodes.parent_xy[0, 1]], s=size, marker="s", c="black", zorder=5)
    ax.annotate("root", (_ROOT_X, nodes.parent_xy[0, 1]), xytext=(0, -10), textcoords="offset points",
                ha="center", va="top", fontsize=8)


def _draw_routes(ax: Any, trace: Trace, slots: list[list[float]], size: float) -> set[str]:
    """One glyph right of every history whose commit routed an evicted chunk; returns routes used."""
    used = set()
    for route, (marker, colour, _) in _ROUTE_STYLE.items():
        points = [
            (n + 0.3, slots[n][hist.candidate])
            for n, chunk in enumerate(trace.chunks)
            for hist in chunk.histories
            if hist.route == route
        ]
        if points:
            used.add(route)
            xs, ys = zip(*points)
            ax.scatter(xs, ys, s=size * 0.45, marker=marker, c=colour, linewidths=1.2, zorder=7)
    return used


def _annotate_final(ax: Any, trace: Trace, slots: list[list[float]]) -> None:
    """Whole-video score next to every finished history, the chosen one in bold red."""
    if trace.final is None:
        return
    last = len(trace.chunks) - 1
    for h, hist in enumerate(trace.chunks[-1].histories):
        score = trace.final.scores[h]
        text = "final: n/a" if score is None else f"final {score:.3g}"
        chosen = h == trace.final.chosen
        ax.annotate(
            text + (" (chosen)" if chosen else ""), (last, slots[last][hist.candidate]), xytext=(22, 0),
            textcoords="offset points", va="center", fontsize=8, color=_CHOSEN if chosen else "black",
            fontweight="bold" if chosen else "normal",
        )


def _tree_legend(ax: Any, nodes: _Nodes, routes: set[str]) -> None:
    """Legend entries only for what the figure shows."""
    handles = [Line2D([], [], ls="", marker="o", mfc="0.6", mec="black", mew=1.4, label="kept (a history)")]
    if not nodes.kept.all():
        handles.append(Line2D([], [], ls="", marker="o", mfc="0.6", mec="none", alpha=0.35, label="pruned"))
    if nodes.chosen.any():
        handles.append(Line2D([], [], color=_CHOSEN, lw=2.6, label="chosen lineage"))
    handles += [
        Line2D([], [], ls="", marker=m, color=c, label=label)
        for route, (m, c, label) in _ROUTE_STYLE.items()
        if route in routes
    ]
    ax.figure.legend(handles=handles, loc="outside lower left", ncols=len(handles), fontsize=8, frameon=False)


def _title(trace: Trace, what: str) -> str:
    prompt = trace.prompt if len(trace.prompt) <= 90 else trace.prompt[:87] + "..."
    progress = f"{len(trace.chunks)}/{trace.num_chunks} chunks, seed {trace.seed}"
    return f"{trace.method}: {what} ({progress})\n\"{prompt}\""


def _mark_switches(ax: Any, trace: Trace, label: bool = True) -> None:
    """A dashed vertical line just before every chunk generated under a new prompt."""
    for k, chunk in enumerate(trace.switch_chunks()):
        ax.axvline(chunk - 0.5, color="firebrick", ls="--", lw=1.1, alpha=0.8,
                   label="prompt switch" if label and k == 0 else None)


def _chunk_ticks(num_chunks: int, max_labels: int = 25) -> list[int]:
    """Chunk indices at a 1-2-5 step, so that at most ``max_labels`` are labelled."""
    steps = (base * 10**magnitude for magnitude in itertools.count() for base in (1, 2, 5))
    step = next(s for s in steps if num_chunks <= s * max_labels)
    return list(range(0, num_chunks, step))


def _save(fig: Figure, path: str | os.PathLike[str]) -> None:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", bbox_inches="tight")
    logger.info("wrote %s", path)


@dataclass(frozen=True)
class _Geometry:
    width: float  # figure size, inches
    height: float
    chunk_in: float  # horizontal distance between chunks, inches
    node_area: float  # scatter size of a kept node, pt^2


def _tree_geometry(trace: Trace, slots: list[list[float]]) -> _Geometry:
    """Figure size grows with the tree until _MAX_WIDTH_IN; past that the nodes shrink instead."""
    num_chunks = len(trace.chunks)
    height_slots = max(max(y) for y in slots) + 1.0
    width = min(_MAX_WIDTH_IN, max(7.0, 4.0 + 0.55 * num_chunks))
    height = min(24.0, max(3.6, width / 8.0, 2.4 + 0.42 * height_slots))
    chunk_in = (width - 4.0) / (num_chunks + 1.5)
    step_pt = 72.0 * min(chunk_in, (height - 2.4) / height_slots)
    return _Geometry(width, height, chunk_in, min(110.0, (0.45 * step_pt) ** 2))


def plot_search_tree(trace: Trace | Mapping[str, Any], path: str | os.PathLike[str], *, dpi: int = 110) -> None:
    """Draw every candidate per chunk, coloured by fused score, with the chosen lineage in red."""
    trace = as_trace(trace)
    if not trace.chunks:
        raise ValueError(f"cannot plot the search tree of a trace with no chunks (for {path})")
    slots, lineage = _slots(trace), _lineage(trace)
    nodes = _nodes(trace, slots, lineage)
    geometry = _tree_geometry(trace, slots)
    size = geometry.node_area
    fig = Figure(figsize=(geometry.width, geometry.height), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    finite = nodes.score[np.isfinite(nodes.score)]
    norm = Normalize(finite.min(), finite.max()) if finite.size else None
    _draw_edges(ax, nodes, line_scale=min(1.0, math.sqrt(size / 110.0)) + 0.3)
    _draw_nodes(ax, nodes, norm, size)
    routes = _draw_routes(ax, trace, slots, size)
    _mark_switches(ax, trace, label=False)
    _annotate_final(ax, trace, slots)
    if norm is not None:
        fig.colorbar(ScalarMappable(norm=norm, cmap=_CMAP), ax=ax, label="fused score S", pad=0.01,
                     fraction=0.03 if geometry.width > 14 else 0.05)
    else:
        ax.text(0.99, 0.02, "no scores (plain generation)", transform=ax.transAxes, ha="right", fontsize=8)
    right_margin_in = 1.5 if trace.final is not None else 0.3  # room for the final-score labels
    ax.set_xlim(_ROOT_X - 0.5, len(trace.chunks) - 0.6 + right_margin_in / geometry.chunk_in)
    ax.set_ylim(nodes.y.max() + 0.8, -0.8)  # slot 0 at the top
    ax.set_xticks(_chunk_ticks(len(trace.chunks)))
    ax.set_yticks([])
    ax.set_xlabel("chunk")
    ax.set_ylabel("candidates, grouped by parent")
    ax.set_title(_title(trace, "search tree"), fontsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    _tree_legend(ax, nodes, routes)
    _save(fig, path)


def _values(trace: Trace, read: Any) -> list[np.ndarray]:
    """``read(candidate)`` for every candidate, one float array per chunk, NaN where missing."""
    return [
        np.array([math.nan if (v := read(c)) is None else v for c in chunk.candidates], dtype=float)
        for chunk in trace.chunks
    ]


def _band(values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk min and max over the finite values (NaN for a chunk with none)."""
    finite = [v[np.isfinite(v)] for v in values]
    low = np.array([f.min() if f.size else math.nan for f in finite])
    high = np.array([f.max() if f.size else math.nan for f in finite])
    return low, high


def _metric_panel(
    ax: Any, values: list[np.ndarray], lineage: list[int] | None, label: str, colour: str
) -> None:
    """All candidates as faint dots, their min-max band, and the chosen lineage as a line."""
    x = np.arange(len(values))
    low, high = _band(values)
    if not np.isfinite(low).any():
        ax.text(0.5, 0.5, f"{label}: not recorded", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_ylabel(label)
        ax.set_yticks([])
        return
    ax.fill_between(
        x, low, high, where=np.isfinite(low), color=colour, alpha=0.15, lw=0, label="min-max over candidates"
    )
    dots_x = np.concatenate([np.full(len(v), n) for n, v in enumerate(values)])
    ax.scatter(dots_x, np.concatenate(values), s=8, color=colour, alpha=0.35, lw=0)
    if lineage is not None:
        chosen = np.array([values[n][c] for n, c in enumerate(lineage)])
        ax.plot(x, chosen, color=colour, lw=1.8, marker="o", ms=3, label="chosen lineage")
    ax.set_ylabel(label)
    ax.legend(loc="best", fontsize=7, frameon=False)


def _parts_lines(ax: Any, trace: Trace, lineage: list[int] | None) -> None:
    """Named sub-scores of the long reward along the chosen lineage, as thin dashed lines."""
    if lineage is None:
        return
    names = sorted({name for n, c in enumerate(lineage) for name in trace.chunks[n].candidates[c].long_parts})
    for name in names:
        ys = [trace.chunks[n].candidates[c].long_parts.get(name, math.nan) for n, c in enumerate(lineage)]
        ax.plot(range(len(lineage)), ys, lw=0.9, ls="--", label=f"{name} (chosen)")
    if names:
        ax.legend(loc="best", fontsize=7, frameon=False, ncols=2)


def _alpha_axis(ax: Any, trace: Trace) -> None:
    alphas = [math.nan if c.alpha is None else c.alpha for c in trace.chunks]
    if all(math.isnan(a) for a in alphas):
        return
    twin = ax.twinx()
    twin.plot(range(len(alphas)), alphas, color="0.3", ls=":", lw=1.4, marker=".", label="alpha")
    twin.set_ylim(0.0, max(0.5, np.nanmax(alphas) * 1.1))
    twin.set_ylabel("alpha (short weight)", color="0.3")
    twin.legend(loc="lower right", fontsize=7, frameon=False)


def _sink_panel(ax: Any, trace: Trace, lineage: list[int] | None) -> None:
    """Sink size per chunk: range over histories, the chosen lineage, and its routing decisions."""
    x = np.arange(len(trace.chunks))
    sinks = [np.array([h.sink_frames for h in chunk.histories], dtype=float) for chunk in trace.chunks]
    low, high = _band(sinks)
    ax.fill_between(x, low, high, step="mid", color="0.5", alpha=0.2, lw=0, label="range over histories")
    for edge in (low, high):  # outlines keep a zero-width range (all histories equal) visible
        ax.step(x, edge, where="mid", color="0.55", lw=0.8)
    if lineage is not None:
        hists = [chunk.histories[chunk.candidates[c].history] for chunk, c in zip(trace.chunks, lineage)]
        ax.step(x, [h.sink_frames for h in hists], where="mid", color="black", lw=1.6, marker=".", ms=4,
                label="chosen lineage")
        for route, (marker, colour, label) in _ROUTE_STYLE.items():
            at = [n for n, h in enumerate(hists) if h.route == route]
            if at:
                sinks_at = [hists[n].sink_frames for n in at]
                ax.scatter(at, sinks_at, marker=marker, color=colour, s=28, zorder=3, label=label)
    ax.set_ylabel("sink (latent frames)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)


def plot_rewards(trace: Trace | Mapping[str, Any], path: str | os.PathLike[str], *, dpi: int = 110) -> None:
    """Per chunk: short, long and fused scores (chosen lineage and candidate range), alpha, sink size."""
    trace = as_trace(trace)
    if not trace.chunks:
        raise ValueError(f"cannot plot the rewards of a trace with no chunks (for {path})")
    lineage = _lineage(trace)
    width = min(_MAX_WIDTH_IN, max(8.0, 4.0 + 0.2 * len(trace.chunks)))
    fig = Figure(figsize=(width, 9.0), dpi=dpi, layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    _metric_panel(axes[0], _values(trace, lambda c: c.short), lineage, "short (image reward)", "tab:blue")
    _metric_panel(axes[1], _values(trace, lambda c: c.long), lineage, "long (video reward)", "tab:green")
    _parts_lines(axes[1], trace, lineage)
    _metric_panel(axes[2], _values(trace, lambda c: c.score), lineage, "fused score S", "tab:purple")
    _alpha_axis(axes[2], trace)
    _sink_panel(axes[3], trace, lineage)
    axes[3].set_xticks(_chunk_ticks(len(trace.chunks)))
    axes[3].set_xlim(-0.5, len(trace.chunks) - 0.5)
    axes[3].set_xlabel("chunk")
    note = "" if lineage is not None else "  [no final pick: lineage not shown]"
    axes[0].set_title(_title(trace, "rewards per chunk") + note, fontsize=10)
    for ax in axes:
        ax.grid(alpha=0.3)
        _mark_switches(ax, trace, label=ax is axes[3])
    if trace.switch_chunks():
        axes[3].legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    _save(fig, path)
