#!/usr/bin/python3
"""Real faults against `sgdmc study`: nothing lost, mixed or hung.

Usage: test_faults.py SGDMC CONFIG_DIR SECTION

Sections:
  disk     a full tmpfs at creation (the free-space check, the disk reservation,
           and the disk filling up inside HDF5), 1 process and 2 ranks, OMPIO and
           ROMIO: one line with the OS reason, exit 1, nothing left behind, within
           seconds; --force onto a full disk leaves the existing file untouched; a
           read-only file system and a vanished folder: one line, exit 1; the
           size --dry-run announces bounds the file's real size; a leftover
           NAME.h5.creating filling the disk is removed before the free space is
           counted, and --resume removes one beside the file.
  writes   writes failing in mid-study (SGDMC_FAULT_WRITES, and chattr +i), 1 process
           and 2 ranks: exit 75, rows written before equal the uninterrupted run,
           --resume completes it; the file deleted, replaced or truncated fails the
           study; its folder out of sight for 12 s does not, for good fails it at
           the end and --resume completes.
  claims   a concurrent --force and --resume against a running study are refused
           naming the writer, which finishes untouched, as is a --resume beside a
           study in another PID namespace (unshare); a claim left by kill -9 is
           taken over by --resume; a requeued SLURM job (same job id, another node)
           takes over its own claim, another job does not; a dead node's claim
           (stale heartbeat) is taken over; a writer whose claim was taken over
           stops; a second name for the file (symbolic or hard link, dangling
           link) is refused, file untouched; an unsigned claim is refused while
           fresh, with that said, and taken over once stale.
  inputs   the SHA-256 of the data file is stored per grid cell (checked against
           hashlib); --resume after editing the data file is refused naming it;
           a study folder moved elsewhere resumes and equals the uninterrupted run.
  lost     a worker rank frozen (SIGSTOP) in mid-study, as a dead node looks to the master,
           under mpirun with 3 ranks, once while it trains and once while it solves an R*:
           the master names the rank and every rank is gone within 20 s, exit 76; the rows
           written before stay done, and --resume on 2 ranks completes the study equal to
           the uninterrupted run.
  signals  SIGTERM while a wide sin R* is being computed (1 process, 2 ranks, at
           several moments): every sgdmc process is gone within 2 s, exit 75, and
           --resume completes to the uninterrupted run's results; the same during a
           wide deep cell's exact risk; SIGHUP stops like SIGTERM (1 and 2 ranks),
           and is ignored under nohup; a closed stderr does not stop the study.

Each section prints the faults it injected, how many the study survived (the
checks of that fault all passed) and the rows lost (done before the fault, not
done after it: must be 0). Sections that mount a tmpfs need root; without it
they fail (CI runs as root), they never skip silently.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_study import (EXIT_RESUME, SAME, check, command, descendants,  # noqa: E402
                        differences, failures, kill_all, signal_ranks)

injected = 0
survived = 0
rows_lost = 0


def datasets(path: Path) -> dict[str, np.ndarray]:
    """The datasets that depend only on the task, those the study has."""
    with h5py.File(path, "r") as f:
        runs = f["runs"]
        grid = f.attrs["grid_keys"]
        keys = [k for k in SAME if k in runs] + [
            k.decode() if isinstance(k, bytes) else k for k in (grid if grid.shape else [])]
        return {k: runs[k][...] for k in keys}


def fault(checks: list[tuple[bool, str]]) -> None:
    """One injected fault and the checks that say the study survived it."""
    global injected, survived
    injected += 1
    for condition, message in checks:
        check(condition, message)
    survived += all(condition for condition, _ in checks)


def run(sgdmc: str, args: list[str], ranks: int | None = None, io: str | None = None,
        env: dict[str, str] | None = None, timeout: float = 300,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    if io:
        full_env["OMPI_MCA_io"] = io
    cmd = command(sgdmc, args, ranks)
    if ranks is not None:
        # mpirun passes only the variables it is told to
        for name in (env or {}):
            cmd[1:1] = ["-x", name]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd)


def start(sgdmc: str, args: list[str], ranks: int | None = None,
          env: dict[str, str] | None = None, io: str | None = None) -> subprocess.Popen:
    full_env = dict(os.environ)
    full_env.update(env or {})
    if io:
        full_env["OMPI_MCA_io"] = io
    cmd = command(sgdmc, args, ranks)
    if ranks is not None:
        for name in (env or {}):
            cmd[1:1] = ["-x", name]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=full_env)


def stderr_within(process: subprocess.Popen, timeout: float) -> str:
    """The process's stderr once it ends; killed after `timeout` s, with that said first."""
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        return f"hung: killed after {timeout:g} s\n" + process.communicate()[1]


def sgdmc_lines(stderr: str) -> list[str]:
    """sgdmc's own lines (mpirun adds its banners)."""
    return [line for line in stderr.splitlines() if line.startswith("sgdmc")]


def done_rows(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["runs/done"][...].astype(bool)


def wait_for(condition, timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    check(False, f"timed out waiting for {what}")
    return False


def some_rows_done(path: Path) -> bool:
    try:
        return bool(done_rows(path).any())
    except (OSError, KeyError):
        return False


def reference_of(sgdmc: str, config: Path, tmp: Path) -> dict[str, np.ndarray]:
    path = tmp / f"reference_{config.stem}.h5"
    result = run(sgdmc, [str(config), f"--output={path}", "--quiet"])
    check(result.returncode == 0, f"reference run of {config.name}: {result.stderr}")
    return datasets(path)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- disk ---------------------------------------------------------------------

def mount_tmpfs(where: Path, size: str, options: str = "") -> bool:
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs",
                             str(where)], capture_output=True, text=True)
    check(result.returncode == 0,
          f"cannot mount a tmpfs at {where} (these tests need root): {result.stderr.strip()}")
    return result.returncode == 0


def unmount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True)


def fill_up(folder: Path) -> None:
    """Writes a filler file until the file system is full."""
    with open(folder / "filler", "wb") as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def section_disk(sgdmc: str, configs: Path, tmp: Path) -> None:
    disk = tmp / "disk"
    if not mount_tmpfs(disk, "2m"):
        return
    try:
        # about 4 MB of results: more than the 2 MB the tmpfs holds
        big = write_config(tmp / "big.cfg", 'name = "big";\nseeds = 20000;\n'
                           'train = { width = 4; steps = 1; min_risk = 1.0; };\n')
        levels = [("free-space check", {}),
                  ("disk reservation", {"SGDMC_FAULT_SKIP_SPACE_CHECK": "1"}),
                  ("inside HDF5", {"SGDMC_FAULT_SKIP_SPACE_CHECK": "1",
                                   "SGDMC_FAULT_SKIP_RESERVE": "1"})]
        for ranks in [None, 2]:
            for io in ["ompio", "romio321"]:
                for level, env in levels:
                    what = f"disk full ({level}), {ranks or 1} rank(s), {io}"
                    began = time.monotonic()
                    try:
                        result = run(sgdmc, [str(big), f"--output={disk / 'big.h5'}"], ranks, io,
                                     env, timeout=120)
                    except subprocess.TimeoutExpired:
                        fault([(False, f"{what}: hung (no exit within 120 s)")])
                        continue
                    lines = sgdmc_lines(result.stderr)
                    left = sorted(p.name for p in disk.iterdir())
                    fault([(result.returncode == 1, f"{what}: exit {result.returncode}, not 1"),
                           (len(lines) == 1, f"{what}: {len(lines)} sgdmc lines: {lines}"),
                           ("No space left on device" in result.stderr,
                            f"{what}: no OS reason: {lines}"),
                           (not left, f"{what}: left behind {left}"),
                           (time.monotonic() - began < 60, f"{what}: took too long")])
        # --force onto a full disk: the existing file stays as it was
        small = configs / "small.cfg"
        existing = disk / "small.h5"
        result = run(sgdmc, [str(small), f"--output={existing}", "--quiet"])
        check(result.returncode == 0, f"setup: small study on the tmpfs: {result.stderr}")
        before = file_sha256(existing)
        fill_up(disk)
        for level, env in levels:
            result = run(sgdmc, [str(small), f"--output={existing}", "--force"], env=env)
            left = sorted(p.name for p in disk.iterdir())
            fault([(result.returncode == 1, f"--force on a full disk ({level}): exit "
                    f"{result.returncode}: {result.stderr}"),
                   (file_sha256(existing) == before,
                    f"--force on a full disk ({level}): the existing file changed"),
                   (left == ["filler", "small.h5"], f"--force ({level}): left {left}"),
                   ("No space left on device" in result.stderr,
                    f"--force ({level}): {result.stderr}")])
        (disk / "filler").unlink()
        # a NAME.h5.creating left by a process killed while creating holds the disk's space: it
        # is removed before the free space is counted (it blocked the study for good), and a
        # --resume removes one a killed --force left beside the file
        fill_up(disk)
        leftover = disk / "left.h5.creating"
        (disk / "filler").rename(leftover)
        os.truncate(leftover, leftover.stat().st_size - 65536)  # room for the claim only
        refused = run(sgdmc, [str(small), f"--output={disk / 'other.h5'}"])
        check(refused.returncode == 1 and "No space left on device" in refused.stderr,
              f"setup: the leftover leaves no room for a study: {refused.stderr}")
        result = run(sgdmc, [str(small), f"--output={disk / 'left.h5'}", "--quiet"])
        left = sorted(p.name for p in disk.iterdir())
        fault([(result.returncode == 0, f"a leftover .creating filling the disk: exit "
                f"{result.returncode}: {result.stderr}"),
               (left == ["left.h5", "small.h5"], f"a leftover .creating: left {left}")])
        if (disk / "left.h5").exists():
            (disk / "left.h5").unlink()
        (disk / "small.h5.creating").write_bytes(b"\0" * 100000)
        result = run(sgdmc, [str(small), f"--output={existing}", "--resume", "--quiet"])
        left = sorted(p.name for p in disk.iterdir())
        fault([(result.returncode == 0, f"--resume beside a leftover .creating: exit "
                f"{result.returncode}: {result.stderr}"),
               (left == ["small.h5"], f"--resume beside a leftover .creating: left {left}"),
               (file_sha256(existing) == before, "--resume of a complete study changed it")])
        # the size --dry-run announces bounds the real one (not by much)
        dry = run(sgdmc, [str(small), "--dry-run"])
        announced = re.search(r"\((\d+) bytes at most\)", dry.stdout)
        real = existing.stat().st_size
        bound = int(announced.group(1)) if announced else -1
        check(real <= bound <= 1.1 * real + 256 * 1024,
              f"--dry-run announces {bound} bytes, the file takes {real}: {dry.stdout!r}")
        # a read-only file system: resume (here beside a stale claim of a process gone, whose
        # take-over fails: that says why, not 'keeps changing') and a new study alike
        (disk / "small.h5.claim").write_text(f"host={os.uname().nodename}\npid=999999\n")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        for args in [[str(small), f"--output={existing}", "--resume"],
                     [str(small), f"--output={disk / 'new.h5'}"]]:
            result = run(sgdmc, args)
            lines = sgdmc_lines(result.stderr)
            fault([(result.returncode == 1, f"read-only {args[-1]}: exit {result.returncode}"),
                   (len(lines) == 1 and "Read-only file system" in lines[0],
                    f"read-only {args[-1]}: {result.stderr!r}"),
                   (file_sha256(existing) == before, "read-only: the file changed")])
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        (disk / "small.h5.claim").unlink()
    finally:
        unmount(disk)
    # a vanished folder
    result = run(sgdmc, [str(configs / "small.cfg"), f"--output={tmp / 'gone' / 'x.h5'}"])
    lines = sgdmc_lines(result.stderr)
    fault([(result.returncode == 1, f"vanished folder: exit {result.returncode}"),
           (len(lines) == 1 and "No such file or directory" in lines[0],
            f"vanished folder: {result.stderr!r}")])


# ---- writes -------------------------------------------------------------------

def section_writes(sgdmc: str, configs: Path, tmp: Path) -> None:
    global rows_lost
    config = configs / "long.cfg"
    reference = reference_of(sgdmc, config, tmp)
    tasks = len(reference["done"])
    for ranks in [None, 2]:
        path = tmp / f"writes_{ranks}.h5"
        result = run(sgdmc, [str(config), f"--output={path}"], ranks,
                     env={"SGDMC_FAULT_WRITES": "3"})
        done = done_rows(path)
        what = f"write failure, {ranks or 1} rank(s)"
        checks = [(result.returncode == EXIT_RESUME,
                   f"{what}: exit {result.returncode}: {result.stderr}"),
                  ("cannot write rows" in result.stderr and "injected" in result.stderr,
                   f"{what}: the failing rank does not say so: {result.stderr}"),
                  (0 < done.sum() < tasks, f"{what}: {done.sum()} of {tasks} rows done"),
                  (not differences(reference, datasets(path), done),
                   f"{what}: done rows differ from the uninterrupted run")]
        resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"], ranks)
        after = done_rows(path)
        rows_lost += int((done & ~after).sum())
        checks += [(resumed.returncode == 0, f"{what}: resume: {resumed.stderr}"),
                   (bool(after.all()), f"{what}: resume left rows not done"),
                   (not differences(reference, datasets(path)),
                    f"{what}: resumed file differs from the uninterrupted run")]
        fault(checks)
    # a real one: the file made immutable (chattr +i: EPERM even for root) while rows are
    # written. HDF5's collective close after a failed write used to wait for ever under
    # mpirun, and a single process crashed in MPI_Finalize.
    for ranks in [None, 2]:
        for io in ["ompio", "romio321"]:
            path = tmp / f"immutable_{ranks}_{io}.h5"
            what = f"immutable file mid-study, {ranks or 1} rank(s), {io}"
            study = start(sgdmc, [str(config), f"--output={path}"], ranks, io=io)
            if not wait_for(lambda: some_rows_done(path), 120, f"{what}: the first rows"):
                study.kill()
                study.communicate()
                continue
            subprocess.run(["chattr", "+i", str(path)], check=True)
            frozen = time.monotonic()
            stderr = stderr_within(study, 60)
            took = time.monotonic() - frozen
            subprocess.run(["chattr", "-i", str(path)], check=True)
            done = done_rows(path)
            lines = [line for line in sgdmc_lines(stderr) if "cannot write rows" in line]
            checks = [(study.returncode == EXIT_RESUME,
                       f"{what}: exit {study.returncode} after {took:.1f} s: {stderr[-2000:]}"),
                      (bool(lines) and all("Operation not permitted" in line for line in lines),
                       f"{what}: no rank names the OS's reason: {sgdmc_lines(stderr)}"),
                      (0 < done.sum() < tasks, f"{what}: {done.sum()} of {tasks} rows done"),
                      (not differences(reference, datasets(path), done),
                       f"{what}: done rows differ from the uninterrupted run"),
                      (not claim_of(path).exists(), f"{what}: the claim was left behind")]
            resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"], ranks,
                          io)
            after = done_rows(path)
            rows_lost += int((done & ~after).sum())
            checks += [(resumed.returncode == 0, f"{what}: resume: {resumed.stderr}"),
                       (not differences(reference, datasets(path)),
                        f"{what}: resumed file differs from the uninterrupted run")]
            fault(checks)
            print(f"{what}: exit {study.returncode} {took:.1f} s after chattr +i, "
                  f"{int(done.sum())} rows done before", flush=True)

    # the file deleted, replaced (a copy moved back over it) or truncated while the study
    # runs: its rows since went elsewhere, so the study must fail, not say "complete"
    for ranks in [None, 2]:
        for how in ["deleted", "replaced", "truncated"]:
            path = tmp / f"moved_{ranks}_{how}.h5"
            what = f"results file {how} mid-study, {ranks or 1} rank(s)"
            study = start(sgdmc, [str(config), f"--output={path}", "--quiet"], ranks)
            if not wait_for(lambda: some_rows_done(path), 120, f"{what}: the first rows"):
                study.kill()
                study.communicate()
                continue
            if how == "deleted":
                path.unlink()
            elif how == "replaced":
                copy = tmp / "copy.h5"
                shutil.copyfile(path, copy)
                copy.replace(path)
            else:
                os.truncate(path, 0)
            _, stderr = study.communicate(timeout=120)
            lines = sgdmc_lines(stderr)
            checks = [(study.returncode == 1, f"{what}: exit {study.returncode}: {stderr}"),
                      (len(lines) == 1 and str(path) in lines[0] and how in lines[0],
                       f"{what}: not one line naming the file and what happened: {lines}"),
                      (not claim_of(path).exists(), f"{what}: the claim was left behind")]
            if how == "replaced":
                resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"],
                              ranks)
                checks += [(resumed.returncode == 0, f"{what}: resume: {resumed.stderr}"),
                           (not differences(reference, datasets(path)),
                            f"{what}: resumed file differs from the uninterrupted run")]
            fault(checks)

    # the folder cannot be looked into for a while (a symbolic-link loop in its place, as a
    # network file system's error or a permission change would do): not a verdict on the
    # file; the study goes on, and fails only if it still cannot look at its end
    # (2000 seeds: a minute here, and far longer under the sanitizers; stopped by SIGTERM)
    long_run = write_config(tmp / "longer.cfg",
                            config.read_text().replace("seeds = 30", "seeds = 2000"))
    for restored in [True, False]:
        folder = tmp / f"unreachable_{restored}"
        folder.mkdir()
        path = folder / "study.h5"
        what = f"results folder unreachable for {'12 s' if restored else 'good'}"
        study = start(sgdmc, [str(long_run if restored else config), f"--output={path}",
                              "--quiet"])
        if not wait_for(lambda: some_rows_done(path), 120, f"{what}: the first rows"):
            study.kill()
            study.communicate()
            continue
        aside = tmp / f"unreachable_{restored}.aside"
        folder.rename(aside)
        folder.symlink_to(folder.name)  # a loop: stat fails with ELOOP
        if restored:
            time.sleep(12)  # past a heartbeat (10 s)
            running = study.poll() is None
            folder.unlink()
            aside.rename(folder)
            time.sleep(11)  # and a heartbeat with the path back
            still = study.poll() is None
            study.send_signal(signal.SIGTERM)
        stderr = stderr_within(study, 300)
        lines = sgdmc_lines(stderr)
        if restored:
            fault([(running, f"{what}: the study ended while it could not look: {stderr}"),
                   (still, f"{what}: the study ended once the path was back: {stderr}"),
                   (study.returncode == EXIT_RESUME and not lines,
                    f"{what}: SIGTERM then: exit {study.returncode}: {stderr}")])
        else:
            folder.unlink()
            aside.rename(folder)
            # its claim could not be removed either: a resume takes it over and completes
            resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"])
            fault([(study.returncode == 1 and len(lines) == 1 and "cannot check" in lines[0]
                    and "symbolic links" in lines[0], f"{what}: exit {study.returncode}: "
                    f"{lines}"),
                   (resumed.returncode == 0 and done_rows(path).all(),
                    f"{what}: resume: exit {resumed.returncode}: {resumed.stderr}")])

    # both at once: a write fails (the file made immutable) while the folder is out of sight,
    # so the study's last look cannot check the file either: that failure must be said and
    # exit 1, not hidden behind the write failure's "stop, resume later" (exit 75)
    folder = tmp / "unreachable_and_immutable"
    folder.mkdir()
    path = folder / "study.h5"
    what = "a write failure while the folder is out of sight"
    study = start(sgdmc, [str(config), f"--output={path}", "--quiet"])
    if wait_for(lambda: some_rows_done(path), 120, f"{what}: the first rows"):
        aside = tmp / "unreachable_and_immutable.aside"
        folder.rename(aside)
        folder.symlink_to(folder.name)  # a loop: stat fails with ELOOP
        subprocess.run(["chattr", "+i", str(aside / "study.h5")], check=True)
        stderr = stderr_within(study, 120)
        subprocess.run(["chattr", "-i", str(aside / "study.h5")], check=True)
        folder.unlink()
        aside.rename(folder)
        lines = sgdmc_lines(stderr)
        resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"])
        fault([(study.returncode == 1 and any("cannot write rows" in line for line in lines)
                and any("cannot check" in line for line in lines),
                f"{what}: exit {study.returncode}: {lines}"),
               (resumed.returncode == 0 and done_rows(path).all(),
                f"{what}: resume: exit {resumed.returncode}: {resumed.stderr}")])
    else:
        study.kill()
        study.communicate()


# ---- claims -------------------------------------------------------------------

def claim_of(path: Path) -> Path:
    return Path(f"{path}.claim")


def read_claim(path: Path) -> dict[str, str]:
    lines = claim_of(path).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def rewrite_claim(path: Path, changes: dict[str, str], age: float = 0.0) -> None:
    """Edits the claim left behind (as another node would have written it)."""
    claim = claim_of(path)
    fields = read_claim(path)
    fields.update(changes)
    claim.write_text("sgdmc claim\n" + "".join(f"{k}={v}\n" for k, v in fields.items()))
    stamp = time.time() - age
    os.utime(claim, (stamp, stamp))


def section_claims(sgdmc: str, configs: Path, tmp: Path) -> None:
    global rows_lost
    config = configs / "long.cfg"
    reference = reference_of(sgdmc, config, tmp)
    # a concurrent --force and --resume against a running study
    path = tmp / "running.h5"
    writer = start(sgdmc, [str(config), f"--output={path}", "--quiet"], 2)
    if wait_for(lambda: some_rows_done(path), 120, "the running study's first rows"):
        inode = path.stat().st_ino
        checks = []
        for flag in ["--force", "--resume"]:
            result = run(sgdmc, [str(config), f"--output={path}", flag])
            lines = sgdmc_lines(result.stderr)
            checks += [(result.returncode == 1, f"concurrent {flag}: exit {result.returncode}"),
                       (len(lines) == 1 and "another sgdmc study is writing it" in lines[0]
                        and "pid" in lines[0], f"concurrent {flag}: {result.stderr!r}")]
        _, stderr = writer.communicate(timeout=300)
        checks += [(writer.returncode == 0, f"the running study: exit {writer.returncode}: "
                    f"{stderr}"),
                   (path.stat().st_ino == inode, "the running study's file was replaced"),
                   (not differences(reference, datasets(path)),
                    "the running study's results differ from the uninterrupted run"),
                   (not claim_of(path).exists(), "the finished study left its claim")]
        fault(checks)
    # a study in another PID namespace on this host name (a container): its pid means nothing
    # here, so its claim is judged by its heartbeat only and a --resume from outside is refused
    # (it took the live study's claim over, as from a process gone)
    path = tmp / "namespaced.h5"
    unshared = shutil.which("unshare")
    # its pid there is made 77778 (ns_last_pid), a pid that names no process out here
    inner = subprocess.Popen([unshared, "--pid", "--fork", "--mount-proc", "sh", "-c",
                              'echo 77777 > /proc/sys/kernel/ns_last_pid && "$@"', "sh",
                              sgdmc, "study", str(config), f"--output={path}", "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True) if unshared and os.geteuid() == 0 else None
    if inner is None:
        print("note: no unshare or not root: the PID-namespace claim check is skipped",
              flush=True)
    elif wait_for(lambda: some_rows_done(path), 120, "the namespaced study's first rows"):
        result = run(sgdmc, [str(config), f"--output={path}", "--resume"])
        lines = sgdmc_lines(result.stderr)
        _, stderr = inner.communicate(timeout=300)
        fault([(result.returncode == 1 and len(lines) == 1 and
                "another sgdmc study is writing it" in lines[0],
                f"--resume beside a study in another PID namespace: exit {result.returncode}: "
                f"{result.stderr!r}"),
               (inner.returncode == 0, f"the namespaced study: exit {inner.returncode}: "
                f"{stderr}"),
               (not differences(reference, datasets(path)),
                "the namespaced study's results differ from the uninterrupted run")])
    # kill -9, then --resume takes the dead writer's claim over
    path = tmp / "killed.h5"
    writer = start(sgdmc, [str(config), f"--output={path}", "--quiet"], 2)
    if wait_for(lambda: some_rows_done(path), 120, "the killed study's first rows"):
        kill_all(writer, signal.SIGKILL)
        writer.wait()
        done = done_rows(path)
        left_claim = claim_of(path).exists()
        result = run(sgdmc, [str(config), f"--output={path}", "--resume"], 2)
        after = done_rows(path)
        rows_lost += int((done & ~after).sum())
        fault([(left_claim, "kill -9 left no claim behind (was there one?)"),
               (result.returncode == 0, f"resume after kill -9: {result.stderr}"),
               ("took over a stale claim" in result.stderr and "process is gone"
                in result.stderr, f"resume after kill -9 does not say so: {result.stderr}"),
               (not differences(reference, datasets(path)),
                "resume after kill -9: results differ from the uninterrupted run")])
    # a requeued SLURM job: the same job id, restarted on another node
    path = tmp / "requeued.h5"
    writer = start(sgdmc, [str(config), f"--output={path}", "--quiet"],
                   env={"SLURM_JOB_ID": "4242"})
    if wait_for(lambda: some_rows_done(path), 120, "the requeued study's first rows"):
        kill_all(writer, signal.SIGKILL)
        writer.wait()
        done = done_rows(path)
        rewrite_claim(path, {"host": "node-before-requeue"})
        other = run(sgdmc, [str(config), f"--output={path}", "--resume"],
                    env={"SLURM_JOB_ID": "999"})
        same = run(sgdmc, [str(config), f"--output={path}", "--resume"],
                   env={"SLURM_JOB_ID": "4242"})
        after = done_rows(path)
        rows_lost += int((done & ~after).sum())
        fault([(other.returncode == 1 and "node-before-requeue" in other.stderr
                and "SLURM job 4242" in other.stderr,
                f"another job took over a live claim: exit {other.returncode}: {other.stderr}"),
               (same.returncode == 0 and "SLURM job's own" in same.stderr,
                f"the requeued job did not take over its claim: {same.stderr}"),
               (not differences(reference, datasets(path)),
                "requeued: results differ from the uninterrupted run")])
    # a dead node: its claim's heartbeat stopped long ago
    path = tmp / "dead_node.h5"
    writer = start(sgdmc, [str(config), f"--output={path}", "--quiet"])
    if wait_for(lambda: some_rows_done(path), 120, "the dead node's first rows"):
        kill_all(writer, signal.SIGKILL)
        writer.wait()
        done = done_rows(path)
        rewrite_claim(path, {"host": "dead-node", "pid": "1"}, age=10)
        fresh = run(sgdmc, [str(config), f"--output={path}", "--resume"])
        rewrite_claim(path, {"host": "dead-node", "pid": "1"}, age=200)
        stale = run(sgdmc, [str(config), f"--output={path}", "--resume"])
        after = done_rows(path)
        rows_lost += int((done & ~after).sum())
        fault([(fresh.returncode == 1 and "dead-node" in fresh.stderr,
                f"a fresh heartbeat was not respected: {fresh.stderr}"),
               (stale.returncode == 0 and "heartbeat stopped" in stale.stderr,
                f"a stale heartbeat was not taken over: {stale.stderr}"),
               (not differences(reference, datasets(path)),
                "dead node: results differ from the uninterrupted run")])
    # a writer whose claim was taken over (its heartbeat had expired) stops
    slow = write_config(tmp / "slow.cfg", config.read_text().replace("seeds = 30", "seeds = 400"))
    path = tmp / "overtaken.h5"
    writer = start(sgdmc, [str(slow), f"--output={path}", "--quiet"])
    if wait_for(lambda: some_rows_done(path), 120, "the overtaken study's first rows"):
        claim_of(path).unlink()
        claim_of(path).write_text("sgdmc claim\nhost=new-writer\npid=1\nslurm_job_id=\n")
        began = time.monotonic()
        _, stderr = writer.communicate(timeout=120)
        fault([(writer.returncode == 1 and "no longer this study's" in stderr
                and "new-writer" in stderr, f"overtaken writer: exit {writer.returncode}: "
                f"{stderr}"),
               (time.monotonic() - began < 15, "the overtaken writer took too long to stop"),
               (read_claim(path).get("host") == "new-writer",
                "the overtaken writer removed the new writer's claim")])
    # ... and one taken over after its last heartbeat (a study shorter than one heartbeat,
    # SGDMC_CLAIM_HEARTBEAT = 10 s, has none) is seen by the study's last check: it fails
    # instead of calling a file complete that another writer may have written
    short = write_config(tmp / "short.cfg", config.read_text().replace("seeds = 30", "seeds = 120"))
    path = tmp / "overtaken_late.h5"
    writer = start(sgdmc, [str(short), f"--output={path}", "--quiet"])
    started = time.monotonic()
    if wait_for(lambda: some_rows_done(path), 120, "the late-overtaken study's first rows"):
        claim_of(path).unlink()
        claim_of(path).write_text("sgdmc claim\nhost=new-writer\npid=1\nslurm_job_id=\n")
        _, stderr = writer.communicate(timeout=300)
        took = time.monotonic() - started
        fault([(writer.returncode == 1 and "no longer this study's" in stderr
                and "new-writer" in stderr, f"overtaken after its last heartbeat: exit "
                f"{writer.returncode}: {stderr}"),
               (took >= 10 or "another writer may have written" in stderr,
                f"a {took:.1f} s study, under one heartbeat, not failed by its last check: "
                f"{stderr}"),
               (read_claim(path).get("host") == "new-writer",
                "the late-overtaken writer removed the new writer's claim")])
    # a second name for the results file (a symbolic or hard link, or a symbolic link to
    # a file still to come) would let a second writer take a second claim: refused, the
    # file untouched and no claim made
    path = tmp / "named_once.h5"
    result = run(sgdmc, [str(config), f"--output={path}", "--quiet"])
    if result.returncode == 0:
        before = file_sha256(path)
        (tmp / "by_symlink.h5").symlink_to(path)
        os.link(path, tmp / "by_hard_link.h5")
        (tmp / "dangling.h5").symlink_to(tmp / "to_come.h5")
        checks = []
        for name, says in [("by_symlink.h5", "is a symbolic link"),
                           ("by_hard_link.h5", "has 2 names (hard links)"),
                           ("dangling.h5", "is a symbolic link")]:
            for flag in ["--resume", "--force"]:
                other = run(sgdmc, [str(config), f"--output={tmp / name}", flag])
                lines = sgdmc_lines(other.stderr)
                checks += [(other.returncode == 1 and len(lines) == 1 and says in lines[0]
                            and name in lines[0], f"{name} {flag}: exit {other.returncode}: "
                            f"{other.stderr!r}"),
                           (not claim_of(tmp / name).exists() and not claim_of(path).exists(),
                            f"{name} {flag}: a claim was left")]
        checks += [(file_sha256(path) == before, "a second name changed the results file"),
                   (not (tmp / "to_come.h5").exists(), "the dangling link's target was made")]
        fault(checks)
    else:
        fault([(False, f"the study to link to failed: {result.stderr}")])
    # a claim that names no writer (being written this instant, or not sgdmc's): refused
    # with that said while fresh, taken over once stale
    path = tmp / "unsigned.h5"
    result = run(sgdmc, [str(config), f"--output={path}", "--quiet"])
    claim_of(path).write_text("")
    fresh = run(sgdmc, [str(config), f"--output={path}", "--resume"])
    stamp = time.time() - 200
    os.utime(claim_of(path), (stamp, stamp))
    stale = run(sgdmc, [str(config), f"--output={path}", "--resume"])
    fault([(result.returncode == 0, f"the unsigned claim's study: {result.stderr}"),
           (fresh.returncode == 1 and "an unsigned claim: no host and pid" in fresh.stderr
            and "pid -1" not in fresh.stderr, f"a fresh unsigned claim: {fresh.stderr!r}"),
           (stale.returncode == 0 and "heartbeat stopped" in stale.stderr,
            f"a stale unsigned claim was not taken over: {stale.stderr!r}")])


# ---- inputs -------------------------------------------------------------------

DATA_STUDY = """name = "points";
seeds = 12;
grid = { width = [2, 3]; };
train = { data = "points.h5"; batch_size = 8; steps = 20000; };
"""


def make_points(path: Path) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0.0, 1.0, size=(64, 1))
    with h5py.File(path, "w") as f:
        f["x"] = x
        f["y"] = x ** 2


def section_inputs(sgdmc: str, configs: Path, tmp: Path) -> None:
    global rows_lost
    folder = tmp / "study"
    folder.mkdir()
    config = write_config(folder / "points.cfg", DATA_STUDY)
    make_points(folder / "points.h5")
    original = (folder / "points.h5").read_bytes()
    reference_folder = tmp / "reference"
    shutil.copytree(folder, reference_folder)
    reference = reference_of(sgdmc, reference_folder / "points.cfg", tmp)
    path = folder / "points_results.h5"
    partial = run(sgdmc, [str(config), f"--output={path}", "--quiet"],
                  env={"SGDMC_FAULT_WRITES": "2"})
    check(partial.returncode == EXIT_RESUME, f"setup: a partial study: {partial.stderr}")
    done = done_rows(path)
    with h5py.File(path, "r") as f:
        stored = [s.decode() for s in f["inputs/data_sha256"][...]]
    check(stored == [hashlib.sha256(original).hexdigest()] * 2,
          f"/inputs/data_sha256 is not the data file's SHA-256: {stored}")
    # an edited data file is refused, by name
    with h5py.File(folder / "points.h5", "r+") as f:
        f["y"][0, 0] += 1e-9
    edited = run(sgdmc, [str(config), f"--output={path}", "--resume"])
    lines = sgdmc_lines(edited.stderr)
    fault([(edited.returncode == 1, f"edited data: exit {edited.returncode}"),
           (len(lines) == 1 and "points.h5" in lines[0] and "changed" in lines[0],
            f"edited data: {edited.stderr!r}"),
           (bool((done_rows(path) == done).all()), "edited data: the file was written")])
    # restored, and the folder moved elsewhere: it resumes and equals the reference
    (folder / "points.h5").write_bytes(original)
    moved = tmp / "moved" / "elsewhere"
    shutil.copytree(folder, moved)
    shutil.rmtree(folder)
    moved_path = moved / "points_results.h5"
    result = run(sgdmc, [str(moved / "points.cfg"), f"--output={moved_path}", "--resume"],
                 cwd=tmp)
    after = done_rows(moved_path)
    rows_lost += int((done & ~after).sum())
    fault([(result.returncode == 0, f"moved study: resume: {result.stderr}"),
           (not differences(reference, datasets(moved_path)),
            "moved study: results differ from the uninterrupted run")])


# ---- signals ------------------------------------------------------------------

def gone(pids: list[int]) -> bool:
    """Every process exited (a zombie has exited; its parent reaps it later)."""
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            return False
    return True


def sgdmc_pids(process: subprocess.Popen, sgdmc: str) -> list[int]:
    pids = []
    for pid in [process.pid, *descendants(process.pid)]:
        try:
            if os.readlink(f"/proc/{pid}/exe") == os.path.realpath(sgdmc):
                pids.append(pid)
        except OSError:
            pass
    return pids


def section_signals(sgdmc: str, configs: Path, tmp: Path) -> None:
    global rows_lost
    # R*(24) of sin takes seconds; every run of the study needs it
    config = write_config(tmp / "wide.cfg", 'name = "wide";\nseeds = 3;\n'
                          'train = { target = "sin"; width = 24; steps = 200; };\n')
    began = time.monotonic()
    reference = reference_of(sgdmc, config, tmp)
    solve = time.monotonic() - began
    # the latest moment 0.45 of the solve: a run there must beat the reference by 1.7x for the
    # solve to be over (at 0.6 it once was, the reference slowed by a neighbour on the core)
    for ranks in [None, 2]:
        for fraction in [0.2, 0.45]:
            path = tmp / f"wide_{ranks}_{fraction}.h5"
            writer = start(sgdmc, [str(config), f"--output={path}"], ranks)
            time.sleep(0.5 + fraction * solve)
            pids = sgdmc_pids(writer, sgdmc)
            signal_ranks(writer, signal.SIGTERM, sgdmc)
            sent = time.monotonic()
            while not gone(pids) and time.monotonic() - sent < 30:
                time.sleep(0.01)
            stop_time = time.monotonic() - sent
            _, stderr = writer.communicate(timeout=60)
            what = f"SIGTERM during the R* solve ({ranks or 1} rank(s), at {fraction:.1f})"
            done = done_rows(path) if path.exists() else np.zeros(0, bool)
            resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"], ranks)
            after = done_rows(path)
            if done.size:
                rows_lost += int((done & ~after).sum())
            fault([(len(pids) == (ranks or 1), f"{what}: found sgdmc processes {pids}"),
                   (done.size == 0 or not done.any(),
                    f"{what}: {done.sum()} rows were done: the signal came after the solve"),
                   (stop_time < 2.0, f"{what}: the ranks took {stop_time:.2f} s to exit"),
                   (writer.returncode == EXIT_RESUME, f"{what}: exit {writer.returncode}: "
                    f"{stderr}"),
                   (resumed.returncode == 0, f"{what}: resume: {resumed.stderr}"),
                   (not differences(reference, datasets(path)),
                    f"{what}: resumed results differ from the uninterrupted run")])
            print(f"{what}: exited {stop_time:.3f} s after SIGTERM", flush=True)
    # a wide deep cell (24 layers of 250): its exact risk at step 0 and its dead-neuron
    # count (every piece, every breakpoint) take a minute, and a signal used to wait for
    # them; the study then finished the run and called itself complete
    deep = write_config(tmp / "deep.cfg", 'name = "deep";\nseeds = 1;\n'
                        'train = { width = 250; depth = 24; steps = 10; };\n')
    path = tmp / "deep.h5"
    for what, args in [("--dry-run of a width-250 depth-24 cell", ["--dry-run"]),
                       ("a study of a width-250 depth-24 cell", [f"--output={path}", "--quiet"])]:
        process = start(sgdmc, [str(deep), *args])
        time.sleep(3.0)
        running = process.poll() is None
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        stderr = stderr_within(process, 120)
        took = time.monotonic() - sent
        what = f"SIGTERM 3 s into {what}"
        checks = [(running, f"{what}: it ended before the signal: {stderr}"),
                  (took < 10.0, f"{what}: exited {took:.1f} s after SIGTERM")]
        if "--dry-run" in args:
            checks += [(process.returncode == 1 and "stopped by a signal" in stderr,
                        f"{what}: exit {process.returncode}: {stderr}")]
        else:
            checks += [(process.returncode == EXIT_RESUME,
                        f"{what}: exit {process.returncode}: {stderr}"),
                       # on a loaded machine the signal may come before the file exists
                       (not path.exists() or not done_rows(path).any(),
                        f"{what}: an abandoned run was written"),
                       (not claim_of(path).exists(), f"{what}: the claim was left behind")]
        fault(checks)
        print(f"{what}: exited {took:.3f} s after SIGTERM", flush=True)
    # a closed terminal (SIGHUP) stops like SIGTERM, unless the caller ignores it (nohup);
    # a closed stderr (SIGPIPE at the next progress line) costs the lines, not the study
    config = configs / "long.cfg"
    reference = reference_of(sgdmc, config, tmp)
    for ranks in [None, 2]:
        path = tmp / f"hangup_{ranks}.h5"
        writer = start(sgdmc, [str(config), f"--output={path}", "--quiet"], ranks)
        if wait_for(lambda: some_rows_done(path), 120, "the hung-up study's first rows"):
            signal_ranks(writer, signal.SIGHUP, sgdmc)
            stderr = stderr_within(writer, 60)
            done = done_rows(path)
            resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"], ranks)
            rows_lost += int((done & ~done_rows(path)).sum())
            what = f"SIGHUP ({ranks or 1} rank(s))"
            fault([(writer.returncode == EXIT_RESUME and not done.all(),
                    f"{what}: exit {writer.returncode}, {done.sum()} of {done.size} done: "
                    f"{stderr}"),
                   (resumed.returncode == 0, f"{what}: resume: {resumed.stderr}"),
                   (not differences(reference, datasets(path)),
                    f"{what}: resumed results differ from the uninterrupted run")])
    path = tmp / "nohup.h5"
    writer = subprocess.Popen(command(sgdmc, [str(config), f"--output={path}", "--quiet"], None),
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    if wait_for(lambda: some_rows_done(path), 120, "the nohup study's first rows"):
        writer.send_signal(signal.SIGHUP)
        stderr = stderr_within(writer, 300)
        fault([(writer.returncode == 0, f"SIGHUP under nohup: exit {writer.returncode}: "
                f"{stderr}"),
               (not differences(reference, datasets(path)),
                "SIGHUP under nohup: results differ from the uninterrupted run")])
    for ranks in [None, 2]:
        path = tmp / f"closed_stderr_{ranks}.h5"
        writer = subprocess.Popen(command(sgdmc, [str(config), f"--output={path}",
                                                  "--progress=lines"], ranks),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert writer.stderr is not None
        writer.stderr.read(1)  # the study has started: close the reading end
        writer.stderr.close()
        try:
            writer.wait(timeout=300)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
        what = f"a closed stderr ({ranks or 1} rank(s))"
        fault([(writer.returncode == 0, f"{what}: exit {writer.returncode}"),
               (path.exists() and not differences(reference, datasets(path)),
                f"{what}: results differ from the uninterrupted run")])

EXIT_LOST_RANK = 76


def rank_pid(process: subprocess.Popen, sgdmc: str, rank: int) -> int | None:
    for pid in sgdmc_pids(process, sgdmc):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ:
            return pid
    return None


def section_lost(sgdmc: str, configs: Path, tmp: Path) -> None:
    global rows_lost
    cases = {
        # runs of about a second each (several under the sanitizers), one at a time: rank 2
        # is frozen in the middle of one, and the study cannot end without it
        "training": 'name = "lost";\nseeds = 4;\ngrid = { width = [2, 3]; };\n'
                    'train = { steps = 6000000; };\n',
        # every run starts with R*(28) or R*(32) of sin, seconds long, which rank 2 is solving
        "an R* solve": 'name = "lost_rstar";\nseeds = 3;\ngrid = { width = [28, 32]; };\n'
                       'train = { target = "sin"; steps = 100; };\n',
    }
    for what, text in cases.items():
        config = write_config(tmp / f"lost_{len(text)}.cfg", text)
        reference = reference_of(sgdmc, config, tmp)
        path = tmp / f"lost_{len(text)}.h5"
        study = start(sgdmc, [str(config), f"--output={path}", "--lanes=1"], 3)
        if what == "training":
            wait_for(lambda: some_rows_done(path), 120, "the first rows")
        else:
            time.sleep(2.0)
        frozen = rank_pid(study, sgdmc, 2)
        pids = sgdmc_pids(study, sgdmc)
        finished_early = study.poll() is not None or bool(done_rows(path).all())
        if frozen and not finished_early:
            os.kill(frozen, signal.SIGSTOP)
        stopped_at = time.monotonic()
        done = done_rows(path) if path.exists() else np.zeros(0, bool)
        try:
            _, stderr = study.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            kill_all(study, signal.SIGKILL)
            _, stderr = study.communicate()
        took = time.monotonic() - stopped_at
        while not gone(pids) and time.monotonic() - stopped_at < 30:
            time.sleep(0.05)
        all_gone = gone(pids)
        for pid in pids:  # the frozen one, should the launcher have left it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        lines = sgdmc_lines(stderr)
        resumed = run(sgdmc, [str(config), f"--output={path}", "--resume", "--quiet"], 2)
        after = done_rows(path)
        if done.size:
            rows_lost += int((done & ~after).sum())
        label = f"rank 2 frozen during {what}"
        fault([(not finished_early, f"{label}: the study ended before the freeze (too short)"),
               (frozen is not None, f"{label}: no rank 2 among {pids}"),
               (study.returncode == EXIT_LOST_RANK, f"{label}: exit {study.returncode}: {stderr}"),
               # 8 s of silence, then mpirun's teardown of a stopped process: 8.3-9.0 s here,
               # 12.6 s and once 15.8 s in CI (2 cores, 3 ranks, another test running beside);
               # a rank never stopped would take the 60 s of communicate's timeout
               (took < 20.0 and all_gone, f"{label}: {took:.1f} s, all ranks gone: {all_gone}"),
               (any("rank 2 sent nothing" in line for line in lines),
                f"{label}: no line names the rank: {lines}"),
               (resumed.returncode == 0, f"{label}: resume: {resumed.stderr}"),
               (not differences(reference, datasets(path)),
                f"{label}: resumed results differ from the uninterrupted run")])
        print(f"{label}: every rank stopped {took:.1f} s after the freeze, exit "
              f"{study.returncode}, {int(done.sum()) if done.size else 0} rows done before",
              flush=True)
    # the whole job suspended (SIGSTOP to every rank, as `scontrol suspend` does), or rank 0
    # alone, for longer than the 8 s of silence: nobody was lost, and the study goes on
    config = write_config(tmp / "suspended.cfg", cases["training"])
    reference = reference_of(sgdmc, config, tmp)
    for who in ["every rank", "rank 0"]:
        path = tmp / f"suspended_{who[0]}.h5"
        study = start(sgdmc, [str(config), f"--output={path}", "--lanes=1", "--quiet"], 3)
        wait_for(lambda: some_rows_done(path), 120, "the first rows")
        pids = sgdmc_pids(study, sgdmc) if who == "every rank" else [rank_pid(study, sgdmc, 0)]
        finished_early = study.poll() is not None or bool(done_rows(path).all())
        for pid in pids:
            if pid:
                os.kill(pid, signal.SIGSTOP)
        time.sleep(12.0)
        for pid in pids:
            if pid:
                os.kill(pid, signal.SIGCONT)
        try:
            _, stderr = study.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            kill_all(study, signal.SIGKILL)
            _, stderr = study.communicate()
        label = f"{who} suspended for 12 s"
        fault([(not finished_early and None not in pids,
                f"{label}: the study ended before the suspension, or no rank 0: {pids}"),
               (study.returncode == 0, f"{label}: exit {study.returncode}: {stderr}"),
               (not differences(reference, datasets(path)),
                f"{label}: results differ from the uninterrupted run")])
        print(f"{label}: exit {study.returncode}", flush=True)


def main() -> int:
    sgdmc, configs, section = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3]
    sections = {"disk": section_disk, "writes": section_writes, "claims": section_claims,
                "inputs": section_inputs, "signals": section_signals, "lost": section_lost}
    with tempfile.TemporaryDirectory() as tmp:
        sections[section](sgdmc, configs, Path(tmp))
    print(f"test_faults {section}: faults injected {injected}, survived {survived}, "
          f"rows lost {rows_lost}")
    check(rows_lost == 0, f"{rows_lost} rows lost")
    print(f"test_faults {section}: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
