#!/usr/bin/python3
"""Throughput of `sgdmc study`: runs per core-second against batched PyTorch,
parallel efficiency at 2 ranks, and the dispatch rate of trivial tasks.

1. The cells that dominate paper 001's studies, 256 seeds each: width 8
   depth 2 and width 1 depth 1 (--cells), ReLU, Adam (lr 1e-3), batch 16,
   2000 steps, target x -> x^2 with x ~ U[0,1], init U[-1,1], MSE.
   sgdmc: one `sgdmc study CFG --quiet` process pinned to core 0 with
   `taskset -c 0`, timed whole (it also evaluates the exact risk at 8
   checkpoints and counts dead neurons, its defaults). PyTorch: one process,
   pinned the same way, one thread, float64, that trains all 256 runs at once:
   parameters with a leading seed dimension, forward with torch.baddbmm, each
   seed its own mini-batch, loss = sum over seeds of per-seed means, autograd,
   torch.optim.Adam over the batched tensors (elementwise, so 256 independent
   Adams), then each seed's risk on 4096 grid points of [0, 1] and its dead
   first-layer neurons. Its clock starts after `import torch`. Both are also
   reported "excl. startup": t(K steps) - t(0 steps) of the same command, with
   the ceiling of the whole-process ratio (PyTorch's whole process against
   sgdmc's 0-step one: what no faster training step could beat), and
   sgdmc once more with FAST_START_ENV (Open MPI settings, see below).
2. Parallel efficiency: the same cell with 8192 seeds (about 21 s on one core)
   as one process, under `mpirun -n 2`, and, as a control of what the machine
   delivers, as two independent processes at the same time. Nothing pinned.
3. Dispatch rate: width 2, depth 1, steps 1, 200000 and 400000 seeds under
   `mpirun -n 2`, startup included; the difference gives the marginal rate.

Every measurement is the best (shortest wall time) of --repeats runs. Output
files go to a temporary directory. Run with an interpreter that has numpy,
h5py and torch: `/usr/bin/python3 tests/bench/study_bench.py`. This is a
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import cpu_model, git_revision  # noqa: E402  (the single-run benchmark's helpers)

# Section 1's cells (width, depth) and their other keys, sgdmc's defaults written out:
# target square, input uniform, init uniform, relu, mse, adam's lr 1e-3. Sections 2
# and 3 use the first cell.
DEFAULT_CELLS = "8x2,1x1"
WIDTH, DEPTH, BATCH, LR = 8, 2, 16, 1e-3
CELL_KEYS: dict[str, object] = {"activation": "relu", "optimizer": "adam",
             "lr": LR, "batch_size": BATCH, "target": "square", "input": "uniform",
             "init": "uniform", "loss": "mse"}
CELL_TRAIN: dict[str, object] = {"width": WIDTH, "depth": DEPTH, **CELL_KEYS}
TOL = 1e-3           # sgdmc's default --tol: a run "converged" when its risk <= TOL
EVAL_POINTS = 4096   # PyTorch's risk grid on [0, 1]

# Open MPI settings that cut sgdmc's startup from ~0.33 s to ~0.03 s on this
# machine: the default pml probes the PSM/PSM2 MTLs, whose library calibrates a
# timer for ~0.2 s; a singleton (no mpirun) spawns an orted for ~0.1 s.
FAST_START_ENV = {"OMPI_MCA_pml": "ob1", "OMPI_MCA_ess_singleton_isolated": "1"}

# sgdmc runs per core-second / PyTorch's, per cell (issue 21); other cells have none.
TARGET_SPEEDUP = {(8, 2): 20.0, (1, 1): 35.0}
TARGET_EFFICIENCY = 0.90
TARGET_DISPATCH = 20000.0


@dataclass
class Sizes:
    cell_seeds: int
    cell_steps: int
    parallel_seeds: int
    dispatch_seeds: int


FULL = Sizes(cell_seeds=256, cell_steps=2000, parallel_seeds=8192, dispatch_seeds=200000)
QUICK = Sizes(cell_seeds=256, cell_steps=200, parallel_seeds=512, dispatch_seeds=20000)


class BenchError(Exception):
    """A command failed; the message holds its output."""


@dataclass
class Timed:
    wall: float          # seconds
    cpu: float           # user + system seconds of the command and its waited-for children
    others: float = 0.0  # CPU seconds the rest of the machine used meanwhile

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0

    @property
    def other_cores(self) -> float:
        return max(self.others, 0.0) / self.wall if self.wall > 0 else 0.0


# ---------------------------------------------------------------- helpers


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all processes have used since boot (/proc/stat, without
    idle, iowait and guest time, which is counted in user time already)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6, 7)) / CLOCK_TICK


def busy_cpus(seconds: float = 1.0) -> float:
    """How many CPUs were busy (all processes) over `seconds`."""
    before = machine_busy()
    time.sleep(seconds)
    return (machine_busy() - before) / seconds


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_exit(cmd: list[str], proc: subprocess.CompletedProcess | subprocess.Popen,
               stdout: str, stderr: str) -> None:
    if proc.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited with status {proc.returncode}:\n"
                         f"{stderr}{stdout}".rstrip())


def run_timed(cmd: list[str], env: Optional[dict[str, str]] = None) -> tuple[Timed, str]:
    """Runs one command (with `env` added to the environment); its wall time,
    CPU time and stdout."""
    full_env = {**os.environ, **env} if env else None
    cpu0, busy0 = children_cpu(), machine_busy()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
    wall = time.perf_counter() - start
    cpu, busy = children_cpu() - cpu0, machine_busy() - busy0
    check_exit(cmd, proc, proc.stdout, proc.stderr)
    return Timed(wall, cpu, busy - cpu), proc.stdout


def run_together(cmds: list[list[str]]) -> Timed:
    """Starts every command at once; wall time until the last one ends."""
    cpu0, busy0 = children_cpu(), machine_busy()
    start = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    outputs = [p.communicate() for p in procs]
    wall = time.perf_counter() - start
    cpu, busy = children_cpu() - cpu0, machine_busy() - busy0
    for c, p, (out, err) in zip(cmds, procs, outputs):
        check_exit(c, p, out, err)
    return Timed(wall, cpu, busy - cpu)


def best(measure: Callable[[], Any], repeats: int) -> Any:
    """The result with the shortest wall time over `repeats` calls of measure(),
    which returns a Timed or a tuple whose first item is one."""
    results = [measure() for _ in range(repeats)]
    return min(results, key=lambda r: r[0].wall if isinstance(r, tuple) else r.wall)


def config_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def write_study(path: Path, name: str, seeds: int, train: dict[str, object]) -> None:
    """A libconfig study without a grid: one cell, `seeds` tasks."""
    keys = " ".join(f"{k} = {config_value(v)};" for k, v in train.items())
    path.write_text(f'name = "{name}";\nseeds = {seeds};\ntrain = {{ {keys} }};\n')


def study_cmd(sgdmc: Path, cfg: Path, out: Path, ranks: Optional[int] = None,
              pin: Optional[int] = None) -> list[str]:
    """`sgdmc study`; ranks None: one process without mpirun."""
    cmd = [str(sgdmc), "study", str(cfg), f"--output={out}", "--quiet", "--force"]
    if ranks is not None:
        launcher = ["mpirun", "--oversubscribe", "-n", str(ranks)]
        if os.geteuid() == 0:
            launcher.insert(1, "--allow-run-as-root")
        cmd = launcher + cmd
    if pin is not None:
        cmd = ["taskset", "-c", str(pin)] + cmd
    return cmd


def sgdmc_summary(path: Path, width: int) -> dict[str, float]:
    """Median final risk, fraction with risk <= TOL, dead first-layer fraction."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        risk = runs["final_risk"][...]
        dead = runs["dead_final"][:, 0]
    return {"median_risk": float(np.median(risk)), "converged": float(np.mean(risk <= TOL)),
            "dead_fraction": float(np.mean(dead) / width)}


def rank_usage(path: Path) -> list[tuple[int, int, float]]:
    """(rank, tasks, summed task seconds) per rank from a results file."""
    import h5py
    import numpy as np
    with h5py.File(path, "r") as f:
        rank = f["runs/rank"][...]
        seconds = f["runs/seconds"][...]
    return [(int(r), int(np.sum(rank == r)), float(np.sum(seconds[rank == r])))
            for r in np.unique(rank)]


# ---------------------------------------------------------------- PyTorch


def torch_child(seeds: int, steps: int, width: int, depth: int) -> None:
    """Trains `seeds` runs at once and prints a JSON report (run pinned, in its
    own process). The clock starts after `import torch`."""
    import torch
    start = time.perf_counter()
    torch.set_num_threads(1)
    dtype = torch.float64
    gen = torch.Generator().manual_seed(0)

    def uniform(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, dtype=dtype, generator=gen) * 2 - 1).requires_grad_()

    # Layer k: weight [seeds, n_in, n_out] (so h @ W), bias [seeds, 1, n_out].
    sizes = [1] + [width] * depth + [1]
    weights = [uniform(seeds, a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [uniform(seeds, 1, b) for b in sizes[1:]]
    opt = torch.optim.Adam(weights + biases, lr=LR)

    def forward(x: torch.Tensor) -> torch.Tensor:
        h = x
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if k < len(weights) - 1:
                h = torch.relu(h)
        return h

    for _ in range(steps):
        x = torch.rand(seeds, BATCH, 1, dtype=dtype, generator=gen)
        loss = ((forward(x) - x * x) ** 2).mean(dim=(1, 2)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    trained = time.perf_counter()

    with torch.no_grad():
        grid = torch.linspace(0, 1, EVAL_POINTS, dtype=dtype).view(1, -1, 1)
        x = grid.expand(seeds, -1, -1).contiguous()
        risk = ((forward(x) - x * x) ** 2).mean(dim=(1, 2))
        first = torch.baddbmm(biases[0], x, weights[0])       # [seeds, points, width]
        dead = (first <= 0).all(dim=1).sum(dim=1)             # grid includes 0 and 1: exact
    end = time.perf_counter()
    print(json.dumps({"seconds": end - start, "train_seconds": trained - start,
                      "eval_seconds": end - trained,
                      "median_risk": float(risk.median()),
                      "converged": float((risk <= TOL).double().mean()),
                      "dead_fraction": float(dead.double().mean()) / width,
                      "torch": torch.__version__}))


def time_torch(seeds: int, steps: int, width: int, depth: int, cpu: int) -> tuple[Timed, dict]:
    cmd = ["taskset", "-c", str(cpu), sys.executable, str(Path(__file__).resolve()),
           "--torch-child", f"--seeds={seeds}", f"--steps={steps}", f"--width={width}",
           f"--depth={depth}"]
    timed, out = run_timed(cmd)
    report = json.loads(out)
    report["process_cores"] = timed.cores  # CPU / wall of the whole process
    # The process's own clock, from after `import torch` to the end; CPU time
    # scaled to that part.
    return Timed(report["seconds"], timed.cores * report["seconds"],
                 timed.other_cores * report["seconds"]), report


# ---------------------------------------------------------------- sections


def fmt(value: Optional[float], digits: int = 1, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "MISSED"


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(flush=True)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_cells(text: str) -> list[tuple[int, int]]:
    """'8x2,1x1' -> [(8, 2), (1, 1)]"""
    cells = []
    for item in text.split(","):
        width, _, depth = item.strip().partition("x")
        if not (width.isdigit() and depth.isdigit() and int(width) > 0 and int(depth) > 0):
            raise SystemExit(f"--cells: '{item}' is not WIDTHxDEPTH (e.g. 8x2)")
        cells.append((int(width), int(depth)))
    return cells


def section_cell(sgdmc: Path, tmp: Path, sizes: Sizes, repeats: int, cpu: int,
                 skip_torch: bool, width: int, depth: int) -> None:
    seeds, steps = sizes.cell_seeds, sizes.cell_steps
    cfg, cfg0 = tmp / "cell.cfg", tmp / "cell0.cfg"
    out = tmp / "cell.h5"
    train: dict[str, object] = {"width": width, "depth": depth, **CELL_KEYS}
    write_study(cfg, "cell", seeds, {**train, "steps": steps})
    write_study(cfg0, "cell0", seeds, {**train, "steps": 0})

    progress(f"1. cell w{width} d{depth}, {seeds} seeds x {steps} steps: sgdmc ...")
    s_whole, _ = best(lambda: run_timed(study_cmd(sgdmc, cfg, out, pin=cpu)), repeats)
    s_zero, _ = best(lambda: run_timed(study_cmd(sgdmc, cfg0, tmp / "cell0.h5", pin=cpu)),
                     repeats)
    s_sum = sgdmc_summary(out, width)
    s_fast, _ = best(lambda: run_timed(study_cmd(sgdmc, cfg, out, pin=cpu), FAST_START_ENV),
                     repeats)
    t_whole = t_zero = None
    t_sum: dict = {}
    if not skip_torch:
        progress("   PyTorch ...")
        t_whole, t_sum = best(lambda: time_torch(seeds, steps, width, depth, cpu), repeats)
        t_zero, _ = best(lambda: time_torch(seeds, 0, width, depth, cpu), repeats)

    def rate(t: Optional[Timed], t0: Optional[Timed] = None) -> Optional[float]:
        if t is None:
            return None
        return seeds / (t.wall - (t0.wall if t0 else 0.0))

    def us_per_step(t: Optional[Timed], t0: Optional[Timed] = None) -> Optional[float]:
        if t is None or steps == 0:
            return None
        return (t.wall - (t0.wall if t0 else 0.0)) / (seeds * steps) * 1e6

    def ratio(a: Optional[float], b: Optional[float], invert: bool = False) -> str:
        if a is None or b is None or b <= 0:
            return "n/a"
        return f"{(b / a if invert else a / b):.1f}x"

    s_rate, t_rate = rate(s_whole), rate(t_whole)
    s_rate_x, t_rate_x = rate(s_whole, s_zero), rate(t_whole, t_zero)
    print(f"### 1. Runs per core-second: width {width}, depth {depth}, ReLU, adam lr {LR:g}, "
          f"batch {BATCH}, {steps} steps, {seeds} seeds, x -> x^2 (core {cpu})\n")
    wanted = TARGET_SPEEDUP.get((width, depth))
    target = "" if wanted is None else f">= {wanted:g}x"
    if wanted is not None and s_rate is not None and t_rate is not None:
        target += f": {verdict(s_rate / t_rate, wanted)}"
    table(["measurement", "sgdmc", "PyTorch (batched)", "sgdmc / PyTorch", "target"], [
        ["wall seconds, whole process (torch: after import)", fmt(s_whole.wall, 3),
         fmt(t_whole.wall if t_whole else None, 3), "", ""],
        ["wall seconds with 0 steps (startup)", fmt(s_zero.wall, 3),
         fmt(t_zero.wall if t_zero else None, 3), "", ""],
        ["runs / core-second (whole process)", fmt(s_rate, 1), fmt(t_rate, 1),
         ratio(s_rate, t_rate), target],
        ["runs / core-second (excl. startup)", fmt(s_rate_x, 1), fmt(t_rate_x, 1),
         ratio(s_rate_x, t_rate_x), ""],
        # what no training step can beat: sgdmc's whole-process rate if every
        # step took no time, i.e. its 0-step process against PyTorch's whole
        ["ceiling of the whole-process ratio (sgdmc's steps free: its 0-step process)",
         fmt(rate(s_zero), 1), fmt(t_rate, 1), ratio(rate(s_zero), t_rate), ""],
        ["runs / core-second (whole process, sgdmc with OMPI_MCA_pml=ob1 "
         "OMPI_MCA_ess_singleton_isolated=1)", fmt(rate(s_fast), 1), fmt(t_rate, 1),
         ratio(rate(s_fast), t_rate), ""],
        ["µs per step per run (whole process)", fmt(us_per_step(s_whole), 2),
         fmt(us_per_step(t_whole), 2), "", ""],
        ["µs per step per run (excl. startup)", fmt(us_per_step(s_whole, s_zero), 2),
         fmt(us_per_step(t_whole, t_zero), 2), "", ""],
        ["CPU seconds / wall seconds", fmt(s_whole.cores, 2),
         fmt(t_whole.cores if t_whole else None, 2), "", ""],
        ["other processes' CPUs meanwhile (noise)", fmt(s_whole.other_cores, 2),
         fmt(t_whole.other_cores if t_whole else None, 2), "", ""],
        ["check: median final risk", f"{s_sum['median_risk']:.3g}",
         f"{t_sum['median_risk']:.3g}" if t_sum else "n/a", "", ""],
        [f"check: fraction with risk <= {TOL:g}", f"{s_sum['converged']:.3f}",
         f"{t_sum['converged']:.3f}" if t_sum else "n/a", "", ""],
        ["check: dead first-layer neurons at the end", f"{s_sum['dead_fraction']:.3f}",
         f"{t_sum['dead_fraction']:.3f}" if t_sum else "n/a", "", ""],
    ])
    if t_sum:
        print(f"PyTorch {t_sum['torch']}: training {t_sum['train_seconds']:.3f} s, "
              f"final risk grid {t_sum['eval_seconds']:.3f} s (best run). sgdmc's CPU/wall "
              "below 1 is its startup waiting in MPI_Init (see FAST_START_ENV).\n",
              flush=True)


def section_parallel(sgdmc: Path, tmp: Path, sizes: Sizes, repeats: int) -> None:
    seeds = sizes.parallel_seeds
    cfg = tmp / "parallel.cfg"
    write_study(cfg, "parallel", seeds, {**CELL_TRAIN, "steps": FULL.cell_steps})
    out1, out2 = tmp / "parallel1.h5", tmp / "parallel2.h5"
    outs_c = [tmp / "control_a.h5", tmp / "control_b.h5"]

    progress(f"2. parallel, {seeds} seeds: one process ...")
    one, _ = best(lambda: run_timed(study_cmd(sgdmc, cfg, out1)), repeats)
    progress("   mpirun -n 2 ...")
    # Keep the results file of the best mpirun run for the per-rank figures.
    runs: list[tuple[Timed, list]] = []
    for _ in range(repeats):
        t, _ = run_timed(study_cmd(sgdmc, cfg, out2, ranks=2))
        runs.append((t, rank_usage(out2)))
    two, usage = min(runs, key=lambda r: r[0].wall)
    progress("   two independent processes at once ...")
    both = best(lambda: run_together([study_cmd(sgdmc, cfg, o) for o in outs_c]), repeats)

    rate1 = seeds / one.wall
    rate2 = seeds / two.wall
    rate_c = 2 * seeds / both.wall
    eff = rate2 / (2 * rate1)
    control = rate_c / (2 * rate1)
    engine = rate2 / rate_c
    print(f"### 2. Parallel efficiency at N = 2: the cell with {seeds} seeds, "
          f"{FULL.cell_steps} steps, not pinned\n")
    table(["run", "wall s", "runs / s", "CPU s / wall s", "others' CPUs", "relative",
           "target"], [
        ["one process", fmt(one.wall, 2), fmt(rate1, 1), fmt(one.cores, 2),
         fmt(one.other_cores, 2), "1", ""],
        ["mpirun -n 2", fmt(two.wall, 2), fmt(rate2, 1), fmt(two.cores, 2),
         fmt(two.other_cores, 2), f"efficiency rate(2) / (2 rate(1)) = {eff:.1%}",
         f">= {TARGET_EFFICIENCY:.0%}: {verdict(eff, TARGET_EFFICIENCY)}"],
        ["control: 2 independent processes", fmt(both.wall, 2), fmt(rate_c, 1),
         fmt(both.cores, 2), fmt(both.other_cores, 2),
         f"machine: combined / (2 rate(1)) = {control:.1%}", ""],
        ["mpirun -n 2 vs. control", "", "", "", "", f"engine: rate(2) / control = {engine:.1%}",
         ""],
    ])
    parts = [f"rank {r}: {n} tasks, {busy:.2f} s in tasks ({busy / two.wall:.0%} of the wall "
             "time)" for r, n, busy in usage]
    print("Best mpirun -n 2 run, from the results file: " + "; ".join(parts) + ".\n",
          flush=True)


def section_dispatch(sgdmc: Path, tmp: Path, sizes: Sizes, repeats: int) -> None:
    train: dict[str, object] = {"width": 2, "depth": 1, "steps": 1}
    walls: list[tuple[int, Timed]] = []
    for seeds in (sizes.dispatch_seeds, 2 * sizes.dispatch_seeds):
        progress(f"3. dispatch, {seeds} tasks under mpirun -n 2 ...")
        cfg = tmp / f"dispatch{seeds}.cfg"
        write_study(cfg, "dispatch", seeds, train)
        t, _ = best(lambda: run_timed(study_cmd(sgdmc, cfg, tmp / "dispatch.h5", ranks=2)),
                    repeats)
        walls.append((seeds, t))
    usage = rank_usage(tmp / "dispatch.h5")  # the last run of the larger study
    (n1, t1), (n2, t2) = walls
    marginal = (n2 - n1) / (t2.wall - t1.wall) if t2.wall > t1.wall else None
    print("### 3. Dispatch rate: width 2, depth 1, 1 step, mpirun -n 2, startup included\n")
    table(["tasks", "wall s", "tasks / s", "CPU s / wall s", "others' CPUs", "target"], [
        [f"{n1:,}", fmt(t1.wall, 2), fmt(n1 / t1.wall, 0), fmt(t1.cores, 2),
         fmt(t1.other_cores, 2),
         f">= {TARGET_DISPATCH:,.0f}: {verdict(n1 / t1.wall, TARGET_DISPATCH)}"],
        [f"{n2:,}", fmt(t2.wall, 2), fmt(n2 / t2.wall, 0), fmt(t2.cores, 2),
         fmt(t2.other_cores, 2), ""],
        ["marginal (difference)", fmt(t2.wall - t1.wall, 2), fmt(marginal, 0), "", "", ""],
    ])
    parts = [f"rank {r}: {n} tasks, {busy:.2f} s inside tasks" for r, n, busy in usage]
    print(f"Last {n2:,}-task run, from the results file: " + "; ".join(parts) +
          " (a task's `seconds` cover sgdmc_trainer_run only, not its restart, seeding or "
          "row write).\n", flush=True)


# ---------------------------------------------------------------- main


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sgdmc", type=Path, default=REPO_ROOT / "build" / "sgdmc",
                        help="sgdmc binary (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes to check the script works ({QUICK.cell_steps} "
                             f"steps, {QUICK.parallel_seeds} and {QUICK.dispatch_seeds} "
                             "seeds, one repeat)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per measurement, the best is kept (default: 3; 1 with "
                             "--quick)")
    parser.add_argument("--sections", default="1,2,3",
                        help="which sections to run (default: %(default)s)")
    parser.add_argument("--cpu", type=int, default=0,
                        help="core for section 1 (default: %(default)s)")
    parser.add_argument("--skip-torch", action="store_true", help="time sgdmc only")
    parser.add_argument("--cell-seeds", type=int, default=None,
                        help=f"section 1's seeds per cell (default: {FULL.cell_seeds})")
    parser.add_argument("--cells", default=DEFAULT_CELLS,
                        help="section 1's cells, WIDTHxDEPTH, comma-separated "
                             "(default: %(default)s)")
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=WIDTH, help=argparse.SUPPRESS)
    parser.add_argument("--depth", type=int, default=DEPTH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.torch_child:
        torch_child(args.seeds, args.steps, args.width, args.depth)
        return 0

    sizes = QUICK if args.quick else FULL
    cells = parse_cells(args.cells)
    if args.cell_seeds is not None:
        if args.cell_seeds < 1:
            parser.error("--cell-seeds: must be at least 1")
        sizes = dataclasses.replace(sizes, cell_seeds=args.cell_seeds)
    repeats = args.repeats or (1 if args.quick else 3)
    sections = {s.strip() for s in args.sections.split(",")}
    sgdmc = args.sgdmc.resolve()
    if not sgdmc.is_file():
        print(f"sgdmc binary not found: {sgdmc} (build with `meson compile -C build`)",
              file=sys.stderr)
        return 2
    for tool in ("taskset", "mpirun"):
        if shutil.which(tool) is None:
            print(f"{tool} not found on PATH", file=sys.stderr)
            return 2

    busy = busy_cpus()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); busy before start: "
          f"{busy:.2f} CPUs")
    if busy > 0.2:
        print("WARNING: the machine is busy; the timings below are pessimistic "
              "(see `top`).")
    print("'others' CPUs': CPUs used by other processes during a timed run "
          "(from /proc/stat); above ~0.1 the run was disturbed.")
    print(f"sgdmc: {sgdmc} @ {git_revision(Path(sgdmc))}")
    print(f"python {platform.python_version()} ({sys.executable}); best of {repeats} "
          f"run(s) per measurement{'; --quick sizes' if args.quick else ''}")
    print(time.strftime("date: %Y-%m-%d %H:%M %Z"))
    print(flush=True)

    try:
        with tempfile.TemporaryDirectory(prefix="sgdmc-study-bench-") as name:
            tmp = Path(name)
            # A private copy, so that a rebuild of build/ during the benchmark
            # does not break or change it.
            binary = tmp / "sgdmc"
            shutil.copy2(sgdmc, binary)
            sgdmc = binary
            if "1" in sections:
                for width, depth in cells:
                    section_cell(sgdmc, tmp, sizes, repeats, args.cpu, args.skip_torch,
                                 width, depth)
            if "2" in sections:
                section_parallel(sgdmc, tmp, sizes, repeats)
            if "3" in sections:
                section_dispatch(sgdmc, tmp, sizes, repeats)
    except BenchError as e:
        print(f"\n{e}")
        return 1
    busy = busy_cpus()
    if busy > 0.2:
        print(f"WARNING: {busy:.2f} CPUs busy right after the benchmark; other work may "
              "have overlapped it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
