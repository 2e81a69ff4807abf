import math

import pytest
import torch

from streamt1.search.noise import NoisePrefetch, candidate_seed, draw_noise, make_generators, propagate_noise


def _standard_normal(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("s", [-0.1, 0.0, 0.5, -0.9, 1.0])
def test_marginal_stays_standard_normal_and_correlation_is_s(s):
    n = 400_000
    parent, eps = _standard_normal(n, 1), _standard_normal(n, 2)
    x = propagate_noise(parent, eps, s)
    # Mean and variance of N(0, 1) samples: standard errors 1/sqrt(n) and sqrt(2/n).
    assert abs(x.mean().item()) < 5 / math.sqrt(n)
    assert abs(x.var().item() - 1.0) < 5 * math.sqrt(2 / n)
    corr = torch.corrcoef(torch.stack([x, parent]))[0, 1].item()
    assert abs(corr - s) < 5 / math.sqrt(n)
    # Fourth moment of a Gaussian is 3: propagation must not distort the shape of the marginal.
    assert abs((x**4).mean().item() - 3.0) < 0.05


def test_propagation_over_many_chunks_keeps_unit_variance():
    n, s = 200_000, -0.1
    x = _standard_normal(n, 0)
    for chunk in range(1, 40):
        x = propagate_noise(x, _standard_normal(n, chunk + 10), s)
    assert abs(x.var().item() - 1.0) < 0.02


def test_s_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match=r"noise_fusion_sigma=1.5"):
        propagate_noise(torch.zeros(2), torch.zeros(2), 1.5)


def test_candidate_seeds_are_distinct_and_reproducible():
    seeds = {candidate_seed(7, chunk, cand) for chunk in range(20) for cand in range(8)}
    assert len(seeds) == 160
    assert candidate_seed(7, 3, 1) == candidate_seed(7, 3, 1)
    assert candidate_seed(7, 3, 1) != candidate_seed(8, 3, 1)


def test_draw_noise_is_one_reproducible_row_per_generator():
    a = draw_noise((2, 3), make_generators([1, 2, 3]))
    b = draw_noise((2, 3), make_generators([1, 2, 3]))
    assert a.shape == (3, 2, 3)
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])
    assert torch.equal(a[1], draw_noise((2, 3), make_generators([2]))[0])


@pytest.mark.parametrize("prefetched", [[11, 12, 13], [11, 12], [99, 12, 13], None])
def test_prefetched_noise_equals_drawing_it_now_whatever_was_prefetched(prefetched):
    """The noise and the generators' later draws (the sampler's fresh noise) depend only on the seeds."""
    seeds, shape = [11, 12, 13], (2, 3, 4)
    generators = make_generators(seeds)
    expected = draw_noise(shape, generators)
    with NoisePrefetch(shape) as source:
        if prefetched is not None:
            source.prefetch(prefetched)
        got_generators, noise = source.draw(seeds)
        assert torch.equal(noise, expected)
        for a, b in zip(got_generators, generators):
            assert torch.equal(torch.randn(5, generator=a), torch.randn(5, generator=b))
        assert torch.equal(source.draw(seeds)[1], expected)  # a prefetch is used once
