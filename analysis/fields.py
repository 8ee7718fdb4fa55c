"""The per-run fields of an sgdmc results file, as this package reads them.

sgdmc's C side keeps one table of these fields (src/core/result.c, `sgdmc_result_fields`);
tests/test_tables.py holds this module against it, so a field added on one side only
fails the suite. `load_study` converts each dataset by its kind here.
"""
from __future__ import annotations

# kinds: "float" (float64, NaN unknown), "int" (int64, -1 unknown), "verdict"
# (int8 1/0/-1: a nullable boolean), "enum" (uint8 enum: a categorical), "layers"
# (int32 [tasks, max depth], -1 missing: one nullable column per hidden layer)
RUN_FIELDS: dict[str, str] = {
    "status": "enum",
    "final_risk": "float",
    "min_risk": "float",
    "min_risk_source": "enum",
    "min_risk_lo": "float",
    "min_risk_lo_source": "enum",
    "tol": "float",
    "rtol": "float",
    "risk_gap": "float",
    "dist_to_min": "float",
    "grad_norm": "float",
    "min_grad_norm": "float",
    "grad_norm_init": "float",
    "end_state": "enum",
    "risk_drop": "float",
    "kinks_final": "int",
    "critical_family": "enum",
    "gram_min_eig": "float",
    "gram_max_eig": "float",
    "gram_risk": "float",
    "gram_grad_norm": "float",
    "gram_eig_ratio": "float",
    "dead_init_probability": "float",
    "dead_init": "layers",
    "dead_final": "layers",
    "dead_permanent_init": "layers",
    "dead_permanent_final": "layers",
    "certified_nonconvergent": "verdict",
    "reachable_lo": "float",
    "constant_init": "verdict",
    "constant_final": "verdict",
    "steps": "int",
    "seconds": "float",
}

# /runs/trajectory/NAME [tasks, T]: "int" (-1 past a run's end) or "float" (NaN)
TRAJECTORY_FIELDS: dict[str, str] = {
    "step": "int",
    "risk": "float",
    "grad_norm": "float",
}

# the study's own columns in /runs: the task's seed, the rank that ran it, the done flag
BOOKKEEPING = ("seed", "rank", "done")
