import pytest

from streamt1.sprites.schedule import lr_factor, run_progress


def test_learning_rate_warms_up_then_decays():
    assert 0 < lr_factor(0.0) < lr_factor(0.04) < lr_factor(0.05) == 1.0
    assert lr_factor(0.3) > lr_factor(0.6) > lr_factor(0.9) > lr_factor(1.0) == pytest.approx(0.1)


def test_progress_follows_whichever_limit_comes_first():
    assert run_progress(250, 1000, 1e6, None) == 0.25
    assert run_progress(10, 1000, 30.0, 1.0) == 0.5  # half the time is gone long before half the steps
    assert run_progress(500, 1000, 1.0, 1.0) == 0.5
