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
from typing import Callable

import matplotlib

matplotlib.use("Agg")  # cluster nodes and CI have no display
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .load import Study  # noqa: E402
from .stats import cell_table, fit_exponential_rate  # noqa: E402

MAX_CURVES = 8  # curves per axes before the grid is split into panels
GRAD_EPS = 1e-3  # summarize's default stationarity threshold

AXIS_NAMES = {
    "width": "width (neurons per hidden layer)",
    "depth": "depth (hidden layers)",
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


def _label(keys: list[str], values) -> str:
    if not keys:
        return "all runs"
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values))


def _varying(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    return [k for k in keys if k in frame and frame[k].nunique() > 1]


def _groups(frame: pd.DataFrame, keys: list[str]):
    """(values, sub-frame) per combination of keys, in file order."""
    if not keys:
        yield (), frame
        return
    for values, sub in frame.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        yield (values if isinstance(values, tuple) else (values,)), sub


def _facets(frame: pd.DataFrame, keys: list[str], prefer: tuple[str, ...] = (),
            limit: int = MAX_CURVES):
    """Splits the curves into panels by one key when one axes would hold
    more than `limit`. Returns (facet key or None, curve keys)."""
    combos = len(frame.drop_duplicates(keys)) if keys else 1
    if combos <= limit or len(keys) < 2:
        return None, keys
    ordered = [k for k in prefer if k in keys] + [k for k in keys if k not in prefer]
    facet = ordered[0]
    return facet, [k for k in keys if k != facet]


def _colors(n: int):
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _panels(count: int, columns: int, width: float, height: float):
    fig = Figure(figsize=(width * columns, height * count + 1.3))
    axes = fig.subplots(count, columns, squeeze=False)
    return fig, axes


def _finish(fig: Figure) -> Figure:
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


# ---- P(converged) against width or depth ----


def convergence(study: Study, x: str, table: pd.DataFrame | None = None) -> Figure:
    """Left: P(converged) against x on a log axis, Clopper-Pearson bands, the
    fitted exp(a - r x) per curve. Right: P(certified non-convergence) and
    1 - P(converged) against the dead-at-initialization law 1-(1-p)^width."""
    table = cell_table(study) if table is None else table
    table = table[table["done"] > 0]
    others = _varying(table, [k for k in study.grid_keys if k != x])
    facet, curves = _facets(table, others, ("depth", "width", "optimizer"))
    facet_groups = list(_groups(table, [facet] if facet else []))
    fig, axes = _panels(len(facet_groups), 2, 6.4, 5.6)
    # the log axis reaches a little below the smallest drawn value
    drawn = table[["p_converged", "ci_high"]].to_numpy(dtype=float).ravel()
    drawn = drawn[drawn > 0]
    floor = 10 ** math.floor(math.log10(drawn.min() / 3)) if len(drawn) else 1e-3
    for row, (facet_values, sub) in enumerate(facet_groups):
        left, right = axes[row]
        groups = list(_groups(sub, curves))
        colors = _colors(len(groups))
        theory_drawn: set[tuple] = set()
        # side-by-side offsets stay within half the closest spacing of x
        spacing = np.diff(np.unique(sub[x].to_numpy(dtype=float)))
        step = min(0.018 * float(np.ptp(sub[x])), 0.5 * float(spacing.min()) /
                   max(len(groups), 1)) if len(spacing) else 0.0
        for i, ((values, cells), color) in enumerate(zip(groups, colors)):
            cells = cells.sort_values(x)
            xs = cells[x].to_numpy(dtype=float)
            p, lo, hi = (cells[c].to_numpy(dtype=float) for c in ("p_converged", "ci_low", "ci_high"))
            fit = fit_exponential_rate(xs, cells["converged"], cells["done"])
            # interval bars side by side: with counts of 0 the bands of all
            # curves would cover each other from the axis floor up
            shifted = xs + (i - (len(groups) - 1) / 2) * step
            seen = p > 0
            left.vlines(shifted, np.maximum(lo, floor), hi, color=color, lw=1.5, alpha=0.6)
            left.plot(shifted[seen], p[seen], "o-", color=color, ms=4,
                      label=f"{_label(curves, values)}: {fit.describe()}")
            left.plot(shifted[~seen], hi[~seen], "v", color=color, mfc="none", ms=6)
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
            right.plot(xs, 1 - p, ":", color=color, lw=1.2)
            theory = cells["dead_init_probability"].to_numpy(dtype=float)
            key = tuple(np.round(theory, 12))
            if np.isfinite(theory).any() and key not in theory_drawn:
                theory_drawn.add(key)
                right.plot(xs, theory, "k--", lw=1)
        where = f" ({facet}={facet_values[0]})" if facet else ""
        left.set_yscale("log")
        left.set_ylim(floor, 1.5)
        left.set_xlabel(AXIS_NAMES.get(x, x))
        left.set_ylabel("P(converged)")
        left.set_title(f"P(converged) against {x}{where}", fontsize=10)
        handles, _ = left.get_legend_handles_labels()
        handles += [Line2D([], [], color="grey", marker="v", mfc="none", ls=""),
                    Line2D([], [], color="grey", ls="--", lw=1)]
        labels = [h.get_label() for h in handles[:-2]] + [
            "none converged: drawn at the 95% upper bound",
            f"fit exp(a - r {x}), r: 95% profile-likelihood CI"]
        left.legend(handles, labels, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        right.set_ylim(-0.02, 1.02)
        right.set_xlabel(AXIS_NAMES.get(x, x))
        right.set_ylabel("probability")
        right.set_title(f"non-convergence against {x}{where}", fontsize=10)
        right.legend([Line2D([], [], color="grey", marker="s", ms=4),
                      Line2D([], [], color="grey", ls=":", lw=1.2),
                      Line2D([], [], color="k", ls="--", lw=1)],
                     ["P(certified non-convergence), 95% CI", "1 - P(converged)",
                      "1-(1-p)^width: a dead first-layer neuron at init (theory)"],
                     fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
        for ax in (left, right):
            ax.set_xticks(sorted(sub[x].unique()))
            ax.grid(alpha=0.3)
    _title(fig, f"P(converged) against {x}; bars and bands: 95% Clopper-Pearson intervals", study)
    return _finish(fig)


def convergence_width(study: Study) -> Figure:
    return convergence(study, "width")


def convergence_depth(study: Study) -> Figure:
    return convergence(study, "depth")


# ---- mean risk against steps (paper 000) ----


def risk_trajectory(study: Study) -> Figure:
    """Mean risk over seeds at each recorded step, with the 95% normal
    interval of the mean; diverged runs leave the mean where they stop."""
    traj = study.trajectory
    keys = _varying(study.runs, study.grid_keys)
    # bands of crossing curves hide each other: fewer curves per panel here
    facet, curves = _facets(study.runs, keys, ("depth", "width", "optimizer"), limit=4)
    facet_groups = list(_groups(traj, [facet] if facet else []))
    columns = min(2, len(facet_groups))
    rows = math.ceil(len(facet_groups) / columns)
    fig, axes = _panels(rows, columns, 6.4, 4.3)
    for ax in axes.ravel()[len(facet_groups):]:
        ax.set_visible(False)
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


def risk_gap_cdf(study: Study) -> Figure:
    """Per cell, the share of runs whose final risk_gap is at most x, so the
    verdict at any other tolerance can be read off. x marks the run's own
    tolerance tol + rtol R*."""
    runs = study.runs
    keys = _varying(runs, study.grid_keys)
    facet, curves = _facets(runs, keys, ("depth", "width", "optimizer"))
    facet_groups = list(_groups(runs, [facet] if facet else []))
    columns = min(2, len(facet_groups))
    rows = math.ceil(len(facet_groups) / columns)
    fig, axes = _panels(rows, columns, 6.4, 4.3)
    for ax in axes.ravel()[len(facet_groups):]:
        ax.set_visible(False)
    gaps = runs["risk_gap"]
    positive = gaps[gaps > 0]
    floor = positive.min() / 10 if len(positive) else 1e-12
    clipped = int((gaps <= 0).sum())
    for ax, (facet_values, sub) in zip(axes.ravel(), facet_groups):
        groups = list(_groups(sub, curves))
        for (values, cell), color in zip(groups, _colors(len(groups))):
            total = len(cell)
            gap = np.sort(np.maximum(cell["risk_gap"].dropna().to_numpy(), floor))
            if len(gap) == 0:
                continue
            share = np.arange(1, len(gap) + 1) / total
            ax.step(np.r_[gap[0], gap], np.r_[0, share], where="post", color=color,
                    label=_label(curves, values))
            threshold = (cell["tol"] + cell["rtol"] * cell["min_risk"]).median()
            if np.isfinite(threshold) and threshold > 0:
                ax.plot(threshold, np.searchsorted(gap, threshold, side="right") / total, "x",
                        color=color, ms=8, mew=2)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("risk_gap = final risk - R* (log scale)")
        ax.set_ylabel("share of runs with risk_gap <= x")
        ax.set_title(f"{facet}={facet_values[0]}" if facet else "ECDF of risk_gap across seeds",
                     fontsize=10)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color="grey", marker="x", ls="", mew=2))
        labels.append("the runs' tolerance tol + rtol R*")
        ax.legend(handles, labels, fontsize=7, loc="best")
    note = f"; {clipped} gaps <= 0 drawn at {floor:.2g}" if clipped else ""
    _title(fig, "Empirical CDF of risk_gap across seeds (runs with unknown R* or diverged "
                f"never reach the line){note}", study)
    return _finish(fig)


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
    ax.set_xlabel("min_grad_norm: smallest exact |grad risk| over checkpoints and the end")
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


# ---- which plots a file supports ----


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


def _needs_runs(check: Callable[[Study], str | None]) -> Callable[[Study], str | None]:
    return lambda study: "no done runs" if study.runs.empty else check(study)


@dataclass(frozen=True)
class Plot:
    name: str
    what: str
    draw: Callable[[Study], Figure]
    missing: Callable[[Study], str | None]  # why the file cannot make it, or None


PLOTS = {p.name: p for p in [
    Plot("convergence_width", "P(converged) and certified non-convergence against width, "
         "fitted exponential rate, 1-(1-p)^width", convergence_width,
         _needs_runs(lambda s: _grid_with(s, "width"))),
    Plot("convergence_depth", "the same against depth", convergence_depth,
         _needs_runs(lambda s: _grid_with(s, "depth"))),
    Plot("risk_trajectory", "mean risk over seeds against steps (output.trajectory)",
         risk_trajectory, _needs_runs(lambda s: None if s.trajectory is not None
                                      and len(s.trajectory) else "no trajectory datasets")),
    Plot("risk_gap_cdf", "empirical CDF of risk_gap per cell", risk_gap_cdf,
         _needs_runs(lambda s: _has_finite(s, "risk_gap"))),
    Plot("min_grad_norm", "min_grad_norm distribution per cell", min_grad_norm,
         _needs_runs(lambda s: _has_finite(s, "min_grad_norm"))),
    Plot("gram_bounds", "gram_risk against its gradient-norm bounds", gram_bounds,
         _needs_runs(lambda s: _has_finite(s, "gram_risk", "gram_grad_norm", "gram_max_eig"))),
]}


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
            from PIL import Image  # matplotlib's own dependency
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, metadata=metadata)
            image = Image.open(buffer).convert("RGB")
            image.quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE).save(path, optimize=True)
        else:
            fig.savefig(path, dpi=dpi, metadata=metadata)
        written.append(path)
    return written
