"""Fixtures of the analysis tests: a real study file made by `mpirun -n 2
sgdmc study` once per session, its `sgdmc summarize` JSON, and a half-done copy.

SGDMC names the binary (meson sets it); without it, build/sgdmc is used."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))  # the analysis package, also without PYTHONPATH
sys.path.insert(0, str(HERE.parent))  # tests/order_statistics.py

from analysis import load_study  # noqa: E402


def sgdmc_path() -> str:
    return os.environ.get("SGDMC", str(REPO / "build" / "sgdmc"))


def mpirun(ranks: int, *args: str) -> list[str]:
    cmd = ["mpirun", "--oversubscribe", "-n", str(ranks), *args]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def summarize(path: Path, *flags: str) -> dict:
    result = subprocess.run([sgdmc_path(), "summarize", str(path), "--format=json", *flags],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def sgdmc() -> str:
    path = sgdmc_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"no sgdmc binary at {path} (set SGDMC or build it)")
    return path


@pytest.fixture(scope="session")
def study_file(tmp_path_factory, sgdmc) -> Path:
    out = tmp_path_factory.mktemp("study") / "study.h5"
    result = subprocess.run(mpirun(2, sgdmc, "study", str(HERE / "study.cfg"), f"--output={out}",
                                   "--quiet"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def run_study(config: Path, out: Path) -> Path:
    result = subprocess.run(mpirun(2, sgdmc_path(), "study", str(config), f"--output={out}",
                                   "--quiet"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def logistic_file(tmp_path_factory, sgdmc) -> Path:
    """Paper 002 in miniature (logistic.cfg: l2 x width, R* estimated)."""
    if not (REPO / "jobs" / "002-logistic" / "two_moons.h5").exists():
        pytest.skip("jobs/002-logistic/two_moons.h5 is not there")
    return run_study(HERE / "logistic.cfg", tmp_path_factory.mktemp("logistic") / "logistic.h5")


@pytest.fixture(scope="session")
def stationarity_file(tmp_path_factory, sgdmc) -> Path:
    """Paper 003 in miniature (stationarity.cfg: optimizer x timescale, trajectories)."""
    return run_study(HERE / "stationarity.cfg",
                     tmp_path_factory.mktemp("stationarity") / "stationarity.h5")


@pytest.fixture(scope="session")
def skip_file(tmp_path_factory, sgdmc) -> Path:
    """Paper 004 in miniature (skip.cfg: skip x width, gram_points = 8)."""
    return run_study(HERE / "skip.cfg", tmp_path_factory.mktemp("skip") / "skip.h5")


@pytest.fixture(scope="session")
def study(study_file):
    return load_study(str(study_file))


@pytest.fixture(scope="session")
def summary(study_file) -> dict:
    return summarize(study_file)


@pytest.fixture(scope="session")
def half_done(tmp_path_factory, study_file) -> tuple[Path, np.ndarray]:
    """A copy of the study with cell 3 wholly pending and every third row of
    the others too. Their values stay in the file: only `done` says they do
    not count, so a loader that ignored it would be caught."""
    path = tmp_path_factory.mktemp("half") / "half.h5"
    shutil.copy(study_file, path)
    with h5py.File(path, "r+") as f:
        seeds = int(f.attrs["seeds"])
        done = f["runs/done"][...]
        pending = np.zeros(len(done), dtype=bool)
        pending[::3] = True
        pending[3 * seeds:4 * seeds] = True
        done[pending] = 0
        f["runs/done"][...] = done
    return path, np.flatnonzero(~pending)
