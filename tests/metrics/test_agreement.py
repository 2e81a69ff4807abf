import math

import pytest

from streamt1.agreement import pairwise_agreement


def test_pairwise_agreement_counts_ordered_pairs_and_skips_close_truths():
    same = ([0.1, 0.5, 0.9], [0.2, 0.4, 0.6])
    reversed_ = ([3.0, 2.0, 1.0], [0.2, 0.4, 0.6])
    assert pairwise_agreement([same]) == (1.0, 3)
    assert pairwise_agreement([reversed_]) == (0.0, 3)
    assert pairwise_agreement([same, reversed_]) == (0.5, 6)
    assert pairwise_agreement([([1.0, 1.0], [0.0, 1.0])]) == (0.5, 1)  # a reward tie is half right
    value, pairs = pairwise_agreement([([0.0, 1.0], [0.50, 0.51])])  # truths too close to order
    assert pairs == 0 and math.isnan(value)


def test_pairwise_agreement_splits_pairs_by_parent():
    # candidates 0, 1 share history 0, candidates 2, 3 history 1; the reward orders the siblings of
    # each history right and the histories wrong
    group = ([0.1, 0.2, 1.1, 1.2], [0.5, 0.6, 0.1, 0.2])
    parents = [[0, 0, 1, 1]]
    assert pairwise_agreement([group], parents=parents, same_parent=True) == (1.0, 2)
    assert pairwise_agreement([group], parents=parents, same_parent=False) == (0.0, 4)
    assert pairwise_agreement([group]) == (2 / 6, 6)
    # any other split of the pairs: here the pairs that include candidate 0
    assert pairwise_agreement([group], keep=lambda k, i, j: i == 0) == (1 / 3, 3)
    with pytest.raises(ValueError, match="same_parent needs parents"):
        pairwise_agreement([group], same_parent=True)
