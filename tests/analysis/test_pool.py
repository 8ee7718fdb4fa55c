"""R*'s upper bound pooled across cells (`sgdmc summarize --pool-hi`, `cell_table(pool_hi=True)`)
against an independent computation from the file read with h5py: per problem and network
(width, l2) the least final risk of a run that did not diverge, and the runs that bound makes
not converged for sure; the analysis package equals summarize with and without pooling."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis import load_study
from analysis.stats import cell_table
from conftest import HERE, run_study, summarize
from test_stats import assert_table_matches

# the run fields' enum numbering (docs/hdf5-schema.md)
DIVERGED, UNDECIDED = 3, 4


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory, sgdmc) -> Path:
    return run_study(HERE / "pool.cfg", tmp_path_factory.mktemp("pool") / "pool.h5")


def test_pooled_bound_by_hand(pool_file):
    with h5py.File(pool_file, "r") as f:
        runs = f["runs"]
        seeds = int(f.attrs["seeds"])
        status = runs["status"][...]
        final = runs["final_risk"][...]
        hi = runs["min_risk"][...]
        tol, rtol = runs["tol"][...], runs["rtol"][...]
        width, l2 = runs["width"][...], runs["l2"][...]
    assert np.isnan(hi).all() and (status == UNDECIDED).mean() > 0.9, "R* is unknown here"
    expected_undecided, expected_hi = [], []
    for cell in range(len(status) // seeds):
        rows = slice(cell * seeds, (cell + 1) * seeds)
        same = (width == width[rows][0]) & (l2 == l2[rows][0]) & (status != DIVERGED)
        bound = np.min(final[same & np.isfinite(final)])
        expected_hi.append(bound)
        limit = tol[rows] + (1 + rtol[rows]) * bound
        expected_undecided.append(int(np.sum((status[rows] == UNDECIDED) & (final[rows] <= limit))))
    pooled = summarize(pool_file, "--pool-hi")["cells"]
    assert [c["undecided"] for c in pooled] == expected_undecided
    assert [c["min_risk_used"] for c in pooled] == pytest.approx(expected_hi, rel=0, abs=0)
    assert all(c["min_risk_pooled"] == 1 for c in pooled)
    # the bound sorted most runs out, and never touched the sure end of the bracket
    plain = summarize(pool_file)["cells"]
    assert sum(expected_undecided) < 0.5 * sum(c["undecided"] for c in plain)
    assert [c["converged"] for c in pooled] == [c["converged"] for c in plain]
    assert all(c["min_risk_used"] is None and c["min_risk_pooled"] == 0 for c in plain)


def test_analysis_pools_as_summarize(pool_file):
    study = load_study(str(pool_file))
    assert_table_matches(cell_table(study, pool_hi=True), summarize(pool_file, "--pool-hi"),
                         study.grid_keys)
    assert_table_matches(cell_table(study), summarize(pool_file), study.grid_keys)


def test_exact_rstar_is_never_pooled(study_file):
    """Where R* is computed for x^2 or exact, pooling keeps it (no run ends below R*)."""
    pooled = summarize(study_file, "--pool-hi")["cells"]
    plain = summarize(study_file)["cells"]
    for a, b in zip(pooled, plain):
        if b["min_risk_used"] is not None:
            assert a["min_risk_used"] <= b["min_risk_used"]
            assert a["converged"] == b["converged"]
