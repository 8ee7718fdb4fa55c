"""The loader against the file read directly with h5py."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import pytest

from analysis import cell_table, load_study
from conftest import HERE, mpirun, summarize
from test_stats import assert_table_matches

METRICS = ["final_risk", "min_risk", "tol", "rtol", "risk_gap", "dist_to_min", "grad_norm",
           "min_grad_norm", "gram_min_eig", "gram_max_eig", "gram_risk", "gram_grad_norm",
           "dead_init_probability", "steps", "seconds", "rank"]


def test_rows_columns_and_seeds(study, study_file):
    runs = study.runs
    assert study.grid_keys == ["optimizer", "depth", "width", "lr"]
    assert study.seeds == 32 and study.tasks == 24 * 32
    assert len(runs) == study.tasks
    for column in ["task", "cell", *study.grid_keys, "seed", *METRICS, "status", "min_risk_source",
                   "certified_nonconvergent", "dead_init_1", "dead_init_2", "dead_final_1",
                   "dead_final_2", "dead_permanent_init_1", "dead_permanent_final_2"]:
        assert column in runs, column
    assert "done" not in runs
    # seeds 0..31 in every cell, the cell's rows in task order
    for _, cell in runs.groupby("cell"):
        assert cell["seed"].tolist() == list(range(32))
    assert runs["task"].tolist() == list(range(study.tasks))
    assert (runs["cell"] == runs["task"] // 32).all()
    # grid values: names as str, integral numbers as int, others float
    assert set(runs["optimizer"]) == {"sgd", "adam"}
    assert runs["depth"].dtype == np.int64 and set(runs["depth"]) == {1, 2}
    assert runs["width"].dtype == np.int64 and set(runs["width"]) == {1, 2, 4}
    assert runs["lr"].dtype == np.float64 and set(runs["lr"]) == {0.05, 5.0}
    assert len(study.cells) == 24 and (study.cells["runs"] == 32).all()


def test_values_equal_the_file(study, study_file):
    runs = study.runs
    with h5py.File(study_file, "r") as f:
        raw = f["runs"]
        for name in METRICS:
            assert np.array_equal(runs[name].to_numpy(), raw[name][...], equal_nan=True), name
        status = raw["status"][...]
        names = {0: "pending", 1: "converged", 2: "not_converged", 3: "diverged",
                 4: "undecided"}
        assert runs["status"].astype(str).tolist() == [names[s] for s in status]
        assert isinstance(runs["status"].dtype, pd.CategoricalDtype)
        sources = {0: "unknown", 1: "exact", 2: "computed", 3: "estimated", 4: "given",
                   5: "constructed"}
        assert runs["min_risk_source"].astype(str).tolist() == \
            [sources[s] for s in raw["min_risk_source"][...]]
        certified = raw["certified_nonconvergent"][...]
        loaded = runs["certified_nonconvergent"]
        assert (loaded.isna().to_numpy() == (certified < 0)).all()
        assert (loaded.fillna(False).to_numpy() == (certified == 1)).all()
        for name in ["dead_init", "dead_final", "dead_permanent_init", "dead_permanent_final"]:
            values = raw[name][...]
            assert study.layer_columns[name] == [f"{name}_1", f"{name}_2"]
            for j in range(values.shape[1]):
                column = runs[f"{name}_{j + 1}"]
                assert (column.isna().to_numpy() == (values[:, j] < 0)).all()
                assert (column.fillna(-1).to_numpy() == values[:, j]).all()
        for key in ["optimizer"]:
            assert runs[key].tolist() == [v.decode() for v in raw[key][...]]
    # the study's own facts, so that the cases above are not vacuous
    assert set(runs["status"]) >= {"not_converged", "diverged", "converged"}
    assert set(runs["min_risk_source"]) == {"computed", "constructed"}  # depth 1, depth 2
    # a diverged run's certificate is decided from its start; no R* here is unknown
    certified = runs["certified_nonconvergent"]
    assert certified.notna().all() and certified.any() and not certified.all()
    assert runs["dead_init_2"].isna().sum() == len(runs) // 2  # depth-1 rows


def test_trajectory_long_format(study, study_file):
    traj = study.trajectory
    with h5py.File(study_file, "r") as f:
        step = f["runs/trajectory/step"][...]
        risk = f["runs/trajectory/risk"][...]
        grad = f["runs/trajectory/grad_norm"][...]
    recorded = step >= 0
    assert len(traj) == recorded.sum()
    # diverged runs stop early: their points past the end are left out
    assert not recorded.all()
    assert set(traj.columns) >= {"task", "cell", "optimizer", "depth", "width", "lr", "seed",
                                 "point", "step", "risk", "grad_norm"}
    tasks, points = np.nonzero(recorded)
    assert np.array_equal(traj["task"].to_numpy(), tasks)
    assert np.array_equal(traj["point"].to_numpy(), points)
    assert np.array_equal(traj["step"].to_numpy(), step[recorded])
    assert np.array_equal(traj["risk"].to_numpy(), risk[recorded], equal_nan=True)
    assert np.array_equal(traj["grad_norm"].to_numpy(), grad[recorded], equal_nan=True)
    first = traj[traj["task"] == 0]
    assert first["step"].tolist()[0] == 0 and first["step"].tolist()[-1] == 2000
    assert (first["optimizer"] == "sgd").all() and (first["seed"] == 0).all()
    assert load_study(str(study_file), trajectory=False).trajectory is None


def test_config_and_attributes(study):
    assert study.name == "analysis_test"
    assert study.config["seeds"] == 32
    assert study.config["grid"]["width"] == [1, 2, 4]
    assert study.train["target"] == "square" and study.setting("gram_points") == 16
    assert study.config_text.startswith("# The study the analysis tests read")
    assert study.attrs["tasks"] == 768 and study.attrs["grid_keys"] == study.grid_keys
    assert "sgdmc_version" in study.attrs and "created" in study.attrs
    assert study.attrs["sgdmc_build"]   # the commit, or the version without git
    assert study.attrs["numeric_libraries"].startswith("glibc ")   # Debian's C library


def test_half_done_copy_loads_only_done_rows(half_done, study):
    path, kept = half_done
    half = load_study(str(path))
    assert np.array_equal(half.runs["task"].to_numpy(), kept)
    assert 0 < len(half.runs) < study.tasks
    assert 3 not in set(half.runs["cell"])
    assert set(half.trajectory["task"]) <= set(kept)
    # the values are those of the full file's same rows
    full = study.runs.set_index("task").loc[kept]
    assert np.array_equal(half.runs["final_risk"].to_numpy(), full["final_risk"].to_numpy(),
                          equal_nan=True)
    # every cell still listed, a pending one with done = 0, as summarize has it
    table = cell_table(half)
    assert len(table) == 24 and table.loc[3, "done"] == 0
    assert_table_matches(table, summarize(path), half.grid_keys)


def test_stopped_study_reads_while_running_and_after(tmp_path, sgdmc):
    """A real half-done file: read while sgdmc writes it (no file locks
    between them), then stopped by SIGTERM, read again."""
    out = tmp_path / "long.h5"
    process = subprocess.Popen(mpirun(2, sgdmc, "study", str(HERE / "long.cfg"),
                                      f"--output={out}", "--quiet"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        running = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists():
                running = load_study(str(out), trajectory=False)
                if len(running.runs) > 0:
                    break
            time.sleep(0.1)
        assert running is not None and 0 < len(running.runs) < running.tasks, \
            "the study ended before it could be read running"
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # mpirun itself exits 1 when it got the signal; the ranks stop with 75
    assert process.returncode != 0, "the study finished before SIGTERM"
    stopped = load_study(str(out))
    assert len(running.runs) <= len(stopped.runs) < stopped.tasks
    assert (stopped.runs["status"] != "pending").all()
    assert stopped.runs["final_risk"].notna().all()
    assert_table_matches(cell_table(stopped), summarize(out), stopped.grid_keys)
