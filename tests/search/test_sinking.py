import pytest

from streamt1.interfaces import Route, SinkLimits
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate


@pytest.mark.parametrize(
    "quality, transition, expected",
    [
        (False, False, Route.DISCARD),
        (False, True, Route.DISCARD),
        (True, False, Route.EMA),
        (True, True, Route.APPEND),
    ],
)
def test_requested_routes_follow_the_gates(quality, transition, expected):
    assert route_evicted(quality, transition) is expected


@pytest.mark.parametrize(
    "route, sink_frames, expected",
    [
        (Route.APPEND, 3, Route.APPEND),
        (Route.APPEND, 6, Route.APPEND),  # 6 + 3 = 9 frames fit exactly
        (Route.APPEND, 9, Route.EMA),  # a full sink blends instead
        (Route.EMA, 9, Route.EMA),
        (Route.DISCARD, 9, Route.DISCARD),
    ],
)
def test_sink_limits_turn_append_into_ema_once_the_sink_is_full(route, sink_frames, expected):
    assert SinkLimits(max_sink_frames=9, ema_decay=0.9).applied(route, sink_frames, chunk_frames=3) is expected


def test_quality_compares_with_the_mean_of_earlier_chunks_only():
    assert quality_gate(0.6, [0.2, 0.6], 0.0)  # mean 0.4
    assert not quality_gate(0.4, [0.2, 0.6], 0.0)  # equal is not better
    assert not quality_gate(0.6, [0.2, 0.6], 0.25)
    assert quality_gate(-3.0, [], 0.0)  # the first chunk anchors the sink


def test_transition_is_a_drop_of_the_window_reward():
    assert transition_gate(1.0, 0.7, 0.2)
    assert not transition_gate(1.0, 0.85, 0.2)
    assert not transition_gate(0.5, 0.9, 0.2)  # a rise is no transition
    assert not transition_gate(None, -5.0, 0.2)
