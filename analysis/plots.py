"""Figures of a study file. Each plot function takes a Study and returns a
matplotlib Figure; PLOTS lists them with what each needs from the file, so the
command line draws only those that make sense for the file's grid.
"""
from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import matplotlib

matplotlib.use("Agg")  # cluster nodes and CI have no display
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .load import Study  # noqa: E402
from .stats import (LEVEL, cell_table, distribution_row,  # noqa: E402
                    median_interval, supported_rate)

MAX_CURVES = 8  # curves per axes before the grid is split into panels
GRAD_EPS = 1e-3  # summarize's default stationarity threshold

AXIS_NAMES = {
    "width": "width (neurons per hidden layer)",
    "depth": "depth (hidden layers)",
    "l2": "l2 = lambda, the weight of |W|_F^2 in the objective",
}


# ---- labels and grouping ----


def describe(study: Study, columns: int = 110) -> str:
    """What was run, from the config: name, shared train flags, seeds, progress."""
    flags = ", ".join(f"{k}={v}" for k, v in study.train.items())
    cells = len(study.cells)
    done = len(study.runs)
    progress = f"{done} of {study.tasks} runs done" if done < study.tasks else f"{done} runs"
    text = f"{study.name}: {flags}; {cells} cells x {study.seeds} seeds, {progress}"
    return "\n".join(textwrap.wrap(text, columns))


def _title(fig: Figure, what: str, study: Study) -> None:
    columns = int(fig.get_figwidth() * 13)  # characters of 9.5 pt text per line
    text = "\n".join(textwrap.wrap(what, columns) + [describe(study, columns)])
    fig.suptitle(text, fontsize=9.5)


def _label(keys: list[str], values: object) -> str:
    if not keys:
        return "all runs"
    parts = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, parts))


def _varying(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    return [k for k in keys if k in frame and frame[k].nunique() > 1]


def _groups(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[tuple[Any, ...], pd.DataFrame]]:
    """(values, sub-frame) per combination of keys, in file order."""
    if not keys:
        yield (), frame
        return
    for values, sub in frame.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        yield (values if isinstance(values, tuple) else (values,)), sub


def _facets(frame: pd.DataFrame, keys: list[str], prefer: tuple[str, ...] = (),
            limit: int = MAX_CURVES) -> tuple[str | None, list[str]]:
    """Splits the curves into panels by one key when one axes would hold
    more than `limit`. Returns (facet key or None, curve keys)."""
    combos = len(frame.drop_duplicates(keys)) if keys else 1
    if combos <= limit or len(keys) < 2:
        return None, keys
    ordered = [k for k in prefer if k in keys] + [k for k in keys if k not in prefer]
    facet = ordered[0]
    return facet, [k for k in keys if k != facet]


def _colors(n: int) -> list[tuple[float, float, float, float]]:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _panels(count: int, columns: int, width: float, height: float) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width * columns, height * count + 1.3))
    axes = fig.subplots(count, columns, squeeze=False)
    return fig, axes


def _facet_panels(frame: pd.DataFrame, facet: str | None, width: float, height: float
                  ) -> tuple[list[tuple[tuple[Any, ...], pd.DataFrame]], Figure, np.ndarray]:
    """The groups of `frame` by `facet` (one group without), and a figure
    with one panel each, two per row; unused panels hidden."""
    facet_groups = list(_groups(frame, [facet] if facet else []))
    columns = min(2, len(facet_groups))
    rows = math.ceil(len(facet_groups) / columns)
    fig, axes = _panels(rows, columns, width, height)
    for ax in axes.ravel()[len(facet_groups):]:
        ax.set_visible(False)
    return facet_groups, fig, axes


def _finish(fig: Figure) -> Figure:
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


# ---- P(converged) against width or depth ----


def constant_network_probability(dead_any: np.ndarray, width: np.ndarray) -> np.ndarray:
    """p^width, every first-layer neuron dead at initialization, from the
    dead-at-init law 1-(1-p)^width of the same cells (p: one neuron's
    probability). Such a network is constant on the input domain, its first
    layer gets no gradient, and it stays constant: never a global minimizer of
    a non-constant target. Exact for one hidden layer; deeper, another layer
    dying too makes the network constant, so a lower bound."""
    one = 1.0 - (1.0 - dead_any) ** (1.0 / width)
    return np.asarray(one ** width, dtype=float)


def convergence(study: Study, x: str, table: pd.DataFrame | None = None) -> Figure:
    """Left: P(converged) against x on a log axis, Clopper-Pearson bands, the
    fitted exp(a - r x) per curve; where R* is only bracketed, the bracket's
    upper end (converged or undecided) beside it. Middle: P(certified
    non-convergence) and 1 - P(converged or undecided) (not converged for sure)
    against the dead-at-initialization law 1-(1-p)^width. Right (files with end
    states): the share of runs still descending when the budget ended, whose
    'not converged' says as much about the budget as about the optimizer."""
    table = cell_table(study) if table is None else table
    table = table[table["done"] > 0]
    others = _varying(table, [k for k in study.grid_keys if k != x])
    facet, curves = _facets(table, others, ("depth", "width", "optimizer"))
    facet_groups = list(_groups(table, [facet] if facet else []))
    columns = 3 if table["end_descending"].notna().any() else 2
    if columns == 2:
        fig, axes = _panels(len(facet_groups), 2, 6.4, 5.6)
    else:  # a narrower third column: one curve per group, few labels
        fig = Figure(figsize=(6.4 * 2 + 4.2, 5.1 * len(facet_groups) + 1.3))
        axes = fig.subplots(len(facet_groups), 3, squeeze=False,
                            gridspec_kw={"width_ratios": [6.4, 6.4, 4.2]})
    # the log axis reaches a little below the smallest drawn value
    drawn = table[["p_converged", "ci_high"]].to_numpy(dtype=float).ravel()
    drawn = drawn[drawn > 0]
    floor = 10 ** math.floor(math.log10(drawn.min() / 3)) if len(drawn) else 1e-3
    bracketed = False
    for row, (facet_values, sub) in enumerate(facet_groups):
        left, right = axes[row][:2]
        budget = axes[row][2] if columns == 3 else None
        groups = list(_groups(sub, curves))
        colors = _colors(len(groups))
        theory_drawn: set[tuple] = set()
        constant_drawn = False
        # side-by-side offsets stay within half the closest spacing of x
        spacing = np.diff(np.unique(sub[x].to_numpy(dtype=float)))
        step = min(0.018 * float(np.ptp(sub[x])), 0.5 * float(spacing.min()) /
                   max(len(groups), 1)) if len(spacing) else 0.0
        for i, ((values, cells), color) in enumerate(zip(groups, colors)):
            cells = cells.sort_values(x)
            xs = cells[x].to_numpy(dtype=float)
            p, lo, hi = (cells[c].to_numpy(dtype=float) for c in ("p_converged", "ci_low", "ci_high"))
            fit = supported_rate(xs, cells["converged"], cells["done"])
            # interval bars side by side: with counts of 0 the bands of all
            # curves would cover each other from the axis floor up
            shifted = xs + (i - (len(groups) - 1) / 2) * step
            seen = p > 0
            left.vlines(shifted, np.maximum(lo, floor), hi, color=color, lw=1.5, alpha=0.6)
            left.plot(shifted[seen], p[seen], "o-", color=color, ms=4,
                      label=f"{_label(curves, values)}: {fit.describe()}")
            left.plot(shifted[~seen], hi[~seen], "v", color=color, mfc="none", ms=6)
            if cells["undecided"].sum() > 0:  # the bracket's upper end
                upper = cells["p_converged_upper"].to_numpy(dtype=float)
                upper_hi = cells["p_converged_upper_high"].to_numpy(dtype=float)
                left.vlines(shifted, np.maximum(upper, floor), upper_hi, color=color, lw=1,
                            alpha=0.4, linestyles=":")
                left.plot(shifted, np.maximum(upper, floor), "^:", color=color, mfc="none",
                          ms=5, lw=1)
                bracketed = True
            if math.isfinite(fit.rate):
                grid = np.linspace(xs.min(), xs.max(), 100)
                left.plot(grid, fit.predict(grid), "--", color=color, lw=1)
            # right panel: the certificate and the law it follows
            cert = cells["p_certified"].to_numpy(dtype=float)
            known = np.isfinite(cert)
            if known.any():
                right.fill_between(xs[known], cells["p_certified_low"].to_numpy(float)[known],
                                   cells["p_certified_high"].to_numpy(float)[known],
                                   color=color, alpha=0.15, lw=0)
                right.vlines(shifted[known], cells["p_certified_low"].to_numpy(float)[known],
                             cells["p_certified_high"].to_numpy(float)[known], color=color,
                             lw=1, alpha=0.6)
                right.plot(shifted[known], cert[known], "s-", color=color, ms=4)
            right.plot(xs, 1 - cells["p_converged_upper"].to_numpy(dtype=float), ":",
                       color=color, lw=1.2)
            if budget is not None:
                # opaque and thin: the committed PNGs stay small (save's palette)
                budget.vlines(shifted, cells["end_descending_low"].to_numpy(float),
                              cells["end_descending_high"].to_numpy(float), color=color, lw=0.8)
                budget.plot(shifted, cells["end_descending"].to_numpy(float), "D-", color=color, ms=3,
                            lw=1, label=_label(curves, values), gid="descending_share")
            theory = cells["dead_init_probability"].to_numpy(dtype=float)
            key = tuple(np.round(theory, 12))
            if np.isfinite(theory).any() and key not in theory_drawn:
                theory_drawn.add(key)
                right.plot(xs, theory, "k--", lw=1, gid="dead_theory")
                if "width" in cells:  # a grid key; else the config's, not in the table
                    constant = constant_network_probability(
                        theory, cells["width"].to_numpy(dtype=float))
                    right.plot(xs, constant, "k-.", lw=1, gid="constant_theory")
                    constant_drawn = True
        where = f" ({facet}={facet_values[0]})" if facet else ""
        left.set_yscale("log")
        left.set_ylim(floor, 1.5)
        left.set_xlabel(AXIS_NAMES.get(x, x))
        left.set_ylabel("P(converged for sure)" + (" .. upper end" if bracketed else ""))
        left.set_title(f"P(converged) against {x}{where}", fontsize=10)
        handles, _ = left.get_legend_handles_labels()
        handles += [Line2D([], [], color="grey", marker="v", mfc="none", ls=""),
                    Line2D([], [], color="grey", ls="--", lw=1)]
        labels = [h.get_label() for h in handles[:-2]] + [
            "none converged: drawn at the 95% upper bound",
            f"fit exp(a - r {x}) to the converged-for-sure counts, r: 95% profile-likelihood CI"]
        if bracketed:
            handles.append(Line2D([], [], color="grey", marker="^", mfc="none", ls=":"))
            labels.append("converged or undecided: the bracket's upper end (R* in [lo, hi])")
        left.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        right.set_ylim(-0.02, 1.02)
        right.set_xlabel(AXIS_NAMES.get(x, x))
        right.set_ylabel("probability")
        right.set_title(f"non-convergence against {x}{where}", fontsize=10)
        keys = [Line2D([], [], color="grey", marker="s", ms=4),
                Line2D([], [], color="grey", ls=":", lw=1.2),
                Line2D([], [], color="k", ls="--", lw=1)]
        names = ["P(certified non-convergence), 95% CI",
                 "1 - P(converged or undecided): not converged for sure",
                 "1-(1-p)^width: a dead first-layer neuron at init (theory)"]
        if constant_drawn:
            keys.append(Line2D([], [], color="k", ls="-.", lw=1))
            names.append("p^width: every first-layer neuron dead, the network constant for ever "
                         "(theory; exact at depth 1, a lower bound deeper)")
        right.legend(keys, names, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        if budget is not None:
            budget.set_ylim(-0.02, 1.02)
            budget.set_xlabel(AXIS_NAMES.get(x, x))
            budget.set_ylabel("share of runs")
            budget.set_title(f"still descending at the end{where}", fontsize=10)
            if row == 0:  # the same in every row
                budget.legend([Line2D([], [], color="grey", marker="D", ms=3)],
                              ["end_state descending, 95% CI: the risk\nstill fell when the "
                               "steps ran out, so\n'not converged' measures the budget too"],
                              fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        for ax in (left, right) if budget is None else (left, right, budget):
            ax.set_xticks(sorted(sub[x].unique()))
            ax.grid(alpha=0.3)
    _title(fig, f"P(converged) against {x}; bars and bands: 95% Clopper-Pearson intervals", study)
    return _finish(fig)


def convergence_width(study: Study) -> Figure:
    return convergence(study, "width")


def convergence_depth(study: Study) -> Figure:
    return convergence(study, "depth")


# ---- mean risk against steps (paper 000) ----


STATIONARY_RELATIVE = 1e-2  # result.h's SGDMC_STATIONARY_RELATIVE
STATIONARY_ZERO = 1e-12  # and SGDMC_STATIONARY_ZERO


def budget_table(study: Study) -> pd.DataFrame:
    """Per cell and recorded trajectory point: the shares of the done runs that
    are converged for sure, converged or undecided (the bracket's ends), and,
    among them, stationary (gradient <= 1e-2 of step 0's, not converged for
    sure) or still descending (the risk fell over the last three points) at
    that step, by the rules of `sgdmc summarize --at-step` (docs/minimum.md).
    The trajectory records risk and gradient norm only: no certificate here."""
    traj = study.trajectory
    assert traj is not None, "budget_table needs the trajectory (see _has_trajectory)"
    runs = study.runs.set_index("task")
    frame = traj.sort_values(["task", "point"]).copy()
    for column in ("min_risk", "min_risk_lo", "tol", "rtol"):
        frame[column] = runs[column].reindex(frame["task"]).to_numpy()
    lo = frame["tol"] + (1 + frame["rtol"]) * frame["min_risk_lo"]
    hi = frame["tol"] + (1 + frame["rtol"]) * frame["min_risk"]
    risk = frame["risk"]
    sure = risk <= lo
    possible = sure | ~(risk > hi)  # NaN hi: undecided
    first = frame.groupby("task")["grad_norm"].transform("first")
    falling = (frame.groupby("task")["risk"].shift(2) > frame.groupby("task")["risk"].shift(1)) & \
        (frame.groupby("task")["risk"].shift(1) > risk)
    beyond = ~possible & risk.notna()
    stationary = beyond & ((frame["grad_norm"] <= STATIONARY_RELATIVE * first) |
                           (frame["grad_norm"] <= STATIONARY_ZERO))
    frame = frame.assign(sure=sure & risk.notna(), possible=possible & risk.notna(),
                         stationary=stationary, descending=beyond & ~stationary & falling)
    table = frame.groupby(["cell", "point"]).agg(
        step=("step", "median"), runs=("task", "count"), converged=("sure", "mean"),
        converged_upper=("possible", "mean"), stationary=("stationary", "mean"),
        descending=("descending", "mean")).reset_index()
    # the cell's grid values first, so that its rows say which cell they are
    keys = [k for k in study.grid_keys if k in study.cells]
    table = table.merge(study.cells[["cell", *keys]], on="cell", how="left")
    return table[["cell", *keys, *[c for c in table.columns if c not in keys and c != "cell"]]]


def end_states_against_steps(study: Study) -> Figure:
    """The budget: per cell, the P(converged) bracket and the stationary and
    descending shares against the recorded steps, so that a reader sees
    whether a curve has settled when the runs stop."""
    table = budget_table(study)
    cells = study.cells.set_index("cell")
    keys = [k for k in study.grid_keys if study.cells[k].nunique() > 1]
    count = table["cell"].nunique()
    columns = min(4, count)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(3.4 * columns + 0.6, 2.7 * rows + 1.4))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    styles = [("converged", "P(converged for sure)", "-", "tab:blue"),
              ("converged_upper", "P(converged or undecided)", "--", "tab:blue"),
              ("stationary", "stationary, not converged", ":", "tab:red"),
              ("descending", "still descending", "-.", "tab:green")]
    for ax, (cell, points) in zip(axes, table.groupby("cell")):
        for column, label, style, color in styles:
            ax.plot(points["step"], points[column], style, color=color, lw=1.4, label=label)
        ax.set_xscale("symlog", linthresh=1, linscale=0.3)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("share of runs", fontsize=8)
        ax.set_title(", ".join(f"{k}={cells.loc[cell, k]}" for k in keys) or "all runs",
                     fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes[count:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="best")
    _title(fig, "shares of runs against steps (each run's recorded risk and gradient norm; "
                "no certificate, which the trajectory does not record)", study)
    return _finish(fig)


END_STATES = [("converged", "tab:blue"), ("certified", "black"), ("stationary", "tab:red"),
              ("descending", "tab:green"), ("oscillating", "tab:olive"),
              ("undecided", "tab:gray"), ("diverged", "tab:purple")]


def end_state_table(study: Study) -> pd.DataFrame:
    """Per cell: done runs and the share of each end state at the end."""
    rows = []
    for values, cell in _groups(study.runs, study.grid_keys):
        ends = cell["end_state"].astype(str)
        shares: dict[str, float] = {name: float((ends == name).mean()) for name, _ in END_STATES}
        row: dict[str, object] = {**dict(zip(study.grid_keys, values)), "runs": len(cell)}
        rows.append({**row, **shares})
    return pd.DataFrame(rows)


def end_state_shares(study: Study) -> Figure:
    """Stacked bars of the end states per cell: the grid's last varying key
    (width, else depth) on each panel's axis, one panel per value of the
    others (optimizer rows, depth columns where both vary)."""
    table = end_state_table(study)
    keys = _varying(study.runs, study.grid_keys)
    x = "width" if "width" in keys else keys[-1] if keys else None
    others = [k for k in keys if k != x]
    row_key = "optimizer" if "optimizer" in others else (others[0] if others else None)
    col_key = next((k for k in others if k != row_key), None)
    row_values = list(dict.fromkeys(table[row_key])) if row_key else [None]
    col_values = list(dict.fromkeys(table[col_key])) if col_key else [None]
    fig = Figure(figsize=(max(7.0, 2.3 * len(col_values) + 1.2), 1.7 * len(row_values) + 1.6))
    axes = np.atleast_2d(fig.subplots(len(row_values), len(col_values), squeeze=False))
    for i, rv in enumerate(row_values):
        for j, cv in enumerate(col_values):
            ax = axes[i, j]
            sub = table
            if row_key:
                sub = sub[sub[row_key] == rv]
            if col_key:
                sub = sub[sub[col_key] == cv]
            sub = sub.sort_values(x) if x else sub
            labels = [str(v) for v in sub[x]] if x else ["all"]
            bottom = np.zeros(len(sub))
            for name, color in END_STATES:
                share = sub[name].to_numpy(dtype=float)
                ax.bar(labels, share, bottom=bottom, color=color, width=0.8,
                       label=name if (i, j) == (0, 0) else None)
                bottom += share
            ax.set_ylim(0, 1)
            ax.tick_params(labelsize=7)
            ax.set_xlabel(x or "cell", fontsize=7)
            ax.set_ylabel("share of runs", fontsize=7)
            title = ", ".join(f"{k}={v}" for k, v in ((row_key, rv), (col_key, cv)) if k)
            ax.set_title(title, fontsize=7)
    fig.legend(loc="lower center", ncol=4, fontsize=8)
    _title(fig, "End states at the last step: shares of the done runs per cell", study)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    return fig


def risk_trajectory(study: Study) -> Figure:
    """Mean risk over seeds at each recorded step, with the 95% normal
    interval of the mean; diverged runs leave the mean where they stop."""
    traj = study.trajectory
    assert traj is not None, "risk_trajectory needs the trajectory (see _has_trajectory)"
    keys = _varying(study.runs, study.grid_keys)
    # bands of crossing curves hide each other: fewer curves per panel here
    facet, curves = _facets(study.runs, keys, ("depth", "width", "optimizer"), limit=4)
    facet_groups, fig, axes = _facet_panels(traj, facet, 6.4, 4.3)
    # a band reaching 0 is cut a decade below the lowest mean, where a log
    # axis would otherwise stretch to the smallest single run
    means = traj.groupby(["cell", "point"])["risk"].mean()
    floor = means[means > 0].min() / 10 if (means > 0).any() else 1e-12
    diverged = int((study.runs["status"] == "diverged").sum())
    for ax, (facet_values, sub) in zip(axes.ravel(), facet_groups):
        groups = list(_groups(sub, curves))
        for (values, points), color in zip(groups, _colors(len(groups))):
            per_point = points.groupby("point").agg(step=("step", "median"), mean=("risk", "mean"),
                                                    sd=("risk", "std"), n=("risk", "count"))
            half = 1.96 * per_point["sd"].fillna(0) / np.sqrt(per_point["n"])
            ax.fill_between(per_point["step"], np.maximum(per_point["mean"] - half, floor),
                            per_point["mean"] + half, color=color, alpha=0.2, lw=0)
            ax.plot(per_point["step"], per_point["mean"], "o-", color=color, ms=3,
                    label=_label(curves, values))
        ax.set_xscale("symlog", linthresh=1, linscale=0.3)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("mean risk over seeds")
        where = f"{facet}={facet_values[0]}" if facet else "mean risk"
        ax.set_title(where, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    note = f"; {diverged} diverged runs count until they stop" if diverged else ""
    _title(fig, f"Mean risk over seeds against steps, bands: 95% CI of the mean{note}", study)
    return _finish(fig)


# ---- empirical CDF of risk_gap ----


GAP_CEILING = 1e3  # risk_gap_cdf draws larger gaps (runs far from any minimum) at this value


def _grid_facets(frame: pd.DataFrame, keys: list[str], prefer: tuple[str, ...],
                 limit: int = 10) -> tuple[list[str], list[str]]:
    """Up to two facet keys, taken in `prefer` order, until one panel holds at
    most `limit` curves. Returns (facet keys, curve keys)."""
    ordered = [k for k in prefer if k in keys] + [k for k in keys if k not in prefer]
    facets: list[str] = []
    while len(facets) < 2 and len(ordered) - len(facets) > 1:
        rest = [k for k in keys if k not in facets]
        if len(frame.drop_duplicates(rest)) <= limit:
            break
        facets.append(ordered[len(facets)])
    return facets, [k for k in keys if k not in facets]


def risk_gap_cdf(study: Study) -> Figure:
    """Per cell, the share of runs whose final risk_gap is at most x, so the
    share below any other threshold can be read off (a verdict also needs R*
    known: where min_risk is only an upper bound on R*, a gap below a
    threshold makes a run converged or undecided, not converged). x marks the
    cell's threshold tol + rtol min_risk. One panel per value of up to two
    keys, one colour per remaining cell, the same colours in every panel."""
    runs = study.runs
    keys = _varying(runs, study.grid_keys)
    facets, curves = _grid_facets(runs, keys, ("depth", "width", "optimizer"))
    row_values = list(runs[facets[0]].drop_duplicates()) if facets else [None]
    col_values = list(runs[facets[1]].drop_duplicates()) if len(facets) > 1 else [None]
    panels: list[tuple[tuple[Any, ...], pd.DataFrame]]
    if len(facets) == 1 and len(row_values) > 1:  # one key: wrap its panels two per row
        panels = [((v,), runs[runs[facets[0]] == v]) for v in row_values]
        columns = 2
    else:
        panels = []
        for r in row_values:
            for c in col_values:
                mask = np.ones(len(runs), dtype=bool)
                if r is not None:
                    mask &= (runs[facets[0]] == r).to_numpy()
                if c is not None:
                    mask &= (runs[facets[1]] == c).to_numpy()
                panels.append((tuple(v for v in (r, c) if v is not None), runs[mask]))
        columns = len(col_values)
    rows = math.ceil(len(panels) / columns)
    small = len(panels) > 2
    fig = Figure(figsize=(3.6 * columns if small else 6.4 * columns,
                          2.7 * rows + 2.2 if small else 4.3 * rows + 2.2))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    curve_values = [values for values, _ in _groups(runs, curves)]
    colors = dict(zip(curve_values, _colors(len(curve_values))))
    gaps = runs["risk_gap"]
    positive = gaps[gaps > 0]
    floor = positive.min() / 10 if len(positive) else 1e-12
    clipped = int((gaps <= 0).sum())
    high = int((gaps > GAP_CEILING).sum())
    for ax, (facet_values, sub) in zip(axes.ravel(), panels):
        for values, cell in _groups(sub, curves):
            total = len(cell)
            gap = np.sort(np.clip(cell["risk_gap"].dropna().to_numpy(), floor, GAP_CEILING))
            if len(gap) == 0:
                continue
            share = np.arange(1, len(gap) + 1) / total
            color = colors[values]
            ax.step(np.r_[gap[0], gap], np.r_[0, share], where="post", color=color, lw=1.2)
            threshold = (cell["tol"] + cell["rtol"] * cell["min_risk"]).median()
            if np.isfinite(threshold) and threshold > 0:
                ax.plot(threshold, np.searchsorted(gap, threshold, side="right") / total, "x",
                        color=color, ms=6 if small else 8, mew=2)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(_label(facets, facet_values) if facets else "ECDF of risk_gap across seeds",
                     fontsize=9)
        ax.tick_params(labelsize=7 if small else 9)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[:len(panels)]:
        ax.set_xlabel("risk_gap = final risk - min_risk", fontsize=7 if small else 10)
        ax.set_ylabel("share of runs, gap <= x", fontsize=7 if small else 10)
    handles: list[Any] = [Line2D([], [], color=colors[v]) for v in curve_values]
    labels = [_label(curves, v) for v in curve_values]
    handles.append(Line2D([], [], color="grey", marker="x", ls="", mew=2))
    labels.append("the cell's threshold tol + rtol min_risk")
    longest = max(len(label) for label in labels)
    legend_columns = max(1, min(len(labels), int(fig.get_figwidth() / (0.3 + 0.065 * longest))))
    legend_rows = math.ceil(len(labels) / legend_columns)
    fig.legend(handles, labels, loc="lower center", ncol=legend_columns, fontsize=8,
               frameon=False)
    notes = []
    if clipped:
        notes.append(f"{clipped} gaps <= 0 (final risk at or below min_risk) drawn at "
                     f"{floor:.2g}")
    if high:
        notes.append(f"{high} gaps > {GAP_CEILING:g} drawn at {GAP_CEILING:g}")
    note = "; " + "; ".join(notes) if notes else ""
    _title(fig, "Empirical CDF of risk_gap = final risk - min_risk across seeds. min_risk is R* "
                "where R* is known and otherwise an upper bound on R* (min_risk_source), so a "
                "gap is exact or an upper bound on the distance to the global minimum risk; "
                f"diverged runs and runs without min_risk never reach the top{note}", study)
    # tight_layout leaves room for the title itself; the legend needs its rows
    fig.tight_layout(rect=(0, (0.25 + 0.18 * legend_rows) / fig.get_figheight(), 1, 1))
    return fig


# ---- min_grad_norm (paper 003) ----


def min_grad_norm(study: Study) -> Figure:
    """One box per cell: the smallest exact gradient norm a run reached over
    its checkpoints and the end, log scale; the dotted line is summarize's
    stationarity threshold, each label carries the share below it."""
    runs = study.runs
    keys = _varying(runs, study.grid_keys)
    cells = list(_groups(runs, keys))
    values = [c["min_grad_norm"].dropna().to_numpy() for _, c in cells]
    positive = np.concatenate([v[v > 0] for v in values]) if values else np.array([])
    floor = positive.min() / 10 if len(positive) else 1e-12
    labels = []
    for (key_values, cell), v in zip(cells, values):
        share = (cell["min_grad_norm"].fillna(np.inf) <= GRAD_EPS).mean()
        labels.append(f"{_label(keys, key_values)}  (P<=eps {share:.2f}, n={len(cell)})")
    fig = Figure(figsize=(9, 0.32 * len(cells) + 2.2))
    ax = fig.subplots()
    ax.boxplot([np.maximum(v, floor) if len(v) else [np.nan] for v in values], vert=False,
               labels=labels, whis=(5, 95), flierprops={"ms": 2, "alpha": 0.5})
    ax.invert_yaxis()  # first cell on top, like the table
    ax.axvline(GRAD_EPS, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    # two lines: one did not fit a 900-pixel figure beside the cells' long labels
    ax.set_xlabel("min_grad_norm: smallest |grad risk| over checkpoints and the end\n"
                  "(the gradient of the evaluated risk, not of a batch's loss)")
    ax.set_ylabel("grid cell")
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    _title(fig, f"min_grad_norm per cell: boxes quartiles, whiskers 5-95%, dotted: eps = "
                f"{GRAD_EPS:g}", study)
    return _finish(fig)


# ---- risk against its gradient-norm bounds (paper 004) ----


def gram_points(study: Study) -> pd.Series:
    """n of the Gram measures per run: a grid key, the config's train flag, or
    sgdmc's default 32 (the file does not store it per run)."""
    if "gram_points" in study.runs:
        return study.runs["gram_points"].astype(float)
    return pd.Series(float(study.setting("gram_points", 32)), index=study.runs.index)


def gram_bounds_frame(study: Study) -> pd.DataFrame:
    """gram_risk with n|grad|^2/(4 lambda_max) <= risk <= n|grad|^2/(4 lambda_min);
    the upper bound is infinite where lambda_min = 0."""
    runs = study.runs
    n = gram_points(study)
    energy = n * runs["gram_grad_norm"] ** 2 / 4
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = energy / runs["gram_max_eig"]
        upper = np.where(runs["gram_min_eig"] > 0, energy / runs["gram_min_eig"], np.inf)
    return pd.DataFrame({"risk": runs["gram_risk"], "lower": lower, "upper": upper}, index=runs.index)


def gram_bounds_table(study: Study) -> pd.DataFrame:
    """Per cell: runs with Gram measures, how many lie within their bounds
    (relative slack 1e-9), how many have an infinite upper bound
    (lambda_min = 0), and the medians of risk / lower and upper / risk over
    the measured runs of positive risk, an infinite upper bound counted as
    infinite (it is the worst structural error, not a missing value)."""
    bounds = gram_bounds_frame(study)
    rows = []
    for values, cell in _groups(study.runs, study.grid_keys):
        b = bounds.loc[cell.index]
        measured = np.isfinite(b["risk"]) & np.isfinite(b["lower"])
        b = b[measured]
        slack = 1e-9 * b["risk"] + 1e-300
        within = (b["lower"] <= b["risk"] + slack) & (b["risk"] <= b["upper"] + slack)
        positive = b["risk"] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append({**dict(zip(study.grid_keys, values)), "runs": len(cell),
                         "measured": int(measured.sum()), "within": int(within.sum()),
                         "infinite": int((~np.isfinite(b["upper"])).sum()),
                         "median risk/lower": float(np.median(b["risk"] / b["lower"]))
                         if len(b) else math.nan,
                         "median upper/risk": float(np.median(b["upper"][positive] /
                                                              b["risk"][positive]))
                         if positive.any() else math.nan})
    return pd.DataFrame(rows)


def gram_bounds(study: Study) -> Figure:
    runs = study.runs
    bounds = gram_bounds_frame(study)
    usable = np.isfinite(bounds["risk"]) & np.isfinite(bounds["lower"])
    keys = _varying(runs, study.grid_keys)
    # colour by cell, dropping the last keys until at most 10 colours remain
    while keys and len(runs.drop_duplicates(keys)) > 10:
        keys = keys[:-1]
    fig = Figure(figsize=(12.5, 5.6))
    left, right = fig.subplots(1, 2)
    groups = list(_groups(runs[usable], keys))
    positive = bounds.loc[usable, ["risk", "lower"]]
    positive = positive[positive > 0].min().min()
    floor = positive / 10 if np.isfinite(positive) else 1e-20
    infinite = int((usable & ~np.isfinite(bounds["upper"])).sum())
    for (values, cell), color in zip(groups, _colors(len(groups))):
        b = bounds.loc[cell.index].clip(lower=floor)
        left.scatter(b["risk"], b["lower"], s=6, alpha=0.5, color=color,
                     label=_label(keys, values), rasterized=True)
        finite = np.isfinite(b["upper"])
        right.scatter(b["risk"][finite], b["upper"][finite], s=6, alpha=0.5, color=color,
                      label=f"{_label(keys, values)} ({int((~finite).sum())} infinite)",
                      rasterized=True)
    for ax, which in ((left, "lower bound n|grad R|^2 / (4 lambda_max)"),
                      (right, "upper bound n|grad R|^2 / (4 lambda_min)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        lims = [min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])]
        ax.plot(lims, lims, "k-", lw=0.8, label="bound = risk")
        ax.set_xlabel("gram_risk R: mse on the n Gram inputs")
        ax.set_ylabel(which)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", markerscale=2)
    left.set_title("lower bound: below the diagonal", fontsize=10)
    right.set_title("upper bound: above the diagonal", fontsize=10)
    # lambda_min = 0 is common (1-D ReLU networks are piecewise linear, and
    # P < n makes J J^T singular): say how often rather than show nothing
    right.text(0.03, 0.97, f"infinite (lambda_min = 0) for {infinite} of {int(usable.sum())} runs",
               transform=right.transAxes, va="top", fontsize=8)
    n = sorted(gram_points(study).unique())
    _title(fig, f"Risk against its gradient-norm bounds (Gram matrix J J^T on n = "
                f"{', '.join(f'{v:g}' for v in n)} inputs)", study)
    return _finish(fig)


# ---- positions on an x axis of grid values ----


def _numeric(values: Iterable[Any]) -> bool:
    return pd.api.types.is_numeric_dtype(pd.Series(values)) and \
        not pd.api.types.is_bool_dtype(pd.Series(values))


def _x_axis(values: Iterable[Any]) -> tuple[dict[Any, float], bool, bool]:
    """Where each grid value sits: numbers at themselves (log axis when all
    are positive and span a decade or more), anything else at 0, 1, 2, ...
    in file order. Returns (value -> position, numeric, log)."""
    distinct = list(dict.fromkeys(values))
    if _numeric(distinct):
        xs = np.array(sorted(float(v) for v in distinct))
        log = bool(xs.min() > 0 and xs.max() / xs.min() >= 10)
        return {v: float(v) for v in distinct}, True, log
    return {v: float(i) for i, v in enumerate(distinct)}, False, False


def _offsets(positions: Iterable[float], count: int, log: bool, share: float = 0.5
             ) -> list[Callable[[npt.ArrayLike], np.ndarray]]:
    """Side-by-side shifts of `count` curves at the same x, within `share` of
    the closest spacing (a factor on a log axis): shift(i) maps x to x'."""
    xs = np.unique(np.asarray(list(positions), dtype=float))
    scale = np.log(xs) if log else xs
    spacing = float(np.diff(scale).min()) if len(xs) > 1 else 1.0
    span = float(np.ptp(scale)) if len(xs) > 1 else 1.0
    step = min(0.03 * span, share * spacing / max(count, 1)) if count > 1 else 0.0

    def shift(i: int) -> Callable[[npt.ArrayLike], np.ndarray]:
        delta = (i - (count - 1) / 2) * step
        return (lambda x: np.asarray(x, float) * math.exp(delta)) if log else \
            (lambda x: np.asarray(x, float) + delta)
    return [shift(i) for i in range(count)]


def _estimated_note(study: Study) -> str:
    status = study.runs.get("status")
    if status is not None and (status == "undecided").any():
        return ("; o converged for sure, ^ converged or undecided: R* is only known in "
                "[min_risk_lo, min_risk], so P(converged) lies between them")
    return ""


# ---- P(converged) against any grid key ----


def convergence_curves(study: Study, x: str, table: pd.DataFrame | None = None) -> Figure:
    """P(converged) against a numeric grid key (paper 002: lambda = l2), one
    curve per combination of the other keys (panels by one of them past 4
    curves), 95% Clopper-Pearson bars and bands, linear probability axis."""
    table = cell_table(study) if table is None else table
    table = table[table["done"] > 0]
    others = _varying(table, [k for k in study.grid_keys if k != x])
    facet, curves = _facets(table, others, ("activation", "optimizer", "depth", "skip"), limit=4)
    facet_groups, fig, axes = _facet_panels(table, facet, 6.2, 4.6)
    where, numeric, log = _x_axis(table[x])
    for ax, (facet_values, sub) in zip(axes.ravel(), facet_groups):
        groups = list(_groups(sub, curves))
        shifts = _offsets(where.values(), len(groups), log)
        for (values, cells), color, shift in zip(groups, _colors(len(groups)), shifts):
            cells = cells.assign(_x=cells[x].map(where)).sort_values("_x")
            xs = cells["_x"].to_numpy(dtype=float)
            p, lo, hi = (cells[c].to_numpy(dtype=float) for c in ("p_converged", "ci_low", "ci_high"))
            ax.fill_between(xs, lo, hi, color=color, alpha=0.1, lw=0)
            ax.errorbar(shift(xs), p, yerr=[p - lo, hi - p], fmt="o-", color=color, ms=4, lw=1.3,
                        capsize=2, label=_label(curves, values))
            if cells["undecided"].sum() > 0:  # the bracket's upper end
                up, up_lo, up_hi = (cells[c].to_numpy(dtype=float) for c in (
                    "p_converged_upper", "p_converged_upper_low", "p_converged_upper_high"))
                ax.errorbar(shift(xs), up, yerr=[up - up_lo, up_hi - up], fmt="^:", color=color,
                            mfc="none", ms=5, lw=1, capsize=2,
                            label=f"{_label(curves, values)}: converged or undecided")
        if log:
            ax.set_xscale("log")
        ax.set_xticks(sorted(where.values()))
        ax.set_xticklabels([f"{v:g}" if numeric else str(v)
                            for v in sorted(where, key=lambda v: where[v])])
        if log:
            ax.minorticks_off()
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlabel(AXIS_NAMES.get(x, x) + (" (log scale)" if log else ""))
        ax.set_ylabel("P(converged)")
        ax.set_title(f"{facet}={facet_values[0]}" if facet else f"P(converged) against {x}",
                     fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    _title(fig, f"P(converged) against {x}; bars and bands: 95% Clopper-Pearson intervals"
                f"{_estimated_note(study)}", study)
    return _finish(fig)


def convergence_groups(study: Study, key: str, table: pd.DataFrame | None = None) -> Figure:
    """P(converged) for each value of `key` side by side (paper 004: with and
    without skips), at every combination of the other grid keys, with 95%
    Clopper-Pearson bars and the counts k/n."""
    table = cell_table(study) if table is None else table
    table = table[table["done"] > 0]
    others = _varying(table, [k for k in study.grid_keys if k != key])
    categories = list(_groups(table, others))
    levels = list(dict.fromkeys(table[key]))
    fig = Figure(figsize=(max(6.5, 1.1 * len(categories) * max(len(levels), 2) / 2 + 2.5), 5.2))
    ax = fig.subplots()
    width = 0.7 / len(levels)
    for j, (level, color) in enumerate(zip(levels, _colors(len(levels)))):
        xs, ps, lows, highs, counts, uppers = [], [], [], [], [], []
        for i, (_, cells) in enumerate(categories):
            cell = cells[cells[key] == level]
            if cell.empty:
                continue
            row = cell.iloc[0]
            xs.append(i + (j - (len(levels) - 1) / 2) * width)
            ps.append(row["p_converged"])
            lows.append(row["ci_low"])
            highs.append(row["ci_high"] if row["undecided"] == 0
                         else row["p_converged_upper_high"])
            uppers.append(row["p_converged_upper"] if row["undecided"] > 0 else np.nan)
            counts.append(f"{int(row['converged'])}/{int(row['done'])}" +
                          (f" (+{int(row['undecided'])}?)" if row["undecided"] > 0 else ""))
        p, lo, hi = (np.array(v, dtype=float) for v in (ps, lows, highs))
        ax.bar(xs, p, width=width * 0.9, color=color, alpha=0.35, lw=0)
        ax.errorbar(xs, p, yerr=[p - lo, np.maximum(hi - p, 0)], fmt="o", color=color, ms=5,
                    capsize=3, label=f"{key}={level}")
        ax.plot(xs, uppers, "^", color=color, mfc="none", ms=6)
        for xi, top, text in zip(xs, hi, counts):
            ax.text(xi, top + 0.015, text, ha="center", va="bottom", fontsize=6.5, color=color)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(["\n".join(f"{k}={v}" for k, v in zip(others, values)) or "all runs"
                        for values, _ in categories], fontsize=8)
    ax.set_xlim(-0.6, len(categories) - 0.4)
    legend_columns = min(len(levels), 3)
    ax.set_ylim(0, 1.1 + 0.07 * math.ceil(len(levels) / legend_columns))
    ax.set_xlabel(", ".join(others) if others else "")
    ax.set_ylabel("P(converged)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7.5, loc="upper left", ncol=legend_columns)
    _title(fig, f"P(converged) by {key}, bars: 95% Clopper-Pearson intervals (to the upper "
                f"end's where runs are undecided), numbers: converged/done (+undecided?)"
                f"{_estimated_note(study)}", study)
    return _finish(fig)


def convergence_against(study: Study, x: str) -> Figure:
    """The P(converged) figure for grid key x: width and depth with the fitted
    exponential rate and the certificate, other numbers as curves (3+ values,
    or values spanning a decade, like l2), anything else (names, booleans,
    two close numbers) side by side."""
    if x in ("width", "depth"):
        return convergence(study, x)
    values = study.runs[x].unique()
    if _numeric(values) and (len(values) >= 3 or _x_axis(values)[2]):
        return convergence_curves(study, x)
    return convergence_groups(study, x)


# ---- spread of the final objective across seeds (paper 002) ----


def _min_risk_meaning(study: Study) -> str:
    """What min_risk is in this study's runs, from min_risk_source."""
    source = study.runs.get("min_risk_source")
    kinds = set(source.dropna().astype(str)) - {"unknown"} if source is not None else set()
    if kinds <= {"exact"}:
        return "R* exact"
    if kinds <= {"estimated"}:
        return "an estimate of R*: the best of several minimizations, not a proof"
    return "R* where exact, else an upper bound on R* or an estimate (min_risk_source)"


def spread_table(study: Study) -> pd.DataFrame:
    """Per cell: min_risk (the cell's median; R* where exact, else an upper
    bound on R* or, for min_risk_source estimated, the best of several
    minimizations) and the distribution of final_risk across its done runs
    (diverged runs have none): min, quartiles, median with its 95% interval,
    max and range; gap_* the same of risk_gap = final_risk - min_risk (NaN
    where min_risk is unknown)."""
    runs = study.runs
    rows = []
    for values, cell in _groups(runs, study.grid_keys):
        gap = distribution_row(cell["risk_gap"])
        rows.append({**dict(zip(study.grid_keys, values)), "runs": len(cell),
                     "min_risk": float(cell["min_risk"].median()),
                     **distribution_row(cell["final_risk"]),
                     **{f"gap_{k}": gap[k] for k in ("min", "q25", "median", "q75", "max")}})
    return pd.DataFrame(rows)


def objective_spread(study: Study, x: str) -> Figure:
    """Top: the final objective of every seed per cell against x, less the
    cell's min_risk where known (R* only where exact) (thin line min to max, thick box quartiles, dot
    median). Bottom: its range max - min across seeds, against the
    tolerance: one value for every seed (paper 002's claim above the lambda
    threshold) is a range near 0."""
    table = spread_table(study)
    table = table[table["n"] > 0]
    others = _varying(table, [k for k in study.grid_keys if k != x])
    facet, curves = _facets(table, others, ("activation", "optimizer", "depth", "skip"), limit=4)
    facet_groups = list(_groups(table, [facet] if facet else []))
    fig, axes = _panels(2, len(facet_groups), 6.0, 3.9)
    where, numeric, log = _x_axis(table[x])
    gap = bool(np.isfinite(table["gap_median"]).all())
    prefix = "gap_" if gap else ""
    parts = table[[f"{prefix}{k}" for k in ("min", "q25", "median", "q75", "max")]].to_numpy(float)
    positive = np.r_[parts[parts > 0], table["range"][table["range"] > 0]]
    floor = positive.min() / 10 if len(positive) else 1e-12
    clipped = int((table[f"{prefix}min"] <= 0).sum()) if gap else 0
    zero_ranges = int((table["range"] <= 0).sum())
    tol = float(study.runs["tol"].median())
    for col, (facet_values, sub) in enumerate(facet_groups):
        top, bottom = axes[0][col], axes[1][col]
        groups = list(_groups(sub, curves))
        shifts = _offsets(where.values(), len(groups), log, share=0.7)
        for (values, cells), color, shift in zip(groups, _colors(len(groups)), shifts):
            cells = cells.assign(_x=cells[x].map(where)).sort_values("_x")
            xs = shift(cells["_x"].to_numpy(dtype=float))
            low, q25, median, q75, high = (np.maximum(cells[f"{prefix}{k}"].to_numpy(float), floor)
                                           for k in ("min", "q25", "median", "q75", "max"))
            top.vlines(xs, low, high, color=color, lw=1)
            top.vlines(xs, q25, q75, color=color, lw=5, alpha=0.7)
            top.plot(xs, median, "o", color=color, ms=3.5, mec="white", mew=0.5,
                     label=_label(curves, values))
            bottom.plot(xs, np.maximum(cells["range"], floor), "o-", color=color, ms=4,
                        label=_label(curves, values))
        for ax in (top, bottom):
            if log:
                ax.set_xscale("log")
            ax.set_xticks(sorted(where.values()))
            ax.set_xticklabels([f"{v:g}" if numeric else str(v)
                                for v in sorted(where, key=lambda v: where[v])])
            if log:
                ax.minorticks_off()
            ax.set_xlabel(AXIS_NAMES.get(x, x) + (" (log scale)" if log else ""))
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.axhline(tol, color="k", ls=":", lw=1)
            ax.text(0.01, tol, f" tol = {tol:g}", transform=ax.get_yaxis_transform(),
                    va="bottom", fontsize=7)
            ax.legend(fontsize=7, loc="best")
        top.set_ylabel("final objective - min_risk, across seeds" if gap else
                       "final objective across seeds")
        top.set_title(f"{facet}={facet_values[0]}" if facet else "final objective", fontsize=10)
        bottom.set_ylabel("range (max - min) across seeds")
    notes = [f"{clipped} cells with a gap <= 0" if clipped else "",
             f"{zero_ranges} ranges of 0" if zero_ranges else ""]
    note = "; ".join(n for n in notes if n)
    note = f"; {note} drawn at {floor:.2g}" if note else ""
    what = (f"final objective - min_risk ({_min_risk_meaning(study)})" if gap
            else "final objective")
    _title(fig, f"Spread of the final objective across seeds against {x}. Top: {what}, thin "
                f"lines min to max, boxes quartiles, dots medians; bottom: the range max - min"
                f"{note}", study)
    return _finish(fig)


# ---- the running minimum of the gradient norm against steps (paper 003) ----


def running_min_table(study: Study, level: float = LEVEL) -> pd.DataFrame:
    """From the trajectory datasets: per run the running minimum over the
    recorded points of the exact gradient norm (np.fmin.accumulate: a
    non-finite norm never lowers it), then per cell and point its median with
    the distribution-free interval and the 10% and 90% quantiles. Points past
    a diverged run's end are not counted."""
    traj = study.trajectory
    assert traj is not None, "running_min_table needs the trajectory (see _has_trajectory)"
    grad = traj.pivot(index="task", columns="point", values="grad_norm")
    recorded = traj.pivot(index="task", columns="point", values="step").notna().to_numpy()
    running = np.fmin.accumulate(grad.to_numpy(dtype=float), axis=1)
    running[~recorded] = np.nan
    cell_of = study.runs.set_index("task").loc[grad.index, "cell"].to_numpy()
    steps = traj.groupby("point")["step"].max()
    cells = study.cells.set_index("cell")
    rows: list[dict[str, Any]] = []
    for cell in np.unique(cell_of):
        block = running[cell_of == cell]
        for j, point in enumerate(grad.columns):
            rows.append({"cell": int(cell), **{k: cells.loc[cell, k] for k in study.grid_keys},
                         "point": int(point), "step": int(steps.loc[point]),
                         **distribution_row(block[:, j], level)})
    return pd.DataFrame(rows)


def min_grad_norm_trajectory(study: Study) -> Figure:
    """Median over seeds of the running minimum of the exact gradient norm
    against steps, log-log, with the 95% distribution-free interval of the
    median as a band, one line per cell (panels by timescale and the like)."""
    table = running_min_table(study)
    keys = _varying(study.runs, study.grid_keys)
    facet, curves = _facets(study.runs, keys, ("timescale", "depth", "width", "lr_schedule"),
                            limit=6)
    facet_groups, fig, axes = _facet_panels(table, facet, 6.2, 4.6)
    drawn = table[["median_low", "median"]].to_numpy(dtype=float).ravel()
    drawn = drawn[drawn > 0]
    floor = drawn.min() / 3 if len(drawn) else 1e-12
    for ax, (facet_values, sub) in zip(axes.ravel(), facet_groups):
        groups = list(_groups(sub, curves))
        for (values, points), color in zip(groups, _colors(len(groups))):
            points = points.sort_values("point")
            ax.fill_between(points["step"], np.maximum(points["median_low"], floor),
                            points["median_high"], color=color, alpha=0.2, lw=0)
            ax.plot(points["step"], np.maximum(points["median"], floor), "o-", color=color, ms=3,
                    label=_label(curves, values))
        ax.set_xscale("symlog", linthresh=1, linscale=0.3)
        ax.set_yscale("log")
        ax.set_xlabel("step (log scale; 0 at the left)")
        ax.set_ylabel("median running min of |grad risk|")
        ax.set_title(f"{facet}={facet_values[0]}" if facet else "running minimum", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    _title(fig, "Running minimum of the exact gradient norm over the recorded steps "
                "(output.trajectory): median over seeds, bands: distribution-free 95% "
                "interval of the median", study)
    return _finish(fig)


# ---- lambda_min of the Gram matrix per cell (paper 004) ----


def gram_min_eig_table(study: Study) -> pd.DataFrame:
    """Per cell: runs with Gram measures, how many have lambda_min = 0, and
    the distribution of gram_min_eig (median with its 95% interval); and the
    scale-free lambda_min / lambda_max (gram_eig_ratio), whose median and
    interval do not grow with the parameter count or the output's scale as
    lambda_min does."""
    rows = []
    for values, cell in _groups(study.runs, study.grid_keys):
        eig = cell["gram_min_eig"].to_numpy(dtype=float)
        ratio = cell["gram_eig_ratio"].to_numpy(dtype=float)
        ratio = ratio[np.isfinite(ratio)]
        ratio_low, ratio_high = median_interval(ratio)
        rows.append({**dict(zip(study.grid_keys, values)), "runs": len(cell),
                     "zero": int((eig <= 0).sum()),
                     "p_converged": float((cell["status"] == "converged").mean()),
                     **distribution_row(eig),
                     "ratio_median": float(np.median(ratio)) if len(ratio) else math.nan,
                     "ratio_low": ratio_low, "ratio_high": ratio_high})
    return pd.DataFrame(rows)


def gram_min_eig(study: Study) -> Figure:
    """One box per cell of lambda_min = gram_min_eig (log axis; quartile boxes,
    whiskers min to max, notches the 95% interval of the median, dots the
    runs), cells with and without skips side by side when skip is a key."""
    runs = study.runs
    keys = _varying(runs, study.grid_keys)
    split = "skip" if "skip" in keys else (keys[0] if len(keys) > 1 else None)
    others = [k for k in keys if k != split]
    categories = list(_groups(runs, others))
    levels = list(dict.fromkeys(runs[split])) if split else [None]
    eig = runs["gram_min_eig"]
    positive = eig[eig > 0]
    floor = positive.min() / 10 if len(positive) else 1e-12
    zeros = int((eig <= 0).sum())
    fig = Figure(figsize=(max(7.0, 0.75 * len(categories) * len(levels) + 2.5), 5.4))
    ax = fig.subplots()
    width = 0.75 / len(levels)
    rng = np.random.default_rng(0)  # the jitter of the dots, fixed
    few = 0  # boxes with too few values for a 95% interval of the median
    for j, (level, color) in enumerate(zip(levels, _colors(len(levels)))):
        data, positions, notches, medians = [], [], [], []
        for i, (_, cells) in enumerate(categories):
            cell = cells[cells[split] == level] if split else cells
            v = cell["gram_min_eig"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if len(v) == 0:
                continue
            # the median of the values themselves (not of the floored ones)
            medians.append(max(float(np.median(v)), floor))
            v = np.maximum(v, floor)
            position = i + (j - (len(levels) - 1) / 2) * width
            data.append(v)
            positions.append(position)
            low, high = median_interval(v)
            # too few values for a 95% interval: the notch spans the range
            notches.append((low, high) if np.isfinite(low) else (float(v.min()), float(v.max())))
            few += not np.isfinite(low)
            ax.scatter(position + rng.uniform(-0.25, 0.25, len(v)) * width, v, s=4, color=color,
                       alpha=0.45, lw=0, zorder=3)
        if not data:
            continue
        box = ax.boxplot(data, positions=positions, widths=width * 0.8, whis=(0, 100),
                         notch=True, conf_intervals=notches, usermedians=medians,
                         patch_artist=True,
                         showfliers=False, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set(facecolor=(*color[:3], 0.25), edgecolor=color)
        for part in ("whiskers", "caps", "medians"):
            for line in box[part]:
                line.set(color=color if part != "medians" else "k", lw=1.2)
        ax.plot([], [], "s", color=color, alpha=0.6, label=f"{split}={level}" if split else "runs")
    ax.set_yscale("log")
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(["\n".join(f"{k}={v}" for k, v in zip(others, values)) or "all runs"
                        for values, _ in categories], fontsize=8)
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_xlabel(", ".join(others))
    ax.set_ylabel("gram_min_eig = lambda_min(J J^T)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="best")
    n = sorted(gram_points(study).unique())
    note = f"; {zeros} runs with lambda_min = 0 drawn at {floor:.2g}" if zeros else ""
    if few:
        note += (f"; {few} boxes of fewer than 6 runs: their notch is the range, which covers "
                 "the median with probability below 95%")
    _title(fig, f"lambda_min of the Gram matrix on n = {', '.join(f'{v:g}' for v in n)} inputs "
                f"at the end: boxes quartiles, whiskers min-max, notches 95% interval of the "
                f"median{note}", study)
    return _finish(fig)


# ---- which plots a file supports, and which it is about ----


def _grid_with(study: Study, key: str) -> str | None:
    if key not in study.grid_keys:
        return f"{key} is not a grid key"
    if study.runs[key].nunique() < 2:
        return f"fewer than two {key} values among the done runs"
    return None


def _has_finite(study: Study, *columns: str) -> str | None:
    for column in columns:
        if column not in study.runs or not np.isfinite(study.runs[column]).any():
            return f"no finite {column}"
    return None


def _has_trajectory(study: Study) -> str | None:
    if study.trajectory is None or not len(study.trajectory):
        return "no trajectory datasets"
    return None


def _has_trajectory_grad_norm(study: Study) -> str | None:
    # checked after _has_trajectory (see PLOTS), so the trajectory is there
    assert study.trajectory is not None
    if np.isfinite(study.trajectory["grad_norm"]).any():
        return None
    return "no finite trajectory grad_norm"


def _needs_runs(check: Callable[[Study], str | None]) -> Callable[[Study], str | None]:
    return lambda study: "no done runs" if study.runs.empty else check(study)


def _all(*checks: Callable[[Study], str | None]) -> Callable[[Study], str | None]:
    def check(study: Study) -> str | None:
        for c in checks:
            if (why := c(study)) is not None:
                return why
        return None
    return _needs_runs(check)


@dataclass(frozen=True)
class Plot:
    name: str
    what: str
    draw: Callable[[Study], Figure]
    missing: Callable[[Study], str | None]  # why the file cannot make it, or None
    trajectory: bool = False  # reads study.trajectory
    # the numbers it shows, as a table (figures writes them beside the PNGs),
    # and the columns of it worth reading as text (None: all)
    numbers: Callable[[Study], pd.DataFrame] | None = None
    text_columns: tuple[str, ...] | None = None

    def numbers_frame(self, study: Study) -> pd.DataFrame | None:
        """The plotted numbers with grid keys and the text columns only."""
        if self.numbers is None:
            return None
        frame = self.numbers(study)
        if self.text_columns is None:
            return frame
        keys = [k for k in study.grid_keys if k in frame]
        return frame[keys + [c for c in self.text_columns if c in frame]]


def convergence_plot(x: str) -> Plot:
    """P(converged) against grid key x (python3 -m analysis plot --x KEY)."""
    what = {"width": "P(converged) and certified non-convergence against width, fitted "
                     "exponential rate, 1-(1-p)^width",
            "depth": "the same against depth"}.get(
        x, f"P(converged) against {x}, 95% Clopper-Pearson bands (any grid key: convergence_KEY)")
    return Plot(f"convergence_{x}", what, lambda s: convergence_against(s, x),
                _needs_runs(lambda s: _grid_with(s, x)))


def spread_plot(x: str) -> Plot:
    """The final objective's spread across seeds against grid key x."""
    return Plot(f"objective_spread_{x}", f"final objective across seeds (min, quartiles, max) "
                f"and its range against {x} (any grid key: objective_spread_KEY)",
                lambda s: objective_spread(s, x),
                _all(lambda s: _grid_with(s, x), lambda s: _has_finite(s, "final_risk")),
                numbers=spread_table,
                text_columns=("runs", "n", "min_risk", "min", "q25", "median", "median_low",
                              "median_high", "q75", "max", "range", "gap_median"))


PLOTS = {p.name: p for p in [
    convergence_plot("width"),
    convergence_plot("depth"),
    convergence_plot("l2"),
    spread_plot("l2"),
    convergence_plot("skip"),
    Plot("risk_trajectory", "mean risk over seeds against steps (output.trajectory)",
         risk_trajectory, _needs_runs(_has_trajectory), trajectory=True),
    Plot("end_states_against_steps", "P(converged) bracket, stationary and descending shares "
         "against steps (output.trajectory)", end_states_against_steps,
         _needs_runs(_has_trajectory), trajectory=True, numbers=budget_table),
    Plot("end_state_shares", "shares of the end states per cell (stacked bars)",
         end_state_shares, _needs_runs(lambda s: None), numbers=end_state_table),
    Plot("risk_gap_cdf", "empirical CDF of risk_gap per cell", risk_gap_cdf,
         _needs_runs(lambda s: _has_finite(s, "risk_gap"))),
    Plot("min_grad_norm", "min_grad_norm distribution per cell", min_grad_norm,
         _needs_runs(lambda s: _has_finite(s, "min_grad_norm"))),
    Plot("min_grad_norm_trajectory", "median running minimum of the gradient norm against "
         "steps (output.trajectory)", min_grad_norm_trajectory,
         _all(_has_trajectory, _has_trajectory_grad_norm), trajectory=True,
         numbers=running_min_table,
         text_columns=("step", "n", "q10", "median", "median_low", "median_high", "q90")),
    Plot("gram_min_eig", "gram_min_eig (lambda_min) per cell, with and without skips",
         gram_min_eig, _needs_runs(lambda s: _has_finite(s, "gram_min_eig")),
         numbers=gram_min_eig_table,
         text_columns=("runs", "p_converged", "n", "zero", "min", "q25", "median", "median_low",
                       "median_high", "q75", "max", "ratio_median", "ratio_low", "ratio_high")),
    Plot("gram_bounds", "gram_risk against its gradient-norm bounds", gram_bounds,
         _needs_runs(lambda s: _has_finite(s, "gram_risk", "gram_grad_norm", "gram_max_eig")),
         numbers=gram_bounds_table),
]}

PATTERNS = ("convergence_KEY", "objective_spread_KEY")
LARGE_GRID = 40  # cells: beyond, automatic() draws end_state_shares, not curves per cell


def plot_named(name: str) -> Plot | None:
    """A plot of PLOTS, or convergence_KEY / objective_spread_KEY for any grid key."""
    if name in PLOTS:
        return PLOTS[name]
    for prefix, make in (("convergence_", convergence_plot), ("objective_spread_", spread_plot)):
        if name.startswith(prefix) and len(name) > len(prefix):
            return make(name[len(prefix):])
    return None


def known_plot(name: str) -> Plot:
    """plot_named for a name already known to be one (from PLOTS, automatic,
    or checked against plot_named before): None here would be a bug."""
    plot = plot_named(name)
    assert plot is not None, f"unknown plot {name}"
    return plot


def gram_requested(study: Study) -> bool:
    """The config asks for Gram measures (gram_points in the grid or train
    group). sgdmc also measures them by default, but then nobody asked."""
    if "gram_points" in study.grid_keys:
        return True
    value = study.setting("gram_points", 0)
    return isinstance(value, (int, float)) and value > 0


def automatic(study: Study) -> list[str]:
    """The plots that show what a study is about, by its grid and config:
    - l2 in the grid (paper 002): P(converged) and the objective's spread
      against l2; skip in the grid (paper 004): P(converged) with and
      without skips; otherwise width and depth: P(converged) against them.
    - Gram measures asked for (gram_points, paper 004): lambda_min per cell
      and the risk against its gradient-norm bounds.
    - paper 003's momentum framework in the grid (timescale), or R* unknown
      for every run: stationarity is what is judged: min_grad_norm and, with
      trajectories, its running minimum against steps.
    - R* known, in a study that is neither about l2 nor Gram measures (000,
      001): the ECDF of risk_gap and, with trajectories, the risk and the
      shares of end states against steps (the budget); without trajectories,
      or on grids of more than 40 cells, the end states per cell.
    Only plots the file can make; any other plot can be asked for by name."""
    runs = study.runs
    varied = [k for k in study.grid_keys if k in runs and runs[k].nunique() > 1]
    names: list[str] = []
    own = [k for k in ("l2", "skip") if k in varied]
    for key in own:
        names.append(f"convergence_{key}")
        if key == "l2":
            names.append("objective_spread_l2")
    if not own:
        names += [f"convergence_{k}" for k in ("width", "depth") if k in varied]
    gram = gram_requested(study)
    if gram:
        names += ["gram_min_eig", "gram_bounds"]
    rstar_known = "risk_gap" in runs and bool(np.isfinite(runs["risk_gap"]).any())
    if not rstar_known or "timescale" in varied:
        names += ["min_grad_norm", "min_grad_norm_trajectory"]
    elif "l2" not in varied and not gram:
        # a large grid (paper 001 medium): per-cell curves against steps would be
        # hundreds of panels; the end states per cell stand in for them, as they
        # do without trajectories
        if len(study.cells) > LARGE_GRID or _has_trajectory(study) is not None:
            names += ["end_state_shares", "risk_gap_cdf"]
        else:
            names += ["risk_trajectory", "end_states_against_steps", "risk_gap_cdf"]
    order = list(PLOTS)
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    return [n for n in names if known_plot(n).missing(study) is None]


def save(fig: Figure, out_dir: Path, name: str, formats: list[str], dpi: int = 100,
         compact: bool = False) -> list[Path]:
    """Writes name.FORMAT for each format. compact: PNGs with a 128-colour
    palette, a third of the size, for figures committed to the repository."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        # no creation date or version in the files: regenerated figures only
        # change when the data do
        metadata = {"CreationDate": None} if fmt == "pdf" else \
            {"Software": None} if fmt == "png" else {}
        if fmt == "png" and compact:
            # matplotlib's own dependency (no type hints before Pillow 10)
            from PIL import Image
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, metadata=metadata)
            image = Image.open(buffer).convert("RGB")
            image.quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE).save(path, optimize=True)
        else:
            fig.savefig(path, dpi=dpi, metadata=metadata)
        written.append(path)
    return written
