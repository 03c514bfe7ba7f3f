"""Summaries over seeds: mean and 95% Student-t confidence interval; quantiles with censoring.

A metric of one run is a float, ``inf`` (censored: the event never happened, such as an attacker
never isolated) or ``None`` (not applicable: a model that makes no introductions has no messages
per introduction). ``summarize`` leaves out ``None`` values and lets ``inf`` propagate, so a mean
over seeds where one seed never isolated its attacker is ``inf`` rather than a flattering number.

Invariants: ``ci_low ≤ mean ≤ ci_high``; one value gives a zero-width interval; every function
is a pure function of its arguments (the simulator's determinism rests on it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Value = float | None

# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1 … 30.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
_T975_LARGE = ((40, 2.021), (60, 2.000), (120, 1.980))


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if df <= len(_T975):
        return _T975[df - 1]
    for limit, value in _T975_LARGE:
        if df <= limit:
            return value
    return 1.960


@dataclass(frozen=True, slots=True)
class Summary:
    """One metric of one model over seeds."""

    mean: Value
    ci_low: Value
    ci_high: Value
    values: tuple[Value, ...]


def summarize(values: Sequence[Value]) -> Summary:
    """Mean and 95% t interval of the applicable ``values``."""
    present = [v for v in values if v is not None]
    if not present:
        return Summary(None, None, None, tuple(values))
    n = len(present)
    if any(math.isinf(v) for v in present):
        return Summary(math.inf, math.inf, math.inf, tuple(values))
    mean = math.fsum(present) / n
    if n == 1:
        return Summary(mean, mean, mean, tuple(values))
    var = math.fsum((v - mean) ** 2 for v in present) / (n - 1)
    half = t975(n - 1) * math.sqrt(var / n)
    return Summary(mean, mean - half, mean + half, tuple(values))


def quantile(values: Iterable[float], q: float) -> Value:
    """The ``q`` quantile (linear interpolation) of ``values``; ``inf`` values count as largest.

    ``None`` when there are no values.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    a, b = ordered[lo], ordered[hi]
    if frac == 0.0 or a == b:
        return a
    if math.isinf(b):
        return math.inf
    return a + (b - a) * frac


def ratio(numerator: float, denominator: float) -> Value:
    """``numerator / denominator``, or ``None`` when nothing was counted."""
    return numerator / denominator if denominator else None
