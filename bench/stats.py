"""Small statistics for the benchmark report: medians, a least-squares line, growth ratios. Pure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of nothing")
    return float(statistics.median(values))


def relative_spread(values: Sequence[float]) -> float:
    """Median absolute deviation / median: how much repeated runs of the same thing typically disagree.

    Robust to the one run another job happened to slow down, unlike (max - min).
    """
    m = median(values)
    return median([abs(v - m) for v in values]) / m if m else 0.0


def excess_threshold(spreads: Sequence[float], floor: float = 0.10, cap: float = 0.25) -> float:
    """The unexplained share of the largest size that counts as real super-linear growth.

    Three times the typical run-to-run spread, but at least ``floor`` (single runs on a shared machine
    wobble by several percent) and at most ``cap`` (a quadratic term worth a quarter of the time is real).
    """
    return min(cap, max([floor, *(3 * s for s in spreads)]))


@dataclass(frozen=True)
class LinearFit:
    """``y = a + b*x`` by least squares, with the coefficient of determination."""

    a: float
    b: float
    r2: float

    def at(self, x: float) -> float:
        return self.a + self.b * x


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> LinearFit:
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("need at least two (x, y) points")
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("x values are all equal")
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return LinearFit(a=a, b=b, r2=r2)


@dataclass(frozen=True)
class Growth:
    """How a quantity grows with n: the marginal cost per unit of n in the lower and upper intervals."""

    ratio_top: float  # y(n_max) / y(n_mid): ~2 for a doubling if purely proportional, less with fixed overhead
    slope_low: float  # (y(mid) - y(min)) / (mid - min)
    slope_high: float  # (y(max) - y(mid)) / (max - mid)
    #: (y(max) - what the low interval's line predicts at max) / y(max): the share of y(max) that linear
    #: growth does not explain. Noise-robust where slopes are tiny.
    excess: float = 0.0

    @property
    def slope_ratio(self) -> float:
        """slope_high / slope_low: 1 for linear growth, > 1 when each extra unit costs more than the last."""
        if self.slope_low <= 0:
            return float("inf") if self.slope_high > 0 else 1.0
        return self.slope_high / self.slope_low

    def superlinear(self, tolerance: float = 1.3, min_excess: float = 0.05) -> bool:
        """Marginal cost per unit rose by more than ``tolerance`` AND that explains > ``min_excess`` of y(max)."""
        return self.slope_ratio > tolerance and self.excess > min_excess


def growth(points: Sequence[tuple[float, float]]) -> Growth:
    """Growth over three or more (n, y) points: compares the two top-most intervals' slopes."""
    pts = sorted(points)
    if len(pts) < 3:
        raise ValueError("need at least three points")
    (x0, y0), (x1, y1), (x2, y2) = pts[0], pts[-2], pts[-1]
    slope_low = (y1 - y0) / (x1 - x0)
    # A negative low slope is noise (adding teams cannot make a plan cheaper): predict with zero instead.
    predicted = y1 + max(slope_low, 0.0) * (x2 - x1)
    return Growth(
        ratio_top=y2 / y1 if y1 else float("inf"),
        slope_low=slope_low,
        slope_high=(y2 - y1) / (x2 - x1),
        excess=(y2 - predicted) / y2 if y2 else 0.0,
    )
