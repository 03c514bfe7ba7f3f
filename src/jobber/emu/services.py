"""Honest services in the tenants' namespaces, and the sensor agents that watch them.

* HTTP: ``python -m http.server 80 --bind <host address>`` serving a small folder.
* SSH: Debian's OpenSSH, ``/usr/sbin/sshd -D -f <config> -E <raw log>``, with its own host key
  generated into the run's folder, public-key authentication only (nobody's key is authorised:
  every login fails, as a brute force should), ``LogLevel VERBOSE`` so each refused key is
  logged as ``Failed publickey for …`` — an ``auth.failure`` of confidence 1.0 for the parser.
* iperf3: ``iperf3 -s -B <host address>``.
* Sensors: one ``jobber sensor run`` agent per tenant, following the tenant's security-stack log
  (``netfilter``) and its hosts' sshd logs (``sshd``), pushing to the tenant's Jobber server.

``sshd -E`` writes bare messages (no time, host or program), which no syslog parser can place;
``SshdLogRelay`` adds ISO-8601 syslog framing (``<time> <host> sshd[<pid>]: <message>``) line
by line into the auth log the agent follows, as a syslog daemon would.

Invariants: every server binds its host's 10.97.0.0/16 address inside its namespace; every
process is started through ``Network.spawn`` (recorded, stopped by PID); the relay is one thread
with a stop flag that reads at most a bounded amount per poll.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from jobber.emu.network import Network
from jobber.emu.ovs import EmulationError
from jobber.emu.topology import SERVICE_PORTS, Host, Service, Topology

PRIVSEP = Path("/run/sshd")  # sshd refuses to start without its privilege-separation folder


def start_http(net: Network, host: Host, folder: Path) -> None:
    root = folder / "www" / host.name
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(f"<p>{host.name} of {host.tenant}</p>\n" + "x" * 4000)
    net.spawn([sys.executable, "-m", "http.server", "80", "--bind", host.ip, "--directory",
               str(root)], folder / f"http-{host.name}.log", ns=net.ns(host.name))


def start_iperf3(net: Network, host: Host, folder: Path) -> None:
    net.spawn(["iperf3", "-s", "-B", host.ip, "-p", "5201"], folder / f"iperf3-{host.name}.log",
              ns=net.ns(host.name))


def sshd_config(host: Host, folder: Path) -> str:
    return "\n".join([
        "Port 22", f"ListenAddress {host.ip}", f"HostKey {folder / 'host_key'}",
        f"PidFile {folder / 'sshd.pid'}", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", "StrictModes no",
        "PermitRootLogin prohibit-password", "MaxAuthTries 3", "MaxStartups 100",
        "LoginGraceTime 10", "LogLevel VERBOSE", "UseDNS no", ""])


def start_sshd(net: Network, host: Host, folder: Path) -> Path:
    """Start sshd for ``host``; returns its raw (``-E``) log."""
    here = folder / "ssh" / host.name
    here.mkdir(parents=True, exist_ok=True)
    net.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(here / "host_key"))
    (here / "authorized_keys").write_text("")
    (here / "sshd_config").write_text(sshd_config(host, here))
    PRIVSEP.mkdir(mode=0o755, exist_ok=True)
    raw = here / "sshd.raw.log"
    net.spawn(["/usr/sbin/sshd", "-D", "-f", str(here / "sshd_config"), "-E", str(raw)],
              here / "sshd.out", ns=net.ns(host.name))
    return raw


class SshdLogRelay:
    """Frames the bare lines of several ``sshd -E`` logs into syslog lines, one thread."""

    def __init__(self, poll: float = 0.1) -> None:
        self.poll = poll
        self.sources: list[tuple[Path, Path, str]] = []  # raw log, framed log, host name
        self.offsets: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jb-sshd-relay", daemon=True)

    def add(self, raw: Path, framed: Path, host: str) -> None:
        framed.touch()
        self.sources.append((raw, framed, host))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.relay_once()

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            self.relay_once()

    def relay_once(self) -> None:
        for raw, framed, host in self.sources:
            try:
                with raw.open("rb") as src:
                    src.seek(self.offsets.get(raw, 0))
                    data = src.read(1 << 20)
            except FileNotFoundError:
                continue
            complete = data[:data.rfind(b"\n") + 1]
            if not complete:
                continue
            self.offsets[raw] = self.offsets.get(raw, 0) + len(complete)
            pid = _pid(raw.parent / "sshd.pid")
            stamp = datetime.now(UTC).astimezone().isoformat(timespec="microseconds")
            lines = [f"{stamp} {host} sshd[{pid}]: {line.decode(errors='replace').rstrip()}\n"
                     for line in complete.splitlines() if line.strip()]
            with framed.open("a", encoding="utf-8") as out:
                out.writelines(lines)


def _pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def start_services(net: Network, topo: Topology, folder: Path,
                   relay: SshdLogRelay) -> dict[str, list[Path]]:
    """Every host's services; returns tenant → the framed sshd logs of its hosts."""
    auth: dict[str, list[Path]] = {t.name: [] for t in topo.tenants}
    for host in topo.hosts:
        if Service.HTTP in host.services:
            start_http(net, host, folder)
        if Service.IPERF3 in host.services:
            start_iperf3(net, host, folder)
        if Service.SSH in host.services:
            raw = start_sshd(net, host, folder)
            framed = folder / "ssh" / host.name / "auth.log"
            relay.add(raw, framed, host.name)
            auth[host.tenant].append(framed)
    relay.start()
    return auth


def wait_listening(net: Network, topo: Topology, seconds: float = 10.0) -> None:
    """Until every service answers a TCP connect from inside its own namespace."""
    end = time.monotonic() + seconds
    for host in topo.hosts:
        for service in host.services:
            while True:
                probe = (f"import socket; socket.create_connection(('{host.ip}', "
                         f"{SERVICE_PORTS[service]}), 0.5).close()")
                if net.run(sys.executable, "-c", probe, ns=net.ns(host.name),
                           check=False).returncode == 0:
                    break
                if time.monotonic() > end:
                    raise EmulationError(f"{host.name}: {service} does not listen; see "
                                         f"the logs in {net.folder}")
                time.sleep(0.1)


def write_agent(folder: Path, tenant: str, url: str, token: str, stack_log: Path,
                auth_logs: list[Path]) -> Path:
    """The sensor agent's config for ``tenant``."""
    sources = [{"file": str(stack_log), "format": "netfilter"}]
    sources += [{"file": str(p), "format": "sshd"} for p in auth_logs]
    path = folder / f"agent-{tenant}.yaml"
    path.write_text(yaml.safe_dump({
        "server": url, "token": token, "reporter": tenant,
        "state_dir": str(folder / f"state-{tenant}"), "poll_seconds": 0.2,
        "sources": sources}, sort_keys=False))
    path.chmod(0o600)
    return path


def start_agent(net: Network, config: Path, log: Path) -> None:
    net.spawn([sys.executable, "-m", "jobber.cli.main", "sensor", "run", "--config",
               str(config)], log)
