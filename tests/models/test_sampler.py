import pytest
import torch

from streamt1.models.sampler import add_noise, flow_step, sample_few_step, sigma_from_timestep, warp_timesteps


def test_warped_longlive_steps():
    t = warp_timesteps([1000, 750, 500, 250], 1000, 5.0)
    torch.testing.assert_close(t, torch.tensor([1000.0, 937.5, 2500 / 3, 625.0], dtype=torch.float64))
    assert float(sigma_from_timestep(t[1], 1000)) == pytest.approx(0.9375)


def test_shift_one_is_identity():
    expected = torch.tensor([800.0, 400.0], dtype=torch.float64)
    torch.testing.assert_close(warp_timesteps([800, 400], 1000, 1.0), expected)


def test_x0_recovered_from_the_true_flow_and_renoised_exactly():
    g = torch.Generator().manual_seed(0)
    x0, noise, fresh = (torch.randn(2, 4, 3, generator=g) for _ in range(3))
    sigma, sigma_next = 0.9375, 0.625
    x_t = add_noise(x0, noise, sigma)
    v = noise - x0  # rectified-flow velocity
    torch.testing.assert_close(flow_step(x_t, v, sigma, None, None), x0)
    expected = (1 - sigma_next) * x0 + sigma_next * fresh
    torch.testing.assert_close(flow_step(x_t, v, sigma, sigma_next, fresh), expected)


def test_per_sample_sigmas_broadcast():
    x0, noise = torch.zeros(2, 3), torch.ones(2, 3)
    sigma = torch.tensor([[0.5], [0.25]])
    torch.testing.assert_close(flow_step(add_noise(x0, noise, sigma), noise - x0, sigma, None, None), x0)


def test_renoising_without_noise_is_refused():
    with pytest.raises(ValueError, match="noise"):
        flow_step(torch.zeros(2), torch.zeros(2), 0.5, 0.25, None)


def test_few_step_sampling_with_an_oracle_returns_x0_and_draws_noise_between_steps():
    g = torch.Generator().manual_seed(1)
    x0, x_T = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    timesteps = warp_timesteps([1000, 750, 500, 250], 1000, 5.0)
    seen, drawn = [], []

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sigma = float(t) / 1000
        seen.append(float(t))
        return (x - x0) / sigma  # the flow whose x0 prediction is exactly x0

    def draw(step: int) -> torch.Tensor:
        drawn.append(step)
        return torch.randn(3, 5, generator=g)

    out = sample_few_step(oracle, x_T, timesteps, 1000, draw)
    torch.testing.assert_close(out, x0)
    assert seen == pytest.approx(timesteps.tolist()) and drawn == [0, 1, 2]
