"""Statistics for comparing methods: means with Student-t 95 % intervals and paired differences.

Quality claims in this project come with their noise. Every table compares a method with plain
generation on the *same* prompts and seeds, so the paired difference (per item, then averaged) is
the quantity with the tightest honest interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist, fmean, stdev
from typing import Mapping, Sequence

# Fewer paired videos than this get a note under a table: the t interval assumes roughly normal differences.
SMALL_SAMPLE = 16

# Two-sided 95 % Student-t critical values for 1..30 degrees of freedom (standard tables); beyond 30
# the Cornish-Fisher expansion around the normal quantile is accurate to 1e-4.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_critical_95(dof: int) -> float:
    """Two-sided 95 % critical value of Student's t with ``dof`` degrees of freedom."""
    if dof < 1:
        raise ValueError(f"dof={dof} is invalid: an interval needs at least 2 values")
    if dof <= len(_T95):
        return _T95[dof - 1]
    z = NormalDist().inv_cdf(0.975)
    return (z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * dof**3))


@dataclass(frozen=True)
class Estimate:
    """A mean with the half-width of its 95 % interval (``nan`` for fewer than 2 values)."""

    mean: float
    half_width: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.n >= 2 and abs(self.mean) > self.half_width

    def format(self, scale: float = 1.0, digits: int = 2) -> str:
        if math.isnan(self.half_width):
            return f"{self.mean * scale:.{digits}f}"
        return f"{self.mean * scale:.{digits}f} ± {self.half_width * scale:.{digits}f}"


def mean_ci(values: Sequence[float]) -> Estimate:
    """Mean of ``values`` with a two-sided 95 % Student-t interval; NaN for both where a value is not finite
    (a table shows "nan" in that cell instead of failing after hours of scoring)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_ci needs at least one value")
    if not all(math.isfinite(v) for v in values):
        return Estimate(math.nan, math.nan, len(values))
    if len(values) < 2:
        return Estimate(values[0], math.nan, 1)
    half = t_critical_95(len(values) - 1) * stdev(values) / math.sqrt(len(values))
    return Estimate(fmean(values), half, len(values))


def paired_difference(method: Mapping[str, float], baseline: Mapping[str, float]) -> Estimate:
    """Mean of ``method[item] - baseline[item]`` over the items both have, with its 95 % interval."""
    items = sorted(set(method) & set(baseline))
    if not items:
        raise ValueError("paired_difference: the two results share no item (prompt and seed)")
    return mean_ci([method[i] - baseline[i] for i in items])
