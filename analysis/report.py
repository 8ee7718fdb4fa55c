"""Text, CSV and JSON renderings of the per-cell table and the fitted rates.
The JSON has the layout of `sgdmc summarize --format=json`."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .load import Study
from .stats import SUMMARY_COLUMNS

COUNTS = ["runs", "done", "converged", "undecided", "diverged"]
INTERVALS = [("dead_at_init", "dead_at_init_low", "dead_at_init_high", "dead_at_init [95% CI]"),
             ("dead_init_probability", None, None, "1-(1-p)^width"),
             ("dead_at_end", "dead_at_end_low", "dead_at_end_high", "dead_at_end [95% CI]"),
             ("p_certified", "p_certified_low", "p_certified_high", "p_certified [95% CI]"),
             ("constant_at_init", "constant_at_init_low", "constant_at_init_high",
              "constant_at_init [95% CI]"),
             ("constant_at_end", "constant_at_end_low", "constant_at_end_high",
              "constant_at_end [95% CI]"),
             ("p_stationary", "p_stationary_low", "p_stationary_high", "p_stationary [95% CI]")]


def _plain(value: Any) -> Any:
    """JSON value: numpy scalars as Python numbers, NaN and infinities as null."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA:
        return None
    return value


def table_json(study: Study, table: pd.DataFrame, grad_eps: float) -> str:
    cells = []
    for _, row in table.iterrows():
        cell = {key: _plain(row[key]) for key in study.grid_keys}
        cell.update({column: _plain(row[column]) for column in SUMMARY_COLUMNS})
        cells.append(cell)
    return json.dumps({"file": study.path, "tasks": study.tasks, "seeds": study.seeds,
                       "grad_eps": grad_eps, "grid_keys": study.grid_keys, "cells": cells},
                      indent=1)


def table_csv(study: Study, table: pd.DataFrame) -> str:
    return table[[*study.grid_keys, *SUMMARY_COLUMNS]].to_csv(index=False, na_rep="")


def _interval(p: float, low: float, high: float) -> str:
    return "-" if not math.isfinite(p) else f"{p:.3f} [{low:.3f}, {high:.3f}]"


def _bracket(row: pd.Series) -> str:
    """P(converged) as summarize prints it: one share where no run is undecided,
    else sure..possible [low of sure, high of possible]."""
    if not math.isfinite(row["p_converged"]):
        return "-"
    if row["undecided"] == 0:
        return _interval(row["p_converged"], row["ci_low"], row["ci_high"])
    return (f"{row['p_converged']:.3f}..{row['p_converged_upper']:.3f} "
            f"[{row['ci_low']:.3f}, {row['p_converged_upper_high']:.3f}]")


def table_text(study: Study, table: pd.DataFrame) -> str:
    rows = []
    for _, row in table.iterrows():
        out = {key: str(row[key]) for key in study.grid_keys}
        out.update({c: str(int(row[c])) for c in COUNTS})
        out["p_converged [95% CI]"] = _bracket(row)
        for value, low, high, title in INTERVALS:
            if low is None:
                out[title] = "-" if not math.isfinite(row[value]) else f"{row[value]:.3f}"
            else:
                out[title] = _interval(row[value], row[low], row[high])
        median = row["median_final_risk"]
        out["median_final_risk"] = "-" if math.isnan(median) else f"{median:.4g}"
        hi = row["min_risk_used"]
        out["min_risk_used"] = "-" if math.isnan(hi) else \
            f"{hi:.4g}{' (pooled)' if row['min_risk_pooled'] else ''}"
        rows.append(out)
    frame = pd.DataFrame(rows)
    head = (f"{study.path}: {study.tasks} tasks = {len(study.cells)} cells x {study.seeds} "
            f"seeds, {int(table['done'].sum())} done\n")
    return head + frame.to_string(index=False) + "\n"


def rates_text(rates: pd.DataFrame) -> str:
    if rates.empty:
        return "no rates\n"
    shown = rates.copy()

    def fmt(v: float) -> str:
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) \
            else f"{v:.4g}"

    shown["rate [95% CI]"] = [f"{fmt(r)} [{fmt(lo)}, {fmt(hi)}]" for r, lo, hi in
                              zip(rates["rate"], rates["rate_low"], rates["rate_high"])]
    shown["exp(-rate)"] = [fmt(math.exp(-r)) if math.isfinite(r) else "-" for r in rates["rate"]]
    keep = [c for c in rates.columns if c not in ("rate", "rate_low", "rate_high", "intercept",
                                                  "note")]
    return shown[keep + ["rate [95% CI]", "exp(-rate)", "note"]].to_string(index=False) + "\n"


def rates_json(rates: pd.DataFrame) -> str:
    return json.dumps([{k: _plain(v) for k, v in row.items()} for row in
                       rates.to_dict(orient="records")], indent=1)


def numbers_text(frame: pd.DataFrame, grid_keys: list[str]) -> str:
    """A plot's numbers (plots.Plot.numbers) as a text table: grid keys as
    written, counts as integers, other numbers to 4 significant digits, the
    medians with their 95% interval in one column."""
    if frame.empty:
        return "none\n"
    shown = frame.drop(columns=[c for c in ("cell",) if c in frame]).copy()

    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "-" if math.isnan(v) else f"{v:.4g}"
        return str(v)
    for prefix in ("", "gap_"):
        median, low, high = f"{prefix}median", f"{prefix}median_low", f"{prefix}median_high"
        if {median, low, high} <= set(shown.columns):
            joined = [f"{fmt(m)} [{fmt(a)}, {fmt(b)}]" for m, a, b in
                      zip(shown[median], shown[low], shown[high])]
            shown.insert(list(shown.columns).index(median), f"{prefix}median [95% CI]", joined)
            shown = shown.drop(columns=[median, low, high])
    for column in shown.columns:
        if column in grid_keys:
            shown[column] = shown[column].astype(str)
        elif column in ("runs", "n", "zero", "point", "step", "measured", "within", "infinite"):
            shown[column] = shown[column].astype(int).astype(str)
        elif shown[column].dtype != object:
            shown[column] = [fmt(v) for v in shown[column]]
    return shown.to_string(index=False) + "\n"
