"""The figures of papers 002, 003 and 004 on small real studies (logistic.cfg,
stationarity.cfg, skip.cfg): which plots are chosen, and the numbers drawn in
them against an independent computation from the HDF5 file with h5py and numpy."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from scipy import stats

from analysis import load_study
from analysis.plots import (automatic, gram_bounds_frame, gram_min_eig_table, gram_points,
                            plot_named, running_min_table, save, spread_table)
from conftest import REPO
from order_statistics import median_interval
from test_plots import assert_pdf, assert_png


# ---- the file read directly ----


def read(path) -> tuple[dict, int]:
    """Every /runs dataset (strings decoded) and the seeds per cell."""
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        data = {}
        for name in ("status", "final_risk", "risk_gap", "min_risk", "gram_min_eig",
                     "gram_max_eig", "gram_risk", "gram_grad_norm", "done"):
            data[name] = runs[name][...]
        for key in [k.decode() for k in f.attrs["grid_keys"]]:
            values = runs[key][...]
            data[key] = np.char.decode(values) if values.dtype.kind == "S" else values
        if "trajectory" in runs:
            data["trajectory/grad_norm"] = runs["trajectory/grad_norm"][...]
            data["trajectory/step"] = runs["trajectory/step"][...]
        data["converged_code"] = h5py.check_enum_dtype(runs["status"].dtype)["converged"]
        data["undecided_code"] = h5py.check_enum_dtype(runs["status"].dtype)["undecided"]
        seeds = int(f.attrs["seeds"])
    assert (data["done"] == 1).all()
    return data, seeds


def cells(data: dict, seeds: int, keys: list[str]):
    """(values of the keys, row slice) per cell, in file order."""
    for start in range(0, len(data["status"]), seeds):
        yield tuple(data[k][start].item() for k in keys), slice(start, start + seeds)


def errorbars(ax) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """label -> (x, y, bar low, bar high) of every errorbar drawn on ax."""
    out = {}
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            line, _, (bars,) = container.lines
            segments = np.array(bars.get_segments())
            out[container.get_label()] = (np.asarray(line.get_xdata(), float),
                                          np.asarray(line.get_ydata(), float),
                                          segments[:, 0, 1], segments[:, 1, 1])
    return out


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    low = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    high = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return low, high


# ---- paper 002: P(converged) and the objective's spread against l2 ----


def test_logistic_selection(logistic_file):
    study = load_study(str(logistic_file))
    assert automatic(study) == ["convergence_l2", "objective_spread_l2"]


def test_p_converged_against_l2(logistic_file, tmp_path):
    study = load_study(str(logistic_file))
    data, seeds = read(logistic_file)
    fig = plot_named("convergence_l2").draw(study)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
    assert len(axes) == 1  # two curves: no panels
    ax = axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "P(converged)"
    drawn = errorbars(ax)
    # R* is estimated (an upper bound) and only 0 is a proven lower bound: the
    # bracket's two ends, converged for sure and converged or undecided
    upper = ": converged or undecided"
    assert sorted(drawn) == ["width=2", "width=2" + upper, "width=8", "width=8" + upper]
    expected: dict[tuple[int, str], list] = {}
    for (l2, width), rows in cells(data, seeds, ["l2", "width"]):
        status = data["status"][rows]
        sure = int((status == data["converged_code"]).sum())
        possible = sure + int((status == data["undecided_code"]).sum())
        for end, k in (("", sure), (upper, possible)):
            expected.setdefault((int(width), end), []).append(
                (l2, k / seeds, *clopper_pearson(k, seeds)))
    for (width, end), points in expected.items():
        points.sort()
        x, p, low, high = drawn[f"width={width}{end}"]
        l2 = np.array([q[0] for q in points])
        # side-by-side offsets stay within a few percent of a decade
        assert np.allclose(np.log10(x), np.log10(l2), atol=0.1)
        assert np.allclose(p, [q[1] for q in points], atol=1e-12)
        assert np.allclose(low, [q[2] for q in points], atol=1e-9)
        assert np.allclose(high, [q[3] for q in points], atol=1e-9)
    # the tiny study shows the paper's picture on the upper end: no run is
    # within tol of the estimated R* at lambda 0.001 within 2000 steps, every
    # run at lambda 1; none is converged for sure (lo = 0 for this problem)
    assert [q[1] for q in expected[(8, upper)]] == [0.0, 1.0]
    assert [q[1] for q in expected[(8, "")]] == [0.0, 0.0]
    assert_png(save(fig, tmp_path, "convergence_l2", ["png"], compact=True)[0])


def test_objective_spread_against_l2(logistic_file, tmp_path):
    study = load_study(str(logistic_file))
    data, seeds = read(logistic_file)
    table = spread_table(study)
    fig = plot_named("objective_spread_l2").draw(study)
    top, bottom = [ax for ax in fig.axes if ax.has_data()]
    assert top.get_yscale() == bottom.get_yscale() == top.get_xscale() == "log"
    for (l2, width), rows in cells(data, seeds, ["l2", "width"]):
        final, gap = data["final_risk"][rows], data["risk_gap"][rows]
        row = table[(table["l2"] == l2) & (table["width"] == width)].iloc[0]
        assert row["range"] == pytest.approx(np.ptp(final), rel=1e-12)
        assert row["min"] == final.min() and row["max"] == final.max()
        assert row["median"] == pytest.approx(np.median(final), rel=1e-12)
        assert row["gap_median"] == pytest.approx(np.median(gap), rel=1e-9, abs=1e-15)
        assert row["min_risk"] == pytest.approx(np.median(data["min_risk"][rows]), rel=1e-12)
    for ax, column in ((bottom, "range"), (top, "gap_median")):
        lines = [line for line in ax.get_lines() if line.get_label().startswith("width=")]
        assert len(lines) == 2
        for line in lines:
            width = int(line.get_label().split("=")[1])
            want = table[table["width"] == width].sort_values("l2")[column].to_numpy()
            got = np.asarray(line.get_ydata(), float)
            shown = want > 0  # values <= 0 sit at the axis floor
            assert shown.any() and np.allclose(got[shown], want[shown], rtol=1e-12)
    # every seed ends closer together at lambda 1 than at 0.001
    for width in (2, 8):
        ranges = table[table["width"] == width].sort_values("l2")["range"].to_numpy()
        assert ranges[-1] < ranges[0]
    assert_png(save(fig, tmp_path, "objective_spread_l2", ["png"], compact=True)[0])


# ---- paper 003: the running minimum of the gradient norm against steps ----


def test_stationarity_selection(stationarity_file):
    study = load_study(str(stationarity_file))
    assert "timescale" in study.varying_keys()  # paper 003's framework
    assert automatic(study) == ["min_grad_norm", "min_grad_norm_trajectory"]


def test_running_min_medians(stationarity_file, tmp_path):
    study = load_study(str(stationarity_file))
    data, seeds = read(stationarity_file)
    grad, steps = data["trajectory/grad_norm"], data["trajectory/step"]
    assert (steps >= 0).all()  # no run diverged: every point recorded
    running = np.fmin.accumulate(grad, axis=1)
    table = running_min_table(study)
    fig = plot_named("min_grad_norm_trajectory").draw(study)
    (ax,) = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "symlog"
    lines = {line.get_label(): line for line in ax.get_lines()}
    for (optimizer, timescale), rows in cells(data, seeds, ["optimizer", "timescale"]):
        block = running[rows]
        median = np.median(block, axis=0)
        mine = table[(table["optimizer"] == optimizer) & (table["timescale"] == timescale)]
        mine = mine.sort_values("point")
        assert list(mine["step"]) == list(steps[rows.start])
        assert np.allclose(mine["median"], median, rtol=1e-12)
        intervals = [median_interval(block[:, j]) for j in range(block.shape[1])]
        assert np.allclose(mine["median_low"], [i[0] for i in intervals], rtol=0)
        assert np.allclose(mine["median_high"], [i[1] for i in intervals], rtol=0)
        assert (mine["n"] == seeds).all()
        line = lines[f"optimizer={optimizer}, timescale={timescale}"]
        assert list(line.get_xdata()) == list(steps[rows.start])
        assert np.allclose(line.get_ydata(), median, rtol=1e-12)
        # a running minimum never rises, and here it falls from step 0
        assert (np.diff(median) <= 0).all() and median[-1] < median[0]
    assert_png(save(fig, tmp_path, "min_grad_norm_trajectory", ["png"], compact=True)[0])


def test_running_min_stops_at_a_diverged_run(stationarity_file):
    """Points past a run's end (step -1 in the file, absent from the frame)
    are not counted; a non-finite norm never lowers the running minimum."""
    study = load_study(str(stationarity_file))
    data, seeds = read(stationarity_file)
    traj = study.trajectory
    first = traj["task"] == 0
    traj = traj[~(first & (traj["point"] >= 4))].copy()  # run 0 stops after point 3
    traj.loc[first & (traj["point"] == 2), "grad_norm"] = np.nan  # and has a NaN at point 2
    table = running_min_table(dataclasses.replace(study, trajectory=traj))
    grad = data["trajectory/grad_norm"][:seeds].copy()
    grad[0, 2] = np.nan
    running = np.fmin.accumulate(grad, axis=1)
    running[0, 4:] = np.nan
    cell0 = table[table["cell"] == 0].sort_values("point")
    assert list(cell0["n"]) == [seeds] * 4 + [seeds - 1] * 2
    assert np.allclose(cell0["median"], np.nanmedian(running, axis=0), rtol=1e-12)
    assert running[0, 2] == running[0, 1]  # the NaN did not count


# ---- paper 004: lambda_min per cell, the bounds, P(converged) by skip ----


def test_skip_selection(skip_file):
    study = load_study(str(skip_file))
    assert automatic(study) == ["convergence_skip", "gram_min_eig", "gram_bounds"]


def test_gram_min_eig_per_cell(skip_file, tmp_path):
    study = load_study(str(skip_file))
    data, seeds = read(skip_file)
    table = gram_min_eig_table(study)
    fig = plot_named("gram_min_eig").draw(study)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    # the black median lines of the boxes, left to right
    medians = sorted((float(np.mean(line.get_xdata())), float(line.get_ydata()[0]))
                     for line in ax.get_lines()
                     if line.get_color() == "k" and len(line.get_ydata()) == 2)
    eig = data["gram_min_eig"]
    floor = eig[eig > 0].min() / 10
    expected = []
    for (skip, width), rows in cells(data, seeds, ["skip", "width"]):
        values = eig[rows]
        row = table[(table["skip"] == skip) & (table["width"] == width)].iloc[0]
        assert row["median"] == pytest.approx(np.median(values), rel=1e-12, abs=0)
        assert row["zero"] == int((values <= 0).sum())
        assert row["p_converged"] == np.mean(data["status"][rows] == data["converged_code"])
        low, high = median_interval(values)
        assert (row["median_low"], row["median_high"]) == (low, high)
        # the scale-free lambda_min / lambda_max, from the two eigenvalues in the file
        ratio = values / data["gram_max_eig"][rows]
        ratio = ratio[np.isfinite(ratio)]
        assert row["ratio_median"] == pytest.approx(np.median(ratio), rel=1e-12, abs=0)
        assert (row["ratio_low"], row["ratio_high"]) == pytest.approx(median_interval(ratio),
                                                                      rel=1e-12, abs=0)
        # boxes: categories by width, without skip left of with skip
        position = [4, 8].index(width) + (-0.1875 if skip == "false" else 0.1875)
        expected.append((position, max(float(np.median(values)), floor)))
    expected.sort()
    assert len(medians) == len(expected) == 4
    assert np.allclose([m[0] for m in medians], [e[0] for e in expected], atol=1e-9)
    assert np.allclose([m[1] for m in medians], [e[1] for e in expected], rtol=1e-12)
    assert_png(save(fig, tmp_path, "gram_min_eig", ["png"], compact=True)[0])


def test_gram_bounds_take_n_from_the_config(skip_file, tmp_path):
    study = load_study(str(skip_file))
    data, _ = read(skip_file)
    assert (gram_points(study) == 8).all()  # train.gram_points, not the default 32
    n = 8
    lower = n * data["gram_grad_norm"] ** 2 / (4 * data["gram_max_eig"])
    with np.errstate(divide="ignore"):
        upper = np.where(data["gram_min_eig"] > 0,
                         n * data["gram_grad_norm"] ** 2 / (4 * data["gram_min_eig"]), np.inf)
    bounds = gram_bounds_frame(study)
    assert np.allclose(bounds["lower"], lower, rtol=1e-15)
    assert np.array_equal(np.isinf(bounds["upper"]), np.isinf(upper))
    finite = np.isfinite(upper)
    assert np.allclose(bounds["upper"][finite], upper[finite], rtol=1e-15)
    risk = data["gram_risk"]
    slack = 1e-9 * risk + 1e-300
    assert (lower <= risk + slack).all() and (risk <= upper + slack).all()
    numbers = plot_named("gram_bounds").numbers(study)
    assert (numbers["within"] == numbers["measured"]).all() and numbers["measured"].sum() == 40
    assert_png(save(plot_named("gram_bounds").draw(study), tmp_path, "b", ["png"])[0])


def test_p_converged_with_and_without_skips(skip_file, tmp_path):
    study = load_study(str(skip_file))
    data, seeds = read(skip_file)
    fig = plot_named("convergence_skip").draw(study)
    ax = fig.axes[0]
    drawn = errorbars(ax)
    assert sorted(drawn) == ["skip=false", "skip=true"]
    for skip in ("false", "true"):
        x, p, low, high = drawn[f"skip={skip}"]
        want = []
        for (s, width), rows in cells(data, seeds, ["skip", "width"]):
            if s == skip:
                k = int((data["status"][rows] == data["converged_code"]).sum())
                want.append((k / seeds, *clopper_pearson(k, seeds)))
        assert np.allclose(p, [w[0] for w in want], atol=1e-12)
        assert np.allclose(low, [w[1] for w in want], atol=1e-9)
        assert np.allclose(high, [w[2] for w in want], atol=1e-9)
        # without skips left of each width's tick, with skips right
        assert (x < np.arange(2)).all() if skip == "false" else (x > np.arange(2)).all()
    heights = sorted(round(patch.get_height(), 12) for patch in ax.patches)
    assert heights == sorted(round(float(v), 12) for v in
                             np.concatenate([drawn["skip=false"][1], drawn["skip=true"][1]]))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["width=4", "width=8"]
    assert_png(save(fig, tmp_path, "convergence_skip", ["png"], compact=True)[0])


# ---- the command line on these files ----


def analysis(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)


def test_cli_chooses_the_paper_plots(logistic_file, stationarity_file, skip_file, tmp_path):
    for path, names in ((logistic_file, ["convergence_l2", "objective_spread_l2"]),
                        (stationarity_file, ["min_grad_norm", "min_grad_norm_trajectory"]),
                        (skip_file, ["convergence_skip", "gram_min_eig", "gram_bounds"])):
        out = tmp_path / path.stem
        result = analysis(str(path), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [str(out / f"{n}.{fmt}") for n in names
                                         for fmt in ("png", "pdf")]
        for name in names:
            assert_png(out / f"{name}.png")
            assert_pdf(out / f"{name}.pdf")
        assert "also possible:" in result.stderr


def test_cli_x_key(logistic_file, skip_file, tmp_path):
    # P(converged) against any grid key: width (the rate figure), l2 as
    # curves, init_scale-like keys side by side
    result = analysis(str(logistic_file), "--x", "width,l2", "--out", str(tmp_path / "a"),
                      "--format", "png")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == \
        ["convergence_l2.png", "convergence_width.png"]
    spread = analysis(str(skip_file), "--plots", "objective_spread_width,convergence_width",
                      "--out", str(tmp_path / "b"), "--format", "png")
    assert spread.returncode == 0, spread.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == \
        ["convergence_width.png", "objective_spread_width.png"]
    bad = analysis(str(skip_file), "--x", "l2", "--out", str(tmp_path / "c"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "cannot draw convergence_l2 (l2 is not a grid key)" in bad.stderr
    assert not (tmp_path / "c").exists()


def test_end_state_shares_count_the_file(study_file, tmp_path):
    """end_state_table's shares per cell against the end_state enum read with h5py."""
    from analysis.plots import END_STATES, end_state_table
    study = load_study(str(study_file))
    table = end_state_table(study)
    with h5py.File(study_file, "r") as f:
        runs = f["runs"]
        codes = h5py.check_enum_dtype(runs["end_state"].dtype)
        ends, done = runs["end_state"][...], runs["done"][...] == 1
        seeds = int(f.attrs["seeds"])
    assert len(table) == len(ends) // seeds
    checked = 0
    for cell, row in enumerate(table.itertuples(index=False)):
        rows = slice(cell * seeds, (cell + 1) * seeds)
        mine = ends[rows][done[rows]]
        assert row.runs == len(mine)
        for name, _ in END_STATES:
            assert getattr(row, name) == pytest.approx(np.mean(mine == codes[name]), abs=1e-15)
            checked += getattr(row, name) > 0
    assert checked >= 4  # several end states occur in the test study
    assert_png(save(plot_named("end_state_shares").draw(study), tmp_path, "ends", ["png"])[0])
