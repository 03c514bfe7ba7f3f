"""A private Open vSwitch for one emulation: ovsdb-server and ovs-vswitchd in their own folder.

The same technique as ``scripts/ovs.sh`` (which the tests use), in library code so an installed
Jobber can run ``jobber emulate``: database, sockets, pid files and logs live under one folder
whose name starts with ``jb``; userspace TSO is switched on before ovs-vswitchd starts (without
it TCP through the userspace datapath fails on bad checksums, see /work/shared/NETLAB.md); the
bridges use the userspace (``netdev``) datapath because the kernel has no OVS module.

Invariants: ``start`` never touches an Open vSwitch it did not start (it refuses a folder whose
daemons are alive); ``stop`` signals only the PIDs in its own pid files, then removes the folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jobber.errors import JobberError

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
DAEMONS = ("ovs-vswitchd", "ovsdb-server")  # stopped in this order


class EmulationError(JobberError):
    """The emulated network could not be built, run or removed."""


def missing_tools() -> list[str]:
    """Programs the emulation needs that are not installed (``make emulate-deps``)."""
    tools = ("ovs-vswitchd", "ovsdb-server", "ovsdb-tool", "ovs-vsctl", "ovs-ofctl", "ip", "nft",
             "ping", "iperf3", "ulogd", "ssh", "ssh-keygen")
    found = [t for t in tools if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]
    if not SCHEMA.exists() and "ovs-vswitchd" not in found:
        found.append("openvswitch schema")
    if not Path("/usr/sbin/sshd").exists():
        found.append("sshd")
    return found


@dataclass(slots=True)
class PrivateSwitch:
    folder: Path
    started: bool = False

    @property
    def env(self) -> dict[str, str]:
        return {"OVS_RUNDIR": str(self.folder / "run"), "OVS_LOGDIR": str(self.folder / "log"),
                "OVS_DBDIR": str(self.folder / "db"), "OVS_SYSCONFDIR": str(self.folder / "etc")}

    def _run(self, *argv: str, timeout: float = 30.0) -> None:
        try:
            subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **self.env})
        except subprocess.CalledProcessError as exc:
            raise EmulationError(f"{argv[0]} failed: {exc.stderr.strip()[-300:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EmulationError(f"{argv[0]} did not finish in {timeout:g} s") from exc

    def start(self) -> None:
        if not self.folder.name.startswith("jb"):
            raise EmulationError(f"{self.folder}: the switch's folder must be named jb*")
        if any(self._pid(d) for d in DAEMONS):
            raise EmulationError(f"{self.folder}: an Open vSwitch already runs there")
        run, db = self.folder / "run", self.folder / "db" / "conf.db"
        for sub in ("run", "log", "db", "etc"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.started = True  # from here on, stop() has something to clean
        self._run("ovsdb-tool", "create", str(db), str(SCHEMA))
        sock = f"unix:{run}/db.sock"
        self._run("ovsdb-server", str(db), f"--remote=p{sock}", f"--pidfile={run}/ovsdb-server.pid",
                  f"--unixctl={run}/ovsdb-server.ctl",
                  f"--log-file={self.folder}/log/ovsdb-server.log", "--detach", "--no-chdir")
        self._run("ovs-vsctl", f"--db={sock}", "--no-wait", "init")
        self._run("ovs-vsctl", f"--db={sock}", "--no-wait", "set", "Open_vSwitch", ".",
                  "other_config:userspace-tso-enable=true")
        self._run("ovs-vswitchd", sock, f"--pidfile={run}/ovs-vswitchd.pid",
                  f"--unixctl={run}/ovs-vswitchd.ctl",
                  f"--log-file={self.folder}/log/ovs-vswitchd.log", "--detach", "--no-chdir")

    def _pid(self, daemon: str) -> int | None:
        """The daemon's PID from its own pid file, if that process is alive."""
        try:
            pid = int((self.folder / "run" / f"{daemon}.pid").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def stop(self) -> None:
        if not self.started:
            return
        for daemon in DAEMONS:
            pid = self._pid(daemon)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + 5
            while time.monotonic() < end and self._pid(daemon) == pid:
                time.sleep(0.05)
            if self._pid(daemon) == pid:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.started = False

    def pids(self) -> list[int]:
        return [p for d in DAEMONS if (p := self._pid(d)) is not None]
