"""``benchmarks/sprites_rendered_accuracy.py``: both built-in reward families on held-out rendered pairs."""

import re


def test_both_rewards_rank_renders_above_their_negatives(load_benchmark, capsys):
    load_benchmark("sprites_rendered_accuracy").main(["--pairs", "24", "--frames", "12"])
    out = capsys.readouterr().out
    shares = {(name, kind): float(value) for name, kind, value in
              re.findall(r"^(track|pathway)\s+(image|video) reward: all ([0-9.]+);", out, re.M)}
    assert set(shares) == {(n, k) for n in ("track", "pathway") for k in ("image", "video")}
    assert all(value > 0.7 for value in shares.values()), out  # chance is 0.5
    assert "24 pairs, eval split, clips of 12 frames" in out
