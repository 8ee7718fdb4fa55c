"""The tests' own distribution-free 95% interval of a median, by exact binomial
sums (math.comb), independent of scipy and of analysis/stats.py, which the
analysis tests check against it."""
from __future__ import annotations

import math

import numpy as np


def median_interval(values) -> tuple[float, float]:
    """The order statistics x[j] <= x[n-1-j] (0-based) with the largest j such
    that P(x[j] <= median <= x[n-1-j]) = P(j < Binomial(n, 1/2) < n - j) >= 0.95."""
    x = np.sort(values)
    n = len(x)
    cdf = np.cumsum([math.comb(n, i) for i in range(n + 1)]) / 2.0 ** n
    j = (n - 1) // 2
    while j > 0 and cdf[n - j - 1] - cdf[j] < 0.95:
        j -= 1
    return float(x[j]), float(x[n - 1 - j])
