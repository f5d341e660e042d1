"""The statistics of an experiment: ratio metrics per shopper, their confidence intervals,
the test between two arms and the traffic a decision still needs.

Shoppers, not impressions, are assigned to arms, so a shopper's impressions are not
independent draws: a rate (clicks per impression) is a ratio of two per-shopper sums, and its
variance comes from the delta method over shoppers (Deng, Knoblich & Lu, "Applying the Delta
Method in Metric Analytics", KDD 2018). Treating each impression as independent would make
the intervals too narrow and call noise significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

#: The test's level and the power a planned decision has.
ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class RatioEstimate:
    """sum(numerator) / sum(denominator) over shoppers, with its standard error."""

    value: float
    se: float
    #: Shoppers and the denominator's total (impressions).
    shoppers: int
    total: float

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        z = float(norm.ppf(1 - alpha / 2))
        return self.value - z * self.se, self.value + z * self.se

    @property
    def unit_variance(self) -> float:
        """The variance of one impression's share of the estimate (se² × impressions): what
        the traffic a decision needs is planned with."""
        return self.se**2 * self.total


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> RatioEstimate:
    """The ratio of sums over shoppers (one entry each) and its delta-method standard error."""
    x = np.asarray(numerator, dtype=np.float64)
    y = np.asarray(denominator, dtype=np.float64)
    n = len(y)
    total = float(y.sum())
    if n == 0 or total <= 0:
        return RatioEstimate(math.nan, math.nan, n, total)
    value = float(x.sum()) / total
    if n < 2:
        return RatioEstimate(value, math.nan, n, total)
    my = y.mean()
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    cxy = float(np.cov(x, y, ddof=1)[0, 1])
    var = (vx - 2 * value * cxy + value**2 * vy) / (n * my**2)
    return RatioEstimate(value, math.sqrt(max(var, 0.0)), n, total)


@dataclass(frozen=True)
class Comparison:
    """A treatment arm against the control: the difference, its test, and what is left."""

    difference: float
    relative: float | None
    interval: tuple[float, float]
    z: float
    p_value: float
    #: Significant at the corrected level (``alpha`` over the comparisons made).
    significant: bool
    alpha: float
    #: Impressions each of the two arms needs in all to see this difference with ``POWER``,
    #: and how many more than they have (0 once significant; None before any difference).
    impressions_needed: int | None
    more_impressions: int | None


def compare(
    treatment: RatioEstimate, control: RatioEstimate, alpha: float = ALPHA, power: float = POWER
) -> Comparison:
    """The two-sided z-test of treatment − control (independent arms), at level ``alpha``."""
    diff = treatment.value - control.value
    se = math.hypot(treatment.se, control.se)
    if not (math.isfinite(diff) and math.isfinite(se)) or se == 0:
        nan = math.nan
        return Comparison(diff, None, (nan, nan), nan, nan, False, alpha, None, None)
    z = diff / se
    p = float(2 * norm.sf(abs(z)))
    half = float(norm.ppf(1 - alpha / 2)) * se
    significant = p < alpha
    needed: int | None = None
    more: int | None = None
    if diff != 0:
        # n per arm so that (z_{1-α/2} + z_power)·sqrt((σt² + σc²)/n) = |diff|
        spread = treatment.unit_variance + control.unit_variance
        zs = float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
        needed = math.ceil(zs**2 * spread / diff**2)
        have = min(treatment.total, control.total)
        more = 0 if significant else max(0, needed - int(have))
    relative = diff / control.value if control.value else None
    return Comparison(
        diff, relative, (diff - half, diff + half), z, p, significant, alpha, needed, more
    )
