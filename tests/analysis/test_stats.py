"""Statistics: the per-cell table against `sgdmc summarize`, Clopper-Pearson
intervals against binomial tails summed independently, the rate fit against
synthetic counts with a known rate and an independent optimizer."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from analysis import cell_table, clopper_pearson, fit_exponential_rate, load_study, rate_table
from analysis.stats import supported_rate
from analysis.stats import SUMMARY_COLUMNS
from conftest import summarize

COUNTS = ["runs", "done", "converged", "diverged"]


def assert_table_matches(table: pd.DataFrame, summary: dict, grid_keys: list[str]) -> None:
    """Counts exactly, shares and intervals to 1e-9, unknowns (null) where
    summarize has them; the cells in the same order with the same keys."""
    assert summary["grid_keys"] == grid_keys
    cells = summary["cells"]
    assert len(cells) == len(table)
    for (_, row), cell in zip(table.iterrows(), cells):
        where = {k: cell[k] for k in grid_keys}
        for key in grid_keys:
            assert row[key] == cell[key], (where, key)
        for column in COUNTS:
            assert int(row[column]) == cell[column], (where, column)
        for column in SUMMARY_COLUMNS:
            if column in COUNTS:
                continue
            mine, theirs = float(row[column]), cell[column]
            if theirs is None:  # JSON null: unknown or not finite
                assert not math.isfinite(mine), (where, column, mine)
            elif column == "median_final_risk":
                assert mine == pytest.approx(theirs, rel=1e-12, abs=0), (where, column)
            else:
                assert abs(mine - theirs) <= 1e-9, (where, column, mine, theirs)


def test_table_matches_summarize(study, summary):
    table = cell_table(study)
    assert_table_matches(table, summary, study.grid_keys)
    # the study has converged and diverged runs; the diverged ones' certificates are known
    # (summarize's share over no known certificate, NaN, is checked in test_summarize.c)
    assert table["converged"].sum() > 0 and table["diverged"].sum() > 0
    assert table["p_certified"].notna().all() and (table["certified_known"] == table["done"]).all()


def test_table_matches_summarize_grad_eps(study, study_file):
    table = cell_table(study, grad_eps=0.05)
    summary = summarize(study_file, "--grad_eps=0.05")
    assert_table_matches(table, summary, study.grid_keys)
    assert not table["p_stationary"].equals(cell_table(study)["p_stationary"])


def test_table_matches_summarize_smooth_activations(logistic_file):
    """tanh/sigmoid runs have no dead-neuron counts: null in both tables."""
    study = load_study(logistic_file)
    table = cell_table(study)
    assert_table_matches(table, summarize(logistic_file), study.grid_keys)
    assert table["dead_at_init"].isna().all() and table["dead_at_end"].isna().all()


def binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(Bin(n,p) >= k) (upper) or P(Bin(n,p) <= k), summed term by term in logs."""
    js = range(k, n + 1) if upper else range(0, k + 1)
    return sum(math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                        + j * math.log(p) + (n - j) * math.log1p(-p)) for j in js)


def test_clopper_pearson_known_values():
    low, high = clopper_pearson([0, 10, 5, 0], [10, 10, 10, 0])
    assert low[0] == 0 and high[0] == pytest.approx(1 - 0.025 ** 0.1, rel=1e-12)
    assert high[1] == 1 and low[1] == pytest.approx(0.025 ** 0.1, rel=1e-12)
    assert low[2] == pytest.approx(0.187086028, abs=1e-9)  # textbook values for 5 of 10
    assert high[2] == pytest.approx(0.812913972, abs=1e-9)
    assert math.isnan(low[3]) and math.isnan(high[3])


@pytest.mark.parametrize("k,n", [(1, 1), (1, 7), (3, 40), (18, 200), (199, 200), (37, 1000),
                                 (500, 1000), (2, 2000)])
def test_clopper_pearson_tails(k, n):
    low, high = (float(v) for v in clopper_pearson(k, n))
    # the exact interval's ends are where each binomial tail is 2.5%
    if k > 0:
        assert binomial_tail(k, n, low, upper=True) == pytest.approx(0.025, rel=1e-8)
    if k < n:
        assert binomial_tail(k, n, high, upper=False) == pytest.approx(0.025, rel=1e-8)
    assert low < k / n < high or (k == n and high == 1)


@pytest.mark.parametrize("k,n", [(3, 2), (-1, 5), (math.nan, 5), (1.5, 5), (1, math.nan)])
def test_clopper_pearson_refuses_counts_that_are_not_counts(k, n):
    with pytest.raises(ValueError, match="integers 0 <= k <= n"):
        clopper_pearson(k, n)


@pytest.mark.parametrize("n", range(1, 12))
def test_median_interval_only_where_it_reaches_95(n):
    from analysis.stats import median_interval
    values = np.random.default_rng(n).normal(size=n)
    low, high = median_interval(values)
    # [min, max] misses the median only when all n values fall on one side: 2 / 2^n
    if 1 - 2.0 ** (1 - n) < 0.95:
        assert math.isnan(low) and math.isnan(high)
    else:
        assert values.min() <= low <= np.median(values) <= high <= values.max()
        # its coverage, counted by simulation, is at least 95% (within the simulation's error)
        rng = np.random.default_rng(100 + n)
        samples = rng.normal(size=(4000, n))
        covered = [(lambda lo_hi: lo_hi[0] <= 0 <= lo_hi[1])(median_interval(row))
                   for row in samples]
        assert np.mean(covered) >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / 4000)


def negative_loglik(params, x, k, n):
    a, r = params
    eta = a - r * x
    if np.any(eta > 0):
        return 1e300
    return -float(np.sum(k * eta + (n - k) * np.log(-np.expm1(np.minimum(eta, -1e-300)))))


def test_rate_recovered_from_expected_counts():
    x = np.array([1, 2, 4, 8, 16.0])
    n = np.full(5, 100000)
    k = np.round(n * np.exp(-0.2 - 0.4 * x))
    fit = fit_exponential_rate(x, k, n)
    assert fit.rate == pytest.approx(0.4, rel=1e-3)
    assert fit.intercept == pytest.approx(-0.2, abs=2e-3)
    assert fit.low < 0.4 < fit.high and fit.high - fit.low < 0.02
    assert fit.predict([1.0])[0] == pytest.approx(math.exp(-0.6), rel=1e-2)


def test_rate_matches_an_independent_optimizer():
    rng = np.random.default_rng(7)
    x = np.array([1, 2, 3, 5, 8.0])
    n = np.array([300, 300, 500, 500, 800])
    k = rng.binomial(n, np.exp(-0.3 - 0.5 * x))
    fit = fit_exponential_rate(x, k, n)
    best = optimize.minimize(negative_loglik, [-0.3, 0.4], args=(x, k, n), method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    assert fit.rate == pytest.approx(best.x[1], abs=1e-5)
    assert fit.intercept == pytest.approx(best.x[0], abs=1e-5)
    # each end of the interval: the profile likelihood is chi2_1(0.95)/2 below the maximum
    for end in (fit.low, fit.high):
        prof = optimize.minimize_scalar(lambda a: negative_loglik((a, end), x, k, n),
                                        bounds=(-10, min(0.0, end * x.min())), method="bounded",
                                        options={"xatol": 1e-12})
        assert prof.fun - best.fun == pytest.approx(stats.chi2.ppf(0.95, 1) / 2, abs=1e-4)


def test_rate_interval_coverage():
    """95% profile-likelihood intervals cover the true rate in about 95% of
    synthetic studies (300 of them, fixed seed): a wrong threshold or a
    Wald-type shortcut lands outside [0.91, 0.98]."""
    rng = np.random.default_rng(2024)
    x = np.array([1, 2, 3, 4, 6, 8.0])
    n = np.full(6, 400)
    rate = 0.35
    covered = 0
    for _ in range(300):
        k = rng.binomial(n, np.exp(-0.5 - rate * x))
        fit = fit_exponential_rate(x, k, n)
        covered += fit.low <= rate <= fit.high
    assert 0.91 <= covered / 300 <= 0.98, covered


def test_rate_when_counts_reach_zero():
    # successes only at the smallest width: the likelihood rises without end
    fit = fit_exponential_rate([1, 2, 4, 8], [18, 0, 0, 0], [200] * 4)
    assert fit.rate == math.inf and fit.high == math.inf
    assert 0 < fit.low < 10
    # the lower end: profile likelihood chi2/2 below the supremum (p1 = 18/200, 0 elsewhere)
    p = 18 / 200
    sup = 18 * math.log(p) + 182 * math.log1p(-p)
    x, k, n = np.array([1, 2, 4, 8.0]), np.array([18, 0, 0, 0]), np.full(4, 200)
    prof = optimize.minimize_scalar(lambda a: negative_loglik((a, fit.low), x, k, n),
                                    bounds=(-20, fit.low * 1), method="bounded",
                                    options={"xatol": 1e-12})
    assert -prof.fun == pytest.approx(sup - stats.chi2.ppf(0.95, 1) / 2, abs=1e-4)
    assert math.isnan(fit.predict([1.0])[0])
    # no success at all: nothing to fit
    none = fit_exponential_rate([1, 2, 4], [0, 0, 0], [50, 50, 50])
    assert math.isnan(none.rate) and none.note == "no successes"
    # a single x value: nothing to fit either
    assert math.isnan(fit_exponential_rate([2, 2], [3, 4], [10, 10]).rate)
    # cells with no done runs are left out
    assert fit_exponential_rate([1, 2, 4], [5, 0, 0], [50, 0, 0]).note == "fewer than two x values"


def test_rate_increasing_with_x():
    x = np.array([1, 2, 3, 4.0])
    n = np.full(4, 20000)
    k = np.round(n * np.exp(-2.0 + 0.3 * x))
    fit = fit_exponential_rate(x, k, n)
    assert fit.rate == pytest.approx(-0.3, abs=0.01) and fit.low < -0.3 < fit.high < 0


def test_rate_table_of_the_study(study):
    rates = rate_table(study, "width")
    # one curve per (optimizer, depth, lr)
    assert len(rates) == 8
    assert set(rates.columns) >= {"optimizer", "depth", "lr", "rate", "rate_low", "rate_high"}
    table = cell_table(study)
    assert rates["done"].sum() == table["done"].sum()
    assert rates["converged"].sum() == table["converged"].sum()
    assert len(rate_table(study, "depth")) == 12


def test_rates_only_where_the_data_support_one() -> None:
    """A rate is printed only with successes and failures in two cells or more and a
    decreasing trend; otherwise the reason, not nan [-inf, inf] or a negative rate."""
    one_cell = supported_rate([1, 2, 4, 8], [18, 0, 0, 0], [200] * 4)
    assert math.isnan(one_cell.rate) and "1 cell" in one_cell.note
    rising = supported_rate([1, 2, 4], [5, 20, 40], [50, 50, 50])
    assert math.isnan(rising.rate) and "does not decrease" in rising.note
    nothing = supported_rate([1, 2, 4], [0, 0, 0], [50, 50, 50])
    assert math.isnan(nothing.rate) and nothing.note == "no successes"
    fitted = supported_rate([1, 2, 4], [40, 20, 5], [50, 50, 50])
    assert fitted.rate > 0 and math.isfinite(fitted.rate) and fitted.low < fitted.rate < fitted.high
    # the same numbers as the unrestricted fit where the data support it
    assert fitted.rate == fit_exponential_rate([1, 2, 4], [40, 20, 5], [50, 50, 50]).rate
