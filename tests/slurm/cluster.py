"""A throw-away single-node SLURM (munged, slurmctld, slurmd) in a temporary folder.

Everything the daemons write (munge key and socket, slurm.conf, state, spool, logs, pid files)
lives under one folder; ports and the first job id are drawn at random, so two of these clusters
(two meson builds, two users) do not meet. Facts this rests on: ../shared/notes/slurm-single-node.md.

    with Cluster() as cluster:      # raises Unavailable when SLURM cannot run here
        job = cluster.sbatch(["jobs/quick.sbatch"], cwd=folder, env=env)
        state = cluster.wait(job, timeout=300)

Leaving the block cancels the jobs, stops the daemons by their pids (SIGTERM, then SIGKILL), kills
whatever still runs with this cluster's SLURM_CONF in its environment, and removes the folder.
"""
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ["munged", "mungekey", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "scontrol", "squeue", "scancel", "srun", "sinfo"]
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
            "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


# The slurm.conf lines every test cluster shares (this one and tests/cluster/multinode.py):
# plugins and scheduling for daemons run as root on a machine without systemd.
PLUGIN_SETTINGS = """\
# pgid would leave MPI ranks running after scancel; no cgroups without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=1
MpiDefault=pmix
KillWait=10
ReturnToService=2
MailProg=/bin/true
SlurmdParameters=config_overrides
"""


class Unavailable(Exception):
    """SLURM cannot run on this machine (not root, programs missing): the tests skip."""


class Terminated(BaseException):
    """SIGTERM arrived (meson's timeout): stop at once, meson sends SIGKILL 0.5 s later."""


def raise_terminated(*_: object) -> None:
    raise Terminated()


def which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def free_port() -> int:
    """A port nobody listens on now, in a range clear of SLURM's default 6817-6819."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found in 20000-29999")


def process_alive(pid: int, comm: str) -> bool:
    """True when pid still runs the program comm (a recycled pid is someone else's)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == comm
    except OSError:
        return False


def parse_fields(text: str) -> dict[str, str]:
    """`scontrol show job` output as key -> value (values never contain spaces there,
    except the ones we do not read)."""
    fields = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep:
            fields.setdefault(key, value)
    return fields


class Cluster:
    def __init__(self, cpus: int = 2) -> None:
        if os.geteuid() != 0:
            raise Unavailable("not root: munged and slurmd need root to run jobs as any user")
        missing = [p for p in DAEMONS + CLIENTS if which(p) is None]
        if missing:
            raise Unavailable(f"not installed: {', '.join(missing)} (Debian: apt-get install "
                              "slurm-wlm munge, as .ci/install does)")
        try:
            pwd.getpwnam("munge")
        except KeyError:
            raise Unavailable("no munge user (the munge package creates it)")
        self.cpus = cpus
        self.root = Path(tempfile.mkdtemp(prefix="sgdmc-slurm-"))
        self.conf = self.root / "slurm.conf"
        self.pids: list[tuple[int, str]] = []
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        # a job launched by an earlier sbatch in the same shell must not leak its settings
        for key in list(self.env):
            if key.startswith(("SLURM_", "SBATCH_", "SALLOC_")) and key != "SLURM_CONF":
                del self.env[key]

    # ---- start -------------------------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        try:
            self._start_munge()
            self._write_conf()
            self._start_slurm()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.stop(hurry=kind is not None and issubclass(kind, Terminated))

    def _start_munge(self) -> None:
        munge = pwd.getpwnam("munge")
        self.root.chmod(0o755)  # munged runs as munge and must reach its folder
        folder = self.root / "munge"
        folder.mkdir(mode=0o755)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
        self.munge_socket = folder / "munge.socket"
        key = folder / "munge.key"
        subprocess.run([which("mungekey"), "--create", f"--keyfile={key}"], check=True,
                       capture_output=True)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
        self._daemon(["runuser", "-u", "munge", "--", which("munged"),
                      f"--socket={self.munge_socket}", f"--key-file={key}",
                      f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'munged.log'}",
                      f"--seed-file={folder / 'munged.seed'}"],
                     folder / "munged.pid", "munged", folder / "munged.log")

    def _write_conf(self) -> None:
        for sub in ["state", "spool", "log"]:
            (self.root / sub).mkdir()
        (self.root / "plugstack.conf").write_text("")
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        r = self.root
        self.conf.write_text(f"""\
# generated by tests/slurm/cluster.py for one test run
ClusterName=sgdmctest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
# random, so that two clusters on one machine never run the same job id at once (pmix's
# temporary folders are named after it)
FirstJobId={random.randint(1000, 900000)}
AuthType=auth/munge
CredType=cred/munge
# a requeued job starts only after cred_expire seconds (default 120)
AuthInfo=socket={self.munge_socket},cred_expire=10
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={r}/plugstack.conf
{PLUGIN_SETTINGS}NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory // 2} State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")

    def _start_slurm(self) -> None:
        self._daemon([which("slurmctld"), "-f", str(self.conf)], self.root / "slurmctld.pid",
                     "slurmctld", self.root / "log" / "slurmctld.log")
        self._daemon([which("slurmd"), "-f", str(self.conf), "-N", "localhost"],
                     self.root / "slurmd.pid", "slurmd", self.root / "log" / "slurmd.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env,
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip() == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"the node did not become idle within 60 s (sinfo: {out.stdout.strip()}"
                           f"{out.stderr.strip()})\n{self.logs()}")

    def _daemon(self, argv: list[str], pidfile: Path, comm: str, log: Path) -> None:
        """Runs a daemon that forks into the background and records its pid."""
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{comm} did not start (status {done.returncode}): "
                               f"{done.stderr.strip()}\n{tail(log)}")
        pid = pid_of(pidfile, comm)
        if pid is None:
            raise RuntimeError(f"{comm} wrote no pid file {pidfile} within 20 s\n{tail(log)}")
        self.pids.append((pid, comm))

    # ---- use ---------------------------------------------------------------------------------

    def sbatch(self, argv: list[str], cwd: Path, env: dict[str, str]) -> str:
        done = subprocess.run(["sbatch", "--parsable", *argv], cwd=cwd,
                              env=dict(env, SLURM_CONF=str(self.conf)),
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"sbatch {' '.join(argv)} failed: {done.stderr.strip()}")
        return done.stdout.strip().split(";")[0]

    def job(self, job_id: str) -> dict[str, str]:
        """scontrol's fields of a job ({} once SLURM forgot it)."""
        out = subprocess.run(["scontrol", "show", "job", job_id], env=self.env,
                             capture_output=True, text=True, timeout=60)
        return parse_fields(out.stdout) if out.returncode == 0 else {}

    def wait(self, job_id: str, timeout: float, seen: set[str] | None = None) -> dict[str, str]:
        return wait_job(self.job, job_id, timeout, seen)

    def logs(self) -> str:
        return "\n".join(tail(p) for p in [self.root / "log" / "slurmctld.log",
                                           self.root / "log" / "slurmd.log"])

    # ---- stop --------------------------------------------------------------------------------

    def stop(self, hurry: bool = False) -> None:
        """Cancels every job, stops the daemons by pid, kills leftovers; safe to call twice.
        In a hurry, SIGKILL to the daemons and everything of the cluster at once."""
        if hurry:
            for pid, comm in self.pids:
                if process_alive(pid, comm):
                    os.kill(pid, signal.SIGKILL)
            self.pids = []
        if self.pids and any(comm == "slurmctld" for _, comm in self.pids):
            subprocess.run(["scancel", "--full", "--partition=test"], env=self.env,
                           capture_output=True, timeout=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                out = subprocess.run(["squeue", "-h", "-o", "%i"], env=self.env,
                                     capture_output=True, text=True, timeout=60)
                if out.returncode != 0 or not out.stdout.strip():
                    break
                time.sleep(0.5)
        # slurmd before slurmctld before munged: each needs the next one to shut down cleanly
        for pid, comm in reversed(self.pids):
            stop_process(pid, comm)
        self.pids = []
        for _ in range(3):  # a dying slurmstepd may still have started something
            for pid in self.leftovers():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

    def leftovers(self) -> list[int]:
        """Processes that belong to this cluster: its SLURM_CONF in their environment (jobs
        and their ranks) or its folder on their command line (slurmstepd, daemons)."""
        mark = str(self.root).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if (mark in (entry / "environ").read_bytes()
                        or mark in (entry / "cmdline").read_bytes()):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found


def pid_of(pidfile: Path, comm: str, timeout: float = 20) -> int | None:
    """The pid a daemon wrote to pidfile once it runs comm, None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            time.sleep(0.1)
            continue
        if process_alive(pid, comm):
            return pid
        time.sleep(0.1)
    return None


def wait_job(job, job_id: str, timeout: float, seen: set[str] | None = None) -> dict[str, str]:
    """Polls job(job_id) (scontrol's fields) until the job finished (a requeued job passes
    through other states and comes back); returns its last fields. seen collects every state
    met on the way."""
    deadline = time.monotonic() + timeout
    fields: dict[str, str] = {}
    while time.monotonic() < deadline:
        fields = job(job_id) or fields
        state = fields.get("JobState", "")
        if seen is not None and state:
            seen.add(state)
        if state in FINISHED:
            return fields
        time.sleep(1)
    raise TimeoutError(f"job {job_id} not finished after {timeout:.0f} s "
                       f"(state {fields.get('JobState')}, reason {fields.get('Reason')})")


def stop_process(pid: int, comm: str, grace: float = 15) -> None:
    if not process_alive(pid, comm):
        return
    try:  # it may exit between the check and the signal
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not process_alive(pid, comm):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path}: not written)"
    return f"--- last lines of {path}\n" + "\n".join(text[-lines:])
