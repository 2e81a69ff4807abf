import pytest

from streamt1.interfaces import Route
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate


@pytest.mark.parametrize(
    "quality, transition, sink_full, expected",
    [
        (False, False, False, Route.DISCARD),
        (False, True, False, Route.DISCARD),
        (False, True, True, Route.DISCARD),
        (True, False, False, Route.EMA),
        (True, False, True, Route.EMA),
        (True, True, False, Route.APPEND),
        (True, True, True, Route.EMA),
    ],
)
def test_routing_truth_table(quality, transition, sink_full, expected):
    assert route_evicted(quality, transition, sink_full) is expected


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
