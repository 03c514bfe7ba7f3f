"""Benchmark the Jobber OpenFlow controller against a plain learning switch, in one run.

An OpenFlow 1.3 load generator written for this project plays several fake switches over TCP on
127.0.0.1 (HELLO, FEATURES_REPLY, PORT_DESC and FLOW stats replies, ECHO both ways, BARRIER) and
then sends PACKET_INs for new flows, each answered by FLOW_MODs and a PACKET_OUT of the same
packet; the latency is PACKET_IN sent → that PACKET_OUT received (the FLOW_MODs come before it on
the same connection, so this bounds Packet-In→Flow-Mod from above). For Jobber a new flow is a
tenant pair the switch has no decision for (table 2 miss); when its decision flows arrive the
fake switch at once sends FLOW_REMOVED for them (idle, no traffic: no interaction report), so
the pair can be set up again. For the plain app (os-ken's simple_switch_13 logic, written here
for the comparison) a new flow is a (source MAC, destination MAC) pair between learned hosts.

Runs: Jobber with decisions already granted (warmed up through real Jobber servers, Cluster),
Jobber with fresh introductions (each pair negotiated for the first time), the plain app; each
at light load (one switch, one packet in flight: latency) and saturating load (every switch
with a window of packets in flight: throughput); then each app at twice its saturating rate,
open loop, watching for switch disconnections (closed connection, or an ECHO unanswered 5 s).

``--quick`` keeps it under a minute; ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobber.enforce.openflow.packet import ipv4
from jobber.server.cluster import Cluster, free_port

HDR = struct.Struct("!BBHI")
HELLO, ECHO_REQ, ECHO_REP, FEAT_REQ, FEAT_REP, PACKET_IN, FLOW_REMOVED = 0, 2, 3, 5, 6, 10, 11
PACKET_OUT, FLOW_MOD, MP_REQ, MP_REP, BARRIER_REQ, BARRIER_REP = 13, 14, 18, 19, 20, 21
PORTS = [1, 2, 3, 4, 99, 100]  # 99/100: the middlebox


def msg(kind: int, xid: int, body: bytes = b"") -> bytes:
    return HDR.pack(4, kind, 8 + len(body), xid) + body


def in_port_match(port: int) -> bytes:
    oxm = struct.pack("!IHH", 0x80000004, 0, 0)[:4] + struct.pack("!I", port)
    body = struct.pack("!HH", 1, 4 + len(oxm)) + oxm
    return body + b"\0" * (-len(body) % 8)


def port_desc(port: int) -> bytes:
    return struct.pack("!I4x6s2x16sIIIIIIII", port, bytes([2, 0, 0, 0, 0, port % 256]),
                       f"p{port}".encode(), 0, 4, 0, 0, 0, 0, 0, 0)


@dataclass
class Switch:
    dpid: int
    flows: list[bytes]  # packets, each a new flow
    window: int
    rate: float = 0.0  # open loop packets/s (0: closed loop)
    jobber: bool = True
    once: bool = False  # each flow once (fresh introductions)
    sent: dict[bytes, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    answered: int = 0
    offered: int = 0
    disconnected: bool = False
    echo_worst: float = 0.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def run_switch(sw: Switch, port: int, seconds: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(msg(HELLO, 1))
    xid, echo_sent, idle = 100, 0.0, asyncio.Semaphore(sw.window)
    end = time.monotonic() + seconds

    async def read_loop() -> None:
        nonlocal echo_sent
        while True:
            head = await reader.readexactly(8)
            _, kind, length, mxid = HDR.unpack(head)
            body = await reader.readexactly(length - 8)
            if kind == FEAT_REQ:
                writer.write(msg(FEAT_REP, mxid, struct.pack("!QIBB2xII", sw.dpid, 0, 254, 0,
                                                             0x4F, 0)))
            elif kind == ECHO_REQ:
                writer.write(msg(ECHO_REP, mxid, body))
            elif kind == ECHO_REP:
                sw.echo_worst = max(sw.echo_worst, time.monotonic() - echo_sent)
                echo_sent = 0.0
            elif kind == BARRIER_REQ:
                writer.write(msg(BARRIER_REP, mxid))
            elif kind == MP_REQ:
                mp_type = struct.unpack("!H", body[:2])[0]
                reply = b"".join(port_desc(p) for p in PORTS) if mp_type == 13 else b""
                writer.write(msg(MP_REP, mxid, struct.pack("!HH4x", mp_type, 0) + reply))
                if mp_type == 13:
                    sw.ready.set()
            elif kind == FLOW_MOD and sw.jobber:
                cookie, _, table, command, idle_t, hard_t, prio = struct.unpack(
                    "!QQBBHHH", body[:24])
                if table == 2 and prio == 100 and command == 0:  # a decision: let it idle out
                    writer.write(msg(FLOW_REMOVED, 7, struct.pack(
                        "!QHBBIIHHQQ", cookie, prio, 0, table, 1, 0, idle_t, hard_t, 0, 0)
                        + struct.pack("!HH4x", 1, 4)))
            elif kind == PACKET_OUT:
                data = body[16 + struct.unpack("!H", body[8:10])[0]:]
                started = sw.sent.pop(data, None)
                if started is not None:
                    sw.latencies.append(time.monotonic() - started)
                    sw.answered += 1
                    idle.release()

    reading = asyncio.create_task(read_loop())
    try:
        await asyncio.wait_for(sw.ready.wait(), 10)
        await asyncio.sleep(0.2)  # the controller lays its skeleton
        i, last_echo = 0, time.monotonic()
        opened = time.monotonic()
        while time.monotonic() < end and not reading.done():
            if sw.rate:  # open loop: send whatever is due, in bursts every millisecond
                if i >= sw.rate * (time.monotonic() - opened):
                    await asyncio.sleep(0.001)
                    continue
            else:
                try:
                    await asyncio.wait_for(idle.acquire(), max(0.0, end - time.monotonic()))
                except TimeoutError:
                    break
            if sw.once and i >= len(sw.flows):
                break
            data = sw.flows[i % len(sw.flows)]
            i += 1
            if data in sw.sent:
                continue  # still unanswered: not a new flow
            xid += 1
            sw.sent[data] = time.monotonic()
            sw.offered += 1
            table = 2 if sw.jobber else 0
            writer.write(msg(PACKET_IN, xid, struct.pack("!IHBBQ", 0xFFFFFFFF, len(data), 0,
                                                          table, 0)
                             + in_port_match(1 + i % 4) + b"\0\0" + data))
            if time.monotonic() - last_echo > 1.0:
                if echo_sent:
                    sw.echo_worst = max(sw.echo_worst, time.monotonic() - echo_sent)
                echo_sent = last_echo = time.monotonic()
                writer.write(msg(ECHO_REQ, xid))
        await asyncio.sleep(0.3)
        if echo_sent and time.monotonic() - echo_sent > 5:
            sw.disconnected = True
        sw.disconnected |= reading.done()
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        sw.disconnected = True
    finally:
        reading.cancel()
        writer.close()


def jobber_flows(tenants: list[str], offset: int) -> list[bytes]:
    out = []
    for a in range(len(tenants)):
        for b in range(a + 1, len(tenants)):
            out.append(ipv4("02:00:00:00:00:01", "02:00:00:00:00:02",
                            f"10.97.{offset + b}.1", f"10.97.{offset + a}.1"))
    return out


def plain_flows(n: int) -> list[bytes]:
    macs = [f"02:00:00:00:01:{i:02x}" for i in range(n)]
    return [ipv4(s, d, "10.97.0.1", "10.97.0.2") for s in macs for d in macs if s != d]


async def load(port: int, flows: list[list[bytes]], window: int, seconds: float, jobber: bool,
               rate: float = 0.0, base: int = 1, once: bool = False) -> dict[str, Any]:
    switches = [Switch(base + i, f, window, rate, jobber, once) for i, f in enumerate(flows)]
    started = time.monotonic()
    await asyncio.gather(*(run_switch(s, port, seconds) for s in switches))
    lat = sorted(x for s in switches for x in s.latencies)
    took = time.monotonic() - started - 0.5
    answered = sum(s.answered for s in switches)
    offered = sum(s.offered for s in switches)
    return {"setups": answered, "per_s": answered / max(took, 1e-9),
            "offered_per_s": offered / max(took, 1e-9),
            "p50_ms": 1000 * statistics.median(lat) if lat else None,
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
            "disconnected": sum(s.disconnected for s in switches),
            "echo_worst_ms": 1000 * max(s.echo_worst for s in switches)}


def start(argv: list[str], log: Path, port: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), 0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"controller did not listen on {port}: see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plain-app", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_app:
        from plain_switch import run_plain  # type: ignore[import-not-found]

        run_plain(args.plain_app)
        return
    seconds = 4.0 if args.quick else 10.0
    switches, window = 4, 8
    granted, fresh = [f"g{i}" for i in range(8)], [f"f{i}" for i in range(8)]
    folder = Path(tempfile.mkdtemp(prefix="jb-bench-controller-"))
    results: dict[str, Any] = {"switches": switches, "window": window, "seconds": seconds}
    with Cluster(folder / "cluster", granted + fresh, processes=2, timeout=2.0) as cluster:
        port = free_port()
        inventory = {t: [f"10.97.{i}.0/24"] for i, t in enumerate(granted)}
        inventory |= {t: [f"10.97.{i + 20}.0/24"] for i, t in enumerate(fresh)}
        config = folder / "controller.yaml"
        config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{port}", "cluster": str(cluster.write_description()),
            "inventory": inventory, "packet_in_rate": 0,
            "middleboxes": [{"dpid": d, "in_port": 99, "out_port": 100}
                            for d in range(1, 200)]}))
        jobber = start([sys.executable, "-m", "jobber.cli.main", "controller", "run",
                        "--config", str(config), "--log-level", "WARNING"],
                       folder / "jobber.log", port)
        try:
            g_flows = jobber_flows(granted, 0)
            warm = asyncio.run(load(port, [g_flows], 4, 3.0, True, base=150))  # negotiates
            results["warmup_negotiated"] = warm["setups"]
            f_flows = jobber_flows(fresh, 20)
            results["fresh"] = asyncio.run(load(port, [f_flows[i::switches] for i in
                                                       range(switches)], 1, 3.0, True,
                                                base=100, once=True))
            results["jobber_light"] = asyncio.run(load(port, [g_flows], 1, seconds / 2, True))
            results["jobber_saturated"] = asyncio.run(load(
                port, [g_flows] * switches, window, seconds, True, base=10))
            # more switches than at saturation: a switch holds at most one packet per flow in
            # flight, so twice the load needs more flows in flight
            rate = 2 * results["jobber_saturated"]["per_s"] / (3 * switches)
            results["jobber_overload"] = asyncio.run(load(
                port, [g_flows] * (3 * switches), 10_000, seconds, True, rate=rate, base=20))
        finally:
            stop(jobber)
    plain_port = free_port()
    plain = start([sys.executable, str(Path(__file__).resolve()), "--plain-app",
                   str(plain_port)], folder / "plain.log", plain_port)
    try:
        p_flows = plain_flows(9)  # 72 (src, dst) pairs
        results["plain_light"] = asyncio.run(load(plain_port, [p_flows], 1, seconds / 2, False))
        results["plain_saturated"] = asyncio.run(load(
            plain_port, [p_flows] * switches, window, seconds, False, base=10))
        rate = 2 * results["plain_saturated"]["per_s"] / (3 * switches)
        results["plain_overload"] = asyncio.run(load(
            plain_port, [p_flows] * (3 * switches), 10_000, seconds, False, rate=rate,
            base=20))
    finally:
        stop(plain)
    js, ps = results["jobber_saturated"], results["plain_saturated"]
    ratio = js["per_s"] / ps["per_s"] if ps["per_s"] else 0.0
    results["throughput_ratio"] = ratio
    results["targets"] = {
        "throughput_ratio>=0.8": ratio >= 0.8,
        "p50_light<=1ms": (results["jobber_light"]["p50_ms"] or 1e9) <= 1.0,
        "no_disconnect_at_2x": results["jobber_overload"]["disconnected"] == 0
        and results["jobber_overload"]["offered_per_s"] >= 1.9 * js["per_s"],
    }
    for name in ("fresh", "jobber_light", "jobber_saturated", "jobber_overload", "plain_light",
                 "plain_saturated", "plain_overload"):
        r = results[name]
        print(f"{name:>17}: {r['setups']:6d} setups  {r['per_s']:6.0f}/s (offered "
              f"{r['offered_per_s']:6.0f}/s)  p50 "
              f"{r['p50_ms'] or 0:7.2f} ms  p99 {r['p99_ms'] or 0:7.2f} ms  disconnected "
              f"{r['disconnected']}  worst echo {r['echo_worst_ms']:.0f} ms")
    print(f"Jobber (granted) / plain learning switch throughput: {ratio:.2f}  "
          f"(fresh introductions / granted p50: "
          f"{(results['fresh']['p50_ms'] or 0) / (results['jobber_light']['p50_ms'] or 1):.0f}x)")
    for target, met in results["targets"].items():
        print(f"  {target}: {'met' if met else 'MISSED'}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
