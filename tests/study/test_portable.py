#!/usr/bin/python3
"""Arithmetic fixed by the source: a -march=native build and a portable one
(-Dnative=false) with the other lockstep group size (4 lanes where the suite's
build has 8, else 8) give identical study files, and `sgdmc train` gives a
study row's numbers bit for bit.

Usage: test_portable.py SGDMC SOURCE_DIR

SGDMC is the suite's build (native by default). The test configures and
builds a portable sgdmc from SOURCE_DIR in a temporary folder (about a
minute on two cores), runs the same studies with both binaries as single
processes and compares every dataset under /runs and /runs/trajectory, apart
from `seconds` and `rank` (wall time and which worker ran a row). The studies
cover all 13 optimizers, the four activations, widths 1-33 at depths 1-3,
identity skips, schedules, weight decay, L2, uniform and normal inputs, the
x^2, sin and teacher targets, a data file and the logistic loss.

Then, for rows of those files, `sgdmc train` with the row's cell and seed
must print the row's values exactly (JSON doubles carry 17 digits).
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from test_study import every_dataset, lanes_default  # the same walk over /runs, in this folder

# name: (grid, train keys); every study has 2 seeds and trajectories
STUDIES: dict[str, tuple[dict[str, list[object]], dict[str, object]]] = {
    # every optimizer, smooth and ReLU activations, two widths and depths
    "optimizers": ({"optimizer": ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                  "adamax", "amsgrad", "nadam", "signsgd", "normalized_sgd",
                                  "clipped_sgd", "lion"],
                    "activation": ["relu", "tanh", "sigmoid", "softplus"], "width": [1, 9],
                    "depth": [1, 3]},
                   {"steps": 150, "target": "square", "batch_size": 7}),
    # wide cells (the blocked matrix products and their edges), skips, a schedule, decay, L2,
    # normal inputs, the sin and teacher targets
    "wide": ({"width": [17, 33], "skip": [False, True], "target": ["sin", "teacher"],
              "input": ["uniform", "normal"]},
             {"steps": 120, "depth": 3, "optimizer": "adam", "weight_decay": 0.01, "l2": 0.001,
              "lr_schedule": "power:0.6", "batch_size": 13, "teacher_width": 3}),
}


def libconfig(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(libconfig(v) for v in value) + "]"
    return repr(value)


def config_text(name: str) -> str:
    grid, train = STUDIES[name]
    return (f'name = "{name}"; seeds = 2;\n'
            "grid = { " + " ".join(f"{k} = {libconfig(v)};" for k, v in grid.items()) + " };\n"
            "train = { " + " ".join(f"{k} = {libconfig(v)};" for k, v in train.items()) + " };\n"
            "output = { trajectory = 4; };\n")


failures: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def build_portable(source: Path, where: Path, lanes: int) -> Path:
    build = where / "portable"
    subprocess.run(["meson", "setup", str(build), str(source), "-Dnative=false",
                    f"-Dlanes={lanes}"], check=True, capture_output=True, text=True)
    made = subprocess.run(["ninja", "-C", str(build), "sgdmc"], capture_output=True, text=True)
    if made.returncode:
        sys.exit("test_portable: building the portable sgdmc failed:\n" + made.stdout[-2000:])
    return build / "sgdmc"


def run_study(sgdmc: Path, config: Path, out: Path) -> None:
    done = subprocess.run([str(sgdmc), "study", str(config), f"--output={out}", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        sys.exit(f"test_portable: {sgdmc} study {config} failed: {done.stderr.strip()}")


def same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":  # bitwise, NaNs included
        return bool(np.array_equal(a.view(np.uint64 if a.itemsize == 8 else np.uint32),
                                   b.view(np.uint64 if b.itemsize == 8 else np.uint32)))
    return bool(np.array_equal(a, b))


def train_agrees(sgdmc: Path, name: str, path: Path, rows: list[int]) -> None:
    """`sgdmc train` with the study's train keys, a row's grid values and seed prints the row."""
    grid, train = STUDIES[name]
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        for row in rows:
            target = runs["target"][row].decode() if "target" in grid else train.get("target")
            # a study leaves the teacher's keys void in cells without a teacher; train refuses them
            flags = [f"--{k}={str(v).lower() if isinstance(v, bool) else v}"
                     for k, v in train.items()
                     if not (k.startswith("teacher_") and target != "teacher")]
            for key in grid:
                value = runs[key][row]
                shown = value.decode() if isinstance(value, bytes) else f"{float(value):g}"
                flags.append(f"--{key}={shown}")
            flags.append(f"--seed={int(runs['seed'][row])}")
            out = subprocess.run([str(sgdmc), "train", "--trajectory=4", *flags],
                                 capture_output=True, text=True, timeout=300)
            what = f"{name} row {row}: sgdmc train {' '.join(flags)}"
            if out.returncode:
                check(what, False, out.stderr.strip())
                continue
            result = json.loads(out.stdout)
            compared = [k for k in ("final_risk", "grad_norm", "min_grad_norm", "risk_drop",
                                    "steps", "dist_to_min", "status") if k in result]
            wrong = [k for k in compared if not equal_json(result[k], runs[k], row)]
            check(f"{what} prints the row ({len(compared)} fields)", not wrong and
                  len(compared) >= 6, f"differ: {wrong}")


def equal_json(value: object, column: h5py.Dataset, row: int) -> bool:
    stored = column[row]
    names = h5py.check_enum_dtype(column.dtype)
    if names:
        return names.get(str(value)) == int(stored)
    if value is None:
        return bool(np.isnan(stored))
    return bool(np.float64(value) == np.float64(stored))  # type: ignore[arg-type]


def main() -> int:
    sgdmc, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        native_lanes = lanes_default(str(sgdmc))
        portable_lanes = 8 if native_lanes == 4 else 4
        portable = build_portable(source, tmp, portable_lanes)
        check(f"the portable build trains {portable_lanes} lanes a group, the suite's "
              f"{native_lanes}", lanes_default(str(portable)) == portable_lanes)
        for name in STUDIES:
            config = tmp / f"{name}.cfg"
            config.write_text(config_text(name))
            native_file, portable_file = tmp / f"{name}_native.h5", tmp / f"{name}_portable.h5"
            run_study(sgdmc, config, native_file)
            run_study(portable, config, portable_file)
            a, b = every_dataset(native_file), every_dataset(portable_file)
            differing = [k for k in a if k not in b or not same(a[k], b[k])]
            check(f"{name}: native ({native_lanes} lanes) and portable ({portable_lanes} lanes) "
                  "builds write identical datasets "
                  f"({len(a)} datasets, {len(a['status'])} runs)",
                  not differing and set(a) == set(b), f"differ: {differing}")
            rows = len(a["status"])
            train_agrees(sgdmc, name, native_file, sorted({0, rows // 3, rows // 2, rows - 1}))
    print(f"test_portable: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
