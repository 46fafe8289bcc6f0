"""A throwaway one-node Slurm cluster on localhost for tests: its own munge key, slurm.conf, ports,
state and spool folders under a temporary directory, and no systemd.

    with SlurmCluster(workdir) as cluster:
        job = cluster.sbatch(["launch/slurm/train.sbatch"], env)
        cluster.wait_for(job, timeout=90)

Leaving the block (normally, by an exception, or on SIGTERM/SIGINT from CTest's timeout) stops
every daemon it started.
"""
import ctypes
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

SKIP = 77  # CTest's SKIP_RETURN_CODE for these tests
DAEMONS = ("munged", "slurmctld", "slurmd")


def skip(reason):
    """Exits with SKIP and the reason; under CI=true a test that cannot run is a failure instead."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: a test that cannot run fails the run)")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def skip_unless_available():
    """Exits with SKIP and a reason when this machine cannot host the test cluster."""
    if os.geteuid() != 0:
        skip("slurmd must run as root to launch jobs; run the Slurm tests as root")
    missing = [d for d in DAEMONS + ("sbatch", "scontrol") if not shutil.which(d, path="/usr/sbin:/usr/bin")]
    if missing:
        skip(f"{', '.join(missing)} not installed (slurm-wlm and munge, see launch/setup.sh)")


def die_with_parent():
    """In a daemon before exec: SIGTERM it when this process dies, even by SIGKILL (no cleanup runs then)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def node_line():
    """This machine's hardware as slurmd sees it, so the node is never drained for a mismatch."""
    described = subprocess.run(["slurmd", "-C"], check=True, capture_output=True, text=True).stdout
    return described.splitlines()[0]


class SlurmCluster:
    def __init__(self, workdir):
        self.root = pathlib.Path(workdir).resolve() / "slurm"
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket"
        self.processes = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._exit_on_signal)
        try:
            self._write_config()
            self._start_munge()
            self._start("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
            self._wait_for_idle_node()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def _exit_on_signal(signum, frame):
        sys.exit(128 + signum)  # unwinds through __exit__, which stops the daemons

    def env(self):
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def _write_config(self):
        for sub in ("munge", "state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o400)
        ctld_port, slurmd_port = free_ports(2)
        node = node_line()
        node_name = node.split()[0].split("=")[1]
        self.conf.write_text(f"""\
ClusterName=dtraintest
SlurmctldHost={node_name}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket={self.socket},cred_expire=10
CredType=cred/munge
StateSaveLocation={self.root}/state
SlurmdSpoolDir={self.root}/spool
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/log/slurmctld.log
SlurmdLogFile={self.root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _start_munge(self):
        munge = self.root / "munge"
        self._start("munged", ["munged", "--foreground", "--force", f"--socket={self.socket}",
                               f"--key-file={munge}/munge.key", f"--pid-file={munge}/munged.pid",
                               f"--seed-file={munge}/munged.seed", f"--log-file={munge}/munged.log"])
        self._poll(lambda: self.socket.exists(), 10, "munged did not create its socket")

    def _start(self, name, command):
        log = open(self.root / "log" / f"{name}.stdout", "w")
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                                start_new_session=True, preexec_fn=die_with_parent)

    def _poll(self, ready, timeout, failure):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; logs in {self.root / 'log'}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{failure} within {timeout} s; logs in {self.root / 'log'}")

    def _wait_for_idle_node(self):
        def idle():
            state = self.run(["sinfo", "-h", "-o", "%t"], check=False).stdout.strip()
            return state.startswith("idle")
        self._poll(idle, 30, "the node did not become idle")

    def run(self, command, check=True):
        return subprocess.run(command, env=self.env(), capture_output=True, text=True, check=check)

    def sbatch(self, arguments, env, cwd):
        result = subprocess.run(["sbatch", "--parsable", *arguments],
                                env=dict(env, SLURM_CONF=str(self.conf)), cwd=cwd, capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise RuntimeError(f"sbatch failed: {result.stderr.strip()}")
        return result.stdout.strip().split(";")[0]

    def job(self, job_id):
        """scontrol's fields of a job as a dict (JobState, ExitCode, Restarts, ...)."""
        text = self.run(["scontrol", "show", "job", "-o", job_id]).stdout
        return dict(re.findall(r"(\w+)=(\S*)", text))

    def wait_for(self, job_id, timeout, until=lambda job: job["JobState"] in FINAL_STATES):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if until(job):
                return job
            time.sleep(0.5)
        raise RuntimeError(f"job {job_id} still {self.job(job_id)['JobState']} after {timeout} s")

    def stop(self):
        # Cancel what is left first so no dtrain outlives the test, then the daemons in reverse order.
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.run(["scancel", "--full", "--user=root"], check=False)
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()

    def logs(self):
        logs = sorted((self.root / "log").glob("*"))
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs)


FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "PREEMPTED"}
