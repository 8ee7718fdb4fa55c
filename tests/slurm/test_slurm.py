#!/usr/bin/python3
"""The SLURM jobs (jobs/) on a real single-node SLURM started by the test itself.

Usage: test_slurm.py SGDMC JOBS_DIR SECTION

Sections:
  quick    sbatch jobs/quick.sbatch (srun, PMIx): the job completes once, without a requeue;
           its results file in the submission folder has every row done, written by both
           ranks, the config text as its attribute; `sgdmc summarize` counts every run.
           Then through mpirun with a wrapper for sgdmc whose every rank exits 1 on its first
           launch: run_study.sh launches mpirun once more and the study completes; and one
           that always exits 1: two launches, then the job fails.
  requeue  the same script with --time=1 and --signal=B:USR1@30 (mpirun) on a study longer
           than the time limit leaves: the early warning stops the study (exit 75), the job
           requeues itself and resumes, more than once if need be, until the study completes.
           Each resume starts where the last run stopped and the runs of all starts add up to
           the tasks (nothing run twice); the file equals an uninterrupted direct run.

Each builds a throw-away cluster (cluster.py) and stops it by pids at the end, failure or not.
The studies are sized from `sgdmc study --dry-run` on this build (an ASan build is several times
slower), so a section takes a similar time on any machine: about 1 and 2 minutes.

Exits 77 (meson's skip) when SLURM cannot run here (not root, programs missing), 1 when a check
failed, 0 otherwise.
"""
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Cluster, Unavailable, raise_terminated  # noqa: E402

SKIP = 77
# wall seconds on 2 cores by the dry-run's estimate
QUICK_MAX = 100       # the quick study as written when it fits, else scaled down to QUICK_SCALED
QUICK_SCALED = 50
# the USR1 warning comes 18-30 s into a start with --time=1 and @30 (measured), after which a
# start has trained for about 15-25 s: this needs two to three starts
REQUEUE_STUDY = 40
EXIT_RESUME = 75
# datasets whose values depend only on the task (not rank, seconds)
SAME = ["seed", "status", "final_risk", "min_risk", "min_risk_source", "tol", "rtol", "risk_gap",
        "dist_to_min", "grad_norm", "min_grad_norm", "gram_min_eig", "gram_max_eig", "gram_risk",
        "gram_grad_norm", "dead_init_probability", "certified_nonconvergent", "steps",
        "dead_init", "dead_final", "dead_permanent_init", "dead_permanent_final", "done"]

failures: list[str] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", flush=True)


def estimate(sgdmc: str, config: Path) -> float:
    """Wall seconds of config on 2 ranks by `sgdmc study --dry-run`: the least of a few, since
    its timings last milliseconds and whatever else runs only makes them longer."""
    walls = []
    for _ in range(3):
        result = subprocess.run([sgdmc, "study", str(config), "--dry-run"],
                                capture_output=True, text=True, timeout=300)
        found = re.search(r"estimated cost: ([0-9.e+]+) core-seconds", result.stdout)
        if result.returncode != 0 or not found:
            raise RuntimeError(f"sgdmc study --dry-run {config}: {result.stdout}{result.stderr}")
        walls.append(float(found.group(1)) / 2)
    return min(walls)


def sized(sgdmc: str, config: Path, folder: Path, target: float, limit: float) -> Path:
    """config as is when its estimated wall time on 2 ranks is at most limit, else a copy in
    folder with seeds scaled so that it is about target."""
    wall = estimate(sgdmc, config)
    if wall <= limit:
        print(f"{config.name}: estimated {wall:.0f} s on 2 cores, run as written", flush=True)
        return config
    text = config.read_text()
    seeds = int(re.search(r"^seeds = (\d+);", text, re.M).group(1))
    scaled = max(10, math.floor(seeds * target / wall))
    print(f"{config.name}: estimated {wall:.0f} s on 2 cores with this build, "
          f"run with {scaled} seeds instead of {seeds}", flush=True)
    copy = folder / config.name
    copy.write_text(re.sub(r"^seeds = \d+;", f"seeds = {scaled};", text, flags=re.M))
    return copy


def datasets(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        keys = SAME + [k.decode() for k in f.attrs["grid_keys"]]
        if "trajectory" in runs:
            keys += [f"trajectory/{k}" for k in runs["trajectory"]]
        return {k: runs[k][...] for k in keys}


def differences(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> list[str]:
    out = []
    for name, x in a.items():
        y = b.get(name)
        same = y is not None and (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
                                  else np.array_equal(x, y))
        if not same:
            out.append(name)
    return out


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def submit(cluster: Cluster, sgdmc: str, jobs: Path, folder: Path, config: Path, launcher: str,
           options: list[str], timeout: float) -> tuple[dict[str, str], set[str], str, str]:
    """sbatch jobs/quick.sbatch from folder; waits; returns the job's last fields, the states
    seen on the way, its output and error files."""
    env = dict(cluster.env, SGDMC=sgdmc, CONFIG=str(config), LAUNCHER=launcher)
    env.pop("OUTPUT", None)
    start = time.monotonic()
    job = cluster.sbatch([*options, str(jobs / "quick.sbatch")], cwd=folder, env=env)
    print(f"job {job} submitted ({launcher}{' ' if options else ''}{' '.join(options)})",
          flush=True)
    seen: set[str] = set()
    try:
        fields = cluster.wait(job, timeout, seen)
    except TimeoutError:
        print(f"--- job output\n{read(folder / f'sgdmc-quick-{job}.out')}\n--- job errors\n"
              f"{read(folder / f'sgdmc-quick-{job}.err')}", flush=True)
        raise
    out = read(folder / f"sgdmc-quick-{job}.out")
    err = read(folder / f"sgdmc-quick-{job}.err")
    print(f"job {job}: {fields.get('JobState')} after {time.monotonic() - start:.0f} s, "
          f"restarts {fields.get('Restarts')}, states seen {sorted(seen)}", flush=True)
    return fields, seen, out, err


def check_file(path: Path, config: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        check(f.attrs["config"] == config.read_text(), "config attribute is not the config text")
        check(int(f.attrs["ranks"]) == 2, f"ranks attribute {f.attrs['ranks']}, not 2")
        tasks = int(f.attrs["tasks"])
        done = f["runs/done"][...]
        status = f["runs/status"][...]
        ranks = set(f["runs/rank"][...].tolist())
    check(len(done) == tasks and bool(done.all()), f"{int(done.sum())} of {tasks} rows done")
    check(bool((status != 0).all()), "a row is still pending")
    check(ranks == {0, 1}, f"rows written by ranks {ranks}, not both")
    return datasets(path)


def section_quick(cluster: Cluster, sgdmc: str, jobs: Path) -> None:
    folder = cluster.root / "submit"
    folder.mkdir()
    config = sized(sgdmc, jobs / "quick.cfg", cluster.root, QUICK_SCALED, QUICK_MAX)
    fields, _, out, err = submit(cluster, sgdmc, jobs, folder, config, "srun", [], 600)
    try:
        check(fields.get("JobState") == "COMPLETED" and fields.get("ExitCode") == "0:0",
              f"job ended {fields.get('JobState')}, exit code {fields.get('ExitCode')}")
        check(fields.get("Restarts") == "0", f"restarted {fields.get('Restarts')} times")
        check(out.count("run_study.sh: job ") == 1 and "study complete" in out,
              "the log does not show one start and a complete study")
        check("srun --mpi=pmix" in out, "not launched by srun --mpi=pmix")
        path = folder / "quick.h5"
        check(path.exists(), f"{path} not written (files: {os.listdir(folder)})")
        if not path.exists():
            return
        check_file(path, config)
        with h5py.File(path, "r") as f:
            cells = int(f.attrs["tasks"]) // int(f.attrs["seeds"])
        summary = subprocess.run([sgdmc, "summarize", str(path), "--format=csv"],
                                 capture_output=True, text=True, timeout=120)
        lines = summary.stdout.strip().splitlines()
        check(summary.returncode == 0 and len(lines) == cells + 1,
              f"summarize: status {summary.returncode}, {len(lines)} lines: {summary.stderr}")
        if summary.returncode == 0 and lines:
            header = lines[0].split(",")
            for line in lines[1:]:
                row = dict(zip(header, line.split(",")))
                check(row["runs"] == row["done"], f"summarize: cell {line} not complete")
    finally:
        if failures:
            print(f"--- job output\n{out}\n--- job errors\n{err}", flush=True)
    relaunch(cluster, sgdmc, jobs, config)


def relaunch(cluster: Cluster, sgdmc: str, jobs: Path, config: Path) -> None:
    """An mpirun that fails within seconds of its launch (status 1) is launched once more, and
    only once: every rank of a first launch exits 1 at once (as when mpirun's daemon on a node
    just back in service fails), then the study runs; a program that always exits 1 ends the
    job FAILED after two launches."""
    for case, script in [
            ("first launch fails", '[[ -e "$0.$OMPI_COMM_WORLD_RANK" ]] || '
                                   '{ touch "$0.$OMPI_COMM_WORLD_RANK"; exit 1; }\n'
                                   f'exec {sgdmc} "$@"\n'),
            ("always fails", "exit 1\n")]:
        folder = cluster.root / f"relaunch-{case.replace(' ', '-')}"
        folder.mkdir()
        wrapper = folder / "sgdmc-wrapper"
        wrapper.write_text(f"#!/bin/bash\n{script}")
        wrapper.chmod(0o755)
        fields, _, out, err = submit(cluster, str(wrapper), jobs, folder, config, "mpirun", [],
                                     600)
        relaunched = err.count("launching it once more")
        if case == "first launch fails":
            check(fields.get("JobState") == "COMPLETED" and relaunched == 1
                  and "study complete" in out and fields.get("Restarts") == "0",
                  f"{case}: job ended {fields.get('JobState')}, {relaunched} relaunches, "
                  f"restarts {fields.get('Restarts')}\n--- out\n{out}\n--- err\n{err}")
            path = folder / "quick.h5"
            if path.exists():
                check_file(path, config)
        else:
            check(fields.get("JobState") == "FAILED" and relaunched == 1
                  and "failed with status 1" in err,
                  f"{case}: job ended {fields.get('JobState')}, {relaunched} relaunches\n"
                  f"--- out\n{out}\n--- err\n{err}")


def section_requeue(cluster: Cluster, sgdmc: str, jobs: Path) -> None:
    here = Path(__file__).resolve().parent
    config = sized(sgdmc, here / "requeue.cfg", cluster.root, REQUEUE_STUDY, 0)
    for attempt in [1, 2]:
        folder = cluster.root / f"submit{attempt}"
        folder.mkdir()
        fields, seen, out, err = submit(cluster, sgdmc, jobs, folder, config, "mpirun",
                                        ["--time=1", "--signal=B:USR1@30"], 600)
        # The estimate can be far off on a busy machine. A study done before the warning came
        # says nothing about requeues: once, three times as long (the checks below still fail
        # a job that ignored its warning: it would have hit the time limit, not completed).
        if (attempt == 2 or fields.get("JobState") != "COMPLETED"
                or fields.get("Restarts") != "0" or "USR1" in err):
            break
        text = config.read_text()
        seeds = int(re.search(r"^seeds = (\d+);", text, re.M).group(1))
        print(f"the study ended before the warning: again with {3 * seeds} seeds", flush=True)
        config = cluster.root / "requeue.cfg"
        config.write_text(re.sub(r"^seeds = \d+;", f"seeds = {3 * seeds};", text, flags=re.M))
    try:
        check(fields.get("JobState") == "COMPLETED" and fields.get("ExitCode") == "0:0",
              f"job ended {fields.get('JobState')}, exit code {fields.get('ExitCode')}")
        restarts = int(fields.get("Restarts", "0"))
        starts = out.count("run_study.sh: job ")
        completed = fields.get("JobState") == "COMPLETED"
        check(restarts >= 1, "the job was never requeued" + (
              ": the study ended before the warning (too short for this machine?)"
              if completed else ""))
        check(starts == restarts + 1, f"{starts} starts in the log, {restarts} restarts")
        check(out.count("requeued") == restarts and "study complete" in out,
              "the log does not show a requeue per restart and a complete study")
        # every requeue follows a warning; the last allocation may get its warning too, when
        # the study completes just as it comes (it then ends complete, not requeued)
        warnings = err.count("run_study.sh: USR1")
        check(restarts <= warnings <= restarts + 1,
              f"{warnings} USR1 warnings for {restarts} restarts")
        check("mpirun -n 2" in out, "not launched by mpirun")
        check("PENDING" in seen and "RUNNING" in seen, f"states seen: {seen}")
        # each start resumes exactly where the previous one stopped, and the runs of all starts
        # add up to the tasks: no task ran twice, none was skipped
        stopped = [int(m) for m in re.findall(r"(\d+)/\d+ tasks done; \d+ runs in .*interrupted",
                                              err)]
        resumed = [int(m) for m in re.findall(r"resuming \S+: (\d+) of \d+ tasks already", err)]
        runs = [int(m) for m in re.findall(r"\d+/\d+ tasks done; (\d+) runs in", err)]
        total = re.search(r"(\d+)/(\d+) tasks done; \d+ runs in .*complete", err)
        check(len(stopped) == restarts and resumed == stopped,
              f"interrupted at {stopped}, resumed at {resumed}")
        check(total is not None and sum(runs) == int(total.group(2)) == int(total.group(1)),
              f"runs per start {runs} do not add up to the tasks ({total and total.group(0)})")
        path = folder / "requeue.h5"
        check(path.exists(), f"{path} not written (files: {os.listdir(folder)})")
        if not path.exists():
            return
        requeued = check_file(path, config)
    finally:
        if failures:
            print(f"--- job output\n{out}\n--- job errors\n{err}", flush=True)
    if not completed:
        return
    direct = cluster.root / "direct.h5"
    launcher = ["mpirun", "--oversubscribe", "-n", "2"]
    if os.geteuid() == 0:
        launcher.insert(1, "--allow-run-as-root")
    result = subprocess.run([*launcher, sgdmc, "study", str(config), f"--output={direct}",
                             "--quiet"], capture_output=True, text=True, timeout=600)
    check(result.returncode == 0, f"direct run: status {result.returncode}: {result.stderr}")
    if result.returncode == 0:
        diff = differences(datasets(direct), requeued)
        check(not diff, f"the requeued study differs from a direct run in {diff}")


def main() -> int:
    sgdmc, jobs, section = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3]
    sections = {"quick": section_quick, "requeue": section_requeue}
    if section not in sections:
        print(f"unknown section {section}: one of {', '.join(sections)}")
        return 2
    # the daemons left the process group that meson's timeout signals: stop them ourselves
    signal.signal(signal.SIGTERM, raise_terminated)
    start = time.monotonic()
    try:
        cluster = Cluster()
    except Unavailable as why:
        print(f"SKIP: no SLURM on this machine: {why}")
        return SKIP
    try:
        with cluster:
            print(f"cluster up in {cluster.root} after {time.monotonic() - start:.1f} s",
                  flush=True)
            try:
                sections[section](cluster, sgdmc, jobs)
            except Exception:
                print(cluster.logs(), flush=True)
                raise
            if failures:
                print(cluster.logs(), flush=True)
    finally:
        left = cluster.leftovers()
        check(not left, f"processes of the cluster still running after it stopped: {left}")
    print(f"{section}: {len(failures)} failures, {time.monotonic() - start:.0f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
