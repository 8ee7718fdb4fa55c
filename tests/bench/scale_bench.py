#!/usr/bin/python3
"""How many ranks one study serves: rank 0's cost per chunk request, measured,
and the load 1000 ranks would put on it and on the file system, extrapolated.

Measured: a study of 1-step tasks (width 2, depth 1, R* given) under
`mpirun -n N` for N in --ranks, with --chunk-seconds small enough that rank 0
answers thousands of requests; sgdmc's last stderr line gives the number of
requests rank 0 answered and their mean and largest cost (receive to send).
Also the bytes per row of the file and the runs per second.

Extrapolated (printed with its formula): at a task time T a rank asks for a
chunk every max(chunk seconds, T) seconds and sends a heartbeat every second,
so R ranks cost rank 0  R (cost / max(0.5 s, T) + heartbeat cost / 1 s) of
its time, and write R / T rows per second into the file.

Usage: scale_bench.py [--sgdmc=build/sgdmc] [--ranks=2,4,8] [--seeds=200000]
A benchmark, not a test: meson never runs it. Figures: docs/study.md.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSWERED = re.compile(r"rank 0 answered (\d+) chunk requests, ([\d.]+) us each on average, "
                      r"([\d.]+) us at most")
DEFAULT_CHUNK_SECONDS = 0.5   # SGDMC_CHUNK_SECONDS
HEARTBEAT_SECONDS = 1.0       # study_run.c's HEARTBEAT_INTERVAL
TASK_TIMES = (1e-3, 1e-2, 1.0)
TARGET_RANKS = 1000


def run(sgdmc: Path, cfg: Path, out: Path, ranks: int, chunk_seconds: float) -> dict:
    launcher = ["mpirun", "--oversubscribe", "-n", str(ranks)]
    if os.geteuid() == 0:
        launcher.insert(1, "--allow-run-as-root")
    start = time.perf_counter()
    done = subprocess.run(launcher + [str(sgdmc), "study", str(cfg), f"--output={out}",
                                      "--force", "--progress=lines",
                                      f"--chunk-seconds={chunk_seconds}"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    found = ANSWERED.search(done.stderr)
    if done.returncode or not found:
        sys.exit(f"scale_bench: -n {ranks} --chunk-seconds={chunk_seconds} failed "
                 f"(exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return {"wall": wall, "requests": int(found[1]), "mean_us": float(found[2]),
            "max_us": float(found[3])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sgdmc", type=Path, default=REPO_ROOT / "build" / "sgdmc")
    parser.add_argument("--ranks", default="2,4,8")
    parser.add_argument("--seeds", type=int, default=200000)
    parser.add_argument("--chunk-seconds", default="0.5,0.001,0.0001")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ranks_list = [int(r) for r in args.ranks.split(",")]
    chunks = [float(c) for c in args.chunk_seconds.split(",")]
    print(f"sgdmc: {args.sgdmc}; {os.cpu_count()} cores; {args.seeds} 1-step tasks "
          f"(width 2, depth 1); median of {args.repeats} runs per line")
    print(time.strftime("date: %Y-%m-%d %H:%M %Z\n"))
    costs = []
    with tempfile.TemporaryDirectory(prefix="sgdmc-scale-bench-") as name:
        tmp = Path(name)
        binary = tmp / "sgdmc"
        shutil.copy2(args.sgdmc, binary)
        cfg = tmp / "trivial.cfg"
        cfg.write_text(f'name = "trivial"; seeds = {args.seeds};\n'
                       "train = { width = 2; depth = 1; steps = 1; min_risk = 1.0; };\n")
        out = tmp / "trivial.h5"
        print("| ranks | --chunk-seconds | requests rank 0 answered | mean cost (us) | "
              "largest (us) | runs/s (whole mpirun) |")
        print("|---|---|---|---|---|---|")
        for ranks in ranks_list:
            for chunk in chunks:
                results = [run(binary, cfg, out, ranks, chunk) for _ in range(args.repeats)]
                middle = sorted(results, key=lambda r: r["mean_us"])[len(results) // 2]
                costs.append(middle["mean_us"])
                print(f"| {ranks} | {chunk:g} | {middle['requests']} | {middle['mean_us']:.1f} | "
                      f"{middle['max_us']:.1f} | "
                      f"{args.seeds / statistics.median(r['wall'] for r in results):,.0f} |",
                      flush=True)
        row_bytes = out.stat().st_size / args.seeds
    cost_us = max(costs)  # the worst measured mean: oversubscribed ranks inflate it
    print(f"\nrow: {row_bytes:.0f} bytes of file per task (this config; trajectories add more)")
    print(f"\nExtrapolated to {TARGET_RANKS} ranks with the worst mean cost above, "
          f"{cost_us:.1f} us per request (a heartbeat costs at most as much):")
    print("| task time | requests/s at rank 0 | rank 0's time answering | heartbeats/s | "
          f"rows/s into the file | MB/s into the file | ranks at 10% of rank 0 |")
    print("|---|---|---|---|---|---|---|")
    for task in TASK_TIMES:
        per_rank = 1.0 / max(DEFAULT_CHUNK_SECONDS, task)
        requests = TARGET_RANKS * per_rank
        heartbeats = TARGET_RANKS / HEARTBEAT_SECONDS
        load = (requests + heartbeats) * cost_us * 1e-6
        rows = TARGET_RANKS / task
        ranks_at_10 = 0.10 / ((per_rank + 1.0 / HEARTBEAT_SECONDS) * cost_us * 1e-6)
        print(f"| {task:g} s | {requests:,.0f} | {100 * load:.2f}% | {heartbeats:,.0f} | "
              f"{rows:,.0f} | {rows * row_bytes / 1e6:,.1f} | {ranks_at_10:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
