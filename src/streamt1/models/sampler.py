"""Few-step flow-matching sampling as pure functions.

Convention (rectified flow): ``x_t = (1 - sigma) * x0 + sigma * noise`` with ``sigma = t / T``; the
network predicts the flow ``v = noise - x0``. The schedule is a function of the step list, ``T`` and
the shift; stepping never draws noise: fresh noise is always an argument.

Two samplers (:data:`SAMPLERS`):

* ``"renoise"``, Self-Forcing / LongLive's: predict ``x0``, re-noise it with fresh noise to the next
  level. Right for distilled (DMD) generators, whose ``x0`` prediction is already a sharp sample.
* ``"euler"``: follow the flow ODE from one level to the next, keeping the sample's own noise.
  Right for plain flow-matching models (the Sprites model): their ``x0`` prediction at high noise
  is a blurred average, and re-noising it with fresh noise forgets which sample was being drawn,
  so objects never settle.

Between the two, ``eta`` mixes fresh noise ``z`` into each Euler step (DDIM-like, but a fixed share
per step, not one scaled by the step size): ``x' = (1 - s') x0 + s' (sqrt(1 - eta^2) eps + eta z)``,
where ``eps = x + (1 - s) v`` is the noise the step implies. ``eta = 0`` is the Euler step, ``eta = 1``
re-noising. Its effect compounds over the steps: after ``n`` of them the start's noise keeps an
amplitude of ``(1 - eta^2) ** (n / 2)`` (0.23 for eta 0.3 over 32 steps), so a value tuned for one
schedule means more with more steps.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor

from streamt1.config import require_choice

SAMPLERS = ("renoise", "euler")


def shift_sigma(sigma: Tensor, shift: float) -> Tensor:
    """Timestep shift of SD3 / Wan: ``sigma' = shift * sigma / (1 + (shift - 1) * sigma)``."""
    return shift * sigma / (1 + (shift - 1) * sigma)


def warp_timesteps(steps: Sequence[float], num_train_timesteps: int, shift: float) -> Tensor:
    """Warp a step list (e.g. [1000, 750, 500, 250]) through the shifted schedule, as float64 ``[S]``.

    With shift 5 this gives about [1000, 937.5, 833.3, 625]: LongLive's ``warp_denoising_step``.
    """
    sigma = torch.tensor([float(s) for s in steps], dtype=torch.float64) / num_train_timesteps
    return shift_sigma(sigma, shift) * num_train_timesteps


def sigma_from_timestep(timestep: Tensor | float, num_train_timesteps: int) -> Tensor | float:
    """Noise level of a (warped) timestep: ``t / T``."""
    return timestep / num_train_timesteps


def add_noise(x0: Tensor, noise: Tensor, sigma: Tensor | float) -> Tensor:
    """Forward process: ``(1 - sigma) * x0 + sigma * noise``."""
    return (1 - sigma) * x0 + sigma * noise


def flow_step(
    x_t: Tensor, v: Tensor, sigma: Tensor | float, sigma_next: Tensor | float | None, noise: Tensor | None
) -> Tensor:
    """One few-step sampler step: predict ``x0 = x_t - sigma * v`` and re-noise it to ``sigma_next``.

    Returns ``x0`` itself when ``sigma_next`` is None (the last step); otherwise ``noise`` (fresh,
    same shape as ``x_t``) is required. Tensor sigmas must broadcast against ``x_t``.
    """
    x0 = x_t - sigma * v
    if sigma_next is None:
        return x0
    if noise is None:
        raise ValueError(
            "flow_step needs fresh `noise` to re-noise x0 to sigma_next; pass sigma_next=None to stop at x0"
        )
    return add_noise(x0, noise, sigma_next)


def euler_step(x_t: Tensor, v: Tensor, sigma: float, sigma_next: float) -> Tensor:
    """One step of the flow ODE ``dx / dsigma = v`` from ``sigma`` to ``sigma_next``."""
    return x_t + (sigma_next - sigma) * v


def stochastic_euler_step(x_t: Tensor, v: Tensor, sigma: float, sigma_next: float, eta: float,
                          noise: Tensor) -> Tensor:
    """An Euler step whose implied noise is mixed with fresh ``noise`` in the share ``eta`` (module doc)."""
    x0, implied = x_t - sigma * v, x_t + (1 - sigma) * v
    return add_noise(x0, math.sqrt(1 - eta * eta) * implied + eta * noise, sigma_next)


def sample_few_step(
    predict_flow: Callable[[Tensor, Tensor], Tensor],
    x_T: Tensor,
    timesteps: Tensor,
    num_train_timesteps: int,
    draw_noise: Callable[[int], Tensor],
    sampler: str = "renoise",
    eta: float = 0.0,
) -> Tensor:
    """Run the whole few-step schedule from ``x_T`` and return the final ``x0`` (same shape).

    predict_flow(x_t, t): ``t`` is a 0-d float tensor, the warped timestep of this step.
    draw_noise(i): fresh noise like ``x_T`` for re-noising after step ``i`` (``"renoise"``, or
    ``"euler"`` with ``eta > 0``; not called after the last). Both samplers end with the ``x0``
    prediction of the last step.
    """
    return sample_steps(predict_flow, x_T, timesteps, num_train_timesteps, draw_noise, sampler, 0, len(timesteps),
                        eta)[0]


def sample_steps(
    predict_flow: Callable[[Tensor, Tensor], Tensor],
    x: Tensor,
    timesteps: Tensor,
    num_train_timesteps: int,
    draw_noise: Callable[[int], Tensor],
    sampler: str,
    start: int,
    stop: int,
    eta: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Steps ``start .. stop - 1`` of the schedule from ``x``, the sample at step ``start``.

    Returns the sample for step ``stop`` and the ``x0`` prediction of step ``stop - 1`` (after the
    last step both are the final ``x0``). Running ``0..j`` then ``j..S`` with the same ``draw_noise``
    gives the same result as ``0..S`` in one call: the schedule can pause to look at ``x0``.
    """
    require_choice("sampler", sampler, SAMPLERS)
    if not 0 <= eta <= 1 or (eta and sampler != "euler"):
        raise ValueError(f"eta={eta} must be in [0, 1], and 0 unless sampler='euler' (renoise is eta 1)")
    last = len(timesteps) - 1
    if not 0 <= start < stop <= len(timesteps):
        raise ValueError(f"steps {start}..{stop} are not a non-empty range of the {len(timesteps)} timesteps")
    x0 = x
    for i in range(start, stop):
        t = timesteps[i]
        v = predict_flow(x, t)
        sigma = float(sigma_from_timestep(float(t), num_train_timesteps))
        x0 = flow_step(x, v, sigma, None, None)
        if i == last:
            return x0, x0
        sigma_next = float(sigma_from_timestep(float(timesteps[i + 1]), num_train_timesteps))
        if sampler == "renoise":
            x = add_noise(x0, draw_noise(i), sigma_next)
        elif eta:
            x = stochastic_euler_step(x, v, sigma, sigma_next, eta, draw_noise(i))
        else:
            x = euler_step(x, v, sigma, sigma_next)
    return x, x0
