"""A small network lab for integration tests: a private Open vSwitch, a `jbr-*` bridge, hosts
in `jb-*` network namespaces, a middlebox namespace, and the Jobber controller as a process.

Everything it creates is recorded and removed by ``close`` (also after a failure); it stops only
the processes it started, by PID, and the private OVS only if it started it. Addresses inside the
namespaces come from 10.97.0.0/16 only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OVS_SCRIPT = ROOT / "scripts" / "ovs.sh"
FLOW = re.compile(r"cookie=(0x[0-9a-f]+).*?table=(\d+), n_packets=(\d+).*?priority=(\d+)"
                  r"(?:,([^ ]*))? actions=(\S+)")


def missing_prerequisites() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, veths, Open vSwitch)"
    for tool in ("ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-ofctl", "ip", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make netlab installs it)"
    return None


@dataclass
class Flow:
    cookie: int
    table: int
    packets: int
    priority: int
    match: str
    actions: str


@dataclass
class Netlab:
    folder: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    env: dict[str, str] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_ovs: bool = False
    bridge: str = ""
    ovs_dir: str = ""

    def run(self, *argv: str, ns: str | None = None, check: bool = True,
            timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
        return subprocess.run(full, check=check, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **self.env})

    # --- building -----------------------------------------------------------------------------

    def start_switch(self, controller_port: int, dpid: int) -> None:
        self.ovs_dir = f"/tmp/jbovs-{self.tag}"
        out = subprocess.run([str(OVS_SCRIPT), "start"], check=True, capture_output=True,
                             text=True, timeout=60, env={**os.environ,
                                                         "JB_OVS_DIR": self.ovs_dir})
        self.started_ovs = True
        key, _, value = out.stdout.strip().partition("=")
        self.env = {key: value}
        self.bridge = f"jbr-{self.tag}"
        self.run("ovs-vsctl", "add-br", self.bridge, "--", "set", "bridge", self.bridge,
                 "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
                 f"other-config:datapath-id={dpid:016x}", "--", "set-controller", self.bridge,
                 f"tcp:127.0.0.1:{controller_port}", "--", "set", "controller", self.bridge,
                 "max_backoff=1000")

    def _veth(self, outside: str, inside: str, ns: str, port: int) -> None:
        self.run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside, "netns",
                 ns)
        self.run("ip", "link", "set", outside, "up")
        self.run("ovs-vsctl", "add-port", self.bridge, outside, "--", "set", "interface",
                 outside, f"ofport_request={port}")

    def _namespace(self, name: str) -> str:
        ns = f"jb-{self.tag}-{name}"
        self.run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        self.run("ip", "link", "set", "lo", "up", ns=ns)
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        return ns

    def add_host(self, name: str, ip: str, mac: str, port: int) -> str:
        assert ip.startswith("10.97."), "namespaces use 10.97.0.0/16 only"
        ns = self._namespace(name)
        self._veth(f"jb{self.tag}{name}", "eth0", ns, port)
        self.run("ip", "link", "set", "eth0", "address", mac, "up", ns=ns)
        self.run("ip", "addr", "add", f"{ip}/16", "dev", "eth0", ns=ns)
        return ns

    def add_middlebox(self, in_port: int, out_port: int) -> str:
        """A bump in the wire: two veths bridged by a Linux bridge that does not learn MACs."""
        ns = self._namespace("mb")
        self._veth(f"jb{self.tag}mi", "in", ns, in_port)
        self._veth(f"jb{self.tag}mo", "out", ns, out_port)
        self.run("ip", "link", "add", "br0", "type", "bridge", "ageing_time", "0", ns=ns)
        for dev in ("in", "out"):
            self.run("ip", "link", "set", dev, "master", "br0", "up", ns=ns)
        self.run("ip", "link", "set", "br0", "up", ns=ns)
        return ns

    def spawn(self, argv: list[str], log: Path, ns: str | None = None) -> subprocess.Popen[bytes]:
        full = ["ip", "netns", "exec", ns, *argv] if ns else argv
        with log.open("ab") as out:
            process = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def start_controller(self, config: Path) -> subprocess.Popen[bytes]:
        return self.spawn([sys.executable, "-m", "jobber.cli.main", "controller", "run",
                           "--config", str(config)], self.folder / "controller.log")

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        return process.returncode

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        for ns in reversed(self.namespaces):  # its veths go with it
            self.run("ip", "netns", "delete", ns, check=False)
        if self.bridge:
            self.run("ovs-vsctl", "--if-exists", "del-br", self.bridge, check=False)
        if self.started_ovs:
            subprocess.run([str(OVS_SCRIPT), "stop"], check=False, capture_output=True,
                           timeout=60, env={**os.environ, "JB_OVS_DIR": self.ovs_dir})

    # --- looking ------------------------------------------------------------------------------

    def flows(self, table: int | None = None) -> list[Flow]:
        argv = ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", self.bridge]
        if table is not None:
            argv.append(f"table={table}")
        found = []
        for line in self.run(*argv).stdout.splitlines():
            m = FLOW.search(line)
            if m:
                found.append(Flow(int(m[1], 16), int(m[2]), int(m[3]), int(m[4]), m[5] or "",
                                  m[6]))
        return found

    def is_connected(self) -> bool:
        out = self.run("ovs-vsctl", "get", "controller", self.bridge, "is_connected").stdout
        return out.strip() == "true"

    def counters(self, ns: str, dev: str) -> dict[str, Any]:
        data = json.loads(self.run("ip", "-s", "-j", "link", "show", "dev", dev, ns=ns).stdout)
        stats: dict[str, Any] = data[0]["stats64"]
        return stats

    def ping(self, ns: str, ip: str, count: int = 3) -> bool:
        done = self.run("ping", "-c", str(count), "-i", "0.2", "-W", "1", ip, ns=ns, check=False)
        return done.returncode == 0

    def wait(self, check: Any, seconds: float, step: float = 0.05) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if check():
                return True
            time.sleep(step)
        return False
