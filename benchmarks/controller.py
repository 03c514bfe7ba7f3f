"""Benchmark the Jobber OpenFlow controller against a plain learning switch, in one run.

An OpenFlow 1.3 load generator written for this project plays fake switches over TCP on
127.0.0.1 (HELLO, FEATURES_REPLY, PORT_DESC and FLOW stats replies, ECHO both ways, BARRIER),
spread over several processes (``--processes``, default 3, each an asyncio loop with its
switches) so that it can offer well past either controller's saturation. Switches send
PACKET_INs for new flows, each answered by FLOW_MODs and a PACKET_OUT of the same packet; the
latency is PACKET_IN sent → that PACKET_OUT received (the FLOW_MODs come first on the same
connection, so this bounds Packet-In→Flow-Mod from above). For Jobber a new flow is a tenant
pair the switch holds no decision for (table 2 miss); for the plain app (os-ken's
simple_switch_13 logic, ``plain_switch.py``) a (source MAC, destination MAC) pair.

Teardown, the same rule for both apps: a fake switch answers every FLOW_MOD ADD that sets
OFPFF_SEND_FLOW_REM with a FLOW_REMOVED at once (idle, no traffic). Only Jobber's DIRECT /
INSPECT flows ask for it (interaction-end reporting), so each Jobber setup costs two
FLOW_REMOVED in and one DELETE out on top of its two FLOW_MODs and PACKET_OUT; the removal
also lets the same pair be set up again. Two measurements therefore:

* ``saturated`` (with teardown): every switch keeps ``window`` packets in flight, cycling
  through its flows, for ``seconds``;
* ``setup_only`` (the setup path alone): switches that emit no FLOW_REMOVED send each flow
  once (a window in flight), timed from the common start to the last answer; best of 3
  (2 with ``--quick``).

Runs: Jobber with granted decisions (warmed through real Jobber servers, ``Cluster``; pairs
inside cliques of 4 tenants, as the provider throttles a tenant's probationary introductions),
Jobber with fresh introductions, then for each app: light load (one switch, one packet in
flight: latency), saturated, setup_only, and overload — twice the app's saturated rate, open
loop (packet-ins are sent when due, answered or not, as a switch does for a flow's further
packets), for ``seconds``, counting disconnections (connection closed, or an ECHO unanswered
5 s) and every ECHO round trip (one per switch each 0.5 s).

``--quick`` keeps it under a minute; ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobber.enforce.openflow.packet import ipv4
from jobber.server.cluster import Cluster, ClusterError, free_port
from jobber.types import TenantId

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
    window: int  # closed loop: packets in flight (0: open loop at ``rate``)
    rate: float = 0.0  # open loop: packet-ins/s, whether or not earlier ones were answered
    jobber: bool = True
    once: bool = False  # each flow once
    teardown: bool = True  # FLOW_REMOVED at once for every flow that asks for it
    sent: dict[bytes, list[float]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    echoes: list[float] = field(default_factory=list)
    answered: int = 0
    offered: int = 0
    mods: int = 0  # FLOW_MOD ADDs received while measuring
    removed: int = 0  # FLOW_REMOVEDs sent while measuring
    last: float = 0.0  # when the last answer came (wall clock)
    done: list[bytes] = field(default_factory=list)  # flows answered (``once``)
    disconnected: str = ""
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def run_switch(sw: Switch, port: int, start_at: float, seconds: float) -> None:
    """Handshake, wait for ``start_at`` (wall clock: switches in several processes start
    together), then send PACKET_INs for ``seconds`` and count what came back before the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(msg(HELLO, 1))
    xid, idle = 100, asyncio.Semaphore(max(sw.window, 1))
    echo_sent: dict[int, float] = {}
    end = start_at - time.time() + time.monotonic() + seconds
    measuring = False

    async def read_loop() -> None:
        while True:
            head = await reader.readexactly(8)
            _, kind, length, mxid = HDR.unpack(head)
            body = await reader.readexactly(length - 8)
            if kind == FEAT_REQ:
                writer.write(msg(FEAT_REP, mxid, struct.pack("!QIBB2xII", sw.dpid, 0, 254, 0,
                                                             0x4F, 0)))
            elif kind == ECHO_REQ:
                writer.write(msg(ECHO_REP, mxid, body))
            elif kind == ECHO_REP and mxid in echo_sent:
                sw.echoes.append(time.monotonic() - echo_sent.pop(mxid))
            elif kind == BARRIER_REQ:
                writer.write(msg(BARRIER_REP, mxid))
            elif kind == MP_REQ:
                mp_type = struct.unpack("!H", body[:2])[0]
                reply = b"".join(port_desc(p) for p in PORTS) if mp_type == 13 else b""
                writer.write(msg(MP_REP, mxid, struct.pack("!HH4x", mp_type, 0) + reply))
                if mp_type == 13:
                    sw.ready.set()
            elif kind == FLOW_MOD:
                cookie, _, table, command, idle_t, hard_t, prio = struct.unpack(
                    "!QQBBHHH", body[:24])
                flags = struct.unpack("!H", body[36:38])[0]
                if command == 0 and measuring:
                    sw.mods += 1
                if command == 0 and flags & 1 and sw.teardown:  # OFPFF_SEND_FLOW_REM
                    sw.removed += measuring  # it idles out at once (no traffic)
                    writer.write(msg(FLOW_REMOVED, 7, struct.pack(
                        "!QHBBIIHHQQ", cookie, prio, 0, table, 1, 0, idle_t, hard_t, 0, 0)
                        + struct.pack("!HH4x", 1, 4)))
            elif kind == PACKET_OUT:
                data = body[16 + struct.unpack("!H", body[8:10])[0]:]
                times = sw.sent.get(data)
                if times:
                    started = times.pop(0)
                    if not times:
                        del sw.sent[data]
                    now = time.monotonic()
                    if now < end:
                        sw.latencies.append(now - started)
                        sw.answered += 1
                        sw.last = time.time()
                        if sw.once:
                            sw.done.append(data)
                    if sw.window:
                        idle.release()

    reading = asyncio.create_task(read_loop())
    try:
        await asyncio.wait_for(sw.ready.wait(), 20)
        await asyncio.sleep(max(0.2, start_at - time.time()))  # the controller lays its skeleton
        measuring, i, opened = True, 0, time.monotonic()
        last_echo = opened
        while time.monotonic() < end and not reading.done():
            if time.monotonic() - last_echo > 0.5:
                xid += 1
                echo_sent[xid] = last_echo = time.monotonic()
                writer.write(msg(ECHO_REQ, xid))
            if not sw.window:  # open loop: send whatever is due, in bursts every millisecond
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
            if sw.window and data in sw.sent:
                idle.release()
                continue  # closed loop: still unanswered, not a new flow
            xid += 1
            sw.sent.setdefault(data, []).append(time.monotonic())
            sw.offered += 1
            writer.write(msg(PACKET_IN, xid, struct.pack(
                "!IHBBQ", 0xFFFFFFFF, len(data), 0, 2 if sw.jobber else 0, 0)
                + in_port_match(1 + i % 4) + b"\0\0" + data))
            if not sw.window and i % 64 == 0:
                await writer.drain()
        while sw.once and sw.sent and time.monotonic() < end and not reading.done() and \
                time.time() - max(sw.last, start_at) < 1.0:  # a DENY is never answered
            await asyncio.sleep(0.005)
        measuring = False
        drain_until = time.monotonic() + 3.0  # answers and echoes still queued
        while (echo_sent or sw.sent) and time.monotonic() < drain_until and not reading.done():
            await asyncio.sleep(0.02)
        late = [time.monotonic() - t for t in echo_sent.values()]
        if late and max(late) > 5:
            sw.disconnected = f"ECHO unanswered {max(late):.1f} s"
        if late:
            sw.echoes.append(max(late))  # at least this long
        if reading.done():
            sw.disconnected = "connection closed by the controller"
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        sw.disconnected = f"{type(exc).__name__}: {exc}"
    finally:
        reading.cancel()
        writer.close()


def run_group(port: int, specs: list[dict[str, Any]], start_at: float,
              seconds: float) -> list[dict[str, Any]]:
    """One generator process: its switches on one asyncio loop; their counts back as dicts."""
    switches = [Switch(**spec) for spec in specs]

    async def main() -> None:
        await asyncio.gather(*(run_switch(s, port, start_at, seconds) for s in switches))

    asyncio.run(main())
    return [{"latencies": s.latencies, "echoes": s.echoes, "answered": s.answered,
             "offered": s.offered, "mods": s.mods, "removed": s.removed, "last": s.last,
             "disconnected": s.disconnected, "done": s.done} for s in switches]


def jobber_flows(tenants: list[str], offset: int, clique: int = 4) -> list[bytes]:
    """A packet per tenant pair inside each clique of ``clique`` tenants: the provider throttles
    a tenant's outstanding probationary introductions (3), so a tenant introduced to more
    gets short fail-closed answers instead of grants that stay valid through the run."""
    out = []
    for a in range(len(tenants)):
        for b in range(a + 1, (a // clique + 1) * clique):
            out.append(ipv4("02:00:00:00:00:01", "02:00:00:00:00:02",
                            f"10.97.{offset + b}.1", f"10.97.{offset + a}.1"))
    return out


def plain_flows(n: int) -> list[bytes]:
    macs = [f"02:00:00:00:01:{i:02x}" for i in range(n)]
    return [ipv4(s, d, "10.97.0.1", "10.97.0.2") for s in macs for d in macs if s != d]


def phase(pool: ProcessPoolExecutor, port: int, groups: list[list[dict[str, Any]]],
          seconds: float) -> dict[str, Any]:
    """Run each group of switches in its own generator process, all starting together."""
    start_at = time.time() + 0.5 + 0.03 * sum(len(g) for g in groups)
    futures = [pool.submit(run_group, port, g, start_at, seconds) for g in groups]
    switches = [s for f in futures for s in f.result()]
    lat = sorted(x for s in switches for x in s["latencies"])
    echoes = sorted(x for s in switches for x in s["echoes"])
    answered = sum(s["answered"] for s in switches)
    once = all(spec.get("once") for g in groups for spec in g)
    took = max([s["last"] for s in switches] + [start_at + 1e-3]) - start_at if once \
        else seconds
    per = max(answered, 1)
    return {"setups": answered, "per_s": answered / took, "seconds": took,
            "offered_per_s": sum(s["offered"] for s in switches) / took,
            "p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
            "flow_mods_per_setup": sum(s["mods"] for s in switches) / per,
            "flow_removed_per_setup": sum(s["removed"] for s in switches) / per,
            "switches": len(switches), "processes": len(groups),
            "disconnected": sum(bool(s["disconnected"]) for s in switches),
            "why": sorted({s["disconnected"] for s in switches if s["disconnected"]}),
            "echo_p50_ms": 1000 * echoes[len(echoes) // 2] if echoes else None,
            "echo_worst_ms": 1000 * echoes[-1] if echoes else None,
            "answered_flows": [d for s in switches for d in s["done"]]}


def spread(flows: list[bytes], base: int, procs: int, per_proc: int,
           **kw: Any) -> list[list[dict[str, Any]]]:
    """``procs`` groups of ``per_proc`` switches each (consecutive dpids from ``base``)."""
    return [[dict(dpid=base + g * per_proc + i, flows=flows, **kw) for i in range(per_proc)]
            for g in range(procs)]


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


@contextlib.contextmanager
def cluster_of(folder: Path, tenants: list[str]) -> Iterator[Cluster]:
    """A started Cluster; a start that lost a port race to another process is tried again."""
    for attempt in range(3):
        cluster = Cluster(folder / f"cluster{attempt}", [TenantId(t) for t in tenants],
                          processes=2, timeout=2.0)
        try:
            cluster.start()
            break
        except ClusterError as exc:
            if attempt == 2:
                raise
            print(f"cluster start failed ({exc}); again", file=sys.stderr)
    try:
        yield cluster
    finally:
        cluster.stop()


ROWS = ("fresh", "jobber_light", "jobber_saturated", "jobber_setup_only", "jobber_overload",
        "plain_light", "plain_saturated", "plain_setup_only", "plain_overload")


def run_app(pool: ProcessPoolExecutor, port: int, flows: list[bytes], jobber: bool,
            seconds: float, procs: int, per_proc: int, window: int) -> dict[str, Any]:
    """Light load, saturation (closed loop, with teardown), the setup path alone (each
    (switch, flow) once, no teardown), then twice the saturating rate, open loop."""
    name, out = "jobber" if jobber else "plain", {}
    out[f"{name}_light"] = phase(pool, port, spread(flows, 1, 1, 1, window=1, jobber=jobber),
                                 seconds / 2)
    out[f"{name}_saturated"] = phase(pool, port, spread(flows, 10, procs, per_proc,
                                                        window=window, jobber=jobber), seconds)
    bursts = [phase(pool, port, spread(  # twice the switches: more setups; best of 2-3 bursts
        flows, 100, procs, 2 * per_proc, window=window, jobber=jobber, once=True,
        teardown=False), seconds) for _ in range(2 if seconds < 5 else 3)]
    out[f"{name}_setup_only"] = max(bursts, key=lambda r: float(r["per_s"]))
    out[f"{name}_setup_only"]["bursts_per_s"] = [round(r["per_s"]) for r in bursts]
    rate = 2 * out[f"{name}_saturated"]["per_s"]
    out[f"{name}_overload"] = phase(pool, port, spread(
        flows, 40, procs, per_proc, window=0, rate=rate / (procs * per_proc), jobber=jobber),
        seconds)
    out[f"{name}_overload"]["target_per_s"] = rate
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--processes", type=int, default=3, help="generator processes")
    parser.add_argument("--plain-app", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_app:
        from plain_switch import run_plain

        run_plain(args.plain_app)
        return
    seconds = 3.0 if args.quick else 8.0
    procs, per_proc, window = args.processes, 6, 8
    granted, fresh = [f"g{i:02d}" for i in range(48)], [f"f{i}" for i in range(8)]
    folder = Path(tempfile.mkdtemp(prefix="jb-bench-controller-"))
    results: dict[str, Any] = {"processes": procs, "switches_per_process": per_proc,
                               "window": window, "seconds": seconds}
    pool = ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn"))
    list(pool.map(abs, range(procs)))  # start the generator processes before any timing
    with cluster_of(folder, granted + fresh) as cluster:
        port = free_port()
        inventory = {t: [f"10.97.{i}.0/24"] for i, t in enumerate(granted)}
        inventory |= {t: [f"10.97.{i + 100}.0/24"] for i, t in enumerate(fresh)}
        config = folder / "controller.yaml"
        config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{port}", "cluster": str(cluster.write_description()),
            "inventory": inventory, "packet_in_rate": 0,
            "middleboxes": [{"dpid": d, "in_port": 99, "out_port": 100}
                            for d in range(1, 200)]}))
        jobber = start([sys.executable, "-m", "jobber.cli.main", "controller", "run",
                        "--config", str(config), "--log-level",
                        os.environ.get("JB_BENCH_LOG", "WARNING")],
                       folder / "jobber.log", port)
        try:
            g_flows = jobber_flows(granted, 0)
            warm = phase(pool, port, spread(g_flows, 150, 1, 1, window=16, once=True), 15.0)
            granted_ok = set(warm.pop("answered_flows"))  # the servers DENY a few pairs:
            g_flows = [f for f in g_flows if f in granted_ok]  # no PACKET_OUT, leave them out
            results["warmup_negotiated"], results["granted_pairs"] = warm["setups"], len(g_flows)
            f_flows = jobber_flows(fresh, 100)
            results["fresh"] = phase(pool, port, [[dict(
                dpid=180 + i, flows=f_flows[i::4], window=1, once=True) for i in range(4)]],
                3.0)
            results |= run_app(pool, port, g_flows, True, seconds, procs, per_proc, window)
        finally:
            stop(jobber)
    plain_port = free_port()
    plain = start([sys.executable, str(Path(__file__).resolve()), "--plain-app",
                   str(plain_port)], folder / "plain.log", plain_port)
    try:  # as many (source, destination) MAC pairs as Jobber has granted tenant pairs
        results |= run_app(pool, plain_port, plain_flows(17)[:len(g_flows)], False, seconds,
                           procs, per_proc, window)
    finally:
        stop(plain)
        pool.shutdown()
    shutil.rmtree(folder, ignore_errors=True)  # kept (logs) only when the run failed
    report(results, args.json)


def report(results: dict[str, Any], as_json: bool) -> None:
    for value in results.values():
        if isinstance(value, dict):
            value.pop("answered_flows", None)
    def ratio(kind: str) -> float:
        plain = results[f"plain_{kind}"]["per_s"]
        return float(results[f"jobber_{kind}"]["per_s"] / plain) if plain else 0.0

    results["throughput_ratio_setup_path"] = setup = ratio("setup_only")
    results["throughput_ratio_with_teardown"] = ratio("saturated")
    over = results["jobber_overload"]
    results["targets"] = {
        "setup_path_throughput_ratio>=0.8": setup >= 0.8,
        "p50_light<=1ms": (results["jobber_light"]["p50_ms"] or 1e9) <= 1.0,
        "no_disconnect_at_2x": over["disconnected"] == 0
        and over["offered_per_s"] >= 1.9 * results["jobber_saturated"]["per_s"],
    }
    for name in ROWS:
        r = results[name]
        print(f"{name:>17}: {r['setups']:6d} setups {r['per_s']:6.0f}/s (offered "
              f"{r['offered_per_s']:6.0f}/s) p50 {r['p50_ms'] or 0:7.2f} ms p99 "
              f"{r['p99_ms'] or 0:7.2f} ms  mods/setup {r['flow_mods_per_setup']:.1f} "
              f"removed/setup {r['flow_removed_per_setup']:.1f}  disconnected "
              f"{r['disconnected']}  echo p50 {r['echo_p50_ms'] or 0:.1f} ms worst "
              f"{r['echo_worst_ms'] or 0:.0f} ms")
    print(f"Jobber (granted) / plain learning switch, setup path (no teardown): "
          f"{results['throughput_ratio_setup_path']:.2f}")
    print(f"Jobber (granted) / plain learning switch, with teardown (2 FLOW_REMOVED in, "
          f"1 DELETE out per Jobber setup): {results['throughput_ratio_with_teardown']:.2f}")
    print(f"fresh introductions / granted p50: "
          f"{(results['fresh']['p50_ms'] or 0) / (results['jobber_light']['p50_ms'] or 1):.0f}x")
    for target, met in results["targets"].items():
        print(f"  {target}: {'met' if met else 'MISSED'}")
    if as_json:
        print(json.dumps(results))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
