"""python3 -m analysis: plot, table, rates and figures, as a user runs them."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from analysis.plots import PLOTS
from conftest import REPO, summarize
from test_plots import assert_pdf, assert_png
from test_stats import assert_table_matches


def analysis(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)


def test_help():
    result = analysis("--help")
    assert result.returncode == 0
    for word in ("plot", "table", "rates", "figures", "--out", "--format", "--plots"):
        assert word in result.stdout, word
    plot_help = analysis("plot", "--help")
    assert plot_help.returncode == 0
    for name in PLOTS:
        assert name in plot_help.stdout


def test_plot_chosen_figures(study_file, tmp_path):
    out = tmp_path / "figures"
    result = analysis(str(study_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    chosen = ["convergence_width", "convergence_depth", "gram_min_eig", "gram_bounds"]
    assert result.stdout.split() == [str(out / f"{name}.{fmt}") for name in chosen
                                     for fmt in ("png", "pdf")]
    for name in chosen:
        assert_png(out / f"{name}.png")
        assert_pdf(out / f"{name}.pdf")
    assert "also possible: risk_trajectory, end_states_against_steps, end_state_shares, " \
           "risk_gap_cdf, min_grad_norm, min_grad_norm_trajectory (--plots NAME,... or " \
           "--plots all)" \
        in result.stderr


def test_plot_every_figure(study_file, tmp_path):
    out = tmp_path / "figures"
    result = analysis(str(study_file), "--out", str(out), "--plots", "all")
    assert result.returncode == 0, result.stderr
    supported = [name for name in PLOTS if name not in
                 ("convergence_l2", "objective_spread_l2", "convergence_skip")]
    assert result.stdout.split() == [str(out / f"{name}.{fmt}") for name in supported
                                     for fmt in ("png", "pdf")]
    assert "skipped convergence_l2: l2 is not a grid key" in result.stderr
    for name in supported:
        assert_png(out / f"{name}.png")
        assert_pdf(out / f"{name}.pdf")


def test_plot_default_folder_and_selection(study_file, tmp_path):
    result = analysis("plot", str(study_file), "--plots", "risk_gap_cdf,min_grad_norm",
                      "--format", "png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "study_figures"
    assert sorted(p.name for p in out.iterdir()) == ["min_grad_norm.png", "risk_gap_cdf.png"]


def test_plot_errors(study_file, tmp_path):
    result = analysis(str(study_file), "--plots", "nonsense", "--out", str(tmp_path))
    assert result.returncode == 2 and "unknown plot nonsense" in result.stderr
    missing = analysis(str(tmp_path / "absent.h5"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_plot_skips_what_the_file_lacks(tmp_path, sgdmc):
    from conftest import mpirun
    config = tmp_path / "flat.cfg"
    config.write_text('name = "flat"; seeds = 6; grid = { optimizer = ["sgd", "adam"]; };\n'
                      'train = { target = "square"; steps = 100; };\n')
    out = tmp_path / "flat.h5"
    made = subprocess.run(mpirun(2, sgdmc, "study", str(config), f"--output={out}", "--quiet"),
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    result = analysis(str(out), "--out", str(tmp_path / "f"), "--format", "png",
                      "--plots", "all")
    assert result.returncode == 0, result.stderr
    assert "skipped convergence_width: width is not a grid key" in result.stderr
    assert "skipped risk_trajectory: no trajectory datasets" in result.stderr
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == \
        ["end_state_shares.png", "gram_bounds.png", "gram_min_eig.png", "min_grad_norm.png",
         "risk_gap_cdf.png"]
    # chosen: R* is computed (one layer on x^2), no trajectory (the end states per cell
    # stand in for the budget against steps), no Gram request
    chosen = analysis(str(out), "--out", str(tmp_path / "h"), "--format", "png")
    assert chosen.returncode == 0, chosen.stderr
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == \
        ["end_state_shares.png", "risk_gap_cdf.png"]
    # asked for by name, a plot the file cannot make is an error
    asked = analysis(str(out), "--plots", "convergence_width", "--out", str(tmp_path / "g"))
    assert asked.returncode == 2 and asked.stderr.count("\n") == 1, asked.stderr
    assert "cannot draw convergence_width (width is not a grid key)" in asked.stderr


def test_table_json_agrees_with_summarize(study_file, summary):
    result = analysis("table", str(study_file), "--format", "json")
    assert result.returncode == 0, result.stderr
    mine = json.loads(result.stdout)
    assert mine["tasks"] == summary["tasks"] and mine["seeds"] == summary["seeds"]
    assert mine["grid_keys"] == summary["grid_keys"]
    assert_table_matches(pd.DataFrame(mine["cells"]).fillna(float("nan")), summary,
                         summary["grid_keys"])


def test_table_json_half_done(half_done):
    path, _ = half_done
    result = analysis("table", str(path), "--format", "json", "--grad_eps", "0.01")
    assert result.returncode == 0, result.stderr
    summary = summarize(path, "--grad_eps=0.01")
    assert_table_matches(pd.DataFrame(json.loads(result.stdout)["cells"]).fillna(float("nan")),
                         summary, summary["grid_keys"])


def test_table_text_and_csv(study_file, summary):
    text = analysis("table", str(study_file))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "768 tasks = 24 cells x 32 seeds, 768 done" in lines[0]
    assert "p_converged [95% CI]" in lines[1] and len(lines) == 2 + 24
    first = summary["cells"][0]
    assert f"{first['ci_high']:.3f}" in lines[2]
    csv = analysis("table", str(study_file), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 24 and list(frame["converged"]) == [c["converged"] for c in summary["cells"]]


def test_rates(study_file):
    result = analysis("rates", str(study_file), "--format", "json")
    assert result.returncode == 0, result.stderr
    rates = json.loads(result.stdout)
    assert len(rates) == 8 and all(r["x"] == "width" for r in rates)
    text = analysis("rates", str(study_file), "--x", "depth")
    assert text.returncode == 0 and "rate [95% CI]" in text.stdout
    bad = analysis("rates", str(study_file), "--x", "seed")
    assert bad.returncode == 2 and "not a grid key" in bad.stderr


@pytest.mark.skipif(not (REPO / "jobs" / "000-constant-target" / "quick.cfg").exists(),
                    reason="jobs/000-constant-target/quick.cfg is not there")
def test_figures_command(tmp_path, sgdmc):
    out = tmp_path / "docs"
    out.mkdir()
    # a figure no longer drawn for 000 goes; another job's stays
    (out / "000-constant-target-gram_bounds.png").write_bytes(b"stale")
    (out / "001-nonconvergence-gram_bounds.png").write_bytes(b"other job")
    keep = tmp_path / "studies"
    result = analysis("figures", "--jobs", "000", "--out", str(out), "--sgdmc", sgdmc,
                      "--keep", str(keep))
    assert result.returncode == 0, result.stderr
    assert "removed 000-constant-target-gram_bounds.png" in result.stdout
    assert (out / "001-nonconvergence-gram_bounds.png").read_bytes() == b"other job"
    pngs = sorted(out.glob("000-*.png"))
    assert [p.name for p in pngs] == sorted(
        f"000-constant-target-{name}.png" for name in
        ("convergence_depth", "risk_trajectory", "end_states_against_steps", "risk_gap_cdf"))
    for png in pngs:
        assert_png(png)
        assert png.stat().st_size < 100_000, png
    text = (out / "000-constant-target.txt").read_text()
    assert "p_converged [95% CI]" in text and "exponential rate of P(converged) in depth" in text
    # the outputs are named after the job: its own study is read back, another job's or
    # another size's is refused, and nothing is written for it
    study = keep / "000-constant-target.h5"
    again = analysis("figures", "--jobs", "000", "--study", str(study), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert (out / "000-constant-target.txt").read_text() == text
    for jobs, config in (("001", "quick"), ("000", "full")):
        other = tmp_path / "other"
        refused = analysis("figures", "--jobs", jobs, "--config", config, "--study", str(study),
                           "--out", str(other))
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"{config}.cfg (its config differs at line" in refused.stderr, refused.stderr
        assert not other.exists()
    # flags that select nothing or name no executable are usage errors: exit 2, one line
    for flags, needle in ((["--jobs", "999"], "no jobs/*/quick.cfg matches"),
                          (["--jobs", "000", "--sgdmc", "/etc/passwd"], "not an executable")):
        refused = analysis("figures", *flags, "--out", str(tmp_path / "none"))
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and \
            needle in refused.stderr, refused.stderr


def test_study_without_grid(tmp_path, sgdmc):
    """No grid keys at all (the attribute is empty): one cell, and the table
    still agrees with summarize."""
    from conftest import mpirun
    config = tmp_path / "single.cfg"
    config.write_text('name = "single"; seeds = 10; train = { target = "square"; steps = 100; };\n'
                      'output = { trajectory = 4; };\n')
    out = tmp_path / "single.h5"
    made = subprocess.run(mpirun(2, sgdmc, "study", str(config), f"--output={out}", "--quiet"),
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    result = analysis("table", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = summarize(out)
    assert summary["grid_keys"] == [] and len(summary["cells"]) == 1
    assert_table_matches(pd.DataFrame(json.loads(result.stdout)["cells"]).fillna(float("nan")),
                         summary, [])
    plots = analysis(str(out), "--out", str(tmp_path / "f"), "--format", "png", "--plots", "all")
    assert plots.returncode == 0, plots.stderr
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == \
        ["end_state_shares.png", "end_states_against_steps.png", "gram_bounds.png",
         "gram_min_eig.png",
         "min_grad_norm.png", "min_grad_norm_trajectory.png", "risk_gap_cdf.png",
         "risk_trajectory.png"]


def test_nothing_done_yet(study_file, tmp_path):
    """A file just created: every cell listed with done = 0, no plot."""
    import shutil

    import h5py
    path = tmp_path / "fresh.h5"
    shutil.copy(study_file, path)
    with h5py.File(path, "r+") as f:
        f["runs/done"][...] = 0
    result = analysis("table", str(path), "--format", "json")
    assert result.returncode == 0 and result.stderr == "", result.stderr  # no pandas warning
    cells = json.loads(result.stdout)["cells"]
    assert len(cells) == 24 and all(c["done"] == 0 and c["p_converged"] is None for c in cells)
    assert_table_matches(pd.DataFrame(cells).fillna(float("nan")), summarize(path),
                         ["optimizer", "depth", "width", "lr"])
    plots = analysis(str(path), "--out", str(tmp_path / "f"))
    assert plots.returncode == 0 and plots.stdout == ""
    assert "no done runs" in plots.stderr and "nothing to plot" in plots.stderr
    every = analysis(str(path), "--out", str(tmp_path / "f"), "--plots", "all")
    assert every.returncode == 0 and every.stdout == ""
    assert every.stderr.count("no done runs") == len(PLOTS)


def test_outputs_that_cannot_be_written(study_file, tmp_path):
    """An output the OS refuses is one line naming it and its reason, exit 1, never a
    traceback; the report never replaces its own study file; a results file without a
    verdict column is named as such."""
    import shutil

    import h5py
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            env = dict(os.environ, PYTHONPATH=str(REPO))
            result = subprocess.run([sys.executable, "-m", "analysis", "table", str(study_file)],
                                    stdout=full, stderr=subprocess.PIPE, text=True, env=env,
                                    timeout=300)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == ["analysis table: No space left on device"]
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    for out in (blocker, blocker / "below"):
        result = analysis(str(study_file), "--out", str(out))
        lines = result.stderr.splitlines()
        assert result.returncode == 1 and len(lines) == 1 and str(blocker) in lines[0], \
            result.stderr
    assert blocker.read_text() == "not a folder\n"
    copy = tmp_path / "study.h5"
    shutil.copy(study_file, copy)
    before = copy.read_bytes()
    result = analysis("report", str(copy), "--out", str(copy))
    assert result.returncode == 2 and "is the study file itself" in result.stderr
    assert copy.read_bytes() == before
    # the page replaces only a page: not another file, not a FIFO
    other = tmp_path / "notes.txt"
    other.write_text("a researcher's notes\n")
    fifo = tmp_path / "fifo.html"
    os.mkfifo(fifo)
    for out in (other, fifo):
        result = analysis("report", str(copy), "--out", str(out))
        lines = result.stderr.splitlines()
        assert result.returncode == 2 and len(lines) == 1 and "is not an HTML page" in lines[0], \
            result.stderr
    assert other.read_text() == "a researcher's notes\n" and fifo.is_fifo()
    # a page is replaced; a leftover .partial link is removed, not followed
    page = tmp_path / "page.html"
    target = tmp_path / "link-target"
    (tmp_path / "page.html.partial").symlink_to(target)
    for _ in range(2):
        result = analysis("report", str(copy), "--out", str(page))
        assert result.returncode == 0, result.stderr
    assert page.read_text().startswith("<!DOCTYPE html>") and not target.exists()
    with h5py.File(copy, "r+") as f:
        del f["runs/final_risk"]
    result = analysis("table", str(copy))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"analysis table: {copy}: not a complete sgdmc results file (no /runs/final_risk)"]


def test_a_flag_given_twice_is_refused(study_file, tmp_path):
    """argparse keeps the last of a repeated flag silently; here, as on sgdmc's command line,
    it is an error naming the flag, and nothing is written."""
    for args in (["table", str(study_file), "--format", "json", "--format", "csv"],
                 ["table", str(study_file), "--pool-hi", "--pool-hi"],
                 [str(study_file), "--out", str(tmp_path / "a"), "--out=" + str(tmp_path / "b")],
                 ["rates", str(study_file), "--x", "width", "--x", "depth"]):
        result = analysis(*args)
        flag = next(a for a in args if a.startswith("--")).split("=")[0]
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert f"{flag}: given twice" in result.stderr and not result.stdout, result.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    once = analysis("table", str(study_file), "--format", "csv", "--pool-hi")
    assert once.returncode == 0 and "p_converged," in once.stdout.splitlines()[0], once.stderr
