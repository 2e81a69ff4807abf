"""Stream-scaled memory sinking (Stream-T1, Sec. 3.4).

When a chunk leaves the local attention window, two gates computed when it was scored decide
what happens to its K/V:

    quality    = short(n) - mean(short of the earlier chunks of its history) > delta_s
    transition = long(n - 1) - long(n) > delta_l      (the window's video score dropped: a new scene)

* not quality                  -> DISCARD (the sink is unchanged, as in LongLive)
* quality, no transition       -> EMA into the newest sink segment
* quality and transition       -> APPEND as a new sink segment, or EMA once the sink is full

The engine requests a route from the gates (:func:`route_evicted`); the sink-capacity part of the rule
("or EMA once the sink is full") is applied by the cache at commit time, the one place that knows each
sink's length (:meth:`streamt1.interfaces.SinkLimits.applied`), and the route really taken is traced.

The reference's history mean also covers the chunk itself; we follow the paper and average only
the chunks before it, so a chunk is compared with the history it extends.
"""

from __future__ import annotations

from statistics import fmean
from typing import Sequence

from streamt1.interfaces import Route


def quality_gate(short: float, earlier_shorts: Sequence[float], threshold: float) -> bool:
    """The chunk's image reward beats the mean of its history so far by more than ``threshold``.

    The first chunk has no history to beat; it counts as good so it may anchor the sink.
    """
    if not earlier_shorts:
        return True
    return short - fmean(earlier_shorts) > threshold


def transition_gate(previous_long: float | None, long: float, threshold: float) -> bool:
    """The sliding-window video reward fell by more than ``threshold`` at this chunk."""
    if previous_long is None:
        return False
    return previous_long - long > threshold


def route_evicted(quality: bool, transition: bool) -> Route:
    """The route the paper's memory-sinking table requests (before the sink's capacity is applied)."""
    if not quality:
        return Route.DISCARD
    return Route.APPEND if transition else Route.EMA
