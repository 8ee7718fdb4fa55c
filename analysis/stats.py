"""Per-cell statistics and the exponential rate of P(converged).

cell_table reproduces `sgdmc summarize` (same columns, same counting rules) so
that the plots and the command-line summary tell the same story; the tests hold
the two against each other on the same file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

from .fields import RISK_ROUNDING
from .load import Study

LEVEL = 0.95


def clopper_pearson(k: npt.ArrayLike, n: npt.ArrayLike,
                    level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided interval for a binomial proportion k/n: the beta
    quantiles, with 0 at k = 0 and 1 at k = n exactly; NaN where n = 0.
    Counts that are not integers 0 <= k <= n raise ValueError."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(n)) and np.all(k == np.round(k))
            and np.all(n == np.round(n)) and np.all(0 <= k) and np.all(k <= n)):
        raise ValueError(f"clopper_pearson: counts must be integers 0 <= k <= n, got k={k}, n={n}")
    tail = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(tail, np.maximum(k, 1), n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.isf(tail, k + 1, np.maximum(n - k, 1)), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _first_layer(study: Study, name: str) -> pd.Series:
    column = f"{name}_1"
    if column in study.runs:
        return study.runs[column]
    return pd.Series(pd.array([None] * len(study.runs), dtype="Int64"), index=study.runs.index)


def _median(values: np.ndarray) -> float:
    # summarize's rule: NaN (a diverged run) ranks above every number, and the
    # mean of the two middle values is taken as halves
    if len(values) == 0:
        return math.nan
    values = np.sort(np.where(np.isnan(values), np.inf, values))
    upper = values[len(values) // 2]
    return float(upper) if len(values) % 2 else float(0.5 * values[len(values) // 2 - 1] + 0.5 * upper)


# The end states summarize counts: end_<state> is the share of done runs whose
# end_state is <state>, with its interval (NaN for files without end states).
END_STATES_COUNTED = ("stationary", "descending", "oscillating")
END_STATE_COLUMNS = [f"end_{state}{suffix}" for state in END_STATES_COUNTED
                     for suffix in ("", "_low", "_high")]

SUMMARY_COLUMNS = [
    "runs", "done", "converged", "undecided", "diverged", "p_converged", "ci_low", "ci_high",
    "p_converged_upper", "p_converged_upper_low", "p_converged_upper_high",
    "dead_at_init", "dead_at_init_low", "dead_at_init_high", "dead_init_probability",
    "dead_at_end", "dead_at_end_low", "dead_at_end_high", "p_certified", "p_certified_low",
    "p_certified_high", "constant_at_init", "constant_at_init_low", "constant_at_init_high",
    "constant_at_end", "constant_at_end_low", "constant_at_end_high", "p_stationary",
    "p_stationary_low", "p_stationary_high", *END_STATE_COLUMNS, "median_final_risk",
    "min_risk_used", "min_risk_pooled"]

# The options of `sgdmc train` that change only how a run trains, never the problem, the
# network or how its risk is measured (the option table's entries that define nothing;
# test_tables.py holds the two together). Cells that differ only in these keys share R*:
# `pool_hi` pools their upper bounds, as `sgdmc summarize --pool-hi` does.
TRAINING_ONLY_KEYS = frozenset({
    "seed", "batch_size", "optimizer", "lr", "lr_schedule", "momentum", "beta1", "beta2", "eps",
    "weight_decay", "clip", "timescale", "tau", "steps", "tol", "rtol", "min_risk", "trajectory",
    "checkpoints", "gram_points", "blowup", "save"})


def _pooled_runs(study: Study) -> tuple[pd.DataFrame, pd.Series]:
    """The runs judged against R*'s pooled upper bound, and per cell whether its bound was
    lowered: over cells equal in every grid key outside TRAINING_ONLY_KEYS, the least stored
    hi and final risk of a done run that did not diverge (each the risk of a concrete network
    of the architecture); cells whose R* is exact or given keep theirs."""
    runs = study.runs.copy()
    risk = runs["final_risk"].where((runs["status"] != "diverged") & np.isfinite(runs["final_risk"]))
    lowest = pd.concat([runs["min_risk"], risk], axis=1).min(axis=1).groupby(runs["cell"]).min()
    keys = [k for k in study.grid_keys if k not in TRAINING_ONLY_KEYS]
    cells = study.cells.set_index("cell")
    group = (cells.groupby(keys, sort=False, dropna=False).ngroup() if keys
             else pd.Series(0, index=cells.index))
    pooled_by_group = lowest.reindex(cells.index).groupby(group).min()
    pooled = group.map(pooled_by_group)
    first = runs.groupby("cell").head(1).set_index("cell")
    tightenable = ~first["min_risk_source"].isin(["exact", "given"])
    pooled = pooled.where(tightenable.reindex(pooled.index).fillna(False).astype(bool))
    p = runs["cell"].map(pooled)
    lowered = p.notna() & (runs["min_risk"].isna() | (p < runs["min_risk"]))
    runs.loc[lowered, "min_risk"] = p[lowered]
    judged = lowered & ~runs["status"].isin(["diverged", "pending"])
    # as sgdmc's verdicts: beyond the rounding allowance of both sides
    limit = (runs["tol"] + (1 + runs["rtol"]) * p) * (1 + RISK_ROUNDING)
    sure_not = judged & (runs["status"] == "undecided") & \
        (runs["final_risk"] * (1 - RISK_ROUNDING) > limit)
    runs.loc[sure_not, "status"] = "not_converged"
    if "certified_nonconvergent" in runs and "reachable_lo" in runs:
        # a diverged run's certificate rests on its structure frozen since initialization
        certifiable = lowered & (runs["status"] != "pending")
        certified = runs["reachable_lo"].notna() & \
            (runs["reachable_lo"] * (1 - RISK_ROUNDING) > limit)
        runs["certified_nonconvergent"] = runs["certified_nonconvergent"].astype("boolean").mask(
            certifiable, certified.astype("boolean"))
    first_lowered = lowered.groupby(runs["cell"]).head(1)
    return runs, first_lowered.groupby(runs["cell"]).sum()


def cell_table(study: Study, grad_eps: float = 1e-3, level: float = LEVEL,
               pool_hi: bool = False) -> pd.DataFrame:
    """One row per grid cell (done or not), the columns of `sgdmc summarize`
    plus `certified_known` (done runs with a certificate verdict).

    P(converged) is a bracket: `p_converged` counts the runs converged for sure,
    `p_converged_upper` those converged or undecided (R* only known to lie in
    [min_risk_lo, min_risk]); the two agree where R* is exact. `min_risk_used` is the
    upper bound the verdicts were judged against; with `pool_hi` it is pooled over cells
    of the same problem and architecture (`min_risk_pooled` 1 where that lowered it), as
    `sgdmc summarize --pool-hi` does. `end_stationary`, `end_descending` and
    `end_oscillating` are the shares of done runs in those end states (NaN for files
    without end states): `end_descending` counts the runs whose 'not converged' says
    as much about the step budget as about the optimizer."""
    runs = study.runs
    pooled = pd.Series(dtype=np.int64)
    if pool_hi:
        runs, pooled = _pooled_runs(study)
    flags = pd.DataFrame({
        "cell": runs["cell"],
        "done": 1,
        "converged": (runs["status"] == "converged").astype(int),
        "undecided": (runs["status"] == "undecided").astype(int),
        "diverged": (runs["status"] == "diverged").astype(int),
        "dead_init": (_first_layer(study, "dead_init").fillna(0) > 0).astype(int),
        # smooth activations have no dead neurons: the file holds -1 (missing)
        "dead_known": _first_layer(study, "dead_init").notna().astype(int),
        "dead_final": (_first_layer(study, "dead_final").fillna(0) > 0).astype(int),
        # as sgdmc's tally: a diverged run is known not dead at the end
        "dead_final_unknown": (_first_layer(study, "dead_final").isna()
                               & (runs["status"] != "diverged")).astype(int),
        "stationary": (runs["min_grad_norm"].fillna(np.inf) <= grad_eps).astype(int),
    })
    certified = runs.get("certified_nonconvergent")
    if certified is None:
        certified = pd.Series(pd.array([None] * len(runs), dtype="boolean"), index=runs.index)
    flags["certified_known"] = certified.notna().astype(int)
    flags["certified"] = certified.fillna(False).astype(int)
    flags["possible"] = flags["converged"] + flags["undecided"]
    for when in ("init", "final"):
        # files before format 2 have no constant networks: unknown
        constant = runs.get(f"constant_{when}")
        if constant is None:
            constant = pd.Series(pd.array([None] * len(runs), dtype="boolean"), index=runs.index)
        flags[f"constant_{when}_known"] = constant.notna().astype(int)
        flags[f"constant_{when}"] = constant.fillna(False).astype(int)
    ends = runs.get("end_state")
    for state in END_STATES_COUNTED:
        flags[f"ended_{state}"] = 0 if ends is None else (ends == state).astype(int)
    counts = flags.groupby("cell").sum()
    table = study.cells.set_index("cell").join(counts, how="left")
    count_columns = ["done", "converged", "undecided", "diverged", "possible", "dead_init",
                     "dead_final", "dead_final_unknown", "stationary", "certified_known",
                     "certified", "dead_known",
                     "constant_init", "constant_init_known", "constant_final",
                     "constant_final_known"]
    table[count_columns] = table[count_columns].fillna(0).astype(np.int64)
    ended = [f"ended_{state}" for state in END_STATES_COUNTED]
    table[ended] = table[ended].fillna(0).astype(np.int64)

    def share(k: str, n: str, name: str, low: str, high: str) -> None:
        kk, nn = table[k].to_numpy(), table[n].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            table[name] = np.where(nn > 0, kk / np.maximum(nn, 1), np.nan)
        table[low], table[high] = clopper_pearson(kk, nn, level)

    share("converged", "done", "p_converged", "ci_low", "ci_high")
    share("possible", "done", "p_converged_upper", "p_converged_upper_low",
          "p_converged_upper_high")
    share("dead_init", "done", "dead_at_init", "dead_at_init_low", "dead_at_init_high")
    share("dead_final", "done", "dead_at_end", "dead_at_end_low", "dead_at_end_high")
    dead_columns = ["dead_at_init", "dead_at_init_low", "dead_at_init_high", "dead_at_end",
                    "dead_at_end_low", "dead_at_end_high"]
    table.loc[table["dead_known"] == 0, dead_columns] = np.nan
    table.loc[table["dead_final_unknown"] > 0, dead_columns[3:]] = np.nan
    share("certified", "certified_known", "p_certified", "p_certified_low", "p_certified_high")
    share("constant_init", "constant_init_known", "constant_at_init", "constant_at_init_low",
          "constant_at_init_high")
    share("constant_final", "constant_final_known", "constant_at_end", "constant_at_end_low",
          "constant_at_end_high")
    share("stationary", "done", "p_stationary", "p_stationary_low", "p_stationary_high")
    for state in END_STATES_COUNTED:
        share(f"ended_{state}", "done", f"end_{state}", f"end_{state}_low", f"end_{state}_high")
    if ends is None:
        table[END_STATE_COLUMNS] = np.nan

    # the theory line: the first done run's value that is known (it is the
    # same for every run of a cell)
    theory = runs.dropna(subset=["dead_init_probability"]).groupby("cell")[
        "dead_init_probability"].first() if "dead_init_probability" in runs else pd.Series(dtype=float)
    table["dead_init_probability"] = theory.reindex(table.index)
    # (no done run: pandas warns on an apply over no groups)
    medians = runs.groupby("cell")["final_risk"].apply(lambda s: _median(s.to_numpy())) \
        if len(runs) else pd.Series(dtype=float)
    table["median_final_risk"] = medians.reindex(table.index)
    table["min_risk_used"] = runs.groupby("cell").head(1).set_index("cell")["min_risk"].reindex(
        table.index)
    table["min_risk_pooled"] = pooled.reindex(table.index).fillna(0).astype(np.int64)
    table = table.reset_index()
    return table[["cell", *study.grid_keys, *SUMMARY_COLUMNS, "certified_known"]]


# ---- the exponential rate ----


@dataclass
class RateFit:
    """P(success) = exp(intercept - rate * x), fitted by maximum likelihood on
    binomial counts; [low, high] is the profile-likelihood interval of rate.
    rate = +inf when every success sits at the smallest x (the likelihood keeps
    rising as the curve drops faster); NaN when there is nothing to fit (no
    success at all, or fewer than two distinct x)."""
    rate: float
    low: float
    high: float
    intercept: float
    points: int
    successes: int
    trials: int
    level: float = LEVEL
    note: str = ""

    def predict(self, x: npt.ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if not math.isfinite(self.rate) or not math.isfinite(self.intercept):
            return np.full_like(x, np.nan)
        return np.exp(np.minimum(self.intercept - self.rate * x, 0.0))

    def describe(self) -> str:
        if math.isnan(self.rate):
            return f"no rate ({self.note})"
        return f"rate {_fmt(self.rate)} [{_fmt(self.low)}, {_fmt(self.high)}]"


def _fmt(v: float) -> str:
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:.3g}"


def _loglik(eta: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
    """Binomial log likelihood (without the constant) at log p = eta <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        failures = np.where(n > k, (n - k) * np.log(-np.expm1(np.minimum(eta, 0.0))), 0.0)
        hits = np.where(k > 0, k * eta, 0.0)
    return float(np.sum(hits + failures))


def _profile(r: float, u: np.ndarray, k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """max over b of the log likelihood of log p = b - r u (u >= 0, u = 0 at
    the smallest x), with the constraint p <= 1 everywhere. Returns (loglik, b).
    The likelihood is concave in the linear predictor, so in b: one root of
    the score, found by bracketing."""
    total = k.sum()
    b_max = min(0.0, r * u.max())  # b - r u_i <= 0 for every i
    if total == 0:
        return 0.0, -math.inf

    def score(b: float) -> float:
        eta = np.minimum(b - r * u, 0.0)
        with np.errstate(divide="ignore", over="ignore"):
            return float(total - np.sum((n - k) / np.expm1(-eta)))

    top = b_max - 1e-12 * max(1.0, abs(b_max))
    if score(top) >= 0:  # no failures where p would reach 1: the boundary is the optimum
        return _loglik(top - r * u, k, n), top
    step, bottom = 1.0, top - 1.0
    while score(bottom) <= 0:
        step *= 2
        bottom = top - step
    b = optimize.brentq(score, bottom, top, xtol=1e-14, rtol=1e-14, maxiter=500)
    return _loglik(b - r * u, k, n), b


def fit_exponential_rate(x: npt.ArrayLike, k: npt.ArrayLike, n: npt.ArrayLike,
                         level: float = LEVEL) -> RateFit:
    """Maximum-likelihood fit of log P = a - r x to k successes of n trials at
    each x (a binomial GLM with log link, P <= 1 enforced), with the
    profile-likelihood interval {r: 2 (l(r_hat) - l_prof(r)) <= chi2_1(level)}.

    The profile likelihood is concave in r, and unlike a Wald interval it
    stays honest where counts reach 0: when only the smallest x has successes
    the estimate is +inf and the interval [low, inf). Rates beyond 40 per unit
    of the closest x spacing (a factor e^-40 between neighbours) cannot be
    told from infinite with any feasible number of runs and are reported so."""
    keep = np.asarray(n, dtype=float) > 0
    # new names, not the parameters: mypy would not carry a re-bound
    # parameter's array type into the closures below
    xs, ks, ns = (np.asarray(v, dtype=float)[keep] for v in (x, k, n))
    successes, trials = int(ks.sum()), int(ns.sum())
    distinct = np.unique(xs)
    if len(distinct) < 2:
        return RateFit(math.nan, math.nan, math.nan, math.nan, len(distinct), successes, trials,
                       level, "fewer than two x values")
    if successes == 0:
        return RateFit(math.nan, -math.inf, math.inf, -math.inf, len(distinct), 0, trials, level,
                       "no successes")
    x0 = distinct[0]
    u = xs - x0
    bound = 40.0 / np.min(np.diff(distinct))

    def negative(r: float) -> float:
        return -_profile(r, u, ks, ns)[0]

    # concave profile: a bounded scalar search finds its maximum, or the edge
    best = optimize.minimize_scalar(negative, bounds=(-bound, bound), method="bounded",
                                    options={"xatol": 1e-10 * bound, "maxiter": 500})
    r_hat = float(best.x)
    l_hat = -float(best.fun)
    if abs(r_hat) < 1e-8 * bound and -negative(0.0) >= l_hat:
        r_hat, l_hat = 0.0, -negative(0.0)  # flat in x: the search's last digits are noise
    # an edge value is checked against the edge itself: monotone profiles
    # (all successes at one end) have their supremum at infinity
    for edge in (-bound, bound):
        l_edge = -negative(edge)
        if l_edge >= l_hat - 1e-9:
            r_hat, l_hat = math.copysign(math.inf, edge), max(l_hat, l_edge)
    cut = l_hat - stats.chi2.ppf(level, 1) / 2

    def crossing(a: float, b: float) -> float:
        return float(optimize.brentq(lambda r: -negative(r) - cut, a, b, xtol=1e-12 * bound))

    centre = r_hat if math.isfinite(r_hat) else math.copysign(bound, r_hat)
    low = -math.inf if -negative(-bound) >= cut or r_hat == -math.inf else crossing(-bound, centre)
    high = math.inf if -negative(bound) >= cut or r_hat == math.inf else crossing(centre, bound)
    intercept = math.nan  # no finite curve at an infinite rate
    if math.isfinite(r_hat):
        b = _profile(r_hat, u, ks, ns)[1]
        intercept = b + r_hat * x0  # log p = b - r (x - x0) = (b + r x0) - r x
    return RateFit(r_hat, low, high, intercept, len(distinct), successes, trials, level)


def supported_rate(x: npt.ArrayLike, k: npt.ArrayLike, n: npt.ArrayLike,
                   level: float = LEVEL) -> RateFit:
    """The exponential rate where the data support one, else a RateFit without
    a rate saying why: a curve needs successes and failures in at least two
    cells (with one such cell any rate fits as well as an infinite one: an
    estimate resting on a single informative point) and a decreasing trend
    (a rate > 0). fit_exponential_rate fits whatever it is given."""
    xs, ks, ns = (np.asarray(v, dtype=float) for v in (x, k, n))
    informative = int(np.sum((ks > 0) & (ks < ns)))
    fit = fit_exponential_rate(xs, ks, ns, level)
    if math.isnan(fit.rate):
        return fit
    reason = ""
    if informative < 2:
        reason = (f"not fitted: {informative} cell{'s' if informative != 1 else ''} with both "
                  "converged and other runs, 2 needed")
    elif not fit.rate > 0:
        reason = "not fitted: P(converged) does not decrease"
    if reason:
        return RateFit(math.nan, math.nan, math.nan, math.nan, fit.points, fit.successes,
                       fit.trials, level, reason)
    return fit


def rate_table(study: Study, x: str = "width", table: pd.DataFrame | None = None,
               level: float = LEVEL) -> pd.DataFrame:
    """The fitted rate of P(converged) against grid key x, one row per
    combination of the other grid keys."""
    if table is None:
        table = cell_table(study)
    others = [key for key in study.grid_keys if key != x]
    # one key is passed bare: pandas warns about length-1 lists
    groups = table.groupby(others if len(others) > 1 else others[0], sort=False) \
        if others else [((), table)]
    rows = []
    for values, cells in groups:
        values = values if isinstance(values, tuple) else (values,)
        fit = supported_rate(cells[x], cells["converged"], cells["done"], level)
        rows.append({**dict(zip(others, values)), "x": x, "rate": fit.rate, "rate_low": fit.low,
                     "rate_high": fit.high, "intercept": fit.intercept, "points": fit.points,
                     "converged": fit.successes, "done": fit.trials, "note": fit.note})
    return pd.DataFrame(rows)


# ---- medians of per-cell distributions (papers 003 and 004) ----


def median_interval(values: npt.ArrayLike, level: float = LEVEL) -> tuple[float, float]:
    """A distribution-free interval of the median: the order statistics
    x[j] <= x[n-1-j] (sorted, 0-based) with the largest j such that
    P(x[j] <= median <= x[n-1-j]) = P(j < Binomial(n, 1/2) < n - j) >= level.
    NaNs are left out. (NaN, NaN) where no such j exists: no values, or too
    few for the level (fewer than 6 for 95%, where even [min, max] covers the
    median with probability 1 - 2^(1-n) < 95%)."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0 or 1 - 2.0 ** (1 - n) < level:
        return math.nan, math.nan
    j = (n - 1) // 2
    while j > 0 and stats.binom.cdf(n - j - 1, n, 0.5) - stats.binom.cdf(j, n, 0.5) < level:
        j -= 1
    return float(x[j]), float(x[n - 1 - j])


def distribution_row(values: npt.ArrayLike, level: float = LEVEL) -> dict[str, float]:
    """n, min, quartiles, median with its distribution-free interval, 10% and
    90% quantiles, max and range of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"n": 0, **{k: math.nan for k in ("min", "q10", "q25", "median", "median_low",
                                                 "median_high", "q75", "q90", "max", "range")}}
    low, high = median_interval(v, level)
    q10, q25, median, q75, q90 = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {"n": len(v), "min": float(v.min()), "q10": float(q10), "q25": float(q25),
            "median": float(median), "median_low": low, "median_high": high, "q75": float(q75),
            "q90": float(q90), "max": float(v.max()), "range": float(np.ptp(v))}
