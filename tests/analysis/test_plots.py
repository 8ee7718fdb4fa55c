"""Every plot from the real study file (and its half-done copy) as valid PNG
and PDF files; which plots a file supports; the Agg backend."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from analysis import load_study
from analysis.plots import PLOTS, automatic, gram_bounds_frame, gram_points, save
from conftest import REPO, mpirun


def assert_png(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        image.load()
        assert image.width > 300 and image.height > 200
        # not blank: a drawn figure has more than background and a frame
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 8
        return image.size


def assert_pdf(path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:], path
    assert len(data) > 2000


# the plots of grids with l2 or skip (papers 002 and 004) have their own
# studies in test_paper_plots.py; the test study has every other plot
OTHER_GRIDS = {"convergence_l2": "l2 is not a grid key",
               "objective_spread_l2": "l2 is not a grid key",
               "convergence_skip": "skip is not a grid key"}
SUPPORTED = [name for name in PLOTS if name not in OTHER_GRIDS]


def test_the_study_supports_every_plot(study):
    assert {name: plot.missing(study) for name, plot in PLOTS.items()} == \
        {name: OTHER_GRIDS.get(name) for name in PLOTS}


def test_automatic_selection(study):
    """Width and depth in the grid, Gram measures asked for (gram_points = 16),
    R* known for depth 1: P(converged) against width and depth and the Gram
    plots; risk_gap_cdf and risk_trajectory give way to the Gram plots."""
    assert automatic(study) == ["convergence_width", "convergence_depth", "gram_min_eig",
                                "gram_bounds"]
    no_gram = dataclasses.replace(study, config={**study.config, "train": {
        k: v for k, v in study.train.items() if k != "gram_points"}})
    assert automatic(no_gram) == ["convergence_width", "convergence_depth", "risk_trajectory",
                                  "end_states_against_steps", "risk_gap_cdf"]
    # without trajectories the end states per cell stand in for the budget against steps
    no_trajectory = dataclasses.replace(no_gram, trajectory=None)
    assert automatic(no_trajectory) == ["convergence_width", "convergence_depth",
                                        "end_state_shares", "risk_gap_cdf"]
    runs = no_gram.runs.assign(risk_gap=np.nan)
    assert automatic(dataclasses.replace(no_gram, runs=runs)) == [
        "convergence_width", "convergence_depth", "min_grad_norm", "min_grad_norm_trajectory"]


@pytest.mark.parametrize("name", SUPPORTED)
def test_plot_png_and_pdf(study, tmp_path, name):
    fig = PLOTS[name].draw(study)
    title = fig._suptitle.get_text()
    # the title says what was run, from the config attribute
    assert "analysis_test" in title and "target=square" in title and "32 seeds" in title
    for ax in fig.axes:
        if ax.get_visible() and ax.has_data():
            assert ax.get_xlabel() and ax.get_ylabel(), (name, ax.get_title())
    written = save(fig, tmp_path, name, ["png", "pdf"])
    assert [p.name for p in written] == [f"{name}.png", f"{name}.pdf"]
    assert_png(written[0])
    assert_pdf(written[1])
    compact = save(fig, tmp_path / "compact", name, ["png"], compact=True)[0]
    assert assert_png(compact) == assert_png(written[0])
    assert compact.stat().st_size < 100_000


def test_half_done_file_plots(half_done, tmp_path):
    path, _ = half_done
    half = load_study(str(path))
    for name in SUPPORTED:
        plot = PLOTS[name]
        assert plot.missing(half) is None, name
        fig = plot.draw(half)
        assert "of 768 runs done" in fig._suptitle.get_text()
        assert_png(save(fig, tmp_path, name, ["png"])[0])


def test_plots_a_file_cannot_make(study):
    no_trajectory = dataclasses.replace(study, trajectory=None)
    assert PLOTS["risk_trajectory"].missing(no_trajectory) == "no trajectory datasets"
    one_width = dataclasses.replace(study, runs=study.runs[study.runs["width"] == 2])
    assert "fewer than two width" in PLOTS["convergence_width"].missing(one_width)
    no_depth = dataclasses.replace(study, grid_keys=["optimizer", "width", "lr"])
    assert PLOTS["convergence_depth"].missing(no_depth) == "depth is not a grid key"
    empty = dataclasses.replace(study, runs=study.runs.iloc[:0])
    assert all(plot.missing(empty) == "no done runs" for plot in PLOTS.values())


def test_gram_bounds_hold_with_n_from_the_config(study):
    # gram_points = 16 in study.cfg; with 32 the lower bound would double
    assert (gram_points(study) == 16).all()
    bounds = gram_bounds_frame(study).dropna()
    assert len(bounds) > 100
    slack = 1e-9 * bounds["risk"] + 1e-15
    assert (bounds["lower"] <= bounds["risk"] + slack).all()
    assert (bounds["risk"] <= bounds["upper"] + slack).all()


def test_gram_bounds_with_n_as_a_grid_key(tmp_path, sgdmc):
    """On one input (n = 1) J J^T is |J|^2 and both bounds equal the risk
    exactly, so the n the plot uses is checked, not only the inequalities."""
    config = tmp_path / "gram.cfg"
    config.write_text('name = "gram"; seeds = 8; grid = { gram_points = [1, 5]; };\n'
                      'train = { target = "square"; width = 3; depth = 2; steps = 200; };\n')
    out = tmp_path / "gram.h5"
    result = subprocess.run(mpirun(2, sgdmc, "study", str(config), f"--output={out}", "--quiet"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    study = load_study(str(out))
    assert sorted(gram_points(study).unique()) == [1, 5]
    bounds = gram_bounds_frame(study)
    one = (study.runs["gram_points"] == 1) & (bounds["risk"] > 0)
    assert one.sum() >= 4
    assert np.allclose(bounds.loc[one, "lower"], bounds.loc[one, "risk"], rtol=1e-9)
    assert np.allclose(bounds.loc[one, "upper"], bounds.loc[one, "risk"], rtol=1e-9)
    five = study.runs["gram_points"] == 5
    assert (bounds.loc[five, "lower"] <= bounds.loc[five, "risk"] * (1 + 1e-9)).all()
    assert (bounds.loc[five, "lower"] < bounds.loc[five, "risk"] * 0.999).any()
    assert_png(save(PLOTS["gram_bounds"].draw(study), tmp_path, "gram", ["png"])[0])


def test_agg_backend_without_a_display():
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(MPLBACKEND="TkAgg", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", "import analysis.plots, matplotlib; "
                             "print(matplotlib.get_backend())"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().lower() == "agg"


def test_the_theory_lines_of_the_convergence_figure(study):
    """The right panels' theory lines against closed forms written here: U[-1, 1]
    weight and bias, inputs on [0, 1], so one first-layer neuron is dead on the
    whole domain when b <= 0 and w + b <= 0, probability 3/8; 1 - (5/8)^width
    has a dead neuron, (3/8)^width has all of them (the network constant)."""
    from analysis.plots import convergence
    figure = convergence(study, "width")
    lines = {gid: [] for gid in ("dead_theory", "constant_theory")}
    for ax in figure.axes:
        for line in ax.get_lines():
            if line.get_gid() in lines:
                lines[line.get_gid()].append(line)
    assert lines["dead_theory"] and len(lines["dead_theory"]) == len(lines["constant_theory"])
    for dead, constant in zip(lines["dead_theory"], lines["constant_theory"]):
        width = np.asarray(dead.get_xdata(), dtype=float)
        assert list(width) == [1.0, 2.0, 4.0]
        np.testing.assert_allclose(dead.get_ydata(), 1 - (5 / 8) ** width, rtol=1e-12)
        np.testing.assert_allclose(constant.get_xdata(), width)
        np.testing.assert_allclose(constant.get_ydata(), (3 / 8) ** width, rtol=1e-12)


def test_the_descending_panel_of_the_convergence_figure(study, summary):
    """The right panels' shares of runs still descending at the end equal sgdmc
    summarize's end_descending (its own count, in C), cell for cell."""
    from analysis.plots import convergence
    figure = convergence(study, "width")
    drawn = sorted(float(y) for ax in figure.axes for line in ax.get_lines()
                   if line.get_gid() == "descending_share" for y in line.get_ydata())
    expected = sorted(float(c["end_descending"]) for c in summary["cells"] if c["done"] > 0)
    assert len(drawn) == len(expected)
    np.testing.assert_allclose(drawn, expected, rtol=0, atol=1e-12)
    assert max(expected) > 0  # the fixture has runs still descending
