"""Reading an sgdmc study file into pandas.

    from analysis import load_study
    study = load_study("default.h5")
    study.runs          # one row per done run: task, cell, grid keys, seed, every metric
    study.trajectory    # long format: one row per (done run, recorded step), or None
    study.cells         # every grid cell, done or not: cell, grid keys, runs
    study.config        # the config text parsed into dicts (study.config_text: as written)

Only rows marked done are returned, so a study still running or stopped half way
reads like a smaller complete one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .config import ConfigError, parse_config
from .fields import RUN_FIELDS

# `done` selects the rows and would always be 1 in the result.
_SKIP = {"done"}


@dataclass
class Study:
    path: str
    runs: pd.DataFrame
    cells: pd.DataFrame
    grid_keys: list[str]
    seeds: int
    tasks: int
    config_text: str
    config: dict[str, Any]
    attrs: dict[str, Any]
    trajectory: pd.DataFrame | None = None
    # names of the per-layer column groups, e.g. "dead_init" -> ["dead_init_1", ...]
    layer_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.config.get("name", self.path))

    @property
    def train(self) -> dict[str, Any]:
        """The shared `sgdmc train` flags of the config (its `train` group)."""
        train = self.config.get("train", {})
        return train if isinstance(train, dict) else {}

    def setting(self, key: str, default: Any = None) -> Any:
        """A train flag shared by every run (train group), else `default`.
        Grid keys vary per run: read those from `runs`."""
        return self.train.get(key, default)

    def varying_keys(self) -> list[str]:
        """Grid keys with more than one value among the done runs."""
        return [k for k in self.grid_keys if self.runs[k].nunique() > 1]


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "S":
        return np.char.decode(values, "utf-8").astype(object)
    return values


def _grid_column(values: np.ndarray) -> np.ndarray:
    """Grid keys: names as str; numbers stay float64 unless all are integers
    (widths, depths), which read better as int64 in labels and groupbys."""
    values = _decode(values)
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and \
            np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        return values.astype(np.int64)
    return values


def _enum_column(values: np.ndarray, mapping: dict[str, int]) -> pd.Categorical:
    """The enum's names; a value with no name is -1 (NaN), for the caller to refuse."""
    names = sorted(mapping, key=lambda name: mapping[name])
    codes = np.array([mapping[n] for n in names])
    # categories in the enum's numeric order, so sort order is the file's
    lookup = np.full(max(codes) + 1, -1, dtype=np.int64)
    lookup[codes] = np.arange(len(names))
    valid = values <= max(codes)
    index = np.where(valid, lookup[np.minimum(values, max(codes))], -1)
    return pd.Categorical.from_codes(index, categories=names)


def _refuse_damaged(path: str, name: str, bad: np.ndarray, rows: np.ndarray) -> None:
    """A done row holding what no finished run has (an enum value without a name, a
    pending verdict, a verdict other than 1, 0, -1): the file was damaged or edited."""
    if bad.any():
        row = int(rows[np.flatnonzero(bad)[0]])
        raise StudyFileError(f"{path}: /runs/{name} of done row {row} holds a value no "
                             "finished run has: a damaged file")


class StudyFileError(Exception):
    """A file that is not a readable sgdmc results file; the message names it and why,
    on one line."""


def _open(path: str) -> h5py.File:
    if os.path.isdir(path):
        raise StudyFileError(f"{path}: is a directory, not a file")
    if not os.path.exists(path):
        raise StudyFileError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise StudyFileError(f"{path}: not readable (permission denied)")
    if not h5py.is_hdf5(path):
        raise StudyFileError(f"{path}: not an HDF5 file")
    # no file locks: a study being written holds its file open, and the
    # reader must not block it (sgdmc summarize does the same)
    try:
        try:
            return h5py.File(path, "r", locking=False)
        except TypeError:  # h5py older than 3.5
            return h5py.File(path, "r")
    except OSError as error:
        reason = " ".join(str(error).split())
        raise StudyFileError(f"{path}: cannot be read as HDF5 (truncated or damaged?): "
                             f"{reason}") from None


def _check_layout(path: str, f: h5py.File) -> None:
    """The attributes and datasets every sgdmc results file has, consistent."""
    for name in ("seeds", "tasks", "config"):
        if name not in f.attrs:
            raise StudyFileError(f"{path}: not an sgdmc results file (no {name} attribute)")
    if "runs" not in f or not isinstance(f["runs"], h5py.Group) or "done" not in f["runs"] \
            or "seed" not in f["runs"]:
        raise StudyFileError(f"{path}: not an sgdmc results file (no /runs/done and /runs/seed)")
    # the verdict's columns, in files of every format: without them no table can be made
    for name in ("status", "final_risk", "min_risk", "min_grad_norm"):
        if name not in f["runs"]:
            raise StudyFileError(f"{path}: not a complete sgdmc results file (no /runs/{name})")
    try:
        seeds, tasks = int(f.attrs["seeds"]), int(f.attrs["tasks"])
    except (TypeError, ValueError):
        raise StudyFileError(f"{path}: the seeds and tasks attributes are not integers") from None
    if seeds < 1 or tasks < 0 or tasks % seeds:
        raise StudyFileError(f"{path}: {tasks} tasks is not a multiple of {seeds} seeds")
    for name, item in f["runs"].items():
        if isinstance(item, h5py.Dataset) and (item.ndim == 0 or item.shape[0] != tasks):
            raise StudyFileError(f"{path}: /runs/{name} has shape {item.shape}, not {tasks} rows")


def load_study(path: str, trajectory: bool = True) -> Study:
    """Reads a study file. `trajectory=False` skips the long trajectory frame,
    which has tasks x T rows and is the only large thing here. A file that is
    not a readable sgdmc results file raises StudyFileError."""
    with _open(path) as f:
        _check_layout(path, f)
        try:
            return _read(path, f, trajectory)
        except (KeyError, ValueError, TypeError, IndexError, OSError) as error:
            reason = " ".join(str(error).split())
            raise StudyFileError(f"{path}: not a complete sgdmc results file ({reason})") \
                from None


def _read(path: str, f: h5py.File, trajectory: bool) -> Study:
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    keys = attrs.get("grid_keys")
    # a study without a grid stores an empty attribute (h5py.Empty)
    keys = [] if keys is None or isinstance(keys, h5py.Empty) else np.atleast_1d(keys)
    grid_keys = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
    attrs["grid_keys"] = grid_keys
    seeds, tasks = int(attrs["seeds"]), int(attrs["tasks"])
    runs = f["runs"]
    # `done` first: a row's values are written before its flag, so every
    # row done at this moment has its values in the file when read next
    flags = runs["done"][...]
    if np.any(flags > 1):
        row = int(np.flatnonzero(flags > 1)[0])
        raise StudyFileError(f"{path}: /runs/done holds {int(flags[row])} at row {row} (0 or 1 "
                             "only): a damaged file")
    done = flags == 1
    rows = np.flatnonzero(done)

    columns: dict[str, Any] = {"task": rows, "cell": rows // seeds}
    for key in grid_keys:
        columns[key] = _grid_column(runs[key][...])[rows]
    columns["seed"] = runs["seed"][...][rows]
    layer_columns: dict[str, list[str]] = {}
    for name, item in runs.items():
        if not isinstance(item, h5py.Dataset) or name in _SKIP or name in columns:
            continue
        values = item[...][rows]
        kind = RUN_FIELDS.get(name)
        enum = h5py.check_enum_dtype(item.dtype)
        if enum is not None:
            columns[name] = _enum_column(values, enum)
            unnamed = np.asarray(columns[name].codes) < 0
            _refuse_damaged(path, name, unnamed | (values == enum.get("pending", -1)), rows)
        elif kind == "verdict":
            _refuse_damaged(path, name, (values < -1) | (values > 1), rows)
            # 1 yes, 0 no, -1 unknown: a nullable boolean says exactly that
            columns[name] = pd.arrays.BooleanArray(values == 1, values < 0)
        elif kind == "layers" or values.ndim == 2:
            # per hidden layer, -1 beyond a run's depth or for a diverged
            # run's dead_final: missing, not a count
            names = [f"{name}_{j + 1}" for j in range(values.shape[1])]
            layer_columns[name] = names
            for j, column in enumerate(names):
                columns[column] = pd.arrays.IntegerArray(
                    values[:, j].astype(np.int64), values[:, j] < 0)
        else:
            columns[name] = _decode(values)
    frame = pd.DataFrame(columns)
    frame.index = pd.RangeIndex(len(frame))

    # every cell, done or not: the grid columns are written when the file
    # is created, so the first row of each cell names it
    first = np.arange(0, tasks, seeds)
    cells = pd.DataFrame({"cell": np.arange(len(first))})
    for key in grid_keys:
        cells[key] = _grid_column(runs[key][...])[first]
    cells["runs"] = seeds

    long = None
    if trajectory and "trajectory" in runs:
        long = _trajectory_frame(runs["trajectory"], rows, frame, grid_keys)

    text = str(attrs.get("config", ""))
    try:
        config = parse_config(text)
    except ConfigError:
        config = {}  # titles fall back to the file name; the data do not need it
    return Study(path=str(path), runs=frame, cells=cells, grid_keys=grid_keys, seeds=seeds,
                 tasks=tasks, config_text=text, config=config, attrs=attrs, trajectory=long,
                 layer_columns=layer_columns)


def _trajectory_frame(group: h5py.Group, rows: np.ndarray, runs: pd.DataFrame,
                      grid_keys: list[str]) -> pd.DataFrame:
    """One row per done run and recorded point, points past a diverged run's
    end (step -1) left out."""
    data = {name: group[name][...][rows] for name in group if isinstance(group[name], h5py.Dataset)}
    points = data["step"].shape[1] if "step" in data else 0
    keep = (data["step"] >= 0).ravel() if "step" in data else slice(None)
    out: dict[str, Any] = {}
    for column in ["task", "cell", *grid_keys, "seed"]:
        out[column] = np.repeat(runs[column].to_numpy(), points)[keep]
    out["point"] = np.tile(np.arange(points), len(rows))[keep]
    for name, values in data.items():
        out[name] = values.ravel()[keep]
    return pd.DataFrame(out)
