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
    "risk_exact": "verdict",
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
# The verdicts' relative rounding allowance, sgdmc's SGDMC_RISK_ROUNDING (result.h; test_tables
# holds the two together): a verdict or certificate holds beyond it.
RISK_ROUNDING = 1e-9

BOOKKEEPING = ("seed", "rank", "done")


# The meanings of the fields that carry a verdict or bound it, as the field table words them
# (tests/test_tables.py holds them equal): the HTML report (html_page.py) prints them.
VERDICT_MEANINGS: dict[str, str] = {
    "status": "the final verdict with R* in [min_risk_lo, min_risk]: converged (final_risk <= tol "
        "+ (1 + rtol) min_risk_lo), not_converged (final_risk > tol + (1 + rtol) min_risk), "
        "undecided between, or diverged; pending in a study file until the run is done",
    "end_state": "where the run ended: converged, certified, stationary (grad_norm <= 1e-2 "
        "grad_norm_init, not converged for sure), descending, oscillating, undecided or "
        "diverged",
    "certified_nonconvergent": "proven for ever: no continuation of the run comes within its "
        "tolerance of R* (reachable_lo > tol + (1 + rtol) min_risk): 1, 0, -1 unknown (R* "
        "unknown)",
    "min_risk": "R*'s upper bound hi: the risk of a concrete network of the architecture (R* where "
        "exact)",
    "min_risk_source": "how min_risk is known: unknown, exact, computed (a proven one-layer "
        "minimizing network), estimated (the best of several minimizations), given, or "
        "constructed (an explicit network of the architecture)",
    "min_risk_lo": "R*'s proven lower bound lo",
    "min_risk_lo_source": "how min_risk_lo is proven: zero, closed_form (x^2 over P pieces), "
        "grid (the grid program over P pieces), variance (a constant network), exact or given",
}
