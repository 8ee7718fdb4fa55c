#!/usr/bin/python3
"""sgdmc's SLURM jobs across the "hosts" of an emulated multi-node SLURM (multinode.py).

Usage: test_cluster.py SGDMC JOBS_DIR SECTION

Sections (two nodes of one CPU each, so a 2-task job always spans both):
  across  a study across the nodes under `srun --mpi=pmix` and under `mpirun` (run_study.sh
          through jobs/quick.sbatch with CONFIG), each equal to a direct run on this machine
          with rows written by both ranks; jobs/quick.sbatch as a user submits it, and paper
          001's job.sbatch with CONFIG=quick, both complete.
  crash   a node killed at once in mid-study (every process on it, as a power cut), then
          rebooted: under srun and under mpirun, once the node of rank 0 (and of the job
          script) and once the worker-only node. Every time the job ends COMPLETED without a
          human (requeued by SLURM or by run_study.sh), every row done, the file equal to a
          direct run, rows done before the crash still done.

Exits 77 (meson's skip) when the cluster cannot run here (not root, no network namespaces,
SLURM missing), 1 when a check failed. Only the optimized build runs it (tests/run.sh): it
tests the launchers and the scripts, which the sanitizers do not look into.
"""
import os
import signal
import sys
import time
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "slurm"))
sys.path.insert(0, str(HERE))
from cluster import Unavailable, raise_terminated  # noqa: E402
from multinode import MultiNode  # noqa: E402
from test_slurm import check, datasets, differences, failures, read  # noqa: E402

SKIP = 77


def direct(sgdmc: str, config: Path, out: Path) -> dict[str, np.ndarray]:
    import subprocess
    result = subprocess.run([sgdmc, "study", str(config), f"--output={out}", "--quiet"],
                            capture_output=True, text=True, timeout=900)
    check(result.returncode == 0, f"direct run of {config.name}: {result.stderr}")
    return datasets(out) if result.returncode == 0 else {}


def done_rows(path: Path) -> np.ndarray:
    try:
        with h5py.File(path, "r") as f:
            return f["runs/done"][...].astype(bool)
    except (OSError, KeyError):
        return np.zeros(0, bool)


def submit(cluster: MultiNode, sgdmc: str, script: Path, folder: Path, env: dict[str, str],
           options: list[str]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    job = cluster.sbatch([*options, str(script)], cwd=folder,
                         env=dict(env, SGDMC=sgdmc, SGDMC_NODE_WAIT="90"))
    print(f"job {job}: {script.name} {' '.join(options)} {env}", flush=True)
    return job


def outputs(folder: Path, prefix: str, job: str) -> tuple[str, str]:
    return read(folder / f"{prefix}-{job}.out"), read(folder / f"{prefix}-{job}.err")


def finished(cluster: MultiNode, job: str, folder: Path, prefix: str,
             timeout: float) -> dict[str, str]:
    start = time.monotonic()
    seen: set[str] = set()
    try:
        fields = cluster.wait(job, timeout, seen)
    except TimeoutError as why:
        out, err = outputs(folder, prefix, job)
        check(False, f"job {job}: {why}\n--- out\n{out}\n--- err\n{err}")
        return {}
    print(f"job {job}: {fields.get('JobState')} after {time.monotonic() - start:.0f} s on "
          f"{fields.get('NodeList')}, restarts {fields.get('Restarts')}, seen {sorted(seen)}",
          flush=True)
    return fields


def complete(path: Path, what: str) -> None:
    with h5py.File(path, "r") as f:
        tasks = int(f.attrs["tasks"])
        done = f["runs/done"][...]
        ranks = set(f["runs/rank"][...].tolist())
    check(len(done) == tasks and bool(done.all()), f"{what}: {int(done.sum())} of {tasks} done")
    check(ranks == {0, 1}, f"{what}: rows written by ranks {ranks}, not both")


def section_across(cluster: MultiNode, sgdmc: str, jobs: Path) -> None:
    config = HERE / "across.cfg"
    reference = direct(sgdmc, config, cluster.root / "direct.h5")
    for launcher in ["srun", "mpirun"]:
        folder = cluster.root / f"across-{launcher}"
        job = submit(cluster, sgdmc, jobs / "quick.sbatch", folder,
                     {"CONFIG": str(config), "LAUNCHER": launcher}, ["-N2"])
        fields = finished(cluster, job, folder, "sgdmc-quick", 600)
        out, err = outputs(folder, "sgdmc-quick", job)
        ok = fields.get("JobState") == "COMPLETED"
        check(ok and fields.get("NodeList") == "n[1-2]",
              f"{launcher}: job ended {fields.get('JobState')} on {fields.get('NodeList')}"
              f"\n{out}\n{err}")
        path = folder / "across.h5"
        if ok and path.exists():
            complete(path, launcher)
            diff = differences(reference, datasets(path))
            check(not diff, f"{launcher} across two nodes differs from a direct run in {diff}")
    for script, prefix, env in [(jobs / "quick.sbatch", "sgdmc-quick", {}),
                                (jobs / "001-nonconvergence" / "job.sbatch", "sgdmc-001",
                                 {"CONFIG": "quick"})]:
        folder = cluster.root / f"user-{prefix}"
        job = submit(cluster, sgdmc, script, folder, env, ["-N2", "--ntasks=2", "--time=15"])
        fields = finished(cluster, job, folder, prefix, 900)
        out, err = outputs(folder, prefix, job)
        check(fields.get("JobState") == "COMPLETED" and "study complete" in out,
              f"{script}: job ended {fields.get('JobState')}\n{out}\n{err}")
        for path in folder.glob("*.h5"):
            complete(path, str(script))


def section_crash(cluster: MultiNode, sgdmc: str, jobs: Path) -> None:
    config = HERE / "crash.cfg"
    reference = direct(sgdmc, config, cluster.root / "direct.h5")
    for launcher in ["srun", "mpirun"]:
        for victim in ["n1", "n2"]:  # the batch script and rank 0 start on the first node
            what = f"{launcher}, {victim} crashed"
            folder = cluster.root / f"crash-{launcher}-{victim}"
            job = submit(cluster, sgdmc, jobs / "quick.sbatch", folder,
                         {"CONFIG": str(config), "LAUNCHER": launcher}, ["-N2"])
            path = folder / "crash.h5"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and done_rows(path).sum() < 4:
                time.sleep(0.5)
            before = done_rows(path)
            killed = cluster.crash(victim)
            print(f"{what}: {killed} processes killed with {int(before.sum())} rows done",
                  flush=True)
            # the node stays dead until SLURM has noticed (SlurmdTimeout 20 s), as a real one
            # would through its reboot
            try:
                cluster.wait_nodes("down", [victim], 90)
            except RuntimeError as why:
                check(False, f"{what}: {why}")
            cluster.reboot(victim)
            fields = finished(cluster, job, folder, "sgdmc-quick", 900)
            out, err = outputs(folder, "sgdmc-quick", job)
            if "launching it once more" in err:   # run_study.sh: mpirun failed at its start
                print(f"{what}: run_study.sh launched mpirun once more", flush=True)
            state = fields.get("JobState")
            check(state == "COMPLETED" and "study complete" in out,
                  f"{what}: job ended {state}, restarts {fields.get('Restarts')}\n--- out\n"
                  f"{out}\n--- err\n{err[-3000:]}")
            after = done_rows(path)
            check(before.size == 0 or not (before & ~after).any(),
                  f"{what}: rows done before the crash are no longer done")
            if state == "COMPLETED" and path.exists():
                diff = differences(reference, datasets(path))
                check(not diff, f"{what}: the study differs from a direct run in {diff}")
            cluster.wait_nodes("idle", cluster.nodes, 120)


def main() -> int:
    sgdmc, jobs, section = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3]
    sections = {"across": section_across, "crash": section_crash}
    if section not in sections:
        print(f"unknown section {section}: one of {', '.join(sections)}")
        return 2
    signal.signal(signal.SIGTERM, raise_terminated)
    start = time.monotonic()
    try:
        cluster = MultiNode(["n1", "n2"])
    except Unavailable as why:
        print(f"SKIP: no multi-node cluster here: {why}")
        return SKIP
    with cluster:
        print(f"cluster up in {cluster.root} after {time.monotonic() - start:.1f} s", flush=True)
        try:
            sections[section](cluster, sgdmc, jobs)
        except Exception:
            print(cluster.logs(), flush=True)
            raise
        if failures:
            print(cluster.logs(), flush=True)
    print(f"{section}: {len(failures)} failures, {time.monotonic() - start:.0f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
