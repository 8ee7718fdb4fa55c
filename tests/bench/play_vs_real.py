#!/usr/bin/env python3
"""The dry run's played wall time against real runs on this machine's cores.

usage: play_vs_real.py [SGDMC] [--repeats=N] [--only=NAME,...]

`sgdmc study --dry-run` plays the study's dispatch on a simulated clock on as many ranks as this
machine has cores and prints when the last rank would be done. This script runs each study for
real under `mpirun -n CORES` and prints both, side by side, with the even spread of the cost
(core-seconds / cores) that the dry run printed before. The real wall time is measured from
outside (mpirun included); a 1-task study of 0 steps under the same mpirun gives the launcher's
start-up, which the played time leaves out, and `real - start-up` is compared. Not a test: the
figures go to tests/bench/results/. The machine should be otherwise idle.

Studies: every jobs/*/quick.cfg, and paper 001's medium grid with fewer seeds and steps (a study
of many small cells, where the study's end and R* repeats matter most).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def launcher(cores: int) -> list[str]:
    cmd = ["mpirun", "-n", str(cores)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def dry_run(sgdmc: str, config: Path) -> tuple[float, float, int]:
    """(played seconds, evenly spread seconds, ranks) from the dry run's second line."""
    out = subprocess.run([sgdmc, "study", str(config), "--dry-run"], capture_output=True,
                         text=True, check=True).stdout
    found = re.search(r"about (\S+) s of wall time on the (\d+) cores of this machine \(the "
                      r"dispatch played on \d+ ranks; (\S+) s were the cost spread evenly\)", out)
    if not found:
        raise RuntimeError(f"--dry-run {config}: no played line in {out!r}")
    return float(found[1]), float(found[3]), int(found[2])


def real_run(sgdmc: str, config: Path, cores: int, out: Path) -> float:
    """Wall seconds of `mpirun -n cores sgdmc study config`, mpirun included."""
    start = time.monotonic()
    subprocess.run([*launcher(cores), sgdmc, "study", str(config), f"--output={out}",
                    "--quiet", "--force"], check=True, capture_output=True)
    return time.monotonic() - start


def main(argv: list[str]) -> int:
    sgdmc = next((a for a in argv if not a.startswith("--")), str(REPO / "build" / "sgdmc"))
    repeats = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--repeats=")), 3)
    only = next((a.split("=", 1)[1].split(",") for a in argv if a.startswith("--only=")), None)
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        configs = {p.parent.name.split("-")[0] + " quick": p
                   for p in sorted(REPO.glob("jobs/*/quick.cfg"))}
        medium = (REPO / "jobs/001-nonconvergence/medium.cfg").read_text()
        medium = re.sub(r"^seeds = \d+;", "seeds = 16;", medium, flags=re.M)
        medium = re.sub(r"steps = 50000;", "steps = 4000;", medium)
        configs["001 medium, 16 seeds, 4000 steps"] = tmp / "medium.cfg"
        configs["001 medium, 16 seeds, 4000 steps"].write_text(medium)
        tiny = tmp / "tiny.cfg"
        tiny.write_text('name = "tiny";\nseeds = 1;\ntrain = { steps = 0; width = 1; };\n')
        _, _, cores = dry_run(sgdmc, tiny)
        startup = min(real_run(sgdmc, tiny, cores, tmp / "tiny.h5") for _ in range(repeats))
        print(f"sgdmc: {sgdmc}; {cores} cores; best of {repeats} real runs each")
        print(f"mpirun -n {cores} start-up (a 1-task study of 0 steps): {startup:.2f} s\n")
        print("| study | played | even spread | real - start-up | real / played |"
              " real / even |")
        print("|---|---|---|---|---|---|")
        for name, config in configs.items():
            if only and not any(o in name for o in only):
                continue
            played, even, _ = dry_run(sgdmc, config)
            real = min(real_run(sgdmc, config, cores, tmp / "study.h5")
                       for _ in range(repeats)) - startup
            print(f"| {name} | {played:.2f} s | {even:.2f} s | {real:.2f} s | "
                  f"{real / played:.3f} | {real / even:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
