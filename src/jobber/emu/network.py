"""The builder: makes a ``Topology`` real with namespaces, veths, Open vSwitch and processes.

``Network`` creates, in order, a private Open vSwitch (``ovs.PrivateSwitch``), one bridge on the
userspace datapath that a controller drives (``jbr-<tag>``), one namespace per host
(``jb-<tag>-<host>``, its veth ``jb<tag><host>`` on the bridge at the topology's port), the
security-stack namespace (``jb-<tag>-mb``: two veths joined by a Linux bridge), and the no-Jobber
pair: two namespaces whose ports the bridge joins by two plain flows that Jobber never touches
(their cookie is not Jobber's), so the baseline is measured on the same switch and veths.

Invariants:

* everything it creates carries the run's tag and a ``jb`` prefix, and is recorded before use;
  ``close`` removes exactly that (processes it started, by PID; its namespaces, links, bridge and
  switch) and returns what it could not remove; it is idempotent and never raises;
* addresses inside the namespaces come from the topology, which keeps them in 10.97.0.0/16;
  nothing listens outside the namespaces except on loopback;
* argv lists only; each command has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from jobber.emu.ovs import EmulationError, PrivateSwitch
from jobber.emu.topology import MIDDLEBOX_PORTS, Host

BASELINE_COOKIE = 0xBB00000000000001  # top byte is not Jobber's 0x4A: the controller leaves it


@dataclass
class Network:
    folder: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    switch: PrivateSwitch | None = None
    bridge: str = ""
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"jb-{self.tag}-{name}"

    def run(self, *argv: str, ns: str | None = None, check: bool = True,
            timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
        env = {**os.environ, **(self.switch.env if self.switch else {})}
        try:
            done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise EmulationError(f"{' '.join(full[:6])}: no answer in {timeout:g} s") from exc
        if check and done.returncode != 0:
            raise EmulationError(f"{' '.join(full)}: {done.stderr.strip()[-300:]}")
        return done

    # --- building -----------------------------------------------------------------------------

    def start_switch(self, dpid: int, controller_port: int) -> None:
        self.switch = PrivateSwitch(Path(f"/tmp/jbemu-{self.tag}"))
        self.switch.start()
        self.bridge = f"jbr-{self.tag}"
        self.run("ovs-vsctl", "add-br", self.bridge, "--", "set", "bridge", self.bridge,
                 "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
                 f"other-config:datapath-id={dpid:016x}", "--", "set-controller", self.bridge,
                 f"tcp:127.0.0.1:{controller_port}", "--", "set", "controller", self.bridge,
                 "max_backoff=1000")
        mgmt = self.switch.folder / "run" / f"{self.bridge}.mgmt"
        end = time.monotonic() + 15  # ovs-vswitchd opens the bridge's socket a moment later
        while not mgmt.exists():
            if time.monotonic() > end:
                raise EmulationError(f"{self.bridge}: Open vSwitch opened no {mgmt}")
            time.sleep(0.05)

    def _namespace(self, name: str) -> str:
        ns = self.ns(name)
        self.namespaces.append(ns)
        self.run("ip", "netns", "add", ns)
        self.run("ip", "link", "set", "lo", "up", ns=ns)
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
        self.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        return ns

    def _veth(self, outside: str, inside: str, ns: str, port: int) -> None:
        self.links.append(outside)
        self.run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", ns)
        self.run("ip", "link", "set", outside, "up")
        self.run("ovs-vsctl", "add-port", self.bridge, outside, "--", "set", "interface",
                 outside, f"ofport_request={port}")

    def add_host(self, host: Host, port: int) -> str:
        if not host.ip.startswith("10.97."):
            raise EmulationError(f"{host.name}: namespaces use 10.97.0.0/16 only")
        ns = self._namespace(host.name)
        self._veth(f"jb{self.tag}{host.name}", "eth0", ns, port)
        self.run("ip", "link", "set", "eth0", "address", host.mac, "up", ns=ns)
        self.run("ip", "addr", "add", f"{host.ip}/16", "dev", "eth0", ns=ns)
        return ns

    def add_middlebox(self) -> str:
        """A bump in the wire: two veths bridged by a Linux bridge that does not learn MACs, with
        bridged IPv4 handed to this namespace's nftables (``bridge-nf-call-iptables`` is per
        namespace), so a stateful inet-family firewall sees it."""
        ns = self._namespace("mb")
        self._veth(f"jb{self.tag}mi", "in", ns, MIDDLEBOX_PORTS[0])
        self._veth(f"jb{self.tag}mo", "out", ns, MIDDLEBOX_PORTS[1])
        self.run("ip", "link", "add", "br0", "type", "bridge", "ageing_time", "0", ns=ns)
        for dev in ("in", "out"):
            self.run("ip", "link", "set", dev, "master", "br0", "up", ns=ns)
        self.run("ip", "link", "set", "br0", "up", ns=ns)
        self.run("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1", ns=ns)
        return ns

    def add_baseline(self, a: Host, b: Host, ports: tuple[int, int]) -> None:
        """The no-Jobber path: two hosts joined port to port by two flows in table 0."""
        self.add_host(a, ports[0])
        self.add_host(b, ports[1])
        for src, dst in (ports, ports[::-1]):
            self.run("ovs-ofctl", "-O", "OpenFlow13", "add-flow", self.bridge,
                     f"cookie={BASELINE_COOKIE:#x},table=0,priority=1000,in_port={src},"
                     f"actions=output:{dst}")

    def spawn(self, argv: list[str], log: Path, ns: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a process (in ``ns``), in its own session so a terminal's Ctrl-C reaches only
        the runner, which then stops it here, by PID."""
        full = ["ip", "netns", "exec", ns, *argv] if ns else argv
        with log.open("ab") as out:
            process = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       env={**os.environ, **(env or {})})
        self.processes.append(process)
        return process

    # --- looking ------------------------------------------------------------------------------

    def is_connected(self) -> bool:
        out = self.run("ovs-vsctl", "get", "controller", self.bridge, "is_connected",
                       check=False).stdout
        return out.strip() == "true"

    def counters(self, ns: str, dev: str) -> dict[str, int]:
        data = json.loads(self.run("ip", "-s", "-j", "link", "show", "dev", dev, ns=ns).stdout)
        tx: dict[str, int] = data[0]["stats64"]["tx"]
        return tx

    # --- removing -----------------------------------------------------------------------------

    @staticmethod
    def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def close(self) -> list[str]:
        """Remove everything this network created; returns what is left (empty when clean)."""
        for process in reversed(self.processes):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self.stop(process)
        for ns in reversed(self.namespaces):  # its veths go with it
            self.run("ip", "netns", "delete", ns, check=False)
        for link in self.links:  # the kernel removes a veth's peer asynchronously
            if self._has_link(link):
                self.run("ip", "link", "delete", link, check=False)
        if self.bridge and self.switch is not None and self.switch.started:
            self.run("ovs-vsctl", "--if-exists", "del-br", self.bridge, check=False)
        if self.switch is not None:
            self.switch.stop()
        end = time.monotonic() + 10
        while time.monotonic() < end and self.leftovers():
            time.sleep(0.1)
        return self.leftovers()

    def _has_link(self, name: str) -> bool:
        return Path("/sys/class/net", name).exists()

    def leftovers(self) -> list[str]:
        """What of this run is still on the machine: namespaces, links, processes, the switch."""
        left = [f"namespace {n}" for n in _namespaces() if n.startswith(f"jb-{self.tag}-")]
        left += [f"link {n}" for n in os.listdir("/sys/class/net")
                 if n.startswith((f"jb{self.tag}", f"jbr-{self.tag}"))]
        left += [f"process {p.pid}" for p in self.processes if p.poll() is None]
        if self.switch is not None:
            left += [f"process {pid} (Open vSwitch)" for pid in self.switch.pids()]
            if self.switch.folder.exists():
                left.append(f"folder {self.switch.folder}")
        return left


def _namespaces() -> list[str]:
    try:
        return os.listdir("/run/netns")
    except FileNotFoundError:
        return []
