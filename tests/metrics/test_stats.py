import math

import pytest

from streamt1.metrics.stats import mean_ci, paired_difference, t_critical_95


def test_t_critical_values_match_tables_across_the_switch_to_the_expansion():
    assert t_critical_95(1) == pytest.approx(12.706)
    assert t_critical_95(30) == pytest.approx(2.042)
    assert t_critical_95(31) == pytest.approx(2.0395, abs=2e-4)
    assert t_critical_95(63) == pytest.approx(1.9983, abs=2e-4)
    assert t_critical_95(10_000) == pytest.approx(1.96, abs=1e-3)


def test_mean_ci_half_width_is_t_times_standard_error():
    est = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert est.mean == 2.5
    assert est.half_width == pytest.approx(3.182 * math.sqrt(5 / 3) / 2)
    assert est.excludes_zero
    assert not mean_ci([-1.0, 2.0, 3.0, 4.0]).excludes_zero  # 2.0 +- 3.44
    assert mean_ci([5.0, 5.1, 4.9, 5.0]).excludes_zero


def test_paired_difference_uses_only_shared_items_and_cancels_item_effects():
    base = {"a": 0.0, "b": 10.0, "c": 20.0, "d": 99.0}
    method = {"a": 1.0, "b": 11.1, "c": 20.9}
    est = paired_difference(method, base)
    assert est.n == 3 and est.mean == pytest.approx(1.0)
    assert est.excludes_zero  # the large item-to-item spread cancels in the pairing
    with pytest.raises(ValueError, match="share no item"):
        paired_difference({"x": 1.0}, base)


def test_a_value_that_is_not_finite_makes_the_estimate_nan_not_an_error():
    import math

    for values in ([1.0, float("nan"), 2.0], [float("inf"), 1.0]):
        estimate = mean_ci(values)
        assert math.isnan(estimate.mean) and math.isnan(estimate.half_width) and estimate.n == len(values)
        assert not estimate.excludes_zero and estimate.format() == "nan"
    assert math.isnan(paired_difference({"a": float("nan"), "b": 1.0}, {"a": 0.0, "b": 0.0}).mean)
