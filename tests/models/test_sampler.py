import pytest
import torch

from streamt1.models.sampler import (add_noise, euler_step, flow_step, sample_few_step, sigma_from_timestep,
                                     stochastic_euler_step, warp_timesteps)


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


def test_euler_follows_a_straight_flow_exactly_and_never_draws_noise():
    g = torch.Generator().manual_seed(2)
    x0, x_T = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    straight = x_T - x0  # the flow of the straight path from x0 to x_T: constant along the way

    def never(step: int) -> torch.Tensor:
        raise AssertionError("euler must not draw noise")

    for steps in ([1000], [1000, 500], [1000, 875, 750, 625, 500, 375, 250, 125]):
        out = sample_few_step(lambda x, t: straight, x_T, warp_timesteps(steps, 1000, 2.0), 1000, never, "euler")
        torch.testing.assert_close(out, x0)


def test_euler_keeps_the_sample_renoise_forgets_it():
    """With a flow that points at the nearer of two modes, Euler stays with its start's mode while
    re-noising lands on whichever mode the fresh noise of the last step suggests."""
    modes = torch.tensor([[-1.0], [1.0]])
    timesteps = warp_timesteps([1000, 750, 500, 250], 1000, 1.0)

    def nearest_mode_flow(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sigma = float(t) / 1000
        x0 = torch.where(x > 0, modes[1], modes[0])
        return (x - x0) / sigma  # whose x0 prediction is that mode

    x_T = torch.full((64, 1), 0.3)  # every sample starts on the positive side
    g = torch.Generator().manual_seed(0)
    euler = sample_few_step(nearest_mode_flow, x_T, timesteps, 1000, lambda i: torch.randn(64, 1, generator=g), "euler")
    renoise = sample_few_step(nearest_mode_flow, x_T, timesteps, 1000, lambda i: torch.randn(64, 1, generator=g))
    assert (euler == 1).all()
    assert (renoise == -1).any() and (renoise == 1).any()


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler"):
        sample_few_step(lambda x, t: x, torch.zeros(1), warp_timesteps([1000], 1000, 1.0), 1000, lambda i: torch.zeros(1), "ddim")


def test_eta_spans_euler_and_renoising():
    """eta 0 is the Euler step, eta 1 re-noises x0 with the fresh noise; in between the noise level
    stays right: the implied noise and the fresh one mix with unit variance."""
    g = torch.Generator().manual_seed(3)
    x0, noise, fresh = (torch.randn(4096, generator=g) for _ in range(3))
    sigma, sigma_next = 0.8, 0.5
    x_t = add_noise(x0, noise, sigma)
    v = noise - x0
    torch.testing.assert_close(stochastic_euler_step(x_t, v, sigma, sigma_next, 0.0, fresh),
                               euler_step(x_t, v, sigma, sigma_next))
    torch.testing.assert_close(stochastic_euler_step(x_t, v, sigma, sigma_next, 1.0, fresh),
                               flow_step(x_t, v, sigma, sigma_next, fresh))
    mixed = stochastic_euler_step(x_t, v, sigma, sigma_next, 0.6, fresh)
    implied = (mixed - (1 - sigma_next) * x0) / sigma_next
    assert abs(float(implied.std()) - 1) < 0.05
    assert 0.7 < float(torch.corrcoef(torch.stack([implied, noise]))[0, 1]) < 0.9  # sqrt(1 - 0.36) = 0.8


def test_sampling_with_eta_draws_noise_between_steps_and_is_refused_where_it_has_no_meaning():
    g = torch.Generator().manual_seed(4)
    x0, x_T = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    timesteps = warp_timesteps([1000, 750, 500, 250], 1000, 2.0)
    drawn = []

    def draw(step: int) -> torch.Tensor:
        drawn.append(step)
        return torch.randn(3, 5, generator=g)

    straight = lambda x, t: x_T - x0  # noqa: E731  the straight path's flow: Euler lands on x0 exactly
    torch.testing.assert_close(sample_few_step(straight, x_T, timesteps, 1000, draw, "euler"), x0)
    assert drawn == []
    off_path = sample_few_step(straight, x_T, timesteps, 1000, draw, "euler", 0.3)
    assert drawn == [0, 1, 2] and (off_path - x0).abs().max() > 0.05  # the fresh noise moved the sample
    for sampler, eta in (("euler", 1.5), ("euler", -0.1), ("renoise", 0.5)):
        with pytest.raises(ValueError, match="eta"):
            sample_few_step(straight, x_T, timesteps, 1000, draw, sampler, eta)
