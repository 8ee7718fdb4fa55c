#!/usr/bin/python3
"""Runs per core-second of two sgdmc binaries side by side, on the cells that
dominate studies: w1 d1, w8 d2, w32 d3 and w128 d3 (ReLU, Adam, batch 16,
x -> x^2 on U[0,1]), each a one-cell study run as one process pinned to one
core. A and B alternate run by run (A B A B ...), so that a drift of the
machine's speed hits both alike; the ratio is taken pair by pair and its
median printed.

Usage: kernel_bench.py A B [--repeats=N] [--cpu=N] [--quick]

A and B are sgdmc binaries, each optionally with study flags in the same
string: kernel_bench.py "build/sgdmc" "build/sgdmc --lanes=1" times lanes
against one run at a time.

A benchmark, not a test: meson never runs it. See tests/bench/README.md.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (label, width, depth, seeds, steps): about a second per study on a 2020s core
CELLS = [("w1 d1", 1, 1, 1500, 2000), ("w8 d2", 8, 2, 256, 2000),
         ("w32 d3", 32, 3, 24, 2000), ("w128 d3", 128, 3, 4, 1000)]


def config(width: int, depth: int, seeds: int, steps: int) -> str:
    return (f'name = "bench"; seeds = {seeds};\n'
            f"train = {{ width = {width}; depth = {depth}; optimizer = \"adam\"; "
            f"batch_size = 16; steps = {steps}; target = \"square\";\n"
            # R* given: the constructed R* of deep cells (10 s at w32 d3) is per cell, not kernel
            f"         min_risk = 1.0; }};\n")


# This core's FMA ceiling: a 12-accumulator AVX-512 FMA loop, measured while planning the lanes
# (../shared/notes/lockstep-prototype/README.md): 57.4 GFLOP/s.
FMA_CEILING_GFLOPS = 57.4
BATCH = 16


def flops_per_step(width: int, depth: int) -> float:
    """The floating-point operations of one training step, counted as a kernel's minimum:
    forward, the weights' gradient and the inputs' gradient each 2 B n_in n_out per layer
    (a multiply and an add), and Adam's 11 per parameter (two moment updates of 3 each, the two
    bias corrections, the square root, the division, the step); activations and sampling
    not counted."""
    widths = [1] + [width] * depth + [1]
    products = sum(a * b for a, b in zip(widths, widths[1:]))
    params = products + sum(widths[1:])
    return 6.0 * BATCH * products + 11.0 * params


def timed(command: str, cfg: Path, out: Path, cpu: int) -> float:
    binary, *flags = shlex.split(command)
    start = time.perf_counter()
    done = subprocess.run(["taskset", "-c", str(cpu), binary, "study", str(cfg),
                           f"--output={out}", "--force", "--quiet", *flags],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"kernel_bench: {command} failed on {cfg.name}: {done.stderr.strip()}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a tenth of the seeds, 2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    print(f"A = {args.a}\nB = {args.b}\n{os.cpu_count()} cores, pinned to core {args.cpu}, "
          f"{repeats} pairs per cell\n")
    print("| cell | runs | A runs/core-s (median) | B runs/core-s (median) | A/B speed (median of "
          "pairs) | pairs' range | A GFLOP/s (% of FMA ceiling) | B GFLOP/s (%) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, width, depth, seeds, steps in CELLS:
            seeds = max(1, seeds // 10) if args.quick else seeds
            cfg = tmp / f"w{width}d{depth}.cfg"
            cfg.write_text(config(width, depth, seeds, steps))
            timed(args.a, cfg, tmp / "a.h5", args.cpu)  # warm-up: page cache, CPU clock
            a_times, b_times = [], []
            for _ in range(repeats):
                a_times.append(timed(args.a, cfg, tmp / "a.h5", args.cpu))
                b_times.append(timed(args.b, cfg, tmp / "b.h5", args.cpu))
            speedups = [b / a for a, b in zip(a_times, b_times)]
            rates = [seeds / statistics.median(t) for t in (a_times, b_times)]
            gflops = [r * steps * flops_per_step(width, depth) / 1e9 for r in rates]
            print(f"| {label} | {seeds} x {steps} steps | {rates[0]:.1f} | {rates[1]:.1f} | "
                  f"{statistics.median(speedups):.3f} | {min(speedups):.3f}-{max(speedups):.3f} | "
                  + " | ".join(f"{g:.2f} ({100 * g / FMA_CEILING_GFLOPS:.0f}%)" for g in gflops)
                  + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
