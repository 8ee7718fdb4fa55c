#!/usr/bin/python3
"""Per-step speed of `sgdmc train` against a plain single-thread PyTorch loop.

Both sides train the same network on the same task:

* data: an HDF5 file (written to a temporary directory) with 4096 samples,
  datasets ``x`` [4096, 1] (float64, uniform on [0, 1], fixed numpy seed) and
  ``y`` [4096, 1] = x**2;
* network: input 1 -> D hidden ReLU layers of width W -> output 1, float64;
* optimizer: Adam, lr 1e-3, mini-batches of 32 samples drawn uniformly with
  replacement, loss mean over the batch of the squared error.

sgdmc is timed as a whole process (subprocess + time.perf_counter) running
``sgdmc train --data=FILE --batch_size=32 --optimizer=adam --width=W
--depth=D --steps=K --checkpoints=1 --seed=0``. The same command with
``--steps=0`` is timed as well and subtracted, which gives the per-step time
excluding startup (process start, data loading, initial and final risk
evaluation). K is chosen by pilot runs so that one run takes about
``--min-seconds``.

PyTorch runs in this process with torch.set_num_threads(1) and float64 as the
default dtype, after a warm-up, for enough steps to take about
``--min-seconds``.

Every measurement is repeated ``--repeats`` times and the best (or, with
``--stat=median``, the median) is reported. Unless ``--no-pin`` is given, this
process pins itself to one core with os.sched_setaffinity before torch is
imported; the sgdmc subprocesses inherit the affinity.

Run with an interpreter that has numpy, h5py and torch, e.g.
``/usr/bin/python3 tests/bench/bench.py``. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import h5py
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
N_SAMPLES = 4096
BATCH_SIZE = 32
LR = 1e-3
DEFAULT_CONFIGS = "4x2,32x3,128x3"
# Target speedup of sgdmc over PyTorch per step, by (width, depth).
TARGETS: dict[tuple[int, int], float] = {(4, 2): 100.0, (32, 3): 10.0, (128, 3): 3.0}


class SgdmcError(Exception):
    """sgdmc exited with an error or printed something that is not its JSON report."""


@dataclass
class Row:
    width: int
    depth: int
    steps: int = 0
    sgdmc_whole_us: Optional[float] = None
    sgdmc_excl_us: Optional[float] = None
    torch_us: Optional[float] = None
    errors: list[str] = field(default_factory=list)


def parse_configs(text: str) -> list[tuple[int, int]]:
    """Parses "4x2,32x3" into [(4, 2), (32, 3)] (width x depth)."""
    configs = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            w, d = item.lower().split("x")
            configs.append((int(w), int(d)))
        except ValueError:
            raise SystemExit(f"bad config {item!r}: expected WIDTHxDEPTH, e.g. 32x3")
    return configs


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision(binary: Optional[Path] = None) -> str:
    """The commit of the checkout that holds `binary` (a baseline built in a
    worktree is its worktree's commit), else of this repository."""
    where = binary.resolve().parent if binary is not None else REPO_ROOT
    try:
        rev = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_data(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(N_SAMPLES, 1))
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=x ** 2)


def pick(values: list[float], stat: str) -> float:
    return min(values) if stat == "best" else statistics.median(values)


# ---------------------------------------------------------------- sgdmc


def sgdmc_command(sgdmc: Path, data: Path, width: int, depth: int, steps: int) -> list[str]:
    return [str(sgdmc), "train", f"--data={data}", f"--batch_size={BATCH_SIZE}",
            "--optimizer=adam", f"--width={width}", f"--depth={depth}", f"--steps={steps}",
            "--checkpoints=1", "--seed=0"]


def time_sgdmc(cmd: list[str], steps: int) -> float:
    """Wall time of one whole sgdmc process; raises SgdmcError on failure."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SgdmcError(f"`{' '.join(cmd)}` exited with status {proc.returncode}:\n"
                         f"{proc.stderr}{proc.stdout}".rstrip())
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SgdmcError(f"`{' '.join(cmd)}` printed no JSON report:\n"
                         f"{proc.stdout}{proc.stderr}".rstrip())
    if report.get("steps") != steps:
        raise SgdmcError(f"`{' '.join(cmd)}` reported steps={report.get('steps')}, "
                         f"expected {steps}")
    return elapsed


def bench_sgdmc(row: Row, sgdmc: Path, data: Path, repeats: int, min_seconds: float,
                stat: str) -> None:
    def cmd(steps: int) -> list[str]:
        return sgdmc_command(sgdmc, data, row.width, row.depth, steps)

    startup = time_sgdmc(cmd(0), 0)
    # Pilot: grow the step count tenfold until the steps alone take >= 0.2 s
    # (or 1/5 of the target), then scale up to min_seconds.
    pilot_steps = 100
    while True:
        pilot = time_sgdmc(cmd(pilot_steps), pilot_steps) - startup
        if pilot >= min(0.2, min_seconds / 5) or pilot_steps >= 10**9:
            break
        pilot_steps *= 10
    per_step = max(pilot, 1e-9) / pilot_steps
    steps = max(1, math.ceil(min_seconds / per_step))
    row.steps = steps

    whole: list[float] = []
    zero: list[float] = []
    for _ in range(repeats):
        zero.append(time_sgdmc(cmd(0), 0))
        whole.append(time_sgdmc(cmd(steps), steps))
    t_whole = pick(whole, stat)
    t_zero = pick(zero, stat)
    row.sgdmc_whole_us = t_whole / steps * 1e6
    row.sgdmc_excl_us = (t_whole - t_zero) / steps * 1e6


# ---------------------------------------------------------------- torch


def bench_torch(row: Row, data: Path, repeats: int, min_seconds: float, stat: str) -> None:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    with h5py.File(data, "r") as f:
        x = torch.from_numpy(np.asarray(f["x"], dtype=np.float64))
        y = torch.from_numpy(np.asarray(f["y"], dtype=np.float64))
    n = x.shape[0]

    layers: list[nn.Module] = [nn.Linear(1, row.width), nn.ReLU()]
    for _ in range(row.depth - 1):
        layers += [nn.Linear(row.width, row.width), nn.ReLU()]
    layers.append(nn.Linear(row.width, 1))
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=LR)

    def run(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, n, (BATCH_SIZE,))
            loss = ((net(x[idx]) - y[idx]) ** 2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    run(200)  # warm-up
    pilot_steps = 100
    while True:
        pilot = run(pilot_steps)
        if pilot >= min(0.2, min_seconds / 5):
            break
        pilot_steps *= 10
    steps = max(1, math.ceil(min_seconds * pilot_steps / pilot))
    row.torch_us = pick([run(steps) / steps * 1e6 for _ in range(repeats)], stat)


# ---------------------------------------------------------------- output


def fmt(value: Optional[float], digits: int = 1, suffix: str = "") -> str:
    """Formats a number; "n/a" when it was not measured (error or --skip-torch)."""
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b <= 0 else a / b


def print_table(rows: list[Row]) -> None:
    header = ["config", "K steps", "sgdmc µs/step (whole process)",
              "sgdmc µs/step (excl. startup)", "sgdmc steps/s (excl. startup)",
              "torch µs/step", "speedup (excl. startup)", "speedup (whole process)",
              "target"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        excl_speedup = ratio(r.torch_us, r.sgdmc_excl_us)
        whole_speedup = ratio(r.torch_us, r.sgdmc_whole_us)
        steps_per_s = None if r.sgdmc_excl_us is None else 1e6 / r.sgdmc_excl_us
        target = TARGETS.get((r.width, r.depth))
        if target is None:
            target_cell = "-"
        elif excl_speedup is None:
            target_cell = f">= {target:g}x: ?"
        else:
            target_cell = f">= {target:g}x: {'met' if excl_speedup >= target else 'MISSED'}"
        cells = [f"width {r.width} depth {r.depth}", str(r.steps) if r.steps else "-",
                 fmt(r.sgdmc_whole_us, 2), fmt(r.sgdmc_excl_us, 2), fmt(steps_per_s, 0),
                 fmt(r.torch_us, 1),
                 fmt(excl_speedup, 1, "x"), fmt(whole_speedup, 1, "x"),
                 target_cell]
        print("| " + " | ".join(cells) + " |")


# ---------------------------------------------------------------- main


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sgdmc", type=Path, default=REPO_ROOT / "build" / "sgdmc",
                        help="sgdmc binary (default: %(default)s)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help="comma-separated WIDTHxDEPTH list (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repetitions per measurement (default: %(default)s)")
    parser.add_argument("--stat", choices=["best", "median"], default="best",
                        help="statistic over the repetitions (default: %(default)s)")
    parser.add_argument("--min-seconds", type=float, default=1.5,
                        help="target duration of one timed run (default: %(default)s)")
    parser.add_argument("--cpu", type=int, default=0,
                        help="core to pin to (default: %(default)s)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    parser.add_argument("--data-seed", type=int, default=0,
                        help="numpy seed of the data set (default: %(default)s)")
    parser.add_argument("--skip-torch", action="store_true", help="time sgdmc only")
    args = parser.parse_args(argv)

    configs = parse_configs(args.configs)
    sgdmc = args.sgdmc.resolve()
    if not sgdmc.is_file():
        print(f"sgdmc binary not found: {sgdmc} (build with `meson compile -C build`)",
              file=sys.stderr)
        return 2

    if args.no_pin:
        pinning = "not pinned"
    else:
        # Before torch is imported, so its thread pools see one core; the
        # sgdmc subprocesses inherit the affinity.
        os.sched_setaffinity(0, {args.cpu})
        pinning = f"pinned to core {args.cpu} (os.sched_setaffinity)"

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs), {pinning}")
    print(f"sgdmc: {sgdmc} @ {git_revision(Path(sgdmc))}")
    if not args.skip_torch:
        import torch
        print(f"python {platform.python_version()}, numpy {np.__version__}, "
              f"torch {torch.__version__} (1 thread, float64)")
    print(f"batch {BATCH_SIZE}, adam lr {LR:g}, {N_SAMPLES} samples, "
          f"{args.stat} of {args.repeats} repeats, ~{args.min_seconds:g} s per timed run")
    print(flush=True)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sgdmc-bench-") as tmp:
        data = Path(tmp) / "square.h5"
        write_data(data, args.data_seed)
        for width, depth in configs:
            row = Row(width, depth)
            rows.append(row)
            print(f"width {width} depth {depth}: sgdmc ...", end="", flush=True,
                  file=sys.stderr)
            try:
                bench_sgdmc(row, sgdmc, data, args.repeats, args.min_seconds, args.stat)
            except SgdmcError as e:
                row.errors.append(str(e))
            if not args.skip_torch:
                print(" torch ...", end="", flush=True, file=sys.stderr)
                bench_torch(row, data, args.repeats, args.min_seconds, args.stat)
            print(" done", file=sys.stderr, flush=True)

    print_table(rows)
    failed = [r for r in rows if r.errors]
    for r in failed:
        print(f"\nsgdmc failed on width {r.width} depth {r.depth}:")
        for error in r.errors:
            print(error)
    print("\nspeedup = torch µs/step / sgdmc µs/step; 'target' compares the "
          "excl.-startup speedup.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
