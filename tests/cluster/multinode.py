"""A throw-away multi-node SLURM cluster on this one machine: every host is a network namespace.

    with MultiNode(["n1", "n2"]) as cluster:   # raises Unavailable when it cannot run here
        job = cluster.sbatch(["-N2", "-n2", "jobs/quick.sbatch"], cwd=folder, env=env)
        cluster.crash("n2"); cluster.reboot("n2")
        state = cluster.wait(job, timeout=300)

Layout (facts: ../shared/notes/slurm-multi-node.md):
- a network namespace per host, `sgmn-head` (slurmctld and a bridge) and one per node (its
  slurmd), joined by veth pairs created inside the namespaces, addresses in 10.93.0.0/24:
  nothing is added to the root namespace;
- munged in the root namespace (its socket is a file, every namespace reaches it);
- every host process in its own UTS namespace (its hostname) and mount namespace, where the
  node's own folder is bind-mounted on one path, `ROOT/local` (slurmd's spool, pid file, log,
  TmpFS: its "local disk"), and a hosts file on /etc/hosts. One slurm.conf serves every node.
Ports, job ids, folders, namespace and cluster names are its own, so it runs beside the
single-node SLURM of tests/slurm. `crash` kills every process of a node at once, as a power cut
would; `reboot` then empties the node's spool sockets and TmpFS, as a real reboot does, and
starts its slurmd again. Leaving the block stops everything by pid and by namespace; namespaces
left behind by an earlier run that was killed are removed on the next start.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "slurm"))
from cluster import (CLIENTS, DAEMONS, PLUGIN_SETTINGS, Unavailable, free_port,  # noqa: E402
                     parse_fields, pid_of, process_alive, stop_process, tail, wait_job, which)

PREFIX = "sgmn-"
SUBNET = "10.93.0"


def namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in out.stdout.splitlines()
            if line.split() and line.split()[0].startswith(PREFIX)]


def namespace_pids(name: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def remove_namespaces() -> None:
    """Kills everything in this harness's namespaces and deletes them (also an earlier run's)."""
    for name in namespaces():
        for _ in range(3):
            pids = namespace_pids(name)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.2)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def remove_earlier_runs(keep: Path) -> None:
    """Processes and folders an earlier run left when it was killed: its munged (in the root
    namespace) and everything else with its folder on the command line or in the environment."""
    mark = str(Path(tempfile.gettempdir()) / "sgdmc-multinode-").encode()
    own = str(keep).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if mark in text and own not in text:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass
    for folder in Path(tempfile.gettempdir()).glob("sgdmc-multinode-*"):
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)


class MultiNode:
    def __init__(self, nodes: list[str], cpus: int = 1) -> None:
        if os.geteuid() != 0:
            raise Unavailable("not root: network namespaces and the SLURM daemons need root")
        missing = [p for p in DAEMONS + CLIENTS + ["ip", "nsenter", "unshare"]
                   if which(p) is None]
        if missing:
            raise Unavailable(f"not installed: {', '.join(missing)}")
        probe = subprocess.run(["ip", "netns", "add", PREFIX + "probe"], capture_output=True,
                               text=True)
        subprocess.run(["ip", "netns", "del", PREFIX + "probe"], capture_output=True)
        if probe.returncode != 0:
            raise Unavailable(f"cannot make network namespaces here: {probe.stderr.strip()}")
        self.nodes = nodes
        self.cpus = cpus
        self.hosts = ["head", *nodes]
        self.address = {host: f"{SUBNET}.{1 if host == 'head' else 11 + i}"
                        for i, host in enumerate([h for h in self.hosts if h != "head"])}
        self.address["head"] = f"{SUBNET}.1"
        self.root = Path(tempfile.mkdtemp(prefix="sgdmc-multinode-"))
        self.conf = self.root / "slurm.conf"
        self.pids: list[tuple[int, str]] = []
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_"))}
        self.env["SLURM_CONF"] = str(self.conf)
        # Open MPI between the "hosts": TCP on the cluster's subnet only
        self.env.update({"OMPI_MCA_btl_tcp_if_include": f"{SUBNET}.0/24",
                         "OMPI_MCA_oob_tcp_if_include": f"{SUBNET}.0/24",
                         "PMIX_MCA_ptl_tcp_if_include": f"{SUBNET}.0/24"})

    # ---- start -------------------------------------------------------------------------------

    def __enter__(self) -> "MultiNode":
        try:
            remove_namespaces()
            remove_earlier_runs(self.root)
            self._network()
            self._files()
            self._start_munge()
            self._start("head", [which("slurmctld"), "-f", str(self.conf)],
                        self.root / "nodes" / "head" / "slurmctld.pid", "slurmctld")
            for node in self.nodes:
                self._start_slurmd(node)
            self.wait_nodes("idle", self.nodes, 60)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.stop()

    def _ip(self, *args: str) -> None:
        done = subprocess.run(["ip", *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")

    def _network(self) -> None:
        head = PREFIX + "head"
        self._ip("netns", "add", head)
        self._ip("-n", head, "link", "set", "lo", "up")
        self._ip("-n", head, "link", "add", "sgmnbr", "type", "bridge")
        self._ip("-n", head, "addr", "add", f"{self.address['head']}/24", "dev", "sgmnbr")
        self._ip("-n", head, "link", "set", "sgmnbr", "up")
        for node in self.nodes:
            name = PREFIX + node
            self._ip("netns", "add", name)
            self._ip("-n", name, "link", "set", "lo", "up")
            # both ends made inside the namespaces: nothing shows in the root namespace
            self._ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name",
                     f"v-{node}", "netns", head)
            self._ip("-n", head, "link", "set", f"v-{node}", "master", "sgmnbr", "up")
            self._ip("-n", name, "addr", "add", f"{self.address[node]}/24", "dev", "eth0")
            self._ip("-n", name, "link", "set", "eth0", "up")

    def _files(self) -> None:
        self.root.chmod(0o755)
        (self.root / "local").mkdir()
        (self.root / "state").mkdir()
        for host in self.hosts:
            for sub in ["spool", "tmp"]:
                (self.root / "nodes" / host / sub).mkdir(parents=True)
            (self.root / "nodes" / host / "tmp").chmod(0o1777)
        lines = ["127.0.0.1 localhost"] + [f"{self.address[h]} {h}" for h in self.hosts]
        (self.root / "hosts").write_text("\n".join(lines) + "\n")
        (self.root / "plugstack.conf").write_text("")
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        local = self.root / "local"
        node_lines = "\n".join(
            f"NodeName={n} NodeHostname={n} NodeAddr={self.address[n]} CPUs={self.cpus} "
            f"RealMemory={memory // (2 * len(self.nodes))} State=UNKNOWN" for n in self.nodes)
        self.conf.write_text(f"""\
# generated by tests/cluster/multinode.py for one test run
ClusterName=sgdmcmultinode
SlurmctldHost=head({self.address['head']})
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
FirstJobId={random.randint(1000, 900000)}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket_path()},cred_expire=10
StateSaveLocation={self.root}/state
# per host: ROOT/local is that host's own folder (a bind mount in its mount namespace)
SlurmdSpoolDir={local}/spool
SlurmdPidFile={local}/slurmd.pid
SlurmdLogFile={local}/slurmd.log
SlurmctldPidFile={local}/slurmctld.pid
SlurmctldLogFile={local}/slurmctld.log
TmpFS={local}/tmp
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={self.root}/plugstack.conf
{PLUGIN_SETTINGS}# a dead node is marked within about SlurmdTimeout; it rejoins when its slurmd registers again
SlurmdTimeout=20
{node_lines}
PartitionName=mn Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP
""")

    def munge_socket_path(self) -> Path:
        return self.root / "munge" / "munge.socket"

    def _start_munge(self) -> None:
        import pwd
        munge = pwd.getpwnam("munge")
        folder = self.root / "munge"
        folder.mkdir(mode=0o755)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
        key = folder / "munge.key"
        subprocess.run([which("mungekey"), "--create", f"--keyfile={key}"], check=True,
                       capture_output=True)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
        done = subprocess.run(["runuser", "-u", "munge", "--", which("munged"),
                               f"--socket={self.munge_socket_path()}", f"--key-file={key}",
                               f"--pid-file={folder / 'munged.pid'}",
                               f"--log-file={folder / 'munged.log'}",
                               f"--seed-file={folder / 'munged.seed'}"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"munged did not start: {done.stderr.strip()}")
        self._record(folder / "munged.pid", "munged")

    def on(self, host: str, argv: list[str]) -> list[str]:
        """argv as run on a host: its network namespace, hostname, /etc/hosts, local disk.
        (nsenter, not `ip netns exec`, which remounts /sys and hides the cgroup folder that
        slurmd wants.)"""
        script = ('hostname "$1" && mount --bind "$2/hosts" /etc/hosts && '
                  'mount --bind "$2/nodes/$1" "$2/local" && shift 2 && exec "$@"')
        return ["nsenter", f"--net=/run/netns/{PREFIX}{host}", "unshare", "--uts", "--mount",
                "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", host,
                str(self.root), *argv]

    def _start(self, host: str, argv: list[str], pidfile: Path, comm: str) -> None:
        done = subprocess.run(self.on(host, argv), env=self.env, capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{comm} on {host} did not start: {done.stderr.strip()}\n"
                               f"{tail(pidfile.parent / (comm + '.log'))}")
        self._record(pidfile, comm)

    def _record(self, pidfile: Path, comm: str) -> int:
        pid = pid_of(pidfile, comm)
        if pid is None:
            raise RuntimeError(f"{comm} wrote no live pid to {pidfile} within 20 s")
        self.pids.append((pid, comm))
        return pid

    def _start_slurmd(self, node: str) -> None:
        self._start(node, [which("slurmd"), "-f", str(self.conf), "-N", node],
                    self.root / "nodes" / node / "slurmd.pid", "slurmd")

    # ---- use ---------------------------------------------------------------------------------

    def client(self, argv: list[str], cwd: Path | None = None,
               env: dict[str, str] | None = None, timeout: float = 60
               ) -> subprocess.CompletedProcess:
        """A SLURM client command run on the head host."""
        return subprocess.run(self.on("head", argv), cwd=cwd, env=dict(env or self.env),
                              capture_output=True, text=True, timeout=timeout)

    def sbatch(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
        done = self.client(["sbatch", "--parsable", *argv], cwd=cwd,
                           env=dict(self.env, **(env or {})))
        if done.returncode != 0:
            raise RuntimeError(f"sbatch {' '.join(argv)} failed: {done.stderr.strip()}")
        return done.stdout.strip().split(";")[0]

    def job(self, job_id: str) -> dict[str, str]:
        out = self.client(["scontrol", "show", "job", job_id])
        return parse_fields(out.stdout) if out.returncode == 0 else {}

    def node_states(self) -> dict[str, str]:
        out = self.client(["sinfo", "-h", "-N", "-o", "%N %T"])
        return dict(line.split()[:2] for line in out.stdout.splitlines() if len(line.split()) > 1)

    def wait_nodes(self, state: str, nodes: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.node_states()
            if all(states.get(n, "").rstrip("*~#") == state for n in nodes):
                return
            time.sleep(0.5)
        raise RuntimeError(f"nodes {nodes} not {state} within {timeout:.0f} s: {states}\n"
                           f"{self.logs()}")

    def wait(self, job_id: str, timeout: float, seen: set[str] | None = None) -> dict[str, str]:
        return wait_job(self.job, job_id, timeout, seen)

    def crash(self, node: str) -> int:
        """Every process of the node killed at once (slurmd, stepds, ranks, a job's script)."""
        pids = namespace_pids(PREFIX + node)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.pids = [(p, c) for p, c in self.pids if p not in pids]
        return len(pids)

    def reboot(self, node: str) -> None:
        """The crashed node comes back with an empty spool and TmpFS, as after a real reboot
        (left there, the crashed job's sockets and folders make its requeued start fail: it
        keeps its job and step ids), and its slurmd started again."""
        self.crash(node)
        for sub in ["spool", "tmp"]:
            for entry in (self.root / "nodes" / node / sub).iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        self._start_slurmd(node)

    def logs(self) -> str:
        return "\n".join(tail(self.root / "nodes" / h / f"{'slurmctld' if h == 'head' else 'slurmd'}.log")
                         for h in self.hosts)

    # ---- stop --------------------------------------------------------------------------------

    def stop(self) -> None:
        if any(comm == "slurmctld" and process_alive(pid, comm) for pid, comm in self.pids):
            self.client(["scancel", "--full", "--partition=mn"])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                out = self.client(["squeue", "-h", "-o", "%i"])
                if out.returncode != 0 or not out.stdout.strip():
                    break
                time.sleep(0.5)
        for pid, comm in reversed(self.pids):
            stop_process(pid, comm, grace=5)
        self.pids = []
        remove_namespaces()
        mark = str(self.root).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if mark in (entry / "environ").read_bytes() or mark in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue
        shutil.rmtree(self.root, ignore_errors=True)
