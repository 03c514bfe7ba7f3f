"""Bounded clients run inside the tenants' namespaces: traffic, measurements and attacks.

Each function runs one program in a host's namespace through ``Network.run`` (argv, timeout)
and returns plain numbers. Every loop here is bounded twice: by a count and by a deadline.

* ``ping`` — round-trip times (``ping -c N -i 0.05``), ``first_reply`` — the first packet's.
* ``iperf3`` — throughput (``iperf3 -c … -J``), optionally capped with ``-b`` so a long run
  during the attack leaves CPU to the rest of the data center on a two-core machine.
* ``http_get`` — one honest request (Python's urllib; the server is ``http.server``).
* ``port_scan`` — a TCP connect scan: non-blocking connects to ``count`` ports at once, answers
  collected for at most ``wait`` seconds, then every socket closed.
* ``ssh_brute_force`` — ``count`` logins as root with a key the target does not know
  (``ssh -o BatchMode=yes``): each one is a ``Failed publickey`` line in the target's auth log.
* ``cpu_seconds`` / ``settle`` — how busy the run's own Jobber processes are (servers, provider,
  controller, sensors: the Python processes whose command line names the run's folder), so the
  throughput runs start only once they are quiet and each run's background load is on record.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jobber.emu.network import Network

_RTT = re.compile(rb"time=([\d.]+) ms")

_SCAN = """
import selectors, socket, sys, time, errno
ip, count, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
sel, socks, opened, refused = selectors.DefaultSelector(), [], 0, 0
for port in range(1, count + 1):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex((ip, port)); socks.append(s); sel.register(s, selectors.EVENT_WRITE, port)
end = time.monotonic() + wait
while sel.get_map() and time.monotonic() < end:
    for key, _ in sel.select(max(0.0, end - time.monotonic())):
        err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        opened += err == 0; refused += err == errno.ECONNREFUSED; sel.unregister(key.fileobj)
for s in socks: s.close()
print(opened, refused, count - opened - refused)
"""


@dataclass(frozen=True, slots=True)
class Rtt:
    sent: int
    replies: list[float]  # milliseconds

    @property
    def median(self) -> float | None:
        if not self.replies:
            return None
        ordered = sorted(self.replies)
        return ordered[len(ordered) // 2]


def ping(net: Network, src: str, ip: str, count: int = 10, interval: float = 0.05,
         wait: float = 1.0) -> Rtt:
    done = net.run("ping", "-n", "-c", str(count), "-i", f"{interval:g}", "-W", f"{wait:g}", ip,
                   ns=net.ns(src), check=False, timeout=count * (interval + wait) + 5)
    return Rtt(count, [float(m) for m in _RTT.findall(done.stdout.encode())])


def first_reply(net: Network, src: str, ip: str, wait: float = 5.0) -> float | None:
    """Milliseconds until the first reply of a single ping (the flow-setup time included)."""
    got = ping(net, src, ip, count=1, wait=wait)
    return got.replies[0] if got.replies else None


def reaches(net: Network, src: str, ip: str, count: int = 2) -> bool:
    return bool(ping(net, src, ip, count=count, interval=0.2, wait=1.0).replies)


def iperf3(net: Network, src: str, ip: str, seconds: float,
           bitrate: str | None = None) -> float | None:
    """Mbit/s the receiver got, or ``None`` when the test failed."""
    argv = ["iperf3", "-c", ip, "-p", "5201", "-t", f"{seconds:g}", "-J", "--connect-timeout",
            "3000"]
    if bitrate:
        argv += ["-b", bitrate]
    done = net.run(*argv, ns=net.ns(src), check=False, timeout=seconds + 15)
    try:
        result = json.loads(done.stdout)
        bps = float(result["end"]["sum_received"]["bits_per_second"])
    except (ValueError, KeyError, TypeError):
        return None
    return bps / 1e6


def http_get(net: Network, src: str, ip: str, timeout: float = 5.0) -> bool:
    code = ("import sys, urllib.request\n"
            f"r = urllib.request.urlopen('http://{ip}/', timeout={timeout:g})\n"
            "sys.exit(0 if r.status == 200 and r.read() else 1)\n")
    return net.run(sys.executable, "-c", code, ns=net.ns(src), check=False,
                   timeout=timeout + 5).returncode == 0


def tcp_connects(net: Network, src: str, ip: str, port: int, timeout: float = 2.0) -> bool:
    code = (f"import socket; socket.create_connection(('{ip}', {port}), {timeout:g}).close()")
    return net.run(sys.executable, "-c", code, ns=net.ns(src), check=False,
                   timeout=timeout + 5).returncode == 0


@dataclass(frozen=True, slots=True)
class ScanResult:
    started: float
    ended: float
    open: int
    refused: int
    silent: int  # dropped on the way: no answer at all


def port_scan(net: Network, src: str, ip: str, count: int, wait: float = 1.5) -> ScanResult:
    started = time.time()
    done = net.run(sys.executable, "-c", _SCAN, ip, str(count), f"{wait:g}", ns=net.ns(src),
                   check=False, timeout=wait + 10)
    parts = [int(x) for x in done.stdout.split()] if done.returncode == 0 else []
    opened, refused, silent = parts if len(parts) == 3 else (0, 0, count)
    return ScanResult(started, time.time(), opened, refused, silent)


@dataclass(frozen=True, slots=True)
class BruteForce:
    started: float
    ended: float
    attempts: int
    refused_auth: int  # the server answered and refused the key


def ssh_key(net: Network, folder: Path) -> Path:
    key = folder / "attacker_key"
    if not key.exists():
        net.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    return key


def ssh_brute_force(net: Network, src: str, ip: str, count: int, key: Path,
                    deadline: float = 30.0) -> BruteForce:
    started = time.time()
    end, attempts, refused = time.monotonic() + deadline, 0, 0
    for _ in range(count):
        if time.monotonic() > end:
            break
        done = net.run("ssh", "-i", str(key), "-o", "BatchMode=yes", "-o",
                       "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                       "ConnectTimeout=2", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
                       f"root@{ip}", "true", ns=net.ns(src), check=False, timeout=10)
        attempts += 1
        refused += "Permission denied" in done.stderr
    return BruteForce(started, time.time(), attempts, refused)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(marker: str) -> float:
    """CPU seconds used so far by the live Python processes whose command line contains
    ``marker``."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if b"python" in Path(os.fsdecode(argv[0])).name.encode() and \
                any(marker.encode() in a for a in argv):
            fields = stat[stat.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def settle(marker: str, below: float = 0.15, window: float = 0.5,
           seconds: float = 20.0) -> tuple[float, float]:
    """Wait until those processes use less than ``below`` of one core over ``window`` seconds,
    at most ``seconds``; returns (seconds waited, their last load in cores)."""
    start = time.monotonic()
    load = math.inf
    while time.monotonic() - start < seconds:
        before, t0 = cpu_seconds(marker), time.monotonic()
        time.sleep(window)
        load = (cpu_seconds(marker) - before) / (time.monotonic() - t0)
        if load < below:
            break
    return time.monotonic() - start, load
